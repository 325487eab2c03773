"""Table rows: reductions (ops/reduce_ops.py)."""

from __future__ import annotations

import math

import numpy as np
from optable import Case, Row

import ferrograd as fg
from ferrograd.ops.registry import OPS


def registered(name):
    """The registry entry as the row's `call` while fg.<name> is still another function (a
    hand-written Tensor method the lead removes); None (call fg.<name>) once it is the entry."""
    fn = OPS[name].fn
    return None if getattr(fg, name, None) is fn else fn


def axes(dim):
    """A torch `dim` as numpy's axis (None or () reduce everything)."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return None
    return tuple(dim) if isinstance(dim, (tuple, list)) else dim


def as_int64(a):
    return a if a.dtype.kind == "f" else a.astype(np.int64)


def _truth_cases(rng):
    return {
        "random": Case((rng.random((3, 4)) > 0.3,)),
        "empty": Case((np.zeros((0, 3), bool),)),
        "dim": Case((rng.random((3, 4)) > 0.3, 1)),
        "keepdim": Case((rng.integers(0, 2, (2, 3, 4)), (0, 2), True)),
        "floats": Case((rng.standard_normal((3, 4)) * (rng.random((3, 4)) > 0.5), 0)),
    }


# ---- sum, mean, nansum, nanmean, prod ------------------------------------------------------------
def _sum_cases(rng):
    return {
        "random": Case((rng.standard_normal((3, 4)),)),
        "empty": Case((np.zeros((0, 3)), 1)),
        "empty_all": Case((np.zeros((0, 3)),)),
        "dims": Case((rng.standard_normal((2, 3, 4)), (0, 2), True)),
        "neg_dim": Case((rng.standard_normal((2, 3, 4)), -1)),
        "empty_dims": Case((rng.standard_normal((2, 3)), ())),
        "int32": Case((rng.integers(-5, 5, (3, 4)).astype(np.int32), 1)),
        "bool": Case((rng.random((3, 4)) > 0.5,)),
        "dtype": Case((rng.standard_normal((3, 4)) * 4,), {"dtype": fg.int64}),
        "scalar": Case((np.array(1.5),)),
    }


def _sum_ref(a, dim=None, keepdim=False, dtype=None):
    a = a.astype(dtype) if dtype is not None else as_int64(a)
    return np.sum(a, axis=axes(dim), keepdims=keepdim)


def _mean_cases(rng):
    return {
        "random": Case((rng.standard_normal((3, 4)),)),
        "empty": Case((np.zeros((0, 3)), 1)),
        "dims": Case((rng.standard_normal((2, 3, 4)), [0, 2], True)),
        "dim": Case((rng.standard_normal((2, 3, 4)), 1)),
        "dtype": Case((rng.integers(-5, 5, (3, 4)), 1), {"dtype": fg.float32}),
    }


def _mean_ref(a, dim=None, keepdim=False, dtype=None):
    a = a.astype(dtype) if dtype is not None else a
    return np.mean(a, axis=axes(dim), keepdims=keepdim)


def _with_nans(rng, shape=(3, 4)):
    a = rng.standard_normal(shape)
    a[0, 1] = a[2, 0] = a[2, 3] = np.nan
    a[1, :] = np.nan
    return a


def _nan_cases(rng):
    return {
        "random": Case((rng.standard_normal((3, 4)),)),
        "empty": Case((np.zeros((0, 3)), 1)),
        "nans": Case((_with_nans(rng),)),
        "nans_dim": Case((_with_nans(rng), 1, True)),
        "nans_dims": Case((_with_nans(rng), (0, 1))),
    }


def _prod_cases(rng):
    def unit(shape):  # |x| near 1, so products stay well scaled for gradcheck
        return rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)

    zeros = unit((3, 4))
    zeros[0, 1] = zeros[2, 0] = zeros[2, 3] = 0.0
    return {
        "random": Case((unit((3, 4)),)),
        "empty": Case((np.zeros((0, 3)), 1)),
        "empty_all": Case((np.zeros((0, 3)),)),
        "dim": Case((unit((3, 4)), 1)),
        "keepdim": Case((unit((2, 3, 4)), 0, True)),
        "zeros": Case((zeros, 1)),
        "int": Case((rng.integers(-3, 4, (3, 4)), 0)),
        "bool": Case((rng.random((3, 4)) > 0.2,)),
        "dtype": Case((rng.integers(-3, 4, (3, 4)),), {"dtype": fg.float32}),
    }


def _prod_ref(a, dim=None, keepdim=False, dtype=None):
    a = a.astype(dtype) if dtype is not None else as_int64(a)
    return np.prod(a, axis=dim, keepdims=keepdim)


# ---- max-like ------------------------------------------------------------------------------------
def _extreme_cases(rng):
    return {
        "random": Case((rng.standard_normal((3, 4)),)),
        "empty": Case((np.zeros((0, 3)), 1)),
        "dims": Case((rng.standard_normal((2, 3, 4)), (0, 2), True)),
        "dim": Case((rng.standard_normal((2, 3, 4)), -1)),
        "int": Case((rng.integers(-9, 9, (3, 4)), 1)),
        "bool": Case((rng.random((3, 4)) > 0.5, 0)),
        "nan": Case((_with_nans(rng), 1)),
    }


def _amax_ref(a, dim=(), keepdim=False):
    return np.max(a, axis=axes(dim), keepdims=keepdim)


def _amin_ref(a, dim=(), keepdim=False):
    return np.min(a, axis=axes(dim), keepdims=keepdim)


def _aminmax_cases(rng):
    return {
        "random": Case((rng.standard_normal((3, 4)),)),
        "empty": Case((np.zeros((0, 3)),), {"dim": 1}),
        "dim": Case((rng.standard_normal((3, 4)),), {"dim": 0}),
        "keepdim": Case((rng.standard_normal((3, 4)),), {"dim": -1, "keepdim": True}),
        "int": Case((rng.integers(-9, 9, (3, 4)),)),
    }


def _aminmax_ref(a, dim=None, keepdim=False):
    return np.min(a, axis=dim, keepdims=keepdim), np.max(a, axis=dim, keepdims=keepdim)


def _max_cases(rng):
    ties = np.array([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 0.0, 5.0]])
    return {
        "random": Case((rng.standard_normal((3, 4)),)),
        "empty": Case((np.zeros((0, 3)), 1)),
        "dim": Case((rng.standard_normal((3, 4)), 1)),
        "keepdim": Case((rng.standard_normal((2, 3, 4)), 0, True)),
        "ties": Case((ties, 1)),  # the first index of the extreme, as torch on cpu
        "int": Case((rng.integers(-9, 9, (3, 4)), -1)),
        "other": Case((rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))),
        "broadcast": Case((rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 1)))),
        "scalar_dim": Case((np.array(2.5), 0)),
    }


def _max_min_ref(largest):
    def ref(a, dim=None, keepdim=False):
        if isinstance(dim, np.ndarray):
            return np.maximum(a, dim) if largest else np.minimum(a, dim)
        if dim is None:
            return np.max(a) if largest else np.min(a)
        if a.ndim == 0:
            return a, np.zeros((), np.int64)
        pick = np.argmax if largest else np.argmin
        idx = pick(a, axis=dim, keepdims=True)
        values = np.take_along_axis(a, idx, axis=dim)
        if not keepdim:
            values, idx = np.squeeze(values, dim), np.squeeze(idx, dim)
        return values, idx.astype(np.int64)

    return ref


def _arg_cases(rng):
    return {
        "random": Case((rng.standard_normal((3, 4)),)),
        "empty": Case((np.zeros((0, 3)), 1)),
        "dim": Case((rng.standard_normal((3, 4)), 0)),
        "keepdim": Case((rng.standard_normal((2, 3, 4)), -1, True)),
        "flat_keepdim": Case((rng.standard_normal((2, 3)),), {"keepdim": True}),
        "int": Case((rng.integers(-3, 3, (3, 5)), 1)),
    }


def _arg_ref(pick):
    def ref(a, dim=None, keepdim=False):
        if dim is None:
            out = np.asarray(pick(a)).astype(np.int64)
            return out.reshape((1,) * a.ndim) if keepdim else out
        return pick(a, axis=dim, keepdims=keepdim).astype(np.int64)

    return ref


# ---- var / std -----------------------------------------------------------------------------------
def _var_cases(rng):
    return {
        "random": Case((rng.standard_normal((3, 4)),)),
        "empty": Case((np.zeros((0, 3)), 1)),
        "dims": Case((rng.standard_normal((2, 3, 4)), (0, 2), None, True)),
        "unbiased_false": Case((rng.standard_normal((3, 4)), 1, False)),
        "unbiased_positional": Case((rng.standard_normal((3, 4)), False)),
        "correction": Case((rng.standard_normal((3, 4)), 1), {"correction": 0}),
        "correction_float": Case((rng.standard_normal((3, 5)), 1), {"correction": 2.5, "keepdim": True}),
        "single": Case((rng.standard_normal((3, 1)), 1)),  # n - correction = 0: nan, as torch
    }


def _var_ref(a, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if correction is None:
        correction = 0 if unbiased is False else 1
    n = a.size if dim is None else int(np.prod([a.shape[d] for d in np.atleast_1d(dim)]))
    mean = np.mean(a, axis=axes(dim), keepdims=True)
    with np.errstate(all="ignore"):
        return np.sum((a - mean) ** 2, axis=axes(dim), keepdims=keepdim) / max(n - correction, 0)


def _std_ref(*args, **kwargs):
    return np.sqrt(_var_ref(*args, **kwargs))


def _var_mean_ref(a, dim=None, unbiased=None, keepdim=False, *, correction=None):
    d = None if isinstance(dim, bool) else dim
    return _var_ref(a, dim, unbiased, keepdim, correction=correction), np.mean(a, axis=axes(d), keepdims=keepdim)


def _std_mean_ref(*args, **kwargs):
    v, m = _var_mean_ref(*args, **kwargs)
    return np.sqrt(v), m


# ---- logsumexp, norm, count_nonzero --------------------------------------------------------------
def _lse_cases(rng):
    big = rng.standard_normal((3, 4)) * 5 + 1000.0  # exp overflows without the shift
    edge = np.array([[-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 2.0], [-np.inf, 0.0, 1.0]])
    return {
        "random": Case((rng.standard_normal((3, 4)), 1)),
        "empty": Case((np.zeros((0, 3)), 0)),
        "dims": Case((rng.standard_normal((2, 3, 4)), (0, 2), True)),
        "big": Case((big, 1)),
        "tiny": Case((-big, 0)),
        "infinities": Case((edge, 1)),
        "int": Case((rng.integers(-3, 3, (3, 4)), 1)),
    }


def _lse_ref(a, dim, keepdim=False):
    a = a if a.dtype.kind == "f" else a.astype(np.float32)
    ax = axes(dim)
    if a.size == 0:
        return np.full(np.sum(a, axis=ax, keepdims=keepdim).shape, -np.inf, a.dtype)
    m = np.max(a, axis=ax, keepdims=True)
    m = np.where(np.isinf(m), 0, m)
    with np.errstate(all="ignore"):
        out = np.log(np.sum(np.exp(a - m), axis=ax, keepdims=True)) + m
    return out if keepdim else np.squeeze(out, axis=ax)


def _norm_cases(rng):
    x = rng.standard_normal((3, 4))
    with_zero = x.copy()
    with_zero[1, 2] = 0.0
    return {
        "random": Case((x,)),
        "empty": Case((np.zeros((0, 3)), 2, 1)),
        "p1": Case((x, 1)),
        "p3_dim": Case((x, 3, 1)),
        "p_half": Case((x, 0.5, 0, True)),
        "p_neg": Case((with_zero, -1.5, 1)),
        "inf": Case((x, math.inf, 1)),
        "neg_inf": Case((x, -math.inf)),
        "p0": Case((with_zero, 0, (0, 1))),
        "fro_dims": Case((rng.standard_normal((2, 3, 4)), "fro", (1, 2), True)),
        "dtype": Case((x,), {"dtype": fg.float32}),
    }


def _norm_ref(a, p="fro", dim=None, keepdim=False, dtype=None):
    a = a.astype(dtype) if dtype is not None else a
    p = 2 if p in ("fro", None) else p
    x, ax = np.abs(a), axes(dim)
    if p == math.inf:
        return np.max(x, axis=ax, keepdims=keepdim)
    if p == -math.inf:
        return np.min(x, axis=ax, keepdims=keepdim)
    if p == 0:
        return np.sum(x != 0, axis=ax, keepdims=keepdim).astype(a.dtype)
    with np.errstate(all="ignore"):
        return np.sum(x**p, axis=ax, keepdims=keepdim) ** (1 / p)


def _count_cases(rng):
    ints = rng.integers(-2, 3, (3, 4))
    return {
        "random": Case((ints,)),
        "empty": Case((np.zeros((0, 3)), 1)),
        "dim": Case((ints, 1)),
        "dims": Case((rng.integers(-1, 2, (2, 3, 4)), (0, 2))),
        "floats": Case((rng.standard_normal((3, 4)) * (rng.random((3, 4)) > 0.5), 0)),
        "bool": Case((rng.random((3, 4)) > 0.5,)),
    }


def _count_ref(a, dim=None):
    return np.count_nonzero(a, axis=axes(dim)).astype(np.int64)


_EMPTY_ALL = np.zeros((0, 3))

ROWS = {
    "all": Row(samples=_truth_cases, ref=lambda a, dim=None, keepdim=False: np.all(a != 0, axis=dim, keepdims=keepdim), grad=False,
               bad=[((np.ones((2, 2)), 2), {}, IndexError, "all")]),
    "any": Row(samples=_truth_cases, ref=lambda a, dim=None, keepdim=False: np.any(a != 0, axis=dim, keepdims=keepdim), grad=False,
               bad=[((np.ones((2, 2)), 2), {}, IndexError, "any")]),
    "sum": Row(samples=_sum_cases, ref=_sum_ref, call=registered("sum"),
               bad=[((np.ones((2, 2)), 2), {}, IndexError, "sum"), ((np.ones((2, 2)), "x"), {}, TypeError, "sum"),
                    ((np.ones((2, 2)), (0, 0)), {}, ValueError, "sum"), ((np.ones(2),), {"dtype": "complex64"}, TypeError, "sum")]),
    "mean": Row(samples=_mean_cases, ref=_mean_ref, call=registered("mean"),
                bad=[((np.arange(4),), {}, TypeError, "mean"), ((np.ones((2, 2)), -3), {}, IndexError, "mean")]),
    "nansum": Row(samples=_nan_cases, ref=lambda a, dim=None, keepdim=False: np.nansum(a, axis=axes(dim), keepdims=keepdim),
                  bad=[((np.ones((2, 2)), 5), {}, IndexError, "nansum")]),
    "nanmean": Row(samples=_nan_cases, ref=lambda a, dim=None, keepdim=False: _nanmean(a, dim, keepdim),
                   bad=[((np.arange(4),), {}, TypeError, "nanmean")]),
    "prod": Row(samples=_prod_cases, ref=_prod_ref,
                bad=[((np.ones((2, 2)), (0, 1)), {}, TypeError, "prod"), ((np.ones((2, 2)), 2), {}, IndexError, "prod")]),
    "amax": Row(samples=_extreme_cases, ref=_amax_ref,
                bad=[((_EMPTY_ALL,), {}, RuntimeError, "amax"), ((_EMPTY_ALL, 0), {}, IndexError, "amax"),
                     ((np.ones((2, 2)), (0, 0)), {}, ValueError, "amax")]),
    "amin": Row(samples=_extreme_cases, ref=_amin_ref,
                bad=[((_EMPTY_ALL,), {}, RuntimeError, "amin"), ((np.ones((2, 2)), 3), {}, IndexError, "amin")]),
    "aminmax": Row(samples=_aminmax_cases, ref=_aminmax_ref,
                   bad=[((np.ones((2, 2)),), {"dim": (0, 1)}, TypeError, "aminmax"), ((_EMPTY_ALL,), {}, RuntimeError, "aminmax")]),
    "max": Row(samples=_max_cases, ref=_max_min_ref(True), call=registered("max"),
               bad=[((_EMPTY_ALL,), {}, RuntimeError, "max()"), ((_EMPTY_ALL, 0), {}, IndexError, "max()"),
                    ((np.ones((2, 2)), 2.0), {}, TypeError, "max"), ((np.ones((2, 2)),), {"keepdim": True}, TypeError, "max"),
                    ((np.ones((2, 2)), 2), {}, IndexError, "max")]),
    "min": Row(samples=_max_cases, ref=_max_min_ref(False), call=registered("min"),
               bad=[((_EMPTY_ALL,), {}, RuntimeError, "min()"), ((np.ones((2, 2)), (0, 1)), {}, TypeError, "min")]),
    "argmax": Row(samples=_arg_cases, ref=_arg_ref(np.argmax), grad=False, call=registered("argmax"),
                  bad=[((_EMPTY_ALL,), {}, IndexError, "argmax"), ((np.ones(2) > 0,), {}, TypeError, "argmax")]),
    "argmin": Row(samples=_arg_cases, ref=_arg_ref(np.argmin), grad=False, call=registered("argmin"),
                  bad=[((_EMPTY_ALL, 0), {}, IndexError, "argmin")]),
    "var": Row(samples=_var_cases, ref=_var_ref, call=registered("var"),
               bad=[((np.arange(4),), {}, TypeError, "var"), ((np.ones(3), 0, True), {"correction": 1}, TypeError, "var")]),
    "std": Row(samples=_var_cases, ref=_std_ref, call=registered("std"),
               bad=[((np.arange(4),), {}, TypeError, "std")]),
    "var_mean": Row(samples=_var_cases, ref=_var_mean_ref, bad=[((np.ones((2, 2)), 4), {}, IndexError, "var_mean")]),
    "std_mean": Row(samples=_var_cases, ref=_std_mean_ref, bad=[((np.arange(3),), {}, TypeError, "std_mean")]),
    "logsumexp": Row(samples=_lse_cases, ref=_lse_ref, bad=[((np.ones((2, 2)), 2), {}, IndexError, "logsumexp")]),
    "norm": Row(samples=_norm_cases, ref=_norm_ref,
                bad=[((np.arange(3),), {}, TypeError, "norm"), ((np.ones((2, 2)), "nuc"), {}, NotImplementedError, "nuc"),
                     ((np.ones((2, 2)), "max"), {}, ValueError, "norm"), ((np.ones((2, 2, 2)), "fro", (0, 1, 2)), {}, RuntimeError, "fro")]),
    "count_nonzero": Row(samples=_count_cases, ref=_count_ref, grad=False,
                         bad=[((np.ones((2, 2)), 2), {}, IndexError, "count_nonzero")]),
}


def _nanmean(a, dim, keepdim):
    with np.errstate(all="ignore"):
        total = np.nansum(a, axis=axes(dim), keepdims=keepdim)
        return total / np.sum(~np.isnan(a), axis=axes(dim), keepdims=keepdim)
