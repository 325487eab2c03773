"""mse_loss's fused Rust op (issue 18) against its composite form and numpy: both reductions,
float32/float64, a target that requires grad, views, empty input, the threaded size, float64
gradcheck and second order (through the composite), and the cases that stay composite."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import _native
from ferrograd.nn import functional as F
from ferrograd.ops import composite
from ferrograd.testing import gradcheck

# (1 << 19) + 37 elements run on several threads (STREAM_THRESHOLD), with a tail.
@pytest.fixture
def rng():
    return np.random.default_rng(1818)


SHAPES = [(1,), (3, 5), (4, 7, 9), ((1 << 19) + 37,)]


def fused_and_composite(x, t, reduction, target_grad=False):
    """(loss, grad_input, grad_target) of the fused op and of the composite, upstream grad 0.7."""
    out = []
    for fn in (lambda a, b: F.mse_loss(a, b, reduction=reduction),
               lambda a, b: composite.mse_loss(a, b, reduction)):
        a, b = fg.tensor(x, requires_grad=True), fg.tensor(t, requires_grad=target_grad)
        loss = fn(a, b)
        loss.backward(fg.tensor(np.array(0.7, x.dtype)))
        out.append((loss, a.grad, b.grad))
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_fused_matches_composite_and_numpy(dtype, reduction, shape, rng):
    x, t = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    (loss, gx, gt), (closs, cgx, cgt) = fused_and_composite(x, t, reduction, target_grad=True)
    assert loss.grad_fn.name() == "MseLossBackward0"  # the fused op was taken
    assert loss.dtype == closs.dtype and loss.shape == () and gx.dtype == cgx.dtype
    d = x.astype(np.float64) - t
    want = (d * d).mean() if reduction == "mean" else (d * d).sum()
    rtol = 1e-6 if dtype == np.float32 else 1e-13  # the fused sum runs in f64: closer than float32's own
    np.testing.assert_allclose(float(loss), want, rtol=rtol)
    np.testing.assert_allclose(float(loss), float(closs), rtol=1e-4 if dtype == np.float32 else 1e-12)
    scale = 0.7 * 2 / (x.size if reduction == "mean" else 1)
    tol = dict(rtol=1e-5, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(gx.numpy(), d * scale, **tol)
    np.testing.assert_allclose(gt.numpy(), -d * scale, **tol)
    np.testing.assert_allclose(gx.numpy(), cgx.numpy(), **tol)
    np.testing.assert_allclose(gt.numpy(), cgt.numpy(), **tol)


def test_only_the_needed_gradients(rng):
    x, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    a, b = fg.tensor(x), fg.tensor(t, requires_grad=True)  # only the target requires grad
    F.mse_loss(a, b).backward()
    np.testing.assert_allclose(b.grad.numpy(), -2 * (x - t) / x.size, rtol=1e-13)
    assert a.grad is None
    gx, gt = _native.mse_loss_backward(x, t, 1.0, True, False)
    assert gt is None and np.allclose(gx, x - t)
    gx, gt = _native.mse_loss_backward(x, t, 2.0, False, True)
    assert gx is None and np.allclose(gt, 2 * (t - x))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_views_take_the_fused_op(reduction, rng):
    x = rng.standard_normal((6, 8)).astype(np.float32)
    t = rng.standard_normal((8, 6)).astype(np.float32)
    a = fg.tensor(x, requires_grad=True)
    loss = F.mse_loss(a.T, fg.tensor(t), reduction=reduction)  # a transposed input, copied once
    assert loss.grad_fn.name() == "MseLossBackward0"
    loss.backward()
    d = x.T.astype(np.float64) - t
    want = (d * d).mean() if reduction == "mean" else (d * d).sum()
    np.testing.assert_allclose(float(loss), want, rtol=1e-6)
    scale = 2 / (d.size if reduction == "mean" else 1)
    np.testing.assert_allclose(a.grad.numpy(), (d * scale).T, rtol=1e-5, atol=1e-7)


def test_empty_input_follows_torch():
    x = fg.tensor(np.zeros((0, 3), np.float32), requires_grad=True)
    t = fg.tensor(np.zeros((0, 3), np.float32))
    mean = F.mse_loss(x, t)
    assert np.isnan(float(mean)) and mean.dtype == fg.float32  # torch: nan
    mean.backward()
    assert x.grad.shape == (0, 3)
    assert float(F.mse_loss(x, t, reduction="sum")) == 0.0


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_gradcheck_and_second_order(reduction, rng):
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    args = [fg.tensor(x, requires_grad=True), fg.tensor(t, requires_grad=True)]
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), args)
    # create_graph goes through the composite: the Hessian in x is 2/n I (mean) or 2 I (sum)
    a, b = fg.tensor(x, requires_grad=True), fg.tensor(t)
    (gx,) = fg.autograd.grad(F.mse_loss(a, b, reduction=reduction), [a], create_graph=True)
    np.testing.assert_allclose(gx.detach().numpy(), 2 * (x - t) / (x.size if reduction == "mean" else 1))
    (h,) = fg.autograd.grad(gx.sum(), [a])
    np.testing.assert_allclose(h.numpy(), np.full(x.shape, 2 / (x.size if reduction == "mean" else 1)))


def test_other_cases_stay_composite(rng):
    x = fg.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    row = fg.tensor(rng.standard_normal(4).astype(np.float32))
    assert F.mse_loss(x, row).grad_fn.name() != "MseLossBackward0"  # broadcast target
    assert F.mse_loss(x, x.detach().double()).grad_fn.name() != "MseLossBackward0"  # mixed dtypes
    assert F.mse_loss(x, x.detach(), reduction="none").shape == (3, 4)
    w = fg.ones(3, 4)
    assert F.mse_loss(x, x.detach() + 1, weight=w).grad_fn.name() != "MseLossBackward0"


def test_native_bad_arguments_raise_named_errors():
    x = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="mse_loss: target shape"):
        _native.mse_loss_sum(x, np.ones((4, 3), np.float32))
    with pytest.raises(TypeError, match="mse_loss: target must be"):
        _native.mse_loss_sum(x, np.ones((3, 4)))
    with pytest.raises(TypeError, match="mse_loss"):
        _native.mse_loss_sum(np.ones((3, 4), np.int32), x)
    with pytest.raises(ValueError, match="mse_loss: input must be a C-contiguous"):
        _native.mse_loss_sum(np.ones((4, 3), np.float32).T, x)
    with pytest.raises(ValueError, match="mse_loss_backward: target shape"):
        _native.mse_loss_backward(x, np.ones(12, np.float32), 1.0)
