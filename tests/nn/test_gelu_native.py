"""F.gelu (exact and tanh form) and fg.erf on cpu run the native kernels (rust/core/src/activation.rs)
for float32 / float64 numpy arrays: forward and backward against a float64 math.erfc reference,
without scipy, on non-contiguous, empty and 0-d inputs, with gradcheck; special values as torch."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.ops.activation as act_ops
from ferrograd.nn import functional as F
from ferrograd.testing import gradcheck

_erfc = np.vectorize(math.erfc, otypes=[np.float64])
_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu_ref(x, approximate="none"):
    """(gelu(x), gelu'(x)) in float64; Φ from erfc so that the lower tail does not cancel."""
    x = np.asarray(x, np.float64)
    if approximate == "tanh":
        c = math.sqrt(2 / math.pi)
        t = np.tanh(c * (x + 0.044715 * x**3))
        return 0.5 * x * (1 + t), 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
    cdf = 0.5 * _erfc(-x / math.sqrt(2))
    return x * cdf, cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def err(got, want, scale=1.0):
    """Absolute error, relative above magnitude 1 (float32 cannot hold 2e-7 absolute at 16), and
    relative to `scale` (the upstream gradient: dx = g·gelu'(x) carries gelu''s error times g)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    scale = np.maximum(np.maximum(1.0, np.abs(want)), np.abs(scale))
    return float(np.max(np.abs(got - want) / scale, initial=0.0))


@pytest.fixture
def no_scipy(monkeypatch):
    """scipy.special cannot be imported, and the cached erf implementation is chosen again."""
    monkeypatch.setitem(sys.modules, "scipy.special", None)
    act_ops._erf_impl.cache_clear()
    yield
    act_ops._erf_impl.cache_clear()


class _Spy:
    """Stands for the kernel module ops.activation dispatches numpy arrays to; counts the GELU calls."""

    def __init__(self, native):
        self._native, self.calls = native, []

    def __getattr__(self, name):
        fn = getattr(self._native, name)

        def call(*args, **kwargs):
            self.calls.append(name)
            return fn(*args, **kwargs)

        return call


def _forward_backward(x, approximate, g):
    t = fg.tensor(x, requires_grad=True)
    y = F.gelu(t, approximate=approximate)
    y.backward(fg.tensor(g))
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-7), (np.float64, 1e-12)])
def test_forward_backward_match_float64_reference_without_scipy(no_scipy, monkeypatch, approximate, dtype, tol):
    from ferrograd import _native

    spy = _Spy(_native)
    monkeypatch.setattr(act_ops, "kernels", lambda x: spy)  # the dispatcher hands numpy arrays to _native
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((64, 333)) * 4).astype(dtype)
    x.flat[:6] = [0.0, -0.0, 1e-30, -1e-30, 30.0, -30.0]
    g = rng.standard_normal(x.shape).astype(dtype)
    y, dx = _forward_backward(x, approximate, g)
    assert y.dtype == dtype and dx.dtype == dtype and y.shape == x.shape
    y_ref, d_ref = gelu_ref(x, approximate)
    assert err(y, y_ref) < tol, f"forward: {err(y, y_ref):.3g}"
    e = err(dx, g.astype(np.float64) * d_ref, g)
    assert e < tol, f"backward: {e:.3g}"
    # A gradient was coming: gelu'(x) came from the forward's pass, the backward is one multiply.
    assert spy.calls == ["gelu_forward_with_grad"]
    with fg.no_grad():
        F.gelu(fg.tensor(x, requires_grad=True), approximate=approximate)
    F.gelu(fg.tensor(x), approximate=approximate)
    assert spy.calls == ["gelu_forward_with_grad", "gelu_forward", "gelu_forward"]


def _tails(dtype):
    """Values on both sides of the kernels' cuts (clamped blocks, the f64 redo of the lower tail)."""
    cut, zero = (12.5, 15.0) if dtype == np.float32 else (37.0, 39.0)
    specials = [np.nan, np.inf, -np.inf, 0.0, -0.0, cut, -cut, cut + 0.5, -cut - 0.5, -zero, -zero - 1,
                (cut + zero) / -2, 1e-30, -1e-30, np.finfo(dtype).max, -np.finfo(dtype).max]
    return np.array(specials, dtype)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 5, 333, 200_003])
def test_forward_with_grad_gives_the_bits_of_forward_and_backward(approximate, dtype, n):
    from ferrograd import _native

    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 4).astype(dtype)
    if n >= 333:  # a few blocks that take the clamped bodies and the tail redo, one in the last partial block
        x[17:17 + 16] = _tails(dtype)
        x[-9:] = _tails(dtype)[:9]
    y, d = _native.gelu_forward_with_grad(x, approximate)
    assert y.dtype == d.dtype == dtype and y.shape == d.shape == x.shape
    np.testing.assert_array_equal(y, _native.gelu_forward(x, approximate))
    np.testing.assert_array_equal(d, _native.gelu_backward(x, np.ones_like(x), approximate))
    g = rng.standard_normal(n).astype(dtype)
    finite = np.isfinite(x) & (x > -12)  # the backward's own tail redo multiplies g in f64
    np.testing.assert_array_equal((g * d)[finite], _native.gelu_backward(x, g, approximate)[finite])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_large_tensor_uses_the_threaded_path_and_agrees(approximate):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((4, 128, 1536)) * 4).astype(np.float32)  # ~0.8 M: many rayon tasks
    g = rng.standard_normal(x.shape).astype(np.float32)
    y, dx = _forward_backward(x, approximate, g)
    y_ref, d_ref = gelu_ref(x, approximate)
    assert err(y, y_ref) < 2e-7
    assert err(dx, g * d_ref.astype(np.float64), g) < 2e-7
    # a slice computed on its own (single-threaded) gives the same bits
    y_part, dx_part = _forward_backward(x[1, 5], approximate, g[1, 5])
    np.testing.assert_array_equal(y_part, y[1, 5])
    np.testing.assert_array_equal(dx_part, dx[1, 5])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gradcheck_float64(approximate):
    rng = np.random.default_rng(2)
    x = fg.tensor(rng.standard_normal((4, 5)) * 3, dtype=fg.float64, requires_grad=True)
    assert gradcheck(lambda t: F.gelu(t, approximate=approximate), [x])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_second_derivative_through_the_composite_form(approximate):
    # create_graph=True takes the gradient through the composite (erf / tanh Tensor ops); its
    # derivative must agree with central differences of the native first derivative.
    x0 = np.array([-2.5, -0.7, 0.0, 0.4, 1.9])
    t = fg.tensor(x0, dtype=fg.float64, requires_grad=True)
    (d,) = fg.autograd.grad(F.gelu(t, approximate=approximate).sum(), t, create_graph=True)
    (dd,) = fg.autograd.grad(d.sum(), t)
    np.testing.assert_allclose(d.detach().numpy(), gelu_ref(x0, approximate)[1], rtol=1e-12, atol=1e-14)
    h = 1e-5
    fd = (gelu_ref(x0 + h, approximate)[1] - gelu_ref(x0 - h, approximate)[1]) / (2 * h)
    np.testing.assert_allclose(dd.numpy(), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_non_contiguous_input_and_broadcast_upstream(approximate):
    rng = np.random.default_rng(3)
    base = (rng.standard_normal((6, 10)) * 3).astype(np.float32)
    view = base.T[::-1, ::2]  # transposed, reversed, strided
    assert not view.flags.c_contiguous
    t = fg.from_numpy(view).requires_grad_()  # shares the strided array
    y = F.gelu(t, approximate=approximate)
    y.sum().backward()  # the upstream gradient is a broadcast (stride-0) array
    y_ref, d_ref = gelu_ref(view, approximate)
    assert err(y.detach().numpy(), y_ref) < 2e-7
    assert err(t.grad.numpy(), d_ref) < 2e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(0,), (3, 0, 2), ()])
def test_empty_and_zero_dim(dtype, shape):
    x = np.full(shape, 0.75, dtype)
    for approximate in ("none", "tanh"):
        t = fg.tensor(x, requires_grad=True)
        y = F.gelu(t, approximate=approximate)
        assert y.shape == shape and y.dtype == dtype
        y.sum().backward()
        assert t.grad.shape == shape
        y_ref, d_ref = gelu_ref(x, approximate)
        np.testing.assert_allclose(y.detach().numpy(), y_ref, rtol=1e-6)
        np.testing.assert_allclose(t.grad.numpy(), d_ref, rtol=1e-6)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_values_as_torch(approximate, dtype):
    # torch: gelu(inf) = inf, gelu(-inf) = NaN (-inf·0), NaN in -> NaN out, gradient NaN at ±inf;
    # a finite input never gives NaN.
    big = np.finfo(dtype).max
    x = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, big, -big, 1e30, -1e30], dtype)
    t = fg.tensor(x, requires_grad=True)
    y = F.gelu(t, approximate=approximate)
    y.backward(fg.ones_like(y))
    y, d = y.detach().numpy(), t.grad.numpy()
    assert np.isnan(y[[0, 2]]).all() and np.isnan(d[:3]).all()
    assert y[1] == np.inf and y[5] == big and y[7] == np.float64(dtype(1e30))
    assert np.signbit(y[3]) and y[3] == 0 and not np.signbit(y[4]) and y[4] == 0
    assert (y[[6, 8]] == 0).all() and np.isfinite(d[3:]).all()
    np.testing.assert_array_equal(d[3:], [0.5, 0.5, 1.0, 0.0, 1.0, 0.0])


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1.2e-7), (np.float64, 2.3e-16)])
def test_erf_without_scipy(no_scipy, dtype, tol):
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.standard_normal(5000) * 3, [0.0, -0.0, 1e-30, 6.0, -40.0]]).astype(dtype)
    for out in (fg.erf(fg.tensor(x)), fg.special.erf(fg.tensor(x)), fg.tensor(x).erf()):
        assert out.dtype == dtype
        want = _erf(x.astype(np.float64))
        assert np.max(np.abs(out.numpy() - want) / np.maximum(np.abs(want), 1e-300)) < tol
    special = fg.erf(fg.tensor(np.array([np.inf, -np.inf, np.nan], dtype))).numpy()
    assert special[0] == 1 and special[1] == -1 and np.isnan(special[2])
    # gradient: 2/√π e^{-x²}
    t = fg.tensor(x[:50].astype(np.float64), requires_grad=True)
    t.erf().sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), 2 / math.sqrt(math.pi) * np.exp(-x[:50].astype(np.float64) ** 2),
                               rtol=1e-12)


def test_erf_of_other_dtypes_and_layouts(no_scipy):
    x = np.linspace(-3, 3, 37)
    half = act_ops._erf(x.astype(np.float16))
    assert half.dtype == np.float16
    np.testing.assert_allclose(half, _erf(x.astype(np.float16).astype(np.float64)), rtol=1e-3)
    ints = act_ops._erf(np.array([0, 1, -2]))
    np.testing.assert_allclose(ints, _erf(np.array([0.0, 1.0, -2.0])), rtol=1e-15)
    strided = x.reshape(37, 1)[::-3, 0]
    np.testing.assert_allclose(act_ops._erf(strided), _erf(strided), rtol=1e-15)
    assert act_ops._erf(np.float64(0.5)).shape == ()


@pytest.mark.parametrize("forward", ["gelu_forward", "gelu_forward_with_grad"])
def test_native_bindings_name_themselves_on_bad_arguments(forward):
    from ferrograd import _native

    fwd = getattr(_native, forward)
    with pytest.raises(TypeError, match="gelu.*float32 or float64.*int64"):
        fwd(np.ones(3, np.int64))
    with pytest.raises(ValueError, match="gelu: input must be a C-contiguous"):
        fwd(np.ones((3, 4), np.float32).T)
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'foo'"):
        fwd(np.ones(3, np.float32), "foo")
    with pytest.raises(ValueError, match=r"gelu_backward: grad shape \[4\] != input shape \[3\]"):
        _native.gelu_backward(np.ones(3, np.float32), np.ones(4, np.float32))
    with pytest.raises(TypeError, match="erf"):
        _native.erf([1.0, 2.0])
