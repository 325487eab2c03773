"""Normalisation functions: layer_norm (Rust kernel), batch_norm, group_norm, normalize."""

from __future__ import annotations

import numbers

import numpy as np

from ... import dtypes
from ...ops.norm import BatchNorm, LayerNorm, PNorm
from ...tensor import Tensor

__all__ = ["layer_norm", "batch_norm", "group_norm", "normalize"]


def _float(x, fn: str, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor, got {type(x).__name__}")
    if not dtypes.is_float(x.dtype):
        raise TypeError(f"{fn}: {name} must be float32 or float64, got dtype {x.dtype}")
    return x


def _param(p, fn: str, name: str, shape: tuple, dtype) -> Tensor | None:
    if p is None:
        return None
    p = _float(p, fn, name)
    if tuple(p.shape) != tuple(shape):
        raise ValueError(f"{fn}: {name} has shape {tuple(p.shape)}, expected {tuple(shape)}")
    if p.dtype != dtype:
        raise TypeError(f"{fn}: {name} has dtype {p.dtype} but input has dtype {dtype}")
    return p


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing `normalized_shape` dims (biased variance), then scale/shift."""
    input = _float(input, "layer_norm")
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(int(n) for n in normalized_shape)
    k = len(normalized_shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise ValueError(
            f"layer_norm: normalized_shape {normalized_shape} does not match the trailing dims of input "
            f"shape {tuple(input.shape)}"
        )
    cols = int(np.prod(normalized_shape))
    if cols == 0:
        raise ValueError(f"layer_norm: normalized_shape {normalized_shape} has no elements")
    weight = _param(weight, "layer_norm", "weight", normalized_shape, input.dtype)
    bias = _param(bias, "layer_norm", "bias", normalized_shape, input.dtype)
    return LayerNorm.apply(input, weight, bias, cols, float(eps))


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch norm of (N, C) or (N, C, *) input per channel. In training: batch statistics, and
    running_mean/running_var (if given) are updated in place with `momentum` and the unbiased
    variance, as in torch. Otherwise: the running statistics."""
    fn = "batch_norm"
    input = _float(input, fn)
    if input.ndim < 2:
        raise ValueError(f"{fn}: input must be (N, C) or (N, C, *), got shape {tuple(input.shape)}")
    c = input.shape[1]
    weight = _param(weight, fn, "weight", (c,), input.dtype)
    bias = _param(bias, fn, "bias", (c,), input.dtype)
    for name, r in (("running_mean", running_mean), ("running_var", running_var)):
        if r is not None:
            _float(r, fn, name)
            if tuple(r.shape) != (c,):
                raise ValueError(f"{fn}: {name} has shape {tuple(r.shape)}, expected ({c},) for input {tuple(input.shape)}")
    count = input._data.size // max(c, 1)
    if training:
        if count <= 1:
            raise ValueError(
                f"{fn}: expected more than 1 value per channel when training, got input size {tuple(input.shape)}"
            )
        return BatchNorm.apply(input, weight, bias, running_mean, running_var, True, float(eps), float(momentum))
    if running_mean is None or running_var is None:
        raise ValueError(f"{fn}: running_mean and running_var are required when training=False")
    # BatchNorm casts them to the input's dtype, contiguous, as its kernels take them.
    return BatchNorm.apply(input, weight, bias, running_mean, running_var, False, float(eps), None)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise each of `num_groups` channel groups of (N, C, *) input per sample (the Rust
    layer-norm kernel over (N, G, C/G * spatial)), then a per-channel scale and shift."""
    fn = "group_norm"
    input = _float(input, fn)
    if input.ndim < 2:
        raise ValueError(f"{fn}: input must be (N, C, *), got shape {tuple(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise ValueError(f"{fn}: num_groups {num_groups} must divide the {c} channels of input {tuple(input.shape)}")
    weight = _param(weight, fn, "weight", (c,), input.dtype)
    bias = _param(bias, fn, "bias", (c,), input.dtype)
    cols = input._data.size // max(n * num_groups, 1)
    if cols == 0:
        return input * 1
    y = LayerNorm.apply(input.reshape(n, num_groups, cols), None, None, cols, float(eps)).reshape(input.shape)
    bshape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """input / max(||input||_p along dim, eps)."""
    fn = "normalize"
    input = _float(input, fn)
    if out is not None:
        raise ValueError(f"{fn}: out= is not supported")
    n = max(input.ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{fn}: dim {dim} is out of range for input of shape {tuple(input.shape)}")
    if input.ndim == 0:
        input_ = input.reshape(1)
        return normalize(input_, p, 0, eps).reshape(())
    norm = PNorm.apply(input, float(p), dim % n, True)
    return input / norm.clamp(min=eps)
