"""Reductions over dim (int, tuple, negative) with keepdim: forward vs numpy and gradcheck."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.testing import gradcheck

SHAPE = (2, 3, 4)
DIMS = [None, 0, -1, 1, (0, 2), (-1, 0), (1,), (0, 1, 2)]


def leaf(a):
    return fg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def np_axis(dim):
    return dim if dim is None or isinstance(dim, int) else tuple(dim)


REDUCE = {
    "sum": (lambda t, d, k: t.sum(dim=d, keepdim=k), lambda a, d, k: a.sum(axis=d, keepdims=k)),
    "mean": (lambda t, d, k: t.mean(dim=d, keepdim=k), lambda a, d, k: a.mean(axis=d, keepdims=k)),
    "var": (lambda t, d, k: t.var(dim=d, keepdim=k), lambda a, d, k: a.var(axis=d, keepdims=k, ddof=1)),
    "std": (lambda t, d, k: t.std(dim=d, keepdim=k), lambda a, d, k: a.std(axis=d, keepdims=k, ddof=1)),
    "var0": (lambda t, d, k: t.var(d, False, k), lambda a, d, k: a.var(axis=d, keepdims=k)),
    "std_c0": (lambda t, d, k: t.std(dim=d, keepdim=k, correction=0), lambda a, d, k: a.std(axis=d, keepdims=k)),
}


@pytest.mark.parametrize("name", list(REDUCE))
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
def test_reduction(name, dim, keepdim, rng):
    fn, ref = REDUCE[name]
    a = rng.standard_normal(SHAPE)
    out = fn(leaf(a), dim, keepdim)
    want = ref(a, np_axis(dim), keepdim)
    assert out.shape == np.shape(want)
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-12)
    assert gradcheck(lambda t: fn(t, dim, keepdim), [leaf(a)])


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std"])
def test_reduction_float32(name, rng):
    fn, ref = REDUCE[name]
    a = rng.standard_normal((5, 7)).astype(np.float32)
    out = fn(fg.tensor(a), 1, False)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), ref(a.astype(np.float64), 1, False), rtol=1e-5)


def test_sum_and_mean_functions_and_dtypes():
    i = fg.tensor([[1, 2], [3, 4]])
    assert i.sum().dtype == np.int64 and i.sum().item() == 10
    assert fg.sum(i, 0).tolist() == [4, 6]
    b = fg.tensor([True, False, True])
    assert b.sum().dtype == np.int64 and b.sum().item() == 2
    with pytest.raises(RuntimeError, match="floating point"):  # as torch: no implicit cast
        i.mean()
    m = i.mean(dtype=fg.float32)
    assert m.dtype == np.float32 and m.item() == 2.5
    np.testing.assert_allclose(fg.mean(i.float(), dim=1).numpy(), [1.5, 3.5])


def test_sum_gradient_values():
    x = leaf(np.arange(6.0).reshape(2, 3))
    (x.sum(dim=1, keepdim=True) * fg.tensor([[1.0], [2.0]], dtype=fg.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 1, 1], [2, 2, 2]])
    x.grad = None
    x.mean().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 1 / 6))


# ---- max / min / argmax -------------------------------------------------------------------------
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dim", [0, 1, -1, -3])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_along_dim(largest, dim, keepdim, rng):
    a = rng.permutation(24).reshape(SHAPE).astype(np.float64) / 7.0  # distinct: no ties
    x = leaf(a)
    res = x.max(dim, keepdim=keepdim) if largest else x.min(dim, keepdim=keepdim)
    values, indices = res
    assert res.values is values and res.indices is indices
    want_v = a.max(axis=dim, keepdims=keepdim) if largest else a.min(axis=dim, keepdims=keepdim)
    want_i = (np.argmax if largest else np.argmin)(a, axis=dim, keepdims=keepdim)
    np.testing.assert_array_equal(values.detach().numpy(), want_v)
    assert indices.dtype == np.int64 and not indices.requires_grad
    np.testing.assert_array_equal(indices.numpy(), want_i)
    fn = (lambda t: t.max(dim, keepdim)[0]) if largest else (lambda t: t.min(dim, keepdim)[0])
    assert gradcheck(fn, [leaf(a)])


@pytest.mark.parametrize("largest", [True, False])
def test_full_max_min(largest, rng):
    a = rng.permutation(24).reshape(SHAPE).astype(np.float64) / 7.0
    x = leaf(a)
    out = x.max() if largest else x.min()
    assert out.shape == ()
    assert out.item() == (a.max() if largest else a.min())
    assert gradcheck(lambda t: t.max() if largest else t.min(), [leaf(a)])
    assert fg.max(fg.tensor(a)).item() == a.max() and fg.min(fg.tensor(a)).item() == a.min()


def test_full_max_ties_share_gradient_evenly():
    x = leaf([[3.0, 1.0], [3.0, 3.0]])
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1 / 3, 0.0], [1 / 3, 1 / 3]])
    y = leaf([-1.0, 2.0, -1.0])
    y.min().backward()
    np.testing.assert_allclose(y.grad.numpy(), [0.5, 0.0, 0.5])


def test_max_along_dim_of_ints():
    t = fg.tensor([[1, 5, 2], [7, 0, 7]])
    v, i = t.max(1)
    assert v.tolist() == [5, 7] and i.tolist() == [1, 0]


@pytest.mark.parametrize("dim", [None, 0, 1, -1, 2])
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax(dim, keepdim, rng):
    a = rng.standard_normal(SHAPE)
    out = fg.tensor(a).argmax(dim=dim, keepdim=keepdim)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), np.argmax(a, axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(fg.argmax(fg.tensor(a), dim).numpy(), np.argmax(a, axis=dim))
    assert not leaf(a).argmax(dim).requires_grad


def test_argmax_first_of_ties():
    assert fg.tensor([1.0, 3.0, 3.0]).argmax().item() == 1
    assert fg.tensor([[0, 2, 2], [5, 5, 1]]).argmax(1).tolist() == [1, 0]
