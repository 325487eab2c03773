//! The batched path of the conv kernels, for small output maps (ResNet's late stages: 8×8 down
//! to 1×1). There one image's product is thin, a few columns against the whole weight, and faer
//! packs and reads that weight once per image. Here a block of images shares one GEMM per group:
//! their column matrices side by side, `(C_in/groups · taps, N_block · P)` (backward-weight: one
//! GEMM per block, accumulated; backward-data: one into the stacked columns, then col2im).
//!
//! Where a single kernel tap reaches inside the input, it alone takes part ([`Taps`]): on a 1×1
//! map with padding 1, a 3×3 kernel's centre, a ninth of the multiply-adds. Otherwise every tap
//! does (the weight is read in place either way).
//!
//! The copies into and out of the column matrices ([`Copies`]) go channel by channel across a
//! block's images. Per-row bookkeeping (bounds, zero fills, memcpy calls for a few pixels)
//! cost as much as the GEMM on an 8×8 map, so rows go through a zero-bordered plane that needs
//! none, and maps under 4 pixels wide (under 8 for col2im) go pixel by pixel from a table.

use faer::{Accum, Par};
use rayon::prelude::*;

use super::{gemm, valid_range, Addr, Conv2dShape};
use crate::num::Float;
use crate::par::{self, MACS_THRESHOLD};
use crate::scratch;
use crate::simd;
use crate::strided::StridedView;

/// Output pixels (GEMM columns) one block aims for: enough that the weight's packing is shared
/// by many columns, few enough that blocks can run in parallel.
const BLOCK_COLS: usize = 256;
/// Elements of a block's column matrix (1 MiB of f32: it stays in L2) ...
const BLOCK_ELEMS: usize = 1 << 18;
/// ... unless that leaves fewer columns than this (a thin product again).
const MIN_COLS: usize = 128;
/// Weight gradients (on the live taps) up to this many elements are accumulated per thread
/// with blocks in parallel; larger ones go block by block with parallel GEMMs, where the final
/// sum of the per-thread copies would cost more (measured on 2 threads: 37 K elements (64
/// channels) 1.0 vs 1.3 ms, 147 K even, 590 K (256 channels) 4.0 vs 3.5 ms).
const PER_THREAD_GRAD: usize = 1 << 17;

/// The kernel taps that some output pixel reads from inside the input rather than the padding:
/// rows `ki.0..ki.1` and columns `kj.0..kj.1` of the kernel (the bounding box).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Taps {
    pub(super) ki: (usize, usize),
    pub(super) kj: (usize, usize),
}

/// A matrix inside a buffer: (offset, row stride, column stride).
type Layout = (usize, usize, usize);

impl Taps {
    pub(super) fn all(s: &Conv2dShape) -> Self {
        Taps {
            ki: (0, s.kh),
            kj: (0, s.kw),
        }
    }

    pub(super) fn live(s: &Conv2dShape) -> Self {
        let axis = |k: usize, dil: usize, pad: usize, stride: usize, size: usize, out: usize| {
            let live = |t: &usize| {
                let (lo, hi) = valid_range(
                    (t * dil) as isize - pad as isize,
                    stride as isize,
                    size,
                    out,
                );
                lo < hi
            };
            match ((0..k).find(live), (0..k).rev().find(live)) {
                (Some(a), Some(b)) => (a, b + 1),
                _ => (0, 0),
            }
        };
        Taps {
            ki: axis(s.kh, s.dilation.0, s.pad.0, s.stride.0, s.h, s.oh),
            kj: axis(s.kw, s.dilation.1, s.pad.1, s.stride.1, s.w, s.ow),
        }
    }

    pub(super) fn count(&self) -> usize {
        (self.ki.1 - self.ki.0) * (self.kj.1 - self.kj.0)
    }

    /// Where the weight's entries on these taps sit in the whole weight, when they form one
    /// strided matrix (all taps, or a single one): the (C_out, C_in/groups · taps) matrix.
    fn in_place(&self, s: &Conv2dShape) -> Option<Layout> {
        let (kk, rs) = (s.kh * s.kw, s.cg() * s.kh * s.kw);
        if *self == Self::all(s) {
            Some((0, rs, 1))
        } else if self.count() == 1 {
            Some((self.ki.0 * s.kw + self.kj.0, rs, kk))
        } else {
            None
        }
    }

    /// Where the GEMMs read the weight on these taps ([`Blocks::plan`] keeps only taps that
    /// sit in place).
    fn weight(&self, s: &Conv2dShape) -> Layout {
        self.in_place(s)
            .expect("the batched plan keeps its taps in place")
    }

    /// Writes `gwt`, a weight gradient on these taps, into the whole kernel's `gw` (zero
    /// elsewhere on entry).
    pub(super) fn expand<T: Float>(&self, gwt: &[T], s: &Conv2dShape, gw: &mut [T]) {
        let (n, tw) = (self.count(), self.kj.1 - self.kj.0);
        if n == 0 {
            return;
        }
        for (plane, src) in gw.chunks_exact_mut(s.kh * s.kw).zip(gwt.chunks_exact(n)) {
            for (r, ki) in (self.ki.0..self.ki.1).enumerate() {
                plane[ki * s.kw + self.kj.0..ki * s.kw + self.kj.1]
                    .copy_from_slice(&src[r * tw..(r + 1) * tw]);
            }
        }
    }
}

/// How a block's column rows are copied out of the input planes, and added back (col2im).
enum Copies {
    /// Maps at least [`IM2COL_ROW_PIXELS`] (im2col) or [`COL2IM_ROW_PIXELS`] (col2im) wide: row
    /// by row through a zero-bordered plane.
    Rows(Bordered),
    /// Narrower maps, whose rows are too short to pay for a row's bookkeeping: pixel by pixel.
    /// For each live tap (row order): (output pixel, plane offset) of the pixels it reads
    /// inside the input.
    Pixels(Vec<Vec<(usize, isize)>>),
}

/// The narrowest output map copied row by row into the columns (measured on one thread, with
/// fixed-size row moves: 4×4 maps 1.71 → 1.57 ms per forward against pixels, 2×2 maps 1.55 →
/// 1.66 ms).
const IM2COL_ROW_PIXELS: usize = 4;
/// ... and added back row by row (col2im's adds into a plane wait on the overlapping adds of
/// the previous tap: on 4×4 maps pixels are faster, 1.81 vs 1.91 ms).
const COL2IM_ROW_PIXELS: usize = 8;

impl Copies {
    /// `strides`: the (row, column) strides of the planes a pixel table addresses;
    /// `row_pixels`: the narrowest map copied by rows.
    fn new(s: &Conv2dShape, taps: Taps, (sy, sx): (isize, isize), row_pixels: usize) -> Self {
        if s.ow >= row_pixels {
            return Copies::Rows(Bordered::new(s, taps));
        }
        let (sh, sw) = (s.stride.0 as isize, s.stride.1 as isize);
        let mut table = Vec::with_capacity(taps.count());
        for ki in taps.ki.0..taps.ki.1 {
            let dy = (ki * s.dilation.0) as isize - s.pad.0 as isize;
            for kj in taps.kj.0..taps.kj.1 {
                let dx = (kj * s.dilation.1) as isize - s.pad.1 as isize;
                let (lo, hi) = valid_range(dx, sw, s.w, s.ow);
                let mut pixels = Vec::new();
                for oy in 0..s.oh {
                    let iy = oy as isize * sh + dy;
                    if (0..s.h as isize).contains(&iy) {
                        pixels
                            .extend((lo..hi).map(|ox| {
                                (oy * s.ow + ox, iy * sy + (ox as isize * sw + dx) * sx)
                            }));
                    }
                }
                table.push(pixels);
            }
        }
        Copies::Pixels(table)
    }

    /// Live taps: column rows per input channel.
    fn taps(&self) -> usize {
        match self {
            Copies::Rows(bd) => bd.offsets.len(),
            Copies::Pixels(table) => table.len(),
        }
    }

    /// Elements of the scratch plane a task needs.
    fn plane_len(&self) -> usize {
        match self {
            Copies::Rows(bd) => bd.h * bd.w,
            Copies::Pixels(_) => 0,
        }
    }
}

/// One input plane inside a zero border wide enough that every tap of every output pixel reads
/// inside it: each output row of a tap is then one plain copy out of it, or one add into it,
/// with no bounds checks or zero fills. The input's corner sits at (pad.0, pad.1).
struct Bordered {
    h: usize,
    w: usize,
    /// For each live tap in row order: where output pixel (0, 0) reads.
    offsets: Vec<usize>,
}

impl Bordered {
    fn new(s: &Conv2dShape, taps: Taps) -> Self {
        let reach = |out: usize, stride: usize, k: usize, dil: usize| {
            (out - 1) * stride + (k - 1) * dil + 1
        };
        let h = (s.pad.0 + s.h).max(reach(s.oh, s.stride.0, s.kh, s.dilation.0));
        let w = (s.pad.1 + s.w).max(reach(s.ow, s.stride.1, s.kw, s.dilation.1));
        let mut offsets = Vec::with_capacity(taps.count());
        for ki in taps.ki.0..taps.ki.1 {
            for kj in taps.kj.0..taps.kj.1 {
                offsets.push(ki * s.dilation.0 * w + kj * s.dilation.1);
            }
        }
        Bordered { h, w, offsets }
    }

    /// Where output row `oy` of the tap at `off` starts.
    fn row(&self, s: &Conv2dShape, off: usize, oy: usize) -> usize {
        off + oy * s.stride.0 * self.w
    }

    /// Where input row `iy` starts.
    fn inside(&self, s: &Conv2dShape, iy: usize) -> usize {
        (s.pad.0 + iy) * self.w + s.pad.1
    }
}

/// `dst.copy_from_slice(src)` for rows of a few elements: fixed-size moves (the last one
/// overlapping) instead of a memcpy call.
#[inline(always)]
pub(super) fn copy_row<T: Copy>(dst: &mut [T], src: &[T]) {
    #[inline(always)]
    fn ends<T: Copy, const C: usize>(dst: &mut [T], src: &[T]) {
        let n = dst.len();
        dst[..C].copy_from_slice(&src[..C]);
        dst[n - C..].copy_from_slice(&src[n - C..n]);
    }
    match dst.len() {
        0 => {}
        1 => dst[0] = src[0],
        2..=3 => ends::<T, 2>(dst, src),
        4..=7 => ends::<T, 4>(dst, src),
        8 => dst.copy_from_slice(&src[..8]),
        9..=16 => ends::<T, 8>(dst, src),
        n => dst.copy_from_slice(&src[..n]),
    }
}

/// Output rows of `ow` pixels into `dst`, row `oy` gathered from `src[oy·pitch..]` every `step`.
#[inline(always)]
fn gather_rows<T: Copy>(dst: &mut [T], src: &[T], ow: usize, pitch: usize, step: usize) {
    // ResNet's 8×8 and 4×4 maps: rows of a known size are a few moves each; through
    // gather_row's generic length, the per-row bookkeeping cost more than the copies (a fifth
    // of an 8×8 forward).
    match (ow, step) {
        (4, 1) => fixed_rows::<T, 4, 1>(dst, src, pitch),
        (8, 1) => fixed_rows::<T, 8, 1>(dst, src, pitch),
        (16, 1) => fixed_rows::<T, 16, 1>(dst, src, pitch),
        (4, 2) => fixed_rows::<T, 4, 2>(dst, src, pitch),
        (8, 2) => fixed_rows::<T, 8, 2>(dst, src, pitch),
        _ => {
            for (oy, d) in dst.chunks_exact_mut(ow).enumerate() {
                gather_row(d, &src[oy * pitch..], step);
            }
        }
    }
}

#[inline(always)]
fn fixed_rows<T: Copy, const W: usize, const STEP: usize>(dst: &mut [T], src: &[T], pitch: usize) {
    for (oy, d) in dst.chunks_exact_mut(W).enumerate() {
        let row = &src[oy * pitch..][..(W - 1) * STEP + 1];
        for (i, v) in d.iter_mut().enumerate() {
            *v = row[i * STEP];
        }
    }
}

/// `dst[i] = src[i·step]`.
#[inline(always)]
fn gather_row<T: Copy>(dst: &mut [T], src: &[T], step: usize) {
    if step == 1 {
        copy_row(dst, src);
    } else {
        dst.iter_mut()
            .enumerate()
            .for_each(|(i, d)| *d = src[i * step]);
    }
}

/// `dst[i·step] += src[i]`.
#[inline(always)]
fn add_row<T: Float>(dst: &mut [T], src: &[T], step: usize) {
    if step != 1 {
        src.iter()
            .enumerate()
            .for_each(|(i, &v)| dst[i * step] += v);
        return;
    }
    let n = src.len();
    if n == 8 {
        // ResNet's 8×8 maps: one vector add. (The loop below costs ~50 instructions of
        // vector-loop bookkeeping per row of 8; chunks of 8 plus a remainder loop measured 8%
        // slower over the whole backward-data.) Both loaded before the store: in place, LLVM
        // keeps the add scalar, as the rows might overlap for all it knows.
        let mut a: [T; 8] = dst[..8].try_into().unwrap();
        let b: [T; 8] = src.try_into().unwrap();
        for (x, y) in a.iter_mut().zip(b) {
            *x += y;
        }
        dst[..8].copy_from_slice(&a);
        return;
    }
    for (d, &v) in dst[..n].iter_mut().zip(src) {
        *d += v;
    }
}

/// Channel `c` of images `i0..` into its rows of a block's column matrix (`rows`: one per live
/// tap, image b's columns at `b·P`). `plane`: scratch of [`Copies::plane_len`] per image, whose
/// border the copies leave zero.
fn im2col_channel<T: Float>(
    x: &StridedView<T>,
    s: &Conv2dShape,
    copies: &Copies,
    c: usize,
    i0: usize,
    plane: &mut [T],
    rows: &mut [T],
) {
    let p = s.p();
    let ld = rows.len() / copies.taps();
    let st = x.strides();
    let at = |b: usize| (i0 + b) as isize * st[0] + c as isize * st[1];
    match copies {
        Copies::Rows(bd) => simd::dispatch(
            #[inline(always)]
            || {
                // Every image's plane first, then the gathers: a gather right after its plane's
                // copy loads across the fresh, unaligned row stores, which the CPU cannot
                // forward (measured: a quarter of an 8×8 forward stalled there).
                let len = bd.h * bd.w;
                for b in 0..ld / p {
                    let plane = &mut plane[b * len..][..len];
                    for iy in 0..s.h {
                        let dst = &mut plane[bd.inside(s, iy)..][..s.w];
                        let line = at(b) + iy as isize * st[2];
                        if st[3] == 1 {
                            // SAFETY: (i0+b, c, iy, 0..w) are in-range indices of x.
                            copy_row(dst, unsafe {
                                std::slice::from_raw_parts(x.ptr_at(line), s.w)
                            });
                        } else {
                            for (ix, d) in dst.iter_mut().enumerate() {
                                // SAFETY: as above.
                                *d = unsafe { *x.ptr_at(line + ix as isize * st[3]) };
                            }
                        }
                    }
                }
                for b in 0..ld / p {
                    let plane = &plane[b * len..][..len];
                    for (t, &off) in bd.offsets.iter().enumerate() {
                        let dst = &mut rows[t * ld + b * p..][..p];
                        let pitch = bd.row(s, 0, 1);
                        gather_rows(dst, &plane[off..], s.ow, pitch, s.stride.1);
                    }
                }
            },
        ),
        Copies::Pixels(table) => {
            for (t, pixels) in table.iter().enumerate() {
                if pixels.len() < p {
                    rows[t * ld..][..ld].fill(T::ZERO);
                }
            }
            // Image by image: its plane is read once for every tap (going across the images
            // instead reads planes C·h·w apart, often the same L1 set).
            for b in 0..ld / p {
                for (t, pixels) in table.iter().enumerate() {
                    let out = &mut rows[t * ld + b * p..][..p];
                    for &(j, off) in pixels {
                        // SAFETY: (i0+b, c) and the pixel's (iy, ix) are in-range indices of x.
                        out[j] = unsafe { *x.ptr_at(at(b) + off) };
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col_channel`] for channel `c` of a block's images (`rows` as there):
/// writes each image's gradient plane at `gx + (b·C_in + c)·h·w`.
///
/// # Safety
/// `gx` must address the block's contiguous (nb, C_in, h, w) gradient, and no other thread
/// may touch channel c of it.
unsafe fn col2im_channel<T: Float>(
    rows: &[T],
    s: &Conv2dShape,
    copies: &Copies,
    c: usize,
    plane: &mut [T],
    gx: Addr,
) {
    let (p, hw) = (s.p(), s.in_plane());
    let ld = rows.len() / copies.taps();
    // SAFETY: per the contract, plane (b, c) of the block's gradient is ours.
    let out = |b: usize| unsafe {
        std::slice::from_raw_parts_mut((gx.0 as *mut T).add((b * s.c_in + c) * hw), hw)
    };
    match copies {
        Copies::Rows(bd) => simd::dispatch(
            #[inline(always)]
            || {
                for b in 0..ld / p {
                    plane.fill(T::ZERO);
                    for (t, &off) in bd.offsets.iter().enumerate() {
                        let src = &rows[t * ld + b * p..][..p];
                        for (oy, v) in src.chunks_exact(s.ow).enumerate() {
                            add_row(&mut plane[bd.row(s, off, oy)..], v, s.stride.1);
                        }
                    }
                    for (iy, d) in out(b).chunks_exact_mut(s.w).enumerate() {
                        copy_row(d, &plane[bd.inside(s, iy)..]);
                    }
                }
            },
        ),
        Copies::Pixels(table) => {
            for b in 0..ld / p {
                let gxp = out(b);
                gxp.fill(T::ZERO);
                for (t, pixels) in table.iter().enumerate() {
                    let src = &rows[t * ld + b * p..][..p];
                    for &(j, off) in pixels {
                        gxp[off as usize] += src[j];
                    }
                }
            }
        }
    }
}

/// How the batched path splits the images, and on which taps it works.
#[derive(Debug, Clone, Copy)]
pub(super) struct Blocks {
    /// Images per block (the last block may hold fewer).
    imgs: usize,
    /// Blocks.
    count: usize,
    taps: Taps,
    /// Blocks run in parallel, with single-threaded GEMMs.
    across: bool,
    /// The GEMMs' threads (and whether the copies around them run in parallel).
    par: Par,
}

impl Blocks {
    /// The batched plan, or None where one image's product is wide enough on its own.
    pub(super) fn plan(s: &Conv2dShape) -> Option<Self> {
        let p = s.p();
        if s.n < 2 || p == 0 || s.c_out == 0 || s.in_plane() == 0 || 2 * p > BLOCK_COLS {
            return None;
        }
        let mut taps = Taps::live(s);
        if taps.in_place(s).is_none() {
            // A copy of the weight on a box of taps costs more than the multiply-adds it saves
            // (strided reads of the whole weight: 4 of 9 taps, 256 -> 512 channels, 2×2 map
            // stride 2, one thread: forward 1.36 vs 0.96 ms, backward-data 1.19 vs 0.76 ms).
            taps = Taps::all(s);
        }
        let rows = (s.c_in * taps.count()).max(1);
        let cols = BLOCK_COLS.min((BLOCK_ELEMS / rows).max(MIN_COLS));
        let imgs = (cols / p).min(s.n);
        if imgs < 2 {
            return None;
        }
        let mut count = s.n.div_ceil(imgs);
        let threads = par::threads();
        let (across, par) = if threads == 1 || s.work() < MACS_THRESHOLD {
            (false, Par::Seq)
        } else if count >= threads {
            // Whole rounds of blocks, so no thread waits on a last odd block.
            count = count.next_multiple_of(threads).min(s.n);
            (true, Par::Seq)
        } else {
            (false, Par::rayon(0))
        };
        let imgs = s.n.div_ceil(count);
        Some(Blocks {
            imgs,
            count: s.n.div_ceil(imgs),
            taps,
            across,
            par,
        })
    }

    /// Rows of one group's column matrix.
    fn k(&self, s: &Conv2dShape) -> usize {
        s.cg() * self.taps.count()
    }

    /// Whether the copies beside the GEMMs run in parallel (they do where the GEMMs do).
    fn par_copies(&self) -> bool {
        !matches!(self.par, Par::Seq)
    }

    /// Runs `f(block index, its part of out)` for every block; `per_image` elements of `out`
    /// belong to each image.
    fn run<T: Send>(&self, out: &mut [T], per_image: usize, f: impl Fn(usize, &mut [T]) + Sync) {
        let chunk = self.imgs * per_image;
        if self.across {
            out.par_chunks_mut(chunk)
                .enumerate()
                .for_each(|(bi, ob)| f(bi, ob));
        } else {
            out.chunks_mut(chunk)
                .enumerate()
                .for_each(|(bi, ob)| f(bi, ob));
        }
    }

    /// Images `i0..i0+nb`'s column matrices side by side: (C_in·taps, nb·P), image b's
    /// columns at `b·P`.
    fn im2col<T: Float>(
        &self,
        x: &StridedView<T>,
        s: &Conv2dShape,
        copies: &Copies,
        i0: usize,
        nb: usize,
    ) -> Vec<T> {
        let ld = nb * s.p();
        let mut cols = scratch::take_overwritten(s.c_in * copies.taps() * ld, T::ZERO);
        if cols.is_empty() {
            return cols;
        }
        // The border is written once (zeros) per task; each image overwrites only the inside.
        let fresh = || vec![T::ZERO; copies.plane_len() * nb];
        let channel = |plane: &mut Vec<T>, (c, rows): (usize, &mut [T])| {
            im2col_channel(x, s, copies, c, i0, plane, rows)
        };
        let chunk = copies.taps() * ld;
        if self.par_copies() {
            cols.par_chunks_mut(chunk)
                .enumerate()
                .for_each_init(fresh, channel);
        } else {
            let mut plane = fresh();
            cols.chunks_mut(chunk)
                .enumerate()
                .for_each(|a| channel(&mut plane, a));
        }
        cols
    }
}

/// Images `i0..i0+nb` of gy as one (C_out, nb·P) matrix: (pointer, row stride, column stride).
/// With P = 1 that is gy itself read with strides; else a gathered copy, kept in `buf`.
fn gy_block<T: Float>(
    gy: &[T],
    s: &Conv2dShape,
    i0: usize,
    nb: usize,
    buf: &mut Vec<T>,
) -> (*const T, isize, isize) {
    let (p, co) = (s.p(), s.c_out);
    let src = &gy[i0 * co * p..(i0 + nb) * co * p];
    if p == 1 {
        return (src.as_ptr(), 1, co as isize);
    }
    let ncol = nb * p;
    *buf = scratch::take_overwritten(co * ncol, T::ZERO);
    for (b, img) in src.chunks_exact(co * p).enumerate() {
        for (c, plane) in img.chunks_exact(p).enumerate() {
            copy_row(&mut buf[c * ncol + b * p..][..p], plane);
        }
    }
    (buf.as_ptr(), ncol as isize, 1)
}

/// `y = conv2d(x, w) + bias`, as [`super::conv2d_forward`].
pub(super) fn forward<T: Float>(
    x: &StridedView<T>,
    w: &[T],
    bias: Option<&[T]>,
    s: &Conv2dShape,
    y: &mut [T],
    bl: Blocks,
) {
    let (p, og, k, co) = (s.p(), s.og(), bl.k(s), s.c_out);
    let (w_off, w_rs, w_cs) = bl.taps.weight(s);
    let copies = Copies::new(
        s,
        bl.taps,
        (x.strides()[2], x.strides()[3]),
        IM2COL_ROW_PIXELS,
    );
    bl.run(y, co * p, |bi, yb| {
        let nb = yb.len() / (co * p);
        let ncol = nb * p;
        let cols = bl.im2col(x, s, &copies, bi * bl.imgs, nb);
        // A row-major product, copied into y after. (With P = 1 it could go straight into y,
        // column-major, but faer then packs the whole weight for a few columns: 512 channels
        // on a 1×1 map, one thread: 0.62 vs 0.25 ms.)
        let mut out = scratch::take_overwritten(co * ncol, T::ZERO);
        for g in 0..s.groups {
            // SAFETY: group g's rows of this block's (C_out, nb·P) product in out; the weight's
            // group-g rows; the columns' group-g rows.
            unsafe {
                gemm(
                    (out.as_mut_ptr().add(g * og * ncol), ncol as isize, 1),
                    (
                        w.as_ptr().add(w_off + g * og * w_rs),
                        w_rs as isize,
                        w_cs as isize,
                    ),
                    (cols.as_ptr().add(g * k * ncol), ncol as isize, 1),
                    (og, k, ncol),
                    Accum::Replace,
                    bl.par,
                );
            }
        }
        scratch::give(cols);
        for (b, img) in yb.chunks_exact_mut(co * p).enumerate() {
            for (c, plane) in img.chunks_exact_mut(p).enumerate() {
                copy_row(plane, &out[c * ncol + b * p..][..p]);
                if let Some(bias) = bias {
                    plane.iter_mut().for_each(|v| *v += bias[c]);
                }
            }
        }
        scratch::give(out);
    });
}

/// The input gradient, as [`super::conv2d_backward_data`] (`gx` is overwritten).
pub(super) fn backward_data<T: Float>(
    gy: &[T],
    w: &[T],
    s: &Conv2dShape,
    gx: &mut [T],
    bl: Blocks,
) {
    let (p, og, k) = (s.p(), s.og(), bl.k(s));
    let (w_off, w_rs, w_cs) = bl.taps.weight(s);
    let copies = Copies::new(s, bl.taps, (s.w as isize, 1), COL2IM_ROW_PIXELS);
    bl.run(gx, s.c_in * s.in_plane(), |bi, gxb| {
        let nb = gxb.len() / (s.c_in * s.in_plane());
        let ncol = nb * p;
        let mut buf = Vec::new();
        let (gp, rs, cs) = gy_block(gy, s, bi * bl.imgs, nb, &mut buf);
        let mut cols = scratch::take_overwritten(s.groups * k * ncol, T::ZERO);
        for g in 0..s.groups {
            // SAFETY: group g's (k, nb·P) block of cols; the weight's group-g rows (og, k) read
            // transposed; gy block rows g·og.. inside gy or buf.
            unsafe {
                gemm(
                    (cols.as_mut_ptr().add(g * k * ncol), ncol as isize, 1),
                    (
                        w.as_ptr().add(w_off + g * og * w_rs),
                        w_cs as isize,
                        w_rs as isize,
                    ),
                    (gp.offset((g * og) as isize * rs), rs, cs),
                    (k, og, ncol),
                    Accum::Replace,
                    bl.par,
                );
            }
        }
        if !buf.is_empty() {
            scratch::give(buf);
        }
        let gx_addr = Addr(gxb.as_mut_ptr() as usize);
        let fresh = || vec![T::ZERO; copies.plane_len()];
        // SAFETY: gxb is this block's (nb, C_in, h, w) gradient; each task writes channel c.
        let channel = |plane: &mut Vec<T>, (c, rows): (usize, &[T])| unsafe {
            col2im_channel(rows, s, &copies, c, plane, gx_addr)
        };
        let chunk = copies.taps() * ncol;
        if bl.par_copies() {
            cols.par_chunks(chunk)
                .enumerate()
                .for_each_init(fresh, channel);
        } else {
            let mut plane = fresh();
            cols.chunks(chunk)
                .enumerate()
                .for_each(|a| channel(&mut plane, a));
        }
        scratch::give(cols);
    });
}

/// Writes the weight gradient `gw` (every entry: the first block's GEMM overwrites where all
/// taps are live, which saves zeroing a weight-sized buffer first).
pub(super) fn backward_weight<T: Float>(
    x: &StridedView<T>,
    gy: &[T],
    s: &Conv2dShape,
    gw: &mut [T],
    bl: Blocks,
) {
    let (og, k) = (s.og(), bl.k(s));
    let len = s.c_out * k;
    let bl = if bl.across && len > PER_THREAD_GRAD {
        Blocks {
            across: false,
            par: Par::rayon(0),
            ..bl
        }
    } else {
        bl
    };
    let copies = Copies::new(
        s,
        bl.taps,
        (x.strides()[2], x.strides()[3]),
        IM2COL_ROW_PIXELS,
    );
    if bl.taps != Taps::all(s) {
        // The dead taps' gradient.
        gw.fill(T::ZERO);
    }
    // Block bi's contribution to the weight gradient on the live taps, written or added into
    // acc's (C_out, C_in/groups · taps) matrix at `(off, rs, cs)`.
    let block = |bi: usize, acc: &mut [T], (off, a_rs, a_cs): Layout, accum: Accum| {
        let i0 = bi * bl.imgs;
        let nb = bl.imgs.min(s.n - i0);
        let ncol = nb * s.p();
        let cols = bl.im2col(x, s, &copies, i0, nb);
        let mut buf = Vec::new();
        let (gp, rs, cs) = gy_block(gy, s, i0, nb, &mut buf);
        for g in 0..s.groups {
            // SAFETY: acc block (og, k); gy block (og, nb·P); cols (k, nb·P) read transposed.
            unsafe {
                gemm(
                    (
                        acc.as_mut_ptr().add(off + g * og * a_rs),
                        a_rs as isize,
                        a_cs as isize,
                    ),
                    (gp.offset((g * og) as isize * rs), rs, cs),
                    (cols.as_ptr().add(g * k * ncol), 1, ncol as isize),
                    (og, ncol, k),
                    accum,
                    bl.par,
                );
            }
        }
        scratch::give(cols);
        if !buf.is_empty() {
            scratch::give(buf);
        }
    };
    let compact = (0, k, 1);
    if bl.across {
        // One task and accumulator per thread, over a range of blocks (rayon's own splits of
        // the blocks measured 80/20 between two threads); the first block overwrites.
        let tasks = par::threads().min(bl.count);
        let total = (0..tasks)
            .into_par_iter()
            .map(|t| {
                let mut acc = scratch::take_overwritten(len, T::ZERO);
                let (b0, b1) = (t * bl.count / tasks, (t + 1) * bl.count / tasks);
                block(b0, &mut acc, compact, Accum::Replace);
                (b0 + 1..b1).for_each(|bi| block(bi, &mut acc, compact, Accum::Add));
                acc
            })
            .reduce_with(|mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, &y)| *x += y);
                scratch::give(b);
                a
            });
        if let Some(total) = total {
            bl.taps.expand(&total, s, gw);
            scratch::give(total);
        }
    } else {
        // Straight into gw: `layout` addresses the live taps' entries there.
        let layout = bl.taps.weight(s);
        block(0, gw, layout, Accum::Replace);
        (1..bl.count).for_each(|bi| block(bi, gw, layout, Accum::Add));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(input: [usize; 4], weight: [usize; 4], stride: usize) -> Conv2dShape {
        Conv2dShape::new(input, weight, (stride, stride), (1, 1), (1, 1), 1).unwrap()
    }

    /// The plans tests/conv.rs relies on reaching: which path, which taps, which copies.
    #[test]
    fn plans_pick_the_path_taps_and_copies() {
        // Wide maps and single images keep the per-image path.
        assert!(Blocks::plan(&shape([32, 64, 16, 16], [64, 64, 3, 3], 1)).is_none());
        assert!(Blocks::plan(&shape([1, 64, 4, 4], [64, 64, 3, 3], 1)).is_none());
        // A 1×1 map with padding 1: the centre tap alone, read in place.
        let s = shape([32, 512, 1, 1], [512, 512, 3, 3], 1);
        let taps = Blocks::plan(&s).unwrap().taps;
        assert_eq!(
            taps,
            Taps {
                ki: (1, 2),
                kj: (1, 2)
            }
        );
        assert_eq!(taps.in_place(&s), Some((4, 512 * 9, 9)));
        // Stride 2 from 2×2 to 1×1: a 2×2 box of taps is live, which is no strided matrix of
        // the weight: every tap takes part, the dead ones on zero columns.
        let s = shape([32, 256, 2, 2], [512, 256, 3, 3], 2);
        assert_eq!(
            Taps::live(&s),
            Taps {
                ki: (1, 3),
                kj: (1, 3)
            }
        );
        let taps = Blocks::plan(&s).unwrap().taps;
        assert_eq!(taps, Taps::all(&s));
        assert_eq!(taps.in_place(&s), Some((0, 256 * 9, 1)));
        // A 2×2 map reaches every tap, copied pixel by pixel; a 4×4 map row by row into the
        // columns but pixel by pixel back; an 8×8 map row by row, in blocks of 4 images (256
        // columns).
        let s = shape([32, 256, 2, 2], [256, 256, 3, 3], 1);
        let taps = Blocks::plan(&s).unwrap().taps;
        assert_eq!(taps, Taps::all(&s));
        assert!(matches!(
            Copies::new(&s, taps, (2, 1), IM2COL_ROW_PIXELS),
            Copies::Pixels(_)
        ));
        let s = shape([32, 128, 4, 4], [128, 128, 3, 3], 1);
        let taps = Blocks::plan(&s).unwrap().taps;
        assert!(matches!(
            Copies::new(&s, taps, (4, 1), IM2COL_ROW_PIXELS),
            Copies::Rows(_)
        ));
        assert!(matches!(
            Copies::new(&s, taps, (4, 1), COL2IM_ROW_PIXELS),
            Copies::Pixels(_)
        ));
        let s = shape([32, 64, 8, 8], [64, 64, 3, 3], 1);
        let bl = Blocks::plan(&s).unwrap();
        assert!(matches!(
            Copies::new(&s, bl.taps, (8, 1), COL2IM_ROW_PIXELS),
            Copies::Rows(_)
        ));
        assert_eq!((bl.imgs, bl.count), (4, 8));
    }
}
