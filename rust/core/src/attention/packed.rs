//! Self-attention on one packed in-projection, the layout torch's MultiheadAttention uses:
//! `qkv` is the C-contiguous `(B, L, 3, H, D)` output of a single `x @ in_proj_weightᵀ` GEMM, the
//! output is `(B, L, H, D)` (the rows the out-projection reads) and the gradient comes back as
//! `(B, L, 3, H, D)` (the rows the in-projection's backward reads).
//!
//! The heads are strided views of `qkv`, so nothing is split or copied on the way in. A few
//! batches at a time go through the ordinary kernels into small head-major buffers, which are
//! scattered into the packed rows while still in cache: interleaving whole arrays afterwards
//! (numpy's stack of dq, dk, dv) took 200 µs of a 0.8 ms backward at B·L = 1280, E = 64.

use rayon::prelude::*;

use super::short::{self, Sink};
use super::{geometry, inputs, operand, sdpa_backward_path, sdpa_forward_path, AttnFloat, Path};
use crate::error::{Error, Result};
use crate::par::{self, MACS_THRESHOLD};
use crate::strided::StridedView;

/// Sizes of a packed call: batch, sequence length, heads and head dim (E = heads · head_dim).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packed {
    pub batch: usize,
    pub len: usize,
    pub heads: usize,
    pub head_dim: usize,
}

/// Head-major elements per chunk of batches: the chunk's q, k, v, out and gradients stay in L1/L2.
const CHUNK_ELEMS: usize = 8192;

impl Packed {
    fn embed(&self) -> usize {
        self.heads * self.head_dim
    }
    /// Batches per chunk (at least one).
    fn chunk(&self) -> usize {
        (CHUNK_ELEMS / (self.heads * self.len * self.head_dim).max(1)).max(1)
    }
    fn work(&self) -> usize {
        self.batch * self.heads * self.len * self.len * 2 * self.head_dim
    }
    /// The sizes of qkv, the mask, and the forward's out (B, L, E) and lse (B, H, L).
    fn check(
        &self,
        op: &str,
        qkv: usize,
        mask: Option<&StridedView<impl Sized>>,
        out: usize,
        lse: usize,
    ) -> Result<()> {
        let Packed {
            batch,
            len,
            heads,
            head_dim,
        } = *self;
        if heads == 0 {
            return Err(Error::Shape(format!("{op}: heads must be at least 1")));
        }
        let need = batch
            .checked_mul(len)
            .and_then(|n| n.checked_mul(3 * heads))
            .and_then(|n| n.checked_mul(head_dim));
        if need != Some(qkv) {
            return Err(Error::Shape(format!(
                "{op}: qkv holds {qkv} elements, (batch {batch}, len {len}, 3, heads {heads}, head_dim {head_dim}) needs {need:?}"
            )));
        }
        if let Some(m) = mask {
            if m.shape() != [batch, heads, len, len] {
                return Err(Error::Shape(format!(
                    "{op}: attn_mask must be a view of shape {:?}, got {:?}",
                    [batch, heads, len, len],
                    m.shape()
                )));
            }
        }
        crate::error::check_len(op, "out", out, batch * len * heads * head_dim)?;
        crate::error::check_len(op, "lse", lse, batch * heads * len)
    }
}

/// Part `i` (0 = q, 1 = k, 2 = v) of batches `b0..b1` as a (b1 - b0, H, L, D) view of qkv.
fn part<'a, T>(
    qkv: &StridedView<'a, T>,
    p: &Packed,
    i: usize,
    b0: usize,
    b1: usize,
) -> Result<StridedView<'a, T>> {
    let (l, h, d, e) = (p.len, p.heads, p.head_dim, p.embed());
    let row = 3 * e;
    qkv.shifted(
        (b0 * l * row + i * e) as isize,
        &[b1 - b0, h, l, d],
        &[(l * row) as isize, d as isize, row as isize, 1],
    )
}

/// qkv as a (B, L, 3E) view, its q, k and v parts as (B, H, L, D) views, and their geometry.
#[allow(clippy::type_complexity)]
fn heads<'a, T>(
    qkv: &'a [T],
    p: &Packed,
    mask: Option<&StridedView<'a, T>>,
) -> Result<(StridedView<'a, T>, [StridedView<'a, T>; 3], super::Geometry)> {
    let all = StridedView::contiguous(qkv, &[p.batch, p.len, 3 * p.embed()])?;
    let parts = [
        part(&all, p, 0, 0, p.batch)?,
        part(&all, p, 1, 0, p.batch)?,
        part(&all, p, 2, 0, p.batch)?,
    ];
    let [q, k, v] = &parts;
    let g = geometry(q.shape(), k.shape(), v.shape(), mask.map(|m| m.shape()))?;
    Ok((all, parts, g))
}

/// The short path's context for self-attention (S = L, Ev = E = head_dim, no causal mask).
fn short_ctx<'a, T>(inp: &'a super::Inputs, p: &Packed, scale: T) -> short::Ctx<'a, T> {
    let (l, d) = (p.len, p.head_dim);
    short::Ctx {
        inp,
        l,
        s: l,
        e: d,
        ev: d,
        causal: false,
        scale,
    }
}

/// Batches `b0..b1` of a (B, H, L, L) mask.
fn mask_part<'a, T>(
    mask: Option<&StridedView<'a, T>>,
    b0: usize,
    b1: usize,
) -> Result<Option<StridedView<'a, T>>> {
    mask.map(|m| {
        let mut shape = m.shape().to_vec();
        shape[0] = b1 - b0;
        m.shifted(b0 as isize * m.strides()[0], &shape, m.strides())
    })
    .transpose()
}

/// Copies head-major rows `src` (n, H, L, D) into packed rows `dst` (n, L, `stride`), head h's
/// D values of row l at column `col + h·D`.
fn scatter<T: Copy>(src: &[T], dst: &mut [T], p: &Packed, stride: usize, col: usize) {
    let (l, h, d) = (p.len, p.heads, p.head_dim);
    if d == 0 || l == 0 {
        return;
    }
    for (bb, sb) in src.chunks_exact(h * l * d).enumerate() {
        for (hh, sh) in sb.chunks_exact(l * d).enumerate() {
            for (ll, sr) in sh.chunks_exact(d).enumerate() {
                let o = (bb * l + ll) * stride + col + hh * d;
                copy_short(sr, &mut dst[o..o + d]);
            }
        }
    }
}

/// `dst.copy_from_slice(src)` for a head's few values: in blocks of 8, which compile to vector
/// moves, where copy_from_slice calls memmove (a third of the scatter's time at D = 16).
#[inline(always)]
fn copy_short<T: Copy>(src: &[T], dst: &mut [T]) {
    let mut d8 = dst.chunks_exact_mut(8);
    let mut s8 = src.chunks_exact(8);
    for (o, i) in (&mut d8).zip(&mut s8) {
        let i: &[T; 8] = i.try_into().expect("blocks of 8");
        let o: &mut [T; 8] = o.try_into().expect("blocks of 8");
        *o = *i;
    }
    for (o, &i) in d8.into_remainder().iter_mut().zip(s8.remainder()) {
        *o = i;
    }
}

/// Runs `body(b0, nb, out rows, lse rows, scratch)` over chunks of `nb` batches from batch `b0`,
/// in parallel when the call is big enough; `out_per_batch` and `lse_per_batch` (0 for none) are
/// the elements each batch owns in `out` and `lse`. `scratch` is one buffer per thread, reused
/// from chunk to chunk (the kernels overwrite whatever it holds).
fn over_chunks<T: Send>(
    p: &Packed,
    out: &mut [T],
    out_per_batch: usize,
    lse: &mut [T],
    lse_per_batch: usize,
    body: impl Fn(usize, usize, &mut [T], &mut [T], &mut Vec<T>) -> Result<()> + Sync,
) -> Result<()> {
    let g = p.chunk();
    // `split_at_mut` pieces, not chunks_mut: a per-batch length may be 0.
    let mut pieces = Vec::with_capacity(p.batch.div_ceil(g));
    let (mut o, mut s) = (out, lse);
    for b0 in (0..p.batch).step_by(g) {
        let nb = g.min(p.batch - b0);
        let (oc, or) = std::mem::take(&mut o).split_at_mut(nb * out_per_batch);
        let (sc, sr) = std::mem::take(&mut s).split_at_mut(nb * lse_per_batch);
        pieces.push((b0, nb, oc, sc));
        (o, s) = (or, sr);
    }
    if p.work() < MACS_THRESHOLD || par::threads() == 1 || pieces.len() < 2 {
        let mut scratch = Vec::new();
        pieces
            .into_iter()
            .try_for_each(|(b0, nb, oc, sc)| body(b0, nb, oc, sc, &mut scratch))
    } else {
        pieces
            .into_par_iter()
            .try_for_each_init(Vec::new, |scratch, (b0, nb, oc, sc)| {
                body(b0, nb, oc, sc, scratch)
            })
    }
}

/// Forward: `out` (B, L, H, D) and `lse` (B, H, L) from `qkv` (B, L, 3, H, D), C-contiguous; `mask`
/// None or an additive (B, H, L, L) view (zero strides fine).
pub fn sdpa_packed_forward<T: AttnFloat>(
    qkv: &[T],
    p: Packed,
    mask: Option<&StridedView<T>>,
    scale: T,
    out: &mut [T],
    lse: &mut [T],
) -> Result<()> {
    let op = "scaled_dot_product_attention (packed)";
    p.check(op, qkv.len(), mask, out.len(), lse.len())?;
    let (l, h, d, e) = (p.len, p.heads, p.head_dim, p.embed());
    let (all, [q, k, v], g) = heads(qkv, &p, mask)?;
    if l * d > 0 && Path::Auto.short(&g, false) {
        // The short path writes each head's rows straight into out: no head-major scratch.
        let inp = inputs(&g, &q, &k, &v, mask);
        let c = short_ctx(&inp, &p, scale);
        // SAFETY: head (n, hh)'s rows are columns hh·D.. of rows n·L.. of out: disjoint heads.
        let sink = unsafe { Sink::new(out, p.batch * h, h, l * e, d, 0, e, d, l) };
        short::forward_into(&c, p.batch * h, sink, lse);
        return Ok(());
    }
    over_chunks(&p, out, l * e, lse, h * l, |b0, nb, oc, sc, scratch| {
        let b1 = b0 + nb;
        let (q, k, v) = (
            part(&all, &p, 0, b0, b1)?,
            part(&all, &p, 1, b0, b1)?,
            part(&all, &p, 2, b0, b1)?,
        );
        let m = mask_part(mask, b0, b1)?;
        scratch.resize(nb * h * l * d, T::ZERO);
        sdpa_forward_path(
            &q,
            &k,
            &v,
            m.as_ref(),
            false,
            scale,
            scratch,
            sc,
            Path::Auto,
        )?;
        scatter(scratch, oc, &p, e, 0);
        Ok(())
    })
}

/// Backward: `dqkv` (B, L, 3, H, D) from the forward's `out` (B, L, H, D) and `lse` (B, H, L) and
/// the output gradient `dout`, a (B, L, E) view with any strides.
#[allow(clippy::too_many_arguments)]
pub fn sdpa_packed_backward<T: AttnFloat>(
    qkv: &[T],
    p: Packed,
    mask: Option<&StridedView<T>>,
    scale: T,
    out: &[T],
    lse: &[T],
    dout: &StridedView<T>,
    dqkv: &mut [T],
) -> Result<()> {
    let op = "scaled_dot_product_attention backward (packed)";
    p.check(op, qkv.len(), mask, out.len(), lse.len())?;
    let (l, h, d, e) = (p.len, p.heads, p.head_dim, p.embed());
    crate::error::check_len(op, "dqkv", dqkv.len(), qkv.len())?;
    if dout.shape() != [p.batch, l, e] {
        return Err(Error::Shape(format!(
            "{op}: grad_out must be {:?}, got {:?}",
            [p.batch, l, e],
            dout.shape()
        )));
    }
    let (all, [q, k, v], g) = heads(qkv, &p, mask)?;
    let outs = StridedView::contiguous(out, &[p.batch, l, e])?;
    let gs = dout.strides().to_vec();
    if l * d > 0 && Path::Auto.short(&g, true) {
        // As the forward: each head's dq, dk and dv rows written in place in dqkv.
        let inp = inputs(&g, &q, &k, &v, mask);
        // (B, L, E) rows seen as (B, H, L, D) heads.
        let shape = [p.batch, h, l, d];
        let o = outs.shifted(0, &shape, &[(l * e) as isize, d as isize, e as isize, 1])?;
        let go = dout.shifted(0, &shape, &[gs[0], d as isize * gs[2], gs[1], gs[2]])?;
        let (oo, goo) = (operand(&o, &g.batch), operand(&go, &g.batch));
        let c = short_ctx(&inp, &p, scale);
        let gr = short::Grads {
            o: &oo,
            d_o: &goo,
            lse,
        };
        let nb = p.batch * h;
        // SAFETY: part i of head (n, hh) is columns i·E + hh·D.. of rows n·L.. of dqkv: the three
        // sinks' heads are pairwise disjoint.
        let sinks = unsafe {
            [0, 1, 2].map(|i| Sink::new(&mut *dqkv, nb, h, l * 3 * e, d, i * e, 3 * e, d, l))
        };
        short::backward_into(&c, &gr, nb, sinks);
        return Ok(());
    }
    over_chunks(&p, dqkv, l * 3 * e, &mut [], 0, |b0, nb, dc, _, scratch| {
        let b1 = b0 + nb;
        let sc = &lse[b0 * h * l..b1 * h * l];
        let (q, k, v) = (
            part(&all, &p, 0, b0, b1)?,
            part(&all, &p, 1, b0, b1)?,
            part(&all, &p, 2, b0, b1)?,
        );
        let m = mask_part(mask, b0, b1)?;
        let o = outs.shifted(
            (b0 * l * e) as isize,
            &[nb, h, l, d],
            &[(l * e) as isize, d as isize, e as isize, 1],
        )?;
        let g = dout.shifted(
            b0 as isize * gs[0],
            &[nb, h, l, d],
            &[gs[0], d as isize * gs[2], gs[1], gs[2]],
        )?;
        let n = nb * h * l * d;
        scratch.resize(3 * n, T::ZERO);
        let (dq, rest) = scratch.split_at_mut(n);
        let (dk, dv) = rest.split_at_mut(n);
        sdpa_backward_path(
            &q,
            &k,
            &v,
            m.as_ref(),
            false,
            scale,
            &o,
            sc,
            &g,
            dq,
            dk,
            dv,
            Path::Auto,
        )?;
        for (i, gi) in [&*dq, &*dk, &*dv].into_iter().enumerate() {
            scatter(gi, dc, &p, 3 * e, i * e);
        }
        Ok(())
    })
}
