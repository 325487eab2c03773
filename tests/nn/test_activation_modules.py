"""Activation modules and their functional forms: numpy references, float64 gradcheck, torch's
arguments and reprs, inplace, PReLU's parameter, rrelu's randomness and bad arguments.
(Values and gradients against torch itself: test_loss_activation_fixtures.py.)"""

import math
import warnings

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F
from ferrograd.testing import gradcheck


def t64(a, grad=True):
    return fg.tensor(np.asarray(a, np.float64), dtype=fg.float64, requires_grad=grad)


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(x * beta)) / beta)


SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

# name: (ferrograd callable, numpy reference)
REFERENCE = {
    "elu": (lambda x: F.elu(x, 0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x))),
    "selu": (F.selu, lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(x))),
    "celu": (lambda x: F.celu(x, 1.3), lambda x: np.maximum(x, 0) + np.minimum(0, 1.3 * np.expm1(x / 1.3))),
    "softplus": (F.softplus, _softplus),
    "softplus_beta_threshold": (lambda x: F.softplus(x, beta=2.0, threshold=3.0), lambda x: _softplus(x, 2.0, 3.0)),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x))),
    "logsigmoid": (F.logsigmoid, lambda x: np.log(_sig(x))),
    "tanhshrink": (F.tanhshrink, lambda x: x - np.tanh(x)),
    "mish": (F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x)))),
    "hardswish": (F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    "hardsigmoid": (F.hardsigmoid, lambda x: np.clip(x + 3, 0, 6) / 6),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 1.5), lambda x: np.clip(x, -0.5, 1.5)),
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6)),
    "threshold": (lambda x: F.threshold(x, 0.3, -2.0), lambda x: np.where(x <= 0.3, -2.0, x)),  # NaN stays
    "hardshrink": (lambda x: F.hardshrink(x, 0.7), lambda x: np.where(np.abs(x) <= 0.7, 0, x)),  # NaN stays
    "softshrink": (lambda x: F.softshrink(x, 0.7), lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.7, 0)),
    "rrelu_eval": (lambda x: F.rrelu(x, 0.1, 0.3), lambda x: np.where(x > 0, x, 0.2 * x)),
    "prelu": (lambda x: F.prelu(x, fg.tensor(np.float64([0.1, -0.2, 0.3, 0.5]), dtype=x.dtype)),
              lambda x: np.where(x > 0, x, np.float64([0.1, -0.2, 0.3, 0.5])[:, None] * x)),
    "glu": (lambda x: F.glu(x, 0), lambda x: x[:3] * _sig(x[3:])),
    "softmin": (lambda x: F.softmin(x, dim=1),
                lambda x: np.exp(-x) / np.exp(-x).sum(1, keepdims=True)),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_matches_numpy_and_gradcheck(name):
    fn, want = REFERENCE[name]
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 4, 2)) * 3
    np.testing.assert_allclose(fn(t64(x, False)).numpy(), want(x), rtol=1e-12, atol=1e-13)
    x32 = x.astype(np.float32)
    got = fn(fg.tensor(x32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.numpy(), want(x32.astype(np.float64)), rtol=2e-6, atol=2e-6)
    xg = rng.standard_normal((6, 4, 2)) * 2
    xg[np.abs(xg) < 0.05] = 0.4  # away from the kinks of the piecewise ones
    for kink in (0.3, 0.5, 0.7, 1.5, 3.0, 6.0):
        xg[np.abs(np.abs(xg) - kink) < 0.02] = 1.1
    assert gradcheck(fn, [t64(xg)])


def test_extremes_stay_finite_with_finite_gradients():
    x = t64([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    for fn in (F.elu, F.selu, F.celu, F.softplus, F.logsigmoid, F.mish, F.softsign, F.tanhshrink):
        y = fn(x)
        y.sum().backward()
        assert np.isfinite(y.detach().numpy()).all() and np.isfinite(x.grad.numpy()).all(), fn.__name__
        x.grad = None
    # absolute precision near 0 (no log1p op yet): softplus(-50) = 2e-22 comes out as 0
    np.testing.assert_allclose(F.softplus(x).detach().numpy(), [0, math.log1p(math.exp(-50)), math.log(2), 50, 1000],
                               rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(F.logsigmoid(x).detach().numpy()[[0, 4]], [-1000, 0])


def test_gradients_at_zero_match_the_smooth_limit():
    """max's tie halves the gradient, so softplus and logsigmoid are exact at 0 (sigmoid(0) = 1/2)."""
    x = t64([0.0])
    F.softplus(x).backward()
    assert x.grad.item() == 0.5
    x.grad = None
    F.logsigmoid(x).backward()
    assert x.grad.item() == 0.5
    x.grad = None
    F.elu(x, 0.7).backward()  # x <= 0 branch, as torch: alpha e^0
    assert x.grad.item() == pytest.approx(0.7)


MODULES = [
    (nn.ReLU(), F.relu, "ReLU()"),
    (nn.ReLU(inplace=True), F.relu, "ReLU(inplace=True)"),
    (nn.LeakyReLU(0.2, inplace=True), lambda x: F.leaky_relu(x, 0.2), "LeakyReLU(negative_slope=0.2, inplace=True)"),
    (nn.ELU(alpha=0.5), lambda x: F.elu(x, 0.5), "ELU(alpha=0.5)"),
    (nn.CELU(), F.celu, "CELU(alpha=1.0)"),
    (nn.SELU(inplace=True), F.selu, "SELU(inplace=True)"),
    (nn.GELU("tanh"), lambda x: F.gelu(x, approximate="tanh"), "GELU(approximate='tanh')"),
    (nn.SiLU(), F.silu, "SiLU()"),
    (nn.Mish(), F.mish, "Mish()"),
    (nn.Hardswish(inplace=True), F.hardswish, "Hardswish()"),
    (nn.Hardsigmoid(), F.hardsigmoid, "Hardsigmoid()"),
    (nn.Hardtanh(-2, 2), lambda x: F.hardtanh(x, -2, 2), "Hardtanh(min_val=-2, max_val=2)"),
    (nn.ReLU6(inplace=True), F.relu6, "ReLU6(inplace=True)"),
    (nn.Softplus(beta=2.0), lambda x: F.softplus(x, 2.0), "Softplus(beta=2.0, threshold=20.0)"),
    (nn.Softsign(), F.softsign, "Softsign()"),
    (nn.LogSigmoid(), F.logsigmoid, "LogSigmoid()"),
    (nn.Tanhshrink(), F.tanhshrink, "Tanhshrink()"),
    (nn.Threshold(0.1, 20.0), lambda x: F.threshold(x, 0.1, 20.0), "Threshold(threshold=0.1, value=20.0)"),
    (nn.Hardshrink(), F.hardshrink, "Hardshrink(0.5)"),
    (nn.Softshrink(0.3), lambda x: F.softshrink(x, 0.3), "Softshrink(0.3)"),
    (nn.RReLU().eval(), F.rrelu, "RReLU(lower=0.125, upper=0.3333333333333333)"),
    (nn.Sigmoid(), F.sigmoid, "Sigmoid()"),
    (nn.Tanh(), F.tanh, "Tanh()"),
    (nn.GLU(), F.glu, "GLU(dim=-1)"),
    (nn.Softmax(dim=1), lambda x: F.softmax(x, 1), "Softmax(dim=1)"),
    (nn.LogSoftmax(dim=0), lambda x: F.log_softmax(x, 0), "LogSoftmax(dim=0)"),
    (nn.Softmin(dim=-1), lambda x: F.softmin(x, -1), "Softmin(dim=-1)"),
    (nn.Softmax2d(), lambda x: F.softmax(x, -3), "Softmax2d()"),
]


@pytest.mark.parametrize("module,fn,text", MODULES, ids=[m[2] for m in MODULES])
def test_module_equals_functional_and_reprs_like_torch(module, fn, text):
    x = np.random.default_rng(3).standard_normal((2, 4, 3, 2)).astype(np.float32)
    np.testing.assert_array_equal(module(fg.tensor(x)).numpy(), fn(fg.tensor(x)).numpy())
    assert repr(module) == text
    assert list(module.parameters()) == [] and module.state_dict() == {}


def test_inplace_writes_into_a_tensor_without_a_graph_and_not_into_one_with():
    x = fg.tensor([-2.0, 0.5, 8.0])
    assert nn.ReLU6(inplace=True)(x) is x and x.tolist() == [0.0, 0.5, 6.0]
    for fn in (F.elu, F.selu, F.celu, F.mish, F.hardswish, F.hardsigmoid, F.relu6, F.silu):
        x = fg.tensor([-2.0, 0.5, 8.0])
        want = fn(fg.tensor([-2.0, 0.5, 8.0])).numpy()
        assert fn(x, inplace=True) is x, fn.__name__
        np.testing.assert_array_equal(x.numpy(), want)
    x = fg.tensor([-1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):  # as torch: a leaf in the graph
        F.threshold(x, 0.0, 5.0, inplace=True)
    h = x * 1
    y = F.threshold(h, 0.0, 5.0, inplace=True)  # a non-leaf: it becomes the result, still differentiable
    assert y is h and y.tolist() == [5.0, 2.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0]


def test_prelu_parameter_state_dict_and_training():
    m = nn.PReLU(3, init=0.1)
    assert m.num_parameters == 3 and m.init == 0.1
    assert list(m.state_dict()) == ["weight"] and m.weight.shape == (3,) and m.weight.requires_grad
    np.testing.assert_allclose(m.weight.detach().numpy(), [0.1] * 3, rtol=1e-7)
    x = fg.tensor(np.float32([[[-1.0, 2.0], [-3.0, -4.0], [5.0, -6.0]]]))  # (1, 3, 2)
    y = m(x)
    np.testing.assert_allclose(y.detach().numpy(), [[[-0.1, 2.0], [-0.3, -0.4], [5.0, -0.6]]], rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), [-1.0, -7.0, -6.0])
    m.double()
    x64 = t64(np.random.default_rng(0).standard_normal((2, 3, 4)))
    assert gradcheck(lambda x, w: F.prelu(x, w), [x64, m.weight])
    assert nn.PReLU(dtype=fg.float64).weight.dtype == np.float64


def test_rrelu_draws_slopes_in_training():
    fg.manual_seed(0)
    x = fg.tensor(-np.ones(20000, np.float32))
    m = nn.RReLU(0.1, 0.3)
    y = -m(x).numpy()
    assert y.min() >= 0.1 and y.max() <= 0.3 and abs(y.mean() - 0.2) < 0.005 and y.std() > 0.05
    fg.manual_seed(0)
    np.testing.assert_array_equal(-m(x).numpy(), y)
    m.eval()
    np.testing.assert_allclose(-m(x).numpy(), 0.2, rtol=1e-6)
    xg = t64([-1.0, 2.0, -3.0])
    fg.manual_seed(1)
    F.rrelu(xg, training=True).sum().backward()
    assert xg.grad.numpy()[1] == 1.0 and 1 / 8 <= xg.grad.numpy()[0] <= 1 / 3


def test_softmin_warns_on_implicit_dim_and_takes_dtype():
    with pytest.warns(UserWarning, match="softmin: implicit dimension"):
        F.softmin(fg.randn(2, 3))
    y = F.softmin(fg.tensor([[1, 2, 3]]), dim=1, dtype=fg.float64)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), np.exp([[-1, -2, -3]]) / np.exp([[-1, -2, -3]]).sum(), rtol=1e-12)


def test_bad_arguments_name_the_function():
    x = fg.randn(2, 5)
    with pytest.raises(ValueError, match="glu: halving dimension must be even, but dimension 1 is size 5"):
        F.glu(x)
    with pytest.raises(ValueError, match="glu: input must have at least 1 dim"):
        F.glu(fg.tensor(1.0))
    with pytest.raises(IndexError, match="glu: dim 2"):
        F.glu(x, 2)
    with pytest.raises(ValueError, match="hardtanh: min_val cannot be greater than max_val"):
        F.hardtanh(x, 1.0, -1.0)
    with pytest.raises(ValueError, match=r"Hardtanh: max_val \(-1\) must be greater than min_val \(1\)"):
        nn.Hardtanh(1, -1)
    with pytest.raises(ValueError, match="celu: alpha cannot be 0"):
        F.celu(x, 0.0)
    with pytest.raises(ValueError, match="softshrink: lambd must be >= 0"):
        F.softshrink(x, -1.0)
    with pytest.raises(ValueError, match="rrelu: lower must be <= upper"):
        F.rrelu(x, 0.5, 0.1, training=True)
    with pytest.raises(ValueError, match="prelu: weight has 3 elements but input of shape \\(2, 5\\) has 5 channels"):
        F.prelu(x, fg.ones(3))
    with pytest.raises(ValueError, match="prelu: weight must be a scalar or 1-D"):
        F.prelu(x, fg.ones(1, 5))
    with pytest.raises(TypeError, match="prelu: weight has dtype float64"):
        F.prelu(x, fg.ones(5, dtype=fg.float64))
    with pytest.raises(TypeError, match="elu: input must be float32 or float64"):
        F.elu(fg.tensor([1, 2]))
    with pytest.raises(TypeError, match="softplus: beta must be a number"):
        F.softplus(x, beta="2")
    with pytest.raises(TypeError, match="mish: input must be a Tensor"):
        F.mish(np.ones(3))
    with pytest.raises(ValueError, match="GELU: approximate"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="PReLU: num_parameters"):
        nn.PReLU(0)
    with pytest.raises(ValueError, match="Softmax2d: expected 3-d or 4-d"):
        nn.Softmax2d()(x)


def test_hardtanh_deprecated_argument_names():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        m = nn.Hardtanh(min_value=-3.0, max_value=3.0)
    assert (m.min_val, m.max_val) == (-3.0, 3.0) and all(issubclass(x.category, FutureWarning) for x in w) and len(w) == 2
