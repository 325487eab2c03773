"""Indexing: basic slices, ints, None, Ellipsis, negative steps, integer arrays, boolean masks."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.testing import gradcheck


def leaf(a):
    return fg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


MASK = np.array([True, False, True, True])
MASK2D = np.array([[True, False, False, True, True], [False, False, True, False, True],
                   [True, True, False, False, False], [False, True, True, True, False]])

KEYS = [
    ("int", 1),
    ("neg_int", -1),
    ("int_int", (2, 3)),
    ("slice", slice(1, 3)),
    ("slice_step", (slice(None), slice(0, 5, 2))),
    ("slice_neg_step", slice(None, None, -1)),
    ("slice_neg_step2", (slice(None), slice(4, 0, -2))),
    ("neg_bounds", (slice(-3, -1), slice(-2, None))),
    ("none", None),
    ("none_mid", (slice(None), None, 1)),
    ("ellipsis", (Ellipsis, 0)),
    ("ellipsis_none", (0, Ellipsis, None)),
    ("int_ellipsis_slice", (Ellipsis, slice(1, None, -1))),
    ("int_array", [0, 2]),
    ("repeated_int_array", [0, 0, 1, 3, 3, 3]),
    ("neg_int_array", np.array([-1, 0, -1])),
    ("2d_int_array", np.array([[0, 1], [1, 0]])),
    ("two_int_arrays", (np.array([0, 0, 3]), np.array([1, 1, 4]))),
    ("slice_and_array", (slice(1, None), [4, 4, 0])),
    ("bool_rows", MASK),
    ("bool_full", MASK2D),
    ("bool_cols", (slice(None), np.array([True, False, True, False, True]))),
    ("empty_slice", slice(2, 2)),
]


def np_key(key):
    """The key numpy reads as torch does: a list is an integer array index."""
    if isinstance(key, tuple):
        return tuple(np_key(k) for k in key)
    return np.array(key) if isinstance(key, list) else key


@pytest.mark.parametrize("key", [k for _, k in KEYS], ids=[n for n, _ in KEYS])
def test_getitem_matches_numpy_and_gradcheck(key, rng):
    a = rng.standard_normal((4, 5))
    want = a[np_key(key)]
    out = leaf(a)[key]
    assert out.shape == np.shape(want)
    np.testing.assert_array_equal(out.detach().numpy(), want)
    assert gradcheck(lambda t: t[key], [leaf(a)])


def test_getitem_3d(rng):
    a = rng.standard_normal((3, 4, 5))
    for key in [(Ellipsis, 1), (1, Ellipsis), (slice(None), None, slice(None, None, -1), 2),
                ([0, 2, 0], slice(1, 3), [4, 0, 4]), (a[:, 0, 0] > 0,), (1, 2, 0), (-1, slice(None, None, -2), [3, 3])]:
        np.testing.assert_array_equal(fg.tensor(a)[key].numpy(), a[np_key(key)])
        assert gradcheck(lambda t: t[key], [leaf(a)])


def test_repeated_indices_scatter_add():
    x = leaf(np.arange(6.0).reshape(3, 2))
    x[[0, 0, 1]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 2.0], [1.0, 1.0], [0.0, 0.0]])
    y = leaf([1.0, 2.0, 3.0])
    (y[np.array([2, 2, 2, 0])] * fg.tensor([1.0, 2.0, 3.0, 4.0], dtype=fg.float64)).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [4.0, 0.0, 6.0])


def test_tensor_keys():
    a = np.arange(12.0).reshape(3, 4)
    x = leaf(a)
    idx = fg.tensor([2, 0, 2])
    np.testing.assert_array_equal(x[idx].detach().numpy(), a[[2, 0, 2]])
    mask = x > 5
    assert mask.dtype == np.bool_
    out = x[mask]
    np.testing.assert_array_equal(out.detach().numpy(), a[a > 5])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (a > 5).astype(np.float64))
    np.testing.assert_array_equal(x[1, idx[:2]].detach().numpy(), a[1, [2, 0]])


def test_int_index_gives_0d_and_item(rng):
    a = rng.standard_normal((3, 4))
    x = leaf(a)
    s = x[1, 2]
    assert s.shape == () and s.item() == a[1, 2]
    s.backward()
    want = np.zeros((3, 4))
    want[1, 2] = 1.0
    np.testing.assert_array_equal(x.grad.numpy(), want)


def test_out_of_range_index_raises_index_error():
    x = fg.zeros(3, 4)
    with pytest.raises(IndexError):
        x[3]
    with pytest.raises(IndexError):
        x[[0, 5]]
    with pytest.raises(IndexError):
        x[0, 0, 0]


def test_setitem_without_grad():
    x = fg.zeros(2, 3)
    x[0, 1:] = 5.0
    x[1] = fg.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.numpy(), [[0, 5, 5], [1, 2, 3]])
