"""numpy reference of scaled dot-product attention, forward and backward (float64, obvious)."""

from __future__ import annotations

import numpy as np


def _scores(q, k, attn_mask, is_causal, scale):
    q, k = np.asarray(q, np.float64), np.asarray(k, np.float64)
    E, L, S = q.shape[-1], q.shape[-2], k.shape[-2]
    scale = 1.0 / np.sqrt(E) if scale is None else scale
    s = np.matmul(q, np.swapaxes(k, -1, -2)) * scale
    if is_causal:
        s = s + np.where(np.tril(np.ones((L, S), bool)), 0.0, -np.inf)
    if attn_mask is not None:
        m = np.asarray(attn_mask)
        s = s + (np.where(m, 0.0, -np.inf) if m.dtype == bool else m.astype(np.float64))
    return s, scale


def _softmax(s):
    """Softmax over the last axis; rows that are entirely −inf give 0 (PyTorch 2.15)."""
    mx = s.max(axis=-1, keepdims=True)
    mx = np.where(np.isfinite(mx), mx, 0.0)
    e = np.exp(s - mx)
    d = e.sum(axis=-1, keepdims=True)
    return e / np.where(d == 0, 1.0, d)


def sdpa(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """softmax(q kᵀ · scale + mask) v; bool masks: True = attend."""
    s, _ = _scores(q, k, attn_mask, is_causal, scale)
    return np.matmul(_softmax(s), np.asarray(v, np.float64))


def sdpa_backward(q, k, v, gout, attn_mask=None, is_causal=False, scale=None):
    """(dq, dk, dv) for the upstream gradient `gout`, in the broadcast batch shape."""
    s, scale = _scores(q, k, attn_mask, is_causal, scale)
    p = _softmax(s)
    q, k, v, g = (np.asarray(x, np.float64) for x in (q, k, v, gout))
    dv = np.matmul(np.swapaxes(p, -1, -2), g)
    dp = np.matmul(g, np.swapaxes(v, -1, -2))
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    dq = np.matmul(ds, k) * scale
    dk = np.matmul(np.swapaxes(ds, -1, -2), q) * scale
    return dq, dk, dv
