"""Property tests: broadcasting binary ops send each input a gradient of its own shape, equal to
numpy's reference (the upstream gradient times the local derivative, summed over broadcast dims)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import ferrograd as fg


def unbroadcast_ref(g, shape):
    """Sum `g` down to `shape`: drop leading dims, then sum dims where `shape` has size 1."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1:
            g = g.sum(axis=i, keepdims=True)
    return g


# op -> (ferrograd, numpy forward, d/da, d/db)
OPS = {
    "add": (lambda x, y: x + y, np.add, lambda a, b: np.ones_like(a * b), lambda a, b: np.ones_like(a * b)),
    "sub": (lambda x, y: x - y, np.subtract, lambda a, b: np.ones_like(a * b), lambda a, b: -np.ones_like(a * b)),
    "mul": (lambda x, y: x * y, np.multiply, lambda a, b: b + 0 * a, lambda a, b: a + 0 * b),
    "div": (lambda x, y: x / y, np.divide, lambda a, b: 1 / b + 0 * a, lambda a, b: -a / b**2),
    "maximum": (fg.maximum, np.maximum, lambda a, b: (a > b) + 0.0 * b, lambda a, b: (b > a) + 0.0 * a),
    "minimum": (fg.minimum, np.minimum, lambda a, b: (a < b) + 0.0 * b, lambda a, b: (b < a) + 0.0 * a),
}

shape_pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=4)


def check(name, shapes, seed, swap):
    fn, fwd, da, db = OPS[name]
    sa, sb = shapes.input_shapes[::-1] if swap else shapes.input_shapes
    rng = np.random.default_rng(seed)
    # Continuous random values: no ties for maximum/minimum, divisors bounded away from 0.
    a = rng.uniform(-2.0, 2.0, sa)
    b = rng.choice([-1.0, 1.0], sb) * rng.uniform(0.5, 2.0, sb)
    x = fg.tensor(a, requires_grad=True)
    y = fg.tensor(b, requires_grad=True)
    out = fn(x, y)
    out_shape = np.broadcast_shapes(sa, sb)
    assert out.shape == out_shape
    np.testing.assert_allclose(out.detach().numpy(), fwd(a, b), rtol=1e-12)
    g = rng.standard_normal(out_shape)
    out.backward(fg.tensor(g))
    assert x.grad is not None and y.grad is not None
    assert x.grad.shape == sa and y.grad.shape == sb
    assert x.grad.dtype == np.float64 and y.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), unbroadcast_ref(g * da(a, b), sa), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), unbroadcast_ref(g * db(a, b), sb), rtol=1e-10, atol=1e-12)


common = dict(shapes=shape_pairs, seed=st.integers(0, 2**32 - 1), swap=st.booleans())
SETTINGS = settings(max_examples=150, deadline=None)


@SETTINGS
@given(**common)
def test_add_broadcast_gradients(shapes, seed, swap):
    check("add", shapes, seed, swap)


@SETTINGS
@given(**common)
def test_sub_broadcast_gradients(shapes, seed, swap):
    check("sub", shapes, seed, swap)


@SETTINGS
@given(**common)
def test_mul_broadcast_gradients(shapes, seed, swap):
    check("mul", shapes, seed, swap)


@SETTINGS
@given(**common)
def test_div_broadcast_gradients(shapes, seed, swap):
    check("div", shapes, seed, swap)


@SETTINGS
@given(**common)
def test_maximum_broadcast_gradients(shapes, seed, swap):
    check("maximum", shapes, seed, swap)


@SETTINGS
@given(**common)
def test_minimum_broadcast_gradients(shapes, seed, swap):
    check("minimum", shapes, seed, swap)


@settings(max_examples=40, deadline=None)
@given(shapes=shape_pairs, seed=st.integers(0, 2**32 - 1))
def test_float32_broadcast_keeps_dtype(shapes, seed):
    sa, sb = shapes.input_shapes
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(sa).astype(np.float32)
    b = rng.standard_normal(sb).astype(np.float32)
    x = fg.tensor(a, requires_grad=True)
    out = x * fg.tensor(b)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.shape == sa
    np.testing.assert_allclose(x.grad.numpy(), unbroadcast_ref(np.broadcast_to(b, out.shape).astype(np.float64), sa),
                               rtol=1e-5, atol=1e-5)
