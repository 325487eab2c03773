"""Registry entries for the nn functions PyTorch also offers as tensor methods and `torch.*`
functions (softmax, log_softmax): they call nn.functional, where the fused kernels are."""

from __future__ import annotations

from .registry import register


@register("softmax")
def softmax(input, dim=None, dtype=None):
    """exp(x) / sum(exp(x)) along `dim` (torch.softmax / Tensor.softmax)."""
    from ..nn import functional as F

    return F.softmax(input, dim, dtype=dtype)


@register("log_softmax")
def log_softmax(input, dim=None, dtype=None):
    from ..nn import functional as F

    return F.log_softmax(input, dim, dtype=dtype)
