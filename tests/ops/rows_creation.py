"""Table rows: tensor creation (ops/creation_ops.py).

Factories take no tensor, so a row passes `like=<empty float array>`: the harness makes it a
tensor of the dtype and on the device under test, and the row's call turns it into `dtype=` and
`device=` (the reference reads its dtype). The rows call the ops/creation_ops functions directly,
so they test these implementations whichever `fg.zeros` the package exports.
"""

from __future__ import annotations

import numpy as np
from optable import Case, Row

from ferrograd.ops import creation_ops as C

_LIKE = np.zeros(0)


def _on(fn, dtype=True):
    """A call that turns `like` (a tensor) into device= (and dtype=) arguments."""

    def call(*args, like=None, **kw):
        if like is not None:
            kw.setdefault("device", like.device)
            if dtype:
                kw.setdefault("dtype", like.dtype)
        return fn(*args, **kw)

    return call


def _size(args):
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def _const_row(fn, value, name):
    def ref(*args, like, size=None):
        shape = _size(args) if size is None else tuple(size)
        return np.full(shape, 0 if value is None else value, like.dtype)

    def samples(rng):
        return {
            "random": Case((2, 3), {"like": _LIKE}),
            "empty": Case((0, 3), {"like": _LIKE}),
            "tuple": Case(((2, 1, 3),), {"like": _LIKE}),
            "list": Case(([4],), {"like": _LIKE}),
            "scalar": Case((), {"like": _LIKE}),
            "size_kw": Case((), {"like": _LIKE, "size": (3, 2)}),
        }

    compare = None
    if value is None:  # empty: values are unspecified, only shape and dtype
        def compare(got, want):
            assert got.shape == want.shape and got.dtype == want.dtype

    return Row(samples=samples, ref=ref, grad=False, call=_on(fn), compare=compare, bad=[
        ((-1,), {}, ValueError, name),
        ((2, 3.0), {}, TypeError, name),
        ((2,), {"dtype": "float16"}, TypeError, "float16"),
        ((2,), {"dtype": np.int64, "requires_grad": True}, TypeError, name),
        ((2,), {"device": "cuda"}, ValueError, "cuda"),
    ])


def _like_row(fn, value, name, *extra):
    def ref(x, *rest, **kw):
        dt = kw.get("dtype", x.dtype)
        v = rest[0] if rest else value
        return np.full(x.shape, 0 if v is None else v, dt)

    def samples(rng):
        return {
            "random": Case((rng.standard_normal((3, 4)), *extra)),
            "empty": Case((np.zeros((0, 2)), *extra)),
            "ints": Case((rng.integers(0, 5, (2, 3)), *extra)),
            "dtype": Case((rng.standard_normal((2, 2)), *extra), {"dtype": np.int64}),
        }

    compare = None
    if value is None:
        def compare(got, want):
            assert got.shape == want.shape and got.dtype == want.dtype

    return Row(samples=samples, ref=ref, grad=False, call=fn, compare=compare,
               bad=[(([1.0, 2.0], *extra), {}, TypeError, name)])


def _new_row(fn, value, name, *extra):
    def ref(x, *args, **kw):
        if extra:
            shape, v = args[0], args[1]
        else:
            shape, v = _size(args), value
        return np.full(shape, 0 if v is None else v, kw.get("dtype", x.dtype))

    def samples(rng):
        if extra:
            return {
                "random": Case((rng.standard_normal((2, 2)), (2, 3), 1.5)),
                "empty": Case((rng.standard_normal(2), (0,), 2.0)),
                "ints": Case((rng.integers(0, 5, 3), (2,), 1.5)),  # the fill is cast to self's dtype
                "dtype": Case((rng.standard_normal(2), [3], 7), {"dtype": np.int64}),
            }
        return {
            "random": Case((rng.standard_normal((2, 2)), 2, 3)),
            "empty": Case((rng.standard_normal(2), 0)),
            "tuple": Case((rng.integers(0, 5, 3), (2, 2))),
            "dtype": Case((rng.standard_normal(2), [3]), {"dtype": np.int64}),
        }

    compare = None
    if value is None and not extra:
        def compare(got, want):
            assert got.shape == want.shape and got.dtype == want.dtype

    bad = [((np.zeros(2), (-1,), 0) if extra else (np.zeros(2), -1), {}, ValueError, name)]
    return Row(samples=samples, ref=ref, grad=False, call=lambda x, *a, **k: getattr(x, name)(*a, **k),
               compare=compare, bad=bad)


def _tensor_samples(rng):
    return {
        "random": Case(([[1.5, 2.0], [3.0, -1.0]],), {"like": _LIKE}),
        "empty": Case(([],), {"like": _LIKE}),
        "ints": Case(([[1, 2], [3, 4]],), {"like": _LIKE}),
        "bools": Case(([True, False, True],), {"like": _LIKE}),
        "mixed": Case(([1, 2.5, True],), {"like": _LIKE}),
        "scalar": Case((3.5,), {"like": _LIKE}),
        "nested_tuple": Case((((1, 2), (3, 4)),), {"like": _LIKE}),
    }


def _ref_tensor(data, like=None, dtype=None):
    a = np.array(data)
    if dtype is not None:
        return a.astype(dtype)
    kind = a.dtype.kind
    return a.astype(np.bool_ if kind == "b" else np.int64 if kind in "iu" else np.float32)


def _range_samples(rng):
    return {
        "random": Case((0.5, 3.7, 0.4), {"like": _LIKE}),
        "empty": Case((2, 2), {"like": _LIKE}),
        "negative_step": Case((5.0, -1.0, -1.5), {"like": _LIKE}),
        "end_only": Case((4.5,), {"like": _LIKE}),
    }


def _linspace64(start, end, steps):
    if steps == 1:
        return np.array([start], np.float64)
    step = (end - start) / (steps - 1)
    i = np.arange(steps)
    return np.where(i < steps // 2, start + step * i, end - step * (steps - 1 - i))


ROWS = {
    "zeros": _const_row(C.zeros, 0, "zeros"),
    "ones": _const_row(C.ones, 1, "ones"),
    "empty": _const_row(C.empty, None, "empty"),
    "full": Row(samples=lambda rng: {
        "random": Case(((2, 3), 1.25), {"like": _LIKE}),
        "empty": Case(((0,), 2.0), {"like": _LIKE}),
        "int_size": Case((3, -4.5), {"like": _LIKE}),
    }, ref=lambda size, v, like: np.full(size, v, like.dtype), grad=False, call=_on(C.full), bad=[
        (((2,), "a"), {}, TypeError, "full"),
        (((-2,), 1.0), {}, ValueError, "full"),
    ]),
    "zeros_like": _like_row(C.zeros_like, 0, "zeros_like"),
    "ones_like": _like_row(C.ones_like, 1, "ones_like"),
    "empty_like": _like_row(C.empty_like, None, "empty_like"),
    "full_like": _like_row(C.full_like, 2.5, "full_like", 2.5),
    "new_zeros": _new_row(C.new_zeros, 0, "new_zeros"),
    "new_ones": _new_row(C.new_ones, 1, "new_ones"),
    "new_empty": _new_row(C.new_empty, None, "new_empty"),
    "new_full": _new_row(C.new_full, None, "new_full", "fill"),
    "new_tensor": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal(2), [[1, 2], [3, 4]])),
        "empty": Case((rng.standard_normal(2), [])),
        "int_self": Case((rng.integers(0, 3, 2), [1.7, -2.7])),  # self's dtype: truncated
        "dtype": Case((rng.standard_normal(2), [1, 2]), {"dtype": np.int64}),
    }, ref=lambda x, data, dtype=None: np.array(data).astype(dtype or x.dtype), grad=False,
        call=lambda x, *a, **k: x.new_tensor(*a, **k), bad=[((np.zeros(2), "abc"), {}, TypeError, "new_tensor")]),
    "eye": Row(samples=lambda rng: {
        "random": Case((3,), {"like": _LIKE}),
        "empty": Case((0,), {"like": _LIKE}),
        "rect": Case((2, 4), {"like": _LIKE}),
        "tall": Case((4, 2), {"like": _LIKE}),
    }, ref=lambda n, m=None, like=None: np.eye(n, m, dtype=like.dtype), grad=False, call=_on(C.eye), bad=[
        ((-1,), {}, ValueError, "eye"),
        ((2.5,), {}, TypeError, "eye"),
    ]),
    "arange": Row(samples=_range_samples, ref=lambda *a, like: np.arange(*a).astype(like.dtype), grad=False,
                  call=_on(C.arange), bad=[
        ((0, 1, 0), {}, ValueError, "step must be nonzero"),
        ((0, 1, -1), {}, ValueError, "inconsistent with step sign"),
        ((0, float("inf")), {}, ValueError, "arange"),
        ((3,), {"dtype": np.bool_}, TypeError, "arange"),
    ]),
    "linspace": Row(samples=lambda rng: {
        "random": Case((-1.5, 2.5, 7), {"like": _LIKE}),
        "empty": Case((0.0, 1.0, 0), {"like": _LIKE}),
        "one": Case((3.0, 5.0, 1), {"like": _LIKE}),
        "descending": Case((4, -4, 5), {"like": _LIKE}),
    }, ref=lambda s, e, n, like: _linspace64(s, e, n).astype(like.dtype), grad=False, call=_on(C.linspace), bad=[
        ((0, 1, -1), {}, ValueError, "steps"),
        ((0, 1, 2.5), {}, TypeError, "steps"),
    ]),
    "logspace": Row(samples=lambda rng: {
        "random": Case((-1.0, 2.0, 5), {"like": _LIKE}),
        "empty": Case((0.0, 1.0, 0), {"like": _LIKE}),
        "base2": Case((0, 4, 5, 2.0), {"like": _LIKE}),
    }, ref=lambda s, e, n, base=10.0, like=None: np.power(base, _linspace64(s, e, n)).astype(like.dtype),
        grad=False, call=_on(C.logspace), bad=[((0, 1, -3), {}, ValueError, "logspace")]),
    "tensor": Row(samples=_tensor_samples, ref=_ref_tensor, grad=False, call=_on(C.tensor, dtype=False), bad=[
        (("abc",), {}, TypeError, "tensor"),
        (([[1, 2], [3]],), {}, ValueError, "tensor"),
        (([1 + 2j],), {}, TypeError, "tensor"),
        ((2**70,), {}, (OverflowError, TypeError), "tensor"),
    ]),
    "as_tensor": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal((2, 3)),)),  # a tensor: returned as it is
        "empty": Case(([],), {"like": _LIKE}),
        "list": Case(([1, 2, 3],), {"like": _LIKE}),
        "cast": Case((rng.standard_normal(3),), {"dtype": np.int64}),
    }, ref=lambda x, dtype=None, like=None: (np.asarray(x) if isinstance(x, np.ndarray) else _ref_tensor(x)).astype(
        dtype or (x.dtype if isinstance(x, np.ndarray) else _ref_tensor(x).dtype)), grad=False,
        call=_on(C.as_tensor, dtype=False), bad=[(({"a": 1},), {}, TypeError, "as_tensor")]),
    "asarray": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal((2, 3)),)),
        "empty": Case(([],), {"like": _LIKE}),
        "list": Case(([1.5, 2],), {"like": _LIKE}),
        "cast": Case((rng.standard_normal(3),), {"dtype": np.int32}),
    }, ref=lambda x, dtype=None, like=None: (np.asarray(x) if isinstance(x, np.ndarray) else _ref_tensor(x)).astype(
        dtype or (x.dtype if isinstance(x, np.ndarray) else _ref_tensor(x).dtype)), grad=False,
        call=_on(C.asarray, dtype=False), bad=[(({"a": 1},), {}, TypeError, "asarray")]),
    "from_numpy": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal((2, 3)),)),
        "empty": Case((np.zeros((0, 2)),)),
        "ints": Case((rng.integers(0, 9, 4),)),
    }, ref=lambda a: a, grad=False, devices=("cpu",),
        call=lambda x: C.from_numpy(x) if not hasattr(x, "numpy") else C.from_numpy(x.numpy().copy()),
        bad=[(("abc",), {}, TypeError, "from_numpy")]),
}
