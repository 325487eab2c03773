"""relu's Rust kernels (issue 18): forward and backward against numpy on float32/float64, the
threaded size, NaN / inf semantics (torch's threshold_backward), bad arguments, and the paths
that stay generic (strided views, other dtypes, create_graph)."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import _native
from ferrograd.testing import gradcheck

# 1 << 19 elements and more run on several threads (STREAM_THRESHOLD); + 37 leaves a tail.
SHAPES = [(), (0,), (1,), (7, 5), (16, 16), (3, 33, 17), ((1 << 19) + 37,)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_kernels_match_numpy(dtype, shape, rng):
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    y = _native.relu_forward(x)
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    dx = _native.relu_backward(g, x)
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_array_equal(dx, np.where(x > 0, g, 0))


def test_nan_and_inf_follow_torch():
    x = np.array([np.nan, -np.inf, np.inf, -1.0, -0.0, 0.0, 2.0], np.float32)
    g = np.array([3.0, np.inf, 5.0, np.inf, np.nan, -np.inf, 7.0], np.float32)
    y = _native.relu_forward(x)
    assert np.isnan(y[0]) and y[1:].tolist() == [0.0, np.inf, 0.0, 0.0, 0.0, 2.0]
    # torch.ops.aten.threshold_backward(g, x, 0): 0 where x <= 0, else g (NaN x passes g through)
    assert _native.relu_backward(g, x).tolist() == [3.0, 0.0, 5.0, 0.0, 0.0, 0.0, 7.0]


def test_bad_arguments_raise_named_errors():
    x = np.ones((3, 4), np.float32)
    with pytest.raises(TypeError, match="relu"):
        _native.relu_forward(np.ones(3, np.int64))
    with pytest.raises(TypeError, match="relu"):
        _native.relu_forward([1.0, 2.0])
    with pytest.raises(ValueError, match="relu: input must be a C-contiguous"):
        _native.relu_forward(x.T)
    with pytest.raises(ValueError, match="relu_backward: grad shape"):
        _native.relu_backward(np.ones((4, 3), np.float32), x)
    with pytest.raises(TypeError, match="relu_backward: grad must be"):
        _native.relu_backward(np.ones((3, 4)), x)  # float64 grad for a float32 input
    with pytest.raises(ValueError, match="relu_backward: grad must be a C-contiguous"):
        _native.relu_backward(np.ones((4, 3), np.float32).T, x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("view", ["contiguous", "transposed", "strided"])
def test_relu_autograd_native_and_generic_paths_agree(dtype, view, rng):
    """Contiguous arrays take the kernels; views the generic numpy form: same values."""
    a = rng.standard_normal((6, 8)).astype(dtype)
    take = {"contiguous": lambda v: v, "transposed": lambda v: v.T, "strided": lambda v: v[:, ::2]}[view]
    t = fg.tensor(a, requires_grad=True)
    x = take(a)
    g = rng.standard_normal(x.shape).astype(dtype)
    y = fg.relu(take(t))
    assert y.dtype == t.dtype
    np.testing.assert_array_equal(y.detach().numpy(), np.maximum(x, 0))
    y.backward(fg.tensor(g))
    want = np.zeros_like(a)
    take(want)[...] = np.where(x > 0, g, 0)
    np.testing.assert_array_equal(t.grad.numpy(), want)


def test_relu_other_dtypes_stay_generic():
    i = fg.tensor(np.array([-2, 0, 3], np.int64))
    assert fg.relu(i).tolist() == [0, 0, 3] and fg.relu(i).dtype == fg.int64
    b = fg.tensor(np.array([True, False]))
    assert fg.relu(b).tolist() == [True, False]


def test_relu_gradcheck_and_second_order(rng):
    x = rng.standard_normal((4, 5))
    x[np.abs(x) < 0.05] = 0.5  # no kinks within finite-difference reach
    assert gradcheck(lambda a: fg.relu(a), [fg.tensor(x, requires_grad=True)])
    # d/dx Σ relu(x)² = 2 relu(x), differentiated again through the generic backward: 2·[x > 0]
    t = fg.tensor(x, requires_grad=True)
    (gx,) = fg.autograd.grad((fg.relu(t) ** 2).sum(), [t], create_graph=True)
    np.testing.assert_allclose(gx.detach().numpy(), 2 * np.maximum(x, 0))
    (hx,) = fg.autograd.grad(gx.sum(), [t])
    np.testing.assert_allclose(hx.numpy(), 2.0 * (x > 0))
