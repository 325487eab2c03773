//! Fused recurrent sequence kernels (LSTM, GRU, plain RNN), forward and backward through time.
//!
//! PyTorch's layouts and gate orders: LSTM gates i,f,g,o in `weight_ih` (4H, I), `weight_hh`
//! (4H, H); GRU gates r,z,n with `n = tanh(W_in x + b_in + r * (W_hn h + b_hn))` and
//! `h' = (1 - z) * n + z * h`; RNN `h' = act(W_ih x + b_ih + W_hh h + b_hh)`. Input batch-first
//! (B, L, I); one layer, one direction.
//!
//! Plan: the input projections of all steps are one GEMM ((L*B, I) @ W_ihᵀ, time-major so each
//! step's rows are contiguous); each step then runs one recurrent GEMM (B, H) @ W_hhᵀ followed by
//! one fused pass of gate math that saves the activations backward needs. Backward runs one GEMM
//! per step for dh, then one GEMM each for dW_hh, dW_ih and dinput over all steps at the end.
//!
//! Saved buffers (time-major): `gates` (L, B, G*H) activations, `hs` (L+1, B, H) hidden states
//! with `hs[0] = h0`, and per cell kind `cells` (LSTM: c_t) or `hn` (GRU: W_hn h + b_hn).

#![allow(clippy::type_complexity, clippy::manual_is_multiple_of)]

use rayon::prelude::*;

use crate::error::{check_len, Error, Result};
use crate::gemm::{add_col_sums, gemm, gemm_ld, Mat};
use crate::num::{dot, Act};
use crate::packed::PackedRhs;
use crate::par;
use crate::scratch;
use crate::simd;
use crate::strided::{dense, StridedView};

// ---------------------------------------------------------------------------------------------
// Shapes and copies.

/// Sizes of one sequence problem: batch, length, input features, hidden size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub b: usize,
    pub l: usize,
    pub i: usize,
    pub h: usize,
}

fn shape_err(name: &str, what: &str, got: &[usize], want: &[usize]) -> Error {
    Error::Shape(format!(
        "{name}: {what} has shape {got:?}, expected {want:?}"
    ))
}

fn expect(name: &str, what: &str, v: &StridedView<impl Sized>, want: &[usize]) -> Result<()> {
    if v.shape() != want {
        return Err(shape_err(name, what, v.shape(), want));
    }
    Ok(())
}

/// Checks x (B, L, I), w_ih (G*H, I), w_hh (G*H, H), h0 (B, H), biases (G*H).
#[allow(clippy::too_many_arguments)]
pub fn check<F>(
    name: &str,
    gates: usize,
    x: &StridedView<F>,
    h0: &StridedView<F>,
    w_ih: &StridedView<F>,
    w_hh: &StridedView<F>,
    b_ih: Option<&StridedView<F>>,
    b_hh: Option<&StridedView<F>>,
) -> Result<Dims> {
    if x.ndim() != 3 {
        return Err(Error::Shape(format!(
            "{name}: input must be (B, L, I), got shape {:?}",
            x.shape()
        )));
    }
    if w_hh.ndim() != 2 || w_hh.shape()[0] % gates != 0 {
        return Err(Error::Shape(format!(
            "{name}: weight_hh must be ({gates}*H, H), got shape {:?}",
            w_hh.shape()
        )));
    }
    let (b, l, i) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let h = w_hh.shape()[0] / gates;
    expect(name, "weight_hh", w_hh, &[gates * h, h])?;
    expect(name, "weight_ih", w_ih, &[gates * h, i])?;
    expect(name, "h0", h0, &[b, h])?;
    for (what, v) in [("bias_ih", b_ih), ("bias_hh", b_hh)] {
        if let Some(v) = v {
            expect(name, what, v, &[gates * h])?;
        }
    }
    Ok(Dims { b, l, i, h })
}

/// Copies x[bb, t, :] of a (B, L, I) view into `dst` (I elements; a slice copy when unit-strided).
fn copy_row<F: Copy>(dst: &mut [F], x: &StridedView<F>, bb: usize, t: usize) {
    let (i, si) = (x.shape()[2], x.strides()[2]);
    let base = bb as isize * x.strides()[0] + t as isize * x.strides()[1];
    if si == 1 || i <= 1 {
        // SAFETY: the row's i elements are in range of a checked view and contiguous.
        dst.copy_from_slice(unsafe { core::slice::from_raw_parts(x.ptr_at(base), i) });
    } else {
        for (k, d) in dst.iter_mut().enumerate() {
            // SAFETY: in-range indices of a checked view.
            *d = unsafe { *x.ptr_at(base + k as isize * si) };
        }
    }
}

/// Row (bb, t) of a (B, L, H) view whose rows are contiguous (checked by the caller): a
/// gradient broadcast over time (a mean over the sequence) is read in place, not copied.
#[inline(always)]
fn contiguous_row<'a, F>(v: &'a StridedView<F>, bb: usize, t: usize, h: usize) -> &'a [F] {
    let base = bb as isize * v.strides()[0] + t as isize * v.strides()[1];
    // SAFETY: (bb, t) is in range of the checked (B, L, H) view and its h elements are contiguous.
    unsafe { core::slice::from_raw_parts(v.ptr_at(base), h) }
}

/// x (B, L, I), any strides, copied time-major into (L*B, I) (a scratch vector: `scratch::give`
/// it back).
fn time_major<F: Act>(x: &StridedView<F>) -> Vec<F> {
    let (b, l, i) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let mut out = scratch::take_overwritten(b * l * i, F::ZERO);
    if i > 0 {
        for (r, row) in out.chunks_exact_mut(i).enumerate() {
            copy_row(row, x, r % b.max(1), r / b.max(1));
        }
    }
    out
}

fn add_vecs<F: Act>(a: &[F], b: &[F]) -> Vec<F> {
    a.iter().zip(b).map(|(&x, &y)| x + y).collect()
}

/// Scatter a time-major (L*B, n) buffer into batch-first (B, L, n).
fn to_batch_first<F: Copy>(src: &[F], b: usize, l: usize, n: usize, dst: &mut [F]) {
    for t in 0..l {
        for bb in 0..b {
            let s = (t * b + bb) * n;
            let d = (bb * l + t) * n;
            dst[d..d + n].copy_from_slice(&src[s..s + n]);
        }
    }
}

/// Batch rows per task for one recurrent step: the step's batch rows are split across the
/// threads, each running a single-threaded GEMM and its part of the gate pass, so a step costs
/// one fork-join instead of the GEMM's internal barriers.
fn step_rows(b: usize, step_macs: usize) -> usize {
    let threads = par::threads();
    if threads > 1 && b > 1 && step_macs >= par::MACS_THRESHOLD / 4 {
        // At least 8 rows per task: thinner GEMMs lose more to packing than threads win.
        b.div_ceil(threads.min(b)).max(8.min(b))
    } else {
        b.max(1)
    }
}

// ---------------------------------------------------------------------------------------------
// LSTM

/// A buffer shared by tasks that each own a disjoint set of its rows (batch rows of every time
/// slice): lets them take their parts without splitting the slice into per-task pieces.
#[derive(Clone, Copy)]
struct RowPtr<F> {
    ptr: *mut F,
    len: usize,
}

// SAFETY: only used by tasks that touch disjoint ranges (see `rows`/`get`).
unsafe impl<F: Send> Send for RowPtr<F> {}
unsafe impl<F: Send> Sync for RowPtr<F> {}

impl<F> RowPtr<F> {
    fn new(buf: &mut [F]) -> Self {
        Self {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
        }
    }

    /// SAFETY: no other task may touch `start..start + n` while the slice lives.
    #[allow(clippy::mut_from_ref)]
    unsafe fn rows<'a>(&self, start: usize, n: usize) -> &'a mut [F] {
        assert!(start + n <= self.len, "RowPtr: range out of bounds");
        unsafe { core::slice::from_raw_parts_mut(self.ptr.add(start), n) }
    }

    /// SAFETY: no task may write `start..start + n` while the slice lives.
    unsafe fn get<'a>(&self, start: usize, n: usize) -> &'a [F] {
        assert!(start + n <= self.len, "RowPtr: range out of bounds");
        unsafe { core::slice::from_raw_parts(self.ptr.add(start), n) }
    }
}

/// Forward. Writes `out` (B, L, H), `c_n` (B, H), and the saved `gates` (L, B, 4H) activations
/// i,f,g,o, `cells` (L, B, H) and `hs` (L+1, B, H).
#[allow(clippy::too_many_arguments)]
pub fn lstm_forward<F: Act>(
    x: &StridedView<F>,
    h0: &StridedView<F>,
    c0: &StridedView<F>,
    w_ih: &StridedView<F>,
    w_hh: &StridedView<F>,
    b_ih: Option<&StridedView<F>>,
    b_hh: Option<&StridedView<F>>,
    out: &mut [F],
    c_n: &mut [F],
    gates: &mut [F],
    cells: &mut [F],
    hs: &mut [F],
) -> Result<Dims> {
    let name = "lstm_sequence";
    let d = check(name, 4, x, h0, w_ih, w_hh, b_ih, b_hh)?;
    expect(name, "c0", c0, &[d.b, d.h])?;
    let Dims { b, l, i, h } = d;
    let (bh, g4) = (b * h, 4 * h);
    check_len(name, "out", out.len(), b * l * h)?;
    check_len(name, "c_n", c_n.len(), bh)?;
    check_len(name, "gates", gates.len(), l * b * g4)?;
    check_len(name, "cells", cells.len(), l * bh)?;
    check_len(name, "hs", hs.len(), (l + 1) * bh)?;
    let bias = add_vecs(&dense(b_ih, g4), &dense(b_hh, g4));
    let c0v = dense(Some(c0), bh);
    hs[..bh].copy_from_slice(&dense(Some(h0), bh));
    let crows = step_rows(b, b * g4 * (h + i));
    // Each step's input projection runs beside its recurrent product, both against weights
    // packed once: the packed tile is faster than one big GEMM, and x is read in place.
    let wih_t = PackedRhs::new(Mat::view(w_ih).t());
    let whh_t = PackedRhs::new(Mat::view(w_hh).t());
    let (bias, c0v, wih_t, whh_t) = (&bias, &c0v, &wih_t, &whh_t);
    let (gp, cp_, hp, op) = (
        RowPtr::new(gates),
        RowPtr::new(cells),
        RowPtr::new(hs),
        RowPtr::new(out),
    );
    // Batch rows never interact, so each task runs its rows through the whole sequence: one
    // fork-join per call instead of one per step.
    let task = |r0: usize| {
        let nr = crows.min(b - r0);
        for t in 0..l {
            // SAFETY: this task alone touches rows r0..r0+nr of every time slice (the chunks
            // partition 0..b), and reads of step t-1 come from its own earlier writes.
            let (g, hprev, hnext, cprev, cnext) = unsafe {
                (
                    gp.rows(t * b * g4 + r0 * g4, nr * g4),
                    hp.get(t * bh + r0 * h, nr * h),
                    hp.rows((t + 1) * bh + r0 * h, nr * h),
                    if t == 0 {
                        &c0v[r0 * h..(r0 + nr) * h]
                    } else {
                        cp_.get((t - 1) * bh + r0 * h, nr * h)
                    },
                    cp_.rows(t * bh + r0 * h, nr * h),
                )
            };
            wih_t.matmul(g, Mat::step(x, t).rows(r0, nr), false);
            whh_t.matmul(g, Mat::c(hprev, nr, h), true);
            simd::dispatch(
                #[inline(always)]
                || {
                    for rr in 0..nr {
                        let gr = &mut g[rr * g4..(rr + 1) * g4];
                        let (gi, rest) = gr.split_at_mut(h);
                        let (gf, rest) = rest.split_at_mut(h);
                        let (gg, go) = rest.split_at_mut(h);
                        let (bi, bf, bg, bo) = (
                            &bias[..h],
                            &bias[h..2 * h],
                            &bias[2 * h..3 * h],
                            &bias[3 * h..],
                        );
                        let cp = &cprev[rr * h..(rr + 1) * h];
                        let cn = &mut cnext[rr * h..(rr + 1) * h];
                        let hn = &mut hnext[rr * h..(rr + 1) * h];
                        // Every slice cut to exactly h: no bounds checks, so the loop vectorises.
                        let (gi, gf, gg, go) =
                            (&mut gi[..h], &mut gf[..h], &mut gg[..h], &mut go[..h]);
                        let (bi, bf, bg, bo) = (&bi[..h], &bf[..h], &bg[..h], &bo[..h]);
                        for j in 0..h {
                            let iv = F::sigmoid(gi[j] + bi[j]);
                            let fv = F::sigmoid(gf[j] + bf[j]);
                            let gv = F::tanh_(gg[j] + bg[j]);
                            let ov = F::sigmoid(go[j] + bo[j]);
                            let c = fv * cp[j] + iv * gv;
                            gi[j] = iv;
                            gf[j] = fv;
                            gg[j] = gv;
                            go[j] = ov;
                            cn[j] = c;
                            hn[j] = ov * F::tanh_(c);
                        }
                    }
                },
            );
            for rr in 0..nr {
                // SAFETY: row r0+rr of `out` belongs to this task.
                let o = unsafe { op.rows(((r0 + rr) * l + t) * h, h) };
                o.copy_from_slice(&hnext[rr * h..(rr + 1) * h]);
            }
        }
    };
    if bh > 0 {
        (0..b)
            .step_by(crows)
            .collect::<Vec<_>>()
            .into_par_iter()
            .for_each(task);
    }
    if l > 0 {
        c_n.copy_from_slice(&cells[(l - 1) * bh..l * bh]);
    } else {
        c_n.copy_from_slice(c0v);
    }
    Ok(d)
}

/// Backward. `gy` (B, L, H) and `gc_n` (B, H) are C-contiguous upstream gradients (the gradient
/// of h_n is part of gy's last step). Writes dx (B, L, I), dh0, dc0 (B, H), dw_ih (4H, I),
/// dw_hh (4H, H), db (4H; the gradient of both biases).
#[allow(clippy::too_many_arguments)]
pub fn lstm_backward<F: Act>(
    x: &StridedView<F>,
    c0: &StridedView<F>,
    w_ih: &StridedView<F>,
    w_hh: &StridedView<F>,
    gates: &[F],
    cells: &[F],
    hs: &[F],
    gy: &[F],
    gc_n: &[F],
    dx: &mut [F],
    dh0: &mut [F],
    dc0: &mut [F],
    dw_ih: &mut [F],
    dw_hh: &mut [F],
    db: &mut [F],
) -> Result<()> {
    let name = "lstm_sequence backward";
    let d = check(name, 4, x, c0, w_ih, w_hh, None, None)?;
    let Dims { b, l, i, h } = d;
    let (bh, g4) = (b * h, 4 * h);
    for (what, got, want) in [
        ("gates", gates.len(), l * b * g4),
        ("cells", cells.len(), l * bh),
        ("hs", hs.len(), (l + 1) * bh),
        ("gy", gy.len(), b * l * h),
        ("gc_n", gc_n.len(), bh),
        ("dx", dx.len(), b * l * i),
        ("dh0", dh0.len(), bh),
        ("dc0", dc0.len(), bh),
        ("dw_ih", dw_ih.len(), g4 * i),
        ("dw_hh", dw_hh.len(), g4 * h),
        ("db", db.len(), g4),
    ] {
        check_len(name, what, got, want)?;
    }
    let c0v = dense(Some(c0), bh);
    let (wih, whh) = (Mat::view(w_ih), Mat::view(w_hh));
    let mut dg = scratch::take_overwritten(l * b * g4, F::ZERO);
    let mut dh = vec![F::ZERO; bh];
    let mut dc = gc_n.to_vec();
    let crows = step_rows(b, b * g4 * (h + i));
    let c0v = &c0v;
    // dx_t = dG_t @ W_ih runs in the step, against W_ih packed once, like dh = dG @ W_hh.
    let (whh_packed, wih_packed) = (PackedRhs::new(whh), PackedRhs::new(wih));
    let (whh_packed, wih_packed) = (&whh_packed, &wih_packed);
    let (dgp, dxp, dh0p) = (RowPtr::new(&mut dg), RowPtr::new(dx), RowPtr::new(dh0));
    // As in the forward: each task takes its batch rows back through the whole sequence.
    // Each task also sums its rows of dG into its own bias gradient (while they are in cache).
    let mut dbs = vec![F::ZERO; b.div_ceil(crows.max(1)) * g4];
    let task = |(ci, ((dh, dc), dbt)): (usize, ((&mut [F], &mut [F]), &mut [F]))| {
        let (r0, nr) = (ci * crows, dh.len() / h);
        for t in (0..l).rev() {
            let g = &gates[t * b * g4..(t + 1) * b * g4];
            let c = &cells[t * bh..(t + 1) * bh];
            let cprev: &[F] = if t == 0 {
                c0v
            } else {
                &cells[(t - 1) * bh..t * bh]
            };
            // SAFETY: rows r0..r0+nr of each time slice of dg belong to this task alone.
            let dgt = unsafe { dgp.rows(t * b * g4 + r0 * g4, nr * g4) };
            if t + 1 < l {
                let dg_next = unsafe { dgp.get((t + 1) * b * g4 + r0 * g4, nr * g4) };
                whh_packed.matmul(dh, Mat::c(dg_next, nr, g4), false);
            }
            simd::dispatch(
                #[inline(always)]
                || {
                    let one = F::ONE;
                    for rr in 0..nr {
                        let bb = r0 + rr;
                        let gr = &g[bb * g4..(bb + 1) * g4];
                        let (gi, gf, gg, go) =
                            (&gr[..h], &gr[h..2 * h], &gr[2 * h..3 * h], &gr[3 * h..]);
                        let dr = &mut dgt[rr * g4..(rr + 1) * g4];
                        let (di, rest) = dr.split_at_mut(h);
                        let (df, rest) = rest.split_at_mut(h);
                        let (dgg, do_) = rest.split_at_mut(h);
                        let cr = &c[bb * h..(bb + 1) * h];
                        let cp = &cprev[bb * h..(bb + 1) * h];
                        let gyr = &gy[(bb * l + t) * h..(bb * l + t + 1) * h];
                        let dhr = &dh[rr * h..(rr + 1) * h];
                        let dcr = &mut dc[rr * h..(rr + 1) * h];
                        // Every slice cut to exactly h: no bounds checks, so the loop vectorises.
                        let (di, df, dgg, do_) =
                            (&mut di[..h], &mut df[..h], &mut dgg[..h], &mut do_[..h]);
                        let (gi, gf, gg, go) = (&gi[..h], &gf[..h], &gg[..h], &go[..h]);
                        let (cr, cp, gyr, dhr) = (&cr[..h], &cp[..h], &gyr[..h], &dhr[..h]);
                        for j in 0..h {
                            let (iv, fv, gv, ov) = (gi[j], gf[j], gg[j], go[j]);
                            let tc = F::tanh_(cr[j]);
                            let dht = dhr[j] + gyr[j];
                            let dct = dcr[j] + dht * ov * (one - tc * tc);
                            di[j] = dct * gv * iv * (one - iv);
                            df[j] = dct * cp[j] * fv * (one - fv);
                            dgg[j] = dct * iv * (one - gv * gv);
                            do_[j] = dht * tc * ov * (one - ov);
                            dcr[j] = dct * fv;
                        }
                        for (s, &v) in dbt.iter_mut().zip(dr.iter()) {
                            *s += v;
                        }
                    }
                },
            );
            // SAFETY: batch rows r0..r0+nr of dx and dh0 belong to this task alone.
            let dxr = unsafe { dxp.rows((r0 * l + t) * i, (nr - 1) * l * i + i) };
            wih_packed.matmul_ld(dxr, l * i, Mat::c(dgt, nr, g4), false);
            if t == 0 {
                let dh0r = unsafe { dh0p.rows(r0 * h, nr * h) };
                whh_packed.matmul(dh0r, Mat::c(dgt, nr, g4), false);
            }
        }
    };
    if bh > 0 {
        dh.par_chunks_mut(crows * h)
            .zip(dc.par_chunks_mut(crows * h))
            .zip(dbs.par_chunks_mut(g4))
            .enumerate()
            .for_each(task);
    }
    if l == 0 {
        dh0.fill(F::ZERO);
    }
    dc0.copy_from_slice(&dc);
    weight_grads(x, &dg, hs, b, l, i, h, 4, dw_ih, dw_hh);
    db.fill(F::ZERO);
    add_col_sums(&dbs, g4, db);
    scratch::give(dg);
    Ok(())
}

/// dW_hh = dGᵀ @ hs[0..L] and dW_ih = dGᵀ @ x (time-major), for a gate-gradient buffer dG
/// (L*B, G*H) that is the same for the input and recurrent pre-activations.
///
/// Both come from one GEMM, dGᵀ @ [hs | x] (rows (L*B, H+I)): one product with twice the columns
/// runs ~15 % faster than two, which outweighs copying its halves apart.
#[allow(clippy::too_many_arguments)]
fn weight_grads<F: Act>(
    x: &StridedView<F>,
    dg: &[F],
    hs: &[F],
    b: usize,
    l: usize,
    i: usize,
    h: usize,
    ngates: usize,
    dw_ih: &mut [F],
    dw_hh: &mut [F],
) {
    let (gh, hi) = (ngates * h, h + i);
    let rows = l * b;
    let mut hx = scratch::take_overwritten(rows * hi, F::ZERO);
    if hi > 0 && b > 0 {
        hx.par_chunks_mut(b * hi).enumerate().for_each(|(t, slab)| {
            for (bb, row) in slab.chunks_exact_mut(hi).enumerate() {
                let r = t * b + bb;
                row[..h].copy_from_slice(&hs[r * h..(r + 1) * h]);
                copy_row(&mut row[h..], x, bb, t);
            }
        });
    }
    let mut dw = scratch::take_overwritten(gh * hi, F::ZERO);
    gemm(
        &mut dw,
        Mat::c(dg, rows, gh).t(),
        Mat::c(&hx, rows, hi),
        false,
    );
    scratch::give(hx);
    for (g, row) in dw.chunks_exact(hi.max(1)).enumerate() {
        dw_hh[g * h..(g + 1) * h].copy_from_slice(&row[..h]);
        dw_ih[g * i..(g + 1) * i].copy_from_slice(&row[h..]);
    }
    scratch::give(dw);
}

/// dx (B, L, I) = dG @ W_ih for a time-major gate-gradient buffer dG (L*B, G*H).
fn input_grad<F: Act>(wih: Mat<'_, F>, dg: &[F], b: usize, l: usize, i: usize, dx: &mut [F]) {
    let rows = l * b;
    let mut dxt = scratch::take_overwritten(rows * i, F::ZERO);
    gemm(&mut dxt, Mat::c(dg, rows, wih.rows), wih, false);
    to_batch_first(&dxt, b, l, i, dx);
    scratch::give(dxt);
}

// ---------------------------------------------------------------------------------------------
// GRU

/// Forward. Writes `out` (B, L, H) and the saved `gates` (L, B, 3H) activations r,z,n,
/// `hn` (L, B, H) = W_hn h + b_hn, and `hs` (L+1, B, H).
#[allow(clippy::too_many_arguments)]
pub fn gru_forward<F: Act>(
    x: &StridedView<F>,
    h0: &StridedView<F>,
    w_ih: &StridedView<F>,
    w_hh: &StridedView<F>,
    b_ih: Option<&StridedView<F>>,
    b_hh: Option<&StridedView<F>>,
    out: &mut [F],
    gates: &mut [F],
    hn: &mut [F],
    hs: &mut [F],
) -> Result<Dims> {
    let name = "gru_sequence";
    let d = check(name, 3, x, h0, w_ih, w_hh, b_ih, b_hh)?;
    let Dims { b, l, i, h } = d;
    let (bh, g3) = (b * h, 3 * h);
    check_len(name, "out", out.len(), b * l * h)?;
    check_len(name, "gates", gates.len(), l * b * g3)?;
    check_len(name, "hn", hn.len(), l * bh)?;
    check_len(name, "hs", hs.len(), (l + 1) * bh)?;
    let bias = GateBias::new(&dense(b_ih, g3), &dense(b_hh, g3));
    hs[..bh].copy_from_slice(&dense(Some(h0), bh));
    let wih = Mat::view(w_ih);
    // A few input features (MNIST-1D's 2) are projected inside the gate loop, W_ih's columns as
    // rows of wit (I, 3H): a GEMM of K = I over all steps up front wrote (L, B, 3H) that the gate
    // loop read back from L3 (B128 H128 L20 I2: 0.26 ms of a 2.7 ms forward).
    let fold = i <= FOLD_INPUTS;
    let mut wit = Vec::new();
    if fold {
        wit = wih_columns(w_ih);
    } else {
        let xt = time_major(x);
        gemm(gates, Mat::c(&xt, l * b, i), wih.t(), false);
        scratch::give(xt);
    }
    let mut hp = vec![F::ZERO; b * g3];
    let crows = step_rows(b, b * g3 * h);
    let whh_t = PackedRhs::new(Mat::view(w_hh).t());
    let outp = RowPtr::new(out);
    for t in 0..l {
        if bh == 0 {
            break;
        }
        let (hs_done, hs_next) = hs.split_at_mut((t + 1) * bh);
        let hprev = &hs_done[t * bh..];
        let g = &mut gates[t * b * g3..(t + 1) * b * g3];
        let hnt = &mut hn[t * bh..(t + 1) * bh];
        let hnext = &mut hs_next[..bh];
        let (bias, wit) = (&bias, &wit[..]);
        let task = |(ci, (((g, hp), hnt), hnext)): (
            usize,
            (((&mut [F], &mut [F]), &mut [F]), &mut [F]),
        )| {
            let (r0, nr) = (ci * crows, hnext.len() / h);
            whh_t.matmul(hp, Mat::c(&hprev[r0 * h..], nr, h), false);
            simd::dispatch(
                #[inline(always)]
                || {
                    for rr in 0..nr {
                        let bb = r0 + rr;
                        let row = GateRow {
                            g: &mut g[rr * g3..(rr + 1) * g3],
                            hp: &hp[rr * g3..(rr + 1) * g3],
                            hprev: &hprev[bb * h..(bb + 1) * h],
                            hn: &mut hnt[rr * h..(rr + 1) * h],
                            hnext: &mut hnext[rr * h..(rr + 1) * h],
                            // SAFETY: row (bb, t) of out belongs to this task alone.
                            out: unsafe { outp.rows((bb * l + t) * h, h) },
                        };
                        let x_at = (x, bb, t);
                        match (fold, i) {
                            (false, _) => gate_row_forward::<F, 0, true>(row, x_at, wit, bias),
                            (true, 0) => gate_row_forward::<F, 0, false>(row, x_at, wit, bias),
                            (true, 1) => gate_row_forward::<F, 1, false>(row, x_at, wit, bias),
                            (true, 2) => gate_row_forward::<F, 2, false>(row, x_at, wit, bias),
                            (true, 3) => gate_row_forward::<F, 3, false>(row, x_at, wit, bias),
                            _ => gate_row_forward::<F, 4, false>(row, x_at, wit, bias),
                        }
                    }
                },
            );
        };
        g.par_chunks_mut(crows * g3)
            .zip(hp.par_chunks_mut(crows * g3))
            .zip(hnt.par_chunks_mut(crows * h))
            .zip(hnext.par_chunks_mut(crows * h))
            .enumerate()
            .for_each(task);
    }
    Ok(d)
}

/// Inputs up to this many are projected in the GRU's gate loop instead of by a GEMM up front.
const FOLD_INPUTS: usize = 4;

/// W_ih (3H, I) as its I columns, each a row of 3H: what the folded input projection reads.
fn wih_columns<F: Act>(w_ih: &StridedView<F>) -> Vec<F> {
    let (g3, i) = (w_ih.shape()[0], w_ih.shape()[1]);
    transposed(&dense(Some(w_ih), g3 * i), g3, i)
}

/// One product's input-side gradients from da (R, 3H) and dan (R, H), R rows matching x's
/// (R, I): W_ih's gradient += [da[:, :2H], dan]ᵀ x, dx = [da[:, :2H], dan] @ W_ih (rows `ld`
/// apart; when asked for), and the bias sums db_hh (3H) += Σ da, dbn (H) += Σ dan.
#[allow(clippy::too_many_arguments)]
fn input_side_grads<F: Act>(
    da: &[F],
    dan: &[F],
    x: Mat<'_, F>,
    wih: Mat<'_, F>,
    dw_ih: &mut [F],
    dx: Option<(&mut [F], usize)>,
    db_hh: &mut [F],
    dbn: &mut [F],
) {
    let (h, i) = (dbn.len(), x.cols);
    let (dam, danm) = (Mat::c(da, x.rows, 3 * h), Mat::c(dan, x.rows, h));
    gemm(&mut dw_ih[..2 * h * i], dam.cols(0, 2 * h).t(), x, true);
    gemm(&mut dw_ih[2 * h * i..], danm.t(), x, true);
    if let Some((dx, ld)) = dx {
        gemm_ld(dx, ld, dam.cols(0, 2 * h), wih.rows(0, 2 * h), false, true);
        gemm_ld(dx, ld, danm, wih.rows(2 * h, h), true, true);
    }
    add_col_sums(da, 3 * h, db_hh);
    add_col_sums(dan, h, dbn);
}

/// The (cols, rows) transpose of a C-contiguous (rows, cols) matrix.
fn transposed<F: Act>(m: &[F], rows: usize, cols: usize) -> Vec<F> {
    let mut out = vec![F::ZERO; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = m[r * cols + c];
        }
    }
    out
}

/// One batch row of the GRU's gate pass backward: from the forward's saved r, z, n (`gr`, 3H),
/// W_hn h + b_hn (`hnr`) and h_{t-1} (`hpv`), and dh' = `dhr` + `gyr`, writes the recurrent
/// pre-activation gradients `dar` = [dr, dz, dhn] (3H), the input-side n pre-activation's `dnr`
/// (H), and dh_{t-1}'s direct part z dh' into `dhr`.
#[inline(always)]
fn gate_row_backward<F: Act>(
    gr: &[F],
    hnr: &[F],
    hpv: &[F],
    gyr: &[F],
    dhr: &mut [F],
    dar: &mut [F],
    dnr: &mut [F],
) {
    let (h, one) = (dhr.len(), F::ONE);
    let (dr_, rest) = dar.split_at_mut(h);
    let (dz, dhn) = rest.split_at_mut(h);
    // Every slice cut to exactly h: no bounds checks, so the loop vectorises.
    let (g_r, g_z, g_n) = (&gr[..h], &gr[h..2 * h], &gr[2 * h..3 * h]);
    let (dr_, dz, dhn) = (&mut dr_[..h], &mut dz[..h], &mut dhn[..h]);
    let (dnr, hnr, hpv, gyr) = (&mut dnr[..h], &hnr[..h], &hpv[..h], &gyr[..h]);
    for j in 0..h {
        let (r, z, n) = (g_r[j], g_z[j], g_n[j]);
        let dht = dhr[j] + gyr[j];
        let an = dht * (one - z) * (one - n * n);
        let dr_v = an * hnr[j];
        dr_[j] = dr_v * r * (one - r);
        dz[j] = dht * (hpv[j] - n) * z * (one - z);
        dhn[j] = an * r;
        dnr[j] = an;
        dhr[j] = dht * z;
    }
}

/// One batch row's input-side gradients for a few input features (I <= FOLD_INPUTS), from its
/// da row `dar` (3H) and dn row `danr` (H) and its inputs `xr` (I): dx_row = [da[:2H], dn] @ W_ih
/// (when asked for), dwit (I, 3H) += xᵀ [da[:2H], dn], and the bias sums db_hh (3H) += da,
/// dbn (H) += dn.
#[inline(always)]
fn small_input_row_grads<F: Act>(
    dar: &[F],
    danr: &[F],
    xr: &[F],
    wit: &[F],
    mut dx_row: Option<&mut [F]>,
    dwit: &mut [F],
    (db_hh, dbn): (&mut [F], &mut [F]),
) {
    let h = dbn.len();
    let (g3, h2) = (3 * h, 2 * h);
    let (da_rz, danr) = (&dar[..h2], &danr[..h]);
    for (k, &xv) in xr.iter().enumerate() {
        let (w_rz, w_n) = wit[k * g3..(k + 1) * g3].split_at(h2);
        let (dw_rz, dw_n) = dwit[k * g3..(k + 1) * g3].split_at_mut(h2);
        let (w_n, dw_n, dw_rz) = (&w_n[..h], &mut dw_n[..h], &mut dw_rz[..h2]);
        for j in 0..h2 {
            dw_rz[j] = da_rz[j].fma(xv, dw_rz[j]);
        }
        for j in 0..h {
            dw_n[j] = danr[j].fma(xv, dw_n[j]);
        }
        if let Some(dx_row) = dx_row.as_deref_mut() {
            dx_row[k] = dot(da_rz, w_rz) + dot(danr, w_n);
        }
    }
    for (o, &v) in db_hh.iter_mut().zip(dar) {
        *o += v;
    }
    for (o, &v) in dbn.iter_mut().zip(danr) {
        *o += v;
    }
}

/// The GRU forward's biases as its gate pass adds them: b_ih + b_hh for r and z (one add per
/// element instead of two), b_in and b_hn apart (b_hn sits inside r's product).
struct GateBias<F> {
    rz: Vec<F>,
    i_n: Vec<F>,
    h_n: Vec<F>,
}

impl<F: Act> GateBias<F> {
    fn new(b_ih: &[F], b_hh: &[F]) -> Self {
        let h = b_ih.len() / 3;
        Self {
            rz: add_vecs(&b_ih[..2 * h], &b_hh[..2 * h]),
            i_n: b_ih[2 * h..].to_vec(),
            h_n: b_hh[2 * h..].to_vec(),
        }
    }
}

/// One batch row of the GRU forward's gate pass at step t.
struct GateRow<'a, F> {
    /// In: x W_ihᵀ (3H) when the caller projected the inputs; out: the gates r, z, n.
    g: &'a mut [F],
    /// h_{t-1} W_hhᵀ (3H).
    hp: &'a [F],
    hprev: &'a [F],
    /// Out: W_hn h_{t-1} + b_hn (H), kept for the backward.
    hn: &'a mut [F],
    /// Out: h_t (H), into hs and the output.
    hnext: &'a mut [F],
    out: &'a mut [F],
}

/// The gate pass for one row. `PROJECTED`: row.g holds x W_ihᵀ; otherwise the I inputs x[bb, t]
/// (`x_at` = (x, bb, t)) are projected here against W_ih's columns as rows (`wit`, (I, 3H)), as
/// fused multiply-adds into each gate's sum: no projected row is written and read back.
///
/// Two passes over the row: r and z, then n and h'. One pass chained two exp-divide sequences
/// per element (~250 cycles of latency), more than the reorder window could overlap; the split
/// ran 850 -> 620 µs (B128 H128 L20).
#[inline(always)]
fn gate_row_forward<F: Act, const I: usize, const PROJECTED: bool>(
    row: GateRow<'_, F>,
    (x, bb, t): (&StridedView<F>, usize, usize),
    wit: &[F],
    bias: &GateBias<F>,
) {
    let mut xr = [F::ZERO; I];
    if !PROJECTED {
        copy_row(&mut xr, x, bb, t); // I == x's feature count here
    }
    let h = row.hn.len();
    let (gr, rest) = row.g.split_at_mut(h);
    let (gz, gn) = rest.split_at_mut(h);
    let (rz, b_rz) = ((&mut *gr, &mut *gz), (&bias.rz[..], &bias.h_n[..]));
    gates_rz::<F, I, PROJECTED>(rz, row.hn, row.hp, xr, wit, b_rz);
    let (rzn, out) = ((&*gr, &*gz, &*row.hn), (row.hnext, row.out));
    gate_n::<F, I, PROJECTED>(gn, out, rzn, row.hprev, xr, wit, &bias.i_n);
}

/// r, z = σ(x W_ihᵀ + h W_hhᵀ + b) and hn = W_hn h + b_hn. Every slice a parameter (not a
/// struct field or a Vec behind one): the compiler then knows the written ones alias nothing it
/// reads and vectorises without runtime overlap checks (too many of them with the inputs'
/// weight rows, and the loop stayed scalar).
#[inline(always)]
fn gates_rz<F: Act, const I: usize, const PROJECTED: bool>(
    (gr, gz): (&mut [F], &mut [F]),
    hn: &mut [F],
    hp: &[F],
    xr: [F; I],
    wit: &[F],
    (b_rz, b_hn): (&[F], &[F]),
) {
    let h = hn.len();
    let (gr, gz) = (&mut gr[..h], &mut gz[..h]);
    let (hp_r, hp_z, hp_n) = (&hp[..h], &hp[h..2 * h], &hp[2 * h..3 * h]);
    let (b_r, b_z, b_hn) = (&b_rz[..h], &b_rz[h..2 * h], &b_hn[..h]);
    let w_r: [&[F]; I] = core::array::from_fn(|k| &wit[3 * k * h..][..h]);
    let w_z: [&[F]; I] = core::array::from_fn(|k| &wit[(3 * k + 1) * h..][..h]);
    for j in 0..h {
        let (mut ar, mut az) = (hp_r[j] + b_r[j], hp_z[j] + b_z[j]);
        if PROJECTED {
            (ar, az) = (ar + gr[j], az + gz[j]);
        }
        for k in 0..I {
            // SAFETY: each weight row holds h values (cut above) and j < h. Indexed, the
            // lengths behind the array were not known to the compiler: a bounds check per
            // element kept the loop scalar.
            let (wr, wz) = unsafe { (*w_r[k].get_unchecked(j), *w_z[k].get_unchecked(j)) };
            ar = xr[k].fma(wr, ar);
            az = xr[k].fma(wz, az);
        }
        gr[j] = F::sigmoid(ar);
        gz[j] = F::sigmoid(az);
        hn[j] = hp_n[j] + b_hn[j];
    }
}

/// n = tanh(x W_inᵀ + b_in + r hn) into `gn`, and h' = (1 - z) n + z h into hs and the output.
#[inline(always)]
fn gate_n<F: Act, const I: usize, const PROJECTED: bool>(
    gn: &mut [F],
    (hnext, out): (&mut [F], &mut [F]),
    (gr, gz, hn): (&[F], &[F], &[F]),
    hprev: &[F],
    xr: [F; I],
    wit: &[F],
    b_in: &[F],
) {
    let h = hn.len();
    let one = F::ONE;
    let (gn, hnext, out, hprev) = (&mut gn[..h], &mut hnext[..h], &mut out[..h], &hprev[..h]);
    let (gr, gz, hn, b_in) = (&gr[..h], &gz[..h], &hn[..h], &b_in[..h]);
    let w_n: [&[F]; I] = core::array::from_fn(|k| &wit[(3 * k + 2) * h..][..h]);
    for j in 0..h {
        let mut an = b_in[j];
        if PROJECTED {
            an += gn[j];
        }
        for k in 0..I {
            // SAFETY: as in gates_rz.
            an = xr[k].fma(unsafe { *w_n[k].get_unchecked(j) }, an);
        }
        let (r, z) = (gr[j], gz[j]);
        let n = F::tanh_(r.fma(hn[j], an));
        gn[j] = n;
        let hv = (one - z) * n + z * hprev[j];
        hnext[j] = hv;
        out[j] = hv;
    }
}

/// Backward. `gy` (B, L, H) C-contiguous. Writes dw_ih (3H, I), dw_hh (3H, H), db_ih, db_hh (3H),
/// and dx (B, L, I) and dh0 (B, H) where given: a classifier's data and zero initial state need
/// neither, and dh0's product alone is one more step of the recurrence.
#[allow(clippy::too_many_arguments)]
pub fn gru_backward<F: Act>(
    x: &StridedView<F>,
    h0: &StridedView<F>,
    w_ih: &StridedView<F>,
    w_hh: &StridedView<F>,
    gates: &[F],
    hn: &[F],
    hs: &[F],
    gy: &StridedView<F>,
    mut dx: Option<&mut [F]>,
    dh0: Option<&mut [F]>,
    dw_ih: &mut [F],
    dw_hh: &mut [F],
    db_ih: &mut [F],
    db_hh: &mut [F],
) -> Result<()> {
    let name = "gru_sequence backward";
    let d = check(name, 3, x, h0, w_ih, w_hh, None, None)?;
    let Dims { b, l, i, h } = d;
    let (bh, g3) = (b * h, 3 * h);
    expect(name, "gy", gy, &[b, l, h])?;
    if h > 1 && b * l > 0 && gy.strides()[2] != 1 {
        return Err(Error::Shape(format!(
            "{name}: gy rows must be contiguous (last stride 1), got strides {:?}",
            gy.strides()
        )));
    }
    for (what, got, want) in [
        ("gates", gates.len(), l * b * g3),
        ("hn", hn.len(), l * bh),
        ("hs", hs.len(), (l + 1) * bh),
        ("dx", dx.as_ref().map_or(b * l * i, |v| v.len()), b * l * i),
        ("dh0", dh0.as_ref().map_or(bh, |v| v.len()), bh),
        ("dw_ih", dw_ih.len(), g3 * i),
        ("dw_hh", dw_hh.len(), g3 * h),
        ("db_ih", db_ih.len(), g3),
        ("db_hh", db_hh.len(), g3),
    ] {
        check_len(name, what, got, want)?;
    }
    let (wih, whh) = (Mat::view(w_ih), Mat::view(w_hh));
    let rows = l * b;
    let crows = step_rows(b, b * g3 * h);
    // da (B, 3H) per step: the recurrent pre-activation gradients [r, z, hn]; dan (B, H): the
    // input-side n pre-activation's. Every step writes all rows of both (no zero-fill).
    //
    // One task per step (one thread, or a step too small to split): each step's weight, bias and
    // input gradients are taken at once from its cache-hot da, on two step buffers; gathering
    // all L steps for one GEMM at the end read 4 MB of da back from L3 four times (B128 H128 L20:
    // backward 5.3 -> 4.7 ms). Steps split across threads keep the gathered form: their per-step
    // products would run on one thread between the parallel parts (2 threads: 3.5 -> 5.2 ms).
    let per_step = crows >= b;
    let kept = if per_step { 2 } else { l.max(1) };
    let mut da = scratch::take_overwritten(kept * b * g3, F::ZERO);
    let fold = per_step && i <= FOLD_INPUTS;
    let dan_len = if fold {
        h
    } else if per_step {
        bh
    } else {
        rows * h
    };
    let mut dan = scratch::take_overwritten(dan_len, F::ZERO);
    let mut dh = vec![F::ZERO; bh]; // the direct z * dh' part, then + dA @ W_hh
    dw_hh.fill(F::ZERO);
    dw_ih.fill(F::ZERO);
    db_hh.fill(F::ZERO);
    let mut dbn = vec![F::ZERO; h];
    let whh_packed = PackedRhs::new(whh);
    // A few input features: their gradients taken row by row in the gate pass
    // (small_input_row_grads), against W_ih's columns as rows (wit) and into dwit, W_ih's
    // gradient transposed.
    let (wit, mut dwit) = if fold {
        (wih_columns(w_ih), vec![F::ZERO; i * g3])
    } else {
        (Vec::new(), Vec::new())
    };
    // Where step t's da and dan sit, and step t + 1's da: two alternating slots, or the t-th.
    let slot = |t: usize| if per_step { t % 2 } else { t };
    for t in (0..l).rev() {
        if bh == 0 {
            break;
        }
        let g = &gates[t * b * g3..(t + 1) * b * g3];
        let hnt = &hn[t * bh..(t + 1) * bh];
        let hprev = &hs[t * bh..(t + 1) * bh];
        let (cur, next) = (slot(t), slot(t + 1));
        let (dat, da_prev): (&mut [F], &[F]) = if t + 1 == l {
            (&mut da[cur * b * g3..], &[]) // the last step has no next one
        } else if cur < next {
            let (a, b_) = da.split_at_mut(next * b * g3);
            (&mut a[cur * b * g3..], &b_[..b * g3])
        } else {
            let (a, b_) = da.split_at_mut(cur * b * g3);
            (&mut b_[..b * g3], &a[next * b * g3..])
        };
        let dat = &mut dat[..b * g3];
        if fold {
            // One task. Each row's input-side gradients are taken right after its gate pass,
            // from the da row just written (in L1) and a one-row dn: a pass over all rows after
            // the gate pass read da and dn back from L2 (B128 H128 L20, one thread: backward
            // 4.65 -> 4.14 ms).
            if t + 1 < l {
                whh_packed.matmul(&mut dh, Mat::c(da_prev, b, g3), true);
            }
            let dnr = &mut dan[..h];
            simd::dispatch(
                #[inline(always)]
                || {
                    for bb in 0..b {
                        let dar = &mut dat[bb * g3..(bb + 1) * g3];
                        gate_row_backward(
                            &g[bb * g3..(bb + 1) * g3],
                            &hnt[bb * h..(bb + 1) * h],
                            &hprev[bb * h..(bb + 1) * h],
                            contiguous_row(gy, bb, t, h),
                            &mut dh[bb * h..(bb + 1) * h],
                            dar,
                            dnr,
                        );
                        let mut xr = [F::ZERO; FOLD_INPUTS];
                        copy_row(&mut xr[..i], x, bb, t);
                        let dx_row = dx.as_deref_mut().map(|dx| &mut dx[(bb * l + t) * i..][..i]);
                        let sums = (&mut *db_hh, &mut dbn[..]);
                        small_input_row_grads(dar, dnr, &xr[..i], &wit, dx_row, &mut dwit, sums);
                    }
                },
            );
        } else {
            let dant = &mut dan[if per_step { 0 } else { t * bh }..][..bh];
            let task = |(ci, ((dat, dant), dh)): (usize, ((&mut [F], &mut [F]), &mut [F]))| {
                let (r0, nr) = (ci * crows, dh.len() / h);
                if t + 1 < l {
                    whh_packed.matmul(dh, Mat::c(&da_prev[r0 * g3..], nr, g3), true);
                }
                simd::dispatch(
                    #[inline(always)]
                    || {
                        for rr in 0..nr {
                            let bb = r0 + rr;
                            gate_row_backward(
                                &g[bb * g3..(bb + 1) * g3],
                                &hnt[bb * h..(bb + 1) * h],
                                &hprev[bb * h..(bb + 1) * h],
                                contiguous_row(gy, bb, t, h),
                                &mut dh[rr * h..(rr + 1) * h],
                                &mut dat[rr * g3..(rr + 1) * g3],
                                &mut dant[rr * h..(rr + 1) * h],
                            );
                        }
                    },
                );
            };
            dat.par_chunks_mut(crows * g3)
                .zip(dant.par_chunks_mut(crows * h))
                .zip(dh.par_chunks_mut(crows * h))
                .enumerate()
                .for_each(task);
        }
        if per_step {
            gemm(dw_hh, Mat::c(dat, b, g3).t(), Mat::c(hprev, b, h), true);
            if !fold {
                // dx[:, t]: rows L*I apart in (B, L, I).
                let dx_t = dx.as_deref_mut().map(|dx| (&mut dx[t * i..], l * i));
                let dant = &dan[..bh];
                input_side_grads(
                    dat,
                    dant,
                    Mat::step(x, t),
                    wih,
                    dw_ih,
                    dx_t,
                    db_hh,
                    &mut dbn,
                );
            }
        }
    }
    if let Some(dh0) = dh0 {
        dh0.copy_from_slice(&dh);
        if l > 0 && bh > 0 {
            gemm(dh0, Mat::c(&da[slot(0) * b * g3..], b, g3), whh, true);
        }
    }
    if !per_step && l > 0 && bh > 0 {
        gemm(dw_hh, Mat::c(&da, rows, g3).t(), Mat::c(hs, rows, h), false);
        // Time-major rows (t, b): x copied to match, dx scattered back to (B, L, I).
        let xt = time_major(x);
        let mut dxt = scratch::take_overwritten(if dx.is_some() { rows * i } else { 0 }, F::ZERO);
        let xm = Mat::c(&xt, rows, i);
        let dxt_ld = dx.is_some().then_some((&mut dxt[..], i));
        input_side_grads(&da, &dan, xm, wih, dw_ih, dxt_ld, db_hh, &mut dbn);
        if let Some(dx) = dx.as_deref_mut() {
            to_batch_first(&dxt, b, l, i, dx);
        }
        scratch::give(xt);
        scratch::give(dxt);
    }
    if fold {
        dw_ih.copy_from_slice(&transposed(&dwit, i, g3));
    }
    if bh == 0 || l == 0 {
        if let Some(dx) = dx {
            dx.fill(F::ZERO);
        }
    }
    db_ih[..2 * h].copy_from_slice(&db_hh[..2 * h]);
    db_ih[2 * h..].copy_from_slice(&dbn);
    scratch::give(da);
    scratch::give(dan);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Plain RNN (tanh or relu)

/// Forward. Writes `out` (B, L, H) and the saved `hs` (L+1, B, H).
#[allow(clippy::too_many_arguments)]
pub fn rnn_forward<F: Act>(
    x: &StridedView<F>,
    h0: &StridedView<F>,
    w_ih: &StridedView<F>,
    w_hh: &StridedView<F>,
    b_ih: Option<&StridedView<F>>,
    b_hh: Option<&StridedView<F>>,
    relu: bool,
    out: &mut [F],
    hs: &mut [F],
) -> Result<Dims> {
    let name = "rnn_sequence";
    let d = check(name, 1, x, h0, w_ih, w_hh, b_ih, b_hh)?;
    let Dims { b, l, i, h } = d;
    let bh = b * h;
    check_len(name, "out", out.len(), b * l * h)?;
    check_len(name, "hs", hs.len(), (l + 1) * bh)?;
    let bias = add_vecs(&dense(b_ih, h), &dense(b_hh, h));
    hs[..bh].copy_from_slice(&dense(Some(h0), bh));
    let wih = Mat::view(w_ih);
    let xt = time_major(x);
    let mut pre = vec![F::ZERO; l * bh];
    gemm(&mut pre, Mat::c(&xt, l * b, i), wih.t(), false);
    scratch::give(xt);
    let crows = step_rows(b, b * h * h);
    let whh_t = PackedRhs::new(Mat::view(w_hh).t());
    for t in 0..l {
        if bh == 0 {
            break;
        }
        let (hs_done, hs_next) = hs.split_at_mut((t + 1) * bh);
        let hprev = &hs_done[t * bh..];
        let p = &mut pre[t * bh..(t + 1) * bh];
        let hnext = &mut hs_next[..bh];
        let bias = &bias;
        let task = |(ci, (p, hnext)): (usize, (&mut [F], &mut [F]))| {
            let (r0, nr) = (ci * crows, hnext.len() / h);
            whh_t.matmul(p, Mat::c(&hprev[r0 * h..], nr, h), true);
            simd::dispatch(
                #[inline(always)]
                || {
                    // Row by row against a bias cut to h (no `k % h`): the loop vectorises.
                    let bias = &bias[..h];
                    for (orow, prow) in hnext.chunks_exact_mut(h).zip(p.chunks_exact(h)) {
                        for ((o, &v), &bv) in orow.iter_mut().zip(prow).zip(bias) {
                            let a = v + bv;
                            *o = if relu {
                                F::max_(a, F::ZERO)
                            } else {
                                F::tanh_(a)
                            };
                        }
                    }
                },
            );
        };
        p.par_chunks_mut(crows * h)
            .zip(hnext.par_chunks_mut(crows * h))
            .enumerate()
            .for_each(task);
        for bb in 0..b {
            out[(bb * l + t) * h..(bb * l + t + 1) * h]
                .copy_from_slice(&hnext[bb * h..(bb + 1) * h]);
        }
    }
    Ok(d)
}

/// Backward. Writes dx, dh0, dw_ih (H, I), dw_hh (H, H), db (H; both biases).
#[allow(clippy::too_many_arguments)]
pub fn rnn_backward<F: Act>(
    x: &StridedView<F>,
    h0: &StridedView<F>,
    w_ih: &StridedView<F>,
    w_hh: &StridedView<F>,
    relu: bool,
    hs: &[F],
    gy: &[F],
    dx: &mut [F],
    dh0: &mut [F],
    dw_ih: &mut [F],
    dw_hh: &mut [F],
    db: &mut [F],
) -> Result<()> {
    let name = "rnn_sequence backward";
    let d = check(name, 1, x, h0, w_ih, w_hh, None, None)?;
    let Dims { b, l, i, h } = d;
    let bh = b * h;
    for (what, got, want) in [
        ("hs", hs.len(), (l + 1) * bh),
        ("gy", gy.len(), b * l * h),
        ("dx", dx.len(), b * l * i),
        ("dh0", dh0.len(), bh),
        ("dw_ih", dw_ih.len(), h * i),
        ("dw_hh", dw_hh.len(), h * h),
        ("db", db.len(), h),
    ] {
        check_len(name, what, got, want)?;
    }
    let (wih, whh) = (Mat::view(w_ih), Mat::view(w_hh));
    let mut da = vec![F::ZERO; l * bh];
    let mut dh = vec![F::ZERO; bh];
    let crows = step_rows(b, b * h * h);
    let whh_packed = PackedRhs::new(whh);
    for t in (0..l).rev() {
        if bh == 0 {
            break;
        }
        let hcur = &hs[(t + 1) * bh..(t + 2) * bh];
        let (da_cur, da_next) = da.split_at_mut((t + 1) * bh);
        let dat = &mut da_cur[t * bh..];
        let da_next: &[F] = da_next;
        let task = |(ci, (dat, dh)): (usize, (&mut [F], &mut [F]))| {
            let (r0, nr) = (ci * crows, dh.len() / h);
            if t + 1 < l {
                whh_packed.matmul(dh, Mat::c(&da_next[r0 * h..], nr, h), false);
            }
            simd::dispatch(
                #[inline(always)]
                || {
                    let one = F::ONE;
                    for rr in 0..nr {
                        let bb = r0 + rr;
                        // Every slice cut to exactly h: no bounds checks, so the loop vectorises.
                        let gyr = &gy[(bb * l + t) * h..(bb * l + t + 1) * h];
                        let (ycur, dhr) = (&hcur[bb * h..(bb + 1) * h], &dh[rr * h..(rr + 1) * h]);
                        let dar = &mut dat[rr * h..(rr + 1) * h];
                        for j in 0..h {
                            let y = ycur[j];
                            let dy = dhr[j] + gyr[j];
                            dar[j] = if relu {
                                if y > F::ZERO {
                                    dy
                                } else {
                                    F::ZERO
                                }
                            } else {
                                dy * (one - y * y)
                            };
                        }
                    }
                },
            );
        };
        dat.par_chunks_mut(crows * h)
            .zip(dh.par_chunks_mut(crows * h))
            .enumerate()
            .for_each(task);
    }
    if l > 0 {
        gemm(dh0, Mat::c(&da, b, h), whh, false);
    } else {
        dh0.fill(F::ZERO);
    }
    weight_grads(x, &da, hs, b, l, i, h, 1, dw_ih, dw_hh);
    input_grad(wih, &da, b, l, i, dx);
    db.fill(F::ZERO);
    add_col_sums(&da, h, db);
    Ok(())
}
