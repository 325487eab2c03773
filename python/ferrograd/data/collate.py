"""`default_collate`: merge a list of samples into a batch, with torch.utils.data's rules.

- Tensors are stacked along a new dim 0 (with autograd if any requires grad).
- numpy arrays and numpy scalars are stacked into a Tensor of the same dtype where ferrograd
  has it; other dtypes map as in `fg.tensor` (uint8/int16/... -> int64, float16 -> float32).
- Python ints -> int64 tensor, floats -> float32 tensor (ferrograd's default float), bools -> bool.
- str and bytes are left as a list.
- Mappings are collated key by key; namedtuples field by field into the same namedtuple type;
  other sequences position by position, giving a list (a tuple becomes a list, as in torch).
"""

from __future__ import annotations

import collections.abc
import copy
import numbers

import numpy as np

from .. import dtypes
from ..tensor import Tensor, stack, tensor

_BAD_KINDS = "USOVMm"  # strings, objects, void, datetimes: no tensor for these


def _stack_arrays(arrays, what):
    try:
        out = np.stack(arrays)
    except ValueError:
        shapes = sorted({tuple(a.shape) for a in arrays})
        raise ValueError(f"default_collate: {what} in a batch must have one shape, got shapes {shapes}") from None
    dt = dtypes.infer_dtype(out, "default_collate")
    return Tensor._wrap(out.astype(dt, copy=False))


def _collate_tensors(batch):
    if any(t.requires_grad for t in batch) or len({t.dtype for t in batch}) > 1:
        shapes = {tuple(t.shape) for t in batch}
        if len(shapes) > 1:
            raise ValueError(f"default_collate: tensors in a batch must have one shape, got shapes {sorted(shapes)}")
        return stack(batch)  # autograd and ferrograd's dtype promotion
    return _stack_arrays([t._data for t in batch], "tensors")


def default_collate(batch):
    """Collate a list of samples into a batch (see the module docstring for the rules)."""
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)):
        raise TypeError(f"default_collate: batch must be a sequence of samples, got {type(batch).__name__}")
    if len(batch) == 0:
        raise ValueError("default_collate: the batch is empty")
    elem = batch[0]
    elem_type = type(elem)

    if isinstance(elem, Tensor):
        return _collate_tensors(batch)
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        if elem.dtype.kind in _BAD_KINDS:
            raise TypeError(f"default_collate: numpy arrays of dtype {elem.dtype} have no tensor type")
        return _stack_arrays([np.asarray(b) for b in batch], "numpy arrays")
    if isinstance(elem, bool):
        return tensor(batch, dtype=dtypes.bool_)
    if isinstance(elem, numbers.Integral):
        return tensor(batch, dtype=dtypes.int64)
    if isinstance(elem, numbers.Real):
        return tensor(batch, dtype=dtypes.float32)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(collated)
            return clone
        try:
            return elem_type(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        sizes = {len(s) for s in batch}
        if len(sizes) > 1:
            raise ValueError(f"default_collate: each sample in the batch must have the same length, got {sorted(sizes)}")
        fields = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return fields  # torch returns a list here, and so do we
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, f in enumerate(fields):
                clone[i] = f
            return clone
        try:
            return elem_type(fields)
        except TypeError:
            return fields
    raise TypeError(
        "default_collate: a batch must contain Tensors, numpy arrays, numbers, strings, dicts or "
        f"sequences; found {elem_type.__name__}"
    )
