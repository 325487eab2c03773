"""Table rows: sorting, selection and searching (ops/sort_ops.py). References are written
independently of the implementation: orders from numpy's stable argsort on keys, medians and
modes by looping over rows."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
from optable import Case, Row


def _order(a, axis, descending):
    """Stable order along axis; descending keeps ties in input order and puts NaN first (before
    +inf, as torch), by sorting on (not NaN, -a)."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    a = a.astype(np.float64)
    return np.lexsort((-a, ~np.isnan(a)), axis=axis)


def _sort_cases(rng):
    nans = rng.standard_normal((3, 6))
    nans[0, 1] = nans[2, 4] = nans[2, 0] = np.nan
    return {
        "random": Case((rng.standard_normal((3, 5)),)),
        "empty": Case((np.zeros((0, 3)),)),
        "descending": Case((rng.standard_normal((3, 5)), 1, True)),
        "dim0": Case((rng.standard_normal((4, 3)), 0)),
        "ties": Case((rng.integers(0, 3, (3, 8)), -1, False, True)),
        "ties_descending": Case((rng.integers(0, 3, (3, 8)),), {"descending": True, "stable": True}),
        "nan": Case((nans,)),
        "nan_descending": Case((nans, 1, True)),
        "bool": Case((rng.random((2, 7)) > 0.5,)),
        "long": Case((rng.standard_normal((2, 2500)),)),
        "scalar": Case((np.array(3.0),)),
    }


def _sort_ref(a, dim=-1, descending=False, stable=False):
    if a.ndim == 0:
        return a, np.zeros((), np.int64)
    idx = _order(a, dim, descending)
    return np.take_along_axis(a, idx, axis=dim), idx.astype(np.int64)


def _argsort_ref(*args, **kwargs):
    return _sort_ref(*args, **kwargs)[1]


def _topk_cases(rng):
    nans = rng.standard_normal((2, 6))
    nans[1, 3] = np.nan
    return {
        "random": Case((rng.standard_normal((3, 5)), 2)),
        "empty": Case((np.zeros((0, 4)), 2)),
        "smallest": Case((rng.standard_normal((3, 5)), 3), {"largest": False}),
        "dim0": Case((rng.standard_normal((5, 3)), 2, 0)),
        "k0": Case((rng.standard_normal((3, 5)), 0)),
        "all": Case((rng.standard_normal((3, 5)), 5, -1, False)),
        "ties": Case((rng.integers(0, 3, (3, 8)), 4)),  # lower index first on ties
        "nan": Case((nans, 2)),  # NaN counts as the largest
    }


def _topk_ref(a, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    idx = np.take(_order(a, dim, largest), np.arange(k), axis=dim)
    return np.take_along_axis(a, idx, axis=dim), idx.astype(np.int64)


def _kth_cases(rng):
    nans = rng.standard_normal((2, 5))
    nans[0, 2] = np.nan
    return {
        "random": Case((rng.standard_normal((3, 5)), 2)),
        "empty": Case((np.zeros((0, 4)), 1)),
        "dim0_keepdim": Case((rng.standard_normal((4, 3)), 4, 0, True)),
        "ties": Case((rng.integers(0, 3, (3, 7)), 3)),
        "nan": Case((nans, 5)),
        "scalar": Case((np.array(1.5), 1)),
    }


def _kth_ref(a, k, dim=-1, keepdim=False):
    if a.ndim == 0:
        return a, np.zeros((), np.int64)
    idx = np.take(_order(a, dim, False), [k - 1], axis=dim)
    values = np.take_along_axis(a, idx, axis=dim)
    if not keepdim:
        values, idx = np.squeeze(values, dim), np.squeeze(idx, dim)
    return values, idx.astype(np.int64)


def _median_cases(rng):
    nans = rng.standard_normal((3, 6))
    nans[1, 2] = nans[1, 4] = np.nan
    return {
        "random": Case((rng.standard_normal((3, 4)),)),
        "empty": Case((np.zeros((0,)),)),
        "odd": Case((rng.standard_normal((5,)),)),
        "nan_all": Case((nans,)),
        "dim": Case((rng.standard_normal((3, 6)), 1)),
        "dim0_keepdim": Case((rng.standard_normal((5, 3)), 0, True)),
        "nan_dim": Case((nans, 1)),  # a row with NaN: NaN at its first NaN, as torch
        "ties": Case((rng.integers(0, 3, (3, 6)), 1)),  # the first index of the median value
        "int_all": Case((rng.integers(0, 9, (4, 4)),)),
        "empty_rows": Case((np.zeros((0, 3)), 1)),
    }


def _median_ref(a, dim=None, keepdim=False):
    if dim is None:
        flat = a.reshape(-1)
        if flat.size == 0:
            return np.array(np.nan, a.dtype)
        if np.isnan(flat.astype(np.float64)).any():
            return np.array(np.nan, a.dtype)
        return np.sort(flat)[(flat.size - 1) // 2]
    x = np.moveaxis(a, dim, -1)
    values = np.zeros(x.shape[:-1], a.dtype)
    idx = np.zeros(x.shape[:-1], np.int64)
    for row in np.ndindex(x.shape[:-1]):
        r = x[row]
        order = np.argsort(r, kind="stable")
        nan = np.isnan(r.astype(np.float64))
        pos = int((~nan).sum()) if nan.any() else (r.size - 1) // 2
        idx[row] = order[pos]
        values[row] = r[order[pos]]
    if keepdim:
        values, idx = np.expand_dims(values, dim), np.expand_dims(idx, dim)
    return values, idx


def _mode_cases(rng):
    return {
        "random": Case((rng.standard_normal((3, 5)),)),
        "ints": Case((rng.integers(0, 4, (4, 9)),)),
        "torch_example": Case((np.array([[2.0, 1.0, 2.0, 5.0, 1.0, 3.0, 1.0, 2.0]]), 1)),
        "dim0_keepdim": Case((rng.integers(0, 3, (7, 3)), 0, True)),
        "bool": Case((rng.random((2, 7)) > 0.5,)),
        "scalar": Case((np.array(4.0),)),
        "empty_rows": Case((np.zeros((0, 3)),)),
    }


def _mode_ref(a, dim=-1, keepdim=False):
    if a.ndim == 0:
        return a, np.zeros((), np.int64)
    x = np.moveaxis(a, dim, -1)
    values = np.zeros(x.shape[:-1], a.dtype)
    idx = np.zeros(x.shape[:-1], np.int64)
    for row in np.ndindex(x.shape[:-1]):
        r = list(x[row])
        counts = Counter(r)
        best = min(counts, key=lambda v: (-counts[v], v))
        values[row] = best
        idx[row] = max(i for i, v in enumerate(r) if v == best)
    if keepdim:
        values, idx = np.expand_dims(values, dim), np.expand_dims(idx, dim)
    return values, idx


def _unique_cases(rng):
    rows = rng.integers(0, 2, (6, 2))
    return {
        "random": Case((rng.integers(0, 5, (3, 4)),)),
        "empty": Case((np.zeros((0,)),)),
        "inverse_counts": Case((rng.integers(0, 5, (3, 4)),), {"return_inverse": True, "return_counts": True}),
        "floats": Case((np.round(rng.standard_normal((4, 3)), 1),), {"return_counts": True}),
        "nan": Case((np.array([1.0, np.nan, 2.0, np.nan, 1.0]),)),  # each NaN is distinct, as torch
        "dim0": Case((rows,), {"dim": 0, "return_inverse": True, "return_counts": True}),
        "dim1": Case((rows.T.copy(),), {"dim": 1, "return_inverse": True}),
        "scalar": Case((np.array(3),), {"return_inverse": True}),
    }


def _unique_ref(a, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    if dim is None:
        values, inverse, counts = np.unique(a.reshape(-1), return_inverse=True, return_counts=True, equal_nan=False)
        inverse = inverse.reshape(a.shape)
    else:
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=dim)
        inverse = inverse.reshape(-1)
    extra = ([inverse.astype(np.int64)] if return_inverse else []) + ([counts.astype(np.int64)] if return_counts else [])
    return tuple([values] + extra) if extra else values


def _uc_cases(rng):
    runs = np.array([3, 3, 1, 1, 1, 3, 2, 2])
    slices = np.array([[1, 2], [1, 2], [3, 4], [1, 2], [1, 2]])
    return {
        "random": Case((runs,)),
        "empty": Case((np.zeros((0,), np.int64),)),
        "inverse_counts": Case((runs.reshape(2, 4),), {"return_inverse": True, "return_counts": True}),
        "floats": Case((np.array([0.5, 0.5, -1.0, 0.5]),), {"return_counts": True}),
        "dim0": Case((slices,), {"dim": 0, "return_inverse": True, "return_counts": True}),
        "dim1": Case((slices.T.copy(),), {"dim": 1, "return_counts": True}),
    }


def _uc_ref(a, return_inverse=False, return_counts=False, dim=None):
    if dim is None:
        items, shape = list(a.reshape(-1)), a.shape
        key = lambda i: items[i]  # noqa: E731
    else:
        moved = np.moveaxis(a, dim, 0)
        items, shape = [tuple(s.reshape(-1)) for s in moved], (a.shape[dim],)
        key = lambda i: items[i]  # noqa: E731
    groups = [list(g) for _, g in itertools.groupby(range(len(items)), key=key)]
    first = [g[0] for g in groups]
    if dim is None:
        values = a.reshape(-1)[first]
    else:
        values = np.take(a, first, axis=dim)
    inverse = np.repeat(np.arange(len(groups)), [len(g) for g in groups]).reshape(shape).astype(np.int64)
    counts = np.array([len(g) for g in groups], np.int64)
    extra = ([inverse] if return_inverse else []) + ([counts] if return_counts else [])
    return tuple([values] + extra) if extra else values


def _bincount_cases(rng):
    idx = rng.integers(0, 6, 20)
    return {
        "random": Case((idx,)),
        "empty": Case((np.zeros((0,), np.int64),), {"minlength": 3}),
        "weights": Case((idx, rng.standard_normal(20))),
        "minlength": Case((idx,), {"minlength": 10}),
        "int32": Case((idx.astype(np.int32),)),
        "int_weights": Case((idx, rng.integers(-3, 4, 20))),
    }


def _bincount_ref(a, weights=None, minlength=0):
    out = np.bincount(a, weights=weights, minlength=minlength)
    if weights is None:
        return out.astype(np.int64)
    return out.astype(weights.dtype if weights.dtype.kind == "f" else np.float64)


def _histc_cases(rng):
    x = rng.standard_normal((4, 5))
    nans = x.copy()
    nans[0, 0] = np.nan
    return {
        "random": Case((x,), {"bins": 7}),
        "empty": Case((np.zeros((0,)),), {"bins": 4}),
        "default_bins": Case((x,)),
        "range": Case((x,), {"bins": 4, "min": -1.0, "max": 1.0}),  # outside ignored
        "equal": Case((np.full((5,), 2.0),), {"bins": 4}),  # range [1, 3]
        "nan_ignored": Case((nans,), {"bins": 5, "min": -3, "max": 3}),
        "edges": Case((np.linspace(0, 1, 101),), {"bins": 10, "min": 0, "max": 1}),
    }


def _histc_ref(a, bins=100, min=0, max=0):  # noqa: A002
    a = a.reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    dt = a.dtype.type
    left, right = dt(lo), dt(hi)
    out = np.zeros(bins, a.dtype)
    for v in a:  # torch's loop: (x - left) * bins / (right - left), the last edge in the last bin
        if not (v >= left and v <= right):
            continue
        pos = int((v - left) * dt(bins) / (right - left))
        out[pos if pos < bins else bins - 1] += 1
    return out


def _search_cases(rng):
    seq = np.sort(rng.integers(0, 9, 6)).astype(np.float64)
    rows = np.sort(rng.standard_normal((3, 5)), axis=1)
    nan_seq = np.array([1.0, 3.0, 5.0, np.nan])
    return {
        "random": Case((rows, rng.standard_normal((3, 4)))),
        "empty": Case((seq, np.zeros((0,)))),
        "broadcast_1d": Case((seq, rng.integers(-1, 10, (2, 3)).astype(np.float64))),
        "right": Case((seq, seq[::2].copy()), {"right": True}),
        "side_right": Case((seq, seq[::2].copy()), {"side": "right"}),
        "scalar": Case((seq, 3.0)),
        "int32": Case((np.array([1, 3, 5, 7]), np.array([[3, 6, 9], [0, 7, 1]])), {"out_int32": True}),
        "sorter": Case((np.array([5.0, 1.0, 3.0]), np.array([0.0, 2.0, 4.0, 6.0])), {"sorter": np.array([1, 2, 0])}),
        "nan": Case((nan_seq, np.array([np.nan, 9.0, 2.0]))),
    }


def _search_ref(seq, values, *, out_int32=False, right=False, side=None, sorter=None):
    side = side or ("right" if right else "left")
    if sorter is not None:
        seq = seq[sorter]
    values = np.asarray(values)
    if seq.ndim == 1:
        out = np.searchsorted(seq, values, side=side)
    else:
        out = np.stack([np.searchsorted(s, v, side=side) for s, v in zip(seq, values)])
    return np.asarray(out).astype(np.int32 if out_int32 else np.int64)


def _bucket_cases(rng):
    b = np.array([-1.0, 0.0, 0.5, 2.0])
    return {
        "random": Case((rng.standard_normal((3, 4)), b)),
        "empty": Case((np.zeros((0, 2)), b)),
        "right": Case((np.array([[-1.0, 0.0, 3.0], [0.5, 0.2, -2.0]]), b), {"right": True}),
        "left_edges": Case((np.array([-1.0, 0.0, 0.5, 2.0]), b)),
        "scalar": Case((0.5, b)),
        "ints": Case((np.array([[3, 6, 9], [1, 7, 5]]), np.array([1, 3, 5, 7])), {"out_int32": True}),
    }


def _bucket_ref(x, boundaries, *, out_int32=False, right=False):
    out = np.asarray(np.searchsorted(boundaries, x, side="right" if right else "left"))
    return out.astype(np.int32 if out_int32 else np.int64)


_WHY_NO_EMPTY = "an empty dim has no element to pick (IndexError, tested in bad)"

ROWS = {
    "sort": Row(samples=_sort_cases, ref=_sort_ref,
                bad=[((np.ones((2, 2)), 2), {}, IndexError, "sort"), ((np.ones(3),), {"descending": "yes"}, TypeError, "descending")]),
    "argsort": Row(samples=_sort_cases, ref=_argsort_ref, grad=False, bad=[((np.ones(3), 1), {}, IndexError, "argsort")]),
    "msort": Row(samples=lambda rng: {"random": Case((rng.standard_normal((4, 3)),)), "empty": Case((np.zeros((0, 3)),)),
                                      "ints": Case((rng.integers(0, 4, (5, 2)),))},
                 ref=lambda a: np.sort(a, axis=0), bad=[((np.ones(3).tolist(),), {}, TypeError, "msort")]),
    "topk": Row(samples=_topk_cases, ref=_topk_ref,
                bad=[((np.ones((2, 3)), 4), {}, RuntimeError, "out of range"), ((np.ones((2, 3)), -1), {}, RuntimeError, "topk"),
                     ((np.ones((2, 3)), 1.5), {}, TypeError, "topk")]),
    "kthvalue": Row(samples=_kth_cases, ref=_kth_ref,
                    bad=[((np.ones((2, 3)), 0), {}, RuntimeError, "kthvalue"), ((np.ones((2, 3)), 4), {}, RuntimeError, "out of range"),
                         ((np.zeros((2, 0)), 1), {}, IndexError, "kthvalue")]),
    "median": Row(samples=_median_cases, ref=_median_ref,
                  bad=[((np.zeros((2, 0)), 1), {}, IndexError, "median"), ((np.ones((2, 3)),), {"keepdim": True}, TypeError, "median")]),
    "mode": Row(samples=_mode_cases, ref=_mode_ref, why_no_empty=_WHY_NO_EMPTY,
                bad=[((np.zeros((2, 0)),), {}, IndexError, "mode"), ((np.ones((2, 2)), 5), {}, IndexError, "mode")]),
    "unique": Row(samples=_unique_cases, ref=_unique_ref, grad=False, bad=[((np.ones((2, 2)),), {"dim": 2}, IndexError, "unique")]),
    "unique_consecutive": Row(samples=_uc_cases, ref=_uc_ref, grad=False,
                              bad=[((np.ones((2, 2)),), {"dim": -3}, IndexError, "unique_consecutive")]),
    "bincount": Row(samples=_bincount_cases, ref=_bincount_ref, grad=False,
                    bad=[((np.array([1, -1]),), {}, ValueError, "non-negative"), ((np.ones(2),), {}, TypeError, "bincount"),
                         ((np.ones((2, 2), np.int64),), {}, RuntimeError, "1-d"), ((np.array([1, 2]),), {"minlength": -1}, ValueError, "minlength"),
                         ((np.array([1, 2]), np.ones(3)), {}, RuntimeError, "weights")]),
    "histc": Row(samples=_histc_cases, ref=_histc_ref, grad=False,
                 bad=[((np.arange(3),), {}, TypeError, "histc"), ((np.ones(3),), {"bins": 0}, RuntimeError, "bins"),
                      ((np.ones(3),), {"min": 3, "max": 1}, RuntimeError, "max must be larger"),
                      ((np.array([1.0, np.inf]),), {}, RuntimeError, "not finite")]),
    "searchsorted": Row(samples=_search_cases, ref=_search_ref, grad=False,
                        bad=[((np.ones((2, 3)), np.ones((3, 1))), {}, RuntimeError, "searchsorted"),
                             ((np.ones((2, 3)), 1.0), {}, RuntimeError, "scalar"),
                             ((np.ones(3), np.ones(2)), {"side": "middle"}, ValueError, "side"),
                             ((np.ones(3), np.ones(2)), {"right": True, "side": "left"}, ValueError, "opposites")]),
    "bucketize": Row(samples=_bucket_cases, ref=_bucket_ref, grad=False,
                     bad=[((np.ones(3), np.ones((2, 2))), {}, RuntimeError, "1 dimension")]),
}
