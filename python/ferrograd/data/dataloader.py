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
    """Iterate over `dataset` in batches of `batch_size` samples, with torch's signature.

    - `shuffle=True` draws a new order every epoch (every `iter(loader)`) from `generator`: an
      `fg.Generator` (its stream advances, so the same seeded generator repeats the epochs), an
      int seed or a numpy Generator; None: ferrograd's default generator, so `fg.manual_seed`
      makes it repeat. `seed=` (a ferrograd extra) is the same as `generator=`.
    - `sampler` (an iterable of indices, e.g. `RandomSampler`) or `batch_sampler` (of index
      lists) choose the order instead; they exclude `shuffle` (and, for batch_sampler,
      `batch_size`/`drop_last`), as in torch.
    - `drop_last=True` drops a last batch smaller than `batch_size`.
    - `collate_fn` merges a list of samples into a batch (default: `default_collate`).
      When the dataset is a `TensorDataset` (or a `Subset` of one) and `collate_fn` is the
      default, each batch is one fancy index into the underlying arrays, which gives the same
      result as per-sample collation (a list of Tensors) much faster.
    - `num_workers`, `pin_memory`, `timeout`, `worker_init_fn`, `prefetch_factor`, ... are
      accepted for torch code and ignored: batches are made in this process.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True, seed=None):
        if batch_sampler is None and (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                                      or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        try:
            len(dataset)
        except TypeError:
            raise TypeError(f"DataLoader: the dataset must have a length (map-style), got {type(dataset).__name__}") from None
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be non-negative, got {num_workers!r}")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: pass generator= or seed=, not both")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                             "sampler, and drop_last")
        for name, s in (("sampler", sampler), ("batch_sampler", batch_sampler)):
            if s is not None and not hasattr(s, "__iter__"):
                raise TypeError(f"DataLoader: {name} must be an iterable of indices, got {type(s).__name__}")
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.num_workers = int(num_workers)
        self.generator = generator if generator is not None else seed
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._rng = _rng.Source(self.generator, "DataLoader")

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        if self.sampler is not None:
            return np.fromiter((int(i) for i in self.sampler), dtype=np.int64)
        n = len(self.dataset)
        return self._rng.get().permutation(n) if self.shuffle else np.arange(n)

    def __iter__(self):
        # The order is drawn here, at iter(), not at the first next().
        if self.batch_sampler is not None:
            return self._batches_from(list(self.batch_sampler))
        return self._batches(self._order())

    def _batches_from(self, index_lists):
        for idx in index_lists:
            yield self.collate_fn([self.dataset[int(i)] for i in idx])

    def _batches(self, order):
        bs = self.batch_size
        n_batches = len(order) // bs if self.drop_last else -(-len(order) // bs)
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
