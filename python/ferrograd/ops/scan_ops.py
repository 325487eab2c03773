"""Registry entries: scans along one dim (cumsum, cumprod, cummax, cummin, logcumsumexp) and diff.

Forwards use numpy's scans on cpu (np.cumsum, np.cumprod, ufunc.accumulate); on the wgpu device
np.cumsum/np.cumprod dispatch to the device's handlers, and the scans numpy has no function for
(running max with its index, log-add-exp) run as a Hillis-Steele scan: log2(n) elementwise passes
over shifted slices, with nothing read back. Backwards are written with these scans, flips and
`where`, so they differentiate again.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd import Function
from ..errors import ShapeRuntimeError
from . import _generic as G
from ._along import flip, take_along
from ._util import asarray
from .reduce_ops import _check, _one_dim, _tensor_cls
from .registry import register
from .return_types import values_indices


def _along_dim(input, dim, op):
    """(tensor, axis, was_0d): a 0-d input is viewed as 1-d, as torch scans it."""
    axis = _one_dim(dim, input.ndim, op)
    return (input.reshape(1), 0, True) if input.ndim == 0 else (input, axis, False)


def _cast_scan(input, dtype, op):
    """torch: `dtype=` converts first; bool and integer inputs accumulate in int64."""
    if dtype is not None:
        dt = dtypes.check_dtype(dtype, op)
        return input.to(dt) if dtypes.is_float(dt) else input.detach().to(dt)
    return input if dtypes.is_float(input.dtype) else input.detach().to(dtypes.int64)


# ---- cumsum and cumprod ---------------------------------------------------------------------------
class CumSum(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, axis):
        ctx.axis = axis
        return np.cumsum(a, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return _rev_cumsum(g, ctx.axis)


def _cumsum(x, axis):
    return CumSum.apply(x, axis) if G.is_tensor(x) else np.cumsum(x, axis=axis)


def _rev_cumsum(x, axis):
    """Sums from each position to the end along `axis`."""
    return flip(_cumsum(flip(x, axis), axis), axis)


class CumProd(Function):
    """Running product. Backward (torch's rule, exact with zeros): before the first zero along the
    dim, reversed-cumsum(g * out) / x; at the first zero, the reversed cumsum of g times the
    running product with that zero replaced by 1; after it, 0."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, axis):
        out = np.cumprod(a, axis=axis)
        ctx.save_for_backward(a, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved
        axis = ctx.axis
        zero = a == 0
        if type(a) is np.ndarray and not zero.any():
            return _rev_cumsum(g * out, axis) / a
        seen = _cumsum(G.astype(zero, a.dtype), axis)  # zeros up to and including each position
        before = seen == 0
        first = zero & (seen == 1)
        with np.errstate(all="ignore"):
            at_before = _rev_cumsum(g * out, axis) / G.where(before, a, 1.0)
            at_first = _rev_cumsum(g * _cumprod(G.where(first, 1.0, a), axis), axis)
        return G.where(before, at_before, G.where(first, at_first, 0.0))


def _cumprod(x, axis):
    return CumProd.apply(x, axis) if G.is_tensor(x) else np.cumprod(x, axis=axis)


@register("cumsum", inplace=True)
def cumsum(input, dim, *, dtype=None):
    """Running sum along `dim`, as torch.cumsum (bool and integer inputs give int64)."""
    x, axis, was_0d = _along_dim(_check(input, "cumsum"), dim, "cumsum")
    out = CumSum.apply(_cast_scan(x, dtype, "cumsum"), axis)
    return out.reshape(()) if was_0d else out


@register("cumprod", inplace=True)
def cumprod(input, dim, *, dtype=None):
    """Running product along `dim`, as torch.cumprod; the gradient is exact with zeros."""
    x, axis, was_0d = _along_dim(_check(input, "cumprod"), dim, "cumprod")
    out = CumProd.apply(_cast_scan(x, dtype, "cumprod"), axis)
    return out.reshape(()) if was_0d else out


# ---- scans numpy has no device function for ----------------------------------------------------
def _cut(a, axis, start, stop):
    return a[(slice(None),) * axis + (slice(start, stop),)]


def _hillis_steele(arrays, axis, combine):
    """Inclusive scan of a tuple of same-shaped arrays along `axis`: `combine(earlier, later)`
    (tuples) must be associative. log2(n) passes of elementwise work, for device arrays."""
    n = arrays[0].shape[axis]
    step = 1
    while step < n:
        merged = combine(tuple(_cut(a, axis, 0, n - step) for a in arrays), tuple(_cut(a, axis, step, n) for a in arrays))
        arrays = tuple(np.concatenate([_cut(a, axis, 0, step), m], axis=axis) for a, m in zip(arrays, merged))
        step *= 2
    return arrays


def running_max(a, axis):
    """np.maximum.accumulate along `axis`, for numpy and device arrays."""
    if type(a) is np.ndarray:
        return np.maximum.accumulate(a, axis=axis)
    return _hillis_steele((a,), axis, lambda e, l: (np.maximum(e[0], l[0]),))[0]


def _running_arg(a, axis, largest):
    """Index of the running max (min) along `axis`, the later index on ties and NaN winning, as
    torch.cummax."""
    n = a.shape[axis]
    positions = np.arange(n).reshape(tuple(n if d == axis else 1 for d in range(a.ndim)))
    is_float = a.dtype.kind == "f"
    if type(a) is np.ndarray:
        running = (np.maximum if largest else np.minimum).accumulate(a, axis=axis)
        hit = a == running
        if is_float:
            hit |= np.isnan(a)
        return np.maximum.accumulate(np.where(hit, positions, 0), axis=axis)

    def combine(earlier, later):
        (ev, ei), (lv, li) = earlier, later
        take = (ev > lv) if largest else (ev < lv)
        if is_float:
            take = take | (np.isnan(ev) & ~np.isnan(lv))
        return np.where(take, ev, lv), np.where(take, ei, li)

    idx = np.broadcast_to(asarray(positions, like=a), a.shape)
    return _hillis_steele((a, idx), axis, combine)[1]


def _cum_extreme(op, input, dim, largest):
    x, axis, was_0d = _along_dim(_check(input, op), dim, op)
    idx = asarray(_running_arg(x._data, axis, largest), like=x._data).astype(np.int64, copy=False)
    values = take_along(x, idx, axis)  # a gather: the gradient goes to the index, as torch
    indices = _tensor_cls()._wrap(idx)
    if was_0d:
        values, indices = values.reshape(()), indices.reshape(())
    return values_indices(values, indices)


@register("cummax")
def cummax(input, dim):
    """(values, indices) of the running maximum along `dim`, as torch.cummax."""
    return _cum_extreme("cummax", input, dim, True)


@register("cummin")
def cummin(input, dim):
    """(values, indices) of the running minimum along `dim`, as torch.cummin."""
    return _cum_extreme("cummin", input, dim, False)


def _logaddexp(x, y):
    """log(exp(x) + exp(y)) elementwise from device ufuncs (infinities handled)."""
    hi, lo = np.maximum(x, y), np.minimum(x, y)
    with np.errstate(all="ignore"):
        out = hi + np.log1p(np.exp(lo - hi))
    return np.where(np.isinf(hi), hi, out)


def _logcumsumexp_array(a, axis):
    if type(a) is np.ndarray:
        with np.errstate(invalid="ignore"):  # inf + inf: inf, with a warning numpy need not give
            return np.logaddexp.accumulate(a, axis=axis)
    return _hillis_steele((a,), axis, lambda e, l: (_logaddexp(e[0], l[0]),))[0]


class LogCumSumExp(Function):
    """log(cumsum(exp(x))) computed stably. Backward (torch's, after TensorFlow's): the positive
    and negative parts of g go through reversed logcumsumexps, so nothing overflows."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, axis):
        out = _logcumsumexp_array(a, axis)
        ctx.save_for_backward(a, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved
        axis = ctx.axis
        lowest = float(np.finfo(a.dtype).min)
        pos, neg = g > 0, g < 0
        with np.errstate(all="ignore"):
            log_pos = G.where(pos, G.log(G.where(pos, g, 1.0)), lowest)
            log_neg = G.where(neg, G.log(G.where(neg, -g, 1.0)), lowest)
            part_pos = G.exp(_rev_logcumsumexp(log_pos - out, axis) + a)
            part_neg = G.exp(_rev_logcumsumexp(log_neg - out, axis) + a)
        return part_pos - part_neg


def _rev_logcumsumexp(x, axis):
    scan = (lambda v: LogCumSumExp.apply(v, axis)) if G.is_tensor(x) else (lambda v: _logcumsumexp_array(v, axis))
    return flip(scan(flip(x, axis)), axis)


@register("logcumsumexp")
def logcumsumexp(input, dim):
    """log(cumsum(exp(input))) along `dim`, computed stably, as torch.logcumsumexp."""
    _check(input, "logcumsumexp")
    if not dtypes.is_float(input.dtype):
        from ..errors import DtypeRuntimeError

        raise DtypeRuntimeError(f"logcumsumexp(): expected a floating point input, got dtype {input.dtype}")
    x, axis, was_0d = _along_dim(input, dim, "logcumsumexp")
    out = LogCumSumExp.apply(x, axis)
    return out.reshape(()) if was_0d else out


# ---- diff ---------------------------------------------------------------------------------------
@register("diff")
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """n-th forward difference along `dim` (after joining `prepend` and `append`), as torch.diff;
    bool inputs give x[i+1] != x[i]."""
    from ..tensor import cat

    T = _tensor_cls()
    _check(input, "diff")
    if input.ndim == 0:
        raise ShapeRuntimeError("diff: expects input to be at least one-dimensional")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"diff: n must be an int, got {n!r}")
    if n < 0:
        raise ShapeRuntimeError(f"diff: order must be non-negative but got {n}")
    axis = _one_dim(dim, input.ndim, "diff")
    parts = []
    for name, extra in (("prepend", prepend), ("input", input), ("append", append)):
        if extra is None:
            continue
        if not isinstance(extra, T):
            raise TypeError(f"diff(): argument '{name}' must be Tensor, not {type(extra).__name__}")
        if extra.ndim != input.ndim or any(a != b for d, (a, b) in enumerate(zip(extra.shape, input.shape)) if d != axis):
            raise ShapeRuntimeError(
                f"diff: {name} of shape {tuple(extra.shape)} must match input {tuple(input.shape)} in every dim but {axis}"
            )
        parts.append(extra)
    x = cat(parts, axis) if len(parts) > 1 else input
    lead = (slice(None),) * axis
    for _ in range(n):
        if x.shape[axis] == 0:
            break
        hi, lo = x[lead + (slice(1, None),)], x[lead + (slice(None, -1),)]
        x = hi != lo if x.dtype == dtypes.bool_ else hi - lo
    return x.clone() if x is input else x
