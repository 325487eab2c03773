"""Sparse-input functions: embedding (Rust gather / scatter-add), embedding_bag and one_hot."""

from __future__ import annotations

import warnings

import numpy as np

from ... import dtypes
from ...autograd import no_grad
from ...ops._util import is_device, zeros
from ...ops.embedding import Embedding
from ...ops._range import OutOfRangeError, first_out_of_range
from ...errors import ShapeRuntimeError
from ...tensor import Tensor, where

__all__ = ["embedding", "embedding_bag", "one_hot"]


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of `weight` (num_embeddings, dim) picked by the int ids `input` (any shape; a 0-d id gives (dim,)).
    An id outside [0, num_embeddings) raises IndexError on every device (on wgpu after one small
    readback of a device-side any(), the price of not reading zeros).
    The gradient scatter-adds into `weight` (repeated ids accumulate; the padding_idx row gets
    none). max_norm renormalises the looked-up rows in place, as torch. `sparse` is accepted
    but the gradient is always dense."""
    fn = "embedding"
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{fn}: input and weight must be Tensors")
    if input.dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"{fn}: input must hold int32/int64 ids, got dtype {input.dtype}")
    if not dtypes.is_float(weight.dtype):
        raise TypeError(f"{fn}: weight must be float32 or float64, got dtype {weight.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"{fn}: weight must be 2-d (num_embeddings, embedding_dim), got shape {tuple(weight.shape)}")
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"{fn}: padding_idx {padding_idx} must be within num_embeddings {num}")
        padding_idx = padding_idx % num
    ids = input._data
    if type(ids) is not type(weight._data):
        raise ValueError(f"{fn}: input is on {input.device}, weight on {weight.device}")
    # On wgpu this range check reads back one bool (a device-side any()) per call: the kernels
    # would otherwise read zeros for an out-of-range id.
    bad = first_out_of_range(ids, 0, num)
    if bad is not None:
        raise OutOfRangeError(
            f"{fn}: index {bad} is out of range for weight of shape {tuple(weight.shape)} (input shape {tuple(input.shape)})"
        )
    if max_norm is not None:
        with no_grad():
            rows = np.unique(ids)
            w = weight._data
            norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
            scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
            w[rows] *= scale[:, None]
    if input.ndim == 0:  # a 0-d id picks one row: (dim,), as torch
        return Embedding.apply(weight, ids.reshape(1), padding_idx, bool(scale_grad_by_freq)).reshape(weight.shape[1])
    return Embedding.apply(weight, ids, padding_idx, bool(scale_grad_by_freq))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 (..., num_classes) with a 1 at each index; num_classes=-1 means max + 1."""
    fn = "one_hot"
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}: tensor must be a Tensor, got {type(tensor).__name__}")
    if tensor.dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"{fn}: one_hot is only applicable to index tensors, got dtype {tensor.dtype}")
    t = tensor._data.astype(np.int64)
    if num_classes == -1:
        if t.size == 0:
            raise ValueError(f"{fn}: can not infer total number of classes from empty tensor")
        num_classes = int(t.max().item()) + 1  # on the device: an explicit readback
    bad = first_out_of_range(t, 0, num_classes)  # on wgpu: one small readback
    if bad is not None and bad < 0:
        raise ValueError(f"{fn}: class values must be non-negative, got {bad}")
    if bad is not None:
        raise ValueError(f"{fn}: class values must be smaller than num_classes {num_classes}, got {bad}")
    out = zeros(t.shape + (num_classes,), np.int64, like=t)
    np.put_along_axis(out, t[..., None], 1, axis=-1)
    return Tensor._wrap(out)


def _bag_positions(fn, offsets: Tensor, n_ids: int, include_last_offset: bool):
    """Host (B, Lmax) positions into the flat ids and their validity, from 1-d offsets."""
    if not isinstance(offsets, Tensor):
        raise TypeError(f"{fn}: offsets must be a Tensor, got {type(offsets).__name__}")
    if offsets.ndim != 1:
        raise ValueError(f"{fn}: offsets has to be a 1D Tensor, got shape {tuple(offsets.shape)}")
    if offsets.dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"{fn}: offsets must hold int32/int64 positions, got dtype {offsets.dtype}")
    offs = offsets.numpy().astype(np.int64)  # a small readback on the device: the bag layout is host logic
    if offs.size and offs[0] != 0:
        raise ShapeRuntimeError(f"{fn}: offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
                         f"from position 0. However, got {int(offs[0])}")
    if offs.size and offs[-1] > n_ids:
        raise ShapeRuntimeError(f"{fn}: offsets[-1] can not be greater than input's length ({n_ids}), "
                         f"but got offsets[-1] of {int(offs[-1])}")
    if (np.diff(offs) < 0).any():
        raise ShapeRuntimeError(f"{fn}: offsets must be non-decreasing, got {offs.tolist()}")
    if include_last_offset:
        if offs.size == 0:
            raise ValueError(f"{fn}: include_last_offset=True needs at least one offset")
        # torch (CPU) ends the last bag at the input's end, not at offsets[-1] (which the docs
        # expect to equal the input's length, CSR style): so do we.
        starts = offs[:-1]
        ends = np.append(offs[1:-1], n_ids)[: starts.size]
    else:
        starts, ends = offs, np.append(offs[1:], n_ids)
    lengths = ends - starts
    width = int(lengths.max()) if lengths.size else 0
    j = np.arange(width)
    valid = j[None, :] < lengths[:, None]
    pos = np.where(valid, starts[:, None] + j[None, :], 0)
    return pos, valid


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embedding rows, without materialising the looked-up
    rows per bag. Bags are the rows of a 2-d input (B, L), or runs of a 1-d input split at
    `offsets` (B,) (B + 1 with include_last_offset). Entries equal to padding_idx are left out
    (and not counted by the mean); an empty bag gives zeros. per_sample_weights (input's shape)
    scale the rows, mode='sum' only. Composed of embedding, gather and reductions, so the
    gradient reaches weight and per_sample_weights."""
    fn = "embedding_bag"
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{fn}: input and weight must be Tensors")
    if weight.dtype in (dtypes.int32, dtypes.int64) and dtypes.is_float(input.dtype):
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage `embedding_bag(weight, "
                      "input, ...)` is deprecated, and should now be `embedding_bag(input, weight, ...)`.", stacklevel=2)
        weight, input = input, weight
    if input.dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"{fn}: input must hold int32/int64 ids, got dtype {input.dtype}")
    if not dtypes.is_float(weight.dtype):
        raise TypeError(f"{fn}: weight must be float32 or float64, got dtype {weight.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"{fn}: weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    if per_sample_weights is not None:
        if not isinstance(per_sample_weights, Tensor):
            raise TypeError(f"{fn}: per_sample_weights must be a Tensor, got {type(per_sample_weights).__name__}")
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(f"{fn}: If per_sample_weights ({tuple(per_sample_weights.shape)}) is not None, then it "
                             f"must have the same shape as the input ({tuple(input.shape)})")
        if per_sample_weights.dtype != weight.dtype:
            raise TypeError(f"{fn}: per_sample_weights has dtype {per_sample_weights.dtype} but weight has dtype "
                            f"{weight.dtype}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{fn}: mode has to be one of sum, mean or max, got {mode!r}")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError(f"{fn}: max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError(f"{fn}: max mode does not support sparse weights")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"{fn}: per_sample_weights was not None. per_sample_weights is only supported "
                                  f"for mode='sum' (got mode='{mode}')")
    num, dim = weight.shape
    if padding_idx is not None:
        if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)) \
                or not -num <= padding_idx < num:
            raise ShapeRuntimeError(f"{fn}: padding_idx must be within the number of embeddings, -{num} through "
                                    f"{num - 1}, but got {padding_idx}")
        padding_idx = int(padding_idx) % num
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{fn}: if input is 2D, then offsets has to be None, as input is treated is a "
                             f"mini-batch of fixed length sequences. However, found offsets of type "
                             f"{type(offsets).__name__}")
        ids, psw, valid, pos_t = input, per_sample_weights, None, None
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError(f"{fn}: offsets has to be a 1D Tensor but got None")
        pos, valid = _bag_positions(fn, offsets, input.shape[0], include_last_offset)
        pos_t = Tensor(pos).to(device=input.device)
        ids = input[pos_t]  # (B, Lmax); invalid slots hold id input[0], masked below
        psw = per_sample_weights[pos_t] if per_sample_weights is not None else None
        if valid.all():
            valid = None
    else:
        raise ValueError(f"{fn}: input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    bags, width = ids.shape
    if bags == 0 or width == 0:
        return Tensor._wrap(zeros((bags, dim), weight._data.dtype, like=weight._data))
    # A 1-d input is looked up once, flat, then gathered into bags: scale_grad_by_freq then
    # counts each id as often as the input holds it.
    flat = input if pos_t is not None else ids
    try:  # embedding range-checks the ids (on wgpu: one small readback); the error names this op
        rows = embedding(flat, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)
    except OutOfRangeError as e:
        raise OutOfRangeError(f"{fn}: {str(e).split(': ', 1)[1]}") from None
    if pos_t is not None:
        rows = rows[pos_t]  # (B, L, D)
    keep = None if valid is None else Tensor(valid).to(device=weight.device)
    if padding_idx is not None:
        not_pad = ids != padding_idx
        keep = not_pad if keep is None else keep & not_pad
    if mode == "max":
        if keep is None:
            return rows.max(dim=1).values
        picked = where(keep.unsqueeze(-1), rows, float("-inf")).max(dim=1).values
        return where(keep.any(dim=1, keepdim=True), picked, 0.0)
    w = None if keep is None else keep.to(weight.dtype)
    if psw is not None:
        w = psw if w is None else w * psw
    total = (rows if w is None else rows * w.unsqueeze(-1)).sum(dim=1)
    if mode == "sum":
        return total
    if keep is None:
        return total / width
    count = keep.to(weight.dtype).sum(dim=1, keepdim=True)
    return total / count.clamp(min=1.0)
