"""Table rows: scans along one dim and diff (ops/scan_ops.py)."""

from __future__ import annotations

import numpy as np
from optable import Case, Row

import ferrograd as fg


def _as_int64(a):
    return a if a.dtype.kind == "f" else a.astype(np.int64)


def _scan_cases(rng, lo=-2.0, hi=2.0):
    return {
        "random": Case((rng.uniform(lo, hi, (3, 5)), 1)),
        "empty": Case((np.zeros((0, 3)), 0)),
        "dim0": Case((rng.uniform(lo, hi, (4, 3)), 0)),
        "neg_dim": Case((rng.uniform(lo, hi, (2, 3, 4)), -2)),
        "long": Case((rng.uniform(lo, hi, (2, 70)), 1)),
        "scalar": Case((np.array(1.25), 0)),
        "int32": Case((rng.integers(-3, 4, (3, 4)).astype(np.int32), 1)),
        "bool": Case((rng.random((3, 4)) > 0.5, 1)),
    }


def _cumsum_cases(rng):
    cases = _scan_cases(rng)
    cases["dtype"] = Case((rng.integers(-3, 4, (3, 4)), 1), {"dtype": fg.float32})
    return cases


def _cumsum_ref(a, dim, dtype=None):
    a = a.astype(dtype) if dtype is not None else _as_int64(a)
    return np.cumsum(a, axis=dim) if a.ndim else a


def _cumprod_cases(rng):
    cases = _scan_cases(rng, 0.5, 1.5)
    zeros = rng.uniform(0.5, 1.5, (3, 6)) * rng.choice([-1, 1], (3, 6))
    zeros[0, 2] = zeros[1, 0] = zeros[1, 4] = zeros[2, 5] = 0.0
    cases["zeros"] = Case((zeros, 1))
    cases["long"] = Case((rng.uniform(0.9, 1.1, (2, 70)), 1))
    return cases


def _cumprod_ref(a, dim, dtype=None):
    a = a.astype(dtype) if dtype is not None else _as_int64(a)
    return np.cumprod(a, axis=dim) if a.ndim else a


def _cumext_cases(rng):
    ties = np.array([[1.0, 3.0, 3.0, 2.0, 5.0, 5.0], [3.0, 1.0, 1.0, 2.0, 0.0, 0.0]])
    nans = np.array([[1.0, np.nan, 3.0, np.nan, 2.0], [2.0, 1.0, 0.5, np.nan, 4.0]])
    return {
        "random": Case((rng.standard_normal((3, 5)), 1)),
        "empty": Case((np.zeros((0, 3)), 0)),
        "dim0": Case((rng.standard_normal((5, 3)), 0)),
        "long": Case((rng.standard_normal((2, 40)), 1)),
        "ties": Case((ties, 1)),  # the later index on ties, as torch
        "nan": Case((nans, 1)),  # NaN wins, the later NaN's index, as torch
        "int": Case((rng.integers(-3, 3, (3, 9)), 1)),
        "bool": Case((rng.random((2, 6)) > 0.5, 1)),
        "scalar": Case((np.array(2.0), -1)),
    }


def _cumext_ref(largest):
    def ref(a, dim):
        if a.ndim == 0:
            return a, np.zeros((), np.int64)
        x = np.moveaxis(a, dim, -1)
        values = np.empty_like(x)
        idx = np.zeros(x.shape, np.int64)
        for row in np.ndindex(x.shape[:-1]):
            best, at = None, 0
            for i, v in enumerate(x[row]):
                if best is None or np.isnan(v) or (not np.isnan(best) and (v >= best if largest else v <= best)):
                    best, at = v, i
                values[row + (i,)], idx[row + (i,)] = best, at
        return np.moveaxis(values, -1, dim), np.moveaxis(idx, -1, dim)

    return ref


def _lcse_cases(rng):
    edge = np.array([[-np.inf, -np.inf, 0.0, -np.inf], [np.inf, 1.0, 2.0, np.inf], [-3.0, np.nan, 1.0, 2.0]])
    return {
        "random": Case((rng.standard_normal((3, 5)), 1)),
        "empty": Case((np.zeros((0, 3)), 0)),
        "dim0": Case((rng.standard_normal((5, 3)), 0)),
        "big": Case((rng.standard_normal((2, 9)) * 5 + 500.0, 1)),  # exp overflows without care
        "tiny": Case((rng.standard_normal((2, 9)) * 5 - 500.0, 1)),
        "long": Case((rng.standard_normal((2, 70)), 1)),
        "infinities": Case((edge, 1)),
        "scalar": Case((np.array(0.5), 0)),
    }


def _lcse_ref(a, dim):
    return np.logaddexp.accumulate(a, axis=dim) if a.ndim else a


def _diff_cases(rng):
    return {
        "random": Case((rng.standard_normal((3, 5)),)),
        "empty": Case((np.zeros((0, 3)),)),
        "n2_dim0": Case((rng.standard_normal((5, 3)), 2, 0)),
        "prepend_append": Case((rng.standard_normal((3, 4)), 1, 1, rng.standard_normal((3, 2)), rng.standard_normal((3, 1)))),
        "append_only": Case((rng.standard_normal((2, 4)),), {"append": rng.standard_normal((2, 3)), "n": 3}),
        "n_past_size": Case((rng.standard_normal((2, 3)), 5)),
        "n0": Case((rng.standard_normal((2, 3)), 0)),
        "int": Case((rng.integers(-9, 9, (3, 5)),)),
        "bool": Case((rng.random((3, 6)) > 0.5, 2)),
    }


def _diff_ref(a, n=1, dim=-1, prepend=None, append=None):
    kw = {k: v for k, v in (("prepend", prepend), ("append", append)) if v is not None}
    return np.diff(a, n=n, axis=dim, **kw)  # numpy's bool diff is != as well


ROWS = {
    "cumsum": Row(samples=_cumsum_cases, ref=_cumsum_ref,
                  bad=[((np.ones((2, 2)), 2), {}, IndexError, "cumsum"), ((np.ones((2, 2)), (0, 1)), {}, TypeError, "cumsum")]),
    "cumprod": Row(samples=_cumprod_cases, ref=_cumprod_ref, bad=[((np.ones((2, 2)), -3), {}, IndexError, "cumprod")]),
    "cummax": Row(samples=_cumext_cases, ref=_cumext_ref(True), bad=[((np.ones((2, 2)), 2), {}, IndexError, "cummax")]),
    "cummin": Row(samples=_cumext_cases, ref=_cumext_ref(False), bad=[((np.ones(3), None), {}, TypeError, "cummin")]),
    "logcumsumexp": Row(samples=_lcse_cases, ref=_lcse_ref,
                        bad=[((np.arange(3), 0), {}, TypeError, "logcumsumexp"), ((np.ones(3), 1), {}, IndexError, "logcumsumexp")]),
    "diff": Row(samples=_diff_cases, ref=_diff_ref,
                bad=[((np.ones(3), -1), {}, RuntimeError, "non-negative"), ((np.array(1.0),), {}, RuntimeError, "one-dimensional"),
                     ((np.ones((2, 3)),), {"prepend": 1.0}, TypeError, "prepend"),
                     ((np.ones((2, 3)),), {"append": np.ones(3)}, RuntimeError, "append")]),
}
