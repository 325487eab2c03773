//! Matrix product on strided, batched, broadcast operands: `out[..., m, n] = a[..., m, k] @ b[..., k, n]`.
//!
//! The inner product is faer's matmul, which picks its AVX-512 (or AVX2) micro-kernels at run time
//! on stable Rust and accepts any row/column strides, so transposed operands are never copied.

use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::strided::{broadcast_offsets, broadcast_shapes, StridedView};

/// Below this many multiply-adds a product runs on one thread: spawning costs more than it saves.
pub const PARALLEL_THRESHOLD: usize = 1 << 19;

/// The float types the kernels are built for.
pub trait Float: faer::traits::RealField + Copy + Send + Sync + 'static {}
impl Float for f32 {}
impl Float for f64 {}

/// Shape of `a @ b` for operands of rank >= 2 (batch dims broadcast as in numpy).
pub fn matmul_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    if a.len() < 2 || b.len() < 2 {
        return Err(Error::Shape(format!(
            "matmul: operands need at least 2 dims, got {a:?} and {b:?}"
        )));
    }
    let (m, k) = (a[a.len() - 2], a[a.len() - 1]);
    let (kb, n) = (b[b.len() - 2], b[b.len() - 1]);
    if k != kb {
        return Err(Error::Shape(format!(
            "matmul: inner dims differ, {a:?} @ {b:?} ({k} != {kb})"
        )));
    }
    let mut out = broadcast_shapes(&a[..a.len() - 2], &b[..b.len() - 2]).ok_or_else(|| {
        Error::Shape(format!(
            "matmul: batch dims of {a:?} and {b:?} do not broadcast"
        ))
    })?;
    out.extend([m, n]);
    Ok(out)
}

/// Writes `a @ b` into `out`, a C-contiguous buffer of `matmul_shape(a, b)`.
pub fn matmul<T: Float>(a: &StridedView<T>, b: &StridedView<T>, out: &mut [T]) -> Result<()> {
    let out_shape = matmul_shape(a.shape(), b.shape())?;
    let total: usize = out_shape.iter().product();
    if out.len() != total {
        return Err(Error::Shape(format!(
            "matmul: output buffer holds {} elements, {out_shape:?} needs {total}",
            out.len()
        )));
    }
    let (ra, rb) = (a.ndim(), b.ndim());
    let (m, k, n) = (a.shape()[ra - 2], a.shape()[ra - 1], b.shape()[rb - 1]);
    if total == 0 {
        return Ok(());
    }
    if k == 0 {
        out.fill(T::zero_impl());
        return Ok(());
    }

    let batch_shape = &out_shape[..out_shape.len() - 2];
    if let Some(folded) = fold_batch_into_rows(a, b, batch_shape) {
        // One tall product instead of many short ones (e.g. a Linear layer on (B, T, C) input).
        return matmul(&folded, b_as_2d(b)?.as_ref().unwrap_or(b), out);
    }
    let a_offsets = broadcast_offsets(batch_shape, &a.shape()[..ra - 2], &a.strides()[..ra - 2]);
    let b_offsets = broadcast_offsets(batch_shape, &b.shape()[..rb - 2], &b.strides()[..rb - 2]);
    let (a_rs, a_cs) = (a.strides()[ra - 2], a.strides()[ra - 1]);
    let (b_rs, b_cs) = (b.strides()[rb - 2], b.strides()[rb - 1]);

    // Raw pointers are not Send; carry them across threads as addresses.
    let a_ptrs: Vec<usize> = a_offsets.iter().map(|&o| a.ptr_at(o) as usize).collect();
    let b_ptrs: Vec<usize> = b_offsets.iter().map(|&o| b.ptr_at(o) as usize).collect();

    let one_product = |out_mat: &mut [T], batch: usize, par: Par| {
        // SAFETY: both views were bounds-checked for every in-range index, the batch offsets come
        // from in-range batch indices, and `out_mat` is an exclusive m*n chunk.
        unsafe {
            let lhs = MatRef::<T>::from_raw_parts(a_ptrs[batch] as *const T, m, k, a_rs, a_cs);
            let rhs = MatRef::<T>::from_raw_parts(b_ptrs[batch] as *const T, k, n, b_rs, b_cs);
            let dst = MatMut::<T>::from_raw_parts_mut(out_mat.as_mut_ptr(), m, n, n as isize, 1);
            faer::linalg::matmul::matmul(dst, Accum::Replace, lhs, rhs, T::one_impl(), par);
        }
    };

    let batches = a_ptrs.len();
    let work = m * n * k;
    let threads = rayon::current_num_threads();
    if work * batches < PARALLEL_THRESHOLD || threads == 1 {
        out.chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, c)| one_product(c, i, Par::Seq));
    } else if batches >= threads && work < 8 * PARALLEL_THRESHOLD {
        // Many small products: one thread each beats splitting every product.
        out.par_chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, c)| one_product(c, i, Par::Seq));
    } else {
        out.chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, c)| one_product(c, i, Par::rayon(0)));
    }
    Ok(())
}

/// `a` (batch..., m, k) as a (batch*m, k) view, when `b` is the same matrix for every batch and
/// a's batch and row dims are laid out so that they merge into one strided dim.
fn fold_batch_into_rows<'a, T>(
    a: &StridedView<'a, T>,
    b: &StridedView<'_, T>,
    batch_shape: &[usize],
) -> Option<StridedView<'a, T>> {
    let (ra, rb) = (a.ndim(), b.ndim());
    if batch_shape.is_empty() || a.shape()[..ra - 2] != *batch_shape {
        return None;
    }
    if b.shape()[..rb - 2].iter().any(|&n| n != 1) {
        return None;
    }
    let (shape, strides) = (&a.shape()[..ra - 1], &a.strides()[..ra - 1]);
    let mergeable =
        (0..shape.len() - 1).all(|d| strides[d] == strides[d + 1] * shape[d + 1] as isize);
    if !mergeable {
        return None;
    }
    let rows: usize = shape.iter().product();
    a.restrided(
        &[rows, a.shape()[ra - 1]],
        &[strides[shape.len() - 1], a.strides()[ra - 1]],
    )
}

/// `b` without its size-1 batch dims, or None when it has none.
fn b_as_2d<'a, T>(b: &StridedView<'a, T>) -> Result<Option<StridedView<'a, T>>> {
    let r = b.ndim();
    if r == 2 {
        return Ok(None);
    }
    b.restrided(&b.shape()[r - 2..], &b.strides()[r - 2..])
        .map(Some)
        .ok_or_else(|| Error::Shape(format!("matmul: cannot view {:?} as a matrix", b.shape())))
}
