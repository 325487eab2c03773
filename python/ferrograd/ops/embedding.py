"""Embedding lookup (Rust gather) and its scatter-add gradient."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._util import ascontiguous, kernels


class Embedding(Function):
    @staticmethod
    def forward(ctx, weight, ids, padding_idx, scale_grad_by_freq):
        ids = ascontiguous(ids, dtype=np.int64)
        ctx.save_for_backward(ids)
        ctx.num, ctx.padding_idx, ctx.scale = weight.shape[0], padding_idx, scale_grad_by_freq
        return kernels(weight).embedding_forward(ascontiguous(weight), ids)

    @staticmethod
    def backward(ctx, g):
        (ids,) = ctx.saved
        g = ascontiguous(g)
        if ctx.scale:
            counts = np.bincount(ids.reshape(-1), minlength=ctx.num)
            g = ascontiguous(g / counts[ids][..., None].astype(g.dtype))
        return kernels(g).embedding_backward(g, ids, ctx.num, ctx.padding_idx), None
