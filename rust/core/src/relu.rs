//! ReLU forward and backward, f32 and f64, one pass each over contiguous buffers.
//!
//! Both are selects (no multiply), so they vectorise to a compare and a masked move under the
//! run-time SIMD dispatch (simd.rs). Semantics follow PyTorch: relu(NaN) = NaN, and the
//! backward is torch's `threshold_backward(grad, x, 0)`: dx = 0 where x ≤ 0, else grad — so a
//! NaN x passes its gradient through and an infinite grad where x ≤ 0 gives 0, not NaN (which
//! `grad * (x > 0)` would give).
//!
//! These passes only stream memory, so they split into rayon tasks only above
//! [`STREAM_THRESHOLD`] elements (par.rs): below it one thread is faster than a fork-join.

use rayon::prelude::*;

use crate::error::{check_len, Result};
use crate::num::Float;
use crate::par::{worth, STREAM_THRESHOLD, TASK_ELEMS};
use crate::simd::simd_dispatch;

simd_dispatch! {
    fn forward_chunk<T: Float>(x: &[T], out: &mut [T]) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = if v <= T::ZERO { T::ZERO } else { v };
        }
    }
}

simd_dispatch! {
    fn backward_chunk<T: Float>(grad: &[T], x: &[T], dx: &mut [T]) {
        for ((d, &g), &v) in dx.iter_mut().zip(grad).zip(x) {
            *d = if v <= T::ZERO { T::ZERO } else { g };
        }
    }
}

/// `out = max(x, 0)` elementwise (NaN stays NaN).
pub fn relu_forward<T: Float>(x: &[T], out: &mut [T]) -> Result<()> {
    check_len("relu", "output", out.len(), x.len())?;
    if worth(x.len(), STREAM_THRESHOLD) {
        x.par_chunks(TASK_ELEMS)
            .zip(out.par_chunks_mut(TASK_ELEMS))
            .for_each(|(xc, oc)| forward_chunk(xc, oc));
    } else {
        forward_chunk(x, out);
    }
    Ok(())
}

/// `dx = grad` where `x > 0` (or NaN), else 0, given the forward's input (or output) `x`.
pub fn relu_backward<T: Float>(grad: &[T], x: &[T], dx: &mut [T]) -> Result<()> {
    check_len("relu_backward", "input", x.len(), grad.len())?;
    check_len("relu_backward", "output", dx.len(), grad.len())?;
    if worth(x.len(), STREAM_THRESHOLD) {
        grad.par_chunks(TASK_ELEMS)
            .zip(x.par_chunks(TASK_ELEMS))
            .zip(dx.par_chunks_mut(TASK_ELEMS))
            .for_each(|((gc, xc), dc)| backward_chunk(gc, xc, dc));
    } else {
        backward_chunk(grad, x, dx);
    }
    Ok(())
}
