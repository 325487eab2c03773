"""Tensor creation: fg.tensor dtype inference, from_numpy sharing, factories, seeding."""

import numpy as np
import pytest

import ferrograd as fg


@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, np.float32),
        ([1.0, 2.0], np.float32),
        ([[1, 2.5], [3, 4]], np.float32),
        ([], np.float32),
        (3, np.int64),
        ([1, 2, 3], np.int64),
        ([[1], [2]], np.int64),
        (True, np.bool_),
        ([True, False], np.bool_),
        (np.ones((2, 3), np.float64), np.float64),
        (np.ones(3, np.float32), np.float32),
        (np.arange(4, dtype=np.int64), np.int64),
        (np.float64(2.0), np.float64),
    ],
)
def test_tensor_infers_dtype_like_torch(data, dtype):
    t = fg.tensor(data)
    assert t.dtype == dtype
    assert t.shape == np.shape(data)
    np.testing.assert_array_equal(t.numpy(), np.asarray(data, dtype=dtype))


def test_tensor_explicit_dtype():
    t = fg.tensor([1, 2], dtype=fg.float64)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    t = fg.tensor([1.7, -2.7], dtype=fg.int64)
    assert t.dtype == np.int64
    assert t.tolist() == [1, -2]  # truncation toward zero, as torch and numpy
    assert fg.tensor([1.5], dtype="float64").dtype == np.float64


def test_tensor_copies_its_data():
    a = np.array([1.0, 2.0, 3.0])
    t = fg.tensor(a)
    a[0] = 100.0
    assert t.tolist() == [1.0, 2.0, 3.0]
    u = fg.tensor(t)
    t._data[1] = 50.0
    assert u.tolist() == [1.0, 2.0, 3.0]


def test_tensor_requires_grad_flag():
    t = fg.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None
    assert not fg.tensor([1.0]).requires_grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.bool_])
def test_from_numpy_shares_memory(dtype):
    a = np.zeros((2, 3), dtype=dtype)
    t = fg.from_numpy(a)
    assert t.dtype == dtype and t.shape == (2, 3)
    a[1, 2] = 1
    assert t.tolist()[1][2] == 1
    t.numpy()[0, 0] = 1
    assert a[0, 0] == 1


def test_from_numpy_rejects_non_arrays():
    with pytest.raises(TypeError):
        fg.from_numpy([1.0, 2.0])


@pytest.mark.parametrize("factory, fill", [(fg.zeros, 0.0), (fg.ones, 1.0)])
def test_zeros_ones(factory, fill):
    for t in (factory(2, 3), factory((2, 3)), factory([2, 3])):
        assert t.shape == (2, 3) and t.dtype == np.float32 and not t.requires_grad
        np.testing.assert_array_equal(t.numpy(), np.full((2, 3), fill, np.float32))
    assert factory(4, dtype=fg.int64).dtype == np.int64
    assert factory(4, dtype=fg.float64).dtype == np.float64
    assert factory(2, requires_grad=True).requires_grad
    assert factory().shape == ()
    assert factory(0, 3).shape == (0, 3)


def test_full():
    t = fg.full((2, 3), 1.5)
    assert t.dtype == np.float32 and t.shape == (2, 3)
    np.testing.assert_array_equal(t.numpy(), np.full((2, 3), 1.5, np.float32))
    assert fg.full((2,), 7).dtype == np.int64
    assert fg.full((2,), True).dtype == np.bool_
    t = fg.full(3, 2.0, dtype=fg.float64)
    assert t.dtype == np.float64 and t.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    "args, kwargs, dtype",
    [
        ((5,), {}, np.int64),
        ((2, 8, 2), {}, np.int64),
        ((5, 0, -1), {}, np.int64),
        ((0, 1, 0.25), {}, np.float32),
        ((0.0, 3.0), {}, np.float32),
        ((5,), {"dtype": fg.float32}, np.float32),
        ((4,), {"dtype": fg.float64}, np.float64),
    ],
)
def test_arange(args, kwargs, dtype):
    t = fg.arange(*args, **kwargs)
    assert t.dtype == dtype
    np.testing.assert_allclose(t.numpy(), np.arange(*args).astype(dtype))


@pytest.mark.parametrize("fn", [fg.randn, fg.rand])
def test_random_shapes_and_dtypes(fn):
    t = fn(3, 4)
    assert t.shape == (3, 4) and t.dtype == np.float32
    assert fn((2, 5)).shape == (2, 5)
    assert fn(2, dtype=fg.float64).dtype == np.float64
    assert fn(2, requires_grad=True).requires_grad


@pytest.mark.parametrize("fn", [fg.randn, fg.rand])
def test_manual_seed_makes_random_reproducible(fn):
    fg.manual_seed(7)
    a = fn(4, 5).numpy().copy()
    b = fn(4, 5).numpy().copy()
    fg.manual_seed(7)
    np.testing.assert_array_equal(fn(4, 5).numpy(), a)
    np.testing.assert_array_equal(fn(4, 5).numpy(), b)
    assert not np.array_equal(a, b)
    fg.manual_seed(8)
    assert not np.array_equal(fn(4, 5).numpy(), a)


def test_random_distributions():
    fg.manual_seed(0)
    u = fg.rand(20000).numpy()
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.02
    n = fg.randn(20000).numpy()
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1.0) < 0.05


def test_zeros_like_ones_like():
    x = fg.tensor([[1, 2, 3]])
    z = fg.zeros_like(x)
    assert z.shape == (1, 3) and z.dtype == np.int64 and z.tolist() == [[0, 0, 0]]
    o = fg.ones_like(fg.randn(2, 2, dtype=fg.float64))
    assert o.dtype == np.float64
    np.testing.assert_array_equal(o.numpy(), np.ones((2, 2)))
    assert fg.zeros_like(x, dtype=fg.float32).dtype == np.float32
    assert fg.ones_like(fg.zeros(3), requires_grad=True).requires_grad
