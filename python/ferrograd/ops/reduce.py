"""Reductions over `dim` with `keepdim`: sum mean max min var argmax."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from . import _generic as G
from ._util import asarray


def normalize_dims(dim, ndim: int, op: str):
    """`dim` (None, int or sequence) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"{op}: dim {d} is out of range for a tensor of {ndim} dims")
        out.append(d % max(ndim, 1) if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dim {dim} repeats an axis")
    return tuple(sorted(out)) if ndim else ()


def _expand_back(g: np.ndarray, shape: tuple, dims: tuple, keepdim: bool) -> np.ndarray:
    """Reshape a reduced gradient so it broadcasts against the input of `shape`."""
    return g if keepdim else G.expand_dims(g, dims)


class Sum(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        return asarray(a.sum(axis=dims, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        g = _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
        return G.broadcast_to(g, ctx.shape)


class Mean(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        ctx.count = int(np.prod([a.shape[d] for d in dims])) if dims else 1
        return asarray(a.mean(axis=dims, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        g = _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim) / ctx.count
        return G.broadcast_to(g, ctx.shape)


class Var(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, dims, keepdim, correction):
        count = int(np.prod([a.shape[d] for d in dims])) if dims else 1
        ctx.save_for_backward(a)
        ctx.dims, ctx.keepdim, ctx.denom = dims, keepdim, max(count - correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return asarray(np.var(a, axis=dims, keepdims=keepdim, ddof=correction))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        mean = G.reduce_sum(a, ctx.dims, keepdims=True) / max(int(np.prod([a.shape[d] for d in ctx.dims])), 1)
        g = _expand_back(g, a.shape, ctx.dims, ctx.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            return G.astype(g * 2 * (a - mean) / ctx.denom, a.dtype)


class Extreme(Function):
    generic_backward = True

    """max/min over all elements or over `dims`; the gradient is shared evenly among ties,
    as PyTorch does for the full reduction."""

    @staticmethod
    def forward(ctx, a, dims, keepdim, largest):
        out = a.max(axis=dims, keepdims=True) if largest else a.min(axis=dims, keepdims=True)
        ctx.save_for_backward(a, out)
        ctx.dims, ctx.keepdim = dims, keepdim
        return out if keepdim else asarray(out.squeeze(axis=dims))

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved
        g = _expand_back(g, a.shape, ctx.dims, ctx.keepdim)
        mask = G.astype(a == out, a.dtype)
        count = G.reduce_sum(mask, ctx.dims, keepdims=True)
        return G.astype(g * mask / count, a.dtype)


class ExtremeAlongDim(Function):
    generic_backward = True

    """max/min along one dim returning values; the gradient goes to the chosen index only."""

    @staticmethod
    def forward(ctx, a, dim, keepdim, largest):
        idx = np.argmax(a, axis=dim) if largest else np.argmin(a, axis=dim)
        idx = np.expand_dims(idx, dim)
        values = np.take_along_axis(a, idx, axis=dim)
        ctx.shape, ctx.dim, ctx.keepdim, ctx.idx = a.shape, dim, keepdim, idx
        ctx.indices = idx if keepdim else idx.squeeze(dim)
        return values if keepdim else values.squeeze(dim)

    @staticmethod
    def backward(ctx, g):
        if not ctx.keepdim:
            g = G.expand_dims(g, (ctx.dim,))
        return G.scatter_add_into(ctx.shape, ctx.dim, ctx.idx, g)
