"""The device's erf/erfc/gelu kernels (wgpu.kernels.activation) agree with the native ones they
stand in for under `ops._util.kernels`."""

import numpy as np
import pytest

from ferrograd import _native


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_device_gelu_and_erf_agree_with_native(approximate):
    from ferrograd.wgpu import kernels as wk
    from ferrograd.wgpu.array import GpuArray

    rng = np.random.default_rng(0)
    x = (rng.standard_normal(2000) * 3).astype(np.float32)
    g = rng.standard_normal(2000).astype(np.float32)
    X, G = GpuArray.from_numpy(x), GpuArray.from_numpy(g)
    np.testing.assert_allclose(wk.gelu_forward(X, approximate).numpy(), _native.gelu_forward(x, approximate), atol=2e-6)
    np.testing.assert_allclose(wk.gelu_backward(X, G, approximate).numpy(), _native.gelu_backward(x, g, approximate),
                               atol=1e-5)
    y, d = wk.gelu_forward_with_grad(X, approximate)
    y_native, d_native = _native.gelu_forward_with_grad(x, approximate)
    np.testing.assert_allclose(y.numpy(), y_native, atol=2e-6)
    np.testing.assert_allclose(d.numpy(), d_native, atol=1e-5)
    np.testing.assert_allclose(wk.erf(X).numpy(), _native.erf(x), atol=1e-6)
    np.testing.assert_allclose(wk.erfc(X).numpy(), _native.erfc(x), atol=1e-6)


def test_device_relu_and_mse_agree_with_native():
    from ferrograd.wgpu import kernels as wk
    from ferrograd.wgpu.array import GpuArray

    rng = np.random.default_rng(1)
    x = rng.standard_normal(2000).astype(np.float32)
    t = rng.standard_normal(2000).astype(np.float32)
    x[:3] = [np.nan, -0.0, 0.0]
    X, T = GpuArray.from_numpy(x), GpuArray.from_numpy(t)
    np.testing.assert_array_equal(wk.relu_forward(X).numpy(), _native.relu_forward(x))
    np.testing.assert_array_equal(wk.relu_backward(T, X).numpy(), _native.relu_backward(t, x))
    x[0] = 0.5
    X = GpuArray.from_numpy(x)
    np.testing.assert_allclose(wk.mse_loss_sum(X, T), _native.mse_loss_sum(x, t), rtol=1e-5)
    for need in [(True, False), (False, True), (True, True)]:
        for got, want in zip(wk.mse_loss_backward(X, T, 0.25, *need), _native.mse_loss_backward(x, t, 0.25, *need)):
            assert (got is None) == (want is None)
            if want is not None:
                np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)
