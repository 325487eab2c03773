"""gumbel_softmax: differentiable samples from a categorical distribution (torch's formula:
softmax((logits + Gumbel noise) / tau), straight-through one-hot when hard)."""

from __future__ import annotations

import numbers
import warnings

from ... import dtypes
from ...tensor import Tensor
from .activation import softmax

__all__ = ["gumbel_softmax"]


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """Noise -log(Exp(1)) is drawn from `ferrograd.random` (fg.manual_seed repeats it). hard=True
    returns the one-hot of the soft sample's argmax in the forward pass and the soft sample's
    gradient in the backward pass (y_hard - y_soft.detach() + y_soft)."""
    fn = "gumbel_softmax"
    if not isinstance(logits, Tensor):
        raise TypeError(f"{fn}: logits must be a Tensor, got {type(logits).__name__}")
    if not dtypes.is_float(logits.dtype):
        raise TypeError(f"{fn}: logits must be float32 or float64, got dtype {logits.dtype}")
    if isinstance(tau, bool) or not isinstance(tau, numbers.Real):
        raise TypeError(f"{fn}: tau must be a number, got {type(tau).__name__}")
    n = max(logits.ndim, 1)
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or not -n <= dim < n:
        raise IndexError(f"{fn}: dim {dim!r} is out of range for logits of shape {tuple(logits.shape)}")
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    from ... import empty_like, zeros_like  # the public creation functions (fg.*)

    gumbels = -empty_like(logits).exponential_().log()  # ~Gumbel(0, 1)
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = zeros_like(logits).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
