"""Registry entries: arithmetic and the basic elementwise functions (add, sub, mul, div, pow,
maximum, minimum, matmul, exp, log, sqrt, abs, tanh, sigmoid, relu, clamp). The operators
(`+ - * / ** @`) are Tensor dunders over the same Functions (ops/arith.py, unary.py, linalg.py)."""

from __future__ import annotations

import numbers

from .. import dtypes
from . import arith, unary
from ..autograd import _TENSOR
from ._args import check_tensor, floated, tensor_cls as _tensor_cls
from .registry import register


def _check(input, op):
    """The input tensor; a Python number becomes one (fg.add(2, t), fg.exp(1.0))."""
    if type(input) is _TENSOR[0]:
        return input  # the common case, before the slower abstract-class check
    if isinstance(input, numbers.Number):
        from ..tensor import tensor

        return tensor(input)
    return check_tensor(input, op)


def _floated(input, op):
    return floated(_check(input, op), op)  # integers go to the default float dtype


def _scaled(other, alpha):
    return other if alpha == 1 else other * alpha


@register("add", inplace=True)
def add(input, other, *, alpha=1):
    """input + alpha * other, broadcasting, PyTorch's type promotion."""
    return _check(input, "add") + _scaled(other, alpha)


@register("sub", inplace=True, aliases=("subtract",))
def sub(input, other, *, alpha=1):
    return _check(input, "sub") - _scaled(other, alpha)


@register("mul", inplace=True, aliases=("multiply",))
def mul(input, other):
    return _check(input, "mul") * other


@register("div", inplace=True, aliases=("divide",))
def div(input, other, *, rounding_mode=None):
    """True division; rounding_mode 'trunc' or 'floor' rounds the quotient (ints stay ints)."""
    input = _check(input, "div")
    if rounding_mode is None:
        return input / other
    if rounding_mode == "floor":
        return input.floor_divide(other)
    if rounding_mode == "trunc":
        q = (input / other).trunc()
        ints = not dtypes.is_float(input.dtype) and not isinstance(other, float) and not (
            isinstance(other, _tensor_cls()) and dtypes.is_float(other.dtype))
        return q.to(dtypes.promote(input.dtype, other.dtype) if isinstance(other, _tensor_cls()) else input.dtype) if ints else q
    raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")


@register("true_divide", inplace=True)
def true_divide(input, other):
    return _check(input, "true_divide") / other


@register("pow", inplace=True)
def pow(input, exponent):  # noqa: A001
    """input ** exponent; `fg.pow(2, t)` takes a number as the base."""
    if not isinstance(input, _tensor_cls()) and isinstance(exponent, _tensor_cls()):
        return input ** exponent
    return _check(input, "pow") ** exponent


@register("maximum")
def maximum(input, other):
    """Elementwise max of two tensors (NaN propagates); ties share the gradient."""
    return _check(input, "maximum")._binary(other, arith.Maximum, "maximum")


@register("minimum")
def minimum(input, other):
    return _check(input, "minimum")._binary(other, arith.Minimum, "minimum")


@register("matmul")
def matmul(input, other):
    """numpy's/PyTorch's `@`: 1-D operands promoted, batch dims broadcast (Rust GEMM on cpu)."""
    from ..tensor import matmul as _matmul

    return _matmul(input, other)


def _unary(name, fn_cls, float_only=True, aliases=()):
    def fn(input):
        return fn_cls.apply(_floated(input, name) if float_only else _check(input, name))

    fn.__doc__ = f"Elementwise {name}, as torch.{name}."
    register(name, inplace=True, aliases=aliases)(fn)


_unary("exp", unary.Exp)
_unary("log", unary.Log)
_unary("sqrt", unary.Sqrt)
_unary("tanh", unary.Tanh)
_unary("sigmoid", unary.Sigmoid)
_unary("abs", unary.Abs, float_only=False, aliases=("absolute",))
_unary("relu", unary.Relu, float_only=False)


@register("clamp", inplace=True, aliases=("clip",))
def clamp(input, min=None, max=None):  # noqa: A002
    """Limit values to [min, max]; min/max may be numbers or tensors (broadcast)."""
    input = _check(input, "clamp")
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    T = _tensor_cls()
    if isinstance(min, T) or isinstance(max, T):
        out = input
        if min is not None:
            out = out.maximum(min) if isinstance(min, T) else unary.Clamp.apply(out, min, None)
        if max is not None:
            out = out.minimum(max) if isinstance(max, T) else unary.Clamp.apply(out, None, max)
        return out
    if isinstance(min, float) or isinstance(max, float):
        if not dtypes.is_float(input.dtype):
            input = input.to(dtypes.default_float())
    return unary.Clamp.apply(input, min, max)
