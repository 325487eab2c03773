"""Embedding lookup (Rust gather) and its scatter-add gradient."""

from __future__ import annotations

import numpy as np

from .. import _native
from ..autograd import Function


class Embedding(Function):
    @staticmethod
    def forward(ctx, weight, ids, padding_idx, scale_grad_by_freq):
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        ctx.save_for_backward(ids)
        ctx.num, ctx.padding_idx, ctx.scale = weight.shape[0], padding_idx, scale_grad_by_freq
        return _native.embedding_forward(np.ascontiguousarray(weight), ids)

    @staticmethod
    def backward(ctx, g):
        (ids,) = ctx.saved
        g = np.ascontiguousarray(g)
        if ctx.scale:
            counts = np.bincount(ids.reshape(-1), minlength=ctx.num)
            g = np.ascontiguousarray(g / counts[ids][..., None].astype(g.dtype))
        return _native.embedding_backward(g, ids, ctx.num, ctx.padding_idx), None
