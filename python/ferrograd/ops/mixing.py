"""MLP-Mixer token and channel mixing: autograd Functions over the Rust kernels.

Token mixing runs the MLP across the token axis of x (B, S, C) as per-batch GEMMs
`w1 (D, S) @ x[b] (S, C)` on strided operands (no transpose is copied); channel mixing is the
MLP on the last axis. GELU is exact (erf). Forward saves the pre-activation and activation.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._util import ascontiguous, kernels


class TokenMixing(Function):
    @staticmethod
    def forward(ctx, x, w1, b1, w2, b2):
        y, hpre, act = kernels(x).token_mixing_forward(x, w1, b1, w2, b2)
        ctx.save_for_backward(x, w1, w2, hpre, act)
        ctx.biases = (b1 is not None, b2 is not None)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w1, w2, hpre, act = ctx.saved
        dx, dw1, db1, dw2, db2 = kernels(x).token_mixing_backward(x, w1, w2, hpre, act, ascontiguous(g))
        return dx, dw1, db1 if ctx.biases[0] else None, dw2, db2 if ctx.biases[1] else None


class ChannelMixing(Function):
    @staticmethod
    def forward(ctx, x, w1, b1, w2, b2):
        x2 = x.reshape(int(np.prod(x.shape[:-1])), x.shape[-1])  # a view where the strides allow, else a copy
        y, hpre, act = kernels(x2).channel_mixing_forward(x2, w1, b1, w2, b2)
        ctx.save_for_backward(x2, w1, w2, hpre, act)
        ctx.shape, ctx.biases = x.shape, (b1 is not None, b2 is not None)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        x2, w1, w2, hpre, act = ctx.saved
        gy = ascontiguous(g).reshape(x2.shape)
        dx, dw1, db1, dw2, db2 = kernels(x2).channel_mixing_backward(x2, w1, w2, hpre, act, gy)
        return dx.reshape(ctx.shape), dw1, db1 if ctx.biases[0] else None, dw2, db2 if ctx.biases[1] else None
