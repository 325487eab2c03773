"""Broadcasting binary arithmetic and selection: + - * / ** maximum minimum where."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from . import _generic as G
from ._util import shape_of

unbroadcast = G.sum_to


class Add(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = shape_of(a), shape_of(b)
        return np.add(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), unbroadcast(g, sb)


class Sub(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = shape_of(a), shape_of(b)
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), unbroadcast(-g, sb)


class Mul(Function):
    generic_backward = True
    # a is read for b's gradient and b for a's
    reads_inputs = staticmethod({(True, True): (0, 1), (True, False): (1,), (False, True): (0,), (False, False): ()}.get)

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad[:2]
        return (unbroadcast(g * b, shape_of(a)) if need_a else None,
                unbroadcast(g * a, shape_of(b)) if need_b else None)


class Div(Function):
    generic_backward = True
    reads_inputs = staticmethod({(True, True): (0, 1), (True, False): (1,), (False, True): (0, 1), (False, False): (1,)}.get)

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.divide(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        ga = g / b
        gb = unbroadcast(-ga * a / b, shape_of(b)) if ctx.needs_input_grad[1] else None
        return unbroadcast(ga, shape_of(a)), gb


def _is_bool(x) -> bool:
    return isinstance(x, (bool, np.bool_)) or getattr(x, "dtype", None) == np.bool_


class Pow(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, b):
        if _is_bool(a) and _is_bool(b):
            # numpy gives int8 (no ferrograd dtype); a ** b on {0, 1} is `a or not b`: bool, as torch's `t ** True`.
            if isinstance(b, (bool, np.bool_)):
                return a.copy() if b else a | ~a  # x ** False is 1 (a | ~a: all True on every device)
            if isinstance(a, (bool, np.bool_)):
                return b | ~b if a else ~b
            return a | ~b
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved
        ga = g * b * G.power(a, b - 1)
        if not ctx.needs_input_grad[1]:
            return unbroadcast(ga, shape_of(a)), None
        # d(a**b)/db = a**b * log(a); where a == 0 the limit is 0 (for b > 0), as in PyTorch.
        with np.errstate(divide="ignore", invalid="ignore"):
            zero = a == 0
            gb = G.where(zero, 0.0, g * out * G.log(G.where(zero, 1.0, a)))
        return unbroadcast(ga, shape_of(a)), unbroadcast(G.astype(gb, out.dtype), shape_of(b))


class Neg(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        return np.negative(a)

    @staticmethod
    def backward(ctx, g):
        return -g


class _Extremum(Function):
    """Elementwise max/min; ties send half the gradient to each side, as PyTorch does."""

    pick = None
    generic_backward = True

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return cls.pick(a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved
        wins = (a > b) if cls.pick is np.maximum else (a < b)
        share_a = G.where(a == b, 0.5, G.astype(wins, g.dtype))
        ga, gb = g * share_a, g * (1 - share_a)
        return unbroadcast(ga, shape_of(a)), unbroadcast(gb, shape_of(b))


class Maximum(_Extremum):
    pick = staticmethod(np.maximum)


class Minimum(_Extremum):
    pick = staticmethod(np.minimum)


class Where(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        ctx.shapes = shape_of(a), shape_of(b)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved
        sa, sb = ctx.shapes
        zero = G.zeros((), g.dtype, g)
        return None, unbroadcast(G.where(cond, g, zero), sa), unbroadcast(G.where(cond, zero, g), sb)
