"""MLP-Mixer mixing functions (ferrograd names; the later nn.MixerBlock builds on them).

Both run Linear(n -> D) -> GELU (exact) -> Linear(D -> n) with torch Linear weights (out, in):
`token_mixing` across the token axis of x (B, tokens, channels), i.e. torch's
`((x.transpose(1, 2) @ w1.T + b1).gelu() @ w2.T + b2).transpose(1, 2)`, computed as strided
per-batch GEMMs without copying a transpose; `channel_mixing` on the last axis of x (..., C).
"""

from __future__ import annotations

import numpy as np

from ...ops.mixing import ChannelMixing, TokenMixing
from ...tensor import Tensor

__all__ = ["token_mixing", "channel_mixing"]


def _check(name, x, w1, b1, w2, b2, n_in, axis):
    for what, t in (("x", x), ("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)):
        if t is None and what in ("b1", "b2"):
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {what} must be a Tensor, got {type(t).__name__}")
        if t.dtype != x.dtype:
            raise TypeError(f"{name}: {what} has dtype {t.dtype}, x has {x.dtype}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: x must be float32 or float64, got {x.dtype}")
    if w1.ndim != 2 or w1.shape[1] != n_in:
        raise ValueError(
            f"{name}: w1 has shape {tuple(w1.shape)}, expected (hidden, {n_in}) for x of shape "
            f"{tuple(x.shape)} ({axis} = {n_in})"
        )
    d = w1.shape[0]
    if tuple(w2.shape) != (n_in, d):
        raise ValueError(f"{name}: w2 has shape {tuple(w2.shape)}, expected ({n_in}, {d})")
    if b1 is not None and tuple(b1.shape) != (d,):
        raise ValueError(f"{name}: b1 has shape {tuple(b1.shape)}, expected ({d},)")
    if b2 is not None and tuple(b2.shape) != (n_in,):
        raise ValueError(f"{name}: b2 has shape {tuple(b2.shape)}, expected ({n_in},)")


def token_mixing(x, w1, b1, w2, b2):
    """MLP across tokens of x (B, tokens, channels); w1 (D, tokens), w2 (tokens, D)."""
    if not isinstance(x, Tensor) or x.ndim != 3:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"token_mixing: x must be (B, tokens, channels), got {shape}")
    _check("token_mixing", x, w1, b1, w2, b2, x.shape[1], "tokens")
    return TokenMixing.apply(x, w1, b1, w2, b2)


def channel_mixing(x, w1, b1, w2, b2):
    """MLP on the last axis of x (..., channels); w1 (D, channels), w2 (channels, D)."""
    if not isinstance(x, Tensor) or x.ndim < 1:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"channel_mixing: x must be (..., channels), got {shape}")
    _check("channel_mixing", x, w1, b1, w2, b2, x.shape[-1], "channels")
    return ChannelMixing.apply(x, w1, b1, w2, b2)
