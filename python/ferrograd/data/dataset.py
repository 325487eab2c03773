"""Map-style datasets: `Dataset`, `TensorDataset`, `Subset`, `ConcatDataset` (torch.utils.data)."""

from __future__ import annotations

import bisect
import numbers

import numpy as np

from ..tensor import Tensor, from_numpy


class Dataset:
    """A map-style dataset: `dataset[i]` is the i-th sample and `len(dataset)` the count.

    Subclasses implement `__getitem__` and `__len__`; `a + b` concatenates two datasets.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


def _as_tensor(t, i):
    if isinstance(t, Tensor):
        return t
    if isinstance(t, np.ndarray):
        return from_numpy(t)  # shares memory; TypeError for dtypes ferrograd lacks
    raise TypeError(f"TensorDataset: argument {i} must be a Tensor or a numpy array, got {type(t).__name__}")


def _take(t: Tensor, index) -> Tensor:
    """`t[index]` without an autograd node when none is needed (the common case for data)."""
    if t.requires_grad:
        return t[index]
    return Tensor._wrap(np.asarray(t._data[index]))


class TensorDataset(Dataset):
    """Samples are slices along dim 0 of tensors that share that first dim.

    `TensorDataset(x, y)[i]` is `(x[i], y[i])`. numpy arrays are accepted and wrapped without a
    copy. Indexing with an int, a slice or an index array works (slices give batches).
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        tensors = tuple(_as_tensor(t, i) for i, t in enumerate(tensors))
        shapes = [tuple(t.shape) for t in tensors]
        if any(len(s) == 0 for s in shapes):
            raise ValueError(f"TensorDataset: tensors need at least one dim, got shapes {shapes}")
        if any(s[0] != shapes[0][0] for s in shapes):
            raise ValueError(f"TensorDataset: all tensors must have the same size in dim 0, got shapes {shapes}")
        self.tensors = tensors

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index._data
        elif isinstance(index, list):
            index = np.asarray(index, dtype=np.int64)
        return tuple(_take(t, index) for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def __repr__(self):
        shapes = ", ".join(f"{tuple(t.shape)} {t.dtype}" for t in self.tensors)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order: `Subset(d, idx)[i] == d[idx[i]]`."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self):
        return len(self.indices)

    def __repr__(self):
        return f"Subset({len(self)} of {type(self.dataset).__name__})"


class ConcatDataset(Dataset):
    """Several datasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: needs at least one dataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if not isinstance(idx, numbers.Integral):
            raise TypeError(f"ConcatDataset: index must be an int, got {type(idx).__name__}")
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for length {n}")
        idx = int(idx) % n
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[d - 1] if d else 0
        return self.datasets[d][idx - start]
