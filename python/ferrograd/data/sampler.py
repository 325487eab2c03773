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
