"""Samplers: the order in which a DataLoader visits a dataset, as torch.utils.data's.

A sampler is an iterable of indices with a length. `RandomSampler(generator=g)` draws a new
order at every `iter()` from `g` (an `fg.Generator`, an int seed or a numpy Generator; None:
ferrograd's default generator), so the same seeded generator gives the same epochs.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _rng


class Sampler:
    """Base class: subclasses define `__iter__` (indices) and usually `__len__`."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


def _positive_int(value, op, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{op}: {name} should be a positive integer value, but got {name}={value!r}")
    return int(value)


class RandomSampler(Sampler):
    """A random permutation of the indices (replacement=False), or `num_samples` indices drawn
    with replacement; each `iter()` draws anew from `generator`."""

    def __init__(self, data_source, replacement: bool = False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got replacement={replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = None if num_samples is None else _positive_int(num_samples, "RandomSampler", "num_samples")
        self.generator = generator
        self._rng = _rng.Source(generator, "RandomSampler")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, rng = len(self.data_source), self._rng.get()
        if self.replacement:
            return iter(rng.integers(0, n, self.num_samples).tolist())
        k = self.num_samples  # more than n: whole permutations back to back, as torch
        parts = [rng.permutation(n) for _ in range(-(-k // n))] if n else [np.zeros(0, np.int64)]
        return iter(np.concatenate(parts)[:k].tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (drawn anew at each `iter()`)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator
        self._rng = _rng.Source(generator, "SubsetRandomSampler")

    def __iter__(self):
        return (self.indices[int(i)] for i in self._rng.get().permutation(len(self.indices)))

    def __len__(self):
        return len(self.indices)


class BatchSampler(Sampler):
    """Lists of `batch_size` indices from `sampler` (the last one shorter unless drop_last)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        self.sampler = sampler
        self.batch_size = _positive_int(batch_size, "BatchSampler", "batch_size")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DistributedSampler(Sampler):
    """This rank's share of the dataset's indices, as torch.utils.data.distributed.DistributedSampler.

    Every rank sees `num_samples = ceil(len / num_replicas)` indices: the (shuffled) index list is
    padded by repeating its start until it divides evenly (drop_last=False), or cut to a multiple
    of num_replicas (drop_last=True); rank r takes positions r, r + num_replicas, ... The shuffle
    is a permutation seeded by `seed + epoch` (call set_epoch at each epoch so the order changes,
    the same on every rank); it is numpy's, so the order differs from torch's, the partition and
    padding do not. num_replicas/rank default to ferrograd.distributed's world size and rank."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False):
        if num_replicas is None or rank is None:
            from .. import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: num_replicas and rank default to the process group's, but "
                                   "ferrograd.distributed is not initialized; call init_process_group or pass both")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        num_replicas = _positive_int(num_replicas, "DistributedSampler", "num_replicas")
        if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: Invalid rank {rank!r}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, int(rank)
        self.epoch, self.shuffle, self.seed, self.drop_last = 0, bool(shuffle), int(seed), bool(drop_last)
        n = len(dataset)
        if self.drop_last and n % num_replicas:
            self.num_samples = -(-(n - num_replicas) // num_replicas)  # the largest even split
        else:
            self.num_samples = -(-n // num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            indices = np.arange(n)
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0:  # repeat the list's start (whole copies first when the list is short)
                indices = np.concatenate([indices, np.tile(indices, -(-pad // n))[:pad]]) if n else indices
        else:
            indices = indices[: self.total_size]
        return iter(indices[self.rank: self.total_size: self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch: int):
        """Use epoch `epoch`'s shuffle next (every rank must pass the same epoch)."""
        self.epoch = int(epoch)
