"""Views and rearrangements: reshape, permute, expand, indexing, cat, stack."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._util import asarray, zeros


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, a, axes):
        ctx.inverse = tuple(np.argsort(axes))
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.inverse)


class Expand(Function):
    @staticmethod
    def forward(ctx, a, shape):
        from ._util import unbroadcast

        ctx.shape = a.shape
        ctx.unbroadcast = unbroadcast
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        return ctx.unbroadcast(g, ctx.shape)


class Index(Function):
    """`a[key]` for basic and integer-array keys; the gradient scatter-adds back, so repeated
    indices accumulate."""

    @staticmethod
    def forward(ctx, a, key):
        ctx.shape, ctx.dtype, ctx.key = a.shape, a.dtype, key
        return asarray(a[key])

    @staticmethod
    def backward(ctx, g):
        out = zeros(ctx.shape, ctx.dtype, like=g)
        np.add.at(out, ctx.key, g)
        return out


class Cat(Function):
    @staticmethod
    def forward(ctx, dim, *arrays):
        ctx.dim = dim
        ctx.splits = np.cumsum([x.shape[dim] for x in arrays])[:-1]
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return (None, *np.split(g, ctx.splits, axis=ctx.dim))


class Stack(Function):
    @staticmethod
    def forward(ctx, dim, *arrays):
        ctx.dim = dim
        return np.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return (None, *(np.take(g, i, axis=ctx.dim) for i in range(g.shape[ctx.dim])))
