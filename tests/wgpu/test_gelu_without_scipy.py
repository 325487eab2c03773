"""GELU and erf on the wgpu device do not need scipy: the device's erf kernel is reached directly,
not through scipy's erf ufunc (ferrograd.ops.activation._erf). Values against the float64
math.erf reference with the device's float32 tolerances."""

import math
import sys

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.ops.activation as act_ops
from ferrograd.nn import functional as F

_erf = np.vectorize(math.erf, otypes=[np.float64])


@pytest.fixture
def no_scipy(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.special", None)
    act_ops._erf_impl.cache_clear()
    yield
    act_ops._erf_impl.cache_clear()


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_forward_backward_on_the_device(no_scipy, approximate):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((5, 9)) * 3).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    out = {}
    for device in ("cpu", "wgpu"):
        t = fg.tensor(x, device=device, requires_grad=True)
        y = F.gelu(t, approximate=approximate)
        assert y.device == device
        y.backward(fg.tensor(g, device=device))
        out[device] = (y.detach().cpu().numpy(), t.grad.cpu().numpy())
    np.testing.assert_allclose(out["wgpu"][0], out["cpu"][0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["wgpu"][1], out["cpu"][1], rtol=1e-5, atol=1e-5)


def test_erf_on_the_device(no_scipy):
    x = np.linspace(-4, 4, 101, dtype=np.float32)
    got = fg.tensor(x, device="wgpu").erf()
    assert got.device == "wgpu"
    np.testing.assert_allclose(got.cpu().numpy(), _erf(x.astype(np.float64)), atol=2e-6)
    strided = fg.tensor(x.reshape(1, 101), device="wgpu")[:, ::3]
    np.testing.assert_allclose(strided.erf().cpu().numpy(), _erf(x[::3].astype(np.float64))[None], atol=2e-6)
