"""Elementwise ops: forward against numpy, float64 gradcheck, dtype promotion, comparisons."""

import operator

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.testing import gradcheck


def leaf(a):
    return fg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def separated_pair(rng, shape_a, shape_b):
    """Positive operands whose broadcast pairs differ by at least 0.4: safe for div, pow (base
    > 0) and maximum/minimum (no ties within finite-difference reach)."""
    b = rng.uniform(1.0, 2.0, shape_b)
    out = np.broadcast_shapes(shape_a, shape_b)
    if out != tuple(shape_a):
        raise ValueError("shape_a must be the broadcast shape")
    sign = rng.choice([-1.0, 1.0], out)
    a = np.broadcast_to(b, out) + sign * rng.uniform(0.5, 0.7, out)
    return a, b


BINARY = {
    "add": (operator.add, np.add),
    "sub": (operator.sub, np.subtract),
    "mul": (operator.mul, np.multiply),
    "div": (operator.truediv, np.divide),
    "pow": (operator.pow, np.power),
    "maximum": (fg.maximum, np.maximum),
    "minimum": (fg.minimum, np.minimum),
}


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 3, 4), (3, 1)), ((3,), ())])
def test_binary_tensor_tensor(name, shapes, rng):
    fn, ref = BINARY[name]
    a, b = separated_pair(rng, *shapes)
    out = fn(leaf(a), leaf(b))
    assert out.dtype == np.float64 and out.shape == np.broadcast_shapes(*shapes)
    np.testing.assert_allclose(out.detach().numpy(), ref(a, b), rtol=1e-12)
    assert gradcheck(fn, [leaf(a), leaf(b)])
    # Either side alone can require grad.
    assert gradcheck(fn, [leaf(a), fg.tensor(b)])
    assert gradcheck(fn, [fg.tensor(a), leaf(b)])


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
@pytest.mark.parametrize("scalar", [1.7, 2, -1])
def test_binary_with_python_scalar_on_both_sides(name, scalar, rng):
    fn, ref = BINARY[name]
    a = rng.uniform(0.5, 2.0, (3, 4))
    right = fn(leaf(a), scalar)
    assert right.dtype == np.float64
    np.testing.assert_allclose(right.detach().numpy(), ref(a, scalar), rtol=1e-12)
    assert gradcheck(lambda t: fn(t, scalar), [leaf(a)])
    if name == "pow" and scalar < 0:  # a negative base to a real power is nan
        return
    left = fn(scalar, leaf(a))
    assert left.dtype == np.float64
    np.testing.assert_allclose(left.detach().numpy(), ref(scalar, a), rtol=1e-12)
    assert gradcheck(lambda t: fn(scalar, t), [leaf(a)])


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_binary_float32_forward(name, rng):
    fn, ref = BINARY[name]
    a, b = separated_pair(rng, (5, 6), (6,))
    a, b = a.astype(np.float32), b.astype(np.float32)
    out = fn(fg.tensor(a), fg.tensor(b))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), ref(a, b), rtol=1e-6)
    assert fn(fg.tensor(a), 2.5).dtype == np.float32


def test_neg(rng):
    a = rng.standard_normal((3, 4))
    np.testing.assert_array_equal((-leaf(a)).detach().numpy(), -a)
    np.testing.assert_array_equal(leaf(a).neg().detach().numpy(), -a)
    assert gradcheck(lambda t: -t, [leaf(a)])
    assert (-fg.tensor([1, 2])).tolist() == [-1, -2]


def test_tensor_pow_tensor_gradient_values():
    a, b = leaf([2.0, 3.0]), leaf([3.0, 0.5])
    (a ** b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [3.0 * 2.0**2, 0.5 * 3.0**-0.5])
    np.testing.assert_allclose(b.grad.numpy(), [8.0 * np.log(2.0), np.sqrt(3.0) * np.log(3.0)])


def test_method_aliases_match_operators(rng):
    a, b = separated_pair(rng, (2, 3), (3,))
    x, y = fg.tensor(a), fg.tensor(b)
    for meth, ref in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("div", np.divide),
                      ("pow", np.power), ("maximum", np.maximum), ("minimum", np.minimum)]:
        np.testing.assert_allclose(getattr(x, meth)(y).numpy(), ref(a, b), rtol=1e-12)


# ---- dtype promotion ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, dtype",
    [
        (lambda: fg.tensor([1, 2]) / fg.tensor([2, 4]), np.float32),
        (lambda: fg.tensor([1, 2]) / 2, np.float32),
        (lambda: 2 / fg.tensor([1, 2]), np.float32),
        (lambda: fg.tensor([1, 2]) * 2, np.int64),
        (lambda: fg.tensor([1, 2]) + 0.5, np.float32),
        (lambda: 0.5 - fg.tensor([1, 2]), np.float32),
        (lambda: fg.tensor([1, 2]) ** 0.5, np.float32),
        (lambda: fg.tensor([1, 2]) + fg.tensor([0.5, 1.5]), np.float32),
        (lambda: fg.tensor([1, 2]) + fg.tensor([0.5, 1.5], dtype=fg.float64), np.float64),
        (lambda: fg.tensor([1.0, 2.0]) + fg.tensor([0.5, 1.5], dtype=fg.float64), np.float64),
        (lambda: fg.tensor([1, 2], dtype=fg.int32) + fg.tensor([1, 2]), np.int64),
        (lambda: fg.tensor([True, False]) + fg.tensor([1, 2]), np.int64),
        (lambda: fg.tensor([True, False]) * 2.5, np.float32),
        (lambda: fg.tensor([1.0, 2.0]) * 2, np.float32),
        (lambda: fg.tensor([1.0, 2.0]) * np.float64(2.0), np.float32),
        (lambda: fg.tensor([1, 2]) * np.int64(3), np.int64),
        (lambda: fg.maximum(fg.tensor([1, 5]), fg.tensor([2.0, 3.0])), np.float32),
        (lambda: fg.where(fg.tensor([True, False]), fg.tensor([1, 2]), fg.tensor([0.5, 0.5])), np.float32),
    ],
)
def test_dtype_promotion(make, dtype):
    assert make().dtype == dtype


def test_promoted_values():
    np.testing.assert_allclose((fg.tensor([1, 3]) / 2).numpy(), [0.5, 1.5])
    np.testing.assert_allclose((3 / fg.tensor([2, 4])).numpy(), [1.5, 0.75])
    np.testing.assert_allclose((fg.tensor([1, 2]) + 0.5).numpy(), [1.5, 2.5])
    assert (fg.tensor([7, -7]) * 3).tolist() == [21, -21]


# ---- comparisons ----------------------------------------------------------------------------
COMPARE = [
    (operator.lt, np.less), (operator.le, np.less_equal), (operator.gt, np.greater),
    (operator.ge, np.greater_equal), (operator.eq, np.equal), (operator.ne, np.not_equal),
]


@pytest.mark.parametrize("op, ref", COMPARE)
def test_comparisons(op, ref, rng):
    a = rng.integers(0, 3, (3, 4)).astype(np.float64)
    b = rng.integers(0, 3, (4,)).astype(np.float64)
    x = leaf(a)
    for out, want in [
        (op(x, fg.tensor(b)), ref(a, b)),
        (op(x, 1.0), ref(a, 1.0)),
        (op(1, x), ref(1, a)),
        (op(x, fg.tensor(b.astype(np.int64))), ref(a, b)),
    ]:
        assert out.dtype == np.bool_
        assert not out.requires_grad
        np.testing.assert_array_equal(out.numpy(), want)
    assert not (op(x, 1.0).sum()).requires_grad


# ---- unary ----------------------------------------------------------------------------------
def away_from_zero(rng, shape, lo=0.2, hi=2.0):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(lo, hi, shape)


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


UNARY = {
    "exp": (lambda t: t.exp(), np.exp, "any"),
    "log": (lambda t: t.log(), np.log, "positive"),
    "sqrt": (lambda t: t.sqrt(), np.sqrt, "positive"),
    "abs": (lambda t: t.abs(), np.abs, "nonzero"),
    "tanh": (lambda t: t.tanh(), np.tanh, "any"),
    "sigmoid": (lambda t: t.sigmoid(), _sigmoid, "any"),
    "relu": (lambda t: t.relu(), lambda a: np.maximum(a, 0), "nonzero"),
    "clamp": (lambda t: t.clamp(-0.5, 1.0), lambda a: np.clip(a, -0.5, 1.0), "clamp"),
    "clamp_min": (lambda t: t.clamp(min=-0.5), lambda a: np.maximum(a, -0.5), "clamp"),
    "clamp_max": (lambda t: t.clamp(max=1.0), lambda a: np.minimum(a, 1.0), "clamp"),
    "fg.exp": (fg.exp, np.exp, "any"),
    "fg.relu": (fg.relu, lambda a: np.maximum(a, 0), "nonzero"),
}


def unary_input(rng, domain, shape=(3, 5)):
    if domain == "positive":
        return rng.uniform(0.3, 3.0, shape)
    if domain == "nonzero":
        return away_from_zero(rng, shape)
    if domain == "clamp":  # values well away from the bounds -0.5 and 1.0
        pool = np.concatenate([rng.uniform(-2, -0.7, 20), rng.uniform(-0.3, 0.8, 20), rng.uniform(1.2, 2, 20)])
        return rng.choice(pool, shape, replace=False)
    return rng.uniform(-2.0, 2.0, shape)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_forward_and_gradcheck(name, rng):
    fn, ref, domain = UNARY[name]
    a = unary_input(rng, domain)
    out = fn(leaf(a))
    assert out.dtype == np.float64 and out.shape == a.shape
    np.testing.assert_allclose(out.detach().numpy(), ref(a), rtol=1e-12, atol=1e-15)
    assert gradcheck(fn, [leaf(a)])
    a32 = a.astype(np.float32)
    out32 = fn(fg.tensor(a32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32.numpy(), ref(a32.astype(np.float64)), rtol=2e-6, atol=1e-7)


def test_unary_kink_gradients():
    x = leaf([-2.0, -0.5, 0.5, 2.0])
    (x.abs() + x.relu() + x.clamp(-1.0, 1.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-1 + 0 + 0, -1 + 0 + 1, 1 + 1 + 1, 1 + 1 + 0])


def test_sigmoid_is_stable_for_large_inputs():
    a = np.array([-800.0, -50.0, 0.0, 50.0, 800.0])
    with np.errstate(over="ignore"):
        want = _sigmoid(a)
    out = fg.tensor(a).sigmoid().numpy()
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("method", ["exp", "log", "sqrt", "tanh", "sigmoid"])
def test_float_functions_of_int_tensors_are_float32(method):
    out = getattr(fg.tensor([1, 2, 3]), method)()
    assert out.dtype == np.float32
    ref = _sigmoid if method == "sigmoid" else getattr(np, method)
    np.testing.assert_allclose(out.numpy(), ref(np.array([1.0, 2.0, 3.0])), rtol=1e-6)


# ---- maximum / minimum / max ties -------------------------------------------------------------
def test_maximum_minimum_ties_share_gradient():
    x, y = leaf([1.0, 2.0, 3.0]), leaf([1.0, 0.0, 5.0])
    fg.maximum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(y.grad.numpy(), [0.5, 0.0, 1.0])
    x.grad = y.grad = None
    fg.minimum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(y.grad.numpy(), [0.5, 1.0, 0.0])


def test_maximum_with_scalar():
    x = leaf([-1.0, 2.0])
    out = x.maximum(0.5)
    np.testing.assert_array_equal(out.detach().numpy(), [0.5, 2.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])


# ---- where ----------------------------------------------------------------------------------
def test_where_forward_and_gradcheck(rng):
    cond = rng.random((3, 4)) > 0.5
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((4,))
    out = fg.where(fg.tensor(cond), leaf(a), leaf(b))
    np.testing.assert_array_equal(out.detach().numpy(), np.where(cond, a, b))
    assert gradcheck(lambda x, y: fg.where(fg.tensor(cond), x, y), [leaf(a), leaf(b)])
    assert gradcheck(lambda x, y: fg.where(cond[:, :1], x, y), [leaf(a), leaf(b)])
    x = leaf(a)
    fg.where(x > 0, x, 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (a > 0).astype(np.float64))
    s = fg.where(fg.tensor(cond), 1.0, fg.tensor(b))
    np.testing.assert_array_equal(s.numpy(), np.where(cond, 1.0, b))
