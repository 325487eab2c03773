"""Registry entries: elementwise math beyond the operators (rsqrt, sign, trig, rounding,
remainder, floor division, logical and bitwise ops, isclose, lerp, ...).

Each unary float op is one line of `_unary(...)`: the ufunc that computes it on either device and
its derivative written with `_generic` helpers (so it is twice differentiable).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import dtypes
from ..autograd import Function
from . import _generic as G
from .registry import register
from ._args import tensor_cls as _tensor_cls, check_tensor as _check, floated as _floated


def _operand(other, like, op):
    """`other` as a Tensor on `like`'s device (Python numbers stay numbers)."""
    T = _tensor_cls()
    if isinstance(other, T) or isinstance(other, numbers.Number):
        return other
    from ..tensor import tensor

    return tensor(other, device=like.device)


# ---- unary float functions --------------------------------------------------------------------
def _unary(name, ufunc, derivative, *, save="input", aliases=(), doc=""):
    """Register `name(input)`: `ufunc` forward; backward g * derivative(x, y) where x is the input
    and y the output (both saved; None where not needed); derivative None: not differentiable."""

    class Op(Function):
        generic_backward = True

        @staticmethod
        def forward(ctx, a):
            with np.errstate(all="ignore"):
                out = ufunc(a)
            ctx.save_for_backward(a if save in ("input", "both") else None, out if save in ("output", "both") else None)
            return out

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved
            if derivative is None:
                return g * 0
            with np.errstate(all="ignore"):
                return g * derivative(x, y)

    Op.__name__ = Op.__qualname__ = name.capitalize()

    def fn(input):
        return Op.apply(_floated(input, name))

    fn.__doc__ = doc or f"Elementwise {name}, as torch.{name}."
    register(name, inplace=True, aliases=aliases)(fn)
    return Op


_unary("rsqrt", lambda a: 1 / np.sqrt(a), lambda x, y: -0.5 * y * y * y, save="output")
_unary("sin", np.sin, lambda x, y: G.cos(x))
_unary("cos", np.cos, lambda x, y: -G.sin(x))
_unary("tan", np.tan, lambda x, y: 1 + y * y, save="output")
_unary("asin", np.arcsin, lambda x, y: 1 / G.sqrt(1 - x * x), aliases=("arcsin",))
_unary("acos", np.arccos, lambda x, y: -1 / G.sqrt(1 - x * x), aliases=("arccos",))
_unary("atan", np.arctan, lambda x, y: 1 / (1 + x * x), aliases=("arctan",))
_unary("sinh", np.sinh, lambda x, y: (G.exp(x) + G.exp(-x)) * 0.5)
_unary("cosh", np.cosh, lambda x, y: (G.exp(x) - G.exp(-x)) * 0.5)
_unary("asinh", np.arcsinh, lambda x, y: 1 / G.sqrt(x * x + 1), aliases=("arcsinh",))
_unary("atanh", np.arctanh, lambda x, y: 1 / (1 - x * x), aliases=("arctanh",))
_unary("exp2", np.exp2, lambda x, y: y * math.log(2), save="both")
_unary("expm1", np.expm1, lambda x, y: y + 1, save="output")
_unary("log2", np.log2, lambda x, y: 1 / (x * math.log(2)))
_unary("log10", np.log10, lambda x, y: 1 / (x * math.log(10)))
_unary("log1p", np.log1p, lambda x, y: 1 / (x + 1))
_unary("reciprocal", lambda a: 1 / a, lambda x, y: -(y * y), save="output")
_unary("floor", np.floor, None)
_unary("ceil", np.ceil, None)
_unary("trunc", np.trunc, None, aliases=("fix",))
_unary("frac", lambda a: a - np.trunc(a), lambda x, y: 1 + 0 * x)


class Erf(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        from .activation import _erf  # the native erf kernel for numpy arrays, the device's for GpuArrays

        ctx.save_for_backward(a)
        return _erf(a)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * (2 / math.sqrt(math.pi)) * G.exp(-(x * x))


@register("erf", inplace=True)
def erf(input):
    """Elementwise error function, as torch.erf."""
    return Erf.apply(_floated(input, "erf"))


@register("square", inplace=True)
def square(input):
    """input * input (integer tensors stay integer, as torch.square)."""
    return _check(input, "square") * input


class Round(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, decimals):
        return np.round(a, decimals) if decimals else np.rint(a)

    @staticmethod
    def backward(ctx, g):
        return g * 0


@register("round", inplace=True)
def round(input, *, decimals=0):  # noqa: A001
    """Round half to even, as torch.round (with `decimals`)."""
    _check(input, "round")
    if not dtypes.is_float(input.dtype):
        return input.clone()
    return Round.apply(input, int(decimals))


class Sign(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        out = np.sign(a)
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            # torch.sign(NaN) is 0 (as the wgpu kernel), numpy's NaN
            out = np.where(np.isnan(a), out.dtype.type(0), out)
        return out

    @staticmethod
    def backward(ctx, g):
        return g * 0


@register("sign", inplace=True)
def sign(input):
    """-1, 0 or 1 by the sign of each element (gradient zero), as torch.sign."""
    _check(input, "sign")
    if input.dtype == dtypes.bool_:
        return input.clone()
    return Sign.apply(input)


register("sgn")(lambda input: sign(input))


@register("neg", inplace=True, aliases=("negative",))
def neg(input):
    return -_check(input, "neg")


@register("positive")
def positive(input):
    return _check(input, "positive")


def _nan(x):
    """Where x is NaN. Not `x != x`: llvmpipe's shader compiler may fold that to false; isnan reads
    the bits."""
    return x.isnan() if isinstance(x, _tensor_cls()) else (x != x)


# ---- binary ----------------------------------------------------------------------------------
def _int_or_float_pair(input, other, op):
    from ..tensor import _operands

    return _operands(_check(input, op), _operand(other, input, op), op)


class FloorDivide(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, b):
        with np.errstate(all="ignore"):
            return np.floor_divide(a, b)

    @staticmethod
    def backward(ctx, g):
        return g * 0, None


class _Modulus(Function):
    """a - q(a / b) * b with q the rounding of the quotient: d/da = 1, d/db = -q(a / b)."""

    generic_backward = True
    ufunc = quotient = None

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        with np.errstate(all="ignore"):
            return cls.ufunc(a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved
        gb = None
        if ctx.needs_input_grad[1]:
            with np.errstate(all="ignore"):
                gb = G.sum_to(-g * cls.quotient(a, b), G.shape(b))
        return G.sum_to(g, G.shape(a)), gb


class Remainder(_Modulus):
    """Python's sign rule (the divisor's), as torch.remainder: the quotient is floored."""

    ufunc = staticmethod(np.remainder)
    quotient = staticmethod(G.floor_div)


class Fmod(_Modulus):
    """C's sign rule (the dividend's), as torch.fmod: the quotient is truncated."""

    ufunc = staticmethod(np.fmod)
    quotient = staticmethod(lambda a, b: G.trunc(a / b))


def _division(input, other, op):
    """The operands of a division-like op; an integer division by zero raises as in Python."""
    a, b = _int_or_float_pair(input, other, op)
    if not dtypes.is_float(a.dtype) and _is_zero_divisor(b):
        raise ZeroDivisionError(f"{op}: integer division by zero")
    return a, b


@register("floor_divide", inplace=True)
def floor_divide(input, other):
    """Division rounded down, as torch.floor_divide and `//`."""
    return FloorDivide.apply(*_division(input, other, "floor_divide"))


@register("remainder", inplace=True)
def remainder(input, other):
    """Python-style modulus (sign of the divisor), as torch.remainder and `%`."""
    return Remainder.apply(*_division(input, other, "remainder"))


@register("fmod", inplace=True)
def fmod(input, other):
    """C-style modulus (sign of the dividend), as torch.fmod."""
    return Fmod.apply(*_division(input, other, "fmod"))


def _is_zero_divisor(b) -> bool:
    if isinstance(b, numbers.Number):
        return b == 0
    return b.device == "cpu" and bool((b._data == 0).any())


class Atan2(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.arctan2(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        d = a * a + b * b
        return G.sum_to(g * b / d, G.shape(a)), G.sum_to(-g * a / d, G.shape(b))


@register("atan2", inplace=True, aliases=("arctan2",))
def atan2(input, other):
    a, b = _int_or_float_pair(_floated(input, "atan2"), other, "atan2")
    return Atan2.apply(a, b)


@register("lerp", inplace=True)
def lerp(input, end, weight):
    """input + weight * (end - input), as torch.lerp."""
    _check(input, "lerp")
    return input + weight * (end - input)


@register("addcmul", inplace=True)
def addcmul(input, tensor1, tensor2, *, value=1):
    return input + value * tensor1 * tensor2


@register("addcdiv", inplace=True)
def addcdiv(input, tensor1, tensor2, *, value=1):
    return input + value * tensor1 / tensor2


@register("logaddexp")
def logaddexp(input, other):
    """log(exp(input) + exp(other)), shifted by the larger one so it does not overflow. An
    infinite (or NaN) shift would give inf - inf = NaN: there the shift is 0, so exp(±inf)
    gives torch's ±inf (and NaN stays NaN)."""
    from ..tensor import where

    m = input.maximum(other).detach()
    m = where(m.isfinite(), m, 0.0)
    return m + ((input - m).exp() + (other - m).exp()).log()


@register("xlogy", inplace=True)
def xlogy(input, other):
    """input * log(other), 0 where input is 0 (as torch.xlogy; there the gradient to input is
    still log(other))."""
    from ..tensor import where

    _check(input, "xlogy")
    other = _operand(other, input, "xlogy")
    if not isinstance(other, _tensor_cls()):
        if other <= 0 or other == math.inf:
            return where(input == 0, 0.0, input * math.log(other))
        return input * math.log(other)
    # where input is 0, log of a finite stand-in (1 for other <= 0 or inf, 0·log(inf) being NaN);
    # NaN stays NaN there, as torch
    safe = where(((other > 0) & (other < math.inf)) | _nan(other), other, 1.0)
    log_other = where(input == 0, safe.log(), other.log())
    return input * log_other


@register("hypot", inplace=True)
def hypot(input, other):
    """sqrt(input² + other²) as IEEE hypot (torch.hypot): scaled by the larger magnitude so the
    squares do not overflow, and inf when either is infinite, even against NaN."""
    from ..tensor import where

    _check(input, "hypot")
    other = _operand(other, input, "hypot")
    if not isinstance(other, _tensor_cls()):
        from ..tensor import full_like

        other = full_like(input, other)
    m = input.abs().maximum(other.abs()).detach()
    m = where(m.isfinite() & (m > 0), m, 1.0)  # 0 (both 0), inf and NaN: no scaling
    a, b = input / m, other / m
    out = m * (a * a + b * b).sqrt()
    return where(input.isinf() | other.isinf(), math.inf, out)


@register("clamp_min", inplace=True)
def clamp_min(input, min):  # noqa: A002
    return _check(input, "clamp_min").clamp(min=min)


@register("clamp_max", inplace=True)
def clamp_max(input, max):  # noqa: A002
    return _check(input, "clamp_max").clamp(max=max)


@register("fmax")
def fmax(input, other):
    """Elementwise maximum that ignores NaN (as torch.fmax)."""
    from ..tensor import where

    return where(_nan(other), input, where(_nan(input), other, input.maximum(other)))


@register("fmin")
def fmin(input, other):
    from ..tensor import where

    return where(_nan(other), input, where(_nan(input), other, input.minimum(other)))


# ---- logical and bitwise (no gradient) --------------------------------------------------------
def _logical(name, ufunc):
    def fn(input, other=None):
        _check(input, name)
        if other is None:
            return _tensor_cls()._wrap(ufunc(input._data != 0))
        other = _operand(other, input, name)
        b = other._data if isinstance(other, _tensor_cls()) else other
        _same_device(input, other, name)
        try:
            return _tensor_cls()._wrap(ufunc(input._data != 0, b != 0))
        except ValueError:
            raise ValueError(f"{name}: shapes {tuple(input.shape)} and {tuple(np.shape(b))} do not broadcast") from None

    fn.__doc__ = f"Elementwise {name} of the truth values, a bool tensor (as torch.{name})."
    return fn


def _same_device(a, b, op):
    if isinstance(b, _tensor_cls()) and type(b._data) is not type(a._data):
        raise ValueError(f"{op}: expected both operands on one device, got {a.device} and {b.device}")


register("logical_and", inplace=True, differentiable=False)(_logical("logical_and", np.logical_and))
register("logical_or", inplace=True, differentiable=False)(_logical("logical_or", np.logical_or))
register("logical_xor", inplace=True, differentiable=False)(_logical("logical_xor", np.logical_xor))


@register("logical_not", inplace=True, differentiable=False)
def logical_not(input):
    _check(input, "logical_not")
    return _tensor_cls()._wrap(np.logical_not(input._data != 0))


def _bitwise(name, ufunc):
    def fn(input, other):
        _check(input, name)
        if dtypes.is_float(input.dtype) or (isinstance(other, _tensor_cls()) and dtypes.is_float(other.dtype)) \
                or isinstance(other, float):
            raise TypeError(f"{name}: expects integer or bool tensors, got {input.dtype}")
        from ..tensor import _operands

        a, b = _operands(input, _operand(other, input, name), name)
        bb = b._data if isinstance(b, _tensor_cls()) else b
        return _tensor_cls()._wrap(ufunc(a._data, bb))

    fn.__doc__ = f"Elementwise {name} of integer or bool tensors (as torch.{name})."
    return fn


register("bitwise_and", inplace=True, differentiable=False)(_bitwise("bitwise_and", np.bitwise_and))
register("bitwise_or", inplace=True, differentiable=False)(_bitwise("bitwise_or", np.bitwise_or))
register("bitwise_xor", inplace=True, differentiable=False)(_bitwise("bitwise_xor", np.bitwise_xor))


@register("bitwise_not", inplace=True, differentiable=False)
def bitwise_not(input):
    """~x: logical not of a bool tensor, two's-complement not of an integer one."""
    _check(input, "bitwise_not")
    if dtypes.is_float(input.dtype):
        raise TypeError(f"bitwise_not: expects an integer or bool tensor, got {input.dtype}")
    return _tensor_cls()._wrap(np.invert(input._data))


# ---- tests of values (no gradient) ------------------------------------------------------------
def _predicate(name, ufunc, int_value):
    def fn(input):
        _check(input, name)
        if not dtypes.is_float(input.dtype):
            from ..tensor import full

            return full(tuple(input.shape), int_value, dtype=dtypes.bool_, device=input.device)
        return _tensor_cls()._wrap(ufunc(input._data))

    fn.__doc__ = f"Elementwise {name}, a bool tensor (as torch.{name})."
    register(name, differentiable=False)(fn)


_predicate("isnan", np.isnan, False)
_predicate("isinf", np.isinf, False)
_predicate("isfinite", np.isfinite, True)


@register("isposinf", differentiable=False)
def isposinf(input):
    return input.isinf() & (input > 0)


@register("isneginf", differentiable=False)
def isneginf(input):
    return input.isinf() & (input < 0)


@register("nan_to_num", inplace=True)
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN -> nan, +inf -> posinf (default: the dtype's largest), -inf -> neginf, as torch."""
    from ..tensor import where

    _check(input, "nan_to_num")
    if not dtypes.is_float(input.dtype):
        return input.clone()
    info = np.finfo(input.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    out = where(_nan(input), nan, input)
    out = where(out == math.inf, posinf, out)
    return where(out == -math.inf, neginf, out)


@register("isclose", differentiable=False)
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol * |other| elementwise, as torch.isclose."""
    _check(input, "isclose")
    other = _operand(other, input, "isclose")
    _same_device(input, other, "isclose")
    if isinstance(other, _tensor_cls()) and input.dtype != other.dtype and not (
            dtypes.is_float(input.dtype) and dtypes.is_float(other.dtype)):
        if dtypes.is_float(input.dtype) != dtypes.is_float(other.dtype):
            raise TypeError(f"isclose: input ({input.dtype}) and other ({other.dtype}) must have the same dtype")
    a = input.detach()
    b = other.detach() if isinstance(other, _tensor_cls()) else other
    if not dtypes.is_float(a.dtype):
        a = a.to(dtypes.float64 if a.device == "cpu" else dtypes.float32)
    with np.errstate(invalid="ignore"):
        diff = (a - b).abs()
    # as torch: equal values (equal infinities too) are close; otherwise only a finite
    # difference can be (|1 - inf| <= atol + rtol·inf would hold)
    allowed = atol + rtol * (b.abs() if isinstance(b, _tensor_cls()) else abs(b))
    close = (a == b) | (diff.isfinite() & (diff <= allowed))
    if equal_nan:
        close = close | (_nan(a) & _nan(b))
    return close


@register("allclose", method=True, differentiable=False)
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True when every element is close (a Python bool, as torch.allclose)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


@register("equal", differentiable=False)
def equal(input, other) -> bool:
    """True when both tensors have the same shape and elements (a Python bool)."""
    _check(input, "equal")
    if not isinstance(other, _tensor_cls()):
        raise TypeError(f"equal: other must be a Tensor, got {type(other).__name__}")
    if tuple(input.shape) != tuple(other.shape):
        return False
    return bool((input == other).all())
