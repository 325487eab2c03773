"""`DataLoader`: batches from a map-style dataset, optionally shuffled, as torch.utils.data."""

from __future__ import annotations

import numbers

import numpy as np

from . import _rng
from .collate import default_collate
from .dataset import Subset, TensorDataset, _take


def _tensor_source(dataset):
    """(tensors, index_map) when `dataset` is a TensorDataset, or Subsets of one, whose
    samples a batch can take with one fancy index per tensor; None otherwise."""
    index_map = None
    while type(dataset).__getitem__ is Subset.__getitem__ and isinstance(dataset, Subset):
        idx = np.asarray(dataset.indices, dtype=np.int64).reshape(-1)
        index_map = idx if index_map is None else idx[index_map]
        dataset = dataset.dataset
    if isinstance(dataset, TensorDataset) and type(dataset).__getitem__ is TensorDataset.__getitem__:
        return dataset.tensors, index_map
    return None


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size` samples.

    - `shuffle=True` draws a new order every epoch (every `iter(loader)`). The order comes from
      `seed` (an int, or a numpy Generator) when given, so the sequence of epochs repeats for the
      same seed; otherwise from ferrograd's generator, so `fg.manual_seed` makes it repeat.
    - `drop_last=True` drops a last batch smaller than `batch_size`.
    - `collate_fn` merges a list of samples into a batch (default: `default_collate`).
      When the dataset is a `TensorDataset` (or a `Subset` of one) and `collate_fn` is the
      default, each batch is one fancy index into the underlying arrays, which gives the same
      result as per-sample collation (a list of Tensors) much faster.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None, seed=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        try:
            len(dataset)
        except TypeError:
            raise TypeError(f"DataLoader: the dataset must have a length (map-style), got {type(dataset).__name__}") from None
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self._rng = _rng.Source(seed, "DataLoader")

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        n = len(self.dataset)
        return self._rng.get().permutation(n) if self.shuffle else np.arange(n)

    def __iter__(self):
        # The order is drawn here, at iter(), not at the first next().
        return self._batches(self._order())

    def _batches(self, order):
        n_batches = len(self)
        bs = self.batch_size
        source = _tensor_source(self.dataset) if self.collate_fn is default_collate else None
        if source is not None:
            tensors, index_map = source
            if index_map is not None:
                order = index_map[order]
            for b in range(n_batches):
                idx = order[b * bs:(b + 1) * bs]
                yield [_take(t, idx) for t in tensors]
            return
        for b in range(n_batches):
            idx = order[b * bs:(b + 1) * bs]
            yield self.collate_fn([self.dataset[int(i)] for i in idx])

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")
