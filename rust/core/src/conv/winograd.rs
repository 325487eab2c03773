//! Winograd F(2×2, 3×3) for 3×3, stride-1, padding-1 convolutions on small maps (ResNet's 8×8
//! and 4×4 stages at 32×32 input, 14×14 and 7×7 at 224×224): each 2×2 block of outputs comes
//! from a 4×4 input patch with 16 multiply-adds per (input, output) channel pair instead of 36,
//! so the GEMMs do 2.25× fewer multiply-adds than im2col's. The backward-data of such a conv is
//! the same kind of conv (of gy with the flipped, transposed kernel), so it takes this path too,
//! and the backward-weight runs the adjoint of the same steps.
//!
//! With Lavin & Gray's matrices (arXiv:1509.09308): U = G g Gᵀ per kernel (4×4), V = Bᵀ d B
//! per input patch, M = U ⊙ V summed over input channels — 16 GEMMs, here in transposed form
//! `Mᵀ[e] (tiles, C_out) = Vᵀ[e] (tiles, C_in) · Uᵀ[e] (C_in, C_out)` — and the outputs
//! Y = Aᵀ M A (2×2). The transforms' entries are 0, ±1 and ±½, so rounding stays at a few ulps
//! of the inputs' magnitudes. An inf input would give NaN in most outputs whose window holds it
//! (the transforms subtract it from itself) where im2col, and PyTorch, give ±inf: activations
//! and gradients that are not all finite take the im2col path ([`finite`], one pass over them;
//! the weight is not checked: a pass over a 256-channel kernel costs ~0.1 ms, 8 % of the conv).
//!
//! Images run in blocks (rayon over blocks, single-threaded GEMMs), a block's transformed input
//! sized to stay in L2. The transforms run with channels innermost (an image is first copied
//! channels-last with a zero border), 16 channels per step in SIMD lanes; done per tile with
//! scalar code they cost more than the multiply-adds they save.

use faer::{Accum, Par};
use rayon::prelude::*;

use super::{gemm, Addr, Conv2dShape};
use crate::num::Float;
use crate::par;
use crate::scratch;
use crate::simd::simd_dispatch;
use crate::strided::StridedView;

/// Elements of one block's transformed input (16 × C_in × tiles): 1 MiB of f32.
const BLOCK_ELEMS: usize = 1 << 18;
/// Padding between the 16 matrices of a block's V and M. Unpadded, they sit a power of two
/// apart (64 KiB for 64 channels × 256 tiles), so the transforms' 16 streams all map to the
/// same L1 sets and evict each other (measured 3.5 ms vs 1.6 ms for im2col on 64 channels 8×8).
const SKEW: usize = 16;
/// The largest map side this path takes (larger maps were not measured).
const MAX_SIDE: usize = 16;

/// Whether this path takes the conv: 3×3, stride 1, padding 1, no dilation or groups, the
/// output the input's size, from 4×4 to 16×16 (2×2 and 3×3 maps on one thread only), and
/// enough channels that the 16 GEMMs are not all overhead. On a 2×2 map a block has one tile
/// per image, and each block reads the whole transformed weight (16/9 of the kernel): with the
/// blocks that two threads need, measured slower than the batched im2col path (256 channels,
/// batch 32: 1.3 vs 0.9 ms), on one thread (one block) faster (1.3 vs 1.55 ms, each of fwd,
/// bwd-data, bwd-weight). A 1×1 map is one live tap anyway.
pub(super) fn applies(s: &Conv2dShape) -> bool {
    (s.kh, s.kw) == (3, 3)
        && s.stride == (1, 1)
        && s.pad == (1, 1)
        && s.dilation == (1, 1)
        && s.groups == 1
        && (s.oh, s.ow) == (s.h, s.w)
        && ((s.h >= 4 && s.w >= 4) || (s.h >= 2 && s.w >= 2 && par::threads() == 1))
        && s.h <= MAX_SIDE
        && s.w <= MAX_SIDE
        && s.c_in >= 32
        && s.c_out >= 32
}

simd_dispatch! {
    /// Σ 0·v over a slice: 0 when every element is finite, NaN otherwise (0·inf = NaN).
    fn zero_product_sum<T: Float>(xs: &[T]) -> T {
        let mut acc = [T::ZERO; L];
        let chunks = xs.chunks_exact(L);
        let rest = chunks.remainder();
        for c in chunks {
            for l in 0..L {
                acc[l] += c[l] * T::ZERO;
            }
        }
        let mut sum = T::ZERO;
        for (&a, &v) in acc.iter().zip(rest.iter().chain(core::iter::repeat(&T::ZERO))) {
            sum += a + v * T::ZERO;
        }
        sum
    }
}

/// Whether every element of the view is finite (a vectorised pass for a contiguous one).
pub(super) fn finite<T: Float>(x: &StridedView<T>) -> bool {
    let (shape, st) = (x.shape(), x.strides());
    let contiguous = crate::strided::contiguous_strides(shape).as_slice() == st;
    let n: usize = shape.iter().product();
    if n == 0 {
        return true;
    }
    if contiguous {
        // SAFETY: a C-contiguous view's n elements are consecutive from its first one.
        let xs = unsafe { std::slice::from_raw_parts(x.ptr_at(0), n) };
        return zero_product_sum(xs) == T::ZERO;
    }
    let mut acc = T::ZERO;
    for i in 0..n {
        let (mut rem, mut off) = (i, 0isize);
        for d in (0..shape.len()).rev() {
            off += (rem % shape[d]) as isize * st[d];
            rem /= shape[d];
        }
        // SAFETY: the index is inside the view's shape.
        let v = unsafe { *x.ptr_at(off) };
        acc += v * T::ZERO;
    }
    acc == T::ZERO
}

/// U[e][o][c] = (G g Gᵀ)[e] for each kernel g = w[o, c] (3×3), e = 4·row + column; the
/// matrices U[e] are `ue` = C_out·C_in + SKEW apart.
///
/// `transposed`: `w` is (C_in, C_out, 3, 3) and the conv's kernel is w[c, o] flipped (the
/// backward-data of a conv with weight w). Flipping g reverses the rows of G g and keeps the
/// middle two (G's rows 0 and 3 are g0 and g2, rows 1 and 2 symmetric), so U of the flipped
/// kernel is U of g with rows and columns permuted 0 ↔ 3: no flipped copy of the weight.
fn weight_transform<T: Float>(
    w: &[T],
    co: usize,
    ci: usize,
    ue: usize,
    transposed: bool,
) -> Vec<T> {
    const FLIP: [usize; 4] = [3, 1, 2, 0];
    let half = T::from_f64(0.5);
    let mut u = scratch::take_overwritten(16 * ue, T::ZERO);
    for o in 0..co {
        for c in 0..ci {
            let g = if transposed {
                &w[(c * co + o) * 9..][..9]
            } else {
                &w[(o * ci + c) * 9..][..9]
            };
            // t = G g (4×3)
            let mut t = [[T::ZERO; 3]; 4];
            for j in 0..3 {
                let (g0, g1, g2) = (g[j], g[3 + j], g[6 + j]);
                t[0][j] = g0;
                t[1][j] = (g0 + g1 + g2) * half;
                t[2][j] = (g0 - g1 + g2) * half;
                t[3][j] = g2;
            }
            for (r, tr) in t.iter().enumerate() {
                let row = [
                    tr[0],
                    (tr[0] + tr[1] + tr[2]) * half,
                    (tr[0] - tr[1] + tr[2]) * half,
                    tr[2],
                ];
                for (q, &v) in row.iter().enumerate() {
                    let e = if transposed {
                        4 * FLIP[r] + FLIP[q]
                    } else {
                        4 * r + q
                    };
                    u[e * ue + o * ci + c] = v;
                }
            }
        }
    }
    u
}

/// (threads, images per block, blocks): a block's transformed input in L2, and with several
/// threads at least two blocks per thread when the batch allows (on one thread, as few blocks
/// as the cache allows: each block reads the whole transformed weight).
fn plan(s: &Conv2dShape) -> (usize, usize, usize) {
    let tpi = s.h.div_ceil(2) * s.w.div_ceil(2);
    let threads = par::threads();
    let by_cache = (BLOCK_ELEMS / (16 * s.c_in * tpi)).max(1);
    let by_threads = if threads == 1 {
        s.n
    } else {
        s.n.div_ceil(2 * threads).max(1)
    };
    let per_block = by_cache.min(by_threads);
    (threads, per_block, s.n.div_ceil(per_block))
}

/// Vᵀ[e][tile][c] (matrices `ve` apart) for images i0..i1 of `x`: each image copied channels
/// innermost with a zero border (rows -1..=2·th, columns -1..=2·tw), then transformed.
fn transform_inputs<T: Float>(
    x: &StridedView<T>,
    s: &Conv2dShape,
    i0: usize,
    i1: usize,
    v: &mut [T],
    ve: usize,
) {
    let (ci, h, wd) = (s.c_in, s.h, s.w);
    let (th, tw) = (h.div_ceil(2), wd.div_ceil(2));
    let (ph, pw) = (2 * th + 2, 2 * tw + 2);
    let mut xp = vec![T::ZERO; ph * pw * ci];
    let st = x.strides();
    for img in i0..i1 {
        for c in 0..ci {
            for r in 0..h {
                let base = img as isize * st[0] + c as isize * st[1] + r as isize * st[2];
                for q in 0..wd {
                    // SAFETY: (img, c, r, q) is inside the view's shape.
                    xp[((r + 1) * pw + q + 1) * ci + c] =
                        unsafe { *x.ptr_at(base + q as isize * st[3]) };
                }
            }
        }
        input_tiles(&xp, pw, ci, th, tw, v, ve, (img - i0) * th * tw);
    }
}

/// `y = conv2d(x, w) + bias` for a shape [`applies`] accepts; with `transposed`, `w` is
/// (C_in, C_out, 3, 3) and the kernel is its flipped transpose (see [`weight_transform`]).
pub(super) fn forward<T: Float>(
    x: &StridedView<T>,
    w: &[T],
    transposed: bool,
    bias: Option<&[T]>,
    s: &Conv2dShape,
    y: &mut [T],
) {
    let (ci, co, h, wd) = (s.c_in, s.c_out, s.h, s.w);
    let (th, tw) = (h.div_ceil(2), wd.div_ceil(2));
    let tpi = th * tw; // tiles per image
    let ue = co * ci + SKEW;
    let u = weight_transform(w, co, ci, ue, transposed);
    // Images per block: the transformed input in L2, and at least two blocks per thread when
    // the batch allows.
    let (threads, per_block, blocks) = plan(s);
    let y_addr = Addr(y.as_mut_ptr() as usize);
    let run = |b: usize| {
        let (i0, i1) = (b * per_block, ((b + 1) * per_block).min(s.n));
        let nt = (i1 - i0) * tpi;
        // Vᵀ[e] (tiles × C_in) and Mᵀ[e] (tiles × C_out), channels innermost so the transforms
        // run across channels in SIMD lanes; per-thread buffers (fresh pages cost more), every
        // element read is written first.
        let (ve, me) = (nt * ci + SKEW, nt * co + SKEW);
        let mut v = scratch::take_overwritten(16 * ve, T::ZERO);
        let mut m = scratch::take_overwritten(16 * me, T::ZERO);
        transform_inputs(x, s, i0, i1, &mut v, ve);
        for e in 0..16 {
            // SAFETY: Mᵀ[e] (nt × co), Vᵀ[e] (nt × ci) and Uᵀ[e] (ci × co, U[e] read transposed)
            // lie inside their buffers.
            unsafe {
                gemm(
                    (m.as_mut_ptr().add(e * me), co as isize, 1),
                    (v.as_ptr().add(e * ve), ci as isize, 1),
                    (u.as_ptr().add(e * ue), 1, ci as isize),
                    (nt, ci, co),
                    Accum::Replace,
                    Par::Seq,
                );
            }
        }
        let yp = y_addr.0 as *mut T;
        for img in i0..i1 {
            // SAFETY: image img's output, written only by the block that holds img.
            let out =
                unsafe { std::slice::from_raw_parts_mut(yp.add(img * co * h * wd), co * h * wd) };
            output_tiles(&m, me, co, h, wd, th, tw, (img - i0) * tpi, bias, out);
        }
        scratch::give(v);
        scratch::give(m);
    };
    if blocks > 1 && threads > 1 && s.work() >= par::MACS_THRESHOLD {
        (0..blocks).into_par_iter().for_each(run);
    } else {
        (0..blocks).for_each(run);
    }
    scratch::give(u);
}

/// Lanes of the transforms: channels handled together, in fixed arrays LLVM keeps in vector
/// registers.
const L: usize = 16;

simd_dispatch! {
    /// Vᵀ[e][t0 + tile][c] = (Bᵀ d B)[e] for every tile of one image, `xp` its zero-bordered
    /// channels-innermost copy.
    #[allow(clippy::too_many_arguments)]
    fn input_tiles<T: Float>(xp: &[T], pw: usize, ci: usize, th: usize, tw: usize, v: &mut [T], ve: usize, t0: usize) {
        for ti in 0..th {
            for tj in 0..tw {
                let t = t0 + ti * tw + tj;
                let mut c0 = 0;
                while c0 < ci {
                    let n = (ci - c0).min(L);
                    let mut d = [[T::ZERO; L]; 16];
                    for (k, dk) in d.iter_mut().enumerate() {
                        let at = ((2 * ti + k / 4) * pw + 2 * tj + k % 4) * ci + c0;
                        if n == L {
                            dk.copy_from_slice(&xp[at..at + L]); // fixed size: inlined, no memmove call
                        } else {
                            dk[..n].copy_from_slice(&xp[at..at + n]);
                        }
                    }
                    // Bᵀ d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3 ...
                    let mut r = [[T::ZERO; L]; 16];
                    for b in 0..4 {
                        for l in 0..L {
                            let (d0, d1, d2, d3) = (d[b][l], d[4 + b][l], d[8 + b][l], d[12 + b][l]);
                            r[b][l] = d0 - d2;
                            r[4 + b][l] = d1 + d2;
                            r[8 + b][l] = d2 - d1;
                            r[12 + b][l] = d1 - d3;
                        }
                    }
                    // ... then · B: the same on each row's four columns.
                    for a in 0..4 {
                        let mut o = [[T::ZERO; L]; 4];
                        for l in 0..L {
                            let (s0, s1, s2, s3) = (r[4 * a][l], r[4 * a + 1][l], r[4 * a + 2][l], r[4 * a + 3][l]);
                            o[0][l] = s0 - s2;
                            o[1][l] = s1 + s2;
                            o[2][l] = s2 - s1;
                            o[3][l] = s1 - s3;
                        }
                        for (q, oq) in o.iter().enumerate() {
                            let at = (4 * a + q) * ve + t * ci + c0;
                            if n == L {
                                v[at..at + L].copy_from_slice(oq);
                            } else {
                                v[at..at + n].copy_from_slice(&oq[..n]);
                            }
                        }
                    }
                    c0 += n;
                }
            }
        }
    }
}

simd_dispatch! {
    /// One image's output planes `out` (C_out, h, w) from Mᵀ[e][t0 + tile][o]: Aᵀ M A per
    /// tile, plus the bias.
    #[allow(clippy::too_many_arguments)]
    fn output_tiles<T: Float>(m: &[T], me: usize, co: usize, h: usize, wd: usize, th: usize, tw: usize, t0: usize, bias: Option<&[T]>, out: &mut [T]) {
        let hw = h * wd;
        for ti in 0..th {
            for tj in 0..tw {
                let t = t0 + ti * tw + tj;
                let mut o0 = 0;
                while o0 < co {
                    let n = (co - o0).min(L);
                    let mut mm = [[T::ZERO; L]; 16];
                    for (e, me_) in mm.iter_mut().enumerate() {
                        let at = e * me + t * co + o0;
                        if n == L {
                            me_.copy_from_slice(&m[at..at + L]);
                        } else {
                            me_[..n].copy_from_slice(&m[at..at + n]);
                        }
                    }
                    let mut bv = [T::ZERO; L];
                    if let Some(b) = bias {
                        bv[..n].copy_from_slice(&b[o0..o0 + n]);
                    }
                    // Aᵀ M: rows m0 + m1 + m2, m1 - m2 - m3; then the same across columns.
                    let mut y = [[T::ZERO; L]; 4];
                    for l in 0..L {
                        let mut tr = [[T::ZERO; 4]; 2];
                        for q in 0..4 {
                            let (m0, m1, m2, m3) = (mm[q][l], mm[4 + q][l], mm[8 + q][l], mm[12 + q][l]);
                            tr[0][q] = m0 + m1 + m2;
                            tr[1][q] = m1 - m2 - m3;
                        }
                        for a in 0..2 {
                            y[2 * a][l] = tr[a][0] + tr[a][1] + tr[a][2] + bv[l];
                            y[2 * a + 1][l] = tr[a][1] - tr[a][2] - tr[a][3] + bv[l];
                        }
                    }
                    for a in 0..2 {
                        let r = 2 * ti + a;
                        if r >= h {
                            break;
                        }
                        for q in 0..2 {
                            let col = 2 * tj + q;
                            if col >= wd {
                                break;
                            }
                            let at = r * wd + col;
                            for (l, &val) in y[2 * a + q][..n].iter().enumerate() {
                                out[(o0 + l) * hw + at] = val;
                            }
                        }
                    }
                    o0 += n;
                }
            }
        }
    }
}

/// `gw = d conv2d / d w` applied to `gy` (overwritten) for a shape [`applies`] accepts: the
/// adjoint of the forward's steps. Per tile, dM = A gy Aᵀ (4×4 from the 2×2 gradient block);
/// dU[e] = Σ_tiles dM[e] ⊗ V[e] — 16 GEMMs `dU[e] (C_out, C_in) += dMᵀ[e]ᵀ · Vᵀ[e]` — and
/// gw = Gᵀ dU G per kernel. Blocks of images accumulate into one dU per rayon task, summed at
/// the end.
pub(super) fn backward_weight<T: Float>(
    x: &StridedView<T>,
    gy: &[T],
    s: &Conv2dShape,
    gw: &mut [T],
) {
    let (ci, co, h, wd) = (s.c_in, s.c_out, s.h, s.w);
    let (th, tw) = (h.div_ceil(2), wd.div_ceil(2));
    let tpi = th * tw;
    let (threads, per_block, blocks) = plan(s);
    let ue = co * ci + SKEW;
    let block = |mut du: Vec<T>, b: usize| -> Vec<T> {
        let (i0, i1) = (b * per_block, ((b + 1) * per_block).min(s.n));
        let nt = (i1 - i0) * tpi;
        let (ve, me) = (nt * ci + SKEW, nt * co + SKEW);
        let mut v = scratch::take_overwritten(16 * ve, T::ZERO);
        let mut m = scratch::take_overwritten(16 * me, T::ZERO);
        transform_inputs(x, s, i0, i1, &mut v, ve);
        // gy of each image channels innermost, zero beyond the map (odd sizes: half tiles).
        let (gh, gwd) = (2 * th, 2 * tw);
        let mut gp = vec![T::ZERO; gh * gwd * co];
        for img in i0..i1 {
            for o in 0..co {
                let plane = &gy[(img * co + o) * h * wd..][..h * wd];
                for r in 0..h {
                    for q in 0..wd {
                        gp[(r * gwd + q) * co + o] = plane[r * wd + q];
                    }
                }
            }
            grad_tiles(&gp, gwd, co, th, tw, &mut m, me, (img - i0) * tpi);
        }
        for e in 0..16 {
            // SAFETY: dU[e] (co × ci), dMᵀ[e] (nt × co, read transposed) and Vᵀ[e] (nt × ci) lie
            // inside their buffers.
            unsafe {
                gemm(
                    (du.as_mut_ptr().add(e * ue), ci as isize, 1),
                    (m.as_ptr().add(e * me), 1, co as isize),
                    (v.as_ptr().add(e * ve), ci as isize, 1),
                    (co, nt, ci),
                    Accum::Add,
                    Par::Seq,
                );
            }
        }
        scratch::give(v);
        scratch::give(m);
        du
    };
    let zero = || vec![T::ZERO; 16 * ue];
    let du = if blocks > 1 && threads > 1 && s.work() >= par::MACS_THRESHOLD {
        (0..blocks)
            .into_par_iter()
            .fold(zero, block)
            .reduce(zero, |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, &y)| *x += y);
                a
            })
    } else {
        (0..blocks).fold(zero(), block)
    };
    weight_adjoint(&du, co, ci, ue, gw);
}

/// gw[o, c] = Gᵀ dU[·][o][c] G (3×3 from 4×4), G's rows (1, 0, 0), (½, ½, ½), (½, -½, ½), (0, 0, 1).
fn weight_adjoint<T: Float>(du: &[T], co: usize, ci: usize, ue: usize, gw: &mut [T]) {
    let half = T::from_f64(0.5);
    // (Gᵀ d): from four values d0..d3 to three: d0 + ½(d1 + d2), ½(d1 - d2), ½(d1 + d2) + d3.
    let g3 = |d: [T; 4]| {
        let (p, q) = ((d[1] + d[2]) * half, (d[1] - d[2]) * half);
        [d[0] + p, q, p + d[3]]
    };
    for o in 0..co {
        for c in 0..ci {
            let at = o * ci + c;
            let mut rows = [[T::ZERO; 3]; 4]; // (dU G) per row a
            for (a, row) in rows.iter_mut().enumerate() {
                *row = g3([
                    du[(4 * a) * ue + at],
                    du[(4 * a + 1) * ue + at],
                    du[(4 * a + 2) * ue + at],
                    du[(4 * a + 3) * ue + at],
                ]);
            }
            let k = &mut gw[at * 9..][..9];
            for j in 0..3 {
                let col = g3([rows[0][j], rows[1][j], rows[2][j], rows[3][j]]);
                for i in 0..3 {
                    k[i * 3 + j] = col[i];
                }
            }
        }
    }
}

simd_dispatch! {
    /// dMᵀ[e][t0 + tile][o] = (A gy Aᵀ)[e] for every tile of one image, `gp` its gradient
    /// channels innermost (2·th × 2·tw, zero beyond the map); A's rows (1, 0), (1, 1), (1, -1), (0, -1).
    #[allow(clippy::too_many_arguments)]
    fn grad_tiles<T: Float>(gp: &[T], gwd: usize, co: usize, th: usize, tw: usize, m: &mut [T], me: usize, t0: usize) {
        for ti in 0..th {
            for tj in 0..tw {
                let t = t0 + ti * tw + tj;
                let mut o0 = 0;
                while o0 < co {
                    let n = (co - o0).min(L);
                    let mut g = [[T::ZERO; L]; 4];
                    for (k, gk) in g.iter_mut().enumerate() {
                        let at = ((2 * ti + k / 2) * gwd + 2 * tj + k % 2) * co + o0;
                        if n == L {
                            gk.copy_from_slice(&gp[at..at + L]);
                        } else {
                            gk[..n].copy_from_slice(&gp[at..at + n]);
                        }
                    }
                    let mut out = [[T::ZERO; L]; 16];
                    for l in 0..L {
                        // A gy: rows g0, g0 + g1, g0 - g1, -g1 (of the 2×2 block's rows) ...
                        let mut r = [[T::ZERO; 2]; 4];
                        for j in 0..2 {
                            let (g0, g1) = (g[j][l], g[2 + j][l]);
                            r[0][j] = g0;
                            r[1][j] = g0 + g1;
                            r[2][j] = g0 - g1;
                            r[3][j] = -g1;
                        }
                        // ... then · Aᵀ on columns.
                        for a in 0..4 {
                            let (c0, c1) = (r[a][0], r[a][1]);
                            out[4 * a][l] = c0;
                            out[4 * a + 1][l] = c0 + c1;
                            out[4 * a + 2][l] = c0 - c1;
                            out[4 * a + 3][l] = -c1;
                        }
                    }
                    for (e, oe) in out.iter().enumerate() {
                        let at = e * me + t * co + o0;
                        if n == L {
                            m[at..at + L].copy_from_slice(oe);
                        } else {
                            m[at..at + n].copy_from_slice(&oe[..n]);
                        }
                    }
                    o0 += n;
                }
            }
        }
    }
}
