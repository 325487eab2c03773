//! Borrowed n-d views with arbitrary (possibly negative or zero) element strides.
//!
//! A view is checked once, when it is made: every element it can reach lies inside `data`.
//! Kernels may then compute addresses from the strides without further checks.

use crate::error::{Error, Result};
use crate::num::Float;

#[derive(Debug, Clone)]
pub struct StridedView<'a, T> {
    data: &'a [T],
    offset: usize,
    shape: Vec<usize>,
    strides: Vec<isize>,
}

impl<'a, T> StridedView<'a, T> {
    /// A view of `data` whose element `[i0, i1, ...]` lives at `offset + sum(i_d * strides[d])`.
    pub fn new(data: &'a [T], offset: usize, shape: &[usize], strides: &[isize]) -> Result<Self> {
        if shape.len() != strides.len() {
            return Err(Error::Shape(format!(
                "view has {} dims but {} strides",
                shape.len(),
                strides.len()
            )));
        }
        let empty = shape.contains(&0);
        if !empty {
            let (mut lo, mut hi) = (offset as i128, offset as i128);
            for (&n, &s) in shape.iter().zip(strides) {
                let reach = (n as i128 - 1) * s as i128;
                if reach < 0 {
                    lo += reach;
                } else {
                    hi += reach;
                }
            }
            if lo < 0 || hi >= data.len() as i128 {
                return Err(Error::OutOfBounds(format!(
                    "view of shape {shape:?} with strides {strides:?} at offset {offset} reaches \
                     elements {lo}..={hi} of a buffer of {} elements",
                    data.len()
                )));
            }
        }
        Ok(Self {
            data,
            offset,
            shape: shape.to_vec(),
            strides: strides.to_vec(),
        })
    }

    /// The same buffer and offset seen with another shape and strides (bounds re-checked).
    pub fn restrided(&self, shape: &[usize], strides: &[isize]) -> Option<Self> {
        Self::new(self.data, self.offset, shape, strides).ok()
    }

    /// The same buffer from `offset + delta`, seen with another shape and strides (bounds
    /// re-checked): a sub-block of the view, or its dims split or reordered.
    pub fn shifted(&self, delta: isize, shape: &[usize], strides: &[isize]) -> Result<Self> {
        let offset = usize::try_from(self.offset as isize + delta).map_err(|_| {
            Error::OutOfBounds(format!("view offset {} + {delta} is negative", self.offset))
        })?;
        Self::new(self.data, offset, shape, strides)
    }

    /// A C-contiguous view of the whole of `data`.
    pub fn contiguous(data: &'a [T], shape: &[usize]) -> Result<Self> {
        Self::new(data, 0, shape, &contiguous_strides(shape))
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn strides(&self) -> &[isize] {
        &self.strides
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The elements as one slice, in order, when the view is C-contiguous.
    pub fn as_contiguous(&self) -> Option<&'a [T]> {
        let n: usize = self.shape.iter().product();
        if n == 0 {
            return Some(&[]);
        }
        (self.strides == contiguous_strides(&self.shape))
            .then(|| &self.data[self.offset..self.offset + n])
    }

    /// Pointer to the element at `offset + delta`; `delta` must come from in-range indices.
    #[inline(always)]
    pub(crate) fn ptr_at(&self, delta: isize) -> *const T {
        // SAFETY: `new` proved every in-range index maps inside `data`; an empty view is never read.
        unsafe { self.data.as_ptr().offset(self.offset as isize + delta) }
    }
}

/// A 1-d or 2-d view copied C-contiguously (a zero vector of `len` for None).
pub(crate) fn dense<F: Float>(v: Option<&StridedView<F>>, len: usize) -> Vec<F> {
    let Some(v) = v else {
        return vec![F::ZERO; len];
    };
    let mut out = Vec::with_capacity(len);
    match v.ndim() {
        1 => {
            // SAFETY: in-range indices of a checked view.
            out.extend((0..v.shape()[0]).map(|k| unsafe { *v.ptr_at(k as isize * v.strides()[0]) }))
        }
        _ => {
            let (r, c) = (v.shape()[0], v.shape()[1]);
            let (sr, sc) = (v.strides()[0], v.strides()[1]);
            for a in 0..r {
                // SAFETY: in-range indices of a checked view.
                out.extend((0..c).map(|k| unsafe { *v.ptr_at(a as isize * sr + k as isize * sc) }));
            }
        }
    }
    out
}

/// Row-major strides, in elements, for `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    let mut step = 1isize;
    for d in (0..shape.len()).rev() {
        strides[d] = step;
        step *= shape[d].max(1) as isize;
    }
    strides
}

/// NumPy broadcasting of two shapes, or `None` where a pair of sizes clashes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i < n - a.len() {
            1
        } else {
            a[i - (n - a.len())]
        };
        let db = if i < n - b.len() {
            1
        } else {
            b[i - (n - b.len())]
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Element offsets of every index of `batch_shape`, in row-major order, for a view whose batch
/// dims are `shape`/`strides` right-aligned against `batch_shape` (size-1 dims broadcast).
pub fn broadcast_offsets(batch_shape: &[usize], shape: &[usize], strides: &[isize]) -> Vec<isize> {
    let lead = batch_shape.len() - shape.len();
    let eff: Vec<isize> = (0..batch_shape.len())
        .map(|d| {
            if d < lead || shape[d - lead] == 1 {
                0
            } else {
                strides[d - lead]
            }
        })
        .collect();
    let total: usize = batch_shape.iter().product();
    let mut offsets = Vec::with_capacity(total);
    let mut index = vec![0usize; batch_shape.len()];
    let mut off = 0isize;
    for _ in 0..total {
        offsets.push(off);
        for d in (0..batch_shape.len()).rev() {
            index[d] += 1;
            off += eff[d];
            if index[d] < batch_shape[d] {
                break;
            }
            off -= eff[d] * batch_shape[d] as isize;
            index[d] = 0;
        }
    }
    offsets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_views_that_escape_the_buffer() {
        let data = [0.0f32; 6];
        assert!(StridedView::new(&data, 0, &[2, 3], &[3, 1]).is_ok());
        assert!(StridedView::new(&data, 1, &[2, 3], &[3, 1]).is_err());
        assert!(StridedView::new(&data, 5, &[2, 3], &[-3, -1]).is_ok());
        assert!(StridedView::new(&data, 4, &[2, 3], &[-3, -1]).is_err());
        assert!(StridedView::new(&data, 0, &[0, 3], &[3, 1]).is_ok());
    }

    #[test]
    fn broadcasts_like_numpy() {
        assert_eq!(broadcast_shapes(&[3, 1], &[4]), Some(vec![3, 4]));
        assert_eq!(broadcast_shapes(&[], &[2, 2]), Some(vec![2, 2]));
        assert_eq!(broadcast_shapes(&[3], &[4]), None);
        assert_eq!(
            broadcast_offsets(&[2, 3], &[3], &[5]),
            vec![0, 5, 10, 0, 5, 10]
        );
        assert_eq!(
            broadcast_offsets(&[2, 2], &[2, 1], &[7, 1]),
            vec![0, 0, 7, 7]
        );
    }
}
