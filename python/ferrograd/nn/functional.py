"""`ferrograd.nn.functional`: torch.nn.functional's names and semantics, composed from Tensor ops.

The fused Rust kernels of the CPU-kernel suite replace these compositions; the compositions
stay as the reference their gradients are checked against.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def relu(x: Tensor) -> Tensor:
    return x.relu()


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    if x.shape[-1:] != weight.shape[1:]:
        raise ValueError(f"linear: input shape {x.shape} does not end in in_features of weight {weight.shape}")
    y = x @ weight.mT  # weight (out, in) read transposed by the GEMM, no copy
    return y if bias is None else y + bias


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    shift = x.detach().max(dim, keepdim=True).values  # constant shift: exact in value and gradient
    z = x - shift
    return z - z.exp().sum(dim, keepdim=True).log()


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    return log_softmax(x, dim).exp()


def cross_entropy(logits: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Cross-entropy of (N, C) logits against (N,) class indices."""
    if logits.ndim != 2 or target.ndim != 1 or target.shape[0] != logits.shape[0]:
        raise ValueError(f"cross_entropy: expects logits (N, C) and target (N,), got {logits.shape} and {target.shape}")
    t = np.asarray(target.data if isinstance(target, Tensor) else target)
    if t.size and (t.min() < 0 or t.max() >= logits.shape[1]):
        raise ValueError(f"cross_entropy: target holds classes outside [0, {logits.shape[1]})")
    picked = log_softmax(logits, 1)[np.arange(t.shape[0]), t]
    if reduction == "mean":
        return -picked.mean()
    if reduction == "sum":
        return -picked.sum()
    if reduction == "none":
        return -picked
    raise ValueError(f"cross_entropy: unknown reduction {reduction!r}")
