//! Scaled dot-product attention, flash style: `out = softmax(scale · q kᵀ + mask) v`.
//!
//! Shapes: q `(batch..., L, E)`, k `(batch..., S, E)`, v `(batch..., S, Ev)`, each with its own
//! (broadcastable) batch dims and arbitrary strides; the optional additive float mask is a view of
//! exactly `(batch..., L, S)` whose strides may be zero (a broadcast mask is never materialised).
//!
//! Forward: for each (batch, query block) the key blocks are visited in order, keeping a running
//! row max `m` and row sum `l` (online softmax); only a `BR × BC` score tile exists at a time.
//! The per-row logsumexp `m + ln l` is saved. Backward recomputes `P = exp(s − lse)` tile by tile:
//! `dV += Pᵀ dO`, `dP = dO Vᵀ`, `dS = P ∘ (dP − rowsum(dO ∘ O))`, `dQ += scale dS K`,
//! `dK += scale dSᵀ Q`. Causal attention (top-left aligned: row i sees keys j <= i) skips key
//! blocks that are fully masked. Tile products are faer matmuls (`Par::Seq`) on strided views
//! (measured against a hand-written AVX-512 broadcast-FMA loop on the tile shapes, one thread:
//! faer 106–113 GFLOP/s, the hand loop 87–112, so faer stays);
//! the tile's elementwise work (mask, max, exp, sums) is compiled for AVX-512 / AVX2 and picked
//! at run time. Parallelism (rayon): forward over (batch, query block); backward over (batch,
//! chunk of key blocks), each task owning its rows of dK and dV; a batch is split into several
//! chunks only when there are fewer batches than 2 × threads, and then each chunk accumulates dQ
//! in a private buffer that is summed afterwards, so no two tasks write the same memory.
//! Block sizes: FWD_BR/FWD_BC/BWD_BR/BWD_BC (the env var FG_ATTN_BLOCKS="64,256,64,128"
//! overrides them, for tuning). A row whose every key is masked (all logits −inf) gives output 0 and gradient 0,
//! as PyTorch 2.15 does.

use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::num::{dot, Float};
use crate::par::{self, MACS_THRESHOLD};
use crate::simd::simd_dispatch;
use crate::strided::{broadcast_offsets, broadcast_shapes, StridedView};

mod packed;
mod short;
pub use packed::{sdpa_packed_backward, sdpa_packed_forward, Packed};
pub use short::{SHORT_MAX_E, SHORT_MAX_S};

/// Which kernel runs a call: `Auto` picks from the sizes (a forward with S <= [`SHORT_MAX_S`] and
/// E, Ev <= [`SHORT_MAX_E`] takes the short-sequence path, a backward too when also L <= 32 and
/// E, Ev are whole vectors (short::take); the env var FG_ATTN_PATH=tiled|short overrides that,
/// for tuning); the others force one, for tests. Both
/// write the same lse, so a forward on one path pairs with a backward on the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Auto,
    /// Flash-style tiles (long sequences).
    Tiled,
    /// One query row at a time against packed kᵀ (short sequences).
    Short,
}

impl Path {
    fn short(self, g: &Geometry, backward: bool) -> bool {
        match self {
            Path::Auto => {
                static FORCE: std::sync::OnceLock<Option<bool>> = std::sync::OnceLock::new();
                let force = *FORCE.get_or_init(|| match std::env::var("FG_ATTN_PATH").as_deref() {
                    Ok("tiled") => Some(false),
                    Ok("short") => Some(true),
                    _ => None,
                });
                force.unwrap_or_else(|| short::take(g, backward))
            }
            Path::Tiled => false,
            Path::Short => true,
        }
    }
}

/// Query rows per forward tile.
pub const FWD_BR: usize = 64;
/// Key columns per forward tile.
pub const FWD_BC: usize = 256;
/// Query rows per backward tile.
pub const BWD_BR: usize = 64;
/// Key columns per backward tile.
pub const BWD_BC: usize = 128;

/// Float types the attention kernels run on: [`Float`] plus attention's exp. An extension
/// because this exp is attention's own (FMA-based, exactly 0 below -87 so that masked logits
/// vanish): the tiles' outputs and their tests were built on it.
pub trait AttnFloat: Float {
    /// `e^x`; exactly 0 for x = −inf (and for f32 anything below −87), NaN for NaN.
    fn exp_fast(self) -> Self;
}

impl AttnFloat for f32 {
    /// Cephes' expf: range reduction by ln 2 and a degree-7 polynomial, branch-free so that
    /// it vectorises; relative error about 2 ulp.
    #[inline(always)]
    fn exp_fast(self) -> Self {
        const MAGIC: f32 = 12582912.0; // 1.5 · 2^23: adding it rounds to an integer
        let x = self;
        let xc = x.clamp(-87.0, 88.0); // NaN stays NaN
        let n = xc.mul_add(std::f32::consts::LOG2_E, MAGIC);
        let nf = n - MAGIC;
        let ni = (n.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
        let r = nf.mul_add(2.121_944_4e-4, nf.mul_add(-0.693_359_4, xc)); // xc − n·ln2 in two parts
        let mut p = 1.987_569_1e-4f32;
        p = p.mul_add(r, 1.398_199_9e-3);
        p = p.mul_add(r, 8.333_452e-3);
        p = p.mul_add(r, 4.166_579_6e-2);
        p = p.mul_add(r, 1.666_666_5e-1);
        p = p.mul_add(r, 0.5);
        let y = (p * r).mul_add(r, r + 1.0) * f32::from_bits((ni.wrapping_add(127) << 23) as u32);
        if x < -87.0 {
            0.0
        } else {
            y
        }
    }
}

impl AttnFloat for f64 {
    #[inline(always)]
    fn exp_fast(self) -> Self {
        f64::exp(self)
    }
}

/// Sizes of one attention call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    /// Broadcast batch dims of q, k and v.
    pub batch: Vec<usize>,
    pub l: usize,
    pub s: usize,
    pub e: usize,
    pub ev: usize,
}

impl Geometry {
    pub fn batches(&self) -> usize {
        self.batch.iter().product()
    }
    pub fn out_shape(&self) -> Vec<usize> {
        let mut s = self.batch.clone();
        s.extend([self.l, self.ev]);
        s
    }
    pub fn lse_shape(&self) -> Vec<usize> {
        let mut s = self.batch.clone();
        s.push(self.l);
        s
    }
    pub fn mask_shape(&self) -> Vec<usize> {
        let mut s = self.batch.clone();
        s.extend([self.l, self.s]);
        s
    }
}

/// Checks the shapes of q (..., L, E), k (..., S, E), v (..., S, Ev) and the mask, which must be
/// exactly (batch..., L, S) (broadcast it first; zero strides are fine).
pub fn geometry(q: &[usize], k: &[usize], v: &[usize], mask: Option<&[usize]>) -> Result<Geometry> {
    let err = |why: &str| {
        Err(Error::Shape(format!(
            "scaled_dot_product_attention: {why} (query {q:?}, key {k:?}, value {v:?}{})",
            mask.map(|m| format!(", attn_mask {m:?}"))
                .unwrap_or_default()
        )))
    };
    if q.len() < 2 || k.len() < 2 || v.len() < 2 {
        return err("query, key and value need at least 2 dims");
    }
    let (l, e) = (q[q.len() - 2], q[q.len() - 1]);
    let (s, ek) = (k[k.len() - 2], k[k.len() - 1]);
    let (sv, ev) = (v[v.len() - 2], v[v.len() - 1]);
    if e != ek {
        return err("query and key differ in their last dim");
    }
    if s != sv {
        return err("key and value differ in sequence length");
    }
    let Some(batch) = broadcast_shapes(&q[..q.len() - 2], &k[..k.len() - 2])
        .and_then(|b| broadcast_shapes(&b, &v[..v.len() - 2]))
    else {
        return err("batch dims do not broadcast");
    };
    let g = Geometry { batch, l, s, e, ev };
    if let Some(m) = mask {
        if m != g.mask_shape().as_slice() {
            return err(&format!(
                "attn_mask must be a view of shape {:?}",
                g.mask_shape()
            ));
        }
    }
    Ok(g)
}

/// A strided operand seen per batch: one base address per batch index, plus row/col strides.
struct Operand {
    ptrs: Vec<usize>,
    rs: isize,
    cs: isize,
}

fn operand<T>(view: &StridedView<T>, batch: &[usize]) -> Operand {
    let r = view.ndim();
    let offs = broadcast_offsets(batch, &view.shape()[..r - 2], &view.strides()[..r - 2]);
    let rows_one = view.shape()[r - 2] == 1;
    let cols_one = view.shape()[r - 1] == 1;
    Operand {
        ptrs: offs.iter().map(|&o| view.ptr_at(o) as usize).collect(),
        rs: if rows_one { 0 } else { view.strides()[r - 2] },
        cs: if cols_one { 0 } else { view.strides()[r - 1] },
    }
}

impl Operand {
    /// Matrix of `rows × cols` starting at row `r0` of batch `b`.
    ///
    /// # Safety
    /// `r0 + rows` and `cols` must lie within the view this operand was made from.
    #[inline(always)]
    unsafe fn mat<'a, T>(&self, b: usize, r0: usize, rows: usize, cols: usize) -> MatRef<'a, T> {
        let p = (self.ptrs[b] as *const T).offset(r0 as isize * self.rs);
        MatRef::from_raw_parts(p, rows, cols, self.rs, self.cs)
    }
    /// Transpose of `mat`: `cols × rows`.
    #[inline(always)]
    unsafe fn mat_t<'a, T>(&self, b: usize, r0: usize, rows: usize, cols: usize) -> MatRef<'a, T> {
        let p = (self.ptrs[b] as *const T).offset(r0 as isize * self.rs);
        MatRef::from_raw_parts(p, cols, rows, self.cs, self.rs)
    }
    #[inline(always)]
    fn at<T>(&self, b: usize, r: usize, c: usize) -> *const T {
        // Pointer arithmetic only; the caller reads in-range elements.
        (self.ptrs[b] as *const T).wrapping_offset(r as isize * self.rs + c as isize * self.cs)
    }
}

/// Row-major tile as a faer matrix.
#[inline(always)]
fn tile_mut<T>(buf: &mut [T], rows: usize, cols: usize) -> MatMut<'_, T> {
    debug_assert!(buf.len() >= rows * cols);
    // SAFETY: buf holds rows*cols elements laid out row-major.
    unsafe { MatMut::from_raw_parts_mut(buf.as_mut_ptr(), rows, cols, cols as isize, 1) }
}

#[inline(always)]
fn tile_ref<T>(buf: &[T], rows: usize, cols: usize) -> MatRef<'_, T> {
    unsafe { MatRef::from_raw_parts(buf.as_ptr(), rows, cols, cols as isize, 1) }
}

/// Transpose of a row-major tile (cols × rows).
#[inline(always)]
fn tile_t<T>(buf: &[T], rows: usize, cols: usize) -> MatRef<'_, T> {
    unsafe { MatRef::from_raw_parts(buf.as_ptr(), cols, rows, 1, cols as isize) }
}

/// Number of keys of row `row` (absolute) visible in a tile starting at key `c0` of width `bc`.
#[inline(always)]
fn visible(causal: bool, row: usize, c0: usize, bc: usize) -> usize {
    if !causal {
        bc
    } else if row < c0 {
        0
    } else {
        (row + 1 - c0).min(bc)
    }
}

/// Mask of one tile row: base pointer and column stride (None = no mask).
#[derive(Clone, Copy)]
struct MaskRow<T> {
    ptr: *const T,
    cs: isize,
}

/// `row[j] = row[j]·scale + mask[j]` for j < row.len().
#[inline(always)]
fn scale_add_mask<T: AttnFloat>(row: &mut [T], scale: T, mask: Option<MaskRow<T>>) {
    match mask {
        None => row.iter_mut().for_each(|x| *x *= scale),
        Some(m) if m.cs == 1 => {
            // SAFETY: the mask view covers (L, S); this row's visible keys are in range.
            let mrow = unsafe { std::slice::from_raw_parts(m.ptr, row.len()) };
            row.iter_mut()
                .zip(mrow)
                .for_each(|(x, &a)| *x = *x * scale + a);
        }
        Some(m) if m.cs == 0 => {
            let a = unsafe { *m.ptr };
            row.iter_mut().for_each(|x| *x = *x * scale + a);
        }
        Some(m) => {
            for (j, x) in row.iter_mut().enumerate() {
                let a = unsafe { *m.ptr.offset(j as isize * m.cs) };
                *x = *x * scale + a;
            }
        }
    }
}

const LANES: usize = 16;

/// Block sizes (forward rows, forward keys, backward rows, backward keys); FG_ATTN_BLOCKS overrides (tuning).
fn blocks() -> (usize, usize, usize, usize) {
    static B: std::sync::OnceLock<(usize, usize, usize, usize)> = std::sync::OnceLock::new();
    *B.get_or_init(|| {
        if let Ok(s) = std::env::var("FG_ATTN_BLOCKS") {
            let v: Vec<usize> = s.split(',').filter_map(|x| x.trim().parse().ok()).collect();
            if v.len() == 4 && v.iter().all(|&x| x > 0) {
                return (v[0], v[1], v[2], v[3]);
            }
        }
        (FWD_BR, FWD_BC, BWD_BR, BWD_BC)
    })
}

#[inline(always)]
fn row_max<T: AttnFloat>(row: &[T]) -> T {
    let mut acc = [T::NEG_INF; LANES];
    let chunks = row.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for t in 0..LANES {
            acc[t] = if c[t] > acc[t] { c[t] } else { acc[t] };
        }
    }
    let mut m = T::NEG_INF;
    for &x in acc.iter().chain(rest) {
        m = if x > m { x } else { m };
    }
    m
}

/// `row[j] = exp(row[j]·a + c)`, returning the sum. The product is rounded before the add (no
/// fma): `c` is minus the rounded `max(row)·a`, so the largest score gives exactly exp(0) even when
/// the scores are so large that the product's rounding error exceeds exp's range.
#[inline(always)]
fn exp_sum<T: AttnFloat>(row: &mut [T], a: T, c: T) -> T {
    let mut acc = [T::ZERO; LANES];
    let n = row.len() / LANES * LANES;
    let (head, rest) = row.split_at_mut(n);
    for ch in head.chunks_exact_mut(LANES) {
        for t in 0..LANES {
            let p = (ch[t] * a + c).exp_fast();
            ch[t] = p;
            acc[t] += p;
        }
    }
    let mut s = T::ZERO;
    for x in rest.iter_mut() {
        *x = (*x * a + c).exp_fast();
        s += *x;
    }
    acc.iter().fold(s, |a, &b| a + b)
}

/// Forward elementwise work on one score tile (br × bc, row-major): scale, mask, online softmax
/// update of m, l and the accumulator rows; the tile becomes P (unnormalised).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn fwd_tile_rows<T: AttnFloat>(
    tile: &mut [T],
    br: usize,
    bc: usize,
    r0: usize,
    c0: usize,
    causal: bool,
    scale: T,
    mask: Option<MaskRow<T>>,
    mask_rs: isize,
    m: &mut [T],
    l: &mut [T],
    acc: &mut [T],
    ev: usize,
) {
    for i in 0..br {
        let row = &mut tile[i * bc..(i + 1) * bc];
        let nv = visible(causal, r0 + i, c0, bc);
        let (vis, hidden) = row.split_at_mut(nv);
        hidden.iter_mut().for_each(|x| *x = T::ZERO);
        let mrow = mask.map(|mk| MaskRow {
            ptr: mk.ptr.wrapping_offset(i as isize * mask_rs),
            cs: mk.cs,
        });
        // Scores are scaled inside the exp when there is no mask: max(s·scale) = scale·max(s).
        let (mx, a) = if mrow.is_none() && scale > T::ZERO {
            (row_max(vis) * scale, scale)
        } else {
            scale_add_mask(vis, scale, mrow);
            (row_max(vis), T::ONE)
        };
        let m_old = m[i];
        let m_new = if mx > m_old { mx } else { m_old };
        // A row with nothing visible yet keeps shift 0 so that exp(−inf − shift) = 0, never NaN.
        let shift = if m_new == T::NEG_INF { T::ZERO } else { m_new };
        let sum = exp_sum(vis, a, T::ZERO - shift);
        let alpha = (m_old - shift).exp_fast();
        l[i] = l[i] * alpha + sum;
        m[i] = m_new;
        if alpha != T::ONE {
            acc[i * ev..(i + 1) * ev]
                .iter_mut()
                .for_each(|a| *a *= alpha);
        }
    }
}

/// Backward elementwise work on one tile: the tile holds q kᵀ and becomes P = exp(s − lse).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn bwd_p_rows<T: AttnFloat>(
    tile: &mut [T],
    br: usize,
    bc: usize,
    r0: usize,
    c0: usize,
    causal: bool,
    scale: T,
    mask: Option<MaskRow<T>>,
    mask_rs: isize,
    lse: &[T],
) {
    for i in 0..br {
        let row = &mut tile[i * bc..(i + 1) * bc];
        let nv = if lse[i] == T::NEG_INF {
            0
        } else {
            visible(causal, r0 + i, c0, bc)
        };
        let (vis, hidden) = row.split_at_mut(nv);
        hidden.iter_mut().for_each(|x| *x = T::ZERO);
        let mrow = mask.map(|mk| MaskRow {
            ptr: mk.ptr.wrapping_offset(i as isize * mask_rs),
            cs: mk.cs,
        });
        let shift = lse[i];
        if mrow.is_none() {
            vis.iter_mut()
                .for_each(|x| *x = (*x * scale - shift).exp_fast()); // rounded as in exp_sum
        } else {
            scale_add_mask(vis, scale, mrow);
            vis.iter_mut().for_each(|x| *x = (*x - shift).exp_fast());
        }
    }
}

/// `p[i, j] = p[i, j] · (dp[i, j] − d[i])`.
#[inline(always)]
fn bwd_ds_rows<T: AttnFloat>(p: &mut [T], dp: &[T], br: usize, bc: usize, d: &[T]) {
    for i in 0..br {
        let di = d[i];
        let (pr, dr) = (&mut p[i * bc..(i + 1) * bc], &dp[i * bc..(i + 1) * bc]);
        pr.iter_mut().zip(dr).for_each(|(p, &g)| *p *= g - di);
    }
}

// ---- run-time SIMD dispatch of the elementwise tile work -------------------------------------

simd_dispatch! {
    fn fwd_tile_rows_d<T: AttnFloat>(tile: &mut [T], br: usize, bc: usize, r0: usize, c0: usize,
        causal: bool, scale: T, mask: Option<MaskRow<T>>, mask_rs: isize, m: &mut [T], l: &mut [T],
        acc: &mut [T], ev: usize) {
        fwd_tile_rows(tile, br, bc, r0, c0, causal, scale, mask, mask_rs, m, l, acc, ev)
    }
}

simd_dispatch! {
    fn bwd_p_rows_d<T: AttnFloat>(tile: &mut [T], br: usize, bc: usize, r0: usize, c0: usize,
        causal: bool, scale: T, mask: Option<MaskRow<T>>, mask_rs: isize, lse: &[T]) {
        bwd_p_rows(tile, br, bc, r0, c0, causal, scale, mask, mask_rs, lse)
    }
}

simd_dispatch! {
    fn bwd_ds_rows_d<T: AttnFloat>(p: &mut [T], dp: &[T], br: usize, bc: usize, d: &[T]) {
        bwd_ds_rows(p, dp, br, bc, d)
    }
}

// ---- forward -------------------------------------------------------------------------------

struct Inputs {
    q: Operand,
    k: Operand,
    v: Operand,
    mask: Option<Operand>,
}

fn inputs<T>(
    g: &Geometry,
    q: &StridedView<T>,
    k: &StridedView<T>,
    v: &StridedView<T>,
    mask: Option<&StridedView<T>>,
) -> Inputs {
    let mask = mask.map(|m| {
        // Keep the real strides of the (L, S) dims even when a size is 1 (the operand zeroes them).
        operand(m, &g.batch)
    });
    Inputs {
        q: operand(q, &g.batch),
        k: operand(k, &g.batch),
        v: operand(v, &g.batch),
        mask,
    }
}

fn mask_row<T>(inp: &Inputs, b: usize, r0: usize, c0: usize) -> (Option<MaskRow<T>>, isize) {
    match &inp.mask {
        None => (None, 0),
        Some(m) => (
            Some(MaskRow {
                ptr: m.at::<T>(b, r0, c0),
                cs: m.cs,
            }),
            m.rs,
        ),
    }
}

#[allow(clippy::too_many_arguments)]
/// Forward pass. `out` is C-contiguous `(batch..., L, Ev)`, `lse` is `(batch..., L)`.
pub fn sdpa_forward<T: AttnFloat>(
    q: &StridedView<T>,
    k: &StridedView<T>,
    v: &StridedView<T>,
    mask: Option<&StridedView<T>>,
    causal: bool,
    scale: T,
    out: &mut [T],
    lse: &mut [T],
) -> Result<()> {
    sdpa_forward_path(q, k, v, mask, causal, scale, out, lse, Path::Auto)
}

/// [`sdpa_forward`] on a chosen [`Path`].
#[allow(clippy::too_many_arguments)]
pub fn sdpa_forward_path<T: AttnFloat>(
    q: &StridedView<T>,
    k: &StridedView<T>,
    v: &StridedView<T>,
    mask: Option<&StridedView<T>>,
    causal: bool,
    scale: T,
    out: &mut [T],
    lse: &mut [T],
    path: Path,
) -> Result<()> {
    let g = geometry(q.shape(), k.shape(), v.shape(), mask.map(|m| m.shape()))?;
    if causal && mask.is_some() {
        return Err(Error::Shape(
            "scaled_dot_product_attention: attn_mask and is_causal cannot both be set".into(),
        ));
    }
    let nb = g.batches();
    if out.len() != nb * g.l * g.ev || lse.len() != nb * g.l {
        return Err(Error::Shape(format!(
            "scaled_dot_product_attention: output buffers hold {} and {} elements, {:?} and {:?} need {} and {}",
            out.len(),
            lse.len(),
            g.out_shape(),
            g.lse_shape(),
            nb * g.l * g.ev,
            nb * g.l
        )));
    }
    if out.is_empty() {
        lse.fill(T::NEG_INF);
        return Ok(());
    }
    if g.s == 0 {
        out.fill(T::ZERO);
        lse.fill(T::NEG_INF);
        return Ok(());
    }
    let inp = inputs(&g, q, k, v, mask);
    let (l_len, s_len, e, ev) = (g.l, g.s, g.e, g.ev);
    if path.short(&g, false) {
        let c = short::Ctx {
            inp: &inp,
            l: l_len,
            s: s_len,
            e,
            ev,
            causal,
            scale,
        };
        short::forward(&c, nb, out, lse);
        return Ok(());
    }
    let (fwd_br, fwd_bc, _, _) = blocks();

    // One task per (batch, query block); each owns its rows of out and lse.
    let mut tasks: Vec<(usize, usize, &mut [T], &mut [T])> = Vec::new();
    for (b, (ob, lb)) in out
        .chunks_mut(l_len * ev)
        .zip(lse.chunks_mut(l_len))
        .enumerate()
    {
        for (qb, (oc, lc)) in ob
            .chunks_mut(fwd_br * ev)
            .zip(lb.chunks_mut(fwd_br))
            .enumerate()
        {
            tasks.push((b, qb * fwd_br, oc, lc));
        }
    }
    let work = nb * l_len * s_len * (e + ev);
    let run = |scratch: &mut (Vec<T>, Vec<T>, Vec<T>, Vec<T>),
               (b, r0, oc, lc): (usize, usize, &mut [T], &mut [T])| {
        let (tile, acc, m, l) = scratch;
        let br = lc.len();
        acc[..br * ev].fill(T::ZERO);
        m[..br].fill(T::NEG_INF);
        l[..br].fill(T::ZERO);
        let last_row = r0 + br - 1;
        let mut c0 = 0;
        while c0 < s_len && !(causal && c0 > last_row) {
            let mut bc = fwd_bc.min(s_len - c0);
            if causal {
                bc = bc.min(last_row + 1 - c0); // keys past the last row are masked for every row
            }
            // SAFETY: rows r0..r0+br of q and c0..c0+bc of k, v are in range.
            unsafe {
                faer::linalg::matmul::matmul(
                    tile_mut(tile, br, bc),
                    Accum::Replace,
                    inp.q.mat::<T>(b, r0, br, e),
                    inp.k.mat_t::<T>(b, c0, bc, e),
                    T::ONE,
                    Par::Seq,
                );
            }
            let (mrow, mrs) = mask_row(&inp, b, r0, c0);
            fwd_tile_rows_d(
                &mut tile[..br * bc],
                br,
                bc,
                r0,
                c0,
                causal,
                scale,
                mrow,
                mrs,
                m,
                l,
                acc,
                ev,
            );
            unsafe {
                faer::linalg::matmul::matmul(
                    tile_mut(acc, br, ev),
                    Accum::Add,
                    tile_ref(tile, br, bc),
                    inp.v.mat::<T>(b, c0, bc, ev),
                    T::ONE,
                    Par::Seq,
                );
            }
            c0 += bc;
        }
        for i in 0..br {
            let orow = &mut oc[i * ev..(i + 1) * ev];
            // l = 0 only when every key was masked; a NaN score makes l NaN, and NaN must
            // reach the output (PyTorch) rather than fall into the masked-row rule.
            if l[i] != T::ZERO {
                let inv = T::ONE / l[i];
                orow.iter_mut()
                    .zip(&acc[i * ev..(i + 1) * ev])
                    .for_each(|(o, &a)| *o = a * inv);
                lc[i] = m[i] + l[i].ln();
            } else {
                // Every key masked: output 0 (PyTorch's convention), lse −inf marks the row.
                orow.fill(T::ZERO);
                lc[i] = T::NEG_INF;
            }
        }
    };
    let init = || {
        (
            vec![T::ZERO; fwd_br * fwd_bc],
            vec![T::ZERO; fwd_br * ev],
            vec![T::ZERO; fwd_br],
            vec![T::ZERO; fwd_br],
        )
    };
    if work < MACS_THRESHOLD || par::threads() == 1 {
        let mut s = init();
        tasks.into_iter().for_each(|t| run(&mut s, t));
    } else {
        tasks.into_par_iter().for_each_init(init, run);
    }
    Ok(())
}

/// `n` consecutive pieces of `size` elements (size may be 0) from the front of `s`.
fn pieces<T>(mut s: &mut [T], size: usize, n: usize) -> Vec<&mut [T]> {
    (0..n)
        .map(|_| {
            let (a, b) = std::mem::take(&mut s).split_at_mut(size);
            s = b;
            a
        })
        .collect()
}

// ---- backward ------------------------------------------------------------------------------

/// Backward pass. `out` and `dout` are `(batch..., L, Ev)` views (any strides), `lse` the forward's
/// C-contiguous `(batch..., L)`; dq `(batch..., L, E)`, dk `(batch..., S, E)` and dv
/// `(batch..., S, Ev)` are C-contiguous in the broadcast batch shape and are overwritten.
#[allow(clippy::too_many_arguments)]
pub fn sdpa_backward<T: AttnFloat>(
    q: &StridedView<T>,
    k: &StridedView<T>,
    v: &StridedView<T>,
    mask: Option<&StridedView<T>>,
    causal: bool,
    scale: T,
    out: &StridedView<T>,
    lse: &[T],
    dout: &StridedView<T>,
    dq: &mut [T],
    dk: &mut [T],
    dv: &mut [T],
) -> Result<()> {
    sdpa_backward_path(
        q,
        k,
        v,
        mask,
        causal,
        scale,
        out,
        lse,
        dout,
        dq,
        dk,
        dv,
        Path::Auto,
    )
}

/// [`sdpa_backward`] on a chosen [`Path`] (the forward's lse is the same on both).
#[allow(clippy::too_many_arguments)]
pub fn sdpa_backward_path<T: AttnFloat>(
    q: &StridedView<T>,
    k: &StridedView<T>,
    v: &StridedView<T>,
    mask: Option<&StridedView<T>>,
    causal: bool,
    scale: T,
    out: &StridedView<T>,
    lse: &[T],
    dout: &StridedView<T>,
    dq: &mut [T],
    dk: &mut [T],
    dv: &mut [T],
    path: Path,
) -> Result<()> {
    let g = geometry(q.shape(), k.shape(), v.shape(), mask.map(|m| m.shape()))?;
    if causal && mask.is_some() {
        return Err(Error::Shape(
            "scaled_dot_product_attention: attn_mask and is_causal cannot both be set".into(),
        ));
    }
    let nb = g.batches();
    let (l_len, s_len, e, ev) = (g.l, g.s, g.e, g.ev);
    let out_shape = g.out_shape();
    if out.shape() != out_shape.as_slice() || dout.shape() != out_shape.as_slice() {
        return Err(Error::Shape(format!(
            "scaled_dot_product_attention backward: out {:?} and grad {:?} must both be {out_shape:?}",
            out.shape(),
            dout.shape()
        )));
    }
    if lse.len() != nb * l_len
        || dq.len() != nb * l_len * e
        || dk.len() != nb * s_len * e
        || dv.len() != nb * s_len * ev
    {
        return Err(Error::Shape(format!(
            "scaled_dot_product_attention backward: buffers of {}, {}, {}, {} elements do not fit batch {:?}, L {l_len}, S {s_len}, E {e}, Ev {ev}",
            lse.len(),
            dq.len(),
            dk.len(),
            dv.len(),
            g.batch
        )));
    }
    if nb == 0 || l_len == 0 || s_len == 0 {
        dq.fill(T::ZERO);
        dk.fill(T::ZERO);
        dv.fill(T::ZERO);
        return Ok(());
    }
    let inp = inputs(&g, q, k, v, mask);
    let o = operand(out, &g.batch);
    let d_o = operand(dout, &g.batch);
    if path.short(&g, true) {
        let c = short::Ctx {
            inp: &inp,
            l: l_len,
            s: s_len,
            e,
            ev,
            causal,
            scale,
        };
        let gr = short::Grads {
            o: &o,
            d_o: &d_o,
            lse,
        };
        short::backward(&c, &gr, nb, dq, dk, dv);
        return Ok(());
    }
    let (_, _, bwd_br, bwd_bc) = blocks();
    let threads = par::threads();
    let work = nb * l_len * s_len * (e + ev);
    let serial = work < MACS_THRESHOLD || threads == 1;

    // Tasks own (batch, range of key blocks): their rows of dk and dv, and a dq target that is the
    // batch's dq when one task covers the batch, else a private buffer summed afterwards.
    let nkb = s_len.div_ceil(bwd_bc);
    let chunks = if serial {
        1
    } else {
        (2 * threads).div_ceil(nb).clamp(1, nkb)
    };
    let mut dq_scratch = vec![
        T::ZERO;
        if chunks > 1 {
            nb * chunks * l_len * e
        } else {
            0
        }
    ];
    struct Task<'a, T> {
        b: usize,
        kb0: usize,
        kb1: usize,
        dq: &'a mut [T],
        dk: &'a mut [T],
        dv: &'a mut [T],
    }
    let mut tasks: Vec<Task<T>> = Vec::new();
    let mut scratch_parts = pieces(
        &mut dq_scratch,
        l_len * e,
        if chunks > 1 { nb * chunks } else { 0 },
    )
    .into_iter();
    for (b, ((dqb, dkb), dvb)) in pieces(dq, l_len * e, nb)
        .into_iter()
        .zip(pieces(dk, s_len * e, nb))
        .zip(pieces(dv, s_len * ev, nb))
        .enumerate()
    {
        if chunks == 1 {
            tasks.push(Task {
                b,
                kb0: 0,
                kb1: nkb,
                dq: dqb,
                dk: dkb,
                dv: dvb,
            });
            continue;
        }
        let (mut dkr, mut dvr) = (dkb, dvb);
        for c in 0..chunks {
            let (kb0, kb1) = (c * nkb / chunks, (c + 1) * nkb / chunks);
            let rows = (kb1 * bwd_bc).min(s_len) - kb0 * bwd_bc;
            let (dk_c, dk_rest) = std::mem::take(&mut dkr).split_at_mut(rows * e);
            let (dv_c, dv_rest) = std::mem::take(&mut dvr).split_at_mut(rows * ev);
            dkr = dk_rest;
            dvr = dv_rest;
            let dq_c = scratch_parts.next().expect("one scratch part per chunk");
            tasks.push(Task {
                b,
                kb0,
                kb1,
                dq: dq_c,
                dk: dk_c,
                dv: dv_c,
            });
        }
    }

    let run = |scratch: &mut (Vec<T>, Vec<T>, Vec<T>), t: Task<T>| {
        let (ptile, dptile, dvec) = scratch;
        let b = t.b;
        // Zeroed here, inside the parallel tasks: first touch of fresh output pages costs page
        // faults, which then run on every thread instead of serially before the tasks.
        t.dq.fill(T::ZERO);
        t.dk.fill(T::ZERO);
        t.dv.fill(T::ZERO);
        // D_i = rowsum(dO ∘ O) for every query row of this batch.
        for (i, d) in dvec[..l_len].iter_mut().enumerate() {
            *d = if o.cs == 1 && d_o.cs == 1 && ev > 0 {
                // SAFETY: row i of the (L, Ev) views of out and dout, unit column stride.
                let (orow, grow) = unsafe {
                    (
                        std::slice::from_raw_parts(o.at::<T>(b, i, 0), ev),
                        std::slice::from_raw_parts(d_o.at::<T>(b, i, 0), ev),
                    )
                };
                dot(orow, grow)
            } else {
                let mut s = T::ZERO;
                for c in 0..ev {
                    // SAFETY: (i, c) is inside the (L, Ev) views of out and dout.
                    unsafe { s += *o.at::<T>(b, i, c) * *d_o.at::<T>(b, i, c) };
                }
                s
            };
        }
        let lse_b = &lse[b * l_len..(b + 1) * l_len];
        let row0 = t.kb0 * bwd_bc;
        for kb in t.kb0..t.kb1 {
            let c0 = kb * bwd_bc;
            let bc_full = bwd_bc.min(s_len - c0);
            let dk_blk = &mut t.dk[(c0 - row0) * e..(c0 - row0 + bc_full) * e];
            let dv_blk = &mut t.dv[(c0 - row0) * ev..(c0 - row0 + bc_full) * ev];
            let first_row = if causal { c0 / bwd_br * bwd_br } else { 0 };
            let mut r0 = first_row;
            while r0 < l_len {
                let br = bwd_br.min(l_len - r0);
                // Causal: keys past this block's last row are invisible to all of its rows.
                if causal && r0 + br <= c0 {
                    r0 += br;
                    continue;
                }
                let bc = if causal {
                    bc_full.min(r0 + br - c0)
                } else {
                    bc_full
                };
                let p = &mut ptile[..br * bc];
                let dp = &mut dptile[..br * bc];
                unsafe {
                    faer::linalg::matmul::matmul(
                        tile_mut(p, br, bc),
                        Accum::Replace,
                        inp.q.mat::<T>(b, r0, br, e),
                        inp.k.mat_t::<T>(b, c0, bc, e),
                        T::ONE,
                        Par::Seq,
                    );
                }
                let (mrow, mrs) = mask_row(&inp, b, r0, c0);
                bwd_p_rows_d(
                    p,
                    br,
                    bc,
                    r0,
                    c0,
                    causal,
                    scale,
                    mrow,
                    mrs,
                    &lse_b[r0..r0 + br],
                );
                unsafe {
                    // dV_j += Pᵀ dO_i
                    faer::linalg::matmul::matmul(
                        tile_mut(&mut dv_blk[..bc * ev], bc, ev),
                        Accum::Add,
                        tile_t(p, br, bc),
                        d_o.mat::<T>(b, r0, br, ev),
                        T::ONE,
                        Par::Seq,
                    );
                    // dP = dO_i V_jᵀ
                    faer::linalg::matmul::matmul(
                        tile_mut(dp, br, bc),
                        Accum::Replace,
                        d_o.mat::<T>(b, r0, br, ev),
                        inp.v.mat_t::<T>(b, c0, bc, ev),
                        T::ONE,
                        Par::Seq,
                    );
                }
                bwd_ds_rows_d(p, dp, br, bc, &dvec[r0..r0 + br]);
                unsafe {
                    // dQ_i += scale dS K_j
                    faer::linalg::matmul::matmul(
                        tile_mut(&mut t.dq[r0 * e..(r0 + br) * e], br, e),
                        Accum::Add,
                        tile_ref(p, br, bc),
                        inp.k.mat::<T>(b, c0, bc, e),
                        scale,
                        Par::Seq,
                    );
                    // dK_j += scale dSᵀ Q_i
                    faer::linalg::matmul::matmul(
                        tile_mut(&mut dk_blk[..bc * e], bc, e),
                        Accum::Add,
                        tile_t(p, br, bc),
                        inp.q.mat::<T>(b, r0, br, e),
                        scale,
                        Par::Seq,
                    );
                }
                r0 += br;
            }
        }
    };
    let init = || {
        (
            vec![T::ZERO; bwd_br * bwd_bc],
            vec![T::ZERO; bwd_br * bwd_bc],
            vec![T::ZERO; l_len],
        )
    };
    if serial {
        let mut s = init();
        tasks.into_iter().for_each(|t| run(&mut s, t));
    } else {
        tasks.into_par_iter().for_each_init(init, run);
    }
    if chunks > 1 && e > 0 {
        dq.par_chunks_mut(l_len * e)
            .zip(dq_scratch.par_chunks(chunks * l_len * e))
            .for_each(|(dqb, parts)| {
                let mut parts = parts.chunks(l_len * e);
                dqb.copy_from_slice(parts.next().expect("chunks > 1"));
                for part in parts {
                    dqb.iter_mut().zip(part).for_each(|(a, &p)| *a += p);
                }
            });
    }
    Ok(())
}
