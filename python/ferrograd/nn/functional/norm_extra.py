"""instance_norm and rms_norm, composed of differentiable Tensor ops (every device, and
gradients of gradients), with torch.nn.functional's arguments and semantics."""

from __future__ import annotations

import numbers

import numpy as np

from ... import dtypes
from ...autograd import no_grad
from ...errors import ShapeRuntimeError
from ...tensor import Tensor

__all__ = ["instance_norm", "rms_norm"]


def _float(x, fn: str, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor, got {type(x).__name__}")
    if not dtypes.is_float(x.dtype):
        raise TypeError(f"{fn}: {name} must be float32 or float64, got dtype {x.dtype}")
    return x


def _vector(p, fn: str, name: str, c: int, input: Tensor):
    if p is None:
        return None
    _float(p, fn, name)
    if tuple(p.shape) != (c,):
        raise ShapeRuntimeError(f"{fn}: {name} has shape {tuple(p.shape)}, expected ({c},) for input "
                                f"{tuple(input.shape)}")
    return p


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each (sample, channel) of (N, C, *) input over its spatial dims (biased
    variance), then a per-channel scale and shift. With use_input_stats and running stats
    given, these move towards the batch mean of the per-instance mean and unbiased variance
    (in place, as torch); without use_input_stats the running stats normalise instead."""
    fn = "instance_norm"
    input = _float(input, fn)
    if input.ndim < 3:
        raise ValueError(f"{fn}: expected an input of shape (N, C, *) with at least one spatial dim, "
                         f"got shape {tuple(input.shape)}")
    c = input.shape[1]
    weight = _vector(weight, fn, "weight", c, input)
    bias = _vector(bias, fn, "bias", c, input)
    running_mean = _vector(running_mean, fn, "running_mean", c, input)
    running_var = _vector(running_var, fn, "running_var", c, input)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:
            raise TypeError(f"{fn}: {name} has dtype {t.dtype} but input has dtype {input.dtype}")
    spatial = tuple(range(2, input.ndim))
    bshape = (1, c) + (1,) * (input.ndim - 2)
    if use_input_stats:
        count = 1
        for s in input.shape[2:]:
            count *= s
        if count <= 1:
            raise ValueError(f"{fn}: expected more than 1 spatial element when training, got input size "
                             f"{tuple(input.shape)}")
        mean = input.mean(dim=spatial, keepdim=True)
        centered = input - mean
        var = (centered * centered).mean(dim=spatial, keepdim=True)
        y = centered * (var + eps).rsqrt()
        if running_mean is not None or running_var is not None:
            with no_grad():
                if running_mean is not None:
                    m = mean.detach().reshape(input.shape[0], c).mean(dim=0).to(running_mean.dtype)
                    running_mean.copy_(running_mean * (1 - momentum) + m * momentum)
                if running_var is not None:
                    v = var.detach().reshape(input.shape[0], c).mean(dim=0) * (count / (count - 1))
                    running_var.copy_(running_var * (1 - momentum) + v.to(running_var.dtype) * momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{fn}: Expected running_mean and running_var to be defined when use_input_stats is false")
        mean = running_mean.to(input.dtype).reshape(bshape)
        var = running_var.to(input.dtype).reshape(bshape)
        y = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """input / sqrt(mean(input², over the trailing normalized_shape dims) + eps) * weight;
    eps=None means the dtype's machine epsilon, as torch."""
    fn = "rms_norm"
    input = _float(input, fn)
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    try:
        normalized_shape = tuple(int(n) for n in normalized_shape)
    except TypeError:
        raise TypeError(f"{fn}: normalized_shape must be an int or a sequence of ints, got {normalized_shape!r}") from None
    k = len(normalized_shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise ShapeRuntimeError(
            f"{fn}: normalized_shape {list(normalized_shape)} does not match the trailing dims of input of shape "
            f"{tuple(input.shape)}"
        )
    if weight is not None:
        _float(weight, fn, "weight")
        if tuple(weight.shape) != normalized_shape:
            raise ShapeRuntimeError(f"{fn}: weight has shape {tuple(weight.shape)}, expected {normalized_shape}")
        if weight.dtype != input.dtype:
            raise TypeError(f"{fn}: weight has dtype {weight.dtype} but input has dtype {input.dtype}")
    if eps is None:
        eps = float(np.finfo(input.dtype).eps)
    dims = tuple(range(input.ndim - k, input.ndim))
    y = input * ((input * input).mean(dim=dims, keepdim=True) + eps).rsqrt()
    return y * weight if weight is not None else y
