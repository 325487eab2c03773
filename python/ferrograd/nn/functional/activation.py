"""Activations and (log-)softmax."""

from __future__ import annotations

from ...tensor import Tensor

__all__ = ["relu", "log_softmax", "softmax"]


def relu(input: Tensor) -> Tensor:
    return input.relu()


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    shift = input.detach().max(dim, keepdim=True).values  # constant shift: exact in value and gradient
    z = input - shift
    return z - z.exp().sum(dim, keepdim=True).log()


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    return log_softmax(input, dim).exp()
