"""softmax / log_softmax (Rust kernel over any dim) against the numpy reference."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.nn import functional as F
from ferrograd.reference import softmax as ref
from ferrograd.testing import gradcheck

SHAPES = [(1,), (7,), (3, 5), (2, 3, 17), (4, 1, 33), (2, 3, 4, 5), (5, 129)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("log", [False, True])
def test_matches_reference_every_dim(shape, log):
    rng = np.random.default_rng(len(shape) * 31 + shape[-1])
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    fn, want_fn = (F.log_softmax, ref.log_softmax) if log else (F.softmax, ref.softmax)
    for dim in range(-len(shape), len(shape)):
        got = fn(fg.from_numpy(x), dim=dim).numpy()
        assert got.dtype == np.float32 and got.shape == shape
        np.testing.assert_allclose(got, want_fn(x, dim), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("log", [False, True])
def test_float64_is_exact(log):
    x = np.random.default_rng(0).standard_normal((6, 37)) * 10
    fn, want_fn = (F.log_softmax, ref.log_softmax) if log else (F.softmax, ref.softmax)
    np.testing.assert_allclose(fn(fg.from_numpy(x), 1).numpy(), want_fn(x, 1), rtol=1e-12, atol=1e-14)


def test_large_rows_parallel_path():
    x = np.random.default_rng(1).standard_normal((300, 1000)).astype(np.float32) * 5
    np.testing.assert_allclose(F.softmax(fg.from_numpy(x), -1).numpy(), ref.softmax(x, -1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(F.log_softmax(fg.from_numpy(x), 0).numpy(), ref.log_softmax(x, 0), rtol=1e-5, atol=1e-5)


def test_extreme_values_are_stable():
    x = np.array([[1000.0, 0.0, -1000.0], [-80.0, -90.0, -100.0], [0, 0, -np.inf]], np.float32)
    np.testing.assert_allclose(F.softmax(fg.from_numpy(x), 1).numpy(), ref.softmax(x, 1), atol=1e-7)
    got = F.log_softmax(fg.from_numpy(x), 1).numpy()
    assert np.isfinite(got[:2]).all() and got[2, 2] == -np.inf
    nan = F.softmax(fg.tensor([[1.0, float("nan")], [1.0, 2.0]]), 1).numpy()
    assert np.isnan(nan[0]).all() and np.isfinite(nan[1]).all()


@pytest.mark.parametrize("log", [False, True])
def test_gradcheck_every_dim(log):
    rng = np.random.default_rng(2)
    fn = F.log_softmax if log else F.softmax
    for dim in (0, 1, 2, -1):
        x = fg.tensor(rng.standard_normal((3, 4, 5)), dtype=fg.float64, requires_grad=True)
        assert gradcheck(lambda t: fn(t, dim), [x])


def test_non_contiguous_inputs_match_contiguous():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((9, 12)).astype(np.float32)
    views = [base.T, base[::2, 1::3], base[:, ::-1]]
    for v in views:
        for dim in (0, 1):
            np.testing.assert_allclose(
                F.softmax(fg.from_numpy(v), dim).numpy(), F.softmax(fg.tensor(np.ascontiguousarray(v)), dim).numpy(),
                rtol=1e-6, atol=1e-7)
    x = fg.tensor(rng.standard_normal((5, 6)), dtype=fg.float64, requires_grad=True)
    assert gradcheck(lambda t: F.log_softmax(t.T[1:, ::2], 0), [x])


def test_zero_d_and_empty():
    assert F.softmax(fg.tensor(3.0), 0).item() == 1.0
    assert F.log_softmax(fg.zeros(0, 4), 1).shape == (0, 4)
    assert F.softmax(fg.zeros(3, 0), 0).shape == (3, 0)


def test_implicit_dim_and_dtype_argument():
    x = fg.randn(2, 3)
    with pytest.warns(UserWarning):
        y = F.softmax(x)
    np.testing.assert_allclose(y.numpy(), ref.softmax(x.numpy(), 1), rtol=1e-5)
    assert F.softmax(x, 1, dtype=fg.float64).dtype == np.float64
    assert F.log_softmax(fg.tensor([1, 2, 3]), 0, dtype=fg.float32).dtype == np.float32


def test_bad_input():
    with pytest.raises(IndexError, match="softmax"):
        F.softmax(fg.randn(2, 3), 2)
    with pytest.raises(TypeError, match="log_softmax"):
        F.log_softmax(fg.tensor([1, 2, 3]), 0)
    with pytest.raises(TypeError, match="softmax"):
        F.softmax(np.zeros(3), 0)


def test_native_rejects_bad_arrays_without_panicking():
    from ferrograd import _native

    with pytest.raises(ValueError, match="C-contiguous"):
        _native.softmax_forward(np.zeros((4, 4), np.float32).T, False)
    with pytest.raises(TypeError):
        _native.softmax_forward(np.zeros(4, np.int64), False)
    with pytest.raises(ValueError):
        _native.softmax_backward(np.zeros((2, 3), np.float32), np.zeros((3, 2), np.float32), False)


def test_against_torch_if_installed():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal((7, 11, 5)).astype(np.float32)
    g = np.random.default_rng(5).standard_normal((7, 11, 5)).astype(np.float32)
    for dim in (0, 1, 2):
        for log in (False, True):
            tx = torch.tensor(x, requires_grad=True)
            ty = (torch.log_softmax if log else torch.softmax)(tx, dim)
            ty.backward(torch.tensor(g))
            fx = fg.tensor(x, requires_grad=True)
            fy = (F.log_softmax if log else F.softmax)(fx, dim)
            fy.backward(g)
            np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-6)


# ---- random shapes (hypothesis) ---------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=4), seed=st.integers(0, 2**31), data=st.data())
def test_random_shapes_any_dim(shape, seed, data):
    x = (np.random.default_rng(seed).standard_normal(shape) * 4).astype(np.float32)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    np.testing.assert_allclose(F.softmax(fg.from_numpy(x), dim).numpy(), ref.softmax(x, dim), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.log_softmax(fg.from_numpy(x), dim).numpy(), ref.log_softmax(x, dim), rtol=1e-5, atol=1e-5)
