"""Broadcasting binary arithmetic and selection: + - * / ** maximum minimum where."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._util import shape_of, unbroadcast


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = shape_of(a), shape_of(b)
        return np.add(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), unbroadcast(g, sb)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = shape_of(a), shape_of(b)
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), unbroadcast(-g, sb)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        return unbroadcast(g * b, shape_of(a)), unbroadcast(g * a, shape_of(b))


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.divide(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        ga = g / b
        return unbroadcast(ga, shape_of(a)), unbroadcast(-ga * a / b, shape_of(b))


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved
        ga = g * b * np.power(a, b - 1)
        # d(a**b)/db = a**b * log(a); where a == 0 the limit is 0 (for b > 0), as in PyTorch.
        with np.errstate(divide="ignore", invalid="ignore"):
            gb = np.where(a == 0, 0, g * out * np.log(np.where(a == 0, 1, a)))
        return unbroadcast(ga, shape_of(a)), unbroadcast(gb.astype(out.dtype, copy=False), shape_of(b))


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return np.negative(a)

    @staticmethod
    def backward(ctx, g):
        return -g


class _Extremum(Function):
    """Elementwise max/min; ties send half the gradient to each side, as PyTorch does."""

    pick = None

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return cls.pick(a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved
        wins = cls.pick(a, b) == a
        tie = a == b
        share_a = np.where(tie, 0.5, wins.astype(g.dtype)).astype(g.dtype)
        ga, gb = g * share_a, g * (1 - share_a)
        return unbroadcast(ga, shape_of(a)), unbroadcast(gb, shape_of(b))


class Maximum(_Extremum):
    pick = staticmethod(np.maximum)


class Minimum(_Extremum):
    pick = staticmethod(np.minimum)


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        ctx.shapes = shape_of(a), shape_of(b)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved
        sa, sb = ctx.shapes
        zero = np.zeros((), g.dtype)
        return None, unbroadcast(np.where(cond, g, zero), sa), unbroadcast(np.where(cond, zero, g), sb)
