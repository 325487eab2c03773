"""Table rows: random sampling (ops/random_ops.py).

Each call draws from a fresh `Generator().manual_seed(SEED)`, so the result is pinned exactly by a
numpy reference drawing from `np.random.default_rng(SEED)` (ferrograd's generator is numpy's
PCG64 stream). Factories take `like=<empty float array>` for the dtype and device under test
(see rows_creation.py). Distribution-level checks (moments, multinomial frequencies) live in
tests/unit/test_generator.py.
"""

from __future__ import annotations

import numpy as np
from optable import Case, Row

from ferrograd.ops import random_ops as R
from ferrograd.random import Generator

SEED = 1234
_LIKE = np.zeros(0)


def _rng():
    return np.random.default_rng(SEED)


def _seeded(fn, dtype=True):
    def call(*args, like=None, **kw):
        if like is not None:
            kw.setdefault("device", like.device)
            if dtype:
                kw.setdefault("dtype", like.dtype)
        return fn(*args, generator=Generator().manual_seed(SEED), **kw)

    return call


def _size(args):
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def _factory_samples(rng):
    return {
        "random": Case((3, 4), {"like": _LIKE}),
        "empty": Case((0, 2), {"like": _LIKE}),
        "tuple": Case(((2, 1, 3),), {"like": _LIKE}),
        "scalar": Case((), {"like": _LIKE}),
    }


def _method(name):
    def call(t, *args, **kw):
        out = getattr(t, name)(*args, generator=Generator().manual_seed(SEED), **kw)
        assert out is t
        return out

    return call


def _fill_row(name, draw, args=(), bad=(), dtypes_=("float32", "float64")):
    """An in-place fill `t.name(*args)` against `draw(rng, shape, *args)` in t's dtype."""

    def samples(rng):
        return {
            "random": Case((np.zeros((3, 4)), *args)),
            "empty": Case((np.zeros((0, 3)), *args)),
            "vector": Case((np.zeros(5), *args)),
        }

    def ref(t, *a):
        return np.asarray(draw(_rng(), t.shape, *a)).astype(t.dtype)

    return Row(samples=samples, ref=ref, grad=False, call=_method(name), dtypes=dtypes_,
               bad=[((np.zeros(2), *b), {}, exc, text) for b, exc, text in bad])


def _multinomial_check(got, want):
    """`want` holds the weights, num_samples and replacement; samples are pinned by their properties."""
    w, k, replacement = want["w"], want["k"], want["replacement"]
    w = np.atleast_2d(w)
    got = np.atleast_2d(got)
    assert got.dtype == np.int64 and got.shape == (w.shape[0], k), (got.shape, got.dtype)
    for row, wr in zip(got, w):
        assert ((row >= 0) & (row < w.shape[1])).all()
        if replacement or k <= np.count_nonzero(wr):
            assert (wr[row] > 0).all(), "a zero-weight category was drawn"
        if not replacement:
            assert len(set(row.tolist())) == k, "samples without replacement repeat"


ROWS = {
    "rand": Row(samples=_factory_samples, ref=lambda *s, like: _rng().random(_size(s)).astype(like.dtype),
                grad=False, call=_seeded(R.rand), bad=[
        ((-1,), {}, ValueError, "rand"),
        ((2,), {"dtype": np.int64}, TypeError, "rand"),
        ((2,), {"generator": 3}, TypeError, "generator"),
    ]),
    "randn": Row(samples=_factory_samples, ref=lambda *s, like: _rng().standard_normal(_size(s)).astype(like.dtype),
                 grad=False, call=_seeded(R.randn), bad=[((2,), {"dtype": np.int32}, TypeError, "randn")]),
    "randint": Row(samples=lambda rng: {
        "random": Case((3, 10, (3, 4)), {"like": _LIKE}),
        "empty": Case((5, (0,)), {"like": _LIKE}),
        "high_only": Case((7, [2, 2]), {"like": _LIKE}),
        "negative": Case((-5, 5, (6,)), {"like": _LIKE}),
    }, ref=lambda *a, like: _rng().integers(*(a[:-1] if len(a) == 3 else (0, a[0])), tuple(a[-1]), dtype=np.int64),
        grad=False, call=_seeded(R.randint, dtype=False), bad=[
        ((5, 3, (2,)), {}, ValueError, "randint"),
        ((5,), {}, TypeError, "randint"),
        ((0, 2**40, (2,)), {"dtype": np.int32}, ValueError, "out of bounds"),
        ((2.5, (2,)), {}, TypeError, "randint"),
    ]),
    "randperm": Row(samples=lambda rng: {
        "random": Case((10,), {"like": _LIKE}),
        "empty": Case((0,), {"like": _LIKE}),
        "one": Case((1,), {"like": _LIKE}),
    }, ref=lambda n, like: _rng().permutation(n), grad=False, call=_seeded(R.randperm, dtype=False), bad=[
        ((-1,), {}, ValueError, "randperm"),
        ((4,), {"requires_grad": True}, TypeError, "randperm"),
    ]),
    "rand_like": Row(samples=lambda rng: {
        "random": Case((np.zeros((3, 4)),)),
        "empty": Case((np.zeros((0, 4)),)),
    }, ref=lambda x: _rng().random(x.shape).astype(x.dtype), grad=False, call=_seeded(R.rand_like),
        bad=[((np.array([1, 2]),), {}, TypeError, "rand_like")]),
    "randn_like": Row(samples=lambda rng: {
        "random": Case((np.zeros((3, 4)),)),
        "empty": Case((np.zeros((0, 4)),)),
    }, ref=lambda x: _rng().standard_normal(x.shape).astype(x.dtype), grad=False, call=_seeded(R.randn_like),
        bad=[(([1.0],), {}, TypeError, "randn_like")]),
    "randint_like": Row(samples=lambda rng: {
        "random": Case((np.zeros((3, 4)), 2, 9)),
        "empty": Case((np.zeros(0), 4)),
        "ints": Case((np.zeros(5, np.int64), 100)),
    }, ref=lambda x, lo, hi=None: _rng().integers(*((0, lo) if hi is None else (lo, hi)), x.shape,
                                                  dtype=np.int64).astype(x.dtype),
        grad=False, call=_seeded(R.randint_like), bad=[((np.zeros(2), 3, 3), {}, ValueError, "randint_like")]),
    "normal": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal((3, 4)), rng.uniform(0.5, 2, (3, 4)))),
        "empty": Case((np.zeros((0, 2)), 1.0)),
        "broadcast": Case((rng.standard_normal((2, 1)), rng.uniform(0.5, 2, 3))),
        "mean_tensor": Case((rng.standard_normal(4), 0.5)),
        "std_tensor": Case((1.5, rng.uniform(0.5, 2, (2, 2)))),
        "floats": Case((2.0, 3.0, (2, 3)), {"like": _LIKE}),
    }, ref=lambda m, s, size=None, like=None: _normal_ref(m, s, size, like), grad=False,
        call=_seeded(R.normal), bad=[
        ((0.0, -1.0, (3,)), {}, ValueError, "std"),
        ((np.zeros(3), -1.0), {}, ValueError, "std"),
        ((np.zeros(3), np.array([1.0, -1.0, 1.0])), {}, ValueError, "std"),
        ((np.zeros((2, 3)), np.ones(4)), {}, ValueError, "broadcast"),
        ((0.0, 1.0), {}, TypeError, "size"),
        ((np.array([1, 2]), 1.0), {}, TypeError, "normal"),
    ]),
    "bernoulli": Row(samples=lambda rng: {
        "random": Case((rng.uniform(0, 1, (3, 4)),)),
        "empty": Case((np.zeros((0, 2)),)),
        "p": Case((rng.standard_normal((2, 3)), 0.3)),
        "certain": Case((np.array([0.0, 1.0, 1.0, 0.0]),)),
    }, ref=lambda x, p=None: _bernoulli_ref(x, p), grad=False, call=_seeded(R.bernoulli, dtype=False), bad=[
        ((np.array([0.5, 1.5]),), {}, ValueError, "bernoulli"),
        ((np.zeros(2), 1.5), {}, ValueError, "bernoulli"),
        ((np.array([1, 0]),), {}, TypeError, "bernoulli"),
    ]),
    "poisson": Row(samples=lambda rng: {
        "random": Case((rng.uniform(0, 5, (3, 4)),)),
        "empty": Case((np.zeros(0),)),
        "zeros": Case((np.zeros(3),)),
    }, ref=lambda x: _rng().poisson(x.astype(np.float64)).astype(x.dtype), grad=False,
        call=_seeded(R.poisson, dtype=False), bad=[((np.array([-1.0, 2.0]),), {}, ValueError, "Poisson")]),
    "multinomial": Row(samples=lambda rng: {
        "random": Case((rng.uniform(0, 1, (3, 6)), 4)),
        "empty": Case((np.zeros((0, 3)), 2)),
        "replacement": Case((np.array([0.0, 2.0, 1.0, 0.0]), 20, True)),
        "zeros_last": Case((np.array([1.0, 0.0, 1.0]), 3)),
        "vector": Case((rng.uniform(0, 1, 5), 5)),
    }, ref=lambda w, k, replacement=False: {"w": w, "k": k, "replacement": replacement}, grad=False,
        compare=_multinomial_check,
        call=_seeded(R.multinomial, dtype=False), bad=[
        ((np.ones(3), 4), {}, ValueError, "without replacement"),
        ((np.array([-1.0, 1.0]), 1), {}, ValueError, "element < 0"),
        ((np.zeros(2), 1), {}, ValueError, "sum of probabilities"),
        ((np.ones((2, 2, 2)), 1), {}, ValueError, "1 or 2 dim"),
        ((np.ones(3), 0), {}, ValueError, "num_samples"),
        ((np.array([1, 2]), 1), {}, TypeError, "floating-point"),
    ]),
    "uniform_": _fill_row("uniform_", lambda g, s, a=0.0, b=1.0: g.uniform(a, b, s), (-2.0, 3.0),
                          bad=[((2.0, 1.0), ValueError, "uniform_")]),
    "normal_": _fill_row("normal_", lambda g, s, m=0.0, sd=1.0: m + sd * g.standard_normal(s), (1.5, 0.5),
                         bad=[((0.0, -1.0), ValueError, "std")]),
    "bernoulli_": _fill_row("bernoulli_", lambda g, s, p=0.5: g.random(s) < p, (0.25,),
                            bad=[((1.5,), ValueError, "bernoulli_")]),
    "random_": _fill_row("random_", lambda g, s, lo=0, hi=None: g.integers(
        *((0, lo) if hi is None else (lo, hi)), s, dtype=np.int64), (-3, 7), bad=[((5, 3), ValueError, "random_")]),
    "exponential_": _fill_row("exponential_", lambda g, s, lam=1.0: g.exponential(1 / lam, s), (2.0,),
                              bad=[((0.0,), ValueError, "lambda")]),
    "geometric_": _fill_row("geometric_", lambda g, s, p: g.geometric(p, s), (0.3,),
                            bad=[((1.0,), ValueError, "geometric_")]),
    "cauchy_": _fill_row("cauchy_", lambda g, s, m=0.0, sd=1.0: m + sd * g.standard_cauchy(s), (1.0, 0.5),
                         bad=[((0.0, -1.0), ValueError, "sigma")]),
    "log_normal_": _fill_row("log_normal_", lambda g, s, m=1.0, sd=2.0: g.lognormal(m, sd, s), (0.5, 0.25),
                             bad=[((0.0, 0.0), ValueError, "std")]),
}


def _normal_ref(m, s, size, like):
    rng = _rng()
    if size is not None:
        return (m + s * rng.standard_normal(size)).astype(like.dtype)
    arrays = [x for x in (m, s) if isinstance(x, np.ndarray)]
    dt = arrays[0].dtype
    shape = np.broadcast_shapes(*(x.shape for x in arrays))
    return (m + s * rng.standard_normal(shape).astype(dt)).astype(dt)


def _bernoulli_ref(x, p):
    u = _rng().random(x.shape)
    if p is None:
        return (u.astype(x.dtype) < x).astype(x.dtype)
    return (u < p).astype(x.dtype)
