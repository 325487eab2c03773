"""linear (and bilinear) layers as functions."""

from __future__ import annotations

from ...tensor import Tensor

__all__ = ["linear"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    if input.shape[-1:] != weight.shape[1:]:
        raise ValueError(f"linear: input shape {input.shape} does not end in in_features of weight {weight.shape}")
    y = input @ weight.mT  # weight (out, in) read transposed by the GEMM, no copy
    return y if bias is None else y + bias
