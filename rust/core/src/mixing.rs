//! MLP-Mixer mixing kernels, forward and backward: `channel_mixing` (an MLP on the last axis)
//! and `token_mixing` (the same MLP across the token axis of (B, S, C), as a per-batch GEMM plan
//! `W1 (D, S) @ x[b] (S, C)` on strided operands, so the transpose is never copied).
//!
//! MLP: Linear(in -> D) -> GELU (exact, erf) -> Linear(D -> in); weights in torch Linear layout
//! (out, in). Each GEMM is followed by one fused pass (bias + GELU, or GELU' in backward).
//! Saved for backward: the pre-activation `hpre` and the activation `act`.

use rayon::prelude::*;

use crate::error::{check_len, Error, Result};
use crate::gemm::{add_col_sums, gemm, gemm_par, Mat};
use crate::num::Act;
use crate::par::{self, TASK_ELEMS};
use crate::simd;
use crate::strided::{dense, StridedView};

const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Runs `f(b, out_b)` for every batch, one task per batch when threads are available; each
/// task's GEMMs run single-threaded, so the batch costs one fork-join instead of per-GEMM barriers.
fn per_batch<F: Act>(
    bn: usize,
    out: &mut [F],
    per: usize,
    f: impl Fn(usize, &mut [F]) + Sync + Send,
) {
    if per == 0 {
        return;
    }
    if par::threads() > 1 && bn > 1 {
        out.par_chunks_mut(per)
            .enumerate()
            .for_each(|(bi, o)| f(bi, o));
    } else {
        out.chunks_mut(per).enumerate().for_each(|(bi, o)| f(bi, o));
    }
}

/// `dst = Σ_b term(b)` where `term(b, acc, first)` writes (first) or adds its product into `acc`;
/// batches are split into one group per thread, each with its own partial sum.
fn sum_over_batches<F: Act>(
    bn: usize,
    dst: &mut [F],
    term: impl Fn(usize, &mut [F], bool) + Sync + Send,
) {
    let groups = par::threads().min(bn).max(1);
    if groups == 1 {
        for bi in 0..bn {
            term(bi, dst, bi == 0);
        }
        return;
    }
    let per = bn.div_ceil(groups);
    let partials: Vec<Vec<F>> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let mut acc = vec![F::ZERO; dst.len()];
            for bi in g * per..((g + 1) * per).min(bn) {
                term(bi, &mut acc, bi == g * per);
            }
            acc
        })
        .collect();
    dst.copy_from_slice(&partials[0]);
    for p in &partials[1..] {
        for (o, &v) in dst.iter_mut().zip(p) {
            *o += v;
        }
    }
}

#[inline(always)]
fn gelu<F: Act>(x: F) -> F {
    x * F::ncdf(x)
}

#[inline(always)]
fn gelu_grad<F: Act>(x: F) -> F {
    F::ncdf(x) + x * F::from_f64(FRAC_1_SQRT_2PI) * F::exp_(F::from_f64(-0.5) * x * x)
}

/// In place `h[r, c] += bias[r or c]`, then `act = gelu(h)`; rows of `cols` elements.
/// `per_row`: the bias index is the row (mod `bias.len()`), else the column.
fn bias_gelu<F: Act>(h: &mut [F], act: &mut [F], bias: &[F], cols: usize, per_row: bool) {
    if cols == 0 {
        return;
    }
    let rows_per = (TASK_ELEMS / cols).max(1);
    let nb = bias.len();
    let body = |(ci, (hc, ac)): (usize, (&mut [F], &mut [F]))| {
        simd::dispatch(
            #[inline(always)]
            || {
                for (r, (hr, ar)) in hc
                    .chunks_exact_mut(cols)
                    .zip(ac.chunks_exact_mut(cols))
                    .enumerate()
                {
                    if per_row {
                        let bv = bias[(ci * rows_per + r) % nb];
                        for (hv, av) in hr.iter_mut().zip(ar.iter_mut()) {
                            *hv += bv;
                            *av = gelu(*hv);
                        }
                    } else {
                        for ((hv, av), &bv) in hr.iter_mut().zip(ar.iter_mut()).zip(bias) {
                            *hv += bv;
                            *av = gelu(*hv);
                        }
                    }
                }
            },
        )
    };
    if h.len() >= 2 * TASK_ELEMS {
        h.par_chunks_mut(rows_per * cols)
            .zip(act.par_chunks_mut(rows_per * cols))
            .enumerate()
            .for_each(body);
    } else {
        h.chunks_mut(rows_per * cols)
            .zip(act.chunks_mut(rows_per * cols))
            .enumerate()
            .for_each(body);
    }
}

/// In place `da *= gelu'(hpre)`.
fn gelu_backward<F: Act>(da: &mut [F], hpre: &[F]) {
    let body = |(d, h): (&mut [F], &[F])| {
        simd::dispatch(
            #[inline(always)]
            || {
                for (dv, &hv) in d.iter_mut().zip(h) {
                    *dv *= gelu_grad(hv);
                }
            },
        )
    };
    if da.len() >= 2 * TASK_ELEMS {
        da.par_chunks_mut(TASK_ELEMS)
            .zip(hpre.par_chunks(TASK_ELEMS))
            .for_each(body);
    } else {
        da.chunks_mut(TASK_ELEMS)
            .zip(hpre.chunks(TASK_ELEMS))
            .for_each(body);
    }
}

fn shape_err(name: &str, what: &str, got: &[usize], want: &str) -> Error {
    Error::Shape(format!("{name}: {what} has shape {got:?}, expected {want}"))
}

/// Checks w1 (D, n_in), w2 (n_in, D), b1 (D), b2 (n_in); returns D.
fn check_mlp<F>(
    name: &str,
    n_in: usize,
    w1: &StridedView<F>,
    b1: Option<&StridedView<F>>,
    w2: &StridedView<F>,
    b2: Option<&StridedView<F>>,
) -> Result<usize> {
    if w1.ndim() != 2 || w1.shape()[1] != n_in {
        return Err(shape_err(name, "w1", w1.shape(), &format!("(D, {n_in})")));
    }
    let d = w1.shape()[0];
    if w2.shape() != [n_in, d] {
        return Err(shape_err(name, "w2", w2.shape(), &format!("[{n_in}, {d}]")));
    }
    if let Some(b) = b1 {
        if b.shape() != [d] {
            return Err(shape_err(name, "b1", b.shape(), &format!("[{d}]")));
        }
    }
    if let Some(b) = b2 {
        if b.shape() != [n_in] {
            return Err(shape_err(name, "b2", b.shape(), &format!("[{n_in}]")));
        }
    }
    Ok(d)
}

// ---------------------------------------------------------------------------------------------
// channel mixing: x (N, C) -> y (N, C)

/// Forward: hpre = x @ w1ᵀ + b1 (N, D); act = gelu(hpre); y = act @ w2ᵀ + b2 (N, C). Returns D.
#[allow(clippy::too_many_arguments)]
pub fn channel_mixing_forward<F: Act>(
    x: &StridedView<F>,
    w1: &StridedView<F>,
    b1: Option<&StridedView<F>>,
    w2: &StridedView<F>,
    b2: Option<&StridedView<F>>,
    hpre: &mut [F],
    act: &mut [F],
    y: &mut [F],
) -> Result<usize> {
    let name = "channel_mixing";
    if x.ndim() != 2 {
        return Err(shape_err(name, "input", x.shape(), "(N, C)"));
    }
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let d = check_mlp(name, c, w1, b1, w2, b2)?;
    check_len(name, "hpre", hpre.len(), n * d)?;
    check_len(name, "act", act.len(), n * d)?;
    check_len(name, "y", y.len(), n * c)?;
    let (b1v, b2v) = (dense(b1, d), dense(b2, c));
    gemm(hpre, Mat::view(x), Mat::view(w1).t(), false);
    bias_gelu(hpre, act, &b1v, d, false);
    gemm(y, Mat::c(act, n, d), Mat::view(w2).t(), false);
    if b2.is_some() && c > 0 {
        for row in y.chunks_exact_mut(c) {
            for (v, &bv) in row.iter_mut().zip(&b2v) {
                *v += bv;
            }
        }
    }
    Ok(d)
}

/// Backward with gy (N, C) C-contiguous: dx (N, C), dw1 (D, C), db1 (D), dw2 (C, D), db2 (C).
#[allow(clippy::too_many_arguments)]
pub fn channel_mixing_backward<F: Act>(
    x: &StridedView<F>,
    w1: &StridedView<F>,
    w2: &StridedView<F>,
    hpre: &[F],
    act: &[F],
    gy: &[F],
    dx: &mut [F],
    dw1: &mut [F],
    db1: &mut [F],
    dw2: &mut [F],
    db2: &mut [F],
) -> Result<()> {
    let name = "channel_mixing backward";
    if x.ndim() != 2 {
        return Err(shape_err(name, "input", x.shape(), "(N, C)"));
    }
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let d = check_mlp(name, c, w1, None, w2, None)?;
    for (what, got, want) in [
        ("hpre", hpre.len(), n * d),
        ("act", act.len(), n * d),
        ("gy", gy.len(), n * c),
        ("dx", dx.len(), n * c),
        ("dw1", dw1.len(), d * c),
        ("db1", db1.len(), d),
        ("dw2", dw2.len(), c * d),
        ("db2", db2.len(), c),
    ] {
        check_len(name, what, got, want)?;
    }
    let gym = Mat::c(gy, n, c);
    db2.fill(F::ZERO);
    add_col_sums(gy, c, db2);
    gemm(dw2, gym.t(), Mat::c(act, n, d), false);
    let mut dh = vec![F::ZERO; n * d];
    gemm(&mut dh, gym, Mat::view(w2), false);
    gelu_backward(&mut dh, hpre);
    db1.fill(F::ZERO);
    add_col_sums(&dh, d, db1);
    let dhm = Mat::c(&dh, n, d);
    gemm(dw1, dhm.t(), Mat::view(x), false);
    gemm(dx, dhm, Mat::view(w1), false);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// token mixing: x (B, S, C) -> y (B, S, C), the MLP runs over S

/// Forward: per batch, hpre[b] = w1 (D, S) @ x[b] (S, C) + b1[:, None]; act = gelu(hpre);
/// y[b] = w2 (S, D) @ act[b] + b2[:, None]. hpre/act are (B, D, C). Returns D.
#[allow(clippy::too_many_arguments)]
pub fn token_mixing_forward<F: Act>(
    x: &StridedView<F>,
    w1: &StridedView<F>,
    b1: Option<&StridedView<F>>,
    w2: &StridedView<F>,
    b2: Option<&StridedView<F>>,
    hpre: &mut [F],
    act: &mut [F],
    y: &mut [F],
) -> Result<usize> {
    let name = "token_mixing";
    if x.ndim() != 3 {
        return Err(shape_err(name, "input", x.shape(), "(B, S, C)"));
    }
    let (bn, s, c) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let d = check_mlp(name, s, w1, b1, w2, b2)?;
    check_len(name, "hpre", hpre.len(), bn * d * c)?;
    check_len(name, "act", act.len(), bn * d * c)?;
    check_len(name, "y", y.len(), bn * s * c)?;
    let (b1v, b2v) = (dense(b1, d), dense(b2, s));
    let (w1m, w2m) = (Mat::view(w1), Mat::view(w2));
    per_batch(bn, hpre, d * c, |bi, hb| {
        gemm_par(hb, w1m, Mat::batch(x, bi), false, false)
    });
    bias_gelu(hpre, act, &b1v, c, true);
    let act: &[F] = act;
    let has_b2 = b2.is_some();
    per_batch(bn, y, s * c, |bi, yb| {
        gemm_par(yb, w2m, Mat::c(&act[bi * d * c..], d, c), false, false);
        if has_b2 && c > 0 {
            for (row, &bv) in yb.chunks_exact_mut(c).zip(&b2v) {
                for v in row.iter_mut() {
                    *v += bv;
                }
            }
        }
    });
    Ok(d)
}

/// Backward with gy (B, S, C) C-contiguous: dx (B, S, C), dw1 (D, S), db1 (D), dw2 (S, D), db2 (S).
#[allow(clippy::too_many_arguments)]
pub fn token_mixing_backward<F: Act>(
    x: &StridedView<F>,
    w1: &StridedView<F>,
    w2: &StridedView<F>,
    hpre: &[F],
    act: &[F],
    gy: &[F],
    dx: &mut [F],
    dw1: &mut [F],
    db1: &mut [F],
    dw2: &mut [F],
    db2: &mut [F],
) -> Result<()> {
    let name = "token_mixing backward";
    if x.ndim() != 3 {
        return Err(shape_err(name, "input", x.shape(), "(B, S, C)"));
    }
    let (bn, s, c) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let d = check_mlp(name, s, w1, None, w2, None)?;
    for (what, got, want) in [
        ("hpre", hpre.len(), bn * d * c),
        ("act", act.len(), bn * d * c),
        ("gy", gy.len(), bn * s * c),
        ("dx", dx.len(), bn * s * c),
        ("dw1", dw1.len(), d * s),
        ("db1", db1.len(), d),
        ("dw2", dw2.len(), s * d),
        ("db2", db2.len(), s),
    ] {
        check_len(name, what, got, want)?;
    }
    let (w1m, w2m) = (Mat::view(w1), Mat::view(w2));
    db1.fill(F::ZERO);
    db2.fill(F::ZERO);
    if c == 0 {
        dw1.fill(F::ZERO);
        dw2.fill(F::ZERO);
        return Ok(());
    }
    let mut dh = vec![F::ZERO; bn * d * c];
    sum_over_batches(bn, dw2, |bi, acc, first| {
        gemm_par(
            acc,
            Mat::c(&gy[bi * s * c..], s, c),
            Mat::c(&act[bi * d * c..], d, c).t(),
            !first,
            false,
        )
    });
    per_batch(bn, &mut dh, d * c, |bi, dhb| {
        gemm_par(dhb, w2m.t(), Mat::c(&gy[bi * s * c..], s, c), false, false)
    });
    if bn == 0 {
        dw2.fill(F::ZERO);
        dw1.fill(F::ZERO);
        return Ok(());
    }
    gelu_backward(&mut dh, hpre);
    for (k, row) in gy.chunks_exact(c).enumerate() {
        let mut acc = F::ZERO;
        for &v in row {
            acc += v;
        }
        db2[k % s] += acc;
    }
    for (k, row) in dh.chunks_exact(c).enumerate() {
        let mut acc = F::ZERO;
        for &v in row {
            acc += v;
        }
        db1[k % d] += acc;
    }
    let dh: &[F] = &dh;
    sum_over_batches(bn, dw1, |bi, acc, first| {
        gemm_par(
            acc,
            Mat::c(&dh[bi * d * c..], d, c),
            Mat::batch(x, bi).t(),
            !first,
            false,
        )
    });
    per_batch(bn, dx, s * c, |bi, dxb| {
        gemm_par(dxb, w1m.t(), Mat::c(&dh[bi * d * c..], d, c), false, false)
    });
    Ok(())
}
