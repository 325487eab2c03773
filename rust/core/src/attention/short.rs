//! Short-sequence path of the attention kernels: no flash tiles, whole rows of keys at once.
//!
//! With few keys (a small Transformer's 10 tokens) the tiled forward spends about half its time
//! in faer calls on 10×16×10 tiles. Here each head packs kᵀ into an `E × SP` scratch, SP = S
//! rounded up to [`LANES`] with zero columns, so that a row of scores is E broadcast-FMAs into
//! LANES-wide register accumulators, and the softmax runs on whole vectors (no scalar tails).
//! Query rows go in blocks, phase by phase, so that independent rows overlap. The softmax, mask,
//! causal, lse and NaN conventions are the tiled path's: a fully masked row gives output 0 and
//! lse −inf, and every key column j < S takes part in the products (a zero weight times a NaN
//! value is NaN, as in torch's math path). Parallelism: across batch×heads only above
//! MACS_THRESHOLD. The backward is here too (same contracts) but [`take`] only picks the forward.

use rayon::prelude::*;

use super::{
    mask_row, pieces, scale_add_mask, visible, AttnFloat, Geometry, Inputs, Operand, LANES,
};
use crate::num::dot;
use crate::par::{self, MACS_THRESHOLD};
use crate::simd::simd_dispatch;

/// Largest key count S whose forward takes this path (see take()).
pub const SHORT_MAX_S: usize = 16;
/// Largest head dims E and Ev whose forward takes this path.
pub const SHORT_MAX_E: usize = 32;

/// Whether the auto choice takes the short path for a forward of these sizes. Measured one
/// thread, f32, 512 heads (examples/attn_short_speed), tiled vs short in µs: L10 S10 E16 500 vs
/// 267 (mask 521/366, causal 428/285), L1 S10 E16 105/66, L128 S16 E16 1065/843; but L10 S10 E64
/// 809/829, L32 S32 E16 1479/1565, L64 S32 E32 901/1155. The backward never won (L10 S10 E16
/// 494 vs 576: faer's nano-gemm kernels for these tiny tiles beat the register-accumulated rows
/// once dV, dK and dQ are added), so the backward stays tiled unless Path::Short forces it.
pub(super) fn take(g: &Geometry, backward: bool) -> bool {
    !backward && g.s <= SHORT_MAX_S && g.e <= SHORT_MAX_E && g.ev <= SHORT_MAX_E
}

/// Rows of a (rows × cols) operand of one batch: the operand itself when its columns are
/// contiguous, else a packed copy.
struct Rows<T> {
    ptr: *const T,
    rs: isize,
    cols: usize,
}

impl<T: Copy> Rows<T> {
    /// The rows from `r0` on.
    #[inline(always)]
    fn from(&self, r0: usize) -> Rows<T> {
        Rows {
            ptr: self.ptr.wrapping_offset(r0 as isize * self.rs),
            rs: self.rs,
            cols: self.cols,
        }
    }
    #[inline(always)]
    fn row(&self, i: usize) -> &[T] {
        // SAFETY: made by `rows` from a view (or scratch) holding `cols` elements on each row.
        unsafe {
            std::slice::from_raw_parts(self.ptr.wrapping_offset(i as isize * self.rs), self.cols)
        }
    }
}

#[inline(always)]
fn rows<T: Copy>(op: &Operand, b: usize, n: usize, cols: usize, buf: &mut [T]) -> Rows<T> {
    if op.cs == 1 || cols <= 1 {
        return Rows {
            ptr: op.at::<T>(b, 0, 0),
            rs: op.rs,
            cols,
        };
    }
    assert!(buf.len() >= n * cols);
    // Base and strides in locals: read through the struct, LLVM reloads them after every store.
    let (base, rs, cs) = (op.at::<T>(b, 0, 0), op.rs, op.cs);
    let dst = buf.as_mut_ptr();
    for i in 0..n {
        let src = base.wrapping_offset(i as isize * rs);
        for c in 0..cols {
            // SAFETY: (i, c) lies inside the (n, cols) view the operand was made from; buf holds
            // n × cols elements.
            unsafe { *dst.add(i * cols + c) = *src.wrapping_offset(c as isize * cs) };
        }
    }
    Rows {
        ptr: buf.as_ptr(),
        rs: cols as isize,
        cols,
    }
}

/// `bt[c * sp + j] = op[j, c]` for j < n (columns n..sp stay as they are: zero).
#[inline(always)]
fn pack_t<T: Copy>(op: &Operand, b: usize, n: usize, cols: usize, sp: usize, bt: &mut [T]) {
    assert!(n <= sp && bt.len() >= cols * sp);
    let (base, rs, cs) = (op.at::<T>(b, 0, 0), op.rs, op.cs);
    let dst = bt.as_mut_ptr();
    for j in 0..n {
        let src = base.wrapping_offset(j as isize * rs);
        for c in 0..cols {
            // SAFETY: as in `rows`; c * sp + j < cols * sp. A volatile store keeps this loop
            // scalar: vectorised, it becomes gathers/scatters, several times slower on AMD.
            unsafe {
                dst.add(c * sp + j)
                    .write_volatile(*src.wrapping_offset(c as isize * cs))
            };
        }
    }
}

/// `out[c] (+)= alpha · Σ_t a[t] · b[t][c]` for c < out.len() (`add`: accumulate into out) (each row b[t] has out.len() elements),
/// accumulated in registers (fused multiply-adds: these bodies are compiled for FMA where the
/// CPU has it, see simd_dispatch): LANES-wide chunks of out, two partial sums over t so that the add
/// chains overlap; a last partial chunk goes through a zero-padded local copy.
#[inline(always)]
fn lin_comb<T: AttnFloat>(a: &[T], b: &Rows<T>, alpha: T, add: bool, out: &mut [T]) {
    let n = a.len();
    let width = out.len();
    for c in (0..width).step_by(LANES) {
        let full = c + LANES <= width;
        let load = |t: usize, c: usize| -> [T; LANES] {
            if full {
                // SAFETY: row t of b holds `width` >= c + LANES elements.
                unsafe { *(b.ptr.wrapping_offset(t as isize * b.rs).add(c) as *const [T; LANES]) }
            } else {
                let r = &b.row(t)[c..];
                let mut x = [T::ZERO; LANES];
                x[..r.len()].copy_from_slice(r);
                x
            }
        };
        let mut acc0 = [T::ZERO; LANES];
        let mut acc1 = [T::ZERO; LANES];
        let mut t = 0;
        while t + 2 <= n {
            let (r0, r1) = (load(t, c), load(t + 1, c));
            let (x0, x1) = (a[t], a[t + 1]);
            for u in 0..LANES {
                acc0[u] = x0.fma(r0[u], acc0[u]);
                acc1[u] = x1.fma(r1[u], acc1[u]);
            }
            t += 2;
        }
        if t < n {
            let (r0, x0) = (load(t, c), a[t]);
            for u in 0..LANES {
                acc0[u] = x0.fma(r0[u], acc0[u]);
            }
        }
        let mut r = [T::ZERO; LANES];
        for u in 0..LANES {
            r[u] = alpha * (acc0[u] + acc1[u]);
        }
        // One whole-chunk store where it fits (a later vector load of it then forwards).
        let o = &mut out[c..];
        let k = o.len().min(LANES);
        if add {
            o[..k].iter_mut().zip(&r).for_each(|(o, &r)| *o += r);
        } else if k == LANES {
            o[..LANES].copy_from_slice(&r);
        } else {
            o.copy_from_slice(&r[..k]);
        }
    }
}

/// `row[j] = exp(row[j]·a + c)` for j < n and 0 for the other columns, on whole LANES chunks
/// (row.len() is a multiple of LANES: no scalar tail); returns the sum, tree-reduced.
#[inline(always)]
fn exp_row<T: AttnFloat>(row: &mut [T], n: usize, a: T, c: T) -> T {
    let mut acc = [T::ZERO; LANES];
    for (ci, ch) in row.chunks_exact_mut(LANES).enumerate() {
        let ch: &mut [T; LANES] = ch.try_into().unwrap();
        for u in 0..LANES {
            let p = (ch[u] * a + c).exp_fast();
            let p = if ci * LANES + u < n { p } else { T::ZERO };
            ch[u] = p;
            acc[u] += p;
        }
    }
    tree(acc, |x, y| x + y)
}

/// Reduces LANES values pairwise (fixed halving steps, so that it stays in vector registers).
#[inline(always)]
fn tree<T: Copy>(acc: [T; LANES], f: impl Fn(T, T) -> T) -> T {
    let mut a8 = [acc[0]; 8];
    for u in 0..8 {
        a8[u] = f(acc[u], acc[u + 8]);
    }
    let mut a4 = [acc[0]; 4];
    for u in 0..4 {
        a4[u] = f(a8[u], a8[u + 4]);
    }
    f(f(a4[0], a4[2]), f(a4[1], a4[3]))
}

/// max of `row[..n]` (NaN never wins, as row_max) over whole LANES chunks, tree-reduced.
#[inline(always)]
fn max_first<T: AttnFloat>(row: &[T], n: usize) -> T {
    let mut acc = [T::NEG_INF; LANES];
    for (ci, ch) in row.chunks_exact(LANES).enumerate() {
        let ch: [T; LANES] = ch.try_into().unwrap();
        for u in 0..LANES {
            let x = ch[u];
            acc[u] = if ci * LANES + u < n && x > acc[u] {
                x
            } else {
                acc[u]
            };
        }
    }
    // acc holds no NaN, so the order of the reduction does not matter.
    tree(acc, |x, y| if y > x { y } else { x })
}

/// Query rows per phase block (see fwd_batch).
const RB: usize = 32;

/// What every head of one call shares.
pub(super) struct Ctx<'a, T> {
    pub inp: &'a Inputs,
    pub l: usize,
    pub s: usize,
    pub e: usize,
    pub ev: usize,
    pub causal: bool,
    pub scale: T,
}

impl<T> Ctx<'_, T> {
    fn sp(&self) -> usize {
        self.s.div_ceil(LANES).max(1) * LANES
    }
    fn work(&self, nb: usize) -> usize {
        nb * self.l * self.s * (self.e + self.ev)
    }
}

/// Per-thread scratch: packed q/k/v/dO rows, kᵀ and vᵀ (zero-padded to sp), two score rows.
struct Scratch<T> {
    q: Vec<T>,
    k: Vec<T>,
    v: Vec<T>,
    g: Vec<T>,
    kt: Vec<T>,
    vt: Vec<T>,
    p: Vec<T>,
    dp: Vec<T>,
    pt: Vec<T>,
    dst: Vec<T>,
}

impl<T: AttnFloat> Scratch<T> {
    fn new(c: &Ctx<T>, backward: bool) -> Self {
        let sp = c.sp();
        let z = |n: usize| vec![T::ZERO; n];
        Scratch {
            q: z(c.l * c.e),
            k: z(if backward { c.s * c.e } else { 0 }),
            v: z(c.s * c.ev),
            g: z(if backward { c.l * c.ev } else { 0 }),
            kt: z(c.e * sp),
            vt: z(if backward { c.ev * sp } else { 0 }),
            p: z(RB.min(c.l) * sp),
            dp: z(if backward { RB.min(c.l) * sp } else { 0 }),
            pt: z(if backward { RB.min(c.l) * c.s } else { 0 }),
            dst: z(if backward { RB.min(c.l) * c.s } else { 0 }),
        }
    }
}

// ---- forward -------------------------------------------------------------------------------

simd_dispatch! {
    fn fwd_batch_d<T: AttnFloat>(c: &Ctx<T>, sc: &mut Scratch<T>, b: usize, out: &mut [T], lse: &mut [T]) {
        fwd_batch(c, sc, b, out, lse)
    }
}

/// One batch (head): `out` its (L, Ev) rows, `lse` its L entries. Rows go in blocks of RB, one
/// phase at a time over the block (scores, softmax, P·V): a single row is a chain of dependent
/// steps (~150 cycles of latency), independent rows side by side keep the core busy.
#[inline(always)]
fn fwd_batch<T: AttnFloat>(
    c: &Ctx<T>,
    sc: &mut Scratch<T>,
    b: usize,
    out: &mut [T],
    lse: &mut [T],
) {
    let (l, s, e, ev, sp, scale) = (c.l, c.s, c.e, c.ev, c.sp(), c.scale);
    let q = rows(&c.inp.q, b, l, e, &mut sc.q);
    pack_t(&c.inp.k, b, s, e, sp, &mut sc.kt);
    let kt = Rows {
        ptr: sc.kt.as_ptr(),
        rs: sp as isize,
        cols: sp,
    };
    let v = rows(&c.inp.v, b, s, ev, &mut sc.v);
    let mut mx = [T::ZERO; RB];
    let mut sums = [T::ZERO; RB];
    for r0 in (0..l).step_by(RB) {
        let br = RB.min(l - r0);
        let tile = &mut sc.p[..br * sp];
        for (i, row) in tile.chunks_exact_mut(sp).enumerate() {
            lin_comb(q.row(r0 + i), &kt, T::ONE, false, row);
        }
        for (i, full) in tile.chunks_exact_mut(sp).enumerate() {
            let nv = visible(c.causal, r0 + i, 0, s);
            let mrow = mask_row::<T>(c.inp, b, r0 + i, 0).0;
            // As fwd_tile_rows: without a mask the scale goes inside the exp.
            let (m, a) = if mrow.is_none() && scale > T::ZERO {
                (max_first(full, nv) * scale, scale)
            } else {
                scale_add_mask(&mut full[..nv], scale, mrow);
                (max_first(full, nv), T::ONE)
            };
            let shift = if m == T::NEG_INF { T::ZERO } else { m };
            mx[i] = m;
            sums[i] = exp_row(full, nv, a, T::ZERO - shift);
        }
        for (i, row) in tile.chunks_exact(sp).enumerate() {
            let orow = &mut out[(r0 + i) * ev..(r0 + i + 1) * ev];
            let sum = sums[i];
            // sum = 0 only when every key is masked; a NaN score makes it NaN, which must reach
            // the output (as the tiled path's l).
            if sum != T::ZERO {
                lin_comb(&row[..s], &v, T::ONE / sum, false, orow);
                lse[r0 + i] = mx[i] + sum.ln();
            } else {
                orow.fill(T::ZERO);
                lse[r0 + i] = T::NEG_INF;
            }
        }
    }
}

/// The forward on this path; `out` and `lse` are non-empty and checked by the caller.
pub(super) fn forward<T: AttnFloat>(c: &Ctx<T>, nb: usize, out: &mut [T], lse: &mut [T]) {
    let (l, ev) = (c.l, c.ev);
    if c.work(nb) < MACS_THRESHOLD || par::threads() == 1 {
        let mut sc = Scratch::new(c, false);
        for (b, (ob, lb)) in out.chunks_mut(l * ev).zip(lse.chunks_mut(l)).enumerate() {
            fwd_batch_d(c, &mut sc, b, ob, lb);
        }
    } else {
        out.par_chunks_mut(l * ev)
            .zip(lse.par_chunks_mut(l))
            .enumerate()
            .for_each_init(
                || Scratch::new(c, false),
                |sc, (b, (ob, lb))| fwd_batch_d(c, sc, b, ob, lb),
            );
    }
}

// ---- backward ------------------------------------------------------------------------------

/// The backward's extra operands: the forward's out and lse, and the incoming gradient.
pub(super) struct Grads<'a, T> {
    pub o: &'a Operand,
    pub d_o: &'a Operand,
    pub lse: &'a [T],
}

simd_dispatch! {
    fn bwd_batch_d<T: AttnFloat>(c: &Ctx<T>, gr: &Grads<T>, sc: &mut Scratch<T>, b: usize, dq: &mut [T],
        dk: &mut [T], dv: &mut [T]) {
        bwd_batch(c, gr, sc, b, dq, dk, dv)
    }
}

/// One batch: P = exp(s − lse), dV += Pᵀ dO, dP = dO vᵀ, dS = P ∘ (dP − D), dQ = scale dS k,
/// dK += scale dSᵀ q; dq (L, E), dk (S, E), dv (S, Ev) are this batch's rows. Rows in blocks of
/// RB, phase by phase, as the forward.
#[inline(always)]
fn bwd_batch<T: AttnFloat>(
    c: &Ctx<T>,
    gr: &Grads<T>,
    sc: &mut Scratch<T>,
    b: usize,
    dq: &mut [T],
    dk: &mut [T],
    dv: &mut [T],
) {
    let (l, s, e, ev, sp, scale) = (c.l, c.s, c.e, c.ev, c.sp(), c.scale);
    let q = rows(&c.inp.q, b, l, e, &mut sc.q);
    let k = rows(&c.inp.k, b, s, e, &mut sc.k);
    let g = rows(gr.d_o, b, l, ev, &mut sc.g);
    pack_t(&c.inp.k, b, s, e, sp, &mut sc.kt);
    pack_t(&c.inp.v, b, s, ev, sp, &mut sc.vt);
    let kt = Rows {
        ptr: sc.kt.as_ptr(),
        rs: sp as isize,
        cols: sp,
    };
    let vt = Rows {
        ptr: sc.vt.as_ptr(),
        rs: sp as isize,
        cols: sp,
    };
    let lse = &gr.lse[b * l..(b + 1) * l];
    let o = gr.o;
    for r0 in (0..l).step_by(RB) {
        let br = RB.min(l - r0);
        let (pt, dpt) = (&mut sc.p[..br * sp], &mut sc.dp[..br * sp]);
        for (i, (p, dp)) in pt
            .chunks_exact_mut(sp)
            .zip(dpt.chunks_exact_mut(sp))
            .enumerate()
        {
            lin_comb(q.row(r0 + i), &kt, T::ONE, false, p);
            lin_comb(g.row(r0 + i), &vt, T::ONE, false, dp);
        }
        for (i, (p, dp)) in pt
            .chunks_exact_mut(sp)
            .zip(dpt.chunks_exact_mut(sp))
            .enumerate()
        {
            let row = r0 + i;
            // D = rowsum(dO ∘ O), as the tiled path.
            let d = if o.cs == 1 || ev <= 1 {
                // SAFETY: row `row` of the (L, Ev) view of out.
                dot(
                    unsafe { std::slice::from_raw_parts(o.at::<T>(b, row, 0), ev) },
                    g.row(row),
                )
            } else {
                let gr_ = g.row(row);
                // SAFETY: (row, t) is inside the (L, Ev) view of out.
                (0..ev).fold(T::ZERO, |a, t| {
                    a + unsafe { *o.at::<T>(b, row, t) } * gr_[t]
                })
            };
            let nv = if lse[row] == T::NEG_INF {
                0
            } else {
                visible(c.causal, row, 0, s)
            };
            let shift = lse[row];
            // As bwd_p_rows: exp(s·scale − lse), or exp(s·scale + mask − lse).
            match mask_row::<T>(c.inp, b, row, 0).0 {
                None => exp_row(p, nv, scale, T::ZERO - shift),
                mrow => {
                    scale_add_mask(&mut p[..nv], scale, mrow);
                    exp_row(p, nv, T::ONE, T::ZERO - shift)
                }
            };
            // dS over every key column (a zero P times a NaN dP is NaN, as the tiled path).
            for (ds, &pj) in dp.iter_mut().zip(p.iter()).take(s) {
                *ds = pj * (*ds - d);
            }
        }
        // dV_j (+)= Σ_i P[i, j] dO_i and dK_j (+)= scale Σ_i dS[i, j] q_i: register
        // accumulation over the block's rows, from Pᵀ and dSᵀ (br × s transposed copies).
        let (ptt, dst) = (&mut sc.pt[..s * br], &mut sc.dst[..s * br]);
        for (i, (p, ds)) in pt.chunks_exact(sp).zip(dpt.chunks_exact(sp)).enumerate() {
            for j in 0..s {
                ptt[j * br + i] = p[j];
                dst[j * br + i] = ds[j];
            }
        }
        let (gb, qb) = (g.from(r0), q.from(r0));
        for j in 0..s {
            lin_comb(
                &ptt[j * br..(j + 1) * br],
                &gb,
                T::ONE,
                r0 > 0,
                &mut dv[j * ev..(j + 1) * ev],
            );
            lin_comb(
                &dst[j * br..(j + 1) * br],
                &qb,
                scale,
                r0 > 0,
                &mut dk[j * e..(j + 1) * e],
            );
        }
        for (i, ds) in dpt.chunks_exact(sp).enumerate() {
            lin_comb(
                &ds[..s],
                &k,
                scale,
                false,
                &mut dq[(r0 + i) * e..(r0 + i + 1) * e],
            );
        }
    }
}

/// The backward on this path; sizes are non-empty and checked by the caller.
pub(super) fn backward<T: AttnFloat>(
    c: &Ctx<T>,
    gr: &Grads<T>,
    nb: usize,
    dq: &mut [T],
    dk: &mut [T],
    dv: &mut [T],
) {
    let (l, s, e, ev) = (c.l, c.s, c.e, c.ev);
    // `pieces`, not chunks_mut: e or ev may be 0.
    let parts = pieces(dq, l * e, nb)
        .into_iter()
        .zip(pieces(dk, s * e, nb))
        .zip(pieces(dv, s * ev, nb))
        .enumerate();
    if c.work(nb) < MACS_THRESHOLD || par::threads() == 1 {
        let mut sc = Scratch::new(c, true);
        for (b, ((dqb, dkb), dvb)) in parts {
            bwd_batch_d(c, gr, &mut sc, b, dqb, dkb, dvb);
        }
    } else {
        parts.collect::<Vec<_>>().into_par_iter().for_each_init(
            || Scratch::new(c, true),
            |sc, (b, ((dqb, dkb), dvb))| bwd_batch_d(c, gr, sc, b, dqb, dkb, dvb),
        );
    }
}
