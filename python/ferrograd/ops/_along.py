"""Gather and scatter along one axis as autograd Functions, and a flip: the pieces that selection
ops (max/min along a dim, sort, topk, kthvalue, median, mode, cummax) and reversed scans build on.

Each helper takes raw arrays (numpy or GpuArray) or Tensors, like ops._generic: on Tensors it is a
Function whose backward is the other helper, so gradients through a gather can be differentiated
again on any device.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from . import _generic as G
from ._util import ascontiguous, zeros


def _raw(x):
    return x._data if G.is_tensor(x) else x


class TakeAlong(Function):
    """np.take_along_axis(a, idx, axis); backward: the gradient scattered (added) back to `idx`.
    `unique`: no index repeats along the axis (a sort's permutation), so the scatter is a put."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, idx, axis, unique):
        ctx.shape, ctx.idx, ctx.axis, ctx.unique = a.shape, idx, axis, unique
        return np.take_along_axis(a, idx, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return scatter_into(ctx.shape, ctx.axis, ctx.idx, g, ctx.unique)


class ScatterAlong(Function):
    """Zeros of `shape` with `src` added at `idx` along `axis`; backward: the gather."""

    generic_backward = True

    @staticmethod
    def forward(ctx, src, idx, axis, shape, unique):
        ctx.idx, ctx.axis = idx, axis
        return _scatter_array(shape, axis, idx, src, unique)

    @staticmethod
    def backward(ctx, g):
        return take_along(g, ctx.idx, ctx.axis)


def _scatter_array(shape, axis, idx, src, unique):
    if not unique:
        return G.scatter_add_into(shape, axis, idx, src)
    out = zeros(tuple(shape), src.dtype, like=src)
    np.put_along_axis(out, idx, src, axis)
    return out


def take_along(x, idx, axis, unique=False):
    """x gathered at `idx` (an int array or Tensor, x's ndim) along `axis`."""
    if G.is_tensor(x):
        return TakeAlong.apply(x, _raw(idx), axis, unique)
    return np.take_along_axis(x, _raw(idx), axis=axis)


def scatter_into(shape, axis, idx, src, unique=False):
    """Zeros of `shape` with `src` added at `idx` along `axis` (the backward of take_along)."""
    if G.is_tensor(src):
        return ScatterAlong.apply(src, _raw(idx), axis, tuple(shape), unique)
    return _scatter_array(tuple(shape), axis, _raw(idx), src, unique)


def _reverse(a, axis):
    return ascontiguous(a[(slice(None),) * axis + (slice(None, None, -1),)])


class Flip(Function):
    """The array reversed along `axis` (a copy); its own backward."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, axis):
        ctx.axis = axis
        return _reverse(a, axis)

    @staticmethod
    def backward(ctx, g):
        return flip(g, ctx.axis)


def flip(x, axis):
    """x reversed along the non-negative `axis`."""
    if G.is_tensor(x):
        return Flip.apply(x, axis)
    return _reverse(x, axis)
