//! Dense matrix products, all on faer's matmul, which picks its AVX-512 (or AVX2) micro-kernels
//! at run time on stable Rust and accepts any row/column strides, so transposed operands are
//! never copied:
//!
//! - [`matmul`]: strided, batched, broadcast operands, `out[..., m, n] = a[..., m, k] @ b[..., k, n]`
//!   (the `_native.matmul` op).
//! - [`Mat`] with [`gemm`], [`gemm_par`], [`gemm_ld`]: one product of raw strided matrices into
//!   a C-contiguous destination, for kernels built from GEMMs (rnn, mixing, packed), and
//!   [`add_col_sums`] for their bias gradients.

use core::marker::PhantomData;

use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::num::Float;
use crate::par;
use crate::simd;
use crate::strided::{broadcast_offsets, broadcast_shapes, StridedView};
use crate::thin;

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

    // `threaded`: split this one product across the threads (raw_product).
    let one_product = |out_mat: &mut [T], batch: usize, threaded: bool| {
        // SAFETY: both views were bounds-checked for every in-range index, the batch offsets come
        // from in-range batch indices, and `out_mat` is an exclusive m*n chunk.
        unsafe {
            let (ta, tb) = (
                Mat::raw(a_ptrs[batch] as *const T, m, k, a_rs, a_cs),
                Mat::raw(b_ptrs[batch] as *const T, k, n, b_rs, b_cs),
            );
            if thin::try_thin(out_mat, n, ta, tb, false) {
                return;
            }
            raw_product(
                (out_mat.as_mut_ptr(), n as isize, 1),
                (a_ptrs[batch] as *const T, a_rs, a_cs),
                (b_ptrs[batch] as *const T, b_rs, b_cs),
                (m, k, n),
                false,
                threaded,
            );
        }
    };

    let batches = a_ptrs.len();
    let work = m * n * k;
    let threads = par::threads();
    if work * batches < par::MACS_THRESHOLD || threads == 1 {
        out.chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, c)| one_product(c, i, false));
    } else if batches >= threads && work < 8 * par::MACS_THRESHOLD {
        // Many small products: one thread each beats splitting every product.
        out.par_chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, c)| one_product(c, i, false));
    } else if work >= par::GEMM_SPLIT_THRESHOLD
        && m * n < SMALL_OUTPUT
        && k >= 2 * K_SPLIT_MIN
        && n > thin::THIN_N
    {
        // A small output over a long K (a weight gradient: K = batch rows): faer's split of the
        // output leaves each thread too little (64×1280×192: 632 µs on 2 threads, 283 on one).
        // Halve K instead, one half per thread, and add the partial products.
        let half = k / 2;
        let part = |dst: &mut [T], batch: usize, k0: usize, k1: usize| {
            // SAFETY: as in one_product; columns k0..k1 of a and rows k0..k1 of b are in range.
            unsafe {
                raw_product(
                    (dst.as_mut_ptr(), n as isize, 1),
                    (
                        (a_ptrs[batch] as *const T).offset(k0 as isize * a_cs),
                        a_rs,
                        a_cs,
                    ),
                    (
                        (b_ptrs[batch] as *const T).offset(k0 as isize * b_rs),
                        b_rs,
                        b_cs,
                    ),
                    (m, k1 - k0, n),
                    false,
                    false,
                )
            }
        };
        let mut tmp = vec![T::zero_impl(); m * n];
        for (i, c) in out.chunks_mut(m * n).enumerate() {
            rayon::join(|| part(c, i, 0, half), || part(&mut tmp, i, half, k));
            for (o, &t) in c.iter_mut().zip(&tmp) {
                *o += t;
            }
        }
    } else {
        let threaded = work >= par::GEMM_SPLIT_THRESHOLD;
        out.chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, c)| one_product(c, i, threaded));
    }
    Ok(())
}

/// Writes `a @ b + bias` into `out` (as `matmul`), `bias` of `n` elements added to every row: a
/// Linear layer's forward. One SIMD pass over the fresh (cache-hot) output after the GEMM: numpy's
/// broadcast add took 20–39 µs on 1280×64…128, this 6–13; accumulating the GEMM onto pre-filled
/// bias rows (faer's `Accum::Add`) took 14–26.
pub fn matmul_bias<T: Float>(
    a: &StridedView<T>,
    b: &StridedView<T>,
    bias: &[T],
    out: &mut [T],
) -> Result<()> {
    let n = matmul_shape(a.shape(), b.shape())?
        .last()
        .copied()
        .unwrap_or(0);
    if bias.len() != n {
        return Err(Error::Shape(format!(
            "matmul: bias has {} elements, the product has {n} columns",
            bias.len()
        )));
    }
    matmul(a, b, out)?;
    simd::dispatch(
        #[inline(always)]
        || {
            for row in out.chunks_exact_mut(n.max(1)) {
                for (o, &c) in row.iter_mut().zip(bias) {
                    *o += c;
                }
            }
        },
    );
    Ok(())
}

/// (rows, in, out) of a Linear layer's backward operands x (rows, in), w (out, in) and g (rows,
/// out), or the error naming what it expected.
pub fn linear_shapes<T>(
    x: &StridedView<T>,
    w: &StridedView<T>,
    g: &StridedView<T>,
) -> Result<(usize, usize, usize)> {
    let two_d = [x, w, g].iter().all(|v| v.ndim() == 2);
    if !two_d || x.shape()[1] != w.shape()[1] || g.shape() != [x.shape()[0], w.shape()[0]] {
        return Err(Error::Shape(format!(
            "linear_backward: expected 2-D x (rows, in), weight (out, in) and grad (rows, out), \
             got shapes {:?}, {:?} and {:?}",
            x.shape(),
            w.shape(),
            g.shape()
        )));
    }
    Ok((x.shape()[0], x.shape()[1], w.shape()[0]))
}

/// A Linear layer's backward in one call, from x (rows, in), w (out, in) and the output's
/// gradient g (rows, out), any of them strided: `gx = g @ w` (rows, in), `gw = gᵀ @ x` (out, in,
/// the weight's own layout) and `gb` = g's column sums (out), each written into its C-contiguous
/// buffer when one is given. One call instead of three from Python: the replayed Transformer step
/// spent 20–40 µs per Linear backward in the Python around the products.
pub fn linear_backward<T: Float>(
    x: &StridedView<T>,
    w: &StridedView<T>,
    g: &StridedView<T>,
    gx: Option<&mut [T]>,
    gw: Option<&mut [T]>,
    gb: Option<&mut [T]>,
) -> Result<()> {
    let (rows, _, out_f) = linear_shapes(x, w, g)?;
    if let Some(gx) = gx {
        matmul(g, w, gx)?;
    }
    if let Some(gw) = gw {
        let (s0, s1) = (g.strides()[0], g.strides()[1]);
        let gt = g.shifted(0, &[out_f, rows], &[s1, s0])?;
        matmul(&gt, x, gw)?;
    }
    if let Some(gb) = gb {
        if gb.len() != out_f {
            return Err(Error::Shape(format!(
                "linear_backward: bias gradient buffer holds {} elements, needs {out_f}",
                gb.len()
            )));
        }
        if let Some(dense) = g.as_contiguous() {
            gb.fill(T::ZERO);
            add_col_sums(dense, out_f, gb);
        } else {
            let ones = vec![T::ONE; rows];
            matmul(&StridedView::contiguous(&ones, &[1, rows])?, g, gb)?;
        }
    }
    Ok(())
}

/// `dst (m, n) = lhs (m, k) @ rhs (k, n)` (`add`: `+=`) on raw strided matrices: every product of
/// this module (and of the dense convs) that is not thin ends here. `threaded` splits the longer of
/// m and n across the threads: one single-threaded faer GEMM each, in one fork-join. faer's own
/// split of the short products of small models paid little: 1280×64×64 on 2 threads 59 µs against
/// 68 on one, a (64,64,2,2) conv's 90 against 86. Splitting n gives each thread its own columns of
/// rhs to pack; splitting m its own rows of lhs.
///
/// # Safety
/// The three matrices are in bounds for their shapes and strides, and `dst`'s elements are
/// distinct and not read through `lhs` or `rhs`.
pub(crate) unsafe fn raw_product<T: Float>(
    dst: (*mut T, isize, isize),
    lhs: (*const T, isize, isize),
    rhs: (*const T, isize, isize),
    (m, k, n): (usize, usize, usize),
    add: bool,
    threaded: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !add {
            // SAFETY: the caller's contract.
            let mut d = unsafe { MatMut::<T>::from_raw_parts_mut(dst.0, m, n, dst.1, dst.2) };
            d.fill(T::zero_impl());
        }
        return;
    }
    let accum = if add { Accum::Add } else { Accum::Replace };
    let product = |d: *mut T, l: *const T, r: *const T, (m, k, n): (usize, usize, usize)| {
        // SAFETY: the caller's contract, for this part.
        unsafe {
            let d = MatMut::<T>::from_raw_parts_mut(d, m, n, dst.1, dst.2);
            let a = MatRef::<T>::from_raw_parts(l, m, k, lhs.1, lhs.2);
            let b = MatRef::<T>::from_raw_parts(r, k, n, rhs.1, rhs.2);
            faer::linalg::matmul::matmul(d, accum, a, b, T::one_impl(), Par::Seq);
        }
    };
    let threads = par::threads();
    if !threaded || threads < 2 || m.max(n) < 2 * threads {
        return product(dst.0, lhs.0, rhs.0, (m, k, n));
    }
    let split_n = n >= m;
    let len = if split_n { n } else { m };
    let per = len.div_ceil(threads);
    // Parts of whole vectors (16 f32) where there are enough.
    let per = if len >= 32 * threads {
        per.next_multiple_of(16)
    } else {
        per
    };
    // Raw pointers are not Send: carried as addresses.
    let (d, l, r) = (dst.0 as usize, lhs.0 as usize, rhs.0 as usize);
    (0..len.div_ceil(per)).into_par_iter().for_each(|t| {
        let (i0, part) = ((t * per) as isize, per.min(len - t * per));
        let (d, l, r) = (d as *mut T, l as *const T, r as *const T);
        // Columns (rows) i0.. of dst and rhs (lhs): disjoint between tasks.
        if split_n {
            product(
                d.wrapping_offset(i0 * dst.2),
                l,
                r.wrapping_offset(i0 * rhs.2),
                (m, k, part),
            );
        } else {
            product(
                d.wrapping_offset(i0 * dst.1),
                l.wrapping_offset(i0 * lhs.1),
                r,
                (part, k, n),
            );
        }
    });
}

/// Outputs below this many elements are split along K rather than along rows and columns.
const SMALL_OUTPUT: usize = 1 << 15;
/// Each half of a K split keeps at least this much depth.
const K_SPLIT_MIN: usize = 256;

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

// ---------------------------------------------------------------------------------------------
// Single products on raw strided matrices, for kernels that chain GEMMs with their own passes
// (recurrent sequences, mixing, the packed recurrent step's fallback).

/// A read-only strided matrix borrowed for `'a`. Made only from checked slices/views, so every
/// element is in bounds.
#[derive(Clone, Copy)]
pub struct Mat<'a, F> {
    pub(crate) ptr: *const F,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) rs: isize,
    pub(crate) cs: isize,
    _data: PhantomData<&'a [F]>,
}

impl<'a, F> Mat<'a, F> {
    /// A matrix over raw parts.
    ///
    /// # Safety
    /// Every in-range element (`ptr + r * rs + c * cs`) must be readable for `'a`.
    pub(crate) unsafe fn raw(
        ptr: *const F,
        rows: usize,
        cols: usize,
        rs: isize,
        cs: isize,
    ) -> Self {
        Mat {
            ptr,
            rows,
            cols,
            rs,
            cs,
            _data: PhantomData,
        }
    }

    /// A C-contiguous (rows, cols) matrix at the start of `data`.
    pub fn c(data: &'a [F], rows: usize, cols: usize) -> Self {
        assert!(data.len() >= rows * cols, "Mat::c: buffer too small");
        Mat {
            ptr: data.as_ptr(),
            rows,
            cols,
            rs: cols as isize,
            cs: 1,
            _data: PhantomData,
        }
    }

    /// A 2-d strided view as a matrix.
    pub fn view(v: &'a StridedView<'_, F>) -> Self {
        assert_eq!(v.ndim(), 2, "Mat::view: needs a 2-d view");
        let (s, st) = (v.shape(), v.strides());
        let ptr = if s[0] == 0 || s[1] == 0 {
            core::ptr::null()
        } else {
            v.ptr_at(0)
        };
        Mat {
            ptr,
            rows: s[0],
            cols: s[1],
            rs: st[0],
            cs: st[1],
            _data: PhantomData,
        }
    }

    /// Matrix `bi` of a 3-d strided view (batch, rows, cols).
    pub fn batch(v: &'a StridedView<'_, F>, bi: usize) -> Self {
        Self::fixing(v, 0, bi)
    }

    /// Time step `t` of a 3-d (batch, time, features) view: the (batch, features) matrix.
    pub fn step(v: &'a StridedView<'_, F>, t: usize) -> Self {
        Self::fixing(v, 1, t)
    }

    /// The matrix of a 3-d view's other two axes at `index` along `axis`.
    fn fixing(v: &'a StridedView<'_, F>, axis: usize, index: usize) -> Self {
        assert!(
            v.ndim() == 3 && index < v.shape()[axis],
            "Mat: needs a 3-d view and an in-range index"
        );
        let (s, st) = (v.shape(), v.strides());
        let (r, c) = if axis == 0 { (1, 2) } else { (0, 2) };
        let ptr = if s[r] == 0 || s[c] == 0 {
            core::ptr::null()
        } else {
            v.ptr_at(index as isize * st[axis])
        };
        Mat {
            ptr,
            rows: s[r],
            cols: s[c],
            rs: st[r],
            cs: st[c],
            _data: PhantomData,
        }
    }

    pub fn t(self) -> Self {
        Mat {
            ptr: self.ptr,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            _data: PhantomData,
        }
    }

    /// Rows r0..r0+n.
    pub fn rows(self, r0: usize, n: usize) -> Self {
        assert!(r0 + n <= self.rows, "Mat::rows out of range");
        let ptr = if n == 0 || self.cols == 0 {
            self.ptr
        } else {
            self.ptr.wrapping_offset(r0 as isize * self.rs)
        };
        Mat {
            ptr,
            rows: n,
            ..self
        }
    }

    /// Columns c0..c0+n.
    pub fn cols(self, c0: usize, n: usize) -> Self {
        self.t().rows(c0, n).t()
    }
}

// SAFETY: a Mat is a shared, read-only borrow (its lifetime says for how long), like &[F].
unsafe impl<F: Sync> Send for Mat<'_, F> {}
unsafe impl<F: Sync> Sync for Mat<'_, F> {}

/// `dst (m, n) = a @ b` (or `+=` with `add`), dst C-contiguous; threaded when large.
pub fn gemm<F: Float>(dst: &mut [F], a: Mat<'_, F>, b: Mat<'_, F>, add: bool) {
    gemm_par(dst, a, b, add, true)
}

/// `dst (m, n) = a @ b` (or `+=`); `threaded` allows splitting large products across threads.
pub fn gemm_par<F: Float>(dst: &mut [F], a: Mat<'_, F>, b: Mat<'_, F>, add: bool, threaded: bool) {
    gemm_ld(dst, b.cols, a, b, add, threaded)
}

/// As `gemm_par`, with dst rows `ld` elements apart.
pub fn gemm_ld<F: Float>(
    dst: &mut [F],
    ld: usize,
    a: Mat<'_, F>,
    b: Mat<'_, F>,
    add: bool,
    threaded: bool,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        b.rows == k && ld >= n && (m == 0 || dst.len() >= (m - 1) * ld + n),
        "gemm: shapes do not match"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !add {
            for r in 0..m {
                dst[r * ld..r * ld + n].fill(F::zero_impl());
            }
        }
        return;
    }
    // SAFETY: as below.
    if unsafe { thin::try_thin(dst, ld, a, b, add) } {
        return;
    }
    // SAFETY: `a` and `b` were made from bounds-checked buffers and sliced with checked ranges;
    // `dst` holds m rows of n at stride ld (asserted).
    unsafe {
        raw_product(
            (dst.as_mut_ptr(), ld as isize, 1),
            (a.ptr, a.rs, a.cs),
            (b.ptr, b.rs, b.cs),
            (m, k, n),
            add,
            threaded && par::worth(m * n * k, par::GEMM_SPLIT_THRESHOLD),
        )
    }
}

/// Column sums of a C-contiguous (rows, cols) matrix, added into `out`.
pub fn add_col_sums<F: Float>(m: &[F], cols: usize, out: &mut [F]) {
    if cols == 0 {
        return;
    }
    // Row by row (each column still sums in row order), in the widest vector unit there is.
    crate::simd::dispatch(
        #[inline(always)]
        || {
            for row in m.chunks_exact(cols) {
                for (o, &v) in out.iter_mut().zip(row) {
                    *o += v;
                }
            }
        },
    );
}
