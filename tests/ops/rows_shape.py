"""Table rows: rearranging, splitting and joining (ops/shape_ops.py). References are numpy's
functions where torch copied their semantics (flip, roll, tile, tensor_split, moveaxis, meshgrid,
the *stack family); torch's chunk / split / repeat_interleave rules are spelled out here."""

from __future__ import annotations

import math

import numpy as np
from optable import Case, Row

from ferrograd.ops import shape_ops


def _f(rng, *shape):
    return rng.standard_normal(shape)


def _chunk_ref(a, chunks, dim=0):
    n = a.shape[dim]
    if n == 0:
        return tuple(np.take(a, [], axis=dim) for _ in range(chunks))
    step = math.ceil(n / chunks)
    return tuple(np.take(a, range(i, min(i + step, n)), axis=dim) for i in range(0, n, step))


def _split_ref(a, size, dim=0):
    n = a.shape[dim]
    if isinstance(size, (list, tuple)):
        edges = np.cumsum([0] + list(size))
        return tuple(np.take(a, range(lo, hi), axis=dim) for lo, hi in zip(edges[:-1], edges[1:]))
    if n == 0:
        return (a,)
    return tuple(np.take(a, range(i, min(i + size, n)), axis=dim) for i in range(0, n, size))


def _tuple(f):
    return lambda *a, **k: tuple(f(*a, **k))


def _repeat_interleave_ref(a, repeats=None, dim=None):
    if repeats is None:
        return np.repeat(np.arange(a.size), a).astype(np.int64)
    if isinstance(repeats, np.ndarray) and repeats.size == 1:
        repeats = int(repeats.reshape(-1)[0])
    return np.repeat(a, repeats, axis=dim)


def _unflatten_ref(a, dim, sizes):
    d = dim % a.ndim
    return a.reshape(a.shape[:d] + tuple(sizes) + a.shape[d + 1:])


def _broadcast_to_ref(a, size):
    lead = len(size) - a.ndim
    return np.broadcast_to(a, tuple(a.shape[i - lead] if s == -1 else s for i, s in enumerate(size)))


def _cat_ref(tensors, dim=0):
    if any(t.ndim > 1 for t in tensors):
        tensors = [t for t in tensors if t.shape != (0,)]
    return np.concatenate(tensors, axis=dim)


def _column_stack_ref(*ts):
    return np.column_stack(ts)


def _flatten_ref(a, s=0, e=-1):
    if a.ndim == 0:
        return a.reshape(1)
    s, e = s % a.ndim, e % a.ndim
    return a.reshape(a.shape[:s] + (math.prod(a.shape[s:e + 1]),) + a.shape[e + 1:])


def _listed(fn, **fixed):
    """A call that passes the tensor arguments as one list (fg.hstack([a, b]))."""
    return lambda *ts, **kw: fn(list(ts), **fixed, **kw)


_BAD_DIMS = [((np.ones((2, 3)), 0, 2), {}, IndexError, "out of range")]


ROWS = {
    "flip": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), (0, 1))),
        "empty": Case((_f(rng, 0, 3), (0,))),
        "one_dim": Case((_f(rng, 2, 3, 4), [-1])),
        "no_dims": Case((_f(rng, 2, 3), ())),
        "ints": Case((rng.integers(0, 9, (3, 4)), (1,))),
        "scalar": Case((np.array(1.5), ())),
        "varargs": Case((_f(rng, 2, 3, 2), 0, 2)),
        "keyword": Case((_f(rng, 2, 3),), {"dims": [1]}),
    }, ref=lambda a, *dims, **kw: (lambda d: np.flip(a, d) if d else a.copy())(
        kw["dims"] if "dims" in kw else dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims), bad=[
        ((np.ones((2, 3)), (0.5,)), {}, TypeError, "tuple of ints"),
        ((np.ones((2, 3)), (0, 0)), {}, RuntimeError, "repeats a dim"),
        ((np.ones((2, 3)), (2,)), {}, IndexError, "flip"),
    ]),
    "fliplr": Row(samples=lambda rng: {"random": Case((_f(rng, 3, 4),)), "empty": Case((_f(rng, 0, 3),)),
                                       "three": Case((_f(rng, 2, 3, 2),))},
                  ref=np.fliplr, bad=[((np.ones(3),), {}, RuntimeError, ">= 2-d")]),
    "flipud": Row(samples=lambda rng: {"random": Case((_f(rng, 3, 4),)), "empty": Case((_f(rng, 0),)),
                                       "vector": Case((_f(rng, 5),))},
                  ref=np.flipud, bad=[((np.array(1.0),), {}, RuntimeError, ">= 1-d")]),
    "roll": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), 1)),
        "empty": Case((_f(rng, 0, 3), 2, 0)),
        "dims": Case((_f(rng, 3, 4), (1, -3), (0, 1))),
        "negative": Case((_f(rng, 3, 4), -5, 1)),
        "same_dim_twice": Case((_f(rng, 3, 4), (1, 1), (0, 0))),
        "scalar": Case((np.array(2.0), 3)),
        "ints": Case((rng.integers(0, 9, (3, 4)), 2, -1)),
    }, ref=lambda a, shifts, dims=None: np.roll(a, shifts, dims), bad=[
        ((np.ones((2, 3)), (1, 2), 0), {}, RuntimeError, "must align"),
        ((np.ones((2, 3)), 1, 2), {}, IndexError, "roll"),
    ]),
    "chunk": Row(samples=lambda rng: {
        "random": Case((_f(rng, 6, 4), 4)),
        "empty": Case((_f(rng, 0, 3), 3)),
        "dim": Case((_f(rng, 3, 7), 3, 1)),
        "more_chunks": Case((_f(rng, 2, 3), 5, -1)),
    }, ref=_chunk_ref, bad=[
        ((np.ones((2, 3)), 0), {}, ValueError, "greater than 0"),
        ((np.array(1.0), 1), {}, ValueError, "0-d"),
    ]),
    "split": Row(samples=lambda rng: {
        "random": Case((_f(rng, 7, 3), 3)),
        "empty": Case((_f(rng, 0, 3), 2)),
        "sizes": Case((_f(rng, 3, 6), [1, 0, 5], 1)),
        "exact": Case((_f(rng, 4, 2), 2)),
    }, ref=_split_ref, bad=[
        ((np.ones(6), [1, 4]), {}, ValueError, "sum exactly to 6"),
        ((np.ones(6), 0), {}, ValueError, "split_size"),
    ]),
    "tensor_split": Row(samples=lambda rng: {
        "random": Case((_f(rng, 7, 3), 3)),
        "empty": Case((_f(rng, 0, 3), 2)),
        "indices": Case((_f(rng, 7), [1, 5, 9])),
        "decreasing": Case((_f(rng, 3, 7), (5, 1), 1)),
        "negative": Case((_f(rng, 7), [-2])),
        "tensor_sections": Case((_f(rng, 7), np.array(3))),
        "tensor_indices": Case((_f(rng, 7), np.array([2, 3]))),
    }, ref=lambda a, s, dim=0: tuple(np.array_split(a, s if not isinstance(s, np.ndarray) else (int(s) if s.ndim == 0 else list(s)), axis=dim)),
        bad=[((np.ones(6), 0), {}, ValueError, "larger than 0"),
             ((np.ones(6), np.ones(2)), {}, TypeError, "int tensor")]),
    "unbind": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4),)),
        "empty": Case((_f(rng, 0, 3),)),
        "dim": Case((_f(rng, 2, 3, 4), -1)),
    }, ref=lambda a, dim=0: tuple(np.moveaxis(a, dim, 0)), bad=[((np.array(1.0),), {}, IndexError, "unbind")]),
    "narrow": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 5), 1, 1, 3)),
        "empty": Case((_f(rng, 3, 5), 1, 5, 0)),
        "negative": Case((_f(rng, 3, 5), -1, -2, 2)),
        "tensor_start": Case((_f(rng, 4, 2), 0, np.array(1), 2)),
    }, ref=lambda a, dim, start, length: np.take(a, range(int(start) % a.shape[dim] if int(start) < 0 else int(start),
                                                          (int(start) % a.shape[dim] if int(start) < 0 else int(start)) + length), axis=dim),
        bad=[((np.ones((2, 4)), 1, 3, 2), {}, ValueError, "exceeds dimension size"),
             ((np.ones((2, 4)), 1, 5, 0), {}, IndexError, "start (5) out of range"),
             ((np.ones((2, 4)), 1, 0, -1), {}, ValueError, "non-negative")]),
    "select": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 5), 1, 2)),
        "empty": Case((_f(rng, 0, 5), 1, -1)),
        "vector": Case((_f(rng, 4), 0, -1)),
    }, ref=lambda a, dim, i: np.take(a, i, axis=dim), bad=[
        ((np.ones((2, 4)), 1, 4), {}, IndexError, "out of range"),
        ((np.array(1.0), 0, 0), {}, IndexError, "0-dim"),
    ]),
    "repeat": Row(samples=lambda rng: {
        "random": Case((_f(rng, 2, 3), 2, 1, 3)),
        "empty": Case((_f(rng, 0, 3), 2, 2)),
        "zero": Case((_f(rng, 2, 3), 0, 1)),
        "tuple": Case((_f(rng, 2, 3), (1, 2))),
        "ones": Case((_f(rng, 2, 3), 1, 1)),
        "scalar": Case((np.array(1.5), 3)),
    }, ref=lambda a, *reps: np.tile(a, reps[0] if len(reps) == 1 and isinstance(reps[0], tuple) else reps),
        call=lambda a, *reps: a.repeat(*reps), bad=[
            ((np.ones((2, 3)), 2), {}, ValueError, "can not be smaller"),
            ((np.ones((2, 3)), -1, 1), {}, ValueError, "non-negative"),
        ]),
    "tile": Row(samples=lambda rng: {
        "random": Case((_f(rng, 2, 3), (2, 1, 3))),
        "empty": Case((_f(rng, 0, 3), (2, 2))),
        "fewer": Case((_f(rng, 2, 3), (2,))),
        "list": Case((_f(rng, 2), [3])),
        "varargs": Case((_f(rng, 2, 3), 2, 2)),
        "keyword": Case((_f(rng, 2, 3),), {"dims": (1, 2)}),
    }, ref=lambda a, *reps, dims=None: np.tile(a, dims if dims is not None else reps[0] if len(reps) == 1 else reps),
        bad=[((np.ones((2, 3)), 2.0), {}, TypeError, "tuple of ints")]),
    "repeat_interleave": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), 2)),
        "empty": Case((_f(rng, 0, 4), 2, 0)),
        "tensor": Case((_f(rng, 3, 4), np.array([1, 0, 2]), 0)),
        "one_count": Case((_f(rng, 3, 4), np.array([2]), -1)),
        "counts_only": Case((np.array([1, 0, 3]),)),
        "ints": Case((rng.integers(0, 9, (2, 3)), 3, 1)),
    }, ref=_repeat_interleave_ref, bad=[
        ((np.ones((3, 2)), np.array([1, 2]), 0), {}, ValueError, "same size as input"),
        ((np.ones((3, 2)), -1), {}, ValueError, "non-negative"),
    ]),
    "unflatten": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 4), 1, (2, -1))),
        "empty": Case((_f(rng, 0, 4), 1, (2, 2))),
        "front": Case((_f(rng, 6, 2), 0, [3, 2])),
    }, ref=_unflatten_ref, bad=[
        ((np.ones((3, 4)), 1, (3, -1)), {}, ValueError, "don't multiply up"),
        ((np.ones((3, 4)), 1, (2, 3)), {}, ValueError, "don't multiply up"),
    ]),
    "ravel": Row(samples=lambda rng: {"random": Case((_f(rng, 3, 4),)), "empty": Case((_f(rng, 0, 4),)),
                                      "scalar": Case((np.array(2.0),))}, ref=np.ravel),
    # a 1-d input: the table's non-contiguous pass would make a 2-d one unviewable (torch raises too)
    "view_as": Row(samples=lambda rng: {"random": Case((_f(rng, 12), _f(rng, 2, 6))), "empty": Case((_f(rng, 0, 4), _f(rng, 2, 0)))},
                   ref=lambda a, b: a.reshape(b.shape), call=lambda a, b: a.view_as(b), grad_args=(0,),
                   bad=[((np.ones((2, 3)), (3, 2)), {}, TypeError, "other must be a Tensor")]),
    "reshape_as": Row(samples=lambda rng: {"random": Case((_f(rng, 3, 4), _f(rng, 2, 6))), "empty": Case((_f(rng, 0, 4), _f(rng, 2, 0)))},
                      ref=lambda a, b: a.reshape(b.shape), call=lambda a, b: a.reshape_as(b), grad_args=(0,)),
    "movedim": Row(samples=lambda rng: {
        "random": Case((_f(rng, 2, 3, 4), 0, 2)),
        "empty": Case((_f(rng, 0, 3, 4), (0, 1), (2, 0))),
        "tuples": Case((_f(rng, 2, 3, 4, 5), (0, -1), (-1, 1))),
        "vector": Case((_f(rng, 3), 0, -1)),
    }, ref=lambda a, s, d: np.moveaxis(a, s, d), bad=[
        ((np.ones((2, 3, 4)), (0, 1), (2,)), {}, ValueError, "same number of dims"),
        ((np.ones((2, 3, 4)), (0, 0), (2, 1)), {}, ValueError, "repeated dim"),
        ((np.ones((2, 3, 4)), 3, 0), {}, IndexError, "source"),
    ]),
    "swapaxes": Row(samples=lambda rng: {"random": Case((_f(rng, 2, 3, 4), 0, 2)), "empty": Case((_f(rng, 0, 3), 0, 1)),
                                         "scalar": Case((np.array(1.0), 0, -1))},
                    ref=lambda a, x, y: np.swapaxes(a, x, y) if a.ndim else a, bad=_BAD_DIMS),
    "swapdims": Row(samples=lambda rng: {"random": Case((_f(rng, 2, 3, 4), -1, 1)), "empty": Case((_f(rng, 0, 3), 0, 1))},
                    ref=lambda a, x, y: np.swapaxes(a, x, y), bad=_BAD_DIMS),
    "adjoint": Row(samples=lambda rng: {"random": Case((_f(rng, 2, 3, 4),)), "empty": Case((_f(rng, 0, 3),))},
                   ref=lambda a: np.swapaxes(a, -1, -2), bad=[((np.ones(3),), {}, RuntimeError, "matrices")]),
    "broadcast_to": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 1), (2, 3, 4))),
        "empty": Case((_f(rng, 0, 1), (0, 3))),
        "keep": Case((_f(rng, 3, 4), (2, -1, 4))),
    }, ref=_broadcast_to_ref, bad=[
        ((np.ones((3, 4)), (2, 3)), {}, ValueError, "cannot broadcast"),
        ((np.ones((3, 4)), (-1, 3, 4)), {}, ValueError, "cannot broadcast"),
    ]),
    "broadcast_tensors": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 1), _f(rng, 2, 1, 4))),
        "empty": Case((_f(rng, 0, 1), _f(rng, 3))),
        "three": Case((_f(rng, 3), np.array(2.0), _f(rng, 2, 1))),
    }, ref=_tuple(np.broadcast_arrays), bad=[((np.ones(3), np.ones(2)), {}, ValueError, "shape mismatch")]),
    "meshgrid": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3), _f(rng, 4))),
        "empty": Case((_f(rng, 0), _f(rng, 2))),
        "xy": Case((_f(rng, 3), _f(rng, 4), _f(rng, 2)), {"indexing": "xy"}),
        "scalar": Case((np.array(1.0), _f(rng, 3)), {"indexing": "ij"}),
    }, ref=lambda *xs, indexing="ij": tuple(np.meshgrid(*xs, indexing=indexing)), bad=[
        ((np.ones(2), np.ones(3)), {"indexing": "xx"}, ValueError, "indexing must be"),
        ((np.ones((2, 2)), np.ones(3)), {}, ValueError, "0D or 1D"),
        ((np.ones(2), np.arange(3)), {}, TypeError, "same dtype"),
    ]),
    "hstack": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3, 2), _f(rng, 3, 4))),
        "empty": Case((_f(rng, 0), _f(rng, 2))),
        "scalars": Case((np.array(1.0), np.array(2.0))),
    }, ref=lambda *ts: np.hstack(ts), call=_listed(shape_ops.hstack), bad=[
        ((np.ones(2), np.ones((2, 2))), {}, ValueError, "hstack"),
    ]),
    "vstack": Row(samples=lambda rng: {
        "random": Case((_f(rng, 2, 3), _f(rng, 3))),
        "empty": Case((_f(rng, 0, 3), _f(rng, 3))),
    }, ref=lambda *ts: np.vstack(ts), call=_listed(shape_ops.vstack)),
    "dstack": Row(samples=lambda rng: {
        "random": Case((_f(rng, 2, 3), _f(rng, 2, 3, 2))),
        "empty": Case((_f(rng, 0, 3), _f(rng, 0, 3))),
        "vectors": Case((_f(rng, 3), _f(rng, 3))),
    }, ref=lambda *ts: np.dstack(ts), call=_listed(shape_ops.dstack)),
    "column_stack": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3), _f(rng, 3, 2))),
        "empty": Case((_f(rng, 0), _f(rng, 0, 2))),
        "scalars": Case((np.array(1.0), np.array(2.0))),
    }, ref=_column_stack_ref, call=_listed(shape_ops.column_stack), bad=[
        ((np.ones(2), np.ones((3, 2))), {}, ValueError, "column_stack"),
    ]),
    "atleast_1d": Row(samples=lambda rng: {
        "random": Case((np.array(1.5),)),
        "empty": Case((_f(rng, 0),)),
        "several": Case((np.array(1.0), _f(rng, 2, 3))),
    }, ref=lambda *ts: np.atleast_1d(*ts) if len(ts) == 1 else tuple(np.atleast_1d(*ts))),
    "atleast_2d": Row(samples=lambda rng: {
        "random": Case((_f(rng, 3),)),
        "empty": Case((_f(rng, 0),)),
        "several": Case((np.array(1.0), _f(rng, 3), _f(rng, 2, 3, 1))),
    }, ref=lambda *ts: np.atleast_2d(*ts) if len(ts) == 1 else tuple(np.atleast_2d(*ts))),
    "atleast_3d": Row(samples=lambda rng: {
        "random": Case((_f(rng, 2, 3),)),
        "empty": Case((_f(rng, 0),)),
        "several": Case((np.array(1.0), _f(rng, 3), _f(rng, 2, 3))),
    }, ref=lambda *ts: np.atleast_3d(*ts) if len(ts) == 1 else tuple(np.atleast_3d(*ts))),
    "concat": Row(samples=lambda rng: {
        "random": Case((_f(rng, 2, 3), _f(rng, 2, 4)), {"dim": 1}),
        "empty": Case((_f(rng, 0, 3), _f(rng, 2, 3))),
        "legacy_empty": Case((_f(rng, 2, 3), _f(rng, 0))),
    }, ref=lambda *ts, dim=0: _cat_ref(ts, dim), call=_listed(shape_ops.concat), bad=[
        ((np.ones((2, 3)), np.ones((3, 2))), {}, ValueError, "concat"),
    ]),
    "concatenate": Row(samples=lambda rng: {
        "random": Case((_f(rng, 2, 3), _f(rng, 2, 4)), {"axis": -1}),
        "empty": Case((_f(rng, 0, 3), _f(rng, 0, 3))),
    }, ref=lambda *ts, axis=0: _cat_ref(ts, axis), call=_listed(shape_ops.concatenate)),
    # ---- corrections of tensor.py's hand-written methods, called through fg.* (see shape_ops.py):
    # these rows fail until the hand-written Tensor.flatten / Tensor.transpose are removed.
    "flatten": Row(samples=lambda rng: {
        "random": Case((_f(rng, 2, 3, 4), 1)),
        "empty": Case((_f(rng, 0, 3, 4), 0, 1)),
        "scalar": Case((np.array(1.0),)),
        "all": Case((_f(rng, 2, 3, 4),)),
    }, ref=_flatten_ref,
        bad=[((np.ones((2, 3, 4)), 0, 5), {}, IndexError, "out of range"),
             ((np.ones((2, 3, 4)), 2, 1), {}, ValueError, "cannot come after")]),
    "transpose": Row(samples=lambda rng: {
        "random": Case((_f(rng, 2, 3, 4), 0, -1)),
        "empty": Case((_f(rng, 0, 3), 0, 1)),
        "scalar": Case((np.array(1.0), 0, -1)),
        "vector": Case((_f(rng, 3), 0, 0)),
    }, ref=lambda a, x, y: np.swapaxes(a, x, y) if a.ndim else a, bad=_BAD_DIMS),
}
