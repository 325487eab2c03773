//! Products with at most [`THIN_N`] output columns, `dst (m, n) = a (m, k) @ b (k, n)`: the GEMM
//! micro-kernels are 4+ columns wide and pack both operands, so a product with n = 1 or 2 (an
//! RNN's input-weight gradient for 2 input features, a 2-class head) runs at a tenth of their
//! speed. Here each output column is a dot product (rows of `a` contiguous) or a sum of scaled
//! columns of `a` (columns contiguous): one pass over `a`, vectorised along its contiguous axis.
//!
//! Likewise a product with one output row (a vector times a matrix whose rows are contiguous:
//! a sum over a middle axis taken as `ones (1, R) @ x (A, R, C)`, one product per A) is the
//! scaled rows of `b` added up, without the GEMM's packing.

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
    if m == 1 && n > THIN_N && k > 0 && b.cs == 1 {
        // SAFETY: as for this function.
        unsafe { row_times_matrix(&mut dst[..n], a, b, add) };
        return true;
    }
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

/// `out (n) (+)= a (1, k) @ b (k, n)` for b with contiguous rows: b's rows scaled by a's elements
/// and added in k order, 64 output columns at a time held in registers (128 such products, a
/// (128, 20, 128) array summed over its middle axis: 34 -> 25 µs, one thread; a loop that added
/// into the output row in memory took 41).
///
/// # Safety
/// As for [`try_thin`], with `b.cs == 1`.
unsafe fn row_times_matrix<F: Float>(out: &mut [F], a: Mat<'_, F>, b: Mat<'_, F>, add: bool) {
    const W: usize = 64; // output columns held in registers across the k rows
    let k = a.cols;
    // SAFETY (both closures): (0, kk) is in range of a; row kk of b holds n contiguous elements.
    let av = |kk: usize| unsafe { *a.ptr.offset(kk as isize * a.cs) };
    let brow = |kk: usize| unsafe { b.ptr.offset(kk as isize * b.rs) };
    simd::dispatch(
        #[inline(always)]
        || {
            for (c, chunk) in out.chunks_mut(W).enumerate() {
                let w = chunk.len();
                let mut acc = [F::ZERO; W];
                for kk in 0..k {
                    let (x, row) = (av(kk), brow(kk));
                    // SAFETY: columns c*W .. c*W + w of row kk are in range.
                    let row = unsafe { core::slice::from_raw_parts(row.add(c * W), w) };
                    // A whole chunk as a fixed length, so the loop unrolls into registers.
                    if w == W {
                        for (o, &v) in acc.iter_mut().zip(&row[..W]) {
                            *o = x.fma(v, *o);
                        }
                    } else {
                        for (o, &v) in acc.iter_mut().zip(row) {
                            *o = x.fma(v, *o);
                        }
                    }
                }
                for (o, &v) in chunk.iter_mut().zip(&acc) {
                    *o = if add { *o + v } else { v };
                }
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use crate::gemm::{gemm, Mat};

    /// One output row, written and accumulated, against a naive product (widths around 64).
    #[test]
    fn one_row_products_write_and_accumulate() {
        for &(k, n) in &[(1usize, 5usize), (7, 64), (20, 130)] {
            let a: Vec<f64> = (0..k).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
            let want: Vec<f64> = (0..n)
                .map(|j| (0..k).map(|kk| a[kk] * b[kk * n + j]).sum())
                .collect();
            let mut out = vec![f64::NAN; n];
            gemm(&mut out, Mat::c(&a, 1, k), Mat::c(&b, k, n), false);
            for (o, w) in out.iter().zip(&want) {
                assert!((o - w).abs() < 1e-12, "k={k} n={n}: {o} vs {w}");
            }
            gemm(&mut out, Mat::c(&a, 1, k), Mat::c(&b, k, n), true);
            for (o, w) in out.iter().zip(&want) {
                assert!(
                    (o - 2.0 * w).abs() < 1e-12,
                    "k={k} n={n} accumulated: {o} vs {}",
                    2.0 * w
                );
            }
        }
    }
}
