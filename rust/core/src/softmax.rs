//! softmax kernels (forward and backward): softmax / log-softmax over the last axis of a
//! C-contiguous (rows, cols) buffer, and cross-entropy fused with log-softmax over (N, C) logits
//! for class-index and class-probability targets.
//!
//! The row loops are written over fixed-width lanes so LLVM vectorises them; they are compiled
//! for AVX-512 and AVX2+FMA besides the baseline and picked at run time (`simd_dispatch!`).
//! Large inputs run rayon over blocks of rows, small ones stay on the calling thread.

use rayon::prelude::*;

use crate::error::{check_len, Error, Result};
use crate::num::Float;
use crate::par::{parallel, rows_per_block};
use crate::simd::{hsum, row_dot, row_max, row_sum, simd_dispatch, LANES};

/// The float types of the softmax and cross-entropy kernels: [`Float`] plus softmax's exp. An
/// extension because this exp is softmax's own (see [`exp_f32`]): its outputs and its exact 0
/// for -inf logits are what the kernels and their tests were built on.
pub trait SoftmaxFloat: Float {
    /// e^x, branch-free so that loops over it vectorise (f32: Cody-Waite + degree-7 polynomial).
    fn fexp(self) -> Self;
}

impl SoftmaxFloat for f32 {
    #[inline(always)]
    fn fexp(self) -> Self {
        exp_f32(self)
    }
}

impl SoftmaxFloat for f64 {
    #[inline(always)]
    fn fexp(self) -> Self {
        f64::exp(self)
    }
}

/// e^x in f32 with ~2 ulp error, written with selects and integer bit tricks only.
/// exp(-inf) = 0, exp(+inf) = inf, exp(NaN) = NaN, underflow below -87.3 flushes to 0.
#[inline(always)]
#[allow(clippy::manual_clamp)] // selects, as written, vectorise under every profile
pub fn exp_f32(x: f32) -> f32 {
    const HI: f32 = 88.722_83;
    const LO: f32 = -87.336_55;
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    let xc = if x > HI {
        HI
    } else if x < LO {
        LO
    } else {
        x
    };
    let t = xc * LOG2E + MAGIC;
    let n = t - MAGIC;
    let i = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let r = xc - n * LN2_HI - n * LN2_LO;
    let mut p = 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    let scale = f32::from_bits((i.wrapping_add(127) << 23) as u32);
    let y = p * scale;
    if x < LO {
        0.0
    } else if x > HI {
        f32::INFINITY
    } else {
        y
    }
}

/// sum_j exp(x_j - m)
#[inline(always)]
fn row_sum_exp<T: SoftmaxFloat>(x: &[T], m: T) -> T {
    let mut acc = [T::ZERO; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] += (c[l] - m).fexp();
        }
    }
    let mut s = hsum(acc);
    for &v in rest {
        s += (v - m).fexp();
    }
    s
}

// ---- softmax / log_softmax --------------------------------------------------------------------

simd_dispatch! {
    fn softmax_rows<T: SoftmaxFloat>(x: &[T], out: &mut [T], cols: usize, log: bool) {
        for (xr, yr) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
            let m = row_max(xr);
            let m = if m == T::NEG_INF { T::ZERO } else { m }; // an all -inf row gives NaN like torch
            if log {
                let lse = m + row_sum_exp(xr, m).ln();
                for (y, &v) in yr.iter_mut().zip(xr) {
                    *y = v - lse;
                }
            } else {
                // A plain map (vectorises reliably under every profile), then a lane sum of the
                // row while it is still in L1.
                for (y, &v) in yr.iter_mut().zip(xr) {
                    *y = (v - m).fexp();
                }
                let s = row_sum(yr);
                let inv = T::ONE / s;
                for y in yr.iter_mut() {
                    *y *= inv;
                }
            }
        }
    }
}

simd_dispatch! {
    fn softmax_backward_rows<T: SoftmaxFloat>(y: &[T], gy: &[T], dx: &mut [T], cols: usize, log: bool) {
        for ((yr, gr), dr) in y.chunks_exact(cols).zip(gy.chunks_exact(cols)).zip(dx.chunks_exact_mut(cols)) {
            if log {
                let s = row_sum(gr);
                for ((d, &g), &v) in dr.iter_mut().zip(gr).zip(yr) {
                    *d = g - v.fexp() * s;
                }
            } else {
                let s = row_dot(gr, yr);
                for ((d, &g), &v) in dr.iter_mut().zip(gr).zip(yr) {
                    *d = v * (g - s);
                }
            }
        }
    }
}

/// Softmax (or log-softmax when `log`) over the last axis of the C-contiguous `x` of
/// `x.len() / cols` rows; writes `out` (same length).
pub fn softmax_forward<T: SoftmaxFloat>(
    x: &[T],
    cols: usize,
    log: bool,
    out: &mut [T],
) -> Result<()> {
    let op = if log { "log_softmax" } else { "softmax" };
    check_len(op, "output", out.len(), x.len())?;
    if cols == 0 || x.is_empty() {
        return Ok(());
    }
    if !x.len().is_multiple_of(cols) {
        return Err(Error::Shape(format!(
            "{op}: {} elements are not rows of {cols}",
            x.len()
        )));
    }
    let rows = x.len() / cols;
    if parallel(rows, cols) {
        let per = rows_per_block(rows, cols) * cols;
        x.par_chunks(per)
            .zip(out.par_chunks_mut(per))
            .for_each(|(xb, ob)| softmax_rows(xb, ob, cols, log));
    } else {
        softmax_rows(x, out, cols, log);
    }
    Ok(())
}

/// Gradient of softmax (log-softmax when `log`) given its output `y` and upstream `gy`.
pub fn softmax_backward<T: SoftmaxFloat>(
    y: &[T],
    gy: &[T],
    cols: usize,
    log: bool,
    dx: &mut [T],
) -> Result<()> {
    let op = if log {
        "log_softmax_backward"
    } else {
        "softmax_backward"
    };
    check_len(op, "gradient", gy.len(), y.len())?;
    check_len(op, "output", dx.len(), y.len())?;
    if cols == 0 || y.is_empty() {
        return Ok(());
    }
    if !y.len().is_multiple_of(cols) {
        return Err(Error::Shape(format!(
            "{op}: {} elements are not rows of {cols}",
            y.len()
        )));
    }
    let rows = y.len() / cols;
    if parallel(rows, cols) {
        let per = rows_per_block(rows, cols) * cols;
        y.par_chunks(per)
            .zip(gy.par_chunks(per))
            .zip(dx.par_chunks_mut(per))
            .for_each(|((yb, gb), db)| softmax_backward_rows(yb, gb, db, cols, log));
    } else {
        softmax_backward_rows(y, gy, dx, cols, log);
    }
    Ok(())
}

// ---- cross-entropy fused with log-softmax -----------------------------------------------------

/// Options shared by the cross-entropy kernels (torch's arguments).
#[derive(Debug, Clone, Copy)]
pub struct CrossEntropyOpts<'a, T> {
    pub weight: Option<&'a [T]>,
    pub ignore_index: i64,
    pub label_smoothing: T,
}

fn check_ce<T>(
    op: &str,
    x: &[T],
    classes: usize,
    rows_want: usize,
    weight: Option<&[T]>,
) -> Result<()> {
    if classes == 0 {
        return Err(Error::Shape(format!("{op}: the class dim is empty")));
    }
    check_len(op, "input", x.len(), rows_want * classes)?;
    if let Some(w) = weight {
        check_len(op, "weight", w.len(), classes)?;
    }
    Ok(())
}

fn check_targets(target: &[i64], classes: usize, ignore_index: i64) -> Result<()> {
    for (i, &t) in target.iter().enumerate() {
        if t != ignore_index && (t < 0 || t as usize >= classes) {
            return Err(Error::Shape(format!(
                "cross_entropy: target[{i}] = {t} is out of range for {classes} classes"
            )));
        }
    }
    Ok(())
}

simd_dispatch! {
    fn ce_index_rows<T: SoftmaxFloat>(x: &[T], target: &[i64], classes: usize, weight: Option<&[T]>, ignore_index: i64,
                              eps: T, wsum: T, loss: &mut [T], lse_out: &mut [T]) {
        let c = T::from_f64(classes as f64);
        for (((xr, &t), l), lo) in x.chunks_exact(classes).zip(target).zip(loss.iter_mut()).zip(lse_out.iter_mut()) {
            let m = row_max(xr);
            let m = if m == T::NEG_INF { T::ZERO } else { m };
            let lse = m + row_sum_exp(xr, m).ln();
            *lo = lse;
            if t == ignore_index {
                *l = T::ZERO;
                continue;
            }
            let t = t as usize;
            let wt = weight.map_or(T::ONE, |w| w[t]);
            let mut v = (T::ONE - eps) * wt * (lse - xr[t]);
            if eps != T::ZERO {
                let sx = match weight {
                    Some(w) => row_dot(w, xr),
                    None => row_sum(xr),
                };
                v += eps / c * (lse * wsum - sx);
            }
            *l = v;
        }
    }
}

simd_dispatch! {
    fn ce_index_backward_rows<T: SoftmaxFloat>(x: &[T], target: &[i64], classes: usize, weight: Option<&[T]>,
                                       ignore_index: i64, eps: T, wsum: T, lse: &[T], g: &[T], dx: &mut [T]) {
        let c = T::from_f64(classes as f64);
        for ((((xr, &t), &lse), &g), dr) in
            x.chunks_exact(classes).zip(target).zip(lse).zip(g).zip(dx.chunks_exact_mut(classes))
        {
            if t == ignore_index {
                dr.fill(T::ZERO);
                continue;
            }
            let t = t as usize;
            let wt = weight.map_or(T::ONE, |w| w[t]);
            let c1 = g * ((T::ONE - eps) * wt + eps * wsum / c);
            match weight {
                Some(w) if eps != T::ZERO => {
                    let c2 = g * eps / c;
                    for ((d, &v), &wj) in dr.iter_mut().zip(xr).zip(w) {
                        *d = c1 * (v - lse).fexp() - c2 * wj;
                    }
                }
                _ => {
                    let c2 = g * eps / c;
                    for (d, &v) in dr.iter_mut().zip(xr) {
                        *d = c1 * (v - lse).fexp() - c2;
                    }
                }
            }
            dr[t] -= g * (T::ONE - eps) * wt;
        }
    }
}

/// Per-sample cross-entropy of (rows, classes) logits against class indices (torch semantics
/// before reduction: weight[t] * nll, label smoothing mixed in, 0 where `t == ignore_index`).
/// Writes the losses and each row's log-sum-exp (saved for the backward).
pub fn cross_entropy_forward<T: SoftmaxFloat>(
    x: &[T],
    target: &[i64],
    classes: usize,
    opts: CrossEntropyOpts<'_, T>,
    loss: &mut [T],
    lse: &mut [T],
) -> Result<()> {
    let rows = target.len();
    check_ce("cross_entropy", x, classes, rows, opts.weight)?;
    check_len("cross_entropy", "loss", loss.len(), rows)?;
    check_len("cross_entropy", "lse", lse.len(), rows)?;
    check_targets(target, classes, opts.ignore_index)?;
    let wsum = opts.weight.map_or(T::from_f64(classes as f64), |w| {
        w.iter().fold(T::ZERO, |a, &b| a + b)
    });
    let (w, ii, eps) = (opts.weight, opts.ignore_index, opts.label_smoothing);
    if parallel(rows, classes) {
        let per = rows_per_block(rows, classes);
        x.par_chunks(per * classes)
            .zip(target.par_chunks(per))
            .zip(loss.par_chunks_mut(per))
            .zip(lse.par_chunks_mut(per))
            .for_each(|(((xb, tb), lb), sb)| {
                ce_index_rows(xb, tb, classes, w, ii, eps, wsum, lb, sb)
            });
    } else {
        ce_index_rows(x, target, classes, w, ii, eps, wsum, loss, lse);
    }
    Ok(())
}

/// Gradient of the per-sample losses of `cross_entropy_forward` w.r.t. the logits, given the
/// upstream gradient `g` of each sample's loss (reduction already folded into `g`).
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_backward<T: SoftmaxFloat>(
    x: &[T],
    target: &[i64],
    classes: usize,
    opts: CrossEntropyOpts<'_, T>,
    lse: &[T],
    g: &[T],
    dx: &mut [T],
) -> Result<()> {
    let rows = target.len();
    check_ce("cross_entropy_backward", x, classes, rows, opts.weight)?;
    check_len("cross_entropy_backward", "lse", lse.len(), rows)?;
    check_len("cross_entropy_backward", "gradient", g.len(), rows)?;
    check_len("cross_entropy_backward", "output", dx.len(), x.len())?;
    check_targets(target, classes, opts.ignore_index)?;
    let wsum = opts.weight.map_or(T::from_f64(classes as f64), |w| {
        w.iter().fold(T::ZERO, |a, &b| a + b)
    });
    let (w, ii, eps) = (opts.weight, opts.ignore_index, opts.label_smoothing);
    if parallel(rows, classes) {
        let per = rows_per_block(rows, classes);
        x.par_chunks(per * classes)
            .zip(target.par_chunks(per))
            .zip(lse.par_chunks(per))
            .zip(g.par_chunks(per))
            .zip(dx.par_chunks_mut(per * classes))
            .for_each(|((((xb, tb), sb), gb), db)| {
                ce_index_backward_rows(xb, tb, classes, w, ii, eps, wsum, sb, gb, db)
            });
    } else {
        ce_index_backward_rows(x, target, classes, w, ii, eps, wsum, lse, g, dx);
    }
    Ok(())
}

simd_dispatch! {
    fn ce_prob_rows<T: SoftmaxFloat>(x: &[T], t: &[T], classes: usize, weight: Option<&[T]>, eps: T,
                             loss: &mut [T], lse_out: &mut [T]) {
        let u = eps / T::from_f64(classes as f64);
        let keep = T::ONE - eps;
        for (((xr, tr), l), lo) in x.chunks_exact(classes).zip(t.chunks_exact(classes)).zip(loss.iter_mut()).zip(lse_out.iter_mut()) {
            let m = row_max(xr);
            let m = if m == T::NEG_INF { T::ZERO } else { m };
            let lse = m + row_sum_exp(xr, m).ln();
            *lo = lse;
            // loss = -sum_j w_j ts_j (x_j - lse), ts = (1 - eps) t + eps / C
            let mut acc = T::ZERO;
            match weight {
                Some(w) => {
                    for ((&v, &tj), &wj) in xr.iter().zip(tr).zip(w) {
                        acc += wj * (keep * tj + u) * (lse - v);
                    }
                }
                None => {
                    for (&v, &tj) in xr.iter().zip(tr) {
                        acc += (keep * tj + u) * (lse - v);
                    }
                }
            }
            *l = acc;
        }
    }
}

simd_dispatch! {
    fn ce_prob_backward_rows<T: SoftmaxFloat>(x: &[T], t: &[T], classes: usize, weight: Option<&[T]>, eps: T,
                                      lse: &[T], g: &[T], dx: &mut [T], dt: Option<&mut [T]>) {
        let mut dt = dt;
        let u = eps / T::from_f64(classes as f64);
        let keep = T::ONE - eps;
        for (i, (((xr, tr), &lse), &g)) in x.chunks_exact(classes).zip(t.chunks_exact(classes)).zip(lse).zip(g).enumerate() {
            let dr = &mut dx[i * classes..(i + 1) * classes];
            // d/dx_j = g (p_j sum_k w_k ts_k - w_j ts_j)
            let mut s = T::ZERO;
            match weight {
                Some(w) => {
                    for (&tj, &wj) in tr.iter().zip(w) {
                        s += wj * (keep * tj + u);
                    }
                    for (((d, &v), &tj), &wj) in dr.iter_mut().zip(xr).zip(tr).zip(w) {
                        *d = g * (s * (v - lse).fexp() - wj * (keep * tj + u));
                    }
                }
                None => {
                    for &tj in tr {
                        s += keep * tj + u;
                    }
                    for ((d, &v), &tj) in dr.iter_mut().zip(xr).zip(tr) {
                        *d = g * (s * (v - lse).fexp() - (keep * tj + u));
                    }
                }
            }
            if let Some(dt) = dt.as_deref_mut() {
                let tr_out = &mut dt[i * classes..(i + 1) * classes];
                let k = g * keep;
                for (j, (o, &v)) in tr_out.iter_mut().zip(xr).enumerate() {
                    let wj = weight.map_or(T::ONE, |w| w[j]);
                    *o = k * wj * (lse - v);
                }
            }
        }
    }
}

/// Per-sample cross-entropy against class probabilities `t` (same shape as `x`).
pub fn cross_entropy_prob_forward<T: SoftmaxFloat>(
    x: &[T],
    t: &[T],
    classes: usize,
    weight: Option<&[T]>,
    label_smoothing: T,
    loss: &mut [T],
    lse: &mut [T],
) -> Result<()> {
    let rows = loss.len();
    check_ce("cross_entropy", x, classes, rows, weight)?;
    check_len("cross_entropy", "target", t.len(), x.len())?;
    check_len("cross_entropy", "lse", lse.len(), rows)?;
    if parallel(rows, classes) {
        let per = rows_per_block(rows, classes);
        x.par_chunks(per * classes)
            .zip(t.par_chunks(per * classes))
            .zip(loss.par_chunks_mut(per))
            .zip(lse.par_chunks_mut(per))
            .for_each(|(((xb, tb), lb), sb)| {
                ce_prob_rows(xb, tb, classes, weight, label_smoothing, lb, sb)
            });
    } else {
        ce_prob_rows(x, t, classes, weight, label_smoothing, loss, lse);
    }
    Ok(())
}

/// Gradients of `cross_entropy_prob_forward`'s per-sample losses w.r.t. the logits and, when
/// `dt` is given, the target probabilities.
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_prob_backward<T: SoftmaxFloat>(
    x: &[T],
    t: &[T],
    classes: usize,
    weight: Option<&[T]>,
    label_smoothing: T,
    lse: &[T],
    g: &[T],
    dx: &mut [T],
    dt: Option<&mut [T]>,
) -> Result<()> {
    let rows = lse.len();
    let op = "cross_entropy_backward";
    check_ce(op, x, classes, rows, weight)?;
    check_len(op, "target", t.len(), x.len())?;
    check_len(op, "gradient", g.len(), rows)?;
    check_len(op, "output", dx.len(), x.len())?;
    if let Some(d) = dt.as_deref() {
        check_len(op, "target gradient", d.len(), x.len())?;
    }
    if parallel(rows, classes) {
        let per = rows_per_block(rows, classes);
        let pc = per * classes;
        match dt {
            Some(dt) => x
                .par_chunks(pc)
                .zip(t.par_chunks(pc))
                .zip(lse.par_chunks(per))
                .zip(g.par_chunks(per))
                .zip(dx.par_chunks_mut(pc))
                .zip(dt.par_chunks_mut(pc))
                .for_each(|(((((xb, tb), sb), gb), db), eb)| {
                    ce_prob_backward_rows(
                        xb,
                        tb,
                        classes,
                        weight,
                        label_smoothing,
                        sb,
                        gb,
                        db,
                        Some(eb),
                    )
                }),
            None => x
                .par_chunks(pc)
                .zip(t.par_chunks(pc))
                .zip(lse.par_chunks(per))
                .zip(g.par_chunks(per))
                .zip(dx.par_chunks_mut(pc))
                .for_each(|((((xb, tb), sb), gb), db)| {
                    ce_prob_backward_rows(
                        xb,
                        tb,
                        classes,
                        weight,
                        label_smoothing,
                        sb,
                        gb,
                        db,
                        None,
                    )
                }),
        }
    } else {
        ce_prob_backward_rows(x, t, classes, weight, label_smoothing, lse, g, dx, dt);
    }
    Ok(())
}
