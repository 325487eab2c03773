//! Stride-1 "same" convs (odd kernel, padding k/2, no dilation, one group) on small maps: an
//! implicit GEMM over shifted copies of the input, with no im2col and no output copy.
//!
//! Copy `kx` of an input channel is its plane with `ph` zero rows above and below and every pixel
//! moved `kx - pw` columns (zeros where that leaves the plane). For tap (ky, kx) the values that
//! the output pixels p = y·w + x multiply are then one contiguous run, `copy_kx[ci][p + ky·w..]`,
//! for the whole map at once. So an output channel's plane is LANES-wide FMAs over (ci, ky, kx):
//! a register tile of [`MV`] pixel vectors × [`NB`] output channels accumulates and is stored
//! straight into the NCHW output. The copies take `kw`× the input (3×, against im2col's 9×) and
//! are each one shifted memcpy of the padded planes.
//!
//! The input gradient of such a conv is the same kind of conv of gy (flipped, transposed kernel);
//! the weight gradient is dot products of gy's planes with the same runs.
//!
//! On the digits ResNet's 16-channel 8×8 convs (64 images, one thread) this took forward, input
//! gradient and weight gradient from 314 / 329 / 370 µs (im2col + GEMM) to 213 / 214 / 214
//! (benches/conv_small_maps.py; benches/RESULTS.md has the other shapes).

use rayon::prelude::*;

use super::Conv2dShape;
use crate::num::Float;
use crate::par::{self, MACS_THRESHOLD};
use crate::scratch;
use crate::simd::{simd_dispatch, LANES};
use crate::strided::StridedView;

/// Output channels per register tile (forward), taps per tile (weight gradient).
const NB: usize = 6;
/// Pixel vectors per register tile (forward, f32; f64 vectors are twice the registers: 2).
const MV: usize = 4;
/// Output channels per weight-gradient tile.
const CB: usize = 4;
/// The largest map (pixels) taken here (32×32).
const MAX_PIXELS: usize = 1024;
/// Shifted copies of a group of images, in elements: they stay in L2 while every tile reads them.
const GROUP_ELEMS: usize = 1 << 15;
/// The most taps (C_in·kh·kw) of a forward conv taken here: beyond, a tile's runs and weight
/// block no longer stay in L1, and im2col + GEMM or Winograd win (one thread, 64 images of 4×4:
/// 32 channels (288 taps) 255 vs 200 µs forward, 128 channels 3.6 vs 1.8 ms).
const MAX_TAPS: usize = 256;
/// A forward conv's fewest output channels: below, most of an NB-channel tile is padding (the
/// input gradient of a 3-channel stem: 2.7 vs 1.3 ms).
const MIN_OUT: usize = 4;
/// The weight gradient's most output channels (its taps: MAX_TAPS). One thread, 64 images:
/// 8×8 maps 16 → 16 channels 235 vs 360 µs, 16 → 32 423 vs 539, 24 → 24 508 vs 692; but 32 → 32
/// channels (288 taps) 324 vs 219 on 4×4 maps and 32 → 64 583 vs 340.
const WEIGHT_MAX_OUT: usize = 32;

/// Whether `s` has the geometry this module computes (stride 1, same padding, odd kernel).
fn geometry(s: &Conv2dShape) -> bool {
    let p = s.h * s.w;
    s.groups == 1
        && s.stride == (1, 1)
        && s.dilation == (1, 1)
        && s.kh % 2 == 1
        && s.kw % 2 == 1
        && s.kh * s.kw > 1
        && s.pad == (s.kh / 2, s.kw / 2)
        && p % LANES == 0
        && p <= MAX_PIXELS
        && s.c_in > 0
        && s.c_out > 0
}

/// Whether the forward conv `s` goes here.
pub(super) fn forward_applies(s: &Conv2dShape) -> bool {
    geometry(s) && s.c_out >= MIN_OUT && s.c_in * s.kh * s.kw <= MAX_TAPS
}

/// Whether the input gradient of `s` goes here (as the forward conv of gy it is).
pub(super) fn backward_data_applies(s: &Conv2dShape) -> bool {
    geometry(s) && s.c_in >= MIN_OUT && s.c_out * s.kh * s.kw <= MAX_TAPS
}

/// Whether the weight gradient of `s` goes here.
pub(super) fn backward_weight_applies(s: &Conv2dShape) -> bool {
    geometry(s) && s.c_in * s.kh * s.kw <= MAX_TAPS && s.c_out <= WEIGHT_MAX_OUT
}

/// The shifted copies of one image: `kw` copies of `c` channels of `rows` × `w`.
#[derive(Clone, Copy)]
struct Copies {
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    ph: usize,
    pw: usize,
}

impl Copies {
    fn new(c: usize, s: &Conv2dShape) -> Self {
        Copies {
            c,
            h: s.h,
            w: s.w,
            kh: s.kh,
            kw: s.kw,
            ph: s.pad.0,
            pw: s.pad.1,
        }
    }

    fn plane(&self) -> usize {
        (self.h + self.kh - 1) * self.w
    }

    fn block(&self) -> usize {
        self.c * self.plane()
    }

    fn image_len(&self) -> usize {
        self.kw * self.block()
    }

    /// Where tap k = (ci, ky, kx), in the weight's order, starts its run.
    fn offsets(&self) -> Vec<usize> {
        let mut off = Vec::with_capacity(self.c * self.kh * self.kw);
        for ci in 0..self.c {
            for ky in 0..self.kh {
                for kx in 0..self.kw {
                    off.push(kx * self.block() + ci * self.plane() + ky * self.w);
                }
            }
        }
        off
    }

    /// Images per group: enough to fill a register tile's vectors, copies within GROUP_ELEMS.
    fn group(&self, n: usize) -> usize {
        let per_tile = (MV * LANES).div_ceil(self.h * self.w);
        (GROUP_ELEMS / self.image_len())
            .max(per_tile)
            .clamp(1, n.max(1))
    }

    /// Writes image `img` of `x` (c, h, w) as its shifted copies into `buf` (image_len()).
    fn fill<T: Float>(&self, x: &StridedView<T>, img: usize, buf: &mut [T]) {
        let (plane, block, hw) = (self.plane(), self.block(), self.h * self.w);
        let st = x.strides();
        let (sn, sc, sy, sx) = (st[0], st[1], st[2], st[3]);
        let contiguous_plane = sx == 1 && (self.h == 1 || sy == self.w as isize);
        let centre = &mut buf[self.pw * block..(self.pw + 1) * block];
        for (ci, dst) in centre.chunks_exact_mut(plane).enumerate() {
            let base = img as isize * sn + ci as isize * sc;
            let (top, rest) = dst.split_at_mut(self.ph * self.w);
            let (mid, bottom) = rest.split_at_mut(hw);
            top.fill(T::ZERO);
            bottom.fill(T::ZERO);
            if contiguous_plane {
                // SAFETY: the plane's h·w elements are in the view (contiguous, checked above).
                mid.copy_from_slice(unsafe { std::slice::from_raw_parts(x.ptr_at(base), hw) });
            } else {
                for (i, v) in mid.iter_mut().enumerate() {
                    let (iy, ix) = ((i / self.w) as isize, (i % self.w) as isize);
                    // SAFETY: (img, ci, iy, ix) is in range.
                    *v = unsafe { *x.ptr_at(base + iy * sy + ix * sx) };
                }
            }
        }
        // Copy kx is the centre moved by d = kx - pw elements, then the columns that wrapped
        // across a row's end zeroed.
        for kx in (0..self.kw).filter(|&kx| kx != self.pw) {
            let d = kx as isize - self.pw as isize;
            let (src0, dst0) = (self.pw * block, kx * block);
            let shift = d.unsigned_abs().min(block);
            if d > 0 {
                buf.copy_within(src0 + shift..src0 + block, dst0);
                buf[dst0 + block - shift..dst0 + block].fill(T::ZERO);
            } else {
                buf.copy_within(src0..src0 + block - shift, dst0 + shift);
                buf[dst0..dst0 + shift].fill(T::ZERO);
            }
            // Column by column with a stride of w: a fill per row of one or two elements is
            // a memset call each.
            let cols = shift.min(self.w);
            let first = if d > 0 { self.w - cols } else { 0 };
            let copy = &mut buf[dst0..dst0 + block];
            for col in first..first + cols {
                for v in copy[col..].iter_mut().step_by(self.w) {
                    *v = T::ZERO;
                }
            }
        }
    }
}

/// Runs `f(first image, images)` for the groups of `group` images, in parallel when worth it.
fn for_groups<U: Send>(
    out: &mut [U],
    per_image: usize,
    n: usize,
    group: usize,
    work: usize,
    f: impl Fn(usize, &mut [U]) + Sync + Send,
) {
    let chunk = group * per_image;
    if par::worth(work, MACS_THRESHOLD) && n > group {
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(g, o)| f(g * group, o));
    } else {
        out.chunks_mut(chunk)
            .enumerate()
            .for_each(|(g, o)| f(g * group, o));
    }
}

/// `y = conv2d(x, w) + bias` for a conv that [`forward_applies`].
pub(super) fn forward<T: Float>(
    x: &StridedView<T>,
    w: &[T],
    bias: Option<&[T]>,
    s: &Conv2dShape,
    y: &mut [T],
) {
    let cp = Copies::new(s.c_in, s);
    let (k, p) = (s.c_in * s.kh * s.kw, s.h * s.w);
    let off = cp.offsets();
    // The weight as (channel block, tap, NB channels), zero channels past c_out.
    let blocks = s.c_out.div_ceil(NB);
    let mut wp = vec![T::ZERO; blocks * k * NB];
    for (co, row) in w.chunks_exact(k).enumerate() {
        let (b, j) = (co / NB, co % NB);
        for (t, &v) in row.iter().enumerate() {
            wp[(b * k + t) * NB + j] = v;
        }
    }
    let mut bias_p = vec![T::ZERO; blocks * NB];
    if let Some(b) = bias {
        bias_p[..s.c_out].copy_from_slice(b);
    }
    let group = cp.group(s.n);
    let work = s.n * s.c_out * k * p;
    for_groups(y, s.c_out * p, s.n, group, work, |img0, yg| {
        let imgs = yg.len() / (s.c_out * p);
        let mut buf = scratch::take_overwritten(imgs * cp.image_len(), T::ZERO);
        for (i, b) in buf.chunks_exact_mut(cp.image_len()).enumerate() {
            cp.fill(x, img0 + i, b);
        }
        let mut bases = Vec::with_capacity(imgs * p / LANES);
        for i in 0..imgs {
            for v in 0..p / LANES {
                bases.push((i * cp.image_len() + v * LANES, i * s.c_out * p + v * LANES));
            }
        }
        forward_group(&buf, &bases, &off, &wp, &bias_p, s.c_out, p, yg);
        scratch::give(buf);
    });
}

simd_dispatch! {
    /// Every register tile of one group: `bases` lists each pixel vector's start in the copies
    /// and in `y` (the group's images).
    fn forward_group<T: Float>(buf: &[T], bases: &[(usize, usize)], off: &[usize], wp: &[T],
                               bias: &[T], c_out: usize, p: usize, y: &mut [T]) {
        let k = off.len();
        // Every run read is inside buf: the largest base plus the largest offset plus a vector.
        let reach = bases.iter().map(|b| b.0).max().unwrap_or(0)
            + off.iter().max().unwrap_or(&0)
            + LANES;
        assert!(reach <= buf.len() && wp.len() == bias.len() * k, "shifted conv: operand sizes");
        let mv = if std::mem::size_of::<T>() <= 4 { MV } else { 2 };
        for (b, (wb, bb)) in wp.chunks_exact(k * NB).zip(bias.chunks_exact(NB)).enumerate() {
            let nb = (c_out - b * NB).min(NB);
            for tile in bases.chunks(mv) {
                match tile.len() {
                    4 => forward_tile::<T, 4>(buf, tile, off, wb, bb, b * NB, nb, p, y),
                    3 => forward_tile::<T, 3>(buf, tile, off, wb, bb, b * NB, nb, p, y),
                    2 => forward_tile::<T, 2>(buf, tile, off, wb, bb, b * NB, nb, p, y),
                    _ => forward_tile::<T, 1>(buf, tile, off, wb, bb, b * NB, nb, p, y),
                }
            }
        }
    }
}

/// One register tile: M pixel vectors × NB output channels from `co0`, `nb` of them real.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn forward_tile<T: Float, const M: usize>(
    buf: &[T],
    tile: &[(usize, usize)],
    off: &[usize],
    wb: &[T],
    bias: &[T],
    co0: usize,
    nb: usize,
    p: usize,
    y: &mut [T],
) {
    let mut acc = [[[T::ZERO; LANES]; NB]; M];
    let mut a = [buf.as_ptr(); M];
    for (v, at) in a.iter_mut().enumerate() {
        *at = at.wrapping_add(tile[v].0);
    }
    for (t, &o) in off.iter().enumerate() {
        let w: [T; NB] = wb[t * NB..t * NB + NB].try_into().unwrap();
        for v in 0..M {
            // SAFETY: base + offset + LANES <= buf.len() (asserted by forward_group).
            let x = unsafe { *(a[v].add(o) as *const [T; LANES]) };
            for j in 0..NB {
                for l in 0..LANES {
                    acc[v][j][l] = x[l].fma(w[j], acc[v][j][l]);
                }
            }
        }
    }
    for v in 0..M {
        for j in 0..nb {
            let at = tile[v].1 + (co0 + j) * p;
            for (o, &r) in y[at..at + LANES].iter_mut().zip(&acc[v][j]) {
                *o = r + bias[j];
            }
        }
    }
}

/// `gx = d conv2d / d x` for a conv that [`backward_data_applies`]: the forward conv of gy with
/// the flipped, transposed kernel (same padding, as the kernel is odd).
pub(super) fn backward_data<T: Float>(gy: &[T], wt: &[T], s: &Conv2dShape, gx: &mut [T]) {
    let t = Conv2dShape {
        c_in: s.c_out,
        c_out: s.c_in,
        ..*s
    };
    let gyv = StridedView::contiguous(gy, &[s.n, s.c_out, s.h, s.w])
        .expect("grad_output was checked against the output shape");
    forward(&gyv, wt, None, &t, gx);
}

/// `gw = d conv2d / d w` (overwritten) for a conv that [`backward_weight_applies`].
pub(super) fn backward_weight<T: Float>(
    x: &StridedView<T>,
    gy: &[T],
    s: &Conv2dShape,
    gw: &mut [T],
) {
    gw.fill(T::ZERO);
    let threads = par::threads();
    if !par::worth(s.n * gw.len() * s.h * s.w, MACS_THRESHOLD) || s.n < 2 * threads {
        add_weight_grad(x, gy, s, 0..s.n, gw);
        return;
    }
    // One run of images per thread, each into its own gradient, summed in order after (the
    // images' tiles are too small to share one gradient across threads).
    let per = s.n.div_ceil(threads);
    let parts: Vec<Vec<T>> = (0..threads)
        .into_par_iter()
        .map(|t| {
            let mut part = vec![T::ZERO; gw.len()];
            add_weight_grad(x, gy, s, t * per..((t + 1) * per).min(s.n), &mut part);
            part
        })
        .collect();
    for part in parts {
        gw.iter_mut().zip(part).for_each(|(g, v)| *g += v);
    }
}

/// Adds the weight gradient of images `imgs` to `gw`, a group of images at a time.
fn add_weight_grad<T: Float>(
    x: &StridedView<T>,
    gy: &[T],
    s: &Conv2dShape,
    imgs: std::ops::Range<usize>,
    gw: &mut [T],
) {
    let cp = Copies::new(s.c_in, s);
    let (k, p) = (s.c_in * s.kh * s.kw, s.h * s.w);
    let off = cp.offsets();
    let group = cp.group(s.n);
    let mut buf = scratch::take_overwritten(group * cp.image_len(), T::ZERO);
    // Per-lane partial sums of every weight-gradient element, added up once at the end.
    let mut lanes = scratch::take_overwritten(gw.len() * LANES, T::ZERO);
    lanes.fill(T::ZERO);
    let mut img0 = imgs.start;
    while img0 < imgs.end {
        let count = group.min(imgs.end - img0);
        let b = &mut buf[..count * cp.image_len()];
        for (i, bi) in b.chunks_exact_mut(cp.image_len()).enumerate() {
            cp.fill(x, img0 + i, bi);
        }
        let gyg = &gy[img0 * s.c_out * p..(img0 + count) * s.c_out * p];
        for (cb, lb) in lanes.chunks_mut(CB * k * LANES).enumerate() {
            weight_rows(b, gyg, &off, cp.image_len(), s.c_out, cb * CB, p, lb);
        }
        img0 += count;
    }
    for (g, l) in gw.iter_mut().zip(lanes.chunks_exact(LANES)) {
        *g += l.iter().fold(T::ZERO, |a, &v| a + v);
    }
    scratch::give(buf);
    scratch::give(lanes);
}

simd_dispatch! {
    /// Adds to `lanes` (rows co0.. of the weight gradient, k taps each, LANES partial sums per
    /// element) this group's images of gy's planes times the taps' runs.
    fn weight_rows<T: Float>(buf: &[T], gy: &[T], off: &[usize], image_len: usize, c_out: usize,
                             co0: usize, p: usize, lanes: &mut [T]) {
        let k = off.len();
        let (imgs, cb) = (buf.len() / image_len, lanes.len() / (k * LANES));
        let reach = (imgs.max(1) - 1) * image_len + off.iter().max().unwrap_or(&0) + p;
        assert!(reach <= buf.len() && gy.len() == imgs * c_out * p, "shifted conv: operand sizes");
        for t0 in (0..k).step_by(NB) {
            let mut acc = [[[T::ZERO; LANES]; NB]; CB];
            // Rows and taps past the end read the last real one; their sums are dropped.
            let co = |i: usize| co0 + i.min(cb - 1);
            let tap = |j: usize| off[(t0 + j).min(k - 1)];
            for img in 0..imgs {
                let g0 = gy.as_ptr().wrapping_add(img * c_out * p);
                let b0 = buf.as_ptr().wrapping_add(img * image_len);
                for v in (0..p).step_by(LANES) {
                    let mut gv = [[T::ZERO; LANES]; CB];
                    for (i, g) in gv.iter_mut().enumerate() {
                        // SAFETY: plane co(i) of image img, pixels v..v+LANES (p % LANES == 0).
                        *g = unsafe { *(g0.add(co(i) * p + v) as *const [T; LANES]) };
                    }
                    for j in 0..NB {
                        // SAFETY: inside buf (reach asserted above).
                        let xv = unsafe { *(b0.add(tap(j) + v) as *const [T; LANES]) };
                        for i in 0..CB {
                            for l in 0..LANES {
                                acc[i][j][l] = gv[i][l].fma(xv[l], acc[i][j][l]);
                            }
                        }
                    }
                }
            }
            for i in 0..cb {
                for j in 0..NB.min(k - t0) {
                    let at = (i * k + t0 + j) * LANES;
                    for (o, &a) in lanes[at..at + LANES].iter_mut().zip(&acc[i][j]) {
                        *o += a;
                    }
                }
            }
        }
    }
}
