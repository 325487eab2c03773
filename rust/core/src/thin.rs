//! Products with at most [`THIN_N`] output columns, `dst (m, n) = a (m, k) @ b (k, n)`: the GEMM
//! micro-kernels are 4+ columns wide and pack both operands, so a product with n = 1 or 2 (an
//! RNN's input-weight gradient for 2 input features, a 2-class head) runs at a tenth of their
//! speed. Here each output column is a dot product (rows of `a` contiguous) or a sum of scaled
//! columns of `a` (columns contiguous): one pass over `a`, vectorised along its contiguous axis.

use crate::gemm::Mat;
use crate::num::{dot, Float};
use crate::simd;

/// Products with at most this many output columns take this path.
pub const THIN_N: usize = 4;

/// `dst[r * ld + j] (+)= (a @ b)[r, j]` when `b.cols <= THIN_N` and `a` has a contiguous axis;
/// false (nothing written) otherwise, for the caller's general GEMM.
///
/// # Safety
/// `a` and `b` must be readable at every in-range index (as every `Mat` is), `dst` must hold
/// `a.rows` rows of `b.cols` elements, `ld` apart.
pub unsafe fn try_thin<F: Float>(
    dst: &mut [F],
    ld: usize,
    a: Mat<'_, F>,
    b: Mat<'_, F>,
    add: bool,
) -> bool {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if n == 0 || n > THIN_N || m == 0 || k == 0 || !(a.cs == 1 || a.rs == 1) {
        return false;
    }
    // b's columns, each contiguous (b is k × n with n ≤ 4: a small copy).
    let mut bc = vec![F::ZERO; n * k];
    for j in 0..n {
        for kk in 0..k {
            // SAFETY: (kk, j) is in range of b.
            bc[j * k + kk] = unsafe { *b.ptr.offset(kk as isize * b.rs + j as isize * b.cs) };
        }
    }
    if a.cs == 1 {
        simd::dispatch(
            #[inline(always)]
            || {
                for r in 0..m {
                    // SAFETY: row r of a holds k contiguous elements (cs = 1).
                    let row =
                        unsafe { core::slice::from_raw_parts(a.ptr.offset(r as isize * a.rs), k) };
                    for j in 0..n {
                        let s = dot(row, &bc[j * k..(j + 1) * k]);
                        let o = &mut dst[r * ld + j];
                        *o = if add { *o + s } else { s };
                    }
                }
            },
        );
    } else {
        // Columns of a contiguous (a = cᵀ of a row-major c): out[:, j] = Σ_kk a[:, kk] · b[kk, j],
        // accumulated column by column in kk order (as a naive product sums).
        let mut acc = vec![F::ZERO; n * m];
        simd::dispatch(
            #[inline(always)]
            || {
                for kk in 0..k {
                    // SAFETY: column kk of a holds m contiguous elements (rs = 1).
                    let col =
                        unsafe { core::slice::from_raw_parts(a.ptr.offset(kk as isize * a.cs), m) };
                    for j in 0..n {
                        let c = bc[j * k + kk];
                        for (o, &v) in acc[j * m..(j + 1) * m].iter_mut().zip(col) {
                            *o += v * c;
                        }
                    }
                }
            },
        );
        for r in 0..m {
            for j in 0..n {
                let o = &mut dst[r * ld + j];
                *o = if add {
                    *o + acc[j * m + r]
                } else {
                    acc[j * m + r]
                };
            }
        }
    }
    true
}
