"""sum / mean over one axis that is not the last (a sequence's time axis): the native batched
product path against numpy in float64, with keepdim, non-finite values and its gradient."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.testing import gradcheck



@pytest.fixture
def rng():
    return np.random.default_rng(20261207)


SHAPES = [((128, 20, 128), 1), ((64, 3, 5, 40), 1), ((64, 3, 5, 40), 2), ((40, 300), 0), ((2, 4096), 0),
          ((8, 9, 1, 64), 1)]


@pytest.mark.parametrize("shape, dim", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_and_mean_over_an_inner_axis_match_numpy(shape, dim, dtype, keepdim, rng):
    a = rng.standard_normal(shape).astype(dtype)
    want = a.astype(np.float64).sum(axis=dim, keepdims=keepdim)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    got = fg.tensor(a).sum(dim, keepdim=keepdim).numpy()
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * shape[dim])
    got = fg.tensor(a).mean(dim, keepdim=keepdim).numpy()
    np.testing.assert_allclose(got, want / shape[dim], rtol=tol, atol=tol)


def test_non_finite_values_propagate_as_in_numpy(rng):
    a = rng.standard_normal((16, 8, 64)).astype(np.float32)
    a[0, 3, 5], a[1, 2, 7], a[1, 5, 7], a[2, 0, 9], a[2, 1, 9] = np.nan, np.inf, -np.inf, np.inf, 1.0
    with np.errstate(invalid="ignore"):
        want = a.sum(axis=1)
    got = fg.tensor(a).sum(1).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))


def test_non_contiguous_input_and_gradient(rng):
    a = rng.standard_normal((40, 12, 30))[:, :, ::2]  # not C-contiguous: numpy's own sum
    np.testing.assert_allclose(fg.tensor(a).mean(1).numpy(), a.mean(axis=1), rtol=1e-12)
    x = fg.tensor(rng.standard_normal((24, 7, 32)), requires_grad=True)  # 5376 elements: native path
    assert gradcheck(lambda t: t.mean(1), [x])
    x.grad = None
    y = x.sum(1)
    y.backward(fg.tensor(np.ones((24, 32))))
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((24, 7, 32)))


def test_broadcast_gradients_and_negative_axes_use_the_same_sum(rng):
    from ferrograd.ops import _generic as G

    bias = fg.tensor(rng.standard_normal((1, 64)).astype(np.float32), requires_grad=True)
    x = fg.tensor(rng.standard_normal((300, 64)).astype(np.float32))
    g = rng.standard_normal((300, 64)).astype(np.float32)
    (x + bias).backward(fg.tensor(g))  # the gradient sums g over the broadcast rows (sum_to)
    np.testing.assert_allclose(bias.grad.numpy(), g.astype(np.float64).sum(0, keepdims=True), rtol=2e-5,
                               atol=2e-4)
    a = rng.standard_normal((6, 50, 30))
    for axes in [(-2,), (1,), (-3,), (0, 2), ()]:
        np.testing.assert_allclose(G.reduce_sum(a, axes), a.sum(axis=axes), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(G.reduce_sum(a, axes, keepdims=True), a.sum(axis=axes, keepdims=True),
                                   rtol=1e-12, atol=1e-12)
