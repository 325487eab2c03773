"""Table rows: indexing by index tensors and masks (ops/index_ops.py) and triangles / diagonals
(ops/diag_ops.py). References are numpy's own functions where they share torch's semantics."""

from __future__ import annotations

import numpy as np
from optable import Case, Row

import ferrograd as fg
from ferrograd.ops import index_ops


def _unique_along(rng, n, shape, dim):
    """Indices in [0, n) of `shape`, distinct along `dim` (so scatter writes never collide)."""
    full = list(shape)
    full[dim] = n
    return np.argsort(rng.random(full), axis=dim).take(range(shape[dim]), axis=dim).astype(np.int64)


def _corner(a, shape, skip=None):
    return a[tuple(slice(None) if d == skip else slice(0, n) for d, n in enumerate(shape))]


def _gather_ref(a, dim, idx, **_):
    if a.ndim == 0:  # torch: a 0-d input acts as a 1-element vector; the result has index's shape
        if idx.ndim > 1:
            raise RuntimeError("gather: index tensor must have the same number of dimensions as input tensor")
        if (idx != 0).any():
            raise IndexError("gather: index out of bounds for a 0-d input")
        return np.full(idx.shape, a, dtype=a.dtype)
    if idx.ndim == 0:
        return np.asarray(a[int(idx)])
    return np.take_along_axis(_corner(a, idx.shape, dim % a.ndim), idx, dim)


def _at(ufunc, out, dim, idx, src):
    d = dim % out.ndim
    view = _corner(out, idx.shape, d)
    grids = np.indices(idx.shape, sparse=True)
    ufunc.at(view, tuple(idx if k == d else grids[k] for k in range(out.ndim)), _corner(src, idx.shape))


def _scatter_ref(a, dim, idx, src=None, value=None, reduce=None):
    if src is not None and not isinstance(src, np.ndarray):
        src, value = None, src
    if idx.ndim == 0:
        idx = idx.reshape(1)
        src = None if src is None else src.reshape(1)
    out = a.copy()
    s = np.full(idx.shape, value, a.dtype) if src is None else src
    if reduce == "add":
        _at(np.add, out, dim, idx, s)
    elif reduce == "multiply":
        _at(np.multiply, out, dim, idx, s)
    else:
        np.put_along_axis(_corner(out, idx.shape, dim % a.ndim), idx, _corner(s, idx.shape), dim)
    return out


def _scatter_add_ref(a, dim, idx, src):
    if a.ndim == 0:
        return _scatter_add_ref(a.reshape(1), 0, idx.reshape(-1), src.reshape(-1)).reshape(())
    out = a.copy()
    _at(np.add, out, dim, idx, src)
    return out


_UFUNC = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def _scatter_reduce_ref(a, dim, idx, src, reduce, include_self=True):
    out = a.copy()
    if not include_self:
        ident = {"sum": 0, "mean": 0, "prod": 1}.get(reduce)
        if ident is None:
            big = np.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).max
            ident = -big if reduce == "amax" else big
        np.put_along_axis(_corner(out, idx.shape, dim), idx, ident, dim)
    _at(_UFUNC[reduce], out, dim, idx, src)
    if reduce == "mean":
        count = np.full(a.shape, 1 if include_self else 0, np.int64)
        _at(np.add, count, dim, idx, np.ones(idx.shape, np.int64))
        count = np.maximum(count, 1)
        out = (out / count).astype(a.dtype) if a.dtype.kind == "f" else np.floor_divide(out, count)
    return out


def _key(dim, idx):
    return (slice(None),) * dim + (idx,)


def _index_add_ref(a, dim, idx, src, alpha=1):
    out = a.copy()
    np.add.at(out, _key(dim, idx), src * alpha)
    return out


def _index_copy_ref(a, dim, idx, src):
    out = a.copy()
    out[_key(dim, idx)] = src
    return out


def _index_fill_ref(a, dim, idx, value):
    out = a.copy()
    out[_key(dim, idx)] = value
    return out


def _index_put_ref(a, indices, values, accumulate=False):
    out = a.copy()
    if accumulate:
        np.add.at(out, tuple(indices), values)
    else:
        out[tuple(indices)] = values
    return out


def _masked_fill_ref(a, mask, value):
    return np.where(mask, np.asarray(value).astype(a.dtype), a)


def _masked_scatter_ref(a, mask, src):
    shape = np.broadcast_shapes(a.shape, mask.shape)
    out = np.broadcast_to(a, shape).copy()
    m = np.broadcast_to(mask, shape)
    out[m] = src.ravel()[: int(m.sum())]
    return out


def _masked_select_ref(a, mask):
    shape = np.broadcast_shapes(a.shape, mask.shape)
    return np.broadcast_to(a, shape)[np.broadcast_to(mask, shape)]


def _nonzero_ref(a, as_tuple=False):
    parts = tuple(p.astype(np.int64) for p in np.nonzero(np.atleast_1d(a)))
    if as_tuple:
        return parts
    if a.ndim == 0:
        return np.zeros((int(a != 0), 0), np.int64)
    return np.stack(parts, axis=1)


def _diag_embed_ref(a, offset=0, dim1=-2, dim2=-1):
    n = a.shape[-1] + abs(offset)
    nd = a.ndim + 1
    d1, d2 = dim1 % nd, dim2 % nd
    shape = list(a.shape[:-1])
    for d in sorted((d1, d2)):
        shape.insert(d, n)
    out = np.zeros(shape, a.dtype)
    view = np.moveaxis(out, (d1, d2), (-2, -1))  # a view: (..., n, n)
    i = np.arange(a.shape[-1])
    r, c = (i, i + offset) if offset >= 0 else (i - offset, i)
    view[..., r, c] = a
    return out


def _f(rng, *shape):
    return rng.standard_normal(shape)


ROWS = {
    "gather": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), 1, rng.integers(0, 4, (3, 5)))),
        "empty": Case((_f(rng, 0, 3), 0, np.zeros((0, 3), np.int64))),
        "smaller": Case((_f(rng, 4, 5), 0, rng.integers(0, 4, (2, 3)))),
        "neg_dim": Case((_f(rng, 2, 3, 4), -1, rng.integers(0, 4, (2, 3, 2)))),
        "ints": Case((rng.integers(-5, 5, (3, 4)), 0, rng.integers(0, 3, (2, 4)))),
        "int32_index": Case((_f(rng, 3, 4), 1, rng.integers(0, 4, (3, 2)).astype(np.int32))),
        "scalar": Case((np.array(2.5), 0, np.array(0))),
        "vector_scalar_index": Case((_f(rng, 3), 0, np.array(2))),
    }, ref=_gather_ref, bad=[
        ((np.ones((2, 3)), 0, np.array([[2, 0, 0]])), {}, IndexError, "gather"),
        ((np.ones((2, 3)), 0, np.array([[-1, 0, 0]])), {}, RuntimeError, "out of bounds"),
        ((np.ones((2, 3)), 0, np.array([0, 1])), {}, RuntimeError, "same number of dimensions"),
        ((np.ones((2, 3)), 0, np.zeros((1, 4), np.int64)), {}, RuntimeError, "no larger than input"),
        ((np.ones((2, 3)), 0, np.zeros((1, 3))), {}, TypeError, "int64"),
        ((np.ones((2, 3)), 2, np.zeros((1, 3), np.int64)), {}, IndexError, "dim 2"),
    ]),
    "scatter": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), 0, _unique_along(rng, 3, (2, 4), 0), _f(rng, 2, 4))),
        "empty": Case((_f(rng, 0, 3), 0, np.zeros((0, 3), np.int64), _f(rng, 0, 3))),
        "smaller": Case((_f(rng, 4, 5), 1, _unique_along(rng, 5, (3, 2), 1), _f(rng, 3, 4))),
        "value": Case((_f(rng, 3, 4), 1, _unique_along(rng, 4, (3, 2), 1)), {"value": 1.5}),
        "value_positional": Case((_f(rng, 3, 4), 1, _unique_along(rng, 4, (3, 2), 1), -2.0)),
        "reduce_add": Case((_f(rng, 3, 4), 0, rng.integers(0, 3, (4, 4)), _f(rng, 4, 4)), {"reduce": "add"}),
        "reduce_multiply": Case((_f(rng, 3, 4), 0, rng.integers(0, 3, (4, 4)), _f(rng, 4, 4)), {"reduce": "multiply"}),
        "value_multiply": Case((_f(rng, 3, 4), 0, rng.integers(0, 3, (4, 4)), 2.0), {"reduce": "multiply"}),
        "ints": Case((rng.integers(-5, 5, (3, 4)), 1, _unique_along(rng, 4, (3, 2), 1), rng.integers(-5, 5, (3, 2)))),
        "vector_scalar_index": Case((_f(rng, 3), 0, np.array(1), np.array(2.0))),
    }, ref=_scatter_ref, bad=[
        ((np.ones((2, 3)), 0, np.array([[2, 0, 0]]), np.ones((1, 3))), {}, IndexError, "scatter"),
        ((np.ones((2, 3)), 0, np.array([[1, 0, 0]]), np.ones((1, 2))), {}, RuntimeError, "no larger than src"),
        ((np.ones((2, 3)), 0, np.array([[1, 0, 0]]), np.ones((1, 3))), {"reduce": "mean"}, ValueError, "reduce"),
        ((np.ones((2, 3)), 0, np.array([[1, 0, 0]])), {}, TypeError, "exactly one of src"),
        ((np.ones((2, 3)), 0, np.array([[1, 0, 0]]), np.ones((1, 3), np.int64)), {}, TypeError, "dtype"),
    ]),
    "scatter_add": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), 0, rng.integers(0, 3, (5, 4)), _f(rng, 5, 4))),
        "empty": Case((_f(rng, 0, 3), 0, np.zeros((0, 3), np.int64), _f(rng, 0, 3))),
        "smaller": Case((_f(rng, 4, 5), 1, rng.integers(0, 5, (3, 7)), _f(rng, 4, 8))),
        "ints": Case((rng.integers(-5, 5, (3, 4)), 1, rng.integers(0, 4, (3, 6)), rng.integers(-5, 5, (3, 6)))),
        "scalar": Case((np.array(1.5), 0, np.array([0, 0]), np.array([2.0, 3.0]))),
    }, ref=_scatter_add_ref, bad=[
        ((np.ones((2, 3)), 0, np.array([[2, 0, 0]]), np.ones((1, 3))), {}, IndexError, "scatter_add"),
        ((np.ones((2, 3)), 0, np.array([[1, 0, 0]]), [1.0, 2.0]), {}, TypeError, "src must be a Tensor"),
    ]),
    "scatter_reduce": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), 0, rng.integers(0, 3, (5, 4)), _f(rng, 5, 4), "sum")),
        "empty": Case((_f(rng, 0, 3), 0, np.zeros((0, 3), np.int64), _f(rng, 0, 3), "prod")),
        "prod": Case((_f(rng, 3, 4), 0, rng.integers(0, 3, (5, 4)), _f(rng, 5, 4), "prod")),
        "prod_no_self": Case((_f(rng, 3, 4), 1, rng.integers(0, 4, (3, 6)), _f(rng, 3, 6), "prod"), {"include_self": False}),
        "mean": Case((_f(rng, 3, 4), 0, rng.integers(0, 3, (5, 4)), _f(rng, 5, 4), "mean")),
        "mean_no_self": Case((_f(rng, 3, 4), 0, rng.integers(0, 3, (2, 4)), _f(rng, 2, 4), "mean"), {"include_self": False}),
        "amax": Case((_f(rng, 3, 4), 0, rng.integers(0, 3, (5, 4)), _f(rng, 5, 4), "amax")),
        "amax_no_self": Case((_f(rng, 3, 4), 0, rng.integers(0, 3, (2, 4)), _f(rng, 2, 4), "amax"), {"include_self": False}),
        "amin": Case((_f(rng, 3, 4), 1, rng.integers(0, 4, (3, 6)), _f(rng, 3, 6), "amin")),
        "amin_no_self": Case((_f(rng, 3, 4), 1, rng.integers(0, 4, (3, 2)), _f(rng, 3, 5), "amin"), {"include_self": False}),
        "sum_no_self": Case((_f(rng, 3, 4), 1, rng.integers(0, 4, (3, 2)), _f(rng, 3, 5), "sum"), {"include_self": False}),
        "int_mean": Case((rng.integers(-9, 9, (3, 4)), 0, rng.integers(0, 3, (5, 4)), rng.integers(-9, 9, (5, 4)), "mean")),
        "int_amax_no_self": Case((rng.integers(-9, 9, (3, 4)), 0, rng.integers(0, 3, (2, 4)), rng.integers(-9, 9, (2, 4)), "amax"),
                                 {"include_self": False}),
        "int_prod": Case((rng.integers(-3, 3, (3, 4)), 0, rng.integers(0, 3, (5, 4)), rng.integers(-3, 3, (5, 4)), "prod")),
    }, ref=_scatter_reduce_ref, bad=[
        ((np.ones((2, 3)), 0, np.array([[1, 0, 0]]), np.ones((1, 3)), "max"), {}, ValueError, "reduce must be one of"),
        ((np.ones((2, 3)), 0, np.array([[3, 0, 0]]), np.ones((1, 3)), "sum"), {}, IndexError, "out of bounds"),
    ]),
    "index_select": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), 1, np.array([3, 0, 0, 2]))),
        "empty": Case((_f(rng, 3, 4), 0, np.zeros(0, np.int64))),
        "dim0": Case((_f(rng, 4, 2, 3), 0, np.array([1, 3]))),
        "scalar_index": Case((_f(rng, 3, 4), -1, np.array(2))),
        "ints": Case((rng.integers(0, 9, (3, 4)), 0, np.array([2, 2]))),
    }, ref=lambda a, dim, idx: np.take(a, np.atleast_1d(idx), axis=dim), bad=[
        ((np.ones((2, 3)), 0, np.array([2])), {}, IndexError, "index_select"),
        ((np.ones((2, 3)), 0, np.array([-1])), {}, IndexError, "out of bounds"),
        ((np.ones((2, 3)), 0, np.array([[0]])), {}, IndexError, "vector"),
    ]),
    "index_add": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), 1, np.array([3, 0, 3]), _f(rng, 3, 3))),
        "empty": Case((_f(rng, 3, 4), 0, np.zeros(0, np.int64), _f(rng, 0, 4))),
        "alpha": Case((_f(rng, 3, 4), 0, np.array([1, 1, 2, 0]), _f(rng, 4, 4)), {"alpha": -0.5}),
        "ints": Case((rng.integers(0, 9, (3, 4)), 0, np.array([2, 2]), rng.integers(0, 9, (2, 4)))),
    }, ref=_index_add_ref, bad=[
        ((np.ones((2, 3)), 0, np.array([0]), np.ones((1, 2))), {}, ValueError, "source of shape"),
        ((np.ones((2, 3)), 0, np.array([-1]), np.ones((1, 3))), {}, RuntimeError, "out of bounds"),
    ]),
    "index_copy": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), 1, np.array([3, 0, 2]), _f(rng, 3, 3))),
        "empty": Case((_f(rng, 3, 4), 0, np.zeros(0, np.int64), _f(rng, 0, 4))),
        "ints": Case((rng.integers(0, 9, (3, 4)), 0, np.array([2, 0]), rng.integers(0, 9, (2, 4)))),
    }, ref=_index_copy_ref, bad=[
        ((np.ones((2, 3)), 1, np.array([0]), np.ones((1, 3))), {}, ValueError, "source of shape"),
        ((np.ones((2, 3)), 0, np.array([2]), np.ones((1, 3))), {}, IndexError, "index_copy"),
    ]),
    "index_fill": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), 1, np.array([3, 0, -1]), np.array(1.5))),
        "empty": Case((_f(rng, 3, 4), 0, np.zeros(0, np.int64), -1.0)),
        "number": Case((_f(rng, 3, 4), 0, np.array([2]), -1.0)),
        "ints": Case((rng.integers(0, 9, (3, 4)), 0, np.array([2, 0]), 7)),
    }, ref=_index_fill_ref, bad=[
        ((np.ones((2, 3)), 0, np.array([0]), np.ones(1)), {}, RuntimeError, "0-dimensional value"),
        ((np.ones((2, 3)), 0, np.array([2]), 1.0), {}, IndexError, "index_fill"),
    ]),
    "index_put": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), (np.array([0, 2, 1]), np.array([3, 0, 1])), _f(rng, 3))),
        "empty": Case((_f(rng, 3, 4), (np.zeros(0, np.int64),), _f(rng, 0, 4))),
        "accumulate": Case((_f(rng, 3, 4), (np.array([0, 2, 0, 0]), np.array([3, 0, 3, 1])), _f(rng, 4)), {"accumulate": True}),
        "broadcast": Case((_f(rng, 3, 4), (np.array([2, 0]),), _f(rng, 4))),
        "bool_mask": Case((_f(rng, 3, 4), (rng.random((3, 4)) > 0.5,), np.array(0.25))),
        "ints": Case((rng.integers(0, 9, (3, 4)), (np.array([1]), np.array([2])), np.array([5]))),
    }, ref=_index_put_ref, bad=[
        ((np.ones((2, 3)), np.array([0]), np.ones(3)), {}, TypeError, "tuple"),
        ((np.ones((2, 3)), (np.array([5]),), np.ones(3)), {}, IndexError, "index_put"),
        ((np.ones((2, 3)), (np.array([0, 1]),), np.ones(2)), {}, ValueError, "index_put"),
    ]),
    "masked_fill": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), rng.random((3, 4)) > 0.5, np.array(2.5))),
        "empty": Case((_f(rng, 0, 4), np.zeros((0, 4), bool), 1.0)),
        "broadcast": Case((_f(rng, 3, 4), rng.random(4) > 0.5, -1.0)),
        "bigger_mask": Case((_f(rng, 3, 4), rng.random((2, 3, 4)) > 0.5, -1.0)),
        "ints": Case((rng.integers(0, 9, (3, 4)), rng.random((3, 4)) > 0.5, 1.7)),
    }, ref=_masked_fill_ref, bad=[
        ((np.ones((2, 3)), np.ones((2, 3)), 1.0), {}, TypeError, "boolean masks"),
        ((np.ones((2, 3)), np.ones((2, 3), bool), np.ones(1)), {}, RuntimeError, "0-dimensional value"),
        ((np.ones((2, 3)), np.ones((2,), bool), 1.0), {}, ValueError, "does not broadcast"),
    ]),
    "masked_select": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), rng.random((3, 4)) > 0.5)),
        "empty": Case((_f(rng, 0, 4), np.zeros((0, 4), bool))),
        "broadcast": Case((_f(rng, 3), np.array([[True], [False]]))),
        "ints": Case((rng.integers(0, 9, (3, 4)), rng.random((3, 4)) > 0.5)),
    }, ref=_masked_select_ref, bad=[
        ((np.ones((2, 3)), np.ones((2, 3))), {}, TypeError, "boolean masks"),
    ]),
    "masked_scatter": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), rng.random((3, 4)) > 0.5, _f(rng, 4, 4))),
        "empty": Case((_f(rng, 0, 4), np.zeros((0, 4), bool), _f(rng, 0))),
        "broadcast": Case((_f(rng, 3), np.array([[True, False, True], [False, True, True]]), _f(rng, 6))),
    }, ref=_masked_scatter_ref, bad=[
        ((np.ones(3), np.array([True, False, True]), np.ones(1)), {}, RuntimeError, "fewer than"),
        ((np.ones(3), np.array([True, False, True]), np.ones(3, np.int64)), {}, TypeError, "dtype"),
    ]),
    "take": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), np.array([[0, 11], [-1, 5]]))),
        "empty": Case((_f(rng, 3, 4), np.zeros((0,), np.int64))),
        "scalar_index": Case((_f(rng, 3, 4), np.array(7))),
        "ints": Case((rng.integers(0, 9, (3, 4)), np.array([2, 2, 0]))),
    }, ref=lambda a, idx: np.take(a, idx), bad=[
        ((np.ones((2, 3)), np.array([6])), {}, IndexError, "take"),
    ]),
    "take_along_dim": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), rng.integers(-4, 4, (3, 2)), 1)),
        "empty": Case((_f(rng, 3, 4), np.zeros((0, 4), np.int64), 0)),
        "flat": Case((_f(rng, 3, 4), np.array([[1, 11], [-1, 0]]))),
        "broadcast": Case((_f(rng, 3, 4), np.array([[1, 3]]), 1)),
        "broadcast_input": Case((_f(rng, 1, 4), rng.integers(0, 4, (3, 2)), 1)),
    }, ref=lambda a, idx, dim=None: np.take_along_axis(a, idx, dim) if dim is not None else np.take_along_axis(a.ravel(), idx.ravel(), 0),
        bad=[((np.ones((2, 3)), np.array([[3]]), 1), {}, IndexError, "take_along_dim"),
             ((np.ones((2, 3)), np.array([1]), 1), {}, RuntimeError, "same number of dimensions")]),
    "nonzero": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal((3, 4)) * (rng.random((3, 4)) > 0.5),)),
        "empty": Case((np.zeros((0, 3)),)),
        "as_tuple": Case((rng.integers(0, 2, (2, 3, 2)),), {"as_tuple": True}),
        "bools": Case((rng.random(5) > 0.5,)),
        "scalar": Case((np.array(3.0),)),
        "scalar_tuple": Case((np.array(0.0),), {"as_tuple": True}),
    }, ref=_nonzero_ref, grad=False),
    "argwhere": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal((3, 4)) * (rng.random((3, 4)) > 0.5),)),
        "empty": Case((np.zeros((0, 3)),)),
    }, ref=lambda a: np.argwhere(a).astype(np.int64), grad=False),
    "where": Row(samples=lambda rng: {
        "random": Case((rng.random((3, 4)) > 0.5,)),
        "empty": Case((np.zeros((0, 2), bool),)),
        "three": Case((rng.random((3, 4)) > 0.5, _f(rng, 3, 4), _f(rng, 4))),
    }, ref=lambda c, a=None, b=None: tuple(p.astype(np.int64) for p in np.nonzero(c)) if a is None else np.where(c, a, b),
        call=index_ops.where, grad=False,
        bad=[((np.ones(2, bool), np.ones(2)), {}, TypeError, "where")]),
    # ---- diag_ops.py ----
    "tril": Row(samples=lambda rng: {
        "random": Case((_f(rng, 4, 5),)),
        "empty": Case((_f(rng, 0, 3),)),
        "batched": Case((_f(rng, 2, 3, 4), -1)),
        "offset": Case((_f(rng, 3, 4), 2)),
        "ints": Case((rng.integers(0, 9, (3, 3)), 0)),
    }, ref=lambda a, k=0: np.tril(a, k), bad=[((np.ones(3),), {}, ValueError, "at least 2 dimensions")]),
    "triu": Row(samples=lambda rng: {
        "random": Case((_f(rng, 4, 5),)),
        "empty": Case((_f(rng, 0, 3),)),
        "batched": Case((_f(rng, 2, 3, 4), 1)),
        "offset": Case((_f(rng, 3, 4), -2)),
        "bools": Case((rng.random((3, 3)) > 0.3, 0)),
    }, ref=lambda a, k=0: np.triu(a, k), bad=[((np.ones(3),), {}, ValueError, "at least 2 dimensions")]),
    "tril_indices": Row(samples=lambda rng: {
        "random": Case((3, 4, 1)),
        "empty": Case((0, 0)),
        "negative": Case((4, 3, -1)),
        "int32": Case((3, 3), {"dtype": fg.int32}),
    }, ref=lambda r, c, k=0, dtype=np.int64: np.stack(np.tril_indices(r, k, c)).astype(dtype), grad=False, devices=("cpu",),
        bad=[((-1, 2), {}, ValueError, "tril_indices")]),
    "triu_indices": Row(samples=lambda rng: {
        "random": Case((3, 4, 1)),
        "empty": Case((0, 3)),
        "negative": Case((3, 2, -1)),
    }, ref=lambda r, c, k=0: np.stack(np.triu_indices(r, k, c)).astype(np.int64), grad=False, devices=("cpu",),
        bad=[((2, 2), {"dtype": fg.float32}, TypeError, "integer dtype")]),
    "diagonal": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4),)),
        "empty": Case((_f(rng, 0, 3),)),
        "offset": Case((_f(rng, 3, 4), 1)),
        "negative_offset": Case((_f(rng, 3, 4), -2)),
        "past_end": Case((_f(rng, 3, 4), 5)),
        "dims": Case((_f(rng, 2, 3, 4), 1, 2, 0)),
        "negative_dims": Case((_f(rng, 2, 3, 4), -1, -1, 0)),
    }, ref=lambda a, k=0, d1=0, d2=1: np.diagonal(a, k, d1, d2), bad=[
        ((np.ones((2, 3, 4)), 0, 1, 1), {}, RuntimeError, "cannot be identical"),
        ((np.ones(3),), {}, RuntimeError, "at least 2 dims"),
        ((np.ones((2, 3)), 0, 0, 2), {}, IndexError, "dim2"),
    ]),
    "diag_embed": Row(samples=lambda rng: {
        "random": Case((_f(rng, 2, 3),)),
        "empty": Case((_f(rng, 0, 3),)),
        "offset": Case((_f(rng, 2, 3), 1, 0, 2)),
        "negative": Case((_f(rng, 3), -1)),
    }, ref=_diag_embed_ref, bad=[((np.ones(3), 0, 0, 0), {}, RuntimeError, "cannot be identical")]),
    "diag": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4),)),
        "empty": Case((_f(rng, 0),)),
        "vector": Case((_f(rng, 3), 1)),
        "vector_negative": Case((_f(rng, 2), -1)),
        "matrix_offset": Case((_f(rng, 3, 4), -1)),
        "matrix_past_end": Case((_f(rng, 3, 4), 5)),
    }, ref=lambda a, k=0: np.diag(a, k), bad=[
        ((np.array(1.0),), {}, RuntimeError, "1-d or 2-d"),
        ((np.ones((2, 2, 2)),), {}, RuntimeError, "1-d or 2-d"),
    ]),
    "trace": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4),)),
        "empty": Case((_f(rng, 0, 3),)),
        "ints": Case((rng.integers(-9, 9, (3, 3)),)),
        "int32": Case((rng.integers(-9, 9, (2, 3)).astype(np.int32),)),
    }, ref=lambda a: np.asarray(np.trace(a)).astype(a.dtype if a.dtype.kind == "f" else np.int64), bad=[
        ((np.ones((2, 2, 2)),), {}, RuntimeError, "expected a matrix"),
    ]),
}
