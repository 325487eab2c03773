"""Dataset, TensorDataset, Subset, ConcatDataset and random_split."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.data import ConcatDataset, Dataset, Subset, TensorDataset, random_split


def _xy(n=10):
    x = fg.from_numpy(np.arange(n * 3, dtype=np.float32).reshape(n, 3))
    y = fg.from_numpy(np.arange(n, dtype=np.int64))
    return x, y


def test_base_dataset_must_be_implemented():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    with pytest.raises(NotImplementedError):
        len(Dataset())


def test_tensor_dataset_items_and_len():
    x, y = _xy()
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[3]
    assert isinstance(xi, fg.Tensor) and isinstance(yi, fg.Tensor)
    np.testing.assert_array_equal(xi.numpy(), [9, 10, 11])
    assert yi.shape == () and yi.item() == 3 and yi.dtype == fg.int64
    xs, ys = ds[2:5]
    assert xs.shape == (3, 3) and ys.tolist() == [2, 3, 4]
    xl, yl = ds[[7, 1]]
    assert yl.tolist() == [7, 1]
    assert ds[-1][1].item() == 9


def test_tensor_dataset_accepts_numpy_and_rejects_mismatch():
    ds = TensorDataset(np.zeros((4, 2), np.float32), np.arange(4))
    assert len(ds) == 4 and isinstance(ds.tensors[0], fg.Tensor)
    with pytest.raises(ValueError, match=r"\(5, 2\).*\(4,\)"):
        TensorDataset(fg.zeros(5, 2), fg.zeros(4))
    with pytest.raises(ValueError):
        TensorDataset()
    with pytest.raises(TypeError):
        TensorDataset([1, 2, 3])


def test_subset_maps_indices():
    x, y = _xy()
    sub = Subset(TensorDataset(x, y), [9, 0, 4])
    assert len(sub) == 3
    assert [sub[i][1].item() for i in range(3)] == [9, 0, 4]
    assert sub[[2, 0]][1].tolist() == [4, 9]


def test_concat_dataset():
    x, y = _xy(4)
    a, b = TensorDataset(x, y), TensorDataset(x[:2], y[:2] + 100)
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 6
    assert [cat[i][1].item() for i in range(6)] == [0, 1, 2, 3, 100, 101]
    assert cat[-1][1].item() == 101
    with pytest.raises(IndexError):
        cat[6]


def _all_indices(subsets):
    return [i for s in subsets for i in s.indices]


def test_random_split_int_lengths_disjoint_and_complete():
    x, y = _xy(10)
    parts = random_split(TensorDataset(x, y), [7, 3], generator=0)
    assert [len(p) for p in parts] == [7, 3]
    idx = _all_indices(parts)
    assert sorted(idx) == list(range(10))
    # the samples are what the indices say
    assert [parts[1][i][1].item() for i in range(3)] == parts[1].indices


def test_random_split_fractions_like_torch():
    ds = TensorDataset(*_xy(10))
    parts = random_split(ds, [0.5, 0.3, 0.2], generator=1)
    assert [len(p) for p in parts] == [5, 3, 2]
    parts = random_split(ds, [1 / 3, 1 / 3, 1 / 3], generator=1)
    assert [len(p) for p in parts] == [4, 3, 3]  # floor, then the remainder round-robin
    assert sorted(_all_indices(parts)) == list(range(10))


def test_random_split_reproducible():
    ds = TensorDataset(*_xy(50))
    a = random_split(ds, [25, 25], generator=7)
    b = random_split(ds, [25, 25], generator=np.random.default_rng(7))
    assert a[0].indices == b[0].indices
    fg.manual_seed(3)
    c = random_split(ds, [25, 25])
    fg.manual_seed(3)
    d = random_split(ds, [25, 25])
    assert c[0].indices == d[0].indices
    assert a[0].indices != random_split(ds, [25, 25], generator=8)[0].indices


def test_random_split_bad_lengths():
    ds = TensorDataset(*_xy(10))
    with pytest.raises(ValueError, match="sum to 9"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError):
        random_split(ds, [0.5, 0.2])
    with pytest.raises(ValueError):
        random_split(ds, [11, -1])
    with pytest.raises(TypeError):
        random_split(ds, [5, 5], generator="seed")
