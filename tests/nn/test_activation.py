"""Activations, dropout and bilinear/linear against numpy references and gradcheck."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.nn import functional as F
from ferrograd.reference import activation as ref
from ferrograd.testing import gradcheck


def t64(a, grad=True):
    return fg.tensor(np.asarray(a, np.float64), dtype=fg.float64, requires_grad=grad)


CASES = [
    ("relu", lambda x: F.relu(x), ref.relu),
    ("leaky_relu", lambda x: F.leaky_relu(x), ref.leaky_relu),
    ("leaky_relu_0.2", lambda x: F.leaky_relu(x, 0.2), lambda x: ref.leaky_relu(x, 0.2)),
    ("gelu", lambda x: F.gelu(x), ref.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: ref.gelu(x, "tanh")),
    ("silu", lambda x: F.silu(x), ref.silu),
    ("sigmoid", lambda x: F.sigmoid(x), ref.sigmoid),
    ("tanh", lambda x: F.tanh(x), ref.tanh),
]


@pytest.mark.parametrize("name,fn,want", CASES, ids=[c[0] for c in CASES])
def test_matches_reference_and_gradcheck(name, fn, want):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((5, 7)) * 3).astype(np.float32)
    got = fn(fg.from_numpy(x))
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_allclose(got.numpy(), want(x), rtol=1e-5, atol=1e-6)
    x64 = rng.standard_normal((3, 4)) * 2
    x64[np.abs(x64) < 1e-3] = 0.5  # keep away from the kinks of relu/leaky_relu
    assert gradcheck(fn, [t64(x64)])
    base = rng.standard_normal((6, 4)).astype(np.float32)
    np.testing.assert_allclose(fn(fg.from_numpy(base.T[:, ::2])).numpy(), want(base.T[:, ::2]), rtol=1e-5, atol=1e-6)


def test_inplace_and_bad_input():
    x = fg.tensor([-1.0, 2.0])
    assert F.relu(x, inplace=True) is x and x.tolist() == [0.0, 2.0]
    with pytest.raises(ValueError, match="gelu: approximate"):
        F.gelu(fg.randn(3), approximate="fast")
    with pytest.raises(TypeError, match="silu"):
        F.silu(fg.tensor([1, 2]))


def test_against_torch_if_installed():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32) * 3
    tF = torch.nn.functional
    pairs = [(F.gelu, tF.gelu), (lambda t: F.gelu(t, approximate="tanh"), lambda t: tF.gelu(t, approximate="tanh")),
             (F.silu, tF.silu), (lambda t: F.leaky_relu(t, 0.1), lambda t: tF.leaky_relu(t, 0.1))]
    for f, tf in pairs:
        fx, tx = fg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        f(fx).sum().backward()
        tf(tx).sum().backward()
        np.testing.assert_allclose(f(fg.tensor(x)).numpy(), tf(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


# ---- dropout ----------------------------------------------------------------------------------
def test_dropout_statistics_scaling_and_seed():
    x = fg.ones(200, 100)
    fg.manual_seed(0)
    y = F.dropout(x, 0.3)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)
    fg.manual_seed(0)
    assert np.array_equal(F.dropout(x, 0.3).numpy(), y.numpy())
    assert F.dropout(x, 0.3, training=False) is x
    assert (F.dropout(x, 1.0).numpy() == 0).all()
    with pytest.raises(ValueError, match="dropout: probability"):
        F.dropout(x, 1.5)


def test_dropout_gradient_uses_the_same_mask():
    x = fg.tensor(np.random.default_rng(2).standard_normal((30, 20)), requires_grad=True)
    fg.manual_seed(3)
    y = F.dropout(x, 0.4)
    y.sum().backward()
    mask = (y.detach().numpy() != 0)
    np.testing.assert_allclose(x.grad.numpy(), mask / 0.6)
    fg.manual_seed(4)
    assert gradcheck(lambda t: (fg.manual_seed(5), F.dropout(t, 0.5))[1], [t64(np.random.default_rng(6).random((4, 5)))])


# ---- linear / bilinear ------------------------------------------------------------------------
def test_bilinear_matches_einsum_and_gradcheck():
    rng = np.random.default_rng(7)
    x1, x2 = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 5, 4))
    w, b = rng.standard_normal((6, 3, 4)), rng.standard_normal(6)
    got = F.bilinear(t64(x1, False), t64(x2, False), t64(w, False), t64(b, False))
    np.testing.assert_allclose(got.numpy(), np.einsum("...i,oij,...j->...o", x1, w, x2) + b, rtol=1e-12)
    assert gradcheck(lambda a, c, w, b: F.bilinear(a, c, w, b), [t64(x1[0]), t64(x2[0]), t64(w), t64(b)])
    assert gradcheck(lambda a, c, w: F.bilinear(a, c, w), [t64(x1[0, :2]), t64(x2[0, :2]), t64(w)])
    with pytest.raises(ValueError, match="bilinear"):
        F.bilinear(fg.randn(5, 3), fg.randn(5, 5), fg.randn(6, 3, 4))
    with pytest.raises(ValueError, match="bilinear: weight"):
        F.bilinear(fg.randn(5, 3), fg.randn(5, 4), fg.randn(3, 4))


def test_linear():
    rng = np.random.default_rng(8)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((5, 3)), rng.standard_normal(5)
    np.testing.assert_allclose(F.linear(t64(x, False), t64(w, False), t64(b, False)).numpy(), x @ w.T + b)
    assert gradcheck(F.linear, [t64(x), t64(w), t64(b)])
    with pytest.raises(ValueError, match="linear"):
        F.linear(fg.randn(4, 2), fg.randn(5, 3))
