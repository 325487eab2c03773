"""Reductions over `dim` with `keepdim`: sum mean max min var argmax."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._util import asarray, zeros


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
    if not keepdim:
        g = np.expand_dims(g, dims) if dims else g
    return g


class Sum(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        return asarray(a.sum(axis=dims, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        g = _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
        return np.broadcast_to(g, ctx.shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        ctx.count = int(np.prod([a.shape[d] for d in dims])) if dims else 1
        return asarray(a.mean(axis=dims, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        g = _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim) / ctx.count
        return np.broadcast_to(g, ctx.shape)


class Var(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim, correction):
        count = int(np.prod([a.shape[d] for d in dims])) if dims else 1
        mean = a.mean(axis=dims, keepdims=True)
        ctx.save_for_backward(a, mean)
        ctx.dims, ctx.keepdim, ctx.denom = dims, keepdim, max(count - correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return asarray(np.var(a, axis=dims, keepdims=keepdim, ddof=correction))

    @staticmethod
    def backward(ctx, g):
        a, mean = ctx.saved
        g = _expand_back(g, a.shape, ctx.dims, ctx.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g * 2 * (a - mean) / ctx.denom).astype(a.dtype, copy=False)


class Extreme(Function):
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
        mask = a == out
        count = mask.sum(axis=ctx.dims, keepdims=True)
        return (g * mask / count).astype(a.dtype, copy=False)


class ExtremeAlongDim(Function):
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
            g = np.expand_dims(g, ctx.dim)
        out = zeros(ctx.shape, g.dtype, like=g)
        np.put_along_axis(out, ctx.idx, g, axis=ctx.dim)
        return out
