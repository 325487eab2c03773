//! 2-d pooling kernels (forward and backward) on NCHW images: max (with argmax indices),
//! average (count_include_pad either way) and adaptive average. 1-d pooling is the H = 1 case.
//! Planes (n, c) run in parallel over rayon when the input is large.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::num::Float;
use crate::par::{self, POOL_THRESHOLD};
use crate::strided::StridedView;

/// Sizes of one (max or average) pooling window sweep. `pad` is the top/left padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dShape {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub oh: usize,
    pub ow: usize,
    pub stride: (usize, usize),
    pub pad: (usize, usize),
}

impl Pool2dShape {
    /// torch's output size `(in + 2·pad - k) / stride + 1` (floor mode).
    pub fn new(
        input: [usize; 4],
        kernel: (usize, usize),
        stride: (usize, usize),
        pad: (usize, usize),
    ) -> Result<Self> {
        let [n, c, h, w] = input;
        use crate::error::{add, checked_numel, mul};
        let big = || {
            format!("pool2d: kernel {kernel:?}, stride {stride:?} or padding {pad:?} is too large for input {input:?}")
        };
        add(h, mul(2, pad.0, big)?, big)?;
        add(w, mul(2, pad.1, big)?, big)?;
        checked_numel("pool2d", "input", &input, 8)?;
        let bad = kernel.0 == 0
            || kernel.1 == 0
            || stride.0 == 0
            || stride.1 == 0
            || 2 * pad.0 > kernel.0
            || 2 * pad.1 > kernel.1
            || h + 2 * pad.0 < kernel.0
            || w + 2 * pad.1 < kernel.1;
        if bad {
            return Err(Error::Shape(format!(
                "pool2d: kernel {kernel:?}, stride {stride:?}, padding {pad:?} do not fit input {input:?}"
            )));
        }
        Ok(Self {
            n,
            c,
            h,
            w,
            kh: kernel.0,
            kw: kernel.1,
            oh: (h + 2 * pad.0 - kernel.0) / stride.0 + 1,
            ow: (w + 2 * pad.1 - kernel.1) / stride.1 + 1,
            stride,
            pad,
        })
    }

    pub fn input_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.h, self.w]
    }
    pub fn output_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.oh, self.ow]
    }
    /// Rows `lo..hi` of the input inside window row `oy` (the padded part cut off).
    fn rows(&self, oy: usize) -> (usize, usize) {
        let start = (oy * self.stride.0) as isize - self.pad.0 as isize;
        let end = start + self.kh as isize;
        (
            start.max(0) as usize,
            end.clamp(0, self.h as isize) as usize,
        )
    }
    fn cols(&self, ox: usize) -> (usize, usize) {
        let start = (ox * self.stride.1) as isize - self.pad.1 as isize;
        let end = start + self.kw as isize;
        (
            start.max(0) as usize,
            end.clamp(0, self.w as isize) as usize,
        )
    }
    fn validate(&self) -> Result<()> {
        let ok = self.kh > 0
            && self.kw > 0
            && self.stride.0 > 0
            && self.stride.1 > 0
            && (self.oh == 0 || (self.oh - 1) * self.stride.0 < self.h + self.pad.0)
            && (self.ow == 0 || (self.ow - 1) * self.stride.1 < self.w + self.pad.1)
            && self.pad.0 < self.kh.max(1)
            && self.pad.1 < self.kw.max(1);
        if ok {
            Ok(())
        } else {
            Err(Error::Shape(format!("pool2d: inconsistent sizes {self:?}")))
        }
    }
}

fn check_len(op: &str, what: &str, got: usize, shape: &[usize]) -> Result<()> {
    let want: usize = shape.iter().product();
    if got != want {
        return Err(Error::Shape(format!(
            "{op}: {what} holds {got} elements, shape {shape:?} needs {want}"
        )));
    }
    Ok(())
}

fn check_view<T>(op: &str, x: &StridedView<T>, shape: [usize; 4]) -> Result<()> {
    if x.shape() != shape {
        return Err(Error::Shape(format!(
            "{op}: input has shape {:?}, expected {shape:?}",
            x.shape()
        )));
    }
    Ok(())
}

/// Runs `f(plane, out_chunk)` over planes (n·c of them), each owning `chunk` output elements.
fn over_planes<U: Send>(
    out: &mut [U],
    chunk: usize,
    work: usize,
    f: impl Fn(usize, &mut [U]) + Sync + Send,
) {
    if chunk == 0 {
        return;
    }
    if par::worth(work, POOL_THRESHOLD) {
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    } else {
        out.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    }
}

/// Pairs of output chunks (values and indices) per plane, in parallel when large.
fn over_planes2<A: Send, B: Send>(
    a: &mut [A],
    b: &mut [B],
    chunk: usize,
    work: usize,
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync + Send,
) {
    if chunk == 0 {
        return;
    }
    if par::worth(work, POOL_THRESHOLD) {
        a.par_chunks_mut(chunk)
            .zip(b.par_chunks_mut(chunk))
            .enumerate()
            .for_each(|(i, (x, y))| f(i, x, y));
    } else {
        a.chunks_mut(chunk)
            .zip(b.chunks_mut(chunk))
            .enumerate()
            .for_each(|(i, (x, y))| f(i, x, y));
    }
}

/// Max pooling. `y` gets the maxima, `idx` the flat index `iy·w + ix` of each one inside its
/// plane (torch's convention). NaN wins, as in torch.
pub fn max_pool2d_forward<T: PoolFloat>(
    x: &StridedView<T>,
    s: &Pool2dShape,
    y: &mut [T],
    idx: &mut [i64],
) -> Result<()> {
    s.validate()?;
    check_view("max_pool2d", x, s.input_shape())?;
    check_len("max_pool2d", "output", y.len(), &s.output_shape())?;
    check_len("max_pool2d", "indices", idx.len(), &s.output_shape())?;
    let st = x.strides();
    let (sn, sc, sy, sx) = (st[0], st[1], st[2], st[3]);
    // Output columns lo..hi (and rows whose window is inside the image) have full windows.
    let (sh, sw) = (s.stride.0, s.stride.1);
    let lo = s.pad.1.div_ceil(sw).min(s.ow);
    let hi = if s.w + s.pad.1 >= s.kw {
        ((s.w + s.pad.1 - s.kw) / sw + 1).min(s.ow)
    } else {
        0
    }
    .max(lo);
    over_planes2(
        y,
        idx,
        s.oh * s.ow,
        x.shape().iter().product(),
        |plane, yp, ip| {
            let base = (plane / s.c) as isize * sn + (plane % s.c) as isize * sc;
            for oy in 0..s.oh {
                let yrow = &mut yp[oy * s.ow..(oy + 1) * s.ow];
                let irow = &mut ip[oy * s.ow..(oy + 1) * s.ow];
                let (y0, y1) = s.rows(oy);
                // Clipped windows (at the padded border): one at a time.
                let clipped = |ox: usize, yrow: &mut [T], irow: &mut [i64]| {
                    let (x0, x1) = s.cols(ox);
                    let mut best = T::zero_impl();
                    let mut best_i = -1i64;
                    for iy in y0..y1 {
                        for ix in x0..x1 {
                            // SAFETY: (plane, iy, ix) is in range.
                            let v =
                                unsafe { *x.ptr_at(base + iy as isize * sy + ix as isize * sx) };
                            let take = (best_i < 0) | (v > best) | v.is_nan();
                            best = T::select(take, v, best);
                            best_i = select_i64(take, (iy * s.w + ix) as i64, best_i);
                        }
                    }
                    yrow[ox] = best;
                    irow[ox] = best_i;
                };
                let full_rows = y1 - y0 == s.kh;
                let (a, b) = if full_rows { (lo, hi) } else { (s.ow, s.ow) };
                for ox in (0..a).chain(b..s.ow) {
                    clipped(ox, yrow, irow);
                }
                if a == b {
                    continue;
                }
                // Full windows: sweep each tap over the run of outputs with branch-free selects
                // (random data makes a branch on `v > best` mispredict half the time: 5x slower).
                for ki in 0..s.kh {
                    let iy = oy * sh + ki - s.pad.0;
                    let line = base + iy as isize * sy;
                    for kj in 0..s.kw {
                        let first = ki == 0 && kj == 0;
                        for (ox, (b, bi)) in
                            yrow[a..b].iter_mut().zip(irow[a..b].iter_mut()).enumerate()
                        {
                            let ix = (a + ox) * sw + kj - s.pad.1;
                            // SAFETY: (plane, iy, ix) is in range: these windows are full.
                            let v = unsafe { *x.ptr_at(line + ix as isize * sx) };
                            let id = (iy * s.w + ix) as i64;
                            let take = first | (v > *b) | v.is_nan(); // `|`, not `||`: no branches
                            *b = T::select(take, v, *b);
                            *bi = select_i64(take, id, *bi);
                        }
                    }
                }
            }
        },
    );
    Ok(())
}

/// The float types of the pool kernels: [`Float`] plus a branch-free select, which max pooling
/// needs because LLVM turns `if take { v } else { best }` into a branch that random data
/// mispredicts half the time (measured 5x slower).
pub trait PoolFloat: Float {
    /// `if take { a } else { b }` on the bits.
    fn select(take: bool, a: Self, b: Self) -> Self;
}

impl PoolFloat for f32 {
    #[inline(always)]
    fn select(take: bool, a: f32, b: f32) -> f32 {
        let m = 0u32.wrapping_sub(take as u32);
        f32::from_bits((a.to_bits() & m) | (b.to_bits() & !m))
    }
}

impl PoolFloat for f64 {
    #[inline(always)]
    fn select(take: bool, a: f64, b: f64) -> f64 {
        let m = 0u64.wrapping_sub(take as u64);
        f64::from_bits((a.to_bits() & m) | (b.to_bits() & !m))
    }
}

#[inline(always)]
fn select_i64(take: bool, a: i64, b: i64) -> i64 {
    let m = 0i64.wrapping_sub(take as i64);
    (a & m) | (b & !m)
}

/// Max-pooling backward: `gx[plane, idx] += gy` (overlapping windows add up).
pub fn max_pool2d_backward<T: Float>(
    gy: &[T],
    idx: &[i64],
    s: &Pool2dShape,
    gx: &mut [T],
) -> Result<()> {
    check_len(
        "max_pool2d_backward",
        "grad_output",
        gy.len(),
        &s.output_shape(),
    )?;
    check_len(
        "max_pool2d_backward",
        "indices",
        idx.len(),
        &s.output_shape(),
    )?;
    check_len(
        "max_pool2d_backward",
        "grad_input",
        gx.len(),
        &s.input_shape(),
    )?;
    let (plane_in, plane_out) = (s.h * s.w, s.oh * s.ow);
    if idx.iter().any(|&i| i < -1 || i >= plane_in as i64) {
        return Err(Error::Shape(
            "max_pool2d_backward: an index lies outside its plane".into(),
        ));
    }
    over_planes(gx, plane_in, gx.len(), |plane, gp| {
        gp.fill(T::zero_impl());
        let (g, ix) = (
            &gy[plane * plane_out..(plane + 1) * plane_out],
            &idx[plane * plane_out..(plane + 1) * plane_out],
        );
        for (&v, &i) in g.iter().zip(ix) {
            if i >= 0 {
                gp[i as usize] += v;
            }
        }
    });
    Ok(())
}

/// Divisor of window (oy, ox): the whole kernel (count_include_pad) or only its in-image part.
#[inline(always)]
fn divisor(s: &Pool2dShape, include_pad: bool, r: (usize, usize), c: (usize, usize)) -> usize {
    if include_pad {
        // Windows never reach past the padded input in floor mode, so this is kh·kw.
        s.kh * s.kw
    } else {
        (r.1 - r.0) * (c.1 - c.0)
    }
}

/// Average pooling (padding counts as zeros; `count_include_pad` picks the divisor).
pub fn avg_pool2d_forward<T: Float>(
    x: &StridedView<T>,
    s: &Pool2dShape,
    count_include_pad: bool,
    y: &mut [T],
) -> Result<()> {
    s.validate()?;
    check_view("avg_pool2d", x, s.input_shape())?;
    check_len("avg_pool2d", "output", y.len(), &s.output_shape())?;
    let st = x.strides();
    let (sn, sc, sy, sx) = (st[0], st[1], st[2], st[3]);
    over_planes(y, s.oh * s.ow, x.shape().iter().product(), |plane, yp| {
        let base = (plane / s.c) as isize * sn + (plane % s.c) as isize * sc;
        for oy in 0..s.oh {
            let r = s.rows(oy);
            for ox in 0..s.ow {
                let c = s.cols(ox);
                let mut acc = T::zero_impl();
                for iy in r.0..r.1 {
                    let line = base + iy as isize * sy;
                    for ix in c.0..c.1 {
                        // SAFETY: (plane, iy, ix) is in range.
                        acc += unsafe { *x.ptr_at(line + ix as isize * sx) };
                    }
                }
                let d = divisor(s, count_include_pad, r, c).max(1);
                yp[oy * s.ow + ox] = acc / T::from_f64_impl(d as f64);
            }
        }
    });
    Ok(())
}

/// Average-pooling backward: every input of a window gets `gy / divisor`.
pub fn avg_pool2d_backward<T: Float>(
    gy: &[T],
    s: &Pool2dShape,
    count_include_pad: bool,
    gx: &mut [T],
) -> Result<()> {
    s.validate()?;
    check_len(
        "avg_pool2d_backward",
        "grad_output",
        gy.len(),
        &s.output_shape(),
    )?;
    check_len(
        "avg_pool2d_backward",
        "grad_input",
        gx.len(),
        &s.input_shape(),
    )?;
    let (plane_in, plane_out) = (s.h * s.w, s.oh * s.ow);
    over_planes(gx, plane_in, gx.len(), |plane, gp| {
        gp.fill(T::zero_impl());
        let g = &gy[plane * plane_out..(plane + 1) * plane_out];
        for oy in 0..s.oh {
            let r = s.rows(oy);
            for ox in 0..s.ow {
                let c = s.cols(ox);
                let d = divisor(s, count_include_pad, r, c).max(1);
                let v = g[oy * s.ow + ox] / T::from_f64_impl(d as f64);
                for iy in r.0..r.1 {
                    for e in &mut gp[iy * s.w + c.0..iy * s.w + c.1] {
                        *e += v;
                    }
                }
            }
        }
    });
    Ok(())
}

/// torch's adaptive window `floor(i·in/out) .. ceil((i+1)·in/out)`.
#[inline(always)]
fn adaptive_window(i: usize, input: usize, output: usize) -> (usize, usize) {
    (i * input / output, ((i + 1) * input).div_ceil(output))
}

/// Checks an adaptive pooling's input shape against its output size (also called by the
/// bindings before they allocate the output).
pub fn check_adaptive(input: [usize; 4], out: (usize, usize)) -> Result<()> {
    crate::error::checked_numel(
        "adaptive_avg_pool2d",
        &format!("output (output_size {out:?})"),
        &[input[0], input[1], out.0, out.1],
        8,
    )?;
    if (out.0 == 0 || out.1 == 0 || input[2] == 0 || input[3] == 0) && input[0] * input[1] > 0 {
        return Err(Error::Shape(format!(
            "adaptive_avg_pool2d: output size {out:?} and input {input:?} must be non-empty"
        )));
    }
    Ok(())
}

/// Adaptive average pooling of `x` (n, c, h, w) to `y` (n, c, out.0, out.1).
pub fn adaptive_avg_pool2d_forward<T: Float>(
    x: &StridedView<T>,
    out: (usize, usize),
    y: &mut [T],
) -> Result<()> {
    if x.ndim() != 4 {
        return Err(Error::Shape(format!(
            "adaptive_avg_pool2d: input must be 4-d, got {:?}",
            x.shape()
        )));
    }
    let [n, c, h, w] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
    check_adaptive([n, c, h, w], out)?;
    check_len(
        "adaptive_avg_pool2d",
        "output",
        y.len(),
        &[n, c, out.0, out.1],
    )?;
    let st = x.strides();
    let (sn, sc, sy, sx) = (st[0], st[1], st[2], st[3]);
    if (h, w) == out {
        // Every window is one pixel: a copy (a global pool of 1×1 maps, as at a small ResNet's end).
        let mut out_iter = y.iter_mut();
        for i in 0..n as isize {
            for ch in 0..c as isize {
                for iy in 0..h as isize {
                    let line = i * sn + ch * sc + iy * sy;
                    for (ix, v) in (0..w as isize).zip(&mut out_iter) {
                        // SAFETY: (i, ch, iy, ix) is in range.
                        *v = unsafe { *x.ptr_at(line + ix * sx) };
                    }
                }
            }
        }
        return Ok(());
    }
    // The windows are computed once, not per plane.
    let (rows, cols) = (windows(h, out.0), windows(w, out.1));
    over_planes(y, out.0 * out.1, n * c * h * w, |plane, yp| {
        let base = (plane / c) as isize * sn + (plane % c) as isize * sc;
        for (oy, &(y0, y1)) in rows.iter().enumerate() {
            for (ox, &(x0, x1)) in cols.iter().enumerate() {
                let mut acc = T::zero_impl();
                for iy in y0..y1 {
                    let line = base + iy as isize * sy;
                    for ix in x0..x1 {
                        // SAFETY: (plane, iy, ix) is in range.
                        acc += unsafe { *x.ptr_at(line + ix as isize * sx) };
                    }
                }
                yp[oy * out.1 + ox] = acc / T::from_f64_impl(((y1 - y0) * (x1 - x0)) as f64);
            }
        }
    });
    Ok(())
}

/// The input windows [start, end) of each adaptive-pooling output index.
fn windows(input: usize, output: usize) -> Vec<(usize, usize)> {
    (0..output)
        .map(|i| adaptive_window(i, input, output))
        .collect()
}

/// Adaptive average pooling backward; `input` is the (n, c, h, w) shape of `gx`.
pub fn adaptive_avg_pool2d_backward<T: Float>(
    gy: &[T],
    input: [usize; 4],
    out: (usize, usize),
    gx: &mut [T],
) -> Result<()> {
    let [n, c, h, w] = input;
    check_adaptive(input, out)?;
    check_len(
        "adaptive_avg_pool2d_backward",
        "grad_output",
        gy.len(),
        &[n, c, out.0, out.1],
    )?;
    check_len(
        "adaptive_avg_pool2d_backward",
        "grad_input",
        gx.len(),
        &input,
    )?;
    let plane_out = out.0 * out.1;
    if (h, w) == out {
        gx.copy_from_slice(gy);
        return Ok(());
    }
    let (rows, cols) = (windows(h, out.0), windows(w, out.1));
    over_planes(gx, h * w, n * c * h * w, |plane, gp| {
        gp.fill(T::zero_impl());
        let g = &gy[plane * plane_out..(plane + 1) * plane_out];
        for (oy, &(y0, y1)) in rows.iter().enumerate() {
            for (ox, &(x0, x1)) in cols.iter().enumerate() {
                let v = g[oy * out.1 + ox] / T::from_f64_impl(((y1 - y0) * (x1 - x0)) as f64);
                for iy in y0..y1 {
                    for e in &mut gp[iy * w + x0..iy * w + x1] {
                        *e += v;
                    }
                }
            }
        }
    });
    Ok(())
}
