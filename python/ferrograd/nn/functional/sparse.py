"""Sparse-input functions: embedding (Rust gather / scatter-add) and one_hot."""

from __future__ import annotations

import numpy as np

from ... import dtypes
from ...autograd import no_grad
from ...ops._util import is_device, zeros
from ...ops.embedding import Embedding
from ...tensor import Tensor

__all__ = ["embedding", "one_hot"]


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of `weight` (num_embeddings, dim) picked by the int ids `input` (any shape).
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
    # Device ids are not range-checked here: that would read them back every step.
    if ids.size and not is_device(ids) and (ids.min() < 0 or ids.max() >= num):
        bad = ids.reshape(-1)[np.argmax((ids.reshape(-1) < 0) | (ids.reshape(-1) >= num))]
        raise ValueError(
            f"{fn}: index {int(bad)} is out of range for weight of shape {tuple(weight.shape)} (input shape {tuple(input.shape)})"
        )
    if max_norm is not None:
        with no_grad():
            rows = np.unique(ids)
            w = weight._data
            norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
            scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
            w[rows] *= scale[:, None]
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
    if t.size and not is_device(t) and t.min() < 0:
        raise ValueError(f"{fn}: class values must be non-negative, got {int(t.min())}")
    if t.size and not is_device(t) and t.max() >= num_classes:
        raise ValueError(f"{fn}: class values must be smaller than num_classes {num_classes}, got {int(t.max())}")
    out = zeros(t.shape + (num_classes,), np.int64, like=t)
    np.put_along_axis(out, t[..., None], 1, axis=-1)
    return Tensor._wrap(out)
