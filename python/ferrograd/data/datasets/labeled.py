"""`LabeledData`: features + int64 class labels + class names, with a seeded train/test split."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...tensor import Tensor
from .. import _rng
from ..dataset import TensorDataset


@dataclass(repr=False, eq=False)
class LabeledData:
    """A classification data set held in memory.

    x: (N, ...) float32 Tensor of inputs; y: (N,) int64 Tensor of labels in [0, len(classes));
    classes: the name of each label; info: anything else the source provides.
    """

    x: Tensor
    y: Tensor
    classes: list
    info: dict = field(default_factory=dict)

    def __len__(self):
        return self.x.shape[0]

    def __repr__(self):
        return (f"LabeledData(x={tuple(self.x.shape)} {self.x.dtype}, y={tuple(self.y.shape)} {self.y.dtype}, "
                f"classes={len(self.classes)})")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def dataset(self) -> TensorDataset:
        """All samples as a TensorDataset of (x, y)."""
        return TensorDataset(self.x, self.y)

    def split_indices(self, test_fraction: float = 0.2, seed=0, stratify: bool = True):
        """(train_idx, test_idx) int64 arrays: disjoint, covering every sample, sorted.

        With `stratify`, each class contributes round(test_fraction * its count) samples to the
        test side, so both sides keep the class balance. `seed` is an int, a numpy Generator, or
        None for ferrograd's generator.
        """
        if not 0.0 < float(test_fraction) < 1.0:
            raise ValueError(f"split: test_fraction must lie in (0, 1), got {test_fraction!r}")
        rng = _rng.resolve(seed, "split")
        n = len(self)
        labels = self.y._data if stratify else np.zeros(n, dtype=np.int64)
        test = []
        for c in np.unique(labels):
            members = np.flatnonzero(labels == c)
            k = int(round(test_fraction * members.size))
            test.append(rng.permutation(members)[:k])
        test_idx = np.sort(np.concatenate(test)).astype(np.int64)
        mask = np.ones(n, dtype=bool)
        mask[test_idx] = False
        return np.flatnonzero(mask).astype(np.int64), test_idx

    def split(self, test_fraction: float = 0.2, seed=0, stratify: bool = True):
        """(train, test) TensorDatasets of (x, y); see `split_indices`."""
        train_idx, test_idx = self.split_indices(test_fraction, seed, stratify)
        x, y = self.x._data, self.y._data
        return (TensorDataset(Tensor._wrap(x[train_idx]), Tensor._wrap(y[train_idx])),
                TensorDataset(Tensor._wrap(x[test_idx]), Tensor._wrap(y[test_idx])))
