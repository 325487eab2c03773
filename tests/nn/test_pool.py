"""max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool2d: Rust kernels against the numpy reference
on random shapes, the PyTorch fixture, float64 gradcheck, non-contiguous inputs, bad input."""

from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from ferrograd.reference import pool as ref
from ferrograd.testing import gradcheck

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def random_window(rng, nd):
    k = tuple(int(v) for v in rng.integers(1, 5, size=nd))
    s = None if rng.random() < 0.3 else tuple(int(v) for v in rng.integers(1, 4, size=nd))
    p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
    spatial = tuple(int(max(kk - 2 * pp, 1) + rng.integers(0, 9)) for kk, pp in zip(k, p))
    return k, s, p, spatial


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(10))
def test_pool2d_matches_reference(seed, dtype):
    rng = np.random.default_rng(seed)
    k, s, p, (h, w) = random_window(rng, 2)
    x = rng.standard_normal((int(rng.integers(1, 4)), int(rng.integers(1, 5)), h, w)).astype(dtype)
    tol = dict(rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6 if dtype == np.float32 else 1e-12)
    y = F.max_pool2d(fg.tensor(x), k, s, p)
    assert y.dtype == dtype
    np.testing.assert_allclose(y.numpy(), ref.max_pool2d(x, k, s, p), **tol)
    for cip in (True, False):
        y = F.avg_pool2d(fg.tensor(x), k, s, p, count_include_pad=cip)
        np.testing.assert_allclose(y.numpy(), ref.avg_pool2d(x, k, s, p, cip), **tol)
    out = tuple(int(v) for v in rng.integers(1, 2 * max(h, w) + 1, size=2))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(fg.tensor(x), out).numpy(), ref.adaptive_avg_pool2d(x, out), **tol)


@pytest.mark.parametrize("seed", range(6))
def test_pool1d_matches_reference(seed):
    rng = np.random.default_rng(50 + seed)
    (k,), s, (p,), (length,) = random_window(rng, 1)
    s = None if s is None else s[0]
    x = rng.standard_normal((2, 3, length))
    np.testing.assert_allclose(F.max_pool1d(fg.tensor(x), k, s, p).numpy(), ref.max_pool1d(x, k, s, p), atol=1e-12)
    np.testing.assert_allclose(F.avg_pool1d(fg.tensor(x), k, s, p).numpy(), ref.avg_pool1d(x, k, s, p), atol=1e-12)


def test_large_input_runs_planes_in_parallel():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 16, 33, 31), dtype=np.float32)
    gy = rng.standard_normal((4, 16, 17, 16), dtype=np.float32)
    t = fg.tensor(x, requires_grad=True)
    y = F.max_pool2d(t, 3, 2, 1)
    np.testing.assert_allclose(y.detach().numpy(), ref.max_pool2d(x, 3, 2, 1), rtol=1e-6)
    y.backward(fg.tensor(gy))
    # Reference backward: each window's gradient goes to its maximum (no ties in random data).
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    want = np.zeros_like(xp)
    for i in range(17):
        for j in range(16):
            win = xp[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3].reshape(4, 16, 9)
            a = win.argmax(-1)
            np.add.at(want, (np.arange(4)[:, None], np.arange(16)[None], 2 * i + a // 3, 2 * j + a % 3), gy[:, :, i, j])
    np.testing.assert_allclose(t.grad.numpy(), want[:, :, 1:-1, 1:-1], rtol=1e-6)
    np.testing.assert_allclose(F.avg_pool2d(fg.tensor(x), 2).numpy(), ref.avg_pool2d(x, 2), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(fg.tensor(x), (5, 7)).numpy(), ref.adaptive_avg_pool2d(x, (5, 7)), rtol=1e-5, atol=1e-6)


def test_maxpool_fixture_matches_torch():
    d = np.load(FIXTURES / "maxpool_basic.npz")
    x = fg.tensor(d["x"], requires_grad=True)
    y = F.max_pool2d(x, int(d["kernel_size"]))
    y.backward(fg.tensor(d["gy"]))
    np.testing.assert_allclose(y.detach().numpy(), d["y"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), d["gx"], rtol=1e-5, atol=1e-6)


def _t(rng, *shape):
    # Distinct, well separated values so that finite differences never cross a max-pool tie.
    vals = rng.permutation(int(np.prod(shape))).astype(np.float64) * 0.1
    return fg.tensor(vals.reshape(shape), requires_grad=True)


@pytest.mark.parametrize("k, s, p", [(2, None, 0), (3, 2, 1), ((3, 2), (1, 2), (1, 0)), (2, 1, 1)])
def test_pool2d_gradcheck(k, s, p):
    rng = np.random.default_rng(2)
    x = _t(rng, 2, 2, 5, 6)
    assert gradcheck(lambda x: F.max_pool2d(x, k, s, p), [x])
    assert gradcheck(lambda x: F.avg_pool2d(x, k, s, p), [x])
    assert gradcheck(lambda x: F.avg_pool2d(x, k, s, p, count_include_pad=False), [x])


@pytest.mark.parametrize("out", [1, (2, 3), (4, 7), (None, 2)])
def test_adaptive_avg_pool2d_gradcheck(out):
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, out), [_t(np.random.default_rng(3), 2, 2, 5, 6)])


def test_pool1d_gradcheck():
    rng = np.random.default_rng(4)
    x = _t(rng, 2, 3, 9)
    assert gradcheck(lambda x: F.max_pool1d(x, 3, 2, 1), [x])
    assert gradcheck(lambda x: F.avg_pool1d(x, 4, 3, 2), [x])


def test_max_pool_propagates_nan_like_torch():
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    y = F.max_pool2d(fg.tensor(x), 2).numpy()
    assert np.isnan(y[0, 0, 0, 0]) and not np.isnan(y[0, 0, 1:]).any()
    for k, s, p in ((3, 1, 1), (2, 1, 0), (3, 2, 0)):  # padded (clipped windows) and full-window paths
        np.testing.assert_array_equal(F.max_pool2d(fg.tensor(x), k, s, p).numpy(), ref.max_pool2d(x, k, s, p))


def test_non_contiguous_inputs_give_the_same_result():
    rng = np.random.default_rng(5)
    x_nc = rng.standard_normal((3, 11, 2 * 9, 4))[:, ::-1, ::2].transpose(0, 3, 2, 1)  # (3, 4, 9, 11)
    x_c = np.ascontiguousarray(x_nc)
    calls = [
        lambda t: F.max_pool2d(t, 3, 2, 1),
        lambda t: F.avg_pool2d(t, (2, 3), 1, (1, 0)),
        lambda t: F.adaptive_avg_pool2d(t, (4, 5)),
        lambda t: F.max_pool1d(t[:, :, 0], 2),
        lambda t: F.avg_pool1d(t[:, :, 0], 3, 2, 1),
    ]
    for call in calls:
        a, b = fg.tensor(x_nc, requires_grad=True), fg.tensor(x_c, requires_grad=True)
        ya, yb = call(a), call(b)
        np.testing.assert_array_equal(ya.detach().numpy(), yb.detach().numpy())
        g = rng.standard_normal(ya.shape)
        ya.backward(fg.tensor(g))
        yb.backward(fg.tensor(g))
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_unbatched_input():
    x = np.random.default_rng(6).standard_normal((3, 6, 5))
    np.testing.assert_allclose(F.max_pool2d(fg.tensor(x), 2).numpy(), ref.max_pool2d(x[None], 2)[0])
    np.testing.assert_allclose(F.avg_pool1d(fg.tensor(x[0]), 2).numpy(), ref.avg_pool1d(x[None, 0], 2)[0])
    np.testing.assert_allclose(F.adaptive_avg_pool2d(fg.tensor(x), 2).numpy(), ref.adaptive_avg_pool2d(x[None], 2)[0])


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda x: F.max_pool2d(x[0, 0], 2), "max_pool2d: expected a 3-d (unbatched) or 4-d"),
        (lambda x: F.max_pool2d(x, 2, padding=2), "max_pool2d: padding (2, 2) should be at most half of kernel size (2, 2)"),
        (lambda x: F.max_pool2d(x, 2, stride=0), "max_pool2d: stride must be positive"),
        (lambda x: F.max_pool2d(x, 0), "max_pool2d: kernel_size must be positive"),
        (lambda x: F.max_pool2d(x, 2, padding=-1), "max_pool2d: padding must be non-negative"),
        (lambda x: F.max_pool2d(x, 8), "max_pool2d: kernel (8, 8) is larger than the padded input: input (2, 3, 6, 7)"),
        (lambda x: F.max_pool2d(x, (2, 2, 2)), "max_pool2d: kernel_size must be an int or a tuple of 2 ints"),
        (lambda x: F.avg_pool2d(x, 3, padding=2), "avg_pool2d: padding (2, 2) should be at most half"),
        (lambda x: F.avg_pool2d(x, 2, stride=(1, 0)), "avg_pool2d: stride must be positive"),
        (lambda x: F.avg_pool2d(x, 7), "avg_pool2d: kernel (7, 7) is larger than the padded input"),
        (lambda x: F.max_pool1d(x, 2), "max_pool1d: expected a 2-d (unbatched) or 3-d"),
        (lambda x: F.max_pool1d(x[:, :, 0], 9), "max_pool1d: kernel (9,) is larger than the padded input"),
        (lambda x: F.avg_pool1d(x[:, :, 0], 2, 0), "avg_pool1d: stride must be positive"),
        (lambda x: F.adaptive_avg_pool2d(x, 0), "adaptive_avg_pool2d: output_size must be positive"),
        (lambda x: F.adaptive_avg_pool2d(x, (1, 2, 3)), "adaptive_avg_pool2d: output_size must be an int or a tuple"),
        (lambda x: F.adaptive_avg_pool2d(x[..., :0], 2), "adaptive_avg_pool2d: input (2, 3, 6, 0) has an empty"),
        (lambda x: F.adaptive_avg_pool2d(x[0, 0, 0], 2), "adaptive_avg_pool2d: expected a 3-d (unbatched) or 4-d"),
    ],
)
def test_bad_input_raises_value_error_naming_the_function(call, fragment):
    x = fg.tensor(np.zeros((2, 3, 6, 7)))
    with pytest.raises(ValueError) as e:
        call(x)
    assert fragment in str(e.value)


def test_bad_dtype_and_unsupported_options():
    with pytest.raises(TypeError, match="max_pool2d: input must be float32 or float64"):
        F.max_pool2d(fg.zeros(1, 1, 4, 4, dtype=fg.int64), 2)


def test_matches_torch_directly():
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    rng = np.random.default_rng(9)
    for seed in range(5):
        k, s, p, (h, w) = random_window(np.random.default_rng(500 + seed), 2)
        x = rng.standard_normal((2, 3, h, w))
        for name, kw in (("max_pool2d", {}), ("avg_pool2d", {}), ("avg_pool2d", {"count_include_pad": False})):
            tx, fx = torch.tensor(x, requires_grad=True), fg.tensor(x, requires_grad=True)
            ty, fy = getattr(TF, name)(tx, k, s, p, **kw), getattr(F, name)(fx, k, s, p, **kw)
            gy = rng.standard_normal(tuple(ty.shape))
            ty.backward(torch.tensor(gy))
            fy.backward(fg.tensor(gy))
            np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), atol=1e-12)
            np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), atol=1e-12)
        out = (int(rng.integers(1, h + 3)), int(rng.integers(1, w + 3)))
        tx, fx = torch.tensor(x, requires_grad=True), fg.tensor(x, requires_grad=True)
        ty, fy = TF.adaptive_avg_pool2d(tx, out), F.adaptive_avg_pool2d(fx, out)
        ty.sum().backward()
        fy.sum().backward()
        np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 6, 1, 1), (3, 5, 2, 3)])
def test_adaptive_avg_pool2d_to_its_own_size_is_a_copy(shape):
    """Output size = input size (a global pool of 1×1 maps, as at a small ResNet's end) takes the copy
    path: exact values for a non-contiguous input, and the gradient passes through unchanged."""
    x = np.random.default_rng(4).standard_normal(shape[::-1]).transpose(3, 2, 1, 0)
    y = F.adaptive_avg_pool2d(fg.tensor(x), shape[2:])
    np.testing.assert_array_equal(y.numpy(), x)
    assert gradcheck(lambda t: F.adaptive_avg_pool2d(t.transpose(2, 3).transpose(2, 3), shape[2:]),
                     [fg.tensor(np.ascontiguousarray(x), requires_grad=True)])
