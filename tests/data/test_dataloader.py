"""DataLoader: batching, len, drop_last, shuffle reproducibility, the TensorDataset fast path."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split


def _ds(n=10):
    x = fg.from_numpy(np.arange(n * 2, dtype=np.float32).reshape(n, 2))
    y = fg.from_numpy(np.arange(n, dtype=np.int64))
    return TensorDataset(x, y)


class PlainDataset(Dataset):
    """A non-TensorDataset, so the loader collates sample by sample."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return {"x": np.full(2, i, np.float32), "y": i}

    def __len__(self):
        return self.n


def _labels(loader):
    return [int(v) for batch in loader for v in batch[1].tolist()]


def test_batches_in_order():
    loader = DataLoader(_ds(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [tuple(b[0].shape) for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert isinstance(batches[0], list)  # torch gives a list for tuple samples
    assert batches[0][0].dtype == fg.float32 and batches[0][1].dtype == fg.int64
    assert _labels(loader) == list(range(10))
    np.testing.assert_array_equal(batches[2][0].numpy(), [[16, 17], [18, 19]])


@pytest.mark.parametrize("n,bs", [(10, 4), (12, 4), (3, 5), (0, 2), (7, 1)])
def test_len_with_and_without_drop_last(n, bs):
    for drop_last, expected in ((False, -(-n // bs)), (True, n // bs)):
        loader = DataLoader(_ds(n), batch_size=bs, drop_last=drop_last)
        assert len(loader) == expected == len(list(loader))


def test_drop_last_drops_only_the_short_batch():
    batches = list(DataLoader(_ds(10), batch_size=4, drop_last=True))
    assert [len(b[1]) for b in batches] == [4, 4]
    assert _labels(batches) == list(range(8))


def test_default_batch_size_is_one():
    batches = list(DataLoader(_ds(3)))
    assert len(batches) == 3 and batches[0][0].shape == (1, 2)


def test_shuffle_covers_everything_and_reshuffles_each_epoch():
    loader = DataLoader(_ds(50), batch_size=8, shuffle=True, seed=0)
    e1, e2 = _labels(loader), _labels(loader)
    assert sorted(e1) == sorted(e2) == list(range(50))
    assert e1 != list(range(50)) and e1 != e2


def test_shuffle_reproducible_from_seed():
    a = DataLoader(_ds(50), batch_size=8, shuffle=True, seed=123)
    b = DataLoader(_ds(50), batch_size=8, shuffle=True, seed=123)
    assert [_labels(a) for _ in range(3)] == [_labels(b) for _ in range(3)]
    c = DataLoader(_ds(50), batch_size=8, shuffle=True, seed=124)
    assert _labels(c) != _labels(DataLoader(_ds(50), batch_size=8, shuffle=True, seed=123))


def test_shuffle_reproducible_from_manual_seed():
    loader = DataLoader(_ds(50), batch_size=8, shuffle=True)
    fg.manual_seed(5)
    first = [_labels(loader), _labels(loader)]
    fg.manual_seed(5)
    again = [_labels(loader), _labels(loader)]
    assert first == again and first[0] != first[1]


def test_order_is_drawn_at_iter():
    loader = DataLoader(_ds(30), batch_size=30, shuffle=True)
    fg.manual_seed(1)
    it = iter(loader)
    fg.manual_seed(99)
    got = next(it)[1].tolist()
    fg.manual_seed(1)
    assert got == _labels(loader)


def test_fast_path_matches_per_sample_collate():
    ds = _ds(23)
    fast = DataLoader(ds, batch_size=5, shuffle=True, seed=4)
    slow = DataLoader(ds, batch_size=5, shuffle=True, seed=4, collate_fn=lambda b: default_collate(b))
    for (fx, fy), (sx, sy) in zip(fast, slow):
        assert fx.dtype == sx.dtype and fy.dtype == sy.dtype
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())


def test_fast_path_through_subsets():
    ds = _ds(20)
    train, _ = random_split(ds, [12, 8], generator=0)
    inner = Subset(train, [3, 1, 4, 1, 5])
    got = _labels(DataLoader(inner, batch_size=2))
    assert got == [train.indices[i] for i in [3, 1, 4, 1, 5]]


def test_fast_path_returns_copies():
    ds = _ds(4)
    batch = next(iter(DataLoader(ds, batch_size=4)))
    batch[0].numpy()[:] = -1
    assert ds.tensors[0].numpy().min() == 0


def test_generic_dataset_and_custom_collate():
    loader = DataLoader(PlainDataset(5), batch_size=2)
    batches = list(loader)
    assert batches[0]["x"].shape == (2, 2) and batches[0]["y"].tolist() == [0, 1]
    assert batches[-1]["y"].tolist() == [4]
    seen = list(DataLoader(PlainDataset(3), batch_size=3, collate_fn=lambda b: [s["y"] for s in b]))
    assert seen == [[0, 1, 2]]


def test_bad_arguments():
    with pytest.raises(ValueError):
        DataLoader(_ds(), batch_size=0)
    with pytest.raises(TypeError):
        DataLoader(iter(range(3)))
    with pytest.raises(TypeError):
        DataLoader(_ds(), collate_fn=3)
