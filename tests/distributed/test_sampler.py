"""DistributedSampler: torch's partition and padding (fixture from torch), epoch shuffles. No MPI needed."""

import os

import numpy as np
import pytest

from ferrograd.data import DataLoader, DistributedSampler, TensorDataset
import ferrograd as fg

FIX = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "distributed_sampler.npz"))


@pytest.mark.parametrize("key", sorted(FIX.files))
def test_unshuffled_indices_equal_torch(key):
    n, r, k, d = (int(p[1:]) for p in key.split("_"))
    s = DistributedSampler(range(n), num_replicas=r, rank=k, shuffle=False, drop_last=bool(d))
    assert list(s) == FIX[key].tolist()
    assert len(s) == len(FIX[key])


@pytest.mark.parametrize("n,r,drop", [(10, 3, False), (10, 3, True), (11, 4, False), (4, 4, False), (3, 5, False)])
def test_shuffled_ranks_partition_the_padded_permutation(n, r, drop):
    parts = [list(DistributedSampler(range(n), num_replicas=r, rank=k, seed=3, drop_last=drop)) for k in range(r)]
    assert len({len(p) for p in parts}) == 1
    every = sorted(i for p in parts for i in p)
    if drop:  # distinct indices, the largest multiple of r
        assert len(set(every)) == len(every) == (n // r) * r
    else:  # every index at least once; padding repeats only the permutation's start
        assert set(every) == set(range(n)) and len(every) == -(-n // r) * r
    # the same interleaving as unshuffled, applied to the seeded permutation
    perm = np.random.default_rng(3).permutation(n).tolist()
    ident = [list(DistributedSampler(range(n), num_replicas=r, rank=k, shuffle=False, drop_last=drop)) for k in range(r)]
    assert parts == [[perm[i] for i in p] for p in ident]


def test_set_epoch_changes_the_order_the_same_way_on_every_rank():
    a = [DistributedSampler(range(20), num_replicas=2, rank=k, seed=1) for k in range(2)]
    e0 = [list(s) for s in a]
    assert [list(s) for s in a] == e0  # same epoch: same order
    for s in a:
        s.set_epoch(1)
    e1 = [list(s) for s in a]
    assert e1 != e0
    assert sorted(e1[0] + e1[1]) == list(range(20))  # still a partition


def test_dataloader_takes_it():
    ds = TensorDataset(fg.arange(10))
    dl = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, num_replicas=2, rank=1, shuffle=False))
    assert [b[0].tolist() for b in dl] == [[1, 3], [5, 7], [9]]


def test_bad_arguments_raise_named_errors():
    with pytest.raises(ValueError, match="DistributedSampler: Invalid rank 2"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(range(4), num_replicas=0, rank=0)
    with pytest.raises(RuntimeError, match="DistributedSampler: .*not initialized"):
        DistributedSampler(range(4))
