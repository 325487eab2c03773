//! embedding kernels (forward and backward): a row gather from a (num_embeddings, dim) table
//! and its scatter-add gradient (repeated ids accumulate; the padding row gets none).

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::num::Float;
use crate::par::{self, ELEMS_THRESHOLD};

fn check_ids(ids: &[i64], rows: usize) -> Result<()> {
    for (i, &id) in ids.iter().enumerate() {
        if id < 0 || id as usize >= rows {
            return Err(Error::Shape(format!(
                "embedding: index {id} at position {i} is out of range for {rows} embeddings"
            )));
        }
    }
    Ok(())
}

/// `out[i, :] = weight[ids[i], :]` for the C-contiguous (rows, dim) `weight`.
pub fn embedding_forward<T: Copy + Send + Sync>(
    weight: &[T],
    dim: usize,
    ids: &[i64],
    out: &mut [T],
) -> Result<()> {
    if dim == 0 {
        return if out.is_empty() {
            Ok(())
        } else {
            Err(Error::Shape("embedding: dim is 0".into()))
        };
    }
    if !weight.len().is_multiple_of(dim) {
        return Err(Error::Shape(format!(
            "embedding: weight of {} elements is not rows of {dim}",
            weight.len()
        )));
    }
    let rows = weight.len() / dim;
    check_ids(ids, rows)?;
    if out.len() != ids.len() * dim {
        return Err(Error::Shape(format!(
            "embedding: output holds {} elements, expected {}",
            out.len(),
            ids.len() * dim
        )));
    }
    let copy = |(o, &id): (&mut [T], &i64)| {
        let s = id as usize * dim;
        o.copy_from_slice(&weight[s..s + dim]);
    };
    if par::worth(out.len(), ELEMS_THRESHOLD * 4) {
        out.par_chunks_mut(dim).zip(ids.par_iter()).for_each(copy);
    } else {
        out.chunks_mut(dim).zip(ids.iter()).for_each(copy);
    }
    Ok(())
}

/// Gradient of the table: `dweight[r, :] = sum over i with ids[i] == r of gy[i, :]`, zero for
/// rows never looked up and for `padding_idx`. Writes every element of `dweight`.
pub fn embedding_backward<T: Float>(
    gy: &[T],
    dim: usize,
    ids: &[i64],
    padding_idx: Option<i64>,
    dweight: &mut [T],
) -> Result<()> {
    dweight.fill(T::ZERO);
    if dim == 0 {
        return Ok(());
    }
    if !dweight.len().is_multiple_of(dim) {
        return Err(Error::Shape(format!(
            "embedding_backward: table of {} elements is not rows of {dim}",
            dweight.len()
        )));
    }
    let rows = dweight.len() / dim;
    check_ids(ids, rows)?;
    if gy.len() != ids.len() * dim {
        return Err(Error::Shape(format!(
            "embedding_backward: gradient holds {} elements, expected {}",
            gy.len(),
            ids.len() * dim
        )));
    }
    let pad = padding_idx.unwrap_or(-1);
    let threads = par::threads();
    if gy.len() >= ELEMS_THRESHOLD * 4 && threads > 1 && dim >= 2 * 16 {
        // Each task owns a band of columns of the whole table: no two tasks touch one element,
        // and the ids are visited in order, so sums are deterministic.
        let band = dim.div_ceil(threads).div_ceil(16) * 16;
        let starts: Vec<usize> = (0..dim).step_by(band).collect();
        let table = dweight.as_mut_ptr() as usize;
        starts.par_iter().for_each(|&c0| {
            let c1 = (c0 + band).min(dim);
            for (i, &id) in ids.iter().enumerate() {
                if id == pad {
                    continue;
                }
                let src = &gy[i * dim + c0..i * dim + c1];
                // SAFETY: columns [c0, c1) of every row belong to this task alone; the id was
                // checked to be a row of the table, which outlives the scope of par_iter.
                let dst = unsafe {
                    std::slice::from_raw_parts_mut(
                        (table as *mut T).add(id as usize * dim + c0),
                        c1 - c0,
                    )
                };
                for (d, &g) in dst.iter_mut().zip(src) {
                    *d += g;
                }
            }
        });
    } else {
        for (i, &id) in ids.iter().enumerate() {
            if id == pad {
                continue;
            }
            let s = id as usize * dim;
            for (d, &g) in dweight[s..s + dim]
                .iter_mut()
                .zip(&gy[i * dim..(i + 1) * dim])
            {
                *d += g;
            }
        }
    }
    Ok(())
}
