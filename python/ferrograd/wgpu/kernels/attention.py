"""Scaled dot-product attention on GpuArrays with `_native`'s contract, flash style:
`sdpa_forward(q, k, v, mask, is_causal, scale) -> (out, lse)` and
`sdpa_backward(q, k, v, mask, is_causal, scale, out, lse, dout) -> (dq, dk, dv)`.

Shapes: q (batch..., L, E), k (batch..., S, E), v (batch..., S, Ev), each with its own
broadcastable batch dims and any strides; `mask` None or a view of exactly (batch..., L, S)
(zero strides broadcast it without copies): additive float32 as `_native` takes it, or, beyond
`_native`, int32/uint32 boolean (non-zero = attend, torch's bool semantics) so a boolean mask
reaches the device without a float conversion. Results are contiguous in the
broadcast batch shape. No L x S matrix is ever stored: the forward keeps an online softmax per
query block and saves lse; the backward recomputes P from lse, with one kernel for dQ (per query
block) and one for dK, dV (per key block), so every workgroup owns the rows it writes. Causal
attention (top-left aligned) skips the key blocks a query block cannot see.
"""

from __future__ import annotations

import numpy as np

from .. import runtime
from ..array import GpuArray
from . import _util as u
from ._layout import batch_blocks, joined

TILE = 16  # query rows / keys per tile (sdpa_common.wgsl)
COLS = 256  # head columns one launch accumulates per thread row (16 threads x 16 registers)


def _geometry(op: str, q, k, v, mask):
    """(batch, L, S, E, Ev) after the checks `_native`'s geometry does."""
    mshape = f", attn_mask {mask.shape}" if mask is not None else ""

    def err(why):
        return ValueError(f"{op}: {why} (query {q.shape}, key {k.shape}, value {v.shape}{mshape})")

    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise err("query, key and value need at least 2 dims")
    (l, e), (s, ek), (sv, ev) = q.shape[-2:], k.shape[-2:], v.shape[-2:]
    if e != ek:
        raise err("query and key differ in their last dim")
    if s != sv:
        raise err("key and value differ in sequence length")
    try:
        batch = tuple(np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2]))
    except ValueError:
        raise err("batch dims do not broadcast") from None
    if mask is not None and mask.shape != (*batch, l, s):
        raise err(f"attn_mask must be a view of shape {(*batch, l, s)}")
    return batch, l, s, e, ev


def _check_mask(op: str, mask):
    """None, an additive float32 mask, or an int32/uint32 boolean one (checked like float32)."""
    if isinstance(mask, GpuArray) and mask.dtype in (np.int32, np.uint32):
        if any(st < 0 for st in mask.strides):
            raise ValueError(f"{op}: attn_mask has negative strides {mask.strides}")
        return mask
    return u.check(op, "attn_mask", mask, optional=True)


def _check_inputs(op, q, k, v, mask, is_causal):
    q, k, v = u.check(op, "query", q), u.check(op, "key", k), u.check(op, "value", v)
    mask = _check_mask(op, mask)
    g = _geometry(op, q, k, v, mask)
    if is_causal and mask is not None:
        raise ValueError(f"{op}: attn_mask and is_causal cannot both be set (attn_mask {mask.shape})")
    return q, k, v, mask, g


def _batch_offsets(a: GpuArray | None, batch: tuple) -> np.ndarray:
    """Element offset of each flat batch index of `a` (zero stride along broadcast dims)."""
    nb = int(np.prod(batch, dtype=np.int64))
    if a is None:
        return np.zeros(nb, np.int64)
    lead = len(batch) - (a.ndim - 2)
    off = np.full(batch, a.offset, np.int64)
    for d, n in enumerate(batch):
        if d < lead or a.shape[d - lead] == 1:
            continue
        shape = [1] * len(batch)
        shape[d] = n
        off = off + (np.arange(n, dtype=np.int64) * a.strides[d - lead]).reshape(shape)
    return off.reshape(nb)


def _offsets_table(batch, q, k, v, mask, dout=None, out=None) -> GpuArray:
    """Per batch [q, k, v, mask, dout, out, 0, 0] offsets, uploaded once per call."""
    cols = [_batch_offsets(a, batch) for a in (q, k, v, mask, dout, out)]
    nb = cols[0].shape[0]
    table = np.zeros((max(nb, 1), 8), np.uint32)
    if nb:
        table[:, :6] = np.stack(cols, axis=1)
    return GpuArray.from_numpy(table)


def _strides(a: GpuArray | None) -> tuple:
    return (a.strides[-2], a.strides[-1]) if a is not None else (0, 0)


def _mask_kind(mask) -> int:
    """0: none, 1: additive float32, 2: int32/uint32 boolean (non-zero = attend)."""
    if mask is None:
        return 0
    return 1 if mask.dtype == np.float32 else 2


def _params(l, s, e, ev, is_causal, mask, scale, batch0, q, k, v, dout=None, delta_off=0, dv_off=0) -> bytes:
    return runtime.pack(
        l, s, e, ev, int(bool(is_causal)), _mask_kind(mask), float(scale), batch0,
        *_strides(q), *_strides(k), *_strides(v), *_strides(mask), *_strides(dout), delta_off, dv_off,
        fmt="IIIIIIfI" + "I" * 12,
    )


def _full(a: GpuArray | None, batch: tuple) -> GpuArray | None:
    """`a` as a view of the whole batch shape (zero strides along its broadcast batch dims)."""
    if a is None or a.shape[:-2] == batch:
        return a
    lead = len(batch) - (a.ndim - 2)
    strides = [0] * lead + [0 if n == 1 else st for n, st in zip(a.shape[:-2], a.strides[:-2])]
    return GpuArray((*batch, *a.shape[-2:]), a.dtype, a.storage, (*strides, *a.strides[-2:]), a.offset)


def _batch_blocks(op, batch, run, per_item, **arrays):
    """`batch_blocks` over the leading batch dim, every operand seen in the whole batch shape
    (None when nothing is larger than one binding, or there is no batch dim to split)."""
    if not batch:
        return None
    items = int(np.prod(batch[1:], dtype=np.int64))
    return batch_blocks(op, run, items * per_item, **{n: _full(a, batch) for n, a in arrays.items()})


def _batch_chunks(nb: int):
    """(first batch, count) runs within the device's grid limit (batches are grid y)."""
    limit = runtime.get().max_workgroups
    for b0 in range(0, nb, limit):
        yield b0, min(limit, nb - b0)


def sdpa_forward(q, k, v, mask, is_causal, scale):
    """`(out (batch..., L, Ev), lse (batch..., L))` of softmax(scale · q kᵀ + mask) v."""
    op = "sdpa_forward"
    q, k, v, mask, (batch, l, s, e, ev) = _check_inputs(op, q, k, v, mask, is_causal)
    blocks = _batch_blocks(op, batch, lambda q, k, v, mask: sdpa_forward(q, k, v, mask, is_causal, scale),
                           l * max(e, ev), q=q, k=k, v=v, mask=mask)
    if blocks is not None:
        return joined(blocks, (0, 0))
    nb = int(np.prod(batch, dtype=np.int64))
    out = GpuArray.empty((*batch, l, ev))
    lse = GpuArray.empty((*batch, l))
    if out.size == 0 or s == 0:
        # Nothing to attend to: output 0 and lse −inf, as the CPU kernel does.
        u.fill(out, 0.0)
        u.fill(lse, float("-inf"))
        return out, lse
    rt = runtime.get()
    table = _offsets_table(batch, q, k, v, mask)
    bufs = [q.storage, k.storage, v.storage, mask.storage if mask is not None else u.dummy(), table.storage,
            out.storage, lse.storage]
    pipe = u.pipeline("sdpa_fwd", "float_bits", "sdpa_common")
    for b0, count in _batch_chunks(nb):
        params = _params(l, s, e, ev, is_causal, mask, scale, b0, q, k, v)
        rt.launch(pipe, bufs, (-(-l // TILE), count, -(-ev // COLS)), params)
    return out, lse


def sdpa_backward(q, k, v, mask, is_causal, scale, out, lse, dout):
    """`(dq, dk, dv)` in the broadcast batch shape, from the forward's out and lse and dout."""
    op = "sdpa_backward"
    q, k, v, mask, (batch, l, s, e, ev) = _check_inputs(op, q, k, v, mask, is_causal)
    out, lse, dout = u.check(op, "out", out), u.check(op, "lse", lse), u.check(op, "dout", dout)
    want = (*batch, l, ev)
    if out.shape != want or dout.shape != want:
        raise ValueError(f"{op}: out {out.shape} and grad {dout.shape} must both be {want}")
    nb = int(np.prod(batch, dtype=np.int64))
    if lse.size != nb * l:
        raise ValueError(f"{op}: lse has shape {lse.shape}, expected {(*batch, l)}")
    u.expect_contiguous(op, "lse", lse)
    blocks = _batch_blocks(
        op, batch, lambda q, k, v, mask, out, lse, dout: sdpa_backward(q, k, v, mask, is_causal, scale, out,
                                                                      lse.reshape(lse.shape[:-1]), dout),
        max(l * max(e, ev), s * (e + ev)), q=q, k=k, v=v, mask=mask, out=out, lse=lse.reshape((*batch, l, 1)),
        dout=dout)
    if blocks is not None:
        return joined(blocks, (0, 0, 0))
    dq = GpuArray.empty((*batch, l, e))
    dkv = GpuArray.empty((nb * s * (e + ev),))  # one buffer: the dK/dV kernel binds it once
    dk = GpuArray((*batch, s, e), np.float32, dkv.storage)
    dv = GpuArray((*batch, s, ev), np.float32, dkv.storage, offset=nb * s * e)
    if nb * l * s == 0:
        u.fill(dq, 0.0)
        u.fill(dkv, 0.0)
        return dq, dk, dv
    rt = runtime.get()
    table = _offsets_table(batch, q, k, v, mask, dout, out)
    # stats = [lse | delta]: one binding for both per-row terms.
    nl = nb * l
    stats = GpuArray.empty((2 * nl,))
    rt.copy(lse.storage, lse.offset * 4, stats.storage, 0, nl * 4)
    rt.launch(u.pipeline("sdpa_delta"), [out.storage, dout.storage, table.storage, stats.storage], u.groups(nl),
              runtime.pack(l, ev, nl, nl, *_strides(out), *_strides(dout), fmt="I" * 8))
    common = [q.storage, k.storage, v.storage, mask.storage if mask is not None else u.dummy(), table.storage,
              dout.storage, stats.storage]
    dq_pipe = u.pipeline("sdpa_bwd_dq", "sdpa_common", "sdpa_bwd_common")
    dkv_pipe = u.pipeline("sdpa_bwd_dkdv", "sdpa_common", "sdpa_bwd_common")
    for b0, count in _batch_chunks(nb):
        params = _params(l, s, e, ev, is_causal, mask, scale, b0, q, k, v, dout, delta_off=nl, dv_off=nb * s * e)
        if e:
            rt.launch(dq_pipe, common + [dq.storage], (-(-l // TILE), count, -(-e // COLS)), params)
        rt.launch(dkv_pipe, common + [dkv.storage], (-(-s // TILE), count, -(-max(e, ev) // COLS)), params)
    return dq, dk, dv


def sdpa_packed_forward(qkv, heads, mask, scale):
    """`(out (B, L, E), lse (B, heads, L))` of self-attention on a packed projection qkv (B, L, 3E)
    laid out (B, L, [q|k|v], heads, head_dim), as `_native.sdpa_packed_forward`: the heads are
    strided views of qkv; out comes back with the heads concatenated on each row."""
    op = "sdpa_packed_forward"
    b, l, e, d = _packed_sizes(op, qkv, heads)
    q, k, v = _packed_heads(qkv, heads)
    out, lse = sdpa_forward(q, k, v, mask, False, scale)
    return u.contiguous(u.permute(out, 0, 2, 1, 3)).reshape(b, l, e), lse


def sdpa_packed_backward(qkv, heads, mask, scale, out, lse, dout):
    """The packed gradient dqkv (B, L, 3E) of `sdpa_packed_forward` (as `_native`'s)."""
    op = "sdpa_packed_backward"
    b, l, e, d = _packed_sizes(op, qkv, heads)
    q, k, v = _packed_heads(qkv, heads)
    u.expect_shape(op, "out", u.check(op, "out", out), (b, l, e))
    u.expect_shape(op, "grad_out", u.check(op, "grad_out", dout), (b, l, e))
    per_head = [u.permute(t.reshape(b, l, heads, d), 0, 2, 1, 3) for t in (u.contiguous(out), u.contiguous(dout))]
    grads = sdpa_backward(q, k, v, mask, False, scale, per_head[0], lse, per_head[1])
    return np.stack([u.permute(t, 0, 2, 1, 3) for t in grads], axis=2).reshape(b, l, 3 * e)


def _packed_sizes(op, qkv, heads):
    """(B, L, E, head_dim) of a packed qkv, after `_native`'s checks."""
    u.check(op, "qkv", qkv)
    if qkv.ndim != 3 or heads < 1 or qkv.shape[2] % (3 * heads):
        raise ValueError(f"{op}: qkv must be (batch, len, 3 * heads * head_dim) with heads >= 1, "
                         f"got shape {qkv.shape} and heads {heads}")
    b, l, e3 = qkv.shape
    return b, l, e3 // 3, e3 // 3 // heads


def _packed_heads(qkv, heads):
    """q, k, v as (B, heads, L, head_dim) strided views of the packed qkv."""
    b, l, e3 = qkv.shape
    e, x = e3 // 3, u.contiguous(qkv)
    d = e // heads
    return tuple(u.view(x, (b, heads, l, d), (l * e3, d, e3, 1), i * e) for i in range(3))
