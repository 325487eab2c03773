"""WGSL max / average / adaptive-average pooling against `_native` on the same float32 data:
odd sizes, strides, paddings, overlapping windows, strided views, NaN inputs."""

import os
import sys

import numpy as np
import pytest

from ferrograd import _native
from ferrograd.wgpu.kernels import (
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)

# wgpu_views.py sits next to this file; pytest's importlib mode puts no test folder on sys.path
sys.path.insert(0, os.path.dirname(__file__))
from wgpu_views import dev, flipped, layouts, small_grid_limit  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-6)

# (input shape, kernel, stride, padding): overlapping (stride < kernel), gapped, padded.
CASES = [
    ((2, 3, 7, 9), (2, 2), (2, 2), (0, 0)),
    ((1, 4, 11, 10), (3, 3), (1, 2), (1, 1)),
    ((3, 2, 9, 13), (3, 5), (2, 3), (1, 2)),
    ((2, 1, 1, 17), (1, 4), (1, 3), (0, 2)),  # 1-d pooling as H = 1
    ((1, 2, 8, 8), (2, 2), (3, 3), (1, 0)),  # stride > kernel: some pixels in no window
]


def _x(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


@pytest.mark.parametrize("shape, k, s, p", CASES)
def test_max_pool_matches_native(shape, k, s, p):
    x = _x(shape, 1)
    want_y, want_i = _native.max_pool2d_forward(x, k, s, p)
    gy = _x(want_y.shape, 2)
    want_gx = _native.max_pool2d_backward(gy, want_i, shape, k, s, p)
    for name, xv in layouts(x, (0, 2, 3, 1)):
        y, idx = max_pool2d_forward(xv, k, s, p)
        assert idx.dtype == np.int32, name
        np.testing.assert_array_equal(y.numpy(), want_y, err_msg=name)
        np.testing.assert_array_equal(idx.numpy(), want_i, err_msg=name)
    for (name, gv), (_, iv) in zip(layouts(gy, (1, 0, 2, 3)), layouts(want_i, (3, 2, 1, 0), np.int32)):
        np.testing.assert_allclose(max_pool2d_backward(gv, iv, shape, k, s, p).numpy(), want_gx, err_msg=name, **TOL)


def test_max_pool_nan_wins_like_native():
    x = _x((1, 2, 6, 6), 3)
    x[0, 0, 1, 1] = x[0, 1, 4, 3] = x[0, 1, 4, 5] = np.nan
    want_y, want_i = _native.max_pool2d_forward(x, (3, 3), (2, 2), (1, 1))
    y, idx = max_pool2d_forward(dev(x), (3, 3), (2, 2), (1, 1))
    np.testing.assert_array_equal(y.numpy(), want_y)
    np.testing.assert_array_equal(idx.numpy(), want_i)


@pytest.mark.parametrize("shape, k, s, p", CASES)
@pytest.mark.parametrize("include_pad", [True, False])
def test_avg_pool_matches_native(shape, k, s, p, include_pad):
    x = _x(shape, 4)
    want_y = _native.avg_pool2d_forward(x, k, s, p, include_pad)
    gy = _x(want_y.shape, 5)
    want_gx = _native.avg_pool2d_backward(gy, shape, k, s, p, include_pad)
    for (name, xv), (_, gv) in zip(layouts(x, (0, 2, 3, 1)), layouts(gy, (1, 0, 2, 3))):
        np.testing.assert_allclose(avg_pool2d_forward(xv, k, s, p, include_pad).numpy(), want_y, err_msg=name, **TOL)
        got = avg_pool2d_backward(gv, shape, k, s, p, include_pad).numpy()
        np.testing.assert_allclose(got, want_gx, err_msg=name, **TOL)


@pytest.mark.parametrize("shape, out", [((2, 3, 7, 9), (3, 4)), ((1, 2, 5, 5), (5, 5)), ((1, 3, 4, 6), (7, 5)),
                                        ((2, 2, 13, 11), (1, 1)), ((1, 1, 10, 3), (4, 2))])
def test_adaptive_avg_pool_matches_native(shape, out):
    x = _x(shape, 6)
    want_y = _native.adaptive_avg_pool2d_forward(x, out)
    gy = _x(want_y.shape, 7)
    want_gx = _native.adaptive_avg_pool2d_backward(gy, shape, out)
    for (name, xv), (_, gv) in zip(layouts(x, (0, 2, 3, 1)), layouts(gy, (1, 0, 2, 3))):
        np.testing.assert_allclose(adaptive_avg_pool2d_forward(xv, out).numpy(), want_y, err_msg=name, **TOL)
        np.testing.assert_allclose(adaptive_avg_pool2d_backward(gv, shape, out).numpy(), want_gx, err_msg=name, **TOL)


def test_negative_strides_are_copied_first():
    shape, k, s, p = CASES[1]
    x = _x(shape, 8)
    want_y, want_i = _native.max_pool2d_forward(x, k, s, p)
    y, idx = max_pool2d_forward(flipped(x, 3), k, s, p)
    np.testing.assert_array_equal(y.numpy(), want_y)
    gy = _x(want_y.shape, 9)
    want_gx = _native.max_pool2d_backward(gy, want_i, shape, k, s, p)
    got = max_pool2d_backward(flipped(gy, 2), flipped(want_i, 3, np.int32), shape, k, s, p)
    np.testing.assert_allclose(got.numpy(), want_gx, **TOL)
    want = _native.avg_pool2d_backward(gy, shape, k, s, p, False)
    np.testing.assert_allclose(avg_pool2d_backward(flipped(gy, 1), shape, k, s, p, False).numpy(), want, **TOL)
    # A negative stride on a size-1 dim is harmless: read in place.
    np.testing.assert_allclose(avg_pool2d_backward(flipped(gy, 0), shape, k, s, p, False).numpy(), want, **TOL)
    want = _native.adaptive_avg_pool2d_forward(x, (4, 3))
    np.testing.assert_allclose(adaptive_avg_pool2d_forward(flipped(x, 1), (4, 3)).numpy(), want, **TOL)


def test_bad_input_names_the_function_and_shapes():
    x = dev(np.zeros((1, 2, 5, 5)))
    with pytest.raises(ValueError, match=r"max_pool2d_forward: kernel \(3, 3\).*padding \(2, 2\).*\(1, 2, 5, 5\)"):
        max_pool2d_forward(x, (3, 3), (1, 1), (2, 2))
    with pytest.raises(ValueError, match=r"avg_pool2d_forward: input must be 4-d.*\(2, 5\)"):
        avg_pool2d_forward(dev(np.zeros((2, 5))), (2, 2), (1, 1), (0, 0), True)
    with pytest.raises(ValueError, match=r"avg_pool2d_backward: grad_output has shape \(1, 2, 3, 3\).*\(1, 2, 2, 2\)"):
        avg_pool2d_backward(dev(np.zeros((1, 2, 3, 3))), (1, 2, 5, 5), (2, 2), (2, 2), (0, 0), True)
    with pytest.raises(ValueError, match=r"max_pool2d_backward: indices have shape \(1, 2, 2\)"):
        max_pool2d_backward(dev(np.zeros((1, 2, 2, 2))), dev(np.zeros((1, 2, 2)), np.int32), (1, 2, 5, 5),
                            (2, 2), (2, 2), (0, 0))
    with pytest.raises(TypeError, match="max_pool2d_backward: indices must be an integer"):
        max_pool2d_backward(dev(np.zeros((1, 2, 2, 2))), dev(np.zeros((1, 2, 2, 2))), (1, 2, 5, 5),
                            (2, 2), (2, 2), (0, 0))
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d_forward: output size \(0, 2\).*\(1, 2, 5, 5\)"):
        adaptive_avg_pool2d_forward(x, (0, 2))


def test_grids_past_the_device_limit_fold(monkeypatch):
    """With 7 workgroups per dimension, element grids fold into (x, y)."""
    shape, k, s, p = (2, 3, 25, 27), (3, 3), (1, 1), (1, 1)  # 4050 elements: 16 groups of 256
    x = _x(shape, 10)
    want_y, want_i = _native.max_pool2d_forward(x, k, s, p)
    gy = _x(want_y.shape, 11)
    want_gx = _native.avg_pool2d_backward(gy, shape, k, s, p, True)
    small_grid_limit(monkeypatch)
    y, idx = max_pool2d_forward(dev(x), k, s, p)
    np.testing.assert_array_equal(y.numpy(), want_y)
    np.testing.assert_array_equal(idx.numpy(), want_i)
    np.testing.assert_allclose(avg_pool2d_backward(dev(gy), shape, k, s, p, True).numpy(), want_gx, **TOL)
