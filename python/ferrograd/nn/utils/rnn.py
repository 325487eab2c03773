"""Variable-length sequences for the recurrent modules: torch.nn.utils.rnn's PackedSequence, pad_sequence,
pack_padded_sequence, pad_packed_sequence, pack_sequence, unpad_sequence and unpack_sequence.

Layout as torch: a PackedSequence's `data` is time-major, (sum(lengths), *): step t holds one row for
each of the batch_sizes[t] sequences still running, longest first. Every move between the padded and
packed layouts is one integer-array gather (`Tensor[index]`), so it runs on the data's device and its
gradient (a scatter-add) flows back to the inputs. Index bookkeeping (lengths, batch sizes, the sort
order) is small host work in numpy; `batch_sizes`, `sorted_indices` and `unsorted_indices` are int64
CPU tensors (torch keeps the two index tensors on the data's device; ferrograd gathers with host
index arrays on every device, so they stay on the host).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ...tensor import Tensor, cat, full, tensor
from ...errors import ShapeRuntimeError  # torch raises RuntimeError; ValueError kept as a base

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpad_sequence",
    "pack_sequence",
    "unpack_sequence",
]

_SORT_HINT = ("You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep "
              "this requirement if you do not need ONNX exportability.")


def _host_ints(x, fn: str, what: str) -> np.ndarray:
    """A list, numpy array or Tensor of integers as a 1-d int64 numpy array (device tensors are read back)."""
    a = x.numpy() if isinstance(x, Tensor) else np.asarray(x)
    if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
        raise ValueError(f"{fn}: {what} must be a 1-d sequence of integers, got shape {a.shape} dtype {a.dtype}")
    return a.astype(np.int64, copy=False)


def _long(a: np.ndarray) -> Tensor:
    return tensor(np.ascontiguousarray(a, dtype=np.int64))


def invert_permutation(permutation):
    """The inverse of a permutation (None stays None): out[permutation[i]] = i."""
    if permutation is None:
        return None
    p = _host_ints(permutation, "invert_permutation", "permutation")
    out = np.empty_like(p)
    out[p] = np.arange(p.size, dtype=np.int64)
    return _long(out)


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Holds the packed `data` and the `batch_sizes` of each step (a namedtuple, as in torch).

    Build one with `pack_padded_sequence` or `pack_sequence`. `sorted_indices[i]` is the original batch
    index of the i-th longest sequence (None when the input was already sorted); `unsorted_indices` is
    its inverse, computed when not given.
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:  # PackedSequence((data, batch_sizes)), as torch accepts
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise TypeError("PackedSequence: without batch_sizes, data must be a (data, batch_sizes) pair, "
                                f"got {type(data).__name__}")
            data, batch_sizes = data
        if not isinstance(data, Tensor):
            raise TypeError(f"PackedSequence: data must be a Tensor, got {type(data).__name__}")
        if not isinstance(batch_sizes, Tensor):
            batch_sizes = _long(_host_ints(batch_sizes, "PackedSequence", "batch_sizes"))
        elif batch_sizes.device != "cpu":
            raise ValueError(f"PackedSequence: batch_sizes must be a CPU tensor, got one on {batch_sizes.device}")
        if sorted_indices is not None and not isinstance(sorted_indices, Tensor):
            sorted_indices = _long(_host_ints(sorted_indices, "PackedSequence", "sorted_indices"))
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        elif not isinstance(unsorted_indices, Tensor):
            unsorted_indices = _long(_host_ints(unsorted_indices, "PackedSequence", "unsorted_indices"))
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """dtype and/or device conversion of `data` (self when nothing changes, as in torch)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self):
        return self.to("cpu")

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    @property
    def is_cuda(self) -> bool:
        return False


def _check_tensor(x, fn: str, what: str, min_dim: int):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: {what} must be a Tensor, got {type(x).__name__}")
    if x.ndim < min_dim:
        raise ValueError(f"{fn}: {what} must have at least {min_dim} dims, got shape {tuple(x.shape)}")


def _batch_sizes(lengths: np.ndarray) -> np.ndarray:
    """batch_sizes[t] = how many of the (sorted) sequences are longer than t."""
    return (lengths[None, :] > np.arange(int(lengths.max()))[:, None]).sum(1).astype(np.int64)


def pack_padded_sequence(input, lengths, batch_first: bool = False, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with batch_first) of sequences with the given lengths.

    With enforce_sorted the lengths must be decreasing; otherwise the batch is sorted (stably) by
    decreasing length and the order kept in `sorted_indices`.
    """
    fn = "pack_padded_sequence"
    _check_tensor(input, fn, "input", 2)
    lengths = _host_ints(lengths, fn, "lengths")
    t_dim, b_dim = (1, 0) if batch_first else (0, 1)
    steps, batch = input.shape[t_dim], input.shape[b_dim]
    if lengths.size != batch:
        raise ShapeRuntimeError(f"{fn}: expected {batch} lengths (the batch size of input {tuple(input.shape)}, "
                         f"batch_first={batch_first}), got {lengths.size}")
    if (lengths <= 0).any():
        raise ShapeRuntimeError(f"{fn}: every length must be > 0, got lengths {lengths.tolist()}")
    if lengths.max() > steps:
        raise ShapeRuntimeError(f"{fn}: a length of {int(lengths.max())} exceeds the {steps} steps of input "
                         f"{tuple(input.shape)} (batch_first={batch_first})")
    if enforce_sorted:
        if (np.diff(lengths) > 0).any():
            raise ShapeRuntimeError(f"{fn}: `lengths` must be sorted in decreasing order when `enforce_sorted` is True, "
                             f"got {lengths.tolist()}. {_SORT_HINT}")
        order, sorted_indices = np.arange(batch), None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = _long(order)
    batch_sizes = _batch_sizes(lengths[order])
    # Step t takes the batch_sizes[t] longest sequences: one gather of (time, batch) pairs.
    t_idx = np.repeat(np.arange(batch_sizes.size), batch_sizes)
    b_idx = np.concatenate([order[:n] for n in batch_sizes])
    data = input[(b_idx, t_idx) if batch_first else (t_idx, b_idx)]
    return PackedSequence(data, _long(batch_sizes), sorted_indices, None)


def _pad_row(like: Tensor, value) -> Tensor:
    """One row (1, *features) of `value`, like `like`'s rows, dtype and device."""
    return full((1, *like.shape[1:]), value, dtype=like.dtype, device=like.device)


def _gather_padded(rows: Tensor, index: np.ndarray, padding_value) -> Tensor:
    """rows[index] where index == len(rows) stands for a padding row."""
    n = rows.shape[0]
    if (index == n).any():
        rows = cat([rows, _pad_row(rows, padding_value)])
    return rows[index]


def pad_packed_sequence(sequence, batch_first: bool = False, padding_value: float = 0.0, total_length=None):
    """Inverse of pack_padded_sequence: (padded (T, B, *) or (B, T, *), lengths int64), in the batch's
    original order; total_length pads to that many steps."""
    fn = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{fn}: sequence must be a PackedSequence, got {type(sequence).__name__}")
    data = sequence.data
    _check_tensor(data, fn, "sequence.data", 1)
    bs = _host_ints(sequence.batch_sizes, fn, "batch_sizes")
    steps = bs.size
    if total_length is not None:
        if total_length < steps:
            raise ShapeRuntimeError(f"{fn}: Expected total_length to be at least the length of the longest sequence in "
                             f"input, but got total_length={total_length} and max sequence length being {steps}")
        steps = int(total_length)
    batch = int(bs[0]) if bs.size else 0
    if int(bs.sum()) != data.shape[0]:
        raise ShapeRuntimeError(f"{fn}: batch_sizes sum to {int(bs.sum())} but data has {data.shape[0]} rows")
    lengths = (bs[None, :] > np.arange(batch)[:, None]).sum(1).astype(np.int64)  # per sorted sequence
    offsets = np.concatenate([[0], np.cumsum(bs)[:-1]]).astype(np.int64)
    index = np.full((steps, batch), data.shape[0], dtype=np.int64)  # data.shape[0] = the padding row
    for t, n in enumerate(bs):
        index[t, :n] = offsets[t] + np.arange(n)
    if sequence.unsorted_indices is not None:
        order = _host_ints(sequence.unsorted_indices, fn, "unsorted_indices")
        index, lengths = index[:, order], lengths[order]
    if batch_first:
        index = np.ascontiguousarray(index.T)
    return _gather_padded(data, index, padding_value), _long(lengths)


def _check_sequences(sequences, fn: str):
    if isinstance(sequences, Tensor):
        sequences = [sequences[i] for i in range(sequences.shape[0])]
    try:
        sequences = list(sequences)
    except TypeError:
        raise TypeError(f"{fn}: expected an iterable of Tensors, got {type(sequences).__name__}") from None
    if not sequences:
        raise ValueError(f"{fn}: received an empty list of sequences")
    first = sequences[0]
    for i, s in enumerate(sequences):
        _check_tensor(s, fn, f"sequences[{i}]", 1)
        if tuple(s.shape[1:]) != tuple(first.shape[1:]) or s.dtype != first.dtype or s.device != first.device:
            raise ValueError(f"{fn}: sequences[{i}] has shape {tuple(s.shape)} {s.dtype} on {s.device}; every "
                             f"sequence must be (L, {', '.join(map(str, first.shape[1:]))}) {first.dtype} "
                             f"on {first.device} like sequences[0]")
    return sequences


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0, padding_side: str = "right"):
    """Stack sequences (L_i, *) into (T, B, *) (or (B, T, *)), padding each to the longest on `padding_side`."""
    fn = "pad_sequence"
    if padding_side not in ("right", "left"):
        raise ValueError(f"{fn}: padding_side must be 'right' or 'left', got {padding_side!r}")
    sequences = _check_sequences(sequences, fn)
    lengths = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    steps, total = int(lengths.max()), int(lengths.sum())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    index = np.full((len(sequences), steps), total, dtype=np.int64)  # total = the padding row
    for b, (start, n) in enumerate(zip(starts, lengths)):
        cols = slice(0, n) if padding_side == "right" else slice(steps - n, steps)
        index[b, cols] = start + np.arange(n)
    if not batch_first:
        index = np.ascontiguousarray(index.T)
    rows = cat([s for s in sequences if s.shape[0]]) if total else sequences[0]
    return _gather_padded(rows, index, padding_value)


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False):
    """Split a padded batch back into a list of its sequences (views of it, so gradients flow)."""
    fn = "unpad_sequence"
    _check_tensor(padded_sequences, fn, "padded_sequences", 2)
    lengths = _host_ints(lengths, fn, "lengths")
    b_dim, t_dim = (0, 1) if batch_first else (1, 0)
    if lengths.size != padded_sequences.shape[b_dim]:
        raise ValueError(f"{fn}: got {lengths.size} lengths for a batch of {padded_sequences.shape[b_dim]} "
                         f"(padded shape {tuple(padded_sequences.shape)}, batch_first={batch_first})")
    if lengths.size and (lengths.min() < 0 or lengths.max() > padded_sequences.shape[t_dim]):
        raise ValueError(f"{fn}: lengths {lengths.tolist()} must lie in [0, {padded_sequences.shape[t_dim]}]")
    if batch_first:
        return [padded_sequences[b, :n] for b, n in enumerate(lengths)]
    return [padded_sequences[:n, b] for b, n in enumerate(lengths)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, *): pad_sequence then pack_padded_sequence, as torch."""
    sequences = _check_sequences(sequences, "pack_sequence")
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences) -> list:
    """The list of sequences a PackedSequence holds, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
