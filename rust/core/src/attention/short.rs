//! Short-sequence path of the attention kernels: no flash tiles, whole rows of keys at once.
//!
//! With few keys (a small Transformer's 10 tokens) the tiled forward spends about half its time
//! in faer calls on 10×16×10 tiles. Here each head packs kᵀ into an `E × SP` scratch, SP = S
//! rounded up to [`LANES`] with zero columns, so that a row of scores is E broadcast-FMAs into
//! LANES-wide register accumulators, and the softmax runs on whole vectors (no scalar tails).
//! Query rows go in blocks, phase by phase, so that independent rows overlap. The softmax, mask,
//! causal, lse and NaN conventions are the tiled path's: a fully masked row gives output 0 and
//! lse −inf, and every key column j < S takes part in the products (a zero weight times a NaN
//! value is NaN, as in torch's math path). Heads of at most LANES query rows take the
//! transposed form of [`lanes`] (one vector lane per query row: no per-row reductions); the
//! rows form here serves longer ones. Parallelism: across batch×heads only above
//! MACS_THRESHOLD. The backward is here too (same contracts); [`take`] picks it for fewer sizes.

use std::marker::PhantomData;

use rayon::prelude::*;

use super::{mask_row, scale_add_mask, visible, AttnFloat, Geometry, Inputs, Operand, LANES};
use crate::num::dot;
use crate::par::{self, MACS_THRESHOLD};
use crate::simd::{simd_dispatch, tree};

mod lanes;

/// Largest key count S whose forward takes this path (see take()).
pub const SHORT_MAX_S: usize = 16;
/// Largest head dims E and Ev whose forward takes this path.
pub const SHORT_MAX_E: usize = 32;

/// Whether the auto choice takes the short path for these sizes. Forward, measured one thread,
/// f32, 512 heads (examples/attn_short_speed), tiled vs short in µs: L10 S10 E16 500 vs 267
/// (mask 521/366, causal 428/285), L1 S10 E16 105/66, L128 S16 E16 1065/843; but L10 S10 E64
/// 809/829, L32 S32 E16 1479/1565, L64 S32 E32 901/1155. Backward, since its products run R
/// rows at a time (lin_comb_rows), tiled vs short: L10 S10 E16 563/427 (mask 543/549, causal
/// 569/429), E32 830/637 (mask 811/768), L1 S10 E16 221/169, L32 S16 E16 1460/1254; but
/// L128 S16 E16 (64 heads) 578/941 and E8 522/1563 (a part-filled vector per row), so the
/// backward takes it only for heads of whole vectors and L <= 32.
pub(super) fn take(g: &Geometry, backward: bool) -> bool {
    let fits = g.s <= SHORT_MAX_S && g.e <= SHORT_MAX_E && g.ev <= SHORT_MAX_E;
    if !backward {
        return fits;
    }
    let whole = |n: usize| n >= LANES && n % LANES == 0;
    fits && whole(g.e) && whole(g.ev) && g.l <= 32
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

/// Output rows of one head: row i at `ptr + i·rs`, `cols` wide (rs >= cols: rows are disjoint).
/// Made from a slice ([`RowsMut::of`]) or, for heads interleaved in one buffer, by a [`Sink`];
/// either way the head's rows are written through it alone.
pub(super) struct RowsMut<'a, T> {
    ptr: *mut T,
    rs: usize,
    cols: usize,
    rows: usize,
    _life: PhantomData<&'a mut [T]>,
}

impl<'a, T> RowsMut<'a, T> {
    /// `rows` rows of `s`, `rs` apart and `cols` wide.
    fn of(s: &'a mut [T], rows: usize, rs: usize, cols: usize) -> Self {
        assert!(rows <= 1 || cols <= rs, "rows overlap");
        assert!(
            rows == 0 || cols == 0 || (rows - 1) * rs + cols <= s.len(),
            "rows outside the slice"
        );
        RowsMut {
            ptr: s.as_mut_ptr(),
            rs,
            cols,
            rows,
            _life: PhantomData,
        }
    }
    #[inline(always)]
    fn row(&mut self, i: usize) -> &mut [T] {
        assert!(i < self.rows);
        // SAFETY: row i lies inside the block this was made from (checked there).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.wrapping_add(i * self.rs), self.cols) }
    }
    /// Rows i..i+R at once.
    #[inline(always)]
    fn rows_at<const R: usize>(&mut self, i: usize) -> [&mut [T]; R] {
        assert!(i + R <= self.rows);
        let (p, rs, cols) = (self.ptr, self.rs, self.cols);
        // SAFETY: distinct rows are disjoint (rs >= cols) and inside the block (checked when made).
        std::array::from_fn(|k| unsafe {
            std::slice::from_raw_parts_mut(p.wrapping_add((i + k) * rs), cols)
        })
    }
}

/// Where every head's output rows go in one buffer: head b = (n, h), h < `heads`, starts at
/// `n·outer + h·inner + base`, its `rows` rows `rs` apart and `cols` wide. The contiguous
/// (batch, L, cols) layout is heads = 1, outer = L·cols; a packed projection's (B, L, 3, H, D)
/// rows are heads = H, outer = L·3E, inner = D, base = part·E.
#[derive(Clone, Copy)]
pub(super) struct Sink<T> {
    ptr: *mut T,
    heads: usize,
    outer: usize,
    inner: usize,
    base: usize,
    rs: usize,
    cols: usize,
    rows: usize,
}

// SAFETY: a Sink hands each head's rows to one task only (see `head`).
unsafe impl<T: Send> Send for Sink<T> {}
unsafe impl<T: Send> Sync for Sink<T> {}

impl<T> Sink<T> {
    /// The rows of `nb` heads in `buf`, laid out as the type describes.
    ///
    /// # Safety
    /// Distinct heads' rows must not overlap (nor overlap those of another Sink used at the same
    /// time), and `buf` must outlive every use of the Sink.
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn new(
        buf: &mut [T],
        nb: usize,
        heads: usize,
        outer: usize,
        inner: usize,
        base: usize,
        rs: usize,
        cols: usize,
        rows: usize,
    ) -> Self {
        assert!(heads > 0 && (rows <= 1 || cols <= rs));
        if nb > 0 && rows > 0 && cols > 0 {
            let last = (nb - 1) / heads * outer
                + (heads.min(nb) - 1) * inner
                + base
                + (rows - 1) * rs
                + cols;
            assert!(last <= buf.len(), "heads outside the output buffer");
        }
        Sink {
            ptr: buf.as_mut_ptr(),
            heads,
            outer,
            inner,
            base,
            rs,
            cols,
            rows,
        }
    }
    /// Head b's rows.
    ///
    /// # Safety
    /// b < nb of `new`, and no other RowsMut of head b (from this Sink) is alive.
    #[inline(always)]
    unsafe fn head<'a>(&self, b: usize) -> RowsMut<'a, T> {
        let off = b / self.heads * self.outer + b % self.heads * self.inner + self.base;
        RowsMut {
            ptr: self.ptr.wrapping_add(off),
            rs: self.rs,
            cols: self.cols,
            rows: self.rows,
            _life: PhantomData,
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

/// The n coefficients a[t] = s[t · step] of one output row of a linear combination: a row of a
/// tile (step 1) or a column of one (step = its row length), read in place, not transposed.
#[derive(Clone, Copy)]
struct Coef<'a, T> {
    s: &'a [T],
    step: usize,
    n: usize,
}

impl<'a, T: Copy> Coef<'a, T> {
    #[inline(always)]
    fn row(s: &'a [T]) -> Self {
        Coef {
            s,
            step: 1,
            n: s.len(),
        }
    }
    /// n entries `step` apart from the start of `s`.
    #[inline(always)]
    fn col(s: &'a [T], step: usize, n: usize) -> Self {
        assert!(
            n == 0 || (n - 1) * step < s.len(),
            "column outside its tile"
        );
        Coef { s, step, n }
    }
    #[inline(always)]
    fn at(&self, t: usize) -> T {
        debug_assert!(t < self.n);
        // SAFETY: t < n and (n - 1) · step < s.len(), checked when made.
        unsafe { *self.s.get_unchecked(t * self.step) }
    }
}

/// `out_r[c] (+)= alpha_r · Σ_t a_r[t] · b[t][c]` for R output rows r at once (`add`: accumulate
/// into out; each row b[t] has out_r.len() elements), accumulated in registers (fused
/// multiply-adds: these bodies are compiled for FMA where the CPU has it, see simd_dispatch):
/// LANES-wide chunks, two partial sums over t per row, and the R rows side by side, so that 2R
/// independent FMA chains fill the units (one row's 16-step chain alone is latency-bound, ~4×
/// under their rate); a last partial chunk goes through a zero-padded local copy.
#[inline(always)]
fn lin_comb_rows<T: AttnFloat, const R: usize>(
    a: [Coef<T>; R],
    b: &Rows<T>,
    alpha: [T; R],
    add: bool,
    mut out: [&mut [T]; R],
) {
    let width = out[0].len();
    let full = width / LANES * LANES;
    for c in (0..full).step_by(LANES) {
        lin_comb_chunk::<T, R, true>(&a, b, &alpha, add, &mut out, c);
    }
    if full < width {
        lin_comb_chunk::<T, R, false>(&a, b, &alpha, add, &mut out, full);
    }
}

/// One LANES-wide chunk of [`lin_comb_rows`] from column `c`; FULL: the chunk lies inside the
/// rows. Whole and partial chunks are separate instances so that a whole chunk's store stays
/// a vector store (in one body LLVM merged both into a variable-length memcpy call).
#[inline(always)]
fn lin_comb_chunk<T: AttnFloat, const R: usize, const FULL: bool>(
    a: &[Coef<T>; R],
    b: &Rows<T>,
    alpha: &[T; R],
    add: bool,
    out: &mut [&mut [T]; R],
    c: usize,
) {
    let n = a[0].n;
    let load = |t: usize| -> [T; LANES] {
        if FULL {
            // SAFETY: row t of b holds at least c + LANES elements.
            unsafe { *(b.ptr.wrapping_offset(t as isize * b.rs).add(c) as *const [T; LANES]) }
        } else {
            let r = &b.row(t)[c..];
            let mut x = [T::ZERO; LANES];
            x[..r.len()].copy_from_slice(r);
            x
        }
    };
    let mut acc0 = [[T::ZERO; LANES]; R];
    let mut acc1 = [[T::ZERO; LANES]; R];
    let mut t = 0;
    while t + 2 <= n {
        let (r0, r1) = (load(t), load(t + 1));
        for k in 0..R {
            let (x0, x1) = (a[k].at(t), a[k].at(t + 1));
            for u in 0..LANES {
                acc0[k][u] = x0.fma(r0[u], acc0[k][u]);
                acc1[k][u] = x1.fma(r1[u], acc1[k][u]);
            }
        }
        t += 2;
    }
    if t < n {
        let r0 = load(t);
        for k in 0..R {
            let x0 = a[k].at(t);
            for u in 0..LANES {
                acc0[k][u] = x0.fma(r0[u], acc0[k][u]);
            }
        }
    }
    for k in 0..R {
        let mut r = [T::ZERO; LANES];
        for u in 0..LANES {
            r[u] = alpha[k] * (acc0[k][u] + acc1[k][u]);
        }
        if FULL {
            let o: &mut [T; LANES] = (&mut out[k][c..c + LANES])
                .try_into()
                .expect("a whole chunk");
            if add {
                for u in 0..LANES {
                    o[u] += r[u];
                }
            } else {
                *o = r;
            }
        } else {
            let o = &mut out[k][c..];
            let m = o.len();
            if add {
                o.iter_mut().zip(&r).for_each(|(o, &r)| *o += r);
            } else {
                o.copy_from_slice(&r[..m]);
            }
        }
    }
}

/// Row `first + i` of `out` (+)= alpha(i) · Σ_t a(i)[t] · b[t] for i < rows: blocks of 4 rows
/// through [`lin_comb_rows`], then one block of the rest.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lin_comb_each<'a, T: AttnFloat + 'a>(
    rows: usize,
    a: impl Fn(usize) -> Coef<'a, T>,
    b: &Rows<T>,
    alpha: impl Fn(usize) -> T,
    add: bool,
    out: &mut RowsMut<T>,
    first: usize,
) {
    const R: usize = 4;
    let mut i = 0;
    while i + R <= rows {
        lin_comb_rows::<T, R>(
            [a(i), a(i + 1), a(i + 2), a(i + 3)],
            b,
            [alpha(i), alpha(i + 1), alpha(i + 2), alpha(i + 3)],
            add,
            out.rows_at::<R>(first + i),
        );
        i += R;
    }
    // The last 1–3 rows as one block too: one row alone is a chain of dependent FMAs.
    match rows - i {
        3 => lin_comb_rows::<T, 3>(
            [a(i), a(i + 1), a(i + 2)],
            b,
            [alpha(i), alpha(i + 1), alpha(i + 2)],
            add,
            out.rows_at::<3>(first + i),
        ),
        2 => lin_comb_rows::<T, 2>(
            [a(i), a(i + 1)],
            b,
            [alpha(i), alpha(i + 1)],
            add,
            out.rows_at::<2>(first + i),
        ),
        1 => lin_comb_rows::<T, 1>([a(i)], b, [alpha(i)], add, [out.row(first + i)]),
        _ => {}
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

/// Per-thread scratch: packed q/k/v/dO rows, kᵀ and vᵀ (zero-padded to sp), two score tiles;
/// for the transposed form ([`lanes`]) qᵀ, dOᵀ and the mask transposed (LANES wide, zero
/// beyond L).
struct Scratch<T> {
    q: Vec<T>,
    k: Vec<T>,
    v: Vec<T>,
    g: Vec<T>,
    kt: Vec<T>,
    vt: Vec<T>,
    p: Vec<T>,
    dp: Vec<T>,
    qt: Vec<T>,
    gt: Vec<T>,
    mt: Vec<T>,
}

impl<T: AttnFloat> Scratch<T> {
    fn new(c: &Ctx<T>, backward: bool) -> Self {
        let sp = c.sp();
        let z = |n: usize| vec![T::ZERO; n];
        let lanes = lanes::fits(c);
        // The score tile (and dP's): S × LANES transposed, else a block of rows.
        let tile = if lanes { c.s * LANES } else { RB.min(c.l) * sp };
        let t = |n: usize| if lanes { n * LANES } else { 0 };
        Scratch {
            q: z(if backward || !lanes { c.l * c.e } else { 0 }),
            k: z(if backward || lanes { c.s * c.e } else { 0 }),
            v: z(c.s * c.ev),
            g: z(if backward { c.l * c.ev } else { 0 }),
            kt: z(if lanes { 0 } else { c.e * sp }),
            vt: z(if backward && !lanes { c.ev * sp } else { 0 }),
            p: z(tile),
            dp: z(if backward { tile } else { 0 }),
            qt: z(t(c.e)),
            gt: z(if backward { t(c.ev) } else { 0 }),
            mt: z(if c.inp.mask.is_some() { t(c.s) } else { 0 }),
        }
    }
}

// ---- forward -------------------------------------------------------------------------------

simd_dispatch! {
    fn fwd_batch_d<T: AttnFloat>(c: &Ctx<T>, sc: &mut Scratch<T>, b: usize, out: &mut RowsMut<T>, lse: &mut [T]) {
        fwd_batch(c, sc, b, out, lse)
    }
}

/// One batch (head): `out` its L rows of Ev, `lse` its L entries. Rows go in blocks of RB, one
/// phase at a time over the block (scores, softmax, P·V): a single row is a chain of dependent
/// steps (~150 cycles of latency), independent rows side by side keep the core busy.
#[inline(always)]
fn fwd_batch<T: AttnFloat>(
    c: &Ctx<T>,
    sc: &mut Scratch<T>,
    b: usize,
    out: &mut RowsMut<T>,
    lse: &mut [T],
) {
    if lanes::fits(c) {
        return lanes::fwd_head(c, sc, b, out, lse);
    }
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
        let mut scores = RowsMut::of(tile, br, sp, sp);
        lin_comb_each(
            br,
            |i| Coef::row(q.row(r0 + i)),
            &kt,
            |_| T::ONE,
            false,
            &mut scores,
            0,
        );
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
        // sum = 0 only when every key is masked; a NaN score makes it NaN, which must reach
        // the output (as the tiled path's l). Such a row is written with weight 0, then zeroed.
        let inv = |i: usize| {
            if sums[i] != T::ZERO {
                T::ONE / sums[i]
            } else {
                T::ZERO
            }
        };
        let tile = &sc.p[..br * sp];
        lin_comb_each(
            br,
            |i| Coef::row(&tile[i * sp..i * sp + s]),
            &v,
            inv,
            false,
            out,
            r0,
        );
        for i in 0..br {
            if sums[i] != T::ZERO {
                lse[r0 + i] = mx[i] + sums[i].ln();
            } else {
                out.row(r0 + i).fill(T::ZERO);
                lse[r0 + i] = T::NEG_INF;
            }
        }
    }
}

/// The forward on this path; `out` (C-contiguous (nb, L, Ev)) and `lse` are non-empty and
/// checked by the caller.
pub(super) fn forward<T: AttnFloat>(c: &Ctx<T>, nb: usize, out: &mut [T], lse: &mut [T]) {
    let (l, ev) = (c.l, c.ev);
    // SAFETY: consecutive heads' row blocks do not overlap; `out` outlives the call.
    let sink = unsafe { Sink::new(out, nb, 1, l * ev, 0, 0, ev, ev, l) };
    forward_into(c, nb, sink, lse);
}

/// The forward writing head b's rows where `out` puts them (see [`Sink`]).
pub(super) fn forward_into<T: AttnFloat>(c: &Ctx<T>, nb: usize, out: Sink<T>, lse: &mut [T]) {
    let l = c.l;
    // SAFETY (both loops): each head b is visited once, so its rows have one writer.
    if c.work(nb) < MACS_THRESHOLD || par::threads() == 1 {
        let mut sc = Scratch::new(c, false);
        for (b, lb) in lse.chunks_mut(l).enumerate().take(nb) {
            fwd_batch_d(c, &mut sc, b, &mut unsafe { out.head(b) }, lb);
        }
    } else {
        lse.par_chunks_mut(l).take(nb).enumerate().for_each_init(
            || Scratch::new(c, false),
            |sc, (b, lb)| fwd_batch_d(c, sc, b, &mut unsafe { out.head(b) }, lb),
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
    fn bwd_batch_d<T: AttnFloat>(c: &Ctx<T>, gr: &Grads<T>, sc: &mut Scratch<T>, b: usize, dq: &mut RowsMut<T>,
        dk: &mut RowsMut<T>, dv: &mut RowsMut<T>) {
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
    dq: &mut RowsMut<T>,
    dk: &mut RowsMut<T>,
    dv: &mut RowsMut<T>,
) {
    if lanes::fits(c) {
        return lanes::bwd_head(c, gr, sc, b, dq, dk, dv);
    }
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
        let q_rows = |i| Coef::row(q.row(r0 + i));
        lin_comb_each(
            br,
            q_rows,
            &kt,
            |_| T::ONE,
            false,
            &mut RowsMut::of(pt, br, sp, sp),
            0,
        );
        let g_rows = |i| Coef::row(g.row(r0 + i));
        lin_comb_each(
            br,
            g_rows,
            &vt,
            |_| T::ONE,
            false,
            &mut RowsMut::of(dpt, br, sp, sp),
            0,
        );
        for (i, (p, dp)) in pt
            .chunks_exact_mut(sp)
            .zip(dpt.chunks_exact_mut(sp))
            .enumerate()
        {
            let row = r0 + i;
            let d = out_dot_grad(o, b, row, g.row(row));
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
            // dS over every key column (a zero P times a NaN dP is NaN, as the tiled path), in
            // whole vectors: the padding columns j >= s are never read.
            for (dsc, pc) in dp.chunks_exact_mut(LANES).zip(p.chunks_exact(LANES)) {
                // Whole-array loads and store: on the slices LLVM left this loop scalar.
                let pv: [T; LANES] = pc.try_into().expect("a whole chunk");
                let dsc: &mut [T; LANES] = dsc.try_into().expect("a whole chunk");
                let mut ds = *dsc;
                for u in 0..LANES {
                    ds[u] = pv[u] * (ds[u] - d);
                }
                *dsc = ds;
            }
        }
        // dV_j (+)= Σ_i P[i, j] dO_i and dK_j (+)= scale Σ_i dS[i, j] q_i: register
        // accumulation over the block's rows, reading the columns of P and dS in place.
        let (gb, qb) = (g.from(r0), q.from(r0));
        let (pt, dpt) = (&*pt, &*dpt);
        let p_cols = |j: usize| Coef::col(&pt[j..], sp, br);
        lin_comb_each(s, p_cols, &gb, |_| T::ONE, r0 > 0, dv, 0);
        let ds_cols = |j: usize| Coef::col(&dpt[j..], sp, br);
        lin_comb_each(s, ds_cols, &qb, |_| scale, r0 > 0, dk, 0);
        let ds_rows = |i: usize| Coef::row(&dpt[i * sp..i * sp + s]);
        lin_comb_each(br, ds_rows, &k, |_| scale, false, dq, r0);
    }
}

/// D = rowsum(dO ∘ O) of query row `row` of batch b, as the tiled path: `o` the forward's output,
/// `d_o` that row of the incoming gradient (Ev wide).
#[inline(always)]
fn out_dot_grad<T: AttnFloat>(o: &Operand, b: usize, row: usize, d_o: &[T]) -> T {
    let ev = d_o.len();
    if o.cs == 1 || ev <= 1 {
        // SAFETY: row `row` of the (L, Ev) view of out.
        dot(
            unsafe { std::slice::from_raw_parts(o.at::<T>(b, row, 0), ev) },
            d_o,
        )
    } else {
        // SAFETY: (row, t) is inside the (L, Ev) view of out.
        (0..ev).fold(T::ZERO, |a, t| {
            a + unsafe { *o.at::<T>(b, row, t) } * d_o[t]
        })
    }
}

/// The backward on this path; sizes are non-empty and checked by the caller; dq, dk and dv are
/// C-contiguous (nb, L, E), (nb, S, E) and (nb, S, Ev).
pub(super) fn backward<T: AttnFloat>(
    c: &Ctx<T>,
    gr: &Grads<T>,
    nb: usize,
    dq: &mut [T],
    dk: &mut [T],
    dv: &mut [T],
) {
    let (l, s, e, ev) = (c.l, c.s, c.e, c.ev);
    // SAFETY: consecutive heads' row blocks do not overlap; the buffers outlive the call.
    let sinks = unsafe {
        [
            Sink::new(dq, nb, 1, l * e, 0, 0, e, e, l),
            Sink::new(dk, nb, 1, s * e, 0, 0, e, e, s),
            Sink::new(dv, nb, 1, s * ev, 0, 0, ev, ev, s),
        ]
    };
    backward_into(c, gr, nb, sinks);
}

/// The backward writing head b's dq, dk and dv rows where the sinks put them (see [`Sink`]).
pub(super) fn backward_into<T: AttnFloat>(
    c: &Ctx<T>,
    gr: &Grads<T>,
    nb: usize,
    [sq, sk, sv]: [Sink<T>; 3],
) {
    // SAFETY (both loops): each head b is visited once, so its rows have one writer.
    let run = |sc: &mut Scratch<T>, b: usize| unsafe {
        bwd_batch_d(
            c,
            gr,
            sc,
            b,
            &mut sq.head(b),
            &mut sk.head(b),
            &mut sv.head(b),
        )
    };
    if c.work(nb) < MACS_THRESHOLD || par::threads() == 1 {
        let mut sc = Scratch::new(c, true);
        (0..nb).for_each(|b| run(&mut sc, b));
    } else {
        (0..nb)
            .into_par_iter()
            .for_each_init(|| Scratch::new(c, true), run);
    }
}
