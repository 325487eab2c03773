"""Views and rearrangements: reshape, permute, expand, indexing, cat, stack."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from . import _generic as G
from ._util import asarray, ascontiguous


class Reshape(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Permute(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, axes):
        ctx.inverse = tuple(np.argsort(axes))
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return G.permute(g, ctx.inverse)


class Expand(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        return G.sum_to(g, ctx.shape)


class Index(Function):
    generic_backward = True

    """`a[key]` for basic and integer-array keys; the gradient scatter-adds back, so repeated
    indices accumulate."""

    @staticmethod
    def forward(ctx, a, key):
        ctx.shape, ctx.dtype, ctx.key = a.shape, a.dtype, key
        return asarray(a[key])

    @staticmethod
    def backward(ctx, g):
        return G.index_add_into(ctx.shape, ctx.dtype, ctx.key, g)


class Cat(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, dim, *arrays):
        ctx.dim = dim
        ctx.bounds = np.cumsum([0] + [x.shape[dim] for x in arrays])
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.dim
        b = ctx.bounds
        return (None, *(g[lead + (slice(int(b[i]), int(b[i + 1])),)] for i in range(len(b) - 1)))


class Stack(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, dim, *arrays):
        ctx.dim = dim
        return np.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.dim
        return (None, *(g[lead + (i,)] for i in range(g.shape[ctx.dim])))


class Contiguous(Function):
    """A C-ordered copy; the gradient passes through."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        return ascontiguous(a)

    @staticmethod
    def backward(ctx, g):
        return g


class IndexPut(Function):
    """A copy of `a` with `a[key] = value` (or `+=` with accumulate): the out-of-place form of
    indexed assignment, so assigning into a tensor in the graph stays differentiable."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, value, key, accumulate):
        out = a.copy()
        if accumulate:
            np.add.at(out, key, value)
        else:
            out[key] = value
        ctx.key, ctx.accumulate = key, accumulate
        ctx.vshape = np.shape(value)
        return out

    @staticmethod
    def backward(ctx, g):
        from . import _generic as G

        key = ctx.key
        picked = g[key]
        gv = G.sum_to(picked, ctx.vshape) if tuple(picked.shape) != tuple(ctx.vshape) else picked
        if ctx.accumulate:
            return g, gv
        if G.is_tensor(g):
            ga = g.index_put(key if isinstance(key, tuple) else (key,), G.zeros((), g.dtype, g), accumulate=False)
        else:
            ga = g.copy()
            ga[key] = 0
        return ga, gv
