"""Scaled dot-product attention: the fused Rust kernel as an autograd Function, and the composite
fallback built from Tensor ops (the gradient oracle of the fused backward, and the dropout path)."""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ._util import asarray, ascontiguous, kernels, unbroadcast


def _within(a, limit=math.inf) -> bool:
    """Every entry finite and |entry| <= limit (a max/min pass, no copy; NaN fails)."""
    if a.size == 0:
        return True
    lo, hi = float(a.min()), float(a.max())
    return math.isfinite(lo) and math.isfinite(hi) and -limit <= lo and hi <= limit


def _causal_as_mask(q, k, v, scale) -> bool:
    """Whether the cpu kernel must run is_causal as an explicit −inf mask. torch's math path adds
    −inf to the scores a row may not see, so a NaN or +inf score there (NaN + −inf), or 0 · a
    non-finite value, still makes the output NaN; the kernel's causal mode skips those keys. Only
    inputs with a non-finite value, or q/k entries big enough for a score to overflow, need it
    (a max/min pass each, no copy); the wgpu kernel checks the same itself."""
    if type(q) is not np.ndarray:
        return False
    limit = math.sqrt(float(np.finfo(q.dtype).max) / 4 / max(q.shape[-1], 1)) / math.sqrt(max(abs(scale), 1e-300))
    return not (_within(q, limit) and _within(k, limit) and _within(v))


def _dead_rows_times_v(out, lse, v):
    """A row that sees no key (lse −inf) outputs 0 · v: NaN in the columns where v has a
    non-finite entry, as torch (and the wgpu kernel); the cpu kernel writes 0 there."""
    if type(v) is not np.ndarray:
        return out
    # Dead rows first: lse is Ev times smaller than v, and most calls have none.
    dead = np.isneginf(lse)[..., None]
    if not dead.any() or _within(v):
        return out
    bad_cols = ~np.isfinite(v).all(axis=-2, keepdims=True)  # (..., 1, Ev)
    return np.where(dead & bad_cols, np.asarray(np.nan, out.dtype), out)


class SDPAFused(Function):
    """softmax(scale · q kᵀ + mask) v with the flash-style kernel; gradients for q, k, v.

    `mask` is None or an additive float array (0 = attend, −inf = masked) broadcastable to
    (..., L, S); it is handed to the kernel as a broadcast view, never materialised per head.
    """

    @staticmethod
    def forward(ctx, q, k, v, mask, is_causal, scale):
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        full_mask = None
        if is_causal and _causal_as_mask(q, k, v, scale):
            L, S = q.shape[-2], k.shape[-2]
            mask = np.where(np.tril(np.ones((L, S), dtype=bool)), 0.0, -np.inf).astype(q.dtype)
            is_causal = False
        if mask is not None:
            full_mask = np.broadcast_to(mask, batch + (q.shape[-2], k.shape[-2]))
        out, lse = kernels(q).sdpa_forward(q, k, v, full_mask, bool(is_causal), float(scale))
        ctx.save_for_backward(q, k, v, full_mask, out, lse)
        ctx.is_causal, ctx.scale = bool(is_causal), float(scale)
        return _dead_rows_times_v(out, lse, v)

    @staticmethod
    def backward(ctx, g):
        q, k, v, mask, out, lse = ctx.saved
        dq, dk, dv = kernels(q).sdpa_backward(q, k, v, mask, ctx.is_causal, ctx.scale, out, lse, g)
        return unbroadcast(dq, q.shape), unbroadcast(dk, k.shape), unbroadcast(dv, v.shape), None, None, None


class SDPAPacked(Function):
    """Self-attention from one packed in-projection, as torch's MultiheadAttention runs it:
    qkv (B, L, 3E) laid out (B, L, [q|k|v], heads, head_dim) → out (B, L, E), heads concatenated.

    The kernel reads the heads in place from qkv and writes out and the gradient dqkv in the
    packed rows the projections read, so the in-projection stays one GEMM forward and one
    backward (not three, plus the sum of their input gradients) and no heads are transposed.
    `mask` is None or an additive float array broadcastable to (B, heads, L, L)."""

    @staticmethod
    def forward(ctx, qkv, heads, mask, scale):
        b, l, e3 = qkv.shape
        qkv = ascontiguous(qkv)
        full_mask = None if mask is None else np.broadcast_to(mask, (b, heads, l, l))
        out, lse = kernels(qkv).sdpa_packed_forward(qkv, heads, full_mask, float(scale))
        ctx.save_for_backward(qkv, full_mask, out, lse)
        ctx.heads, ctx.scale = heads, float(scale)
        if type(qkv) is np.ndarray:  # a row that sees no key gives 0 · v (NaN where v is not finite)
            d = e3 // 3 // heads
            per_head = out.reshape(b, l, heads, d).transpose(0, 2, 1, 3)
            v = qkv.reshape(b, l, 3, heads, d)[:, :, 2].transpose(0, 2, 1, 3)
            fixed = _dead_rows_times_v(per_head, lse, v)
            if fixed is not per_head:
                out = np.ascontiguousarray(fixed.transpose(0, 2, 1, 3)).reshape(b, l, e3 // 3)
        return out

    @staticmethod
    def backward(ctx, g):
        qkv, mask, out, lse = ctx.saved
        dqkv = kernels(qkv).sdpa_packed_backward(qkv, ctx.heads, mask, ctx.scale, out, lse, g)
        return dqkv, None, None, None


def sdpa_composite(query, key, value, mask=None, dropout_p=0.0, is_causal=False, scale=1.0):
    """The same attention from Tensor ops (matmul, exp, sum, where): differentiable in every
    Tensor input, including a float `mask` Tensor. `mask` is None, an additive float Tensor or
    numpy array. Rows with every key masked give 0, as PyTorch does."""
    from ..random import generator
    from ..tensor import Tensor

    L, S = query.shape[-2], key.shape[-2]
    scores = (query @ key.transpose(-2, -1)) * scale  # (..., L, S)
    if is_causal:
        causal = np.where(np.tril(np.ones((L, S), dtype=bool)), 0.0, -np.inf).astype(scores.dtype)
        scores = scores + Tensor._wrap(asarray(causal, like=scores._data))
    if mask is not None:
        scores = scores + (mask if isinstance(mask, Tensor) else Tensor._wrap(asarray(mask, scores.dtype, like=scores._data)))
    # Constant (detached) shift: exact in value and gradient; 0 on fully masked rows.
    shift = scores._data.max(axis=-1, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0).astype(scores.dtype)
    e = (scores - Tensor._wrap(shift)).exp()
    denom = e.sum(-1, keepdim=True)
    denom_safe = denom + Tensor._wrap((denom._data == 0).astype(scores.dtype))
    p = e / denom_safe
    if dropout_p > 0.0:
        if dropout_p >= 1.0:
            p = p * 0.0
        else:
            keep = generator().random(p.shape) >= dropout_p
            p = p * Tensor._wrap(asarray((keep / (1.0 - dropout_p)).astype(scores.dtype), like=scores._data))
    return p @ value
