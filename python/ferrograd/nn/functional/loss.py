"""Loss functions."""

from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from .activation import log_softmax

__all__ = ["cross_entropy"]


def cross_entropy(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Cross-entropy of (N, C) logits against (N,) class indices."""
    if input.ndim != 2 or target.ndim != 1 or target.shape[0] != input.shape[0]:
        raise ValueError(f"cross_entropy: expects input (N, C) and target (N,), got {input.shape} and {target.shape}")
    t = np.asarray(target.data if isinstance(target, Tensor) else target)
    if t.size and (t.min() < 0 or t.max() >= input.shape[1]):
        raise ValueError(f"cross_entropy: target holds classes outside [0, {input.shape[1]})")
    picked = log_softmax(input, 1)[np.arange(t.shape[0]), t]
    if reduction == "mean":
        return -picked.mean()
    if reduction == "sum":
        return -picked.sum()
    if reduction == "none":
        return -picked
    raise ValueError(f"cross_entropy: unknown reduction {reduction!r}")
