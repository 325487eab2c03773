//! 2-d convolution kernels (forward, backward-data, backward-weight) on NCHW images.
//!
//! Every product is a faer GEMM on im2col tiles:
//! - forward:          `y[n, g]   = W[g] (Og, K) · cols[g] (K, P)`
//! - backward-weight:  `gW[g]    += gy[n, g] (Og, P) · cols[g]ᵀ (P, K)`
//! - backward-data:    `gcols[g]  = W[g]ᵀ (K, Og) · gy[n, g] (Og, P)`, then col2im adds into gx
//!
//! where `K = C_in/groups · kh · kw` and `P` is a tile of output pixels (a few output rows, so a
//! tile stays in L2). A 1×1, stride-1, unpadded convolution skips im2col: the image viewed as
//! (C, H·W) is the column matrix itself. For stride 1 and >= 32 input channels per group,
//! backward-data is instead a forward conv of gy with the flipped, transposed kernel (a GEMM with
//! a long K and no col2im).
//! Images run in parallel (rayon, one single-threaded GEMM per image) when there are at least as
//! many images as threads; otherwise the forward runs row tiles in parallel (single-threaded
//! GEMMs) and the backward runs images one after another with parallel GEMMs.
//!
//! 3×3 stride-1 convs on maps of 2×2 to 16×16 (forward and backward-data) go the Winograd
//! F(2×2, 3×3) path ([`winograd`]), backward-weight too: 2.25× fewer multiply-adds.
//! Small output maps (at most 128 pixels, several images) go the batched path instead
//! ([`batched`]): blocks of images share one GEMM, and only the kernel taps that reach inside
//! the input take part.
//! Before any of these, two rewrites for tiny maps: where every output pixel reads every input
//! pixel (2×2 and 1×1 maps), the whole batch is one GEMM with the kernel expanded over the pixel
//! pairs ([`dense`]); elsewhere, taps that read only padding are cropped off the kernel ([`crop`]).
//! `conv_transpose2d` needs no kernel of its own: its forward is [`conv2d_backward_data`] and its
//! backward is [`conv2d_forward`] plus [`conv2d_backward_weight`].

use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::num::Float;
use crate::par::{self, MACS_THRESHOLD};
use crate::scratch;
use crate::strided::StridedView;

mod batched;
mod crop;
mod dense;
mod shifted;
mod winograd;
use batched::Blocks;

/// Elements of one im2col tile (K rows × P columns): about 1 MiB of f32, so it stays in L2.
const TILE_ELEMS: usize = 1 << 18;

/// Every size of one convolution. `pad_*` is the top/left padding only: the output size is given
/// explicitly, so asymmetric ('same') padding and transposed-conv output padding need nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dShape {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub oh: usize,
    pub ow: usize,
    pub stride: (usize, usize),
    pub pad: (usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
}

impl Conv2dShape {
    /// The usual output size `(in + 2·pad - dil·(k-1) - 1) / stride + 1`, or an error when the
    /// (padded) input is smaller than the dilated kernel.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        input: [usize; 4],
        weight: [usize; 4],
        stride: (usize, usize),
        pad: (usize, usize),
        dilation: (usize, usize),
        groups: usize,
    ) -> Result<Self> {
        let [n, c_in, h, w] = input;
        let [c_out, _, kh, kw] = weight;
        let out = |i: usize, p: usize, d: usize, k: usize, s: usize| -> Result<usize> {
            let big = || format!("conv2d: padding {pad:?} or dilation {dilation:?} is too large for kernel {:?}", (kh, kw));
            let span = crate::error::add(crate::error::mul(d, k.max(1) - 1, big)?, 1, big)?;
            let padded = crate::error::add(i, crate::error::mul(2, p, big)?, big)?;
            if padded < span || s == 0 {
                return Err(Error::Shape(format!(
                    "conv2d: kernel {:?} (dilation {dilation:?}) is larger than the padded input {input:?} \
                     (padding {pad:?}) or stride {stride:?} is zero",
                    (kh, kw)
                )));
            }
            Ok((padded - span) / s + 1)
        };
        let shape = Self {
            n,
            c_in,
            h,
            w,
            c_out,
            kh,
            kw,
            oh: out(h, pad.0, dilation.0, kh, stride.0)?,
            ow: out(w, pad.1, dilation.1, kw, stride.1)?,
            stride,
            pad,
            dilation,
            groups,
        };
        shape.check()?;
        Ok(shape)
    }

    /// Consistency of the fields themselves.
    pub fn check(&self) -> Result<()> {
        let s = self;
        if s.groups == 0 || !s.c_in.is_multiple_of(s.groups) || !s.c_out.is_multiple_of(s.groups) {
            return Err(Error::Shape(format!(
                "conv2d: groups {} must divide C_in {} and C_out {}",
                s.groups, s.c_in, s.c_out
            )));
        }
        if s.stride.0 == 0 || s.stride.1 == 0 || s.dilation.0 == 0 || s.dilation.1 == 0 {
            return Err(Error::Shape(format!(
                "conv2d: stride {:?} and dilation {:?} must be positive",
                s.stride, s.dilation
            )));
        }
        if s.kh == 0 || s.kw == 0 {
            return Err(Error::Shape(format!(
                "conv2d: kernel {:?} must be non-empty",
                (s.kh, s.kw)
            )));
        }
        // Every size the kernels derive must fit in isize (they index with signed offsets).
        use crate::error::{add, checked_numel, mul};
        let args = || format!("padding {:?}, dilation {:?}, stride {:?}", s.pad, s.dilation, s.stride);
        for (extent, k, d, p) in [(s.h, s.kh, s.dilation.0, s.pad.0), (s.w, s.kw, s.dilation.1, s.pad.1)] {
            mul(d, k - 1, || format!("conv2d: dilation {:?} times kernel size {:?} overflows", s.dilation, (s.kh, s.kw)))?;
            add(extent, mul(2, p, || format!("conv2d: padding {:?} is too large", s.pad))?, || {
                format!("conv2d: padding {:?} is too large for input size {:?}", s.pad, (s.h, s.w))
            })?;
        }
        let bytes = std::mem::size_of::<f64>();
        checked_numel("conv2d", "input", &self.input_shape(), bytes)?;
        checked_numel("conv2d", "weight", &[s.c_out, s.c_in / s.groups, s.kh, s.kw], bytes)?;
        checked_numel("conv2d", &format!("output (from {})", args()), &self.output_shape(), bytes)?;
        // The column matrix of one group: (c_in/groups · kh · kw) × (oh · ow).
        checked_numel("conv2d", &format!("column buffer (from {})", args()), &[s.c_in / s.groups, s.kh, s.kw, s.oh, s.ow], bytes)?;
        Ok(())
    }

    pub fn input_shape(&self) -> [usize; 4] {
        [self.n, self.c_in, self.h, self.w]
    }
    pub fn weight_shape(&self) -> [usize; 4] {
        [self.c_out, self.c_in / self.groups, self.kh, self.kw]
    }
    pub fn output_shape(&self) -> [usize; 4] {
        [self.n, self.c_out, self.oh, self.ow]
    }
    fn cg(&self) -> usize {
        self.c_in / self.groups
    }
    fn og(&self) -> usize {
        self.c_out / self.groups
    }
    /// Rows of one group's column matrix.
    fn k(&self) -> usize {
        self.cg() * self.kh * self.kw
    }
    fn p(&self) -> usize {
        self.oh * self.ow
    }
    fn in_plane(&self) -> usize {
        self.h * self.w
    }
    /// 1×1, stride 1, no padding, output = input size: the image is its own column matrix.
    fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.stride == (1, 1)
            && self.pad == (0, 0)
            && self.oh == self.h
            && self.ow == self.w
    }
    /// Output rows per im2col tile.
    fn tile_rows(&self) -> usize {
        let per_row = (self.c_in * self.kh * self.kw * self.ow).max(1);
        (TILE_ELEMS / per_row).clamp(1, self.oh.max(1))
    }
    fn work(&self) -> usize {
        self.n * self.c_out * self.k() * self.p()
    }
}

fn check_len(what: &str, got: usize, shape: &[usize]) -> Result<()> {
    let want: usize = shape.iter().product();
    if got != want {
        return Err(Error::Shape(format!(
            "conv2d: {what} holds {got} elements, shape {shape:?} needs {want}"
        )));
    }
    Ok(())
}

fn check_view<T>(what: &str, v: &StridedView<T>, shape: [usize; 4]) -> Result<()> {
    if v.shape() != shape {
        return Err(Error::Shape(format!(
            "conv2d: {what} has shape {:?}, expected {shape:?}",
            v.shape()
        )));
    }
    Ok(())
}

/// Raw address of a buffer, to carry it across rayon threads.
#[derive(Clone, Copy)]
struct Addr(usize);

/// How images are spread over threads.
fn schedule(s: &Conv2dShape) -> (bool, Par) {
    let threads = par::threads();
    if threads == 1 || s.work() < MACS_THRESHOLD {
        (false, Par::Seq)
    } else if s.n >= threads {
        (true, Par::Seq)
    } else {
        (false, Par::rayon(0))
    }
}

/// Runs `f(image, par)` for every image, in parallel or not per [`schedule`].
fn for_images(s: &Conv2dShape, f: impl Fn(usize, Par) + Sync) {
    let (across, par) = schedule(s);
    if across {
        (0..s.n).into_par_iter().for_each(|i| f(i, par));
    } else {
        (0..s.n).for_each(|i| f(i, par));
    }
}

/// Writes output rows `oy0..oy1` of image `img`'s column matrix into `cols`, a (C_in·kh·kw,
/// (oy1-oy0)·ow) row-major buffer. Padding reads as zero.
fn im2col<T: Float>(
    x: &StridedView<T>,
    img: usize,
    s: &Conv2dShape,
    oy0: usize,
    oy1: usize,
    cols: &mut [T],
) {
    let st = x.strides();
    let (sn, sc, sy, sx) = (st[0], st[1], st[2], st[3]);
    let base = img as isize * sn;
    let ncol = (oy1 - oy0) * s.ow;
    let zero = T::zero_impl();
    let (ph, pw) = (s.pad.0 as isize, s.pad.1 as isize);
    let (sh, sw) = (s.stride.0 as isize, s.stride.1 as isize);
    // Stride 2 along rows: each input row split once into its even and odd pixels, so that
    // every tap's row is one plain copy out of a half (element by element, the copies were a
    // quarter of the 7×7 stem's forward).
    let half = s.w.div_ceil(2);
    let mut halves = if sw == 2 && sx == 1 {
        vec![zero; 2 * s.h * half]
    } else {
        Vec::new()
    };
    let mut row = 0;
    for c in 0..s.c_in {
        if !halves.is_empty() {
            for (iy, pair) in halves.chunks_exact_mut(2 * half).enumerate() {
                let at = base + c as isize * sc + iy as isize * sy;
                // SAFETY: (img, c, iy, 0..w) are in-range indices of x.
                let line = unsafe { std::slice::from_raw_parts(x.ptr_at(at), s.w) };
                for (ix, &v) in line.iter().enumerate() {
                    pair[(ix % 2) * half + ix / 2] = v;
                }
            }
        }
        for ki in 0..s.kh {
            let dy = (ki * s.dilation.0) as isize - ph;
            for kj in 0..s.kw {
                let dx = (kj * s.dilation.1) as isize - pw;
                let out = &mut cols[row * ncol..(row + 1) * ncol];
                // Output columns whose input column lies inside the image.
                let (lo, hi) = valid_range(dx, sw, s.w, s.ow);
                for (r, oy) in (oy0..oy1).enumerate() {
                    let dst = &mut out[r * s.ow..(r + 1) * s.ow];
                    let iy = oy as isize * sh + dy;
                    if iy < 0 || iy >= s.h as isize || lo >= hi {
                        dst.fill(zero);
                        continue;
                    }
                    dst[..lo].fill(zero);
                    dst[hi..].fill(zero);
                    let line = base + c as isize * sc + iy * sy;
                    if sw == 1 && sx == 1 {
                        // SAFETY: (img, c, iy, lo+dx..hi+dx) are in-range indices of x.
                        let src = unsafe {
                            std::slice::from_raw_parts(x.ptr_at(line + lo as isize + dx), hi - lo)
                        };
                        dst[lo..hi].copy_from_slice(src);
                    } else if !halves.is_empty() {
                        // Input column 2·ox + dx is pixel ox + (dx - parity)/2 of its half.
                        let parity = dx.rem_euclid(2);
                        let at = (2 * iy as usize + parity as usize) * half;
                        let from = (lo as isize + (dx - parity) / 2) as usize;
                        batched::copy_row(&mut dst[lo..hi], &halves[at + from..]);
                    } else {
                        for (ox, d) in dst.iter_mut().enumerate().take(hi).skip(lo) {
                            let ix = ox as isize * sw + dx;
                            // SAFETY: ix is inside 0..w by construction of lo..hi.
                            *d = unsafe { *x.ptr_at(line + ix * sx) };
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// Output columns `ox` in `lo..hi` have `0 <= ox·stride + dx < w` (clamped to `0..ow`).
fn valid_range(dx: isize, stride: isize, w: usize, ow: usize) -> (usize, usize) {
    let ceil_div = |a: isize, b: isize| if a >= 0 { (a + b - 1) / b } else { -((-a) / b) };
    let lo = ceil_div(-dx, stride).clamp(0, ow as isize) as usize;
    let hi = ceil_div(w as isize - dx, stride).clamp(0, ow as isize) as usize;
    (lo, hi.max(lo))
}

/// Adds the column tile (rows `oy0..oy1`) back into the contiguous image gradient `gx`
/// (C_in, h, w): the adjoint of [`im2col`].
fn col2im<T: Float>(cols: &[T], s: &Conv2dShape, oy0: usize, oy1: usize, gx: &mut [T]) {
    let ncol = (oy1 - oy0) * s.ow;
    let (ph, pw) = (s.pad.0 as isize, s.pad.1 as isize);
    let (sh, sw) = (s.stride.0 as isize, s.stride.1 as isize);
    let mut row = 0;
    for c in 0..s.c_in {
        let plane = &mut gx[c * s.in_plane()..(c + 1) * s.in_plane()];
        for ki in 0..s.kh {
            let dy = (ki * s.dilation.0) as isize - ph;
            for kj in 0..s.kw {
                let dx = (kj * s.dilation.1) as isize - pw;
                let src = &cols[row * ncol..(row + 1) * ncol];
                let (lo, hi) = valid_range(dx, sw, s.w, s.ow);
                row += 1;
                if lo >= hi {
                    continue;
                }
                for (r, oy) in (oy0..oy1).enumerate() {
                    let iy = oy as isize * sh + dy;
                    if iy < 0 || iy >= s.h as isize {
                        continue;
                    }
                    let line = &mut plane[iy as usize * s.w..(iy as usize + 1) * s.w];
                    let srow = &src[r * s.ow..(r + 1) * s.ow];
                    if sw == 1 {
                        let off = (lo as isize + dx) as usize;
                        for (d, &v) in line[off..off + hi - lo].iter_mut().zip(&srow[lo..hi]) {
                            *d += v;
                        }
                    } else {
                        for ox in lo..hi {
                            line[(ox as isize * sw + dx) as usize] += srow[ox];
                        }
                    }
                }
            }
        }
    }
}

/// `dst (m, n) (+)= lhs (m, k) · rhs (k, n)` on raw strided operands.
///
/// # Safety
/// Every pointer must address a matrix of the given shape and strides inside live memory, and
/// `dst` must not overlap the operands or memory another thread writes.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm<T: Float>(
    dst: (*mut T, isize, isize),
    lhs: (*const T, isize, isize),
    rhs: (*const T, isize, isize),
    (m, k, n): (usize, usize, usize),
    accum: Accum,
    par: Par,
) {
    if m == 0 || n == 0 {
        return;
    }
    let d = MatMut::<T>::from_raw_parts_mut(dst.0, m, n, dst.1, dst.2);
    if k == 0 {
        if let Accum::Replace = accum {
            let mut d = d;
            d.fill(T::zero_impl());
        }
        return;
    }
    let a = MatRef::<T>::from_raw_parts(lhs.0, m, k, lhs.1, lhs.2);
    let b = MatRef::<T>::from_raw_parts(rhs.0, k, n, rhs.1, rhs.2);
    faer::linalg::matmul::matmul(d, accum, a, b, T::one_impl(), par);
}

/// Strides (channel, pixel) of image `img` of `x` seen as a (C, H·W) matrix, when H and W merge.
fn pointwise_matrix<T>(x: &StridedView<T>, img: usize) -> Option<(*const T, isize, isize)> {
    let st = x.strides();
    let w = x.shape()[3];
    if x.shape()[2] > 1 && st[2] != st[3] * w as isize {
        return None;
    }
    Some((x.ptr_at(img as isize * st[0]), st[1], st[3]))
}

/// `y = conv2d(x, w) + bias`. `x`: (n, c_in, h, w) of any strides; `w`: contiguous
/// (c_out, c_in/groups, kh, kw); `y`: contiguous (n, c_out, oh, ow).
pub fn conv2d_forward<T: Float>(
    x: &StridedView<T>,
    w: &[T],
    bias: Option<&[T]>,
    s: &Conv2dShape,
    y: &mut [T],
) -> Result<()> {
    s.check()?;
    check_view("input", x, s.input_shape())?;
    check_len("weight", w.len(), &s.weight_shape())?;
    check_len("output", y.len(), &s.output_shape())?;
    if let Some(b) = bias {
        check_len("bias", b.len(), &[s.c_out])?;
    }
    let (p, k, og, cg) = (s.p(), s.k(), s.og(), s.cg());
    if y.is_empty() {
        return Ok(());
    }
    if let Some(plan) = dense::Plan::new(s) {
        dense::forward(x, w, bias, s, y, &plan);
        return Ok(());
    }
    if let Some((c, taps)) = crop::cropped(s) {
        let wc = crop::weight(w, s, &taps);
        let done = conv2d_forward(x, &wc, bias, &c, y);
        scratch::give(wc);
        return done;
    }
    if shifted::forward_applies(s) {
        shifted::forward(x, w, bias, s, y);
        return Ok(());
    }
    if winograd::applies(s) && winograd::finite(x) {
        winograd::forward(x, w, false, bias, s, y);
        return Ok(());
    }
    if let Some(bl) = Blocks::plan(s) {
        batched::forward(x, w, bias, s, y, bl);
        return Ok(());
    }
    let y_addr = Addr(y.as_mut_ptr() as usize);
    let w_addr = Addr(w.as_ptr() as usize);
    let mut rows = s.tile_rows();
    let (across, par) = schedule(s);
    let threads = par::threads();
    // Fewer images than threads: split the output rows into tiles and run the tiles in parallel
    // (single-threaded GEMMs), at least two tiles per thread, instead of parallel small GEMMs.
    let tiles_in_parallel = !across && !matches!(par, Par::Seq) && !s.is_pointwise();
    if tiles_in_parallel {
        let per_image = (2 * threads).div_ceil(s.n);
        rows = rows.min(s.oh.div_ceil(per_image)).max(1);
    }
    // Output rows oy0..oy1 of image img: im2col, one GEMM per group, bias.
    let tile = |img: usize, oy0: usize, oy1: usize, cols: &mut Vec<T>, par: Par| {
        let y_img = (y_addr.0 as *mut T).wrapping_add(img * s.c_out * p);
        let wp = w_addr.0 as *const T;
        let ncol = (oy1 - oy0) * s.ow;
        cols.resize(s.groups * k * ncol, T::zero_impl());
        im2col(x, img, s, oy0, oy1, &mut cols[..s.groups * k * ncol]);
        for g in 0..s.groups {
            // SAFETY: columns oy0*ow..oy1*ow of this image's group-g output rows, written only here.
            unsafe {
                gemm(
                    (y_img.add(g * og * p + oy0 * s.ow), p as isize, 1),
                    (wp.add(g * og * k), k as isize, 1),
                    (cols.as_ptr().add(g * k * ncol), ncol as isize, 1),
                    (og, k, ncol),
                    Accum::Replace,
                    par,
                );
            }
        }
        if let Some(b) = bias {
            for (c, &bc) in b.iter().enumerate() {
                // SAFETY: the same columns of row c, written only by this task.
                let row =
                    unsafe { std::slice::from_raw_parts_mut(y_img.add(c * p + oy0 * s.ow), ncol) };
                row.iter_mut().for_each(|v| *v += bc);
            }
        }
    };
    if tiles_in_parallel {
        let per_image = s.oh.div_ceil(rows);
        (0..s.n * per_image)
            .into_par_iter()
            .for_each_init(Vec::new, |cols, t| {
                let (img, r) = (t / per_image, t % per_image);
                tile(img, r * rows, ((r + 1) * rows).min(s.oh), cols, Par::Seq);
            });
        return Ok(());
    }
    let pointwise = s.is_pointwise();
    for_images(s, |img, par| {
        let pw = if pointwise {
            pointwise_matrix(x, img)
        } else {
            None
        };
        let Some((xp, rs, cs)) = pw else {
            // Kept between calls: a fresh tile is zero-filled (or new pages) for every image.
            let mut cols = scratch::take_overwritten(s.groups * k * rows * s.ow, T::zero_impl());
            let mut oy0 = 0;
            while oy0 < s.oh {
                let oy1 = (oy0 + rows).min(s.oh);
                tile(img, oy0, oy1, &mut cols, par);
                oy0 = oy1;
            }
            scratch::give(cols);
            return;
        };
        let y_img = (y_addr.0 as *mut T).wrapping_add(img * s.c_out * p);
        let wp = w_addr.0 as *const T;
        for g in 0..s.groups {
            // SAFETY: disjoint (og, p) block of this image's output; operands in bounds.
            unsafe {
                gemm(
                    (y_img.add(g * og * p), p as isize, 1),
                    (wp.add(g * og * k), k as isize, 1),
                    (xp.offset(g as isize * cg as isize * rs), rs, cs),
                    (og, k, p),
                    Accum::Replace,
                    par,
                );
            }
        }
        if let Some(b) = bias {
            for (c, &bc) in b.iter().enumerate() {
                // SAFETY: row c of this image's output, written only by this task.
                let row = unsafe { std::slice::from_raw_parts_mut(y_img.add(c * p), p) };
                row.iter_mut().for_each(|v| *v += bc);
            }
        }
    });
    Ok(())
}

/// `gx = d conv2d / d x` applied to `gy`. `gy`: contiguous (n, c_out, oh, ow); `w`: contiguous;
/// `gx`: contiguous (n, c_in, h, w), overwritten.
pub fn conv2d_backward_data<T: Float>(
    gy: &[T],
    w: &[T],
    s: &Conv2dShape,
    gx: &mut [T],
) -> Result<()> {
    s.check()?;
    check_len("grad_output", gy.len(), &s.output_shape())?;
    check_len("weight", w.len(), &s.weight_shape())?;
    check_len("grad_input", gx.len(), &s.input_shape())?;
    let (p, k, og, cg) = (s.p(), s.k(), s.og(), s.cg());
    let in_img = s.c_in * s.in_plane();
    if gx.is_empty() {
        return Ok(());
    }
    if let Some(plan) = dense::Plan::new(s) {
        dense::backward_data(gy, w, s, gx, &plan);
        return Ok(());
    }
    if let Some((c, taps)) = crop::cropped(s) {
        let wc = crop::weight(w, s, &taps);
        let done = conv2d_backward_data(gy, &wc, &c, gx);
        scratch::give(wc);
        return done;
    }
    if shifted::backward_data_applies(s) {
        let wt = flip_transpose(w, s);
        shifted::backward_data(gy, &wt, s, gx);
        return Ok(());
    }
    // Winograd only on finite operands (winograd.rs: an inf would come out as NaN).
    let gy_finite =
        || StridedView::contiguous(gy, &s.output_shape()).is_ok_and(|v| winograd::finite(&v));
    if let Some(t) = transposed_forward_shape(s).filter(|t| winograd::applies(t) && gy_finite()) {
        // A 3×3 stride-1 conv on a small map: the transposed forward in Winograd form (the
        // flipped transpose of w taken inside its weight transform).
        let gyv = StridedView::contiguous(gy, &s.output_shape())?;
        winograd::forward(&gyv, w, true, None, &t, gx);
        return Ok(());
    }
    if let Some(bl) = Blocks::plan(s) {
        // Before the transposed forward: its flipped weight copy costs more than a thin GEMM.
        // (Where all taps are live, the batched transposed forward measured even on 8×8 maps
        // and on 4×4 maps 8% faster on one thread but 4% slower on two.)
        batched::backward_data(gy, w, s, gx, bl);
        return Ok(());
    }
    if let Some(t) = transposed_forward_shape(s) {
        // Stride 1: the input gradient is a forward conv of gy with the flipped, transposed
        // kernel. Its GEMM has K = C_out/groups·kh·kw instead of C_out/groups, and no col2im;
        // it pays (~7% measured at 64 channels) once the GEMM has enough rows (C_in/groups).
        let wt = flip_transpose(w, s);
        let gyv = StridedView::contiguous(gy, &s.output_shape())?;
        return conv2d_forward(&gyv, &wt, None, &t, gx);
    }
    let gx_addr = Addr(gx.as_mut_ptr() as usize);
    let w_addr = Addr(w.as_ptr() as usize);
    let gy_addr = Addr(gy.as_ptr() as usize);
    let rows = s.tile_rows();
    let pointwise = s.is_pointwise();
    for_images(s, |img, par| {
        // SAFETY: image img's slice of gx is touched only by this task.
        let gx_img = unsafe {
            std::slice::from_raw_parts_mut((gx_addr.0 as *mut T).add(img * in_img), in_img)
        };
        let gy_img = (gy_addr.0 as *const T).wrapping_add(img * s.c_out * p);
        let wp = w_addr.0 as *const T;
        if pointwise {
            for g in 0..s.groups {
                // SAFETY: gx_img rows g*cg.. (cg, p); weight block (og, cg) read transposed.
                unsafe {
                    gemm(
                        (gx_img.as_mut_ptr().add(g * cg * p), p as isize, 1),
                        (wp.add(g * og * k), 1, k as isize),
                        (gy_img.add(g * og * p), p as isize, 1),
                        (cg, og, p),
                        Accum::Replace,
                        par,
                    );
                }
            }
            return;
        }
        gx_img.fill(T::zero_impl());
        if p == 0 {
            return;
        }
        // Every element is written by the GEMMs below.
        let mut cols = scratch::take_overwritten(s.groups * k * rows * s.ow, T::zero_impl());
        let mut oy0 = 0;
        while oy0 < s.oh {
            let oy1 = (oy0 + rows).min(s.oh);
            let ncol = (oy1 - oy0) * s.ow;
            for g in 0..s.groups {
                // SAFETY: gcols block (k, ncol) of group g; weight (og, k) read transposed.
                unsafe {
                    gemm(
                        (cols.as_mut_ptr().add(g * k * ncol), ncol as isize, 1),
                        (wp.add(g * og * k), 1, k as isize),
                        (gy_img.add(g * og * p + oy0 * s.ow), p as isize, 1),
                        (k, og, ncol),
                        Accum::Replace,
                        par,
                    );
                }
            }
            col2im(&cols[..s.groups * k * ncol], s, oy0, oy1, gx_img);
            oy0 = oy1;
        }
        scratch::give(cols);
    });
    Ok(())
}

/// For a stride-1 conv, the shape of the forward conv that computes its input gradient: gy as the
/// input, the flipped kernel, padding `dil·(k-1) - pad`. None where that padding would be negative
/// or the conv is 1×1 (already a plain GEMM).
fn transposed_forward_shape(s: &Conv2dShape) -> Option<Conv2dShape> {
    if s.stride != (1, 1) || s.is_pointwise() || s.cg() < 32 {
        return None;
    }
    let span = (s.dilation.0 * (s.kh - 1), s.dilation.1 * (s.kw - 1));
    if s.pad.0 > span.0 || s.pad.1 > span.1 {
        return None;
    }
    Some(Conv2dShape {
        n: s.n,
        c_in: s.c_out,
        h: s.oh,
        w: s.ow,
        c_out: s.c_in,
        kh: s.kh,
        kw: s.kw,
        oh: s.h,
        ow: s.w,
        stride: (1, 1),
        pad: (span.0 - s.pad.0, span.1 - s.pad.1),
        dilation: s.dilation,
        groups: s.groups,
    })
}

/// `wt[g·cg + c, o, kh-1-i, kw-1-j] = w[g·og + o, c, i, j]`: the kernel of the transposed conv.
fn flip_transpose<T: Float>(w: &[T], s: &Conv2dShape) -> Vec<T> {
    let (og, cg, kk) = (s.og(), s.cg(), s.kh * s.kw);
    let mut wt = vec![T::zero_impl(); w.len()];
    for g in 0..s.groups {
        for o in 0..og {
            for c in 0..cg {
                let src = &w[((g * og + o) * cg + c) * kk..][..kk];
                let dst = &mut wt[((g * cg + c) * og + o) * kk..][..kk];
                for (d, &v) in dst.iter_mut().zip(src.iter().rev()) {
                    *d = v;
                }
            }
        }
    }
    wt
}

/// `gw = d conv2d / d w` applied to `gy` (overwritten), and optionally `gb`, the bias gradient.
/// `x` any strides; `gy` contiguous (n, c_out, oh, ow); `gw` contiguous like the weight.
pub fn conv2d_backward_weight<T: Float>(
    x: &StridedView<T>,
    gy: &[T],
    s: &Conv2dShape,
    gw: &mut [T],
    gb: Option<&mut [T]>,
) -> Result<()> {
    s.check()?;
    check_view("input", x, s.input_shape())?;
    check_len("grad_output", gy.len(), &s.output_shape())?;
    check_len("grad_weight", gw.len(), &s.weight_shape())?;
    let (p, k, og, cg) = (s.p(), s.k(), s.og(), s.cg());
    if let Some(gb) = gb {
        check_len("grad_bias", gb.len(), &[s.c_out])?;
        let channel = |c: usize| {
            (0..s.n).fold(T::zero_impl(), |acc, i| {
                acc + lane_sum(&gy[(i * s.c_out + c) * p..(i * s.c_out + c + 1) * p])
            })
        };
        if par::worth(gy.len(), MACS_THRESHOLD) {
            gb.par_iter_mut()
                .enumerate()
                .for_each(|(c, v)| *v = channel(c));
        } else {
            gb.iter_mut().enumerate().for_each(|(c, v)| *v = channel(c));
        }
    }
    if gw.is_empty() {
        return Ok(());
    }
    if let Some(plan) = dense::Plan::new(s) {
        dense::backward_weight(x, gy, s, gw, &plan);
        return Ok(());
    }
    if let Some((c, taps)) = crop::cropped(s) {
        // The live taps' gradient, then zeros on the dead ones.
        let mut gwc = scratch::take_overwritten(gw.len() / (s.kh * s.kw) * taps.count(), T::zero_impl());
        let done = conv2d_backward_weight(x, gy, &c, &mut gwc, None);
        gw.fill(T::zero_impl());
        taps.expand(&gwc, s, gw);
        scratch::give(gwc);
        return done;
    }
    if shifted::backward_weight_applies(s) {
        shifted::backward_weight(x, gy, s, gw);
        return Ok(());
    }
    let gy_finite =
        || StridedView::contiguous(gy, &s.output_shape()).is_ok_and(|v| winograd::finite(&v));
    if winograd::applies(s) && winograd::finite(x) && gy_finite() {
        winograd::backward_weight(x, gy, s, gw);
        return Ok(());
    }
    if let Some(bl) = Blocks::plan(s) {
        batched::backward_weight(x, gy, s, gw, bl);
        return Ok(());
    }
    gw.fill(T::zero_impl());
    if s.n == 0 || p == 0 {
        return Ok(());
    }
    let gy_addr = Addr(gy.as_ptr() as usize);
    let rows = s.tile_rows();
    let pointwise = s.is_pointwise();
    // One im2col tile, kept between calls (a fresh one is zero-filled, or new pages, per call).
    let cols_len = if pointwise {
        0
    } else {
        s.groups * k * rows * s.ow
    };
    // Accumulates image img's contribution into `acc` (a whole weight-shaped buffer).
    let one_image = |img: usize, par: Par, acc: &mut [T], cols: &mut Vec<T>| {
        let gy_img = (gy_addr.0 as *const T).wrapping_add(img * s.c_out * p);
        if let Some((xp, rs, cs)) = if pointwise {
            pointwise_matrix(x, img)
        } else {
            None
        } {
            for g in 0..s.groups {
                // SAFETY: acc block (og, cg); gy (og, p); x group block (cg, p) read transposed.
                unsafe {
                    gemm(
                        (acc.as_mut_ptr().add(g * og * k), k as isize, 1),
                        (gy_img.add(g * og * p), p as isize, 1),
                        (xp.offset(g as isize * cg as isize * rs), cs, rs),
                        (og, p, k),
                        Accum::Add,
                        par,
                    );
                }
            }
            return;
        }
        let mut oy0 = 0;
        while oy0 < s.oh {
            let oy1 = (oy0 + rows).min(s.oh);
            let ncol = (oy1 - oy0) * s.ow;
            im2col(x, img, s, oy0, oy1, &mut cols[..s.groups * k * ncol]);
            for g in 0..s.groups {
                // SAFETY: acc block (og, k); gy tile (og, ncol); cols tile (k, ncol) transposed.
                unsafe {
                    gemm(
                        (acc.as_mut_ptr().add(g * og * k), k as isize, 1),
                        (gy_img.add(g * og * p + oy0 * s.ow), p as isize, 1),
                        (cols.as_ptr().add(g * k * ncol), 1, ncol as isize),
                        (og, ncol, k),
                        Accum::Add,
                        par,
                    );
                }
            }
            oy0 = oy1;
        }
    };
    let (across, par) = schedule(s);
    if across {
        let len = gw.len();
        // One accumulator per thread, not per rayon split: each is a whole weight-sized buffer.
        let per_thread = s.n.div_ceil(par::threads());
        let total = (0..s.n)
            .into_par_iter()
            .with_min_len(per_thread)
            .fold(
                || {
                    (
                        vec![T::zero_impl(); len],
                        scratch::take_overwritten(cols_len, T::zero_impl()),
                    )
                },
                |(mut acc, mut cols), img| {
                    one_image(img, par, &mut acc, &mut cols);
                    (acc, cols)
                },
            )
            .map(|(acc, cols)| {
                scratch::give(cols);
                acc
            })
            .reduce_with(|mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, &y)| *x += y);
                a
            });
        if let Some(total) = total {
            gw.copy_from_slice(&total);
        }
    } else {
        let mut cols = scratch::take_overwritten(cols_len, T::zero_impl());
        for img in 0..s.n {
            one_image(img, par, gw, &mut cols);
        }
        scratch::give(cols);
    }
    Ok(())
}

/// Sum with 8 independent partial sums, so the compiler can keep them in one SIMD register
/// (a single running sum is a serial chain of dependent adds: measured 1 ms for 1 M floats).
fn lane_sum<T: Float>(xs: &[T]) -> T {
    let mut lanes = [T::zero_impl(); 8];
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l += v;
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(T::zero_impl(), |a, &b| a + b);
    lanes.iter().fold(tail, |a, &b| a + b)
}

/// The plain definition, for tests: `y[n,o,oy,ox] = b[o] + Σ x[n, g·cg+c, iy, ix] · w[o,c,ki,kj]`.
pub fn conv2d_naive<T: Float>(x: &[T], w: &[T], bias: Option<&[T]>, s: &Conv2dShape) -> Vec<T> {
    let (og, cg) = (s.og(), s.cg());
    let mut y = vec![T::zero_impl(); s.output_shape().iter().product()];
    for n in 0..s.n {
        for o in 0..s.c_out {
            let g = o / og;
            for oy in 0..s.oh {
                for ox in 0..s.ow {
                    let mut acc = bias.map_or(T::zero_impl(), |b| b[o]);
                    for c in 0..cg {
                        for ki in 0..s.kh {
                            for kj in 0..s.kw {
                                let iy = (oy * s.stride.0 + ki * s.dilation.0) as isize
                                    - s.pad.0 as isize;
                                let ix = (ox * s.stride.1 + kj * s.dilation.1) as isize
                                    - s.pad.1 as isize;
                                if iy < 0 || ix < 0 || iy >= s.h as isize || ix >= s.w as isize {
                                    continue;
                                }
                                let xi = ((n * s.c_in + g * cg + c) * s.h + iy as usize) * s.w
                                    + ix as usize;
                                let wi = ((o * cg + c) * s.kh + ki) * s.kw + kj;
                                acc += x[xi] * w[wi];
                            }
                        }
                    }
                    y[((n * s.c_out + o) * s.oh + oy) * s.ow + ox] = acc;
                }
            }
        }
    }
    y
}
