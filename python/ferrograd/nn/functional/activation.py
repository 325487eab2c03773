"""Activations, (log-)softmax and dropout, with torch.nn.functional's names and semantics."""

from __future__ import annotations

import warnings

import numpy as np

from ... import dtypes
from ...ops import activation as act_ops
from ...ops import unary
from ...ops.softmax import Softmax
from ...tensor import Tensor

__all__ = ["relu", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "softmax", "log_softmax", "dropout"]


def _tensor(x, fn: str, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def _float(x, fn: str, name: str = "input") -> Tensor:
    x = _tensor(x, fn, name)
    if not dtypes.is_float(x.dtype):
        raise TypeError(f"{fn}: {name} must be float32 or float64, got dtype {x.dtype}")
    return x


def _inplace(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    """torch's `inplace=True`: write the result into `input` when no graph needs it."""
    if inplace and not input.requires_grad and not out.requires_grad:
        input.data[...] = out.data
        return input
    return out


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    input = _tensor(input, "relu")
    return _inplace(input, unary.Relu.apply(input), inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    input = _float(input, "leaky_relu")
    return _inplace(input, act_ops.LeakyRelu.apply(input, float(negative_slope)), inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    input = _float(input, "gelu")
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return act_ops.Gelu.apply(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    input = _float(input, "silu")
    return _inplace(input, act_ops.Silu.apply(input), inplace)


def sigmoid(input: Tensor) -> Tensor:
    return _tensor(input, "sigmoid").sigmoid()


def tanh(input: Tensor) -> Tensor:
    return _tensor(input, "tanh").tanh()


def _softmax_dim(ndim: int, fn: str) -> int:
    warnings.warn(
        f"{fn}: implicit dimension choice is deprecated; pass dim explicitly", UserWarning, stacklevel=3
    )
    return 0 if ndim in (0, 1, 3) else 1


def _softmax(input, dim, dtype, log, fn):
    input = _tensor(input, fn)
    if dtype is not None:
        input = input.to(dtypes.check_dtype(dtype, fn))
    if not dtypes.is_float(input.dtype):
        raise TypeError(f"{fn}: input must be float32 or float64, got dtype {input.dtype} (pass dtype=)")
    if dim is None:
        dim = _softmax_dim(input.ndim, fn)
    n = max(input.ndim, 1)
    if not isinstance(dim, (int, np.integer)) or not -n <= dim < n:
        raise IndexError(f"{fn}: dim {dim} is out of range for input of shape {tuple(input.shape)}")
    return Softmax.apply(input, int(dim) % n if input.ndim else 0, log)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim` (Rust kernel; any dim, any strides)."""
    return _softmax(input, dim, dtype, False, "softmax")


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x - logsumexp(x) along `dim` (Rust kernel; any dim, any strides)."""
    return _softmax(input, dim, dtype, True, "log_softmax")


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability `p` and scale the rest by 1/(1-p); seeded by
    `ferrograd.random.generator()` (so `fg.manual_seed` makes it repeatable)."""
    from ...random import generator

    input = _float(input, "dropout")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if input.device != "cpu":
        # Drawn on the device (Philox, seeded from the host generator): no upload per step.
        # The same seed gives a different mask than on the CPU.
        from ...wgpu.kernels import dropout_mask

        mask = dropout_mask(input.shape, p, seed=int(generator().integers(2**63)))
    elif p == 1.0:
        mask = np.zeros(input.shape, input.dtype)
    else:
        mask = (generator().random(input.shape) >= p).astype(input.dtype) / input.dtype.type(1.0 - p)
    return _inplace(input, input * Tensor._wrap(mask), inplace)
