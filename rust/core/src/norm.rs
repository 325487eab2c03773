//! norm kernels (forward and backward): layer norm over the trailing `cols` elements of each
//! row of a C-contiguous buffer, with optional elementwise weight and bias.
//!
//! The forward visits each row once (mean and variance from the row while it sits in L1) and
//! saves mean and 1/std per row; the backward uses them to produce dx, dweight and dbias.

use rayon::prelude::*;

use crate::error::{check_len as check, Error, Result};
use crate::num::Float;
use crate::par::{parallel, rows_per_block};
use crate::simd::{hsum, row_sum, simd_dispatch, LANES};

simd_dispatch! {
    fn ln_forward_rows<T: Float>(x: &[T], cols: usize, weight: Option<&[T]>, bias: Option<&[T]>, eps: T,
                                out: &mut [T], mean: &mut [T], rstd: &mut [T]) {
        let n = T::from_f64(cols as f64);
        for (((xr, yr), mu), rs) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)).zip(mean.iter_mut()).zip(rstd.iter_mut()) {
            let m = row_sum(xr) / n;
            let mut acc = [T::ZERO; LANES];
            let cx = xr.chunks_exact(LANES);
            let rx = cx.remainder();
            for c in cx {
                for l in 0..LANES {
                    let d = c[l] - m;
                    acc[l] += d * d;
                }
            }
            let mut v = hsum(acc);
            for &e in rx {
                let d = e - m;
                v += d * d;
            }
            let r = T::ONE / (v / n + eps).sqrt();
            *mu = m;
            *rs = r;
            match (weight, bias) {
                (Some(w), Some(b)) => {
                    for (((y, &e), &wj), &bj) in yr.iter_mut().zip(xr).zip(w).zip(b) {
                        *y = (e - m) * r * wj + bj;
                    }
                }
                (Some(w), None) => {
                    for ((y, &e), &wj) in yr.iter_mut().zip(xr).zip(w) {
                        *y = (e - m) * r * wj;
                    }
                }
                (None, Some(b)) => {
                    for ((y, &e), &bj) in yr.iter_mut().zip(xr).zip(b) {
                        *y = (e - m) * r + bj;
                    }
                }
                (None, None) => {
                    for (y, &e) in yr.iter_mut().zip(xr) {
                        *y = (e - m) * r;
                    }
                }
            }
        }
    }
}

simd_dispatch! {
    /// dx for a block of rows; accumulates sum(gy * xhat) into `dw` and sum(gy) into `db`.
    /// Every loop runs over slices re-cut to exactly `cols` (or `LANES`) elements so that LLVM
    /// drops the bounds checks and vectorises them under every build profile.
    fn ln_backward_rows<T: Float>(gy: &[T], x: &[T], cols: usize, mean: &[T], rstd: &[T], weight: Option<&[T]>,
                                 dx: &mut [T], dw: &mut [T], db: &mut [T], want_wb: bool) {
        let inv_n = T::ONE / T::from_f64(cols as f64);
        let chunks = cols / LANES;
        let w = weight.map(|w| &w[..cols]);
        let (dw, db) = if want_wb { (&mut dw[..cols], &mut db[..cols]) } else { (&mut dw[..0], &mut db[..0]) };
        for ((((gr, xr), dr), &m), &r) in gy.chunks_exact(cols).zip(x.chunks_exact(cols))
            .zip(dx.chunks_exact_mut(cols)).zip(mean).zip(rstd)
        {
            let (g, xv, d) = (&gr[..cols], &xr[..cols], &mut dr[..cols]);
            // a = sum g w ; c = sum g w x ; then b = sum g w xhat = r (c - m a)
            let (mut aa, mut cc) = ([T::ZERO; LANES], [T::ZERO; LANES]);
            let (mut a, mut c) = (T::ZERO, T::ZERO);
            match w {
                Some(w) => {
                    for k in 0..chunks {
                        let o = k * LANES;
                        let (gk, xk, wk) = (&g[o..o + LANES], &xv[o..o + LANES], &w[o..o + LANES]);
                        for l in 0..LANES {
                            let gw = gk[l] * wk[l];
                            aa[l] += gw;
                            cc[l] += gw * xk[l];
                        }
                    }
                    for j in chunks * LANES..cols {
                        let gw = g[j] * w[j];
                        a += gw;
                        c += gw * xv[j];
                    }
                }
                None => {
                    for k in 0..chunks {
                        let o = k * LANES;
                        let (gk, xk) = (&g[o..o + LANES], &xv[o..o + LANES]);
                        for l in 0..LANES {
                            aa[l] += gk[l];
                            cc[l] += gk[l] * xk[l];
                        }
                    }
                    for j in chunks * LANES..cols {
                        a += g[j];
                        c += g[j] * xv[j];
                    }
                }
            }
            a += hsum(aa);
            c += hsum(cc);
            let b = r * (c - m * a);
            // dx = r (g w - a/n - (x - m) r b/n) = k1 g w + k2 x + k3
            let k1 = r;
            let k2 = -(r * r * b * inv_n);
            let k3 = -(r * a * inv_n) - k2 * m;
            match w {
                Some(w) => {
                    for j in 0..cols {
                        d[j] = k1 * g[j] * w[j] + k2 * xv[j] + k3;
                    }
                }
                None => {
                    for j in 0..cols {
                        d[j] = k1 * g[j] + k2 * xv[j] + k3;
                    }
                }
            }
            if want_wb {
                for j in 0..cols {
                    dw[j] += g[j] * ((xv[j] - m) * r);
                    db[j] += g[j];
                }
            }
        }
    }
}

/// Layer norm of each row of `cols` elements of the C-contiguous `x`:
/// `out = (x - mean) / sqrt(var + eps) * weight + bias` (biased variance, like torch).
/// Saves each row's mean and 1/sqrt(var + eps) in `mean` and `rstd`.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_forward<T: Float>(
    x: &[T],
    cols: usize,
    weight: Option<&[T]>,
    bias: Option<&[T]>,
    eps: T,
    out: &mut [T],
    mean: &mut [T],
    rstd: &mut [T],
) -> Result<()> {
    let op = "layer_norm";
    if cols == 0 {
        return Err(Error::Shape(format!("{op}: normalized size is 0")));
    }
    if !x.len().is_multiple_of(cols) {
        return Err(Error::Shape(format!(
            "{op}: {} elements are not rows of {cols}",
            x.len()
        )));
    }
    let rows = x.len() / cols;
    check(op, "output", out.len(), x.len())?;
    check(op, "mean", mean.len(), rows)?;
    check(op, "rstd", rstd.len(), rows)?;
    if let Some(w) = weight {
        check(op, "weight", w.len(), cols)?;
    }
    if let Some(b) = bias {
        check(op, "bias", b.len(), cols)?;
    }
    if parallel(rows, cols) {
        let per = rows_per_block(rows, cols);
        x.par_chunks(per * cols)
            .zip(out.par_chunks_mut(per * cols))
            .zip(mean.par_chunks_mut(per))
            .zip(rstd.par_chunks_mut(per))
            .for_each(|(((xb, ob), mb), rb)| {
                ln_forward_rows(xb, cols, weight, bias, eps, ob, mb, rb)
            });
    } else {
        ln_forward_rows(x, cols, weight, bias, eps, out, mean, rstd);
    }
    Ok(())
}

/// Backward of `layer_norm_forward`: writes dx and, when given, dweight (sum over rows of
/// gy * xhat) and dbias (sum over rows of gy).
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_backward<T: Float>(
    gy: &[T],
    x: &[T],
    cols: usize,
    mean: &[T],
    rstd: &[T],
    weight: Option<&[T]>,
    dx: &mut [T],
    dweight: Option<&mut [T]>,
    dbias: Option<&mut [T]>,
) -> Result<()> {
    let op = "layer_norm_backward";
    if cols == 0 {
        return Err(Error::Shape(format!("{op}: normalized size is 0")));
    }
    if !x.len().is_multiple_of(cols) {
        return Err(Error::Shape(format!(
            "{op}: {} elements are not rows of {cols}",
            x.len()
        )));
    }
    let rows = x.len() / cols;
    check(op, "gradient", gy.len(), x.len())?;
    check(op, "dx", dx.len(), x.len())?;
    check(op, "mean", mean.len(), rows)?;
    check(op, "rstd", rstd.len(), rows)?;
    if let Some(w) = weight {
        check(op, "weight", w.len(), cols)?;
    }
    if let Some(d) = dweight.as_deref() {
        check(op, "dweight", d.len(), cols)?;
    }
    if let Some(d) = dbias.as_deref() {
        check(op, "dbias", d.len(), cols)?;
    }
    let want_wb = dweight.is_some() || dbias.is_some();
    let (mut dw, mut db) = (
        vec![T::ZERO; if want_wb { cols } else { 0 }],
        vec![T::ZERO; if want_wb { cols } else { 0 }],
    );
    if parallel(rows, cols) {
        let per = rows_per_block(rows, cols);
        let partials: Vec<(Vec<T>, Vec<T>)> = gy
            .par_chunks(per * cols)
            .zip(x.par_chunks(per * cols))
            .zip(dx.par_chunks_mut(per * cols))
            .zip(mean.par_chunks(per))
            .zip(rstd.par_chunks(per))
            .map(|((((gb, xb), db_), mb), rb)| {
                let n = if want_wb { cols } else { 0 };
                let (mut pw, mut pb) = (vec![T::ZERO; n], vec![T::ZERO; n]);
                ln_backward_rows(gb, xb, cols, mb, rb, weight, db_, &mut pw, &mut pb, want_wb);
                (pw, pb)
            })
            .collect();
        if want_wb {
            for (pw, pb) in partials {
                for (a, b) in dw.iter_mut().zip(pw) {
                    *a += b;
                }
                for (a, b) in db.iter_mut().zip(pb) {
                    *a += b;
                }
            }
        }
    } else {
        ln_backward_rows(
            gy, x, cols, mean, rstd, weight, dx, &mut dw, &mut db, want_wb,
        );
    }
    if let Some(d) = dweight {
        d.copy_from_slice(&dw);
    }
    if let Some(d) = dbias {
        d.copy_from_slice(&db);
    }
    Ok(())
}
