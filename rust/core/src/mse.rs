//! Fused mean-squared-error loss for an input and a target of the same shape: the forward is one
//! pass (the sum of squared differences), the backward one pass writing grad_input and/or
//! grad_target. The composite `d = x - t; (d * d).mean()` takes three passes forward and more
//! backward.
//!
//! The sum is taken in f64 (each difference and square in T, as PyTorch computes them), in
//! fixed chunks of [`TASK_ELEMS`] whose partial sums are added in order: the result does not
//! depend on the number of threads, and an f32 sum of millions of terms keeps ~f32 accuracy.

use rayon::prelude::*;

use crate::error::{check_len, Result};
use crate::num::Float;
use crate::par::{worth, STREAM_THRESHOLD, TASK_ELEMS};
use crate::simd::{simd_dispatch, LANES};

simd_dispatch! {
    fn sq_diff_sum<T: Float>(x: &[T], t: &[T]) -> f64 {
        let mut acc = [0f64; LANES];
        let (cx, ct) = (x.chunks_exact(LANES), t.chunks_exact(LANES));
        let (rx, rt) = (cx.remainder(), ct.remainder());
        for (a, b) in cx.zip(ct) {
            for l in 0..LANES {
                let d = a[l] - b[l];
                acc[l] += (d * d).to_f64();
            }
        }
        let mut s = 0f64;
        for v in acc {
            s += v;
        }
        for (&a, &b) in rx.iter().zip(rt) {
            let d = a - b;
            s += (d * d).to_f64();
        }
        s
    }
}

simd_dispatch! {
    fn grad_chunk<T: Float>(x: &[T], t: &[T], scale: T, gx: Option<&mut [T]>, gt: Option<&mut [T]>) {
        match (gx, gt) {
            (Some(gx), Some(gt)) => {
                for (((ox, ot), &a), &b) in gx.iter_mut().zip(gt.iter_mut()).zip(x).zip(t) {
                    let v = (a - b) * scale;
                    *ox = v;
                    *ot = -v;
                }
            }
            (Some(gx), None) => {
                for ((o, &a), &b) in gx.iter_mut().zip(x).zip(t) {
                    *o = (a - b) * scale;
                }
            }
            (None, Some(gt)) => {
                for ((o, &a), &b) in gt.iter_mut().zip(x).zip(t) {
                    *o = (b - a) * scale;
                }
            }
            (None, None) => {}
        }
    }
}

/// Σ (x - t)² over all elements, in f64. Divide by the count for the mean (0/0 = NaN when
/// empty, as PyTorch).
pub fn mse_sum<T: Float>(x: &[T], t: &[T]) -> Result<f64> {
    check_len("mse_loss", "target", t.len(), x.len())?;
    if x.len() <= TASK_ELEMS {
        return Ok(sq_diff_sum(x, t));
    }
    let parts: Vec<f64> = if worth(x.len(), STREAM_THRESHOLD) {
        x.par_chunks(TASK_ELEMS)
            .zip(t.par_chunks(TASK_ELEMS))
            .map(|(a, b)| sq_diff_sum(a, b))
            .collect()
    } else {
        x.chunks(TASK_ELEMS)
            .zip(t.chunks(TASK_ELEMS))
            .map(|(a, b)| sq_diff_sum(a, b))
            .collect()
    };
    Ok(parts.iter().sum())
}

/// grad_input = (x - t)·scale and grad_target = -(x - t)·scale, each written when given;
/// `scale` is 2·grad/n for the mean, 2·grad for the sum.
pub fn mse_backward<T: Float>(
    x: &[T],
    t: &[T],
    scale: T,
    grad_input: Option<&mut [T]>,
    grad_target: Option<&mut [T]>,
) -> Result<()> {
    let n = x.len();
    check_len("mse_loss_backward", "target", t.len(), n)?;
    if let Some(g) = &grad_input {
        check_len("mse_loss_backward", "grad_input", g.len(), n)?;
    }
    if let Some(g) = &grad_target {
        check_len("mse_loss_backward", "grad_target", g.len(), n)?;
    }
    if !worth(n, STREAM_THRESHOLD) {
        grad_chunk(x, t, scale, grad_input, grad_target);
        return Ok(());
    }
    // Split each present output into chunks; an absent one becomes a stream of Nones.
    fn chunks<T>(g: Option<&mut [T]>, n: usize) -> Vec<Option<&mut [T]>> {
        match g {
            Some(g) => g.chunks_mut(TASK_ELEMS).map(Some).collect(),
            None => (0..n.div_ceil(TASK_ELEMS)).map(|_| None).collect(),
        }
    }
    let (gx, gt) = (chunks(grad_input, n), chunks(grad_target, n));
    x.par_chunks(TASK_ELEMS)
        .zip(t.par_chunks(TASK_ELEMS))
        .zip(gx.into_par_iter().zip(gt.into_par_iter()))
        .for_each(|((a, b), (ox, ot))| grad_chunk(a, b, scale, ox, ot));
    Ok(())
}
