"""Registry entries: reductions (all, any, sum, mean, nansum, nanmean, prod, amax, amin,
aminmax, max, min, argmax, argmin, var, std, var_mean, std_mean, logsumexp, norm, count_nonzero).

Reductions that pick an element (amax, max(), median()) share the gradient evenly among ties;
those along one dim returning (values, indices) gather, so the gradient goes to the index.
"""

from __future__ import annotations

import builtins
import math
import numbers

import numpy as np

from .. import dtypes
from ..autograd import _TENSOR, Function
from ..errors import DtypeRuntimeError, ShapeRuntimeError
from . import _generic as G
from ._util import asarray, zeros
from .reduce import normalize_dims
from .registry import register
from ._args import tensor_cls as _tensor_cls, check_tensor as _check


def _truth(name, method):
    def fn(input, dim=None, keepdim=False):
        _check(input, name)
        dims = normalize_dims(dim, input.ndim, name)
        from ._util import full

        if input._data.size == 0:  # the empty all() is True, any() False (the device reduce has no identity)
            shape = tuple(1 if d in dims else n for d, n in enumerate(input.shape) if keepdim or d not in dims)
            return _tensor_cls()._wrap(full(shape, method == "all", np.bool_, like=input._data))
        out = getattr(input._data != 0, method)(axis=dims, keepdims=keepdim)
        return _tensor_cls()._wrap(asarray(out, like=input._data))

    fn.__doc__ = f"Whether {'every' if method == 'all' else 'any'} element (along `dim`) is true, a bool tensor."
    return fn


register("all", differentiable=False)(_truth("all", "all"))
register("any", differentiable=False)(_truth("any", "any"))


# ---- shared argument handling -----------------------------------------------------------------
def _dims(dim, ndim, op):
    """`dim` as a sorted tuple of axes; None or an empty sequence reduce every dim (as torch)."""
    if dim is not None and not isinstance(dim, (int, np.integer)):
        if not isinstance(dim, (tuple, list)) or not builtins.all(isinstance(d, (int, np.integer)) for d in dim):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
        if len(dim) == 0:
            dim = None
    return normalize_dims(dim, ndim, op)


def _one_dim(dim, ndim, op):
    """A single `dim` as a non-negative axis (0 for a 0-d tensor, which callers view as 1-d)."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of {ndim} dims (expected [{-n}, {n - 1}])")
    return int(dim) % n


def _reduced_shape(shape, dims, keepdim):
    return tuple(1 if d in dims else n for d, n in enumerate(shape) if keepdim or d not in dims)


def _cast(input, dtype, op):
    """`input` converted to `dtype` first, as torch's `dtype=` argument does."""
    if dtype is None:
        return input
    dt = dtypes.check_dtype(dtype, op)
    return input.to(dt) if dtypes.is_float(dt) else input.detach().to(dt)  # integers carry no gradient


def _need_float(input, op):
    if not dtypes.is_float(input.dtype):
        raise DtypeRuntimeError(f"{op}(): expected a floating point input, got dtype {input.dtype}")
    return input


def _nonempty(input, dims, op, whole):
    """torch's errors for a max-like reduction with no identity over an empty range."""
    if input.numel() == 0 and whole:
        raise ShapeRuntimeError(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )
    for d in dims:
        if input.shape[d] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")


def _raw(x):
    return x._data if isinstance(x, _tensor_cls()) else x


# ---- sum, mean, prod --------------------------------------------------------------------------
class Sum(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        return asarray(G.sum_array(a, dims, keepdim))

    @staticmethod
    def backward(ctx, g):
        g = g if ctx.keepdim else G.expand_dims(g, ctx.dims)
        return G.broadcast_to(g, ctx.shape)


class Mean(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        ctx.count = math.prod(a.shape[d] for d in dims)
        with np.errstate(all="ignore"):  # the mean of nothing is nan, as torch
            return asarray(G.sum_array(a, dims, keepdim) / ctx.count)

    @staticmethod
    def backward(ctx, g):
        g = g if ctx.keepdim else G.expand_dims(g, ctx.dims)
        return G.broadcast_to(g * (1.0 / builtins.max(ctx.count, 1)), ctx.shape)


def _sum(input, dims, keepdim):
    """Sum over `dims` (bool and int inputs summed as int64, as torch)."""
    if not dtypes.is_float(input.dtype):
        input = input.detach().to(dtypes.int64)
    return Sum.apply(input, dims, keepdim)


@register("sum")
def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001
    """Sum over `dim` (None or () for all; an int or a tuple), as torch.sum; bool and integer inputs
    give int64 unless `dtype` says otherwise."""
    input = _cast(_check(input, "sum"), dtype, "sum")
    return _sum(input, _dims(dim, input.ndim, "sum"), bool(keepdim))


@register("mean")
def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over `dim`, as torch.mean (floating point inputs, or pass `dtype`)."""
    input = _cast(_check(input, "mean"), dtype, "mean")
    if not dtypes.is_float(input.dtype):
        raise DtypeRuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be a floating point dtype, got {input.dtype}; "
            "pass dtype= or convert with .float()"
        )
    return Mean.apply(input, _dims(dim, input.ndim, "mean"), bool(keepdim))


@register("nansum")
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum treating NaN as zero (their gradient is zero), as torch.nansum."""
    input = _cast(_check(input, "nansum"), dtype, "nansum")
    if dtypes.is_float(input.dtype):
        from ..tensor import where

        input = where(input.isnan(), 0.0, input)  # isnan, not x != x: see math_ops._nan
    return _sum(input, _dims(dim, input.ndim, "nansum"), bool(keepdim))


@register("nanmean")
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean of the non-NaN elements (NaN where there are none), as torch.nanmean."""
    from ..tensor import where

    input = _need_float(_cast(_check(input, "nanmean"), dtype, "nanmean"), "nanmean")
    dims = _dims(dim, input.ndim, "nanmean")
    keep = ~input.isnan()
    total = Sum.apply(where(keep, input, 0.0), dims, bool(keepdim))
    count = asarray(keep._data.sum(axis=dims, keepdims=bool(keepdim)), like=input._data).astype(input.dtype)
    with np.errstate(all="ignore"):
        return total / _tensor_cls()._wrap(count)


class Prod(Function):
    """Product over `dims`. The gradient is right where elements are zero (torch's rule): with no
    zero it is prod / x; with one zero, the product of the others at the zero and 0 elsewhere;
    with more, 0. Written with `where` and a product of the input, so it differentiates again."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.save_for_backward(a)
        ctx.dims, ctx.keepdim = dims, keepdim
        return asarray(a.prod(axis=dims, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        dims = ctx.dims
        g = g if ctx.keepdim else G.expand_dims(g, dims)
        zero = a == 0
        count = G.reduce_sum(G.astype(zero, a.dtype), dims, keepdims=True)
        safe = G.where(zero, 1.0, a)
        others = _prod_keepdims(safe, dims)  # the product of the non-zero elements
        with np.errstate(all="ignore"):
            w = G.where(count == 0, others / safe, G.where(zero & (count == 1), others, 0.0))
        return g * w


def _prod_keepdims(x, dims):
    if isinstance(x, _tensor_cls()):
        return Prod.apply(x, dims, True)
    return x.prod(axis=dims, keepdims=True)


@register("prod")
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product of all elements, or over the int `dim`, as torch.prod; bool and integer inputs give
    int64. The gradient is exact where elements are zero."""
    _check(input, "prod")
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, (int, np.integer))):
        raise TypeError(f"prod: dim must be an int (torch.prod reduces one dim or all), got {dim!r}")
    input = _cast(input, dtype, "prod")
    if not dtypes.is_float(input.dtype):
        input = input.to(dtypes.int64)
    dims = _dims(None, input.ndim, "prod") if dim is None else (_one_dim(dim, input.ndim, "prod"),) if input.ndim else ()
    return Prod.apply(input, dims, bool(keepdim))


# ---- max-like reductions ----------------------------------------------------------------------
class Select(Function):
    """A reduction whose result is one of the elements (amax, amin, max(), min(), median()): the
    forward is handed the value (keepdim-shaped); the gradient is shared evenly among the
    elements equal to it. As in torch, the whole-tensor max()/min()/median() let a NaN result
    match the NaN elements (evenly_distribute_backward), while amax/amin/norm(inf) do not: no
    element equals a NaN result, so 0/0 makes that slice's gradient NaN (scale_grad_by_count)."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, value, dims, keepdim, nan_matches=False):
        ctx.save_for_backward(a, value)
        ctx.dims, ctx.keepdim, ctx.nan_matches = dims, keepdim, nan_matches
        return value if keepdim else value.reshape(_reduced_shape(a.shape, dims, False))

    @staticmethod
    def backward(ctx, g):
        a, value = (_raw(s) for s in ctx.saved)
        hit = a == value
        if ctx.nan_matches and a.dtype.kind == "f":
            hit = hit | (np.isnan(a) & np.isnan(value))
        w = G.astype(hit, a.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 is the NaN gradient torch gives
            w = w / w.sum(axis=ctx.dims, keepdims=True)
        g = g if ctx.keepdim else G.expand_dims(g, ctx.dims)
        return g * w


def _extreme(op, input, dim, keepdim, largest, nan_matches=False):
    dims = _dims(dim, input.ndim, op)
    whole = dim is None or (not isinstance(dim, (int, np.integer)) and len(dim) == 0)
    _nonempty(input, dims, op, whole)
    a = input._data
    value = a.max(axis=dims, keepdims=True) if largest else a.min(axis=dims, keepdims=True)
    return Select.apply(input, asarray(value, like=a), dims, bool(keepdim), nan_matches)


@register("amax")
def amax(input, dim=(), keepdim=False):
    """Largest element over `dim` (() for all); ties share the gradient evenly, as torch.amax."""
    return _extreme("amax", _check(input, "amax"), dim, keepdim, True)


@register("amin")
def amin(input, dim=(), keepdim=False):
    """Smallest element over `dim` (() for all); ties share the gradient evenly, as torch.amin."""
    return _extreme("amin", _check(input, "amin"), dim, keepdim, False)


@register("aminmax")
def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) over the int `dim` or all elements, a named tuple as torch.aminmax."""
    from .return_types import aminmax as MinMax

    _check(input, "aminmax")
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, (int, np.integer))):
        raise TypeError(f"aminmax: dim must be an int, got {dim!r}")
    if dim is not None and input.ndim == 0:
        _one_dim(dim, 0, "aminmax")
        dim = None
    return MinMax(_extreme("aminmax", input, dim, keepdim, False), _extreme("aminmax", input, dim, keepdim, True))


def _along(op, input, dim, keepdim, pick):
    """(values, indices) of the element `pick` (np.argmax / np.argmin) chooses along `dim`; the
    values are a gather, so the gradient goes to that index, as torch."""
    from ._along import take_along
    from .return_types import values_indices

    scalar = input.ndim == 0
    axis = _one_dim(dim, input.ndim, op)
    x = input.reshape(1) if scalar else input
    if x.shape[axis] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {axis} to have non-zero size.")
    idx = asarray(pick(x._data, axis=axis, keepdims=True), like=x._data).astype(np.int64, copy=False)
    values = take_along(x, idx, axis)
    if scalar or not keepdim:
        shape = () if scalar else _reduced_shape(x.shape, (axis,), False)
        values, idx = values.reshape(shape), idx.reshape(shape)
    return values_indices(values, _tensor_cls()._wrap(idx))


def _max_min(op, input, dim, keepdim, other, largest):
    T = _tensor_cls()
    _check(input, op)
    if isinstance(dim, T):
        if other is not None:
            raise TypeError(f"{op}: got both a tensor dim and other=")
        dim, other = None, dim
    if other is not None:
        if not isinstance(other, T):
            raise TypeError(f"{op}(): argument 'other' must be Tensor, not {type(other).__name__}")
        return input.maximum(other) if largest else input.minimum(other)
    if dim is None:
        if keepdim:
            raise TypeError(f"{op}(): keepdim needs a dim (use amax/amin to keep dims of a full reduction)")
        return _extreme(op, input, None, False, largest, nan_matches=True)
    return _along(op, input, dim, keepdim, np.argmax if largest else np.argmin)


@register("max")
def max(input, dim=None, keepdim=False, *, other=None):  # noqa: A001
    """torch.max in all its forms: max(input) the largest element (ties share the gradient);
    max(input, dim, keepdim=False) the named tuple (values, indices) along dim; max(input, other)
    the elementwise maximum."""
    return _max_min("max", input, dim, keepdim, other, True)


@register("min")
def min(input, dim=None, keepdim=False, *, other=None):  # noqa: A001
    """torch.min in all its forms (see max)."""
    return _max_min("min", input, dim, keepdim, other, False)


def _arg(op, input, dim, keepdim, pick):
    _check(input, op)
    if input.dtype == dtypes.bool_:
        raise DtypeRuntimeError(f"{op}(): does not support bool input")
    a = input._data
    if dim is None:
        if input.numel() == 0:
            raise IndexError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0.")
        idx = asarray(pick(a.reshape(-1), axis=0), like=a)
        if keepdim:
            idx = idx.reshape((1,) * input.ndim)
    else:
        axis = _one_dim(dim, input.ndim, op)
        if input.ndim == 0:
            idx = asarray(np.zeros((), np.int64), like=a)
        else:
            if input.shape[axis] == 0:
                raise IndexError(f"{op}(): Expected reduction dim {axis} to have non-zero size.")
            idx = asarray(pick(a, axis=axis, keepdims=bool(keepdim)), like=a)
    return _tensor_cls()._wrap(idx.astype(np.int64, copy=False))


@register("argmax", differentiable=False)
def argmax(input, dim=None, keepdim=False):
    """Index of the largest element (of the flattened tensor when dim is None), as torch.argmax."""
    return _arg("argmax", input, dim, keepdim, np.argmax)


@register("argmin", differentiable=False)
def argmin(input, dim=None, keepdim=False):
    """Index of the smallest element, as torch.argmin."""
    return _arg("argmin", input, dim, keepdim, np.argmin)


# ---- variance and standard deviation ----------------------------------------------------------
def _correction(op, dim, unbiased, correction):
    """torch's two spellings: `unbiased` (also as the second positional argument) or `correction`."""
    if isinstance(dim, bool):
        if unbiased is not None:
            raise TypeError(f"{op}: unbiased given twice")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}: cannot pass both correction and unbiased arguments")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if isinstance(correction, bool) or not isinstance(correction, numbers.Real):
        raise TypeError(f"{op}: correction must be a number, got {correction!r}")
    return dim, correction


def _var(op, input, dim, unbiased, keepdim, correction):
    _check(input, op)
    if not dtypes.is_float(input.dtype):
        raise DtypeRuntimeError(f"{op}(): std and var only support floating point dtypes, got {input.dtype}")
    dim, correction = _correction(op, dim, unbiased, correction)
    dims = _dims(dim, input.ndim, op)
    n = math.prod(input.shape[d] for d in dims)
    # Two passes over the composite ops: d(sum((x - mean)^2))/dx = 2 (x - mean), and it
    # differentiates again for free. A divisor <= 0 gives inf or nan, as torch.
    with np.errstate(all="ignore"):
        centred = input - Mean.apply(input, dims, True)
        total = Sum.apply(centred * centred, dims, bool(keepdim))
        return total / builtins.max(n - correction, 0), dims


class SafeSqrt(Function):
    """sqrt whose gradient is 0 where the result is 0 (torch's std backward)."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        out = asarray(np.sqrt(a))  # an array even when 0-d, so backward finds it as the output
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        zero = out == 0
        return G.where(zero, 0.0, g / (G.where(zero, 1.0, out) * 2))


@register("var")
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over `dim` with `correction` (default 1, Bessel's) or `unbiased`, as torch.var."""
    return _var("var", input, dim, unbiased, keepdim, correction)[0]


@register("std")
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation (gradient 0 where it is 0), as torch.std."""
    return SafeSqrt.apply(_var("std", input, dim, unbiased, keepdim, correction)[0])


@register("var_mean", method=False)
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) over `dim`, as torch.var_mean."""
    v, dims = _var("var_mean", input, dim, unbiased, keepdim, correction)
    return v, Mean.apply(input, dims, bool(keepdim))


@register("std_mean", method=False)
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) over `dim`, as torch.std_mean."""
    v, dims = _var("std_mean", input, dim, unbiased, keepdim, correction)
    return SafeSqrt.apply(v), Mean.apply(input, dims, bool(keepdim))


# ---- logsumexp, norm, count_nonzero -----------------------------------------------------------
@register("logsumexp")
def logsumexp(input, dim, keepdim=False):
    """log(sum(exp(x))) over `dim`, computed stably (the max is taken out first), as torch."""
    _check(input, "logsumexp")
    x = input if dtypes.is_float(input.dtype) else input.to(dtypes.default_float())
    dims = _dims(dim, x.ndim, "logsumexp")
    a = x._data
    with np.errstate(all="ignore"):
        if builtins.any(x.shape[d] == 0 for d in dims):
            m = zeros(_reduced_shape(x.shape, dims, True), x.dtype, like=a)
        else:
            m = asarray(a.max(axis=dims, keepdims=True), like=a)
            m = np.where(np.isinf(m), 0.0, m).astype(x.dtype, copy=False)  # all -inf (or an inf): no shift
        m = _tensor_cls()._wrap(m)
        out = Sum.apply((x - m).exp(), dims, True).log() + m
    return out if keepdim else out.reshape(_reduced_shape(x.shape, dims, False))


class VectorNorm(Function):
    """(sum |x|^p)^(1/p) over `dims` for finite p other than 1; the gradient follows torch's
    linalg_vector_norm_backward: 0 where the norm is 0, no gradient for p = 0."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, p, dims, keepdim):
        ctx.p, ctx.dims, ctx.keepdim = p, dims, keepdim
        with np.errstate(all="ignore"):
            if p == 0:
                out = (a != 0).sum(axis=dims, keepdims=keepdim).astype(a.dtype)
            elif p == 2:
                out = np.sqrt((a * a).sum(axis=dims, keepdims=keepdim))
            else:
                out = (np.abs(a) ** p).sum(axis=dims, keepdims=keepdim) ** (1.0 / p)
        out = asarray(out, like=a)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved
        p = ctx.p
        if p == 0:
            return None
        if not ctx.keepdim:
            g, out = G.expand_dims(g, ctx.dims), G.expand_dims(out, ctx.dims)
        zero = out == 0
        with np.errstate(all="ignore"):
            if p == 2:
                return a * G.where(zero, 0.0, g / G.where(zero, 1.0, out))
            sign = G.sign(a)
            if p < 1:  # |x|^(p-1) is infinite at 0: masked there
                at0 = a == 0
                scaled = G.where(at0, 0.0, sign * G.power(G.where(at0, 1.0, sign * a), p - 1))
                return scaled * g * G.power(out, 1 - p)
            scaled = sign * G.power(sign * a, p - 1)
            return scaled * G.where(zero, 0.0, g / G.power(G.where(zero, 1.0, out), p - 1))


@register("norm")
def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """The vector p-norm over `dim` (all elements when None), as torch.norm: p a number (inf,
    -inf, 0, 1, 2, any float) or 'fro' (the 2-norm over at most 2 dims); 'nuc' is not supported.
    The gradient at 0 is 0, as torch."""
    _check(input, "norm")
    if out is not None:
        raise TypeError("norm: out= is not supported")
    input = _cast(input, dtype, "norm")
    if not dtypes.is_float(input.dtype):
        raise DtypeRuntimeError(f"norm(): expected a floating point input, got dtype {input.dtype}")
    if isinstance(p, str):
        if p == "nuc":
            raise NotImplementedError("norm: p='nuc' (the nuclear norm) is not supported")
        if p != "fro":
            raise ValueError(f"norm: p must be a number, 'fro' or 'nuc', got {p!r}")
        if dim is not None and not isinstance(dim, (int, np.integer)) and len(dim) > 2:
            raise ShapeRuntimeError(f"norm: p='fro' takes at most 2 dims, got dim={dim!r}")
        p = 2.0
    if p is None:
        p = 2.0
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"norm: p must be a number, 'fro' or 'nuc', got {p!r}")
    p = float(p)
    dims = _dims(dim, input.ndim, "norm")
    if math.isinf(p):
        if builtins.any(input.shape[d] == 0 for d in dims):
            raise IndexError("norm(): cannot compute the inf norm over an empty dim (the operation has no identity)")
        return _extreme("norm", input.abs(), dims if dims else (), keepdim, p > 0)
    if p == 1:
        return Sum.apply(input.abs(), dims, bool(keepdim))
    return VectorNorm.apply(input, p, dims, bool(keepdim))


@register("count_nonzero", differentiable=False)
def count_nonzero(input, dim=None):
    """Number of non-zero elements over `dim` (an int or a tuple; all when None), int64."""
    _check(input, "count_nonzero")
    dims = _dims(dim, input.ndim, "count_nonzero")
    a = input._data
    out = asarray((a != 0).sum(axis=dims), like=a)
    return _tensor_cls()._wrap(out.astype(np.int64, copy=False))
