"""NaN and inf propagate as in numpy; empty tensors work wherever numpy's do."""

import numpy as np
import pytest

import ferrograd as fg

SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -1.0, 2.0])


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


UNARY = {
    "exp": (lambda t: t.exp(), np.exp),
    "log": (lambda t: t.log(), np.log),
    "sqrt": (lambda t: t.sqrt(), np.sqrt),
    "abs": (lambda t: t.abs(), np.abs),
    "tanh": (lambda t: t.tanh(), np.tanh),
    "sigmoid": (lambda t: t.sigmoid(), _sigmoid),
    "relu": (lambda t: t.relu(), lambda a: np.maximum(a, 0.0)),
    "clamp": (lambda t: t.clamp(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5)),
    "neg": (lambda t: -t, np.negative),
}


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_nonfinite(name, dtype):
    fn, ref = UNARY[name]
    a = SPECIAL.astype(dtype)
    with np.errstate(all="ignore"):
        out = fn(fg.tensor(a)).numpy()
        want = ref(a)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, want)  # NaN == NaN here, and inf signs must match


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_binary_nonfinite(op):
    a = np.repeat(SPECIAL, SPECIAL.size)
    b = np.tile(SPECIAL, SPECIAL.size)
    fn = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
          "div": lambda x, y: x / y, "pow": lambda x, y: x ** y, "maximum": fg.maximum, "minimum": fg.minimum}[op]
    ref = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
           "maximum": np.maximum, "minimum": np.minimum}[op]
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(fn(fg.tensor(a), fg.tensor(b)).numpy(), ref(a, b))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_nonfinite(dtype):
    a = np.array([[np.nan, 1.0], [np.inf, 1.0], [1.0, 1.0], [np.inf, -np.inf]], dtype)
    b = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, np.inf]], dtype)
    with np.errstate(all="ignore"):
        want = a @ b
    np.testing.assert_array_equal((fg.tensor(a) @ fg.tensor(b)).numpy(), want)
    v = np.array([np.nan, 0.0], dtype)
    np.testing.assert_array_equal((fg.tensor(v) @ fg.tensor(v)).numpy(), v @ v)


def test_reductions_nonfinite():
    a = np.array([[1.0, np.inf, 2.0], [np.inf, -np.inf, 0.0], [np.nan, 1.0, 1.0]])
    t = fg.tensor(a)
    with np.errstate(all="ignore"):
        for dim in (None, 0, 1):
            np.testing.assert_array_equal(t.sum(dim).numpy(), a.sum(axis=dim))
            np.testing.assert_array_equal(t.mean(dim).numpy(), a.mean(axis=dim))
            np.testing.assert_array_equal(t.var(dim).numpy(), a.var(axis=dim, ddof=1))
        np.testing.assert_array_equal(t.max().numpy(), np.max(a))
        np.testing.assert_array_equal(t.min(1).values.numpy(), np.min(a, axis=1))
        np.testing.assert_array_equal(t.max(0).values.numpy(), np.max(a, axis=0))


def test_nan_gradients_propagate():
    x = fg.tensor([np.nan, 1.0, np.inf], dtype=fg.float64, requires_grad=True)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    x.grad = None
    x.exp().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [np.nan, np.e, np.inf])


# ---- empty tensors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sa, sb", [((0, 3), (3, 2)), ((2, 0), (0, 3)), ((4, 0, 3), (3, 2)), ((0,), (0,)), ((2, 3), (3, 0))]
)
def test_empty_matmul(sa, sb):
    out = fg.zeros(*sa) @ fg.zeros(*sb)
    want = np.zeros(sa, np.float32) @ np.zeros(sb, np.float32)
    assert out.shape == want.shape
    np.testing.assert_array_equal(out.numpy(), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_inner_dim_gives_zeros(dtype):
    out = fg.tensor(np.ones((2, 0), dtype)) @ fg.tensor(np.ones((0, 3), dtype))
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.numpy(), np.ones((2, 0)) @ np.ones((0, 3)))


def test_empty_reductions():
    e = fg.zeros(0, 3)
    assert e.sum().item() == 0.0
    assert e.sum(dim=0).tolist() == [0.0, 0.0, 0.0]
    assert e.sum(dim=1).shape == (0,)
    assert fg.zeros(0).sum().item() == 0.0
    assert fg.zeros(0, dtype=fg.int64).sum().item() == 0
    assert e.sum(dim=1, keepdim=True).shape == (0, 1)
    assert e.max(dim=1).values.shape == (0,)


def test_empty_elementwise_and_shape_ops():
    e = fg.zeros(0, 3)
    for out, shape in [
        (e + 1, (0, 3)), (e * fg.ones(3), (0, 3)), (e.exp(), (0, 3)), (e.reshape(-1), (0,)),
        (e.reshape(3, 0), (3, 0)), (e.T, (3, 0)), (e.unsqueeze(1), (0, 1, 3)), (e[1:], (0, 3)),
        (fg.cat([e, fg.ones(2, 3)]), (2, 3)), (fg.stack([e, e]), (2, 0, 3)), (e > 0, (0, 3)),
    ]:
        assert out.shape == shape


def test_empty_backward():
    x = fg.zeros(0, 3, requires_grad=True)
    (x * 2).sum().backward()
    assert x.grad.shape == (0, 3)
    a = fg.zeros(0, 3, requires_grad=True)
    b = fg.ones(3, 2, requires_grad=True)
    (a @ b).sum().backward()
    assert a.grad.shape == (0, 3)
    np.testing.assert_array_equal(b.grad.numpy(), np.zeros((3, 2)))
    c = fg.ones(2, requires_grad=True)
    fg.cat([c, fg.zeros(0, requires_grad=True)]).sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), [1.0, 1.0])
