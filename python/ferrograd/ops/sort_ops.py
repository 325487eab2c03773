"""Registry entries: sorting and searching (sort, argsort, msort, topk, kthvalue, median, mode,
unique, unique_consecutive, bincount, histc, searchsorted, bucketize).

Every order is stable: ties keep their input order, ascending or descending, and NaN sorts as the
largest value (torch's stable=True; torch's default order on ties is unspecified, this is one of
them). Values are gathered at the sorted indices, so gradients go back to where values came from.
On the wgpu device the sort runs there (ferrograd.wgpu.sort, or np.argsort's device handler);
only ops whose output size depends on the data (unique, unique_consecutive, bincount's length,
histc's data range) read values back, as torch does on CUDA.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import dtypes
from ..errors import DtypeRuntimeError, ShapeRuntimeError
from ._along import flip, take_along
from ._util import asarray, to_host
from .reduce_ops import Select, _check, _one_dim, _reduced_shape, _tensor_cls
from .registry import register
from .return_types import values_indices
from .scan_ops import _along_dim, _cut, running_max


def _device_sort():
    try:
        from ..wgpu import sort as device_sort
    except ImportError:
        return None
    return device_sort


def argsort_array(a, axis, descending):
    """Stable sorting order of `a` along `axis` (int64), for numpy and device arrays."""
    if type(a) is not np.ndarray:
        dev = _device_sort()
        if dev is not None:
            return dev.sort(a, axis, descending, True)[1]
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    # Descending and stable: sort the reversed array ascending, then reverse back; ties come out
    # in input order and NaN first, as torch.
    n = a.shape[axis]
    order = np.argsort(flip(a, axis), axis=axis, kind="stable")
    return (n - 1) - flip(order, axis)


def _order(x, axis, descending):
    a = x._data
    return asarray(argsort_array(a, axis, descending), like=a).astype(np.int64, copy=False)


def _finish(values, idx, was_0d, keep_shape=None):
    """(values, indices) as a named tuple, reshaped to `keep_shape` (or 0-d for a 0-d input)."""
    indices = _tensor_cls()._wrap(idx)
    if was_0d:
        values, indices = values.reshape(()), indices.reshape(())
    elif keep_shape is not None:
        values, indices = values.reshape(keep_shape), indices.reshape(keep_shape)
    return values_indices(values, indices)


def _bool_arg(value, name, op):
    if value is not None and not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be a bool, got {value!r}")
    return bool(value)


# ---- sort ----------------------------------------------------------------------------------------
@register("sort")
def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along `dim`, as torch.sort (always stable: see the module doc)."""
    _bool_arg(stable, "stable", "sort")
    x, axis, was_0d = _along_dim(_check(input, "sort"), dim, "sort")
    idx = _order(x, axis, _bool_arg(descending, "descending", "sort"))
    return _finish(take_along(x, idx, axis, unique=True), idx, was_0d)


@register("argsort", differentiable=False)
def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort `input` along `dim`, as torch.argsort (stable)."""
    _bool_arg(stable, "stable", "argsort")
    x, axis, was_0d = _along_dim(_check(input, "argsort"), dim, "argsort")
    idx = _tensor_cls()._wrap(_order(x, axis, _bool_arg(descending, "descending", "argsort")))
    return idx.reshape(()) if was_0d else idx


@register("msort")
def msort(input):
    """`input` sorted along dim 0, as torch.msort."""
    return sort(_check(input, "msort"), 0).values


@register("topk")
def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """The k largest (smallest) elements along `dim` and their indices, as torch.topk; always in
    sorted order, ties by lower index first."""
    x, axis, was_0d = _along_dim(_check(input, "topk"), dim, "topk")
    n = x.shape[axis]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"topk: k must be an int, got {k!r}")
    if not 0 <= k <= n:
        raise ShapeRuntimeError(f"topk: selected index k out of range (k={k}, dim {axis} has size {n})")
    if was_0d:
        k = 1
    idx = _cut(_order(x, axis, _bool_arg(largest, "largest", "topk")), axis, 0, k)
    return _finish(take_along(x, idx, axis, unique=True), idx, was_0d)


@register("kthvalue")
def kthvalue(input, k, dim=-1, keepdim=False):
    """The k-th smallest element (k from 1) along `dim` and its index, as torch.kthvalue."""
    x, axis, was_0d = _along_dim(_check(input, "kthvalue"), dim, "kthvalue")
    n = x.shape[axis]
    if n == 0:
        raise IndexError(f"kthvalue(): Expected reduction dim {axis} to have non-zero size.")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"kthvalue: k must be an int, got {k!r}")
    if not 1 <= k <= n:
        raise ShapeRuntimeError(f"kthvalue(): selected number k={k} out of range for dimension {axis} of size {n}")
    idx = _cut(_order(x, axis, False), axis, k - 1, k)
    keep = None if keepdim else _reduced_shape(x.shape, (axis,), False)
    return _finish(take_along(x, idx, axis), idx, was_0d, keep)


# ---- median and mode ----------------------------------------------------------------------------
@register("median")
def median(input, dim=None, keepdim=False):
    """torch.median: without `dim` the lower median of all elements (NaN if there is one; ties
    share the gradient); with `dim` the named tuple (values, indices) along it."""
    _check(input, "median")
    if dim is None:
        if keepdim:
            raise TypeError("median(): keepdim needs a dim")
        return _median_all(input)
    x, axis, was_0d = _along_dim(input, dim, "median")
    n = x.shape[axis]
    if n == 0:
        raise IndexError(f"median(): Expected reduction dim {axis} to have non-zero size.")
    a = x._data
    order = _order(x, axis, False)
    shape = _reduced_shape(x.shape, (axis,), True)
    pos = asarray(np.full(shape, (n - 1) // 2, np.int64), like=a)
    if a.dtype.kind == "f":  # a NaN in the row: its first NaN (sorted after every number)
        numbers_ = (a == a).sum(axis=axis, keepdims=True)
        pos = np.where(numbers_ < n, numbers_, pos).astype(np.int64, copy=False)
    idx = np.take_along_axis(order, pos, axis=axis)
    keep = None if keepdim else _reduced_shape(x.shape, (axis,), False)
    return _finish(take_along(x, idx, axis), idx, was_0d, keep)


def _median_all(input):
    n = input.numel()
    a = input._data
    if n == 0:
        if not dtypes.is_float(input.dtype):
            raise ShapeRuntimeError("median(): cannot take the median of an empty integer tensor")
        return _tensor_cls()._wrap(asarray(np.full((), np.nan, input.dtype), like=a))
    flat = a.reshape(-1)
    ordered = np.take_along_axis(flat, asarray(argsort_array(flat, 0, False), like=a).astype(np.int64, copy=False), axis=0)
    value = ordered[(n - 1) // 2 : (n - 1) // 2 + 1]
    if a.dtype.kind == "f":
        last = ordered[n - 1 : n]
        value = np.where(np.isnan(last), last, value)
    dims = tuple(range(input.ndim))
    return Select.apply(input, value.reshape((1,) * input.ndim), dims, False, True)


@register("mode")
def mode(input, dim=-1, keepdim=False):
    """The most frequent value along `dim` (the smallest among equally frequent ones) and the
    index of its last occurrence, as torch.mode."""
    x, axis, was_0d = _along_dim(_check(input, "mode"), dim, "mode")
    n = x.shape[axis]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {axis} to have non-zero size.")
    a = x._data
    order = _order(x, axis, False)
    ordered = np.take_along_axis(a, order, axis=axis)
    # Runs of equal values in sorted order: run length so far at each position; the first
    # position reaching the longest length ends the longest run of the smallest value, and the
    # stable sort puts that value's last occurrence there.
    starts = np.concatenate(
        [np.ones_like(_cut(ordered, axis, 0, 1), dtype=np.bool_), _cut(ordered, axis, 1, n) != _cut(ordered, axis, 0, n - 1)],
        axis=axis,
    )
    positions = asarray(np.arange(n, dtype=np.int64).reshape(tuple(n if d == axis else 1 for d in range(a.ndim))), like=a)
    run_start = running_max(np.where(starts, positions, 0), axis)
    best = np.argmax(positions - run_start, axis=axis, keepdims=True)
    idx = np.take_along_axis(order, asarray(best, like=a).astype(np.int64, copy=False), axis=axis)
    keep = None if keepdim else _reduced_shape(x.shape, (axis,), False)
    return _finish(take_along(x, idx, axis), idx, was_0d, keep)


# ---- unique -------------------------------------------------------------------------------------
def _upload(array, like):
    return _tensor_cls()._wrap(asarray(array, like=like))


def _unique_result(values, inverse, counts, like, return_inverse, return_counts):
    out = [_upload(values, like)]
    if return_inverse:
        out.append(_upload(inverse.astype(np.int64), like))
    if return_counts:
        out.append(_upload(counts.astype(np.int64), like))
    return out[0] if len(out) == 1 else tuple(out)


@register("unique", differentiable=False)
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct elements (or slices along `dim`) in ascending order, with the inverse indices
    and counts on request, as torch.unique (NaNs are each distinct, as torch). The output size
    depends on the data: a wgpu input is read back and the result uploaded."""
    _check(input, "unique")
    a = to_host(input._data)
    if dim is None:
        values, inverse, counts = np.unique(a.reshape(-1), return_inverse=True, return_counts=True, equal_nan=False)
        inverse = inverse.reshape(a.shape)
    else:
        axis = _one_dim(dim, input.ndim, "unique")
        if input.ndim == 0:
            raise IndexError("unique: dim given for a 0-d tensor")
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=axis)
        inverse = inverse.reshape(-1)
    return _unique_result(values, inverse, counts, input._data, return_inverse, return_counts)


@register("unique_consecutive", differentiable=False)
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse each run of equal consecutive elements (or slices along `dim`) to one, as
    torch.unique_consecutive; a wgpu input is read back (the output size depends on the data)."""
    _check(input, "unique_consecutive")
    a = to_host(input._data)
    if dim is None:
        moved, shape = a.reshape(-1), a.shape
    else:
        if input.ndim == 0:
            raise IndexError("unique_consecutive: dim given for a 0-d tensor")
        axis = _one_dim(dim, input.ndim, "unique_consecutive")
        moved, shape = np.moveaxis(a, axis, 0), (a.shape[axis],)
    m = moved.shape[0]
    change = (moved[1:] != moved[:-1]).reshape(m - 1, -1).any(axis=1) if m > 1 else np.zeros(0, bool)
    starts = np.concatenate([np.ones(min(m, 1), bool), change])
    first = np.flatnonzero(starts)
    values = moved[first] if dim is None else np.moveaxis(moved[first], 0, axis)
    inverse = (np.cumsum(starts) - 1).reshape(shape)
    counts = np.diff(np.append(first, m))
    return _unique_result(values, inverse, counts, input._data, return_inverse, return_counts)


# ---- counting -----------------------------------------------------------------------------------
@register("bincount", differentiable=False)
def bincount(input, weights=None, minlength=0):
    """Occurrences of each value 0..max of a 1-d non-negative integer tensor (summed `weights`
    instead of counts when given), as torch.bincount. Its length depends on the data, so a wgpu
    input's largest value is read back; int weights give float64 on cpu and float32 on wgpu."""
    T = _tensor_cls()
    _check(input, "bincount")
    if input.dtype not in (dtypes.int32, dtypes.int64):
        raise DtypeRuntimeError(f"bincount: only supports 1-d non-negative integral inputs, got dtype {input.dtype}")
    if input.ndim != 1:
        raise ShapeRuntimeError(f"bincount: only supports 1-d non-negative integral inputs, got shape {tuple(input.shape)}")
    if isinstance(minlength, bool) or not isinstance(minlength, (int, np.integer)):
        raise TypeError(f"bincount: minlength must be an int, got {minlength!r}")
    if minlength < 0:
        raise ValueError(f"bincount: minlength should be >= 0, got {minlength}")
    if weights is not None:
        if not isinstance(weights, T):
            raise TypeError(f"bincount: weights must be a Tensor, got {type(weights).__name__}")
        if weights.ndim != 1 or weights.shape[0] != input.shape[0]:
            raise ShapeRuntimeError(
                f"bincount: weights should be 1-d and have the same length as input, got {tuple(weights.shape)} for {tuple(input.shape)}"
            )
        if type(weights._data) is not type(input._data):
            raise ValueError(f"bincount: input is on {input.device}, weights on {weights.device}")
    a = input._data
    length = minlength
    if input.numel():
        lo, hi = int(a.min().item()), int(a.max().item())
        if lo < 0:
            raise ValueError(f"bincount: only supports non-negative inputs, got the value {lo}")
        length = max(hi + 1, minlength)
    out_dtype = np.dtype(np.int64) if weights is None else weights.dtype if dtypes.is_float(weights.dtype) else np.dtype(np.float64)
    if type(a) is np.ndarray:
        w = None if weights is None else weights.detach()._data
        return T._wrap(np.bincount(a, weights=w, minlength=length).astype(out_dtype))
    from . import _generic as G

    src = (np.ones_like(a, dtype=np.int64) if weights is None else weights._data).astype(
        np.int64 if weights is None else np.float32, copy=False
    )
    return T._wrap(G.scatter_add_into((length,), 0, a, src))


@register("histc", differentiable=False)
def histc(input, bins=100, min=0, max=0):  # noqa: A002
    """Histogram of `bins` equal-width bins over [min, max] (the data's range when min == max),
    elements outside ignored, as torch.histc (same binning arithmetic, in the input dtype)."""
    _check(input, "histc")
    if not dtypes.is_float(input.dtype):
        raise DtypeRuntimeError(f"histc: expected a floating point input, got dtype {input.dtype}")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)):
        raise TypeError(f"histc: bins must be an int, got {bins!r}")
    if bins <= 0:
        raise ShapeRuntimeError(f"histc(): bins must be > 0, but got {bins}")
    lo, hi = float(min), float(max)
    a = input._data.reshape(-1)
    if lo == hi and a.size:  # the data's range (two values read back on wgpu, as torch on CUDA)
        lo, hi = float(a.min().item()), float(a.max().item())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ShapeRuntimeError(f"histc: range of [{lo}, {hi}] is not finite")
    if lo > hi:
        raise ShapeRuntimeError(f"histc: max must be larger than min (got min={min}, max={max})")
    dt = input.dtype.type
    left, right = dt(lo), dt(hi)
    inside = (a >= left) & (a <= right)
    with np.errstate(all="ignore"):
        pos = np.where(inside, (a - left) * bins / (right - left), 0)
    pos = np.minimum(pos.astype(np.int64), bins - 1)
    slot = np.where(inside, pos, bins)  # outside and NaN: an extra bin, dropped
    if type(a) is np.ndarray:
        counts = np.bincount(slot, minlength=bins + 1)[:bins].astype(input.dtype)
    else:
        from . import _generic as G

        counts = G.scatter_add_into((bins + 1,), 0, slot, np.ones_like(a))[:bins]
    return _tensor_cls()._wrap(counts)


# ---- searching ----------------------------------------------------------------------------------
def _less(x, y):
    """x < y with NaN the largest value (numpy's and torch's sort order)."""
    out = x < y
    if np.result_type(x.dtype, y.dtype).kind == "f":
        out = out | (np.isnan(y) & ~np.isnan(x))
    return out


def _search(seq, vals, right):
    """Insertion points of `vals` in the rows of the sorted `seq` (its leading dims match vals')."""
    if type(seq) is np.ndarray:
        side = "right" if right else "left"
        if seq.ndim == 1:
            return np.searchsorted(seq, vals, side=side)
        rows_seq = seq.reshape(-1, seq.shape[-1])
        rows_val = vals.reshape(rows_seq.shape[0], -1)
        return np.stack([np.searchsorted(s, v, side=side) for s, v in zip(rows_seq, rows_val)]).reshape(vals.shape)
    dev = _device_sort()
    if dev is not None:
        return dev.searchsorted(seq, vals, "right" if right else "left")
    # No device sort module: count the boundaries before each value (a compare and a sum per pair).
    s = seq.reshape((1,) * vals.ndim + seq.shape) if seq.ndim == 1 else seq.reshape(seq.shape[:-1] + (1, seq.shape[-1]))
    v = vals.reshape(vals.shape + (1,))
    before = ~_less(v, s) if right else _less(s, v)
    return before.sum(axis=-1)


@register("searchsorted", method=False, differentiable=False)
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Where each value of `input` would be inserted into the last dim of `sorted_sequence` to
    keep it sorted (`right` / side='right': after equal values), as torch.searchsorted."""
    T = _tensor_cls()
    op = "searchsorted"
    _check(sorted_sequence, op)
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted(): side can only be 'left' or 'right' but got {side!r}")
        if right and side == "left":
            raise ValueError("searchsorted(): side and right can't be set to opposites, got side of left while right was True")
        right = side == "right"
    if sorted_sequence.ndim == 0:
        raise ShapeRuntimeError("searchsorted(): boundaries tensor should have positive dimension, but got 0 dimension")
    if isinstance(input, T):
        values = input
    elif isinstance(input, numbers.Real) and not isinstance(input, bool):
        if sorted_sequence.ndim != 1:
            raise ShapeRuntimeError("searchsorted(): input value can be a scalar only when boundaries tensor dimension is 1")
        from ..tensor import tensor

        values = tensor(input, device=sorted_sequence.device)
    else:
        raise TypeError(f"searchsorted: input must be a Tensor or a number, got {type(input).__name__}")
    if type(values._data) is not type(sorted_sequence._data):
        raise ValueError(f"searchsorted: sorted_sequence is on {sorted_sequence.device}, input on {values.device}")
    if sorted_sequence.ndim > 1 and tuple(sorted_sequence.shape[:-1]) != tuple(values.shape[:-1]):
        raise ShapeRuntimeError(
            "searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries tensor "
            f"and input value tensor must match, but we got boundaries tensor {list(sorted_sequence.shape)} and input "
            f"value tensor {list(values.shape)}"
        )
    seq = sorted_sequence._data
    if sorter is not None:
        if not isinstance(sorter, T) or sorter.dtype not in (dtypes.int32, dtypes.int64) or sorter.shape != sorted_sequence.shape:
            raise ShapeRuntimeError(f"searchsorted(): sorter must be an integer tensor of the boundaries' shape {tuple(sorted_sequence.shape)}")
        seq = np.take_along_axis(seq, sorter._data.astype(np.int64, copy=False), axis=-1)
    out = asarray(_search(seq, values._data, bool(right)), like=seq)
    return T._wrap(out.astype(np.int32 if out_int32 else np.int64, copy=False))


@register("bucketize", method=False, differentiable=False)
def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value of `input` among the sorted 1-d `boundaries` (right=False:
    boundaries[i-1] < x <= boundaries[i]), as torch.bucketize."""
    _check(boundaries, "bucketize")
    if boundaries.ndim != 1:
        raise ShapeRuntimeError(f"bucketize: boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)
