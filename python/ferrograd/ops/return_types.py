"""Named tuples ops return, one type per torch.return_types shape. (values, indices) is
`ferrograd.tensor.ValuesIndices` (max/min along a dim, sort, topk, kthvalue, median, mode,
cummax, cummin); the others live here."""

from __future__ import annotations

from collections import namedtuple

aminmax = namedtuple("aminmax", ["min", "max"])


def values_indices(values, indices):
    from ..tensor import ValuesIndices

    return ValuesIndices(values, indices)
