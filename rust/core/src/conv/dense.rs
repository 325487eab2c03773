//! Tiny maps where every output pixel reads every input pixel through some live tap (a 3×3,
//! padding-1 conv on a 2×2 map; any conv onto or from a 1×1 map; a stride-2 3×3 conv from 2×2 to
//! 1×1): the conv is then one dense linear map per group, from the (C_in/groups · H·W) inputs of
//! an image to its (C_out/groups · OH·OW) outputs, with no zero in it but the weight's own. So the
//! whole batch is one GEMM on the images as they lie in memory, `Y (N, C_out·P) = X (N, C_in·HW)
//! · Eᵀ`, with `E` the kernel expanded over the (output pixel, input pixel) pairs: no im2col, no
//! col2im, no copy of the output, and no multiply-add on padding (im2col's columns of a 2×2 map
//! are 5/9 zeros; Winograd's 4×4 tiles over a 2×2 map, 3/4). Backward-data is `gX = gY · E`, and
//! backward-weight `gE = gYᵀ · X` folded back onto the kernel taps.
//!
//! Where some pair has no tap (larger maps, dilations, strides that skip pixels) `E` would hold
//! zeros whose products with an inf input make NaN where im2col gives ±inf, and multiply-adds
//! that im2col skips: those convs keep the other paths ([`Plan::new`] takes only exact cases).

use super::Conv2dShape;
use crate::num::Float;
use crate::par;
use crate::scratch;
use crate::strided::StridedView;

/// Fewer images than this: E costs about as much to build as the GEMM saves.
const MIN_IMAGES: usize = 4;
/// The largest expanded kernel (elements) built per call (16 MiB of f32).
const MAX_EXPANDED: usize = 1 << 22;

/// Where each entry of a row of `E` comes from in the weight: for output pixel `po` (row-major
/// over OH×OW), entry `c·HW + pi` of every row `o·P + po` is `w[o, c, tap]`, `tap` linking `po`
/// and input pixel `pi`; `index[po·cg·HW + c·HW + pi] = c·kh·kw + tap` is its offset in the
/// output channel's `cg·kh·kw` weights. Expand and fold are then one flat gather (scatter-add)
/// per row: no nested loops over 2- to 4-element pieces (the tiny-map convs spent 35–45 % of
/// their time there).
pub(super) struct Plan {
    index: Vec<u32>,
    /// Every entry of `index` is below this: `cg·kh·kw`, the weights of one output channel.
    bound: usize,
}

/// Per axis: `links[o][i]` = the tap k with `o·stride − pad + k·dil == i`, if any.
fn axis(out: usize, size: usize, k: usize, stride: usize, pad: usize, dil: usize) -> Vec<Vec<Option<usize>>> {
    (0..out)
        .map(|o| {
            (0..size)
                .map(|i| {
                    (0..k).find(|&t| (o * stride + t * dil) as isize - pad as isize == i as isize)
                })
                .collect()
        })
        .collect()
}

impl Plan {
    /// The plan, or None where some (output, input) pixel pair has no tap, or the batch is too
    /// small, or the expanded kernel too large.
    pub(super) fn new(s: &Conv2dShape) -> Option<Self> {
        let (p, hw) = (s.p(), s.in_plane());
        // Exact needs each output pixel to read every input row and column: no more of them
        // than kernel taps (checked first: the tables below are too dear for large maps).
        if s.n < MIN_IMAGES || p == 0 || hw == 0 || s.h > s.kh || s.w > s.kw {
            return None;
        }
        if s.og().checked_mul(s.c_in)?.checked_mul(p * hw)? > MAX_EXPANDED {
            return None;
        }
        let rows = axis(s.oh, s.h, s.kh, s.stride.0, s.pad.0, s.dilation.0);
        let cols = axis(s.ow, s.w, s.kw, s.stride.1, s.pad.1, s.dilation.1);
        let mut taps = Vec::with_capacity(p * hw);
        for ry in &rows {
            for rx in &cols {
                for ty in ry {
                    for tx in rx {
                        taps.push((*ty)? * s.kw + (*tx)?);
                    }
                }
            }
        }
        let (cg, kk) = (s.cg(), s.kh * s.kw);
        let mut index = Vec::with_capacity(p * cg * hw);
        for po_taps in taps.chunks_exact(hw) {
            for c in 0..cg {
                index.extend(po_taps.iter().map(|&t| (c * kk + t) as u32));
            }
        }
        Some(Plan { index, bound: cg * kk })
    }

    /// Group g's expanded kernel `E` (og·P, cg·HW), row-major, into `e`.
    fn expand<T: Float>(&self, w: &[T], s: &Conv2dShape, g: usize, e: &mut [T]) {
        let width = s.cg() * s.in_plane();
        let per_o = s.cg() * s.kh * s.kw;
        for (o, rows) in e.chunks_exact_mut(s.p() * width).enumerate() {
            let wo = &w[(g * s.og() + o) * per_o..][..per_o];
            assert_eq!(wo.len(), self.bound);
            for (row, index) in rows.chunks_exact_mut(width).zip(self.index.chunks_exact(width)) {
                // SAFETY: every index is below self.bound = wo.len() (built so in Plan::new).
                unsafe { gather(row, wo, index) };
            }
        }
    }

    /// Adds group g's `gE` (og·P, cg·HW) onto its taps in `gw` (the group's rows, zeroed).
    fn fold<T: Float>(&self, ge: &[T], s: &Conv2dShape, g: usize, gw: &mut [T]) {
        let width = s.cg() * s.in_plane();
        let per_o = s.cg() * s.kh * s.kw;
        for (o, rows) in ge.chunks_exact(s.p() * width).enumerate() {
            let wo = &mut gw[(g * s.og() + o) * per_o..][..per_o];
            for (row, index) in rows.chunks_exact(width).zip(self.index.chunks_exact(width)) {
                for (&v, &i) in row.iter().zip(index) {
                    wo[i as usize] += v;
                }
            }
        }
    }
}

/// `row[j] = w[index[j]]`, compiled for the CPU's widest vector unit (AVX-512 gathers 16 at
/// once).
///
/// # Safety
/// Every `index[j]` with `j < row.len()` must be below `w.len()`.
unsafe fn gather<T: Float>(row: &mut [T], w: &[T], index: &[u32]) {
    crate::simd::dispatch(
        #[inline(always)]
        || {
            for (d, &i) in row.iter_mut().zip(index) {
                // SAFETY: the caller's contract.
                *d = unsafe { *w.get_unchecked(i as usize) };
            }
        },
    )
}

/// `dst (m, n) = lhs (m, k) @ rhs (k, n)`: one GEMM, split across the threads from
/// [`par::GEMM_SPLIT_THRESHOLD`] / 4 multiply-adds (gemm::raw_product: each thread its own
/// columns of the expanded kernel).
///
/// # Safety
/// As gemm::raw_product.
unsafe fn gemm_split<T: Float>(
    dst: (*mut T, isize, isize),
    lhs: (*const T, isize, isize),
    rhs: (*const T, isize, isize),
    (m, k, n): (usize, usize, usize),
) {
    let threaded = par::worth(m * k * n, par::GEMM_SPLIT_THRESHOLD / 4);
    unsafe { crate::gemm::raw_product(dst, lhs, rhs, (m, k, n), false, threaded) }
}

/// `x` as the row-major (N, C_in·H·W) matrix: (pointer, row stride, column stride), when its
/// strides allow (any image stride, the rest C-ordered up to a common step); else a copy.
fn as_matrix<T: Float>(x: &StridedView<T>, buf: &mut Vec<T>) -> (*const T, isize, isize) {
    let (sh, st) = (x.shape(), x.strides());
    let step = st[3];
    // Axes of size 1 may have any stride.
    let ok = (sh[2] == 1 || st[2] == step * sh[3] as isize)
        && (sh[1] == 1 || st[1] == step * (sh[2] * sh[3]) as isize);
    if ok {
        return (x.ptr_at(0), st[0], step);
    }
    let per = sh[1] * sh[2] * sh[3];
    *buf = scratch::take_overwritten(sh[0] * per, T::ZERO);
    let mut i = 0;
    for n in 0..sh[0] {
        for c in 0..sh[1] {
            for y in 0..sh[2] {
                for xx in 0..sh[3] {
                    let off = n as isize * st[0] + c as isize * st[1] + y as isize * st[2] + xx as isize * st[3];
                    // SAFETY: (n, c, y, xx) is inside the view's shape.
                    buf[i] = unsafe { *x.ptr_at(off) };
                    i += 1;
                }
            }
        }
    }
    (buf.as_ptr(), per as isize, 1)
}

/// `y = conv2d(x, w) + bias`, as [`super::conv2d_forward`].
pub(super) fn forward<T: Float>(
    x: &StridedView<T>,
    w: &[T],
    bias: Option<&[T]>,
    s: &Conv2dShape,
    y: &mut [T],
    plan: &Plan,
) {
    let (p, hw, og, cg) = (s.p(), s.in_plane(), s.og(), s.cg());
    let (k, m) = (cg * hw, og * p);
    let mut buf = Vec::new();
    let (xp, rs, cs) = as_matrix(x, &mut buf);
    let mut e = scratch::take_overwritten(m * k, T::ZERO);
    for g in 0..s.groups {
        plan.expand(w, s, g, &mut e);
        // SAFETY: y is the contiguous (N, C_out·P) output, group g's columns g·m..; x's group-g
        // columns; E (m, k) read transposed.
        unsafe {
            gemm_split(
                (y.as_mut_ptr().add(g * m), (s.c_out * p) as isize, 1),
                (xp.offset((g * k) as isize * cs), rs, cs),
                (e.as_ptr(), 1, k as isize),
                (s.n, k, m),
            );
        }
    }
    scratch::give(e);
    if !buf.is_empty() {
        scratch::give(buf);
    }
    if let Some(b) = bias {
        for img in y.chunks_exact_mut(s.c_out * p) {
            for (plane, &bc) in img.chunks_exact_mut(p).zip(b) {
                plane.iter_mut().for_each(|v| *v += bc);
            }
        }
    }
}

/// The input gradient, as [`super::conv2d_backward_data`] (`gx` overwritten).
pub(super) fn backward_data<T: Float>(gy: &[T], w: &[T], s: &Conv2dShape, gx: &mut [T], plan: &Plan) {
    let (p, hw, og, cg) = (s.p(), s.in_plane(), s.og(), s.cg());
    let (k, m) = (cg * hw, og * p);
    let mut e = scratch::take_overwritten(m * k, T::ZERO);
    for g in 0..s.groups {
        plan.expand(w, s, g, &mut e);
        // SAFETY: gx (N, C_in·HW) group-g columns; gy (N, C_out·P) group-g columns; E (m, k).
        unsafe {
            gemm_split(
                (gx.as_mut_ptr().add(g * k), (s.c_in * hw) as isize, 1),
                (gy.as_ptr().add(g * m), (s.c_out * p) as isize, 1),
                (e.as_ptr(), k as isize, 1),
                (s.n, m, k),
            );
        }
    }
    scratch::give(e);
}

/// The weight gradient, as [`super::conv2d_backward_weight`] (`gw` overwritten).
pub(super) fn backward_weight<T: Float>(x: &StridedView<T>, gy: &[T], s: &Conv2dShape, gw: &mut [T], plan: &Plan) {
    let (p, hw, og, cg) = (s.p(), s.in_plane(), s.og(), s.cg());
    let (k, m) = (cg * hw, og * p);
    let mut buf = Vec::new();
    let (xp, rs, cs) = as_matrix(x, &mut buf);
    let mut ge = scratch::take_overwritten(m * k, T::ZERO);
    gw.fill(T::ZERO);
    for g in 0..s.groups {
        // SAFETY: gE (m, k) row-major; gy's group-g columns read transposed (m, N); x's group-g
        // columns (N, k).
        unsafe {
            gemm_split(
                (ge.as_mut_ptr(), k as isize, 1),
                (gy.as_ptr().add(g * m), 1, (s.c_out * p) as isize),
                (xp.offset((g * k) as isize * cs), rs, cs),
                (m, s.n, k),
            );
        }
        plan.fold(&ge, s, g, gw);
    }
    scratch::give(ge);
    if !buf.is_empty() {
        scratch::give(buf);
    }
}
