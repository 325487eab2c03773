//! A right-hand matrix packed once and multiplied many times by short left-hand blocks: the
//! recurrent step of LSTM/GRU/RNN (`h_t (B, H) @ W_hhᵀ`, and `dG (B, 4H) @ W_hh` backward).
//!
//! Why not faer here: faer repacks the right-hand side on every call and its register tile is
//! tall (96 rows), so a 16-row product per thread runs at about two thirds of its large-GEMM
//! speed (benches/RESULTS.md). Packing W once per sequence into 32-column panels and running an
//! 8×32 AVX-512 register tile over it keeps the step GEMM near the FMA limit. Other types and
//! CPUs without AVX-512 fall back to faer.

use core::any::TypeId;

use rayon::prelude::*;

use crate::gemm::{gemm_ld, Mat};
use crate::num::Float;
use crate::scratch;
use crate::simd::{self, Level};

const NR: usize = 32; // columns per panel: two 16-lane registers
const MR: usize = 8; // rows per register tile
const KC: usize = 256; // most rows of a panel per pass (see kernel::run)

/// `b` (k, n) packed for `matmul`; keeps the original view for the fallback path.
pub struct PackedRhs<'a, F> {
    b: Mat<'a, F>,
    packed: Vec<f32>,
    fast: bool,
}

impl<'a, F: Float> PackedRhs<'a, F> {
    pub fn new(b: Mat<'a, F>) -> Self {
        let fast = TypeId::of::<F>() == TypeId::of::<f32>() && has_avx512();
        let packed = if fast { pack(b) } else { Vec::new() };
        Self { b, packed, fast }
    }

    /// `dst (m, n) = a @ b` (or `+=` with `add`), single-threaded; dst C-contiguous.
    pub fn matmul(&self, dst: &mut [F], a: Mat<'_, F>, add: bool) {
        self.matmul_ld(dst, self.b.cols, a, add)
    }

    /// As `matmul`, with dst rows `ld` elements apart (rows of a larger matrix).
    pub fn matmul_ld(&self, dst: &mut [F], ld: usize, a: Mat<'_, F>, add: bool) {
        let (m, k, n) = (a.rows, a.cols, self.b.cols);
        assert!(
            self.b.rows == k && ld >= n && (m == 0 || dst.len() >= (m - 1) * ld + n),
            "PackedRhs::matmul: shapes do not match"
        );
        if !self.fast || m == 0 || n == 0 || k == 0 {
            return gemm_ld(dst, ld, a, self.b, add, false);
        }
        // SAFETY: F is f32 (checked by TypeId in `new`), so the casts are identities; the CPU has
        // AVX-512F (checked in `new`); `a` was built from a bounds-checked slice; dst holds the
        // m rows of n at stride ld (asserted).
        unsafe {
            let dst =
                core::slice::from_raw_parts_mut(dst.as_mut_ptr() as *mut f32, (m - 1) * ld + n);
            let a_ptr = a.ptr as *const f32;
            kernel::run(dst, ld, a_ptr, a.rs, a.cs, m, k, n, &self.packed, add);
        }
    }
}

impl<F> Drop for PackedRhs<'_, F> {
    fn drop(&mut self) {
        scratch::give(core::mem::take(&mut self.packed));
    }
}

/// The tile needs AVX-512F only; the shared level (F, VL, DQ, AVX2, FMA) implies it.
fn has_avx512() -> bool {
    simd::level() == Level::Avx512
}

/// Panels of NR columns, each k rows of NR values (zero beyond column n), in a per-thread scratch
/// vector (fresh pages for a 1 MB weight cost more than packing it); panels packed in parallel.
fn pack<F: Float>(b: Mat<'_, F>) -> Vec<f32> {
    let (k, n) = (b.rows, b.cols);
    let mut out = scratch::take_overwritten(n.div_ceil(NR) * k * NR, 0f32);
    if k == 0 {
        return out;
    }
    let b = &b;
    out.par_chunks_mut(k * NR)
        .enumerate()
        .for_each(|(p, panel)| {
            let b: &Mat<'_, F> = b; // the whole (Sync) view, not its raw-pointer field
            let cols = n.saturating_sub(p * NR).min(NR);
            for (kk, row) in panel.chunks_exact_mut(NR).enumerate() {
                let src = b
                    .ptr
                    .wrapping_offset(kk as isize * b.rs + (p * NR) as isize * b.cs);
                for (j, v) in row.iter_mut().enumerate() {
                    // SAFETY: kk < k and p*NR + j < n index inside the view; F is f32 here.
                    *v = if j < cols {
                        unsafe { *(src.offset(j as isize * b.cs) as *const f32) }
                    } else {
                        0.0
                    };
                }
            }
        });
    out
}

#[cfg(target_arch = "x86_64")]
mod kernel {
    use super::{KC, MR, NR};
    use std::arch::x86_64::*;

    /// SAFETY: caller guarantees AVX-512F, `a` readable at every (i < m, kk < k) through its
    /// strides, `packed` from `pack` for (k, n), and `dst` of m*n.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn run(
        dst: &mut [f32],
        ld: usize,
        a: *const f32,
        rs: isize,
        cs: isize,
        m: usize,
        k: usize,
        n: usize,
        packed: &[f32],
        add: bool,
    ) {
        for p in 0..n.div_ceil(NR) {
            let cols = (n - p * NR).min(NR);
            // K in even blocks of at most KC rows: a block of the panel (at most 32 KB)
            // stays in L1 across every row block; the GRU backward's whole 384-row panel (48 KB)
            // did not (its step product: 152 -> 173 GF/s, one thread).
            let kb = k.div_ceil(k.div_ceil(KC));
            for k0 in (0..k).step_by(kb) {
                let kc = kb.min(k - k0);
                let panel = &packed[(p * k + k0) * NR..(p * k + k0 + kc) * NR];
                let add = add || k0 > 0;
                let mut r0 = 0;
                while r0 < m {
                    let a0 = unsafe { a.offset(r0 as isize * rs + k0 as isize * cs) };
                    let out = &mut dst[r0 * ld + p * NR..];
                    unsafe {
                        match (m - r0).min(MR) {
                            8 => tile::<8>(out, ld, a0, rs, cs, kc, panel, cols, add),
                            7 => tile::<7>(out, ld, a0, rs, cs, kc, panel, cols, add),
                            6 => tile::<6>(out, ld, a0, rs, cs, kc, panel, cols, add),
                            5 => tile::<5>(out, ld, a0, rs, cs, kc, panel, cols, add),
                            4 => tile::<4>(out, ld, a0, rs, cs, kc, panel, cols, add),
                            3 => tile::<3>(out, ld, a0, rs, cs, kc, panel, cols, add),
                            2 => tile::<2>(out, ld, a0, rs, cs, kc, panel, cols, add),
                            _ => tile::<1>(out, ld, a0, rs, cs, kc, panel, cols, add),
                        }
                    }
                    r0 += MR;
                }
            }
        }
    }

    /// One R×32 block of dst: R rows of `a` against one panel, accumulators in registers.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    unsafe fn tile<const R: usize>(
        out: &mut [f32],
        ld: usize,
        a: *const f32,
        rs: isize,
        cs: isize,
        k: usize,
        panel: &[f32],
        cols: usize,
        add: bool,
    ) {
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        let bp = panel.as_ptr();
        for kk in 0..k {
            // SAFETY: the panel holds k*NR values; `a` is readable at (r < R, kk < k).
            unsafe {
                let b0 = _mm512_loadu_ps(bp.add(kk * NR));
                let b1 = _mm512_loadu_ps(bp.add(kk * NR + 16));
                for (r, row) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_ps(*a.offset(r as isize * rs + kk as isize * cs));
                    row[0] = _mm512_fmadd_ps(av, b0, row[0]);
                    row[1] = _mm512_fmadd_ps(av, b1, row[1]);
                }
            }
        }
        let lo = if cols >= 16 {
            0xFFFFu16
        } else {
            ((1u32 << cols) - 1) as u16
        };
        let hi = if cols >= 32 {
            0xFFFFu16
        } else if cols > 16 {
            ((1u32 << (cols - 16)) - 1) as u16
        } else {
            0
        };
        for (r, row) in acc.iter().enumerate() {
            // SAFETY: row r of this block has `cols` valid columns starting at out[r*ld]; the
            // masks keep loads and stores inside them.
            unsafe {
                let o = out.as_mut_ptr().add(r * ld);
                let (mut v0, mut v1) = (row[0], row[1]);
                if add {
                    v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(lo, o));
                    v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(hi, o.add(16)));
                }
                _mm512_mask_storeu_ps(o, lo, v0);
                _mm512_mask_storeu_ps(o.add(16), hi, v1);
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod kernel {
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn run(
        _: &mut [f32],
        _: usize,
        _: *const f32,
        _: isize,
        _: isize,
        _: usize,
        _: usize,
        _: usize,
        _: &[f32],
        _: bool,
    ) {
        unreachable!("the packed kernel is only selected on x86_64 with AVX-512")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|t| a[i * k + t] * b[t * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn packed_matches_naive_on_odd_shapes_with_and_without_add() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 7),
            (8, 33, 32),
            (16, 256, 1024),
            (13, 17, 47),
            (9, 64, 65),
            (5, 385, 40), // K past two KC blocks, with a remainder
        ] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) / 5.0)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0)
                .collect();
            let want = naive(&a, &b, m, k, n);
            let packed = PackedRhs::new(Mat::c(&b, k, n));
            let mut got = vec![0f32; m * n];
            packed.matmul(&mut got, Mat::c(&a, m, k), false);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-3 * (1.0 + w.abs()),
                    "({m},{k},{n}): {g} vs {w}"
                );
            }
            packed.matmul(&mut got, Mat::c(&a, m, k), true);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - 2.0 * w).abs() <= 2e-3 * (1.0 + w.abs()),
                    "add ({m},{k},{n}): {g} vs {}",
                    2.0 * w
                );
            }
        }
    }

    #[test]
    fn transposed_rhs_view_is_packed_through_its_strides() {
        let (m, k, n) = (5, 6, 37);
        let a: Vec<f32> = (0..m * k).map(|i| i as f32 * 0.1).collect();
        let bt: Vec<f32> = (0..n * k).map(|i| (i % 9) as f32 - 4.0).collect(); // (n, k)
        let b: Vec<f32> = (0..k * n).map(|i| bt[(i % n) * k + i / n]).collect();
        let packed = PackedRhs::new(Mat::c(&bt, n, k).t());
        let mut got = vec![0f32; m * n];
        packed.matmul(&mut got, Mat::c(&a, m, k), false);
        let want = naive(&a, &b, m, k, n);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-3 * (1.0 + w.abs()));
        }
    }
}
