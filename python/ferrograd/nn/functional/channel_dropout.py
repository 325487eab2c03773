"""Channel-wise and alpha dropouts with torch.nn.functional's names, defaults and semantics:
dropout1d/2d/3d, feature_alpha_dropout (one draw per (sample, channel)), alpha_dropout (one
per element). Masks are drawn from `ferrograd.random.generator()` (so `fg.manual_seed` makes
them repeatable; on wgpu full-size masks are drawn on the device) and applied with Tensor ops,
so the gradient is the mask's."""

from __future__ import annotations

import math
import warnings

from ... import dtypes
from ...errors import ShapeRuntimeError
from ...tensor import Tensor
from .activation import _inplace

__all__ = ["dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]

# -(SELU's scale * alpha): the value a dropped unit takes before the affine correction.
_ALPHA = 1.7580993408473766


def _check(input, p, fn):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    if not dtypes.is_float(input.dtype):
        raise TypeError(f"{fn}: input must be float32 or float64, got dtype {input.dtype}")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{fn}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(shape, p: float, like: Tensor) -> Tensor:
    """1 where kept (probability 1 - p), else 0, in like's dtype and on its device."""
    from ...random import generator

    rng = generator()
    if like.device != "cpu":  # drawn on the device: no upload per step
        from ...wgpu.kernels import dropout_mask

        scaled = Tensor._wrap(dropout_mask(shape, p, seed=int(rng.integers(2**63))))
        return (scaled > 0).to(like.dtype)
    return Tensor._wrap((rng.random(shape) >= p).astype(like.dtype))


def _feature_shape(x: Tensor, fn: str):
    if x.ndim < 2:
        raise ShapeRuntimeError(f"{fn}: Feature dropout requires at least 2 dimensions in the input, "
                                f"got shape {tuple(x.shape)}")
    return (x.shape[0], x.shape[1]) + (1,) * (x.ndim - 2)


def _apply(x: Tensor, keep: Tensor, p: float, alpha: bool) -> Tensor:
    """torch's _dropout_impl given the keep mask: x * keep / (1 - p), or for alpha dropout
    a * (x * keep + alpha' * (keep - 1) + alpha' * p) with a = 1/sqrt((alpha'² p + 1)(1 - p))."""
    if not alpha:
        return x * (keep * (1.0 / (1.0 - p)))
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    b = (keep - 1.0) * (_ALPHA * a) + _ALPHA * a * p
    return x * (keep * a) + b


def _dropout_impl(input: Tensor, p: float, training: bool, inplace: bool, feature: bool, alpha: bool,
                  fn: str, unbatched: bool = False) -> Tensor:
    if not training or p == 0.0 or input.numel() == 0:
        return input

    def compute():
        x = input.unsqueeze(0) if unbatched else input
        if p == 1.0:
            y = x * 0.0
        else:
            shape = _feature_shape(x, fn) if feature else tuple(x.shape)
            y = _apply(x, _keep_mask(shape, p, x), p, alpha)
        return y.squeeze(0) if unbatched else y

    return _inplace(input, compute, inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input with probability p; scale the rest by 1/(1-p)."""
    fn = "dropout1d"
    _check(input, p, fn)
    if input.ndim not in (2, 3):
        raise ShapeRuntimeError(
            f"{fn}: Expected 2D or 3D input, but received a {input.ndim}D input. Note that dropout1d exists to "
            "provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and an "
            "optional batch dimension (i.e. 2D or 3D inputs)."
        )
    return _dropout_impl(input, p, training, inplace, True, False, fn, unbatched=input.ndim == 2)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) input. A 3-D input is taken as (N, C, L), as torch does."""
    fn = "dropout2d"
    _check(input, p, fn)
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will result in an "
            "error in a future release. To retain the behavior and silence this warning, please use dropout "
            "instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 spatial "
            "dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2)
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is "
            "desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior will "
            "change in a future release to interpret the input as one without a batch dimension, i.e. shape "
            "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d "
            "instead.", stacklevel=2)
    return _dropout_impl(input, p, training, inplace, True, False, fn)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input."""
    fn = "dropout3d"
    _check(input, p, fn)
    if input.ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and will result in an "
            "error in a future release. To retain the behavior and silence this warning, please use dropout "
            "instead. Note that dropout3d exists to provide channel-wise dropout on inputs with 3 spatial "
            "dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).",
            stacklevel=2)
    return _dropout_impl(input, p, training, inplace, True, False, fn, unbatched=input.ndim != 5)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped units take SELU's negative saturation, and an affine
    correction keeps zero mean and unit variance. Note torch's default training=False."""
    fn = "alpha_dropout"
    _check(input, p, fn)
    return _dropout_impl(input, p, training, inplace, False, True, fn)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """alpha_dropout with one draw per (sample, channel) of (N, C, *) input."""
    fn = "feature_alpha_dropout"
    _check(input, p, fn)
    return _dropout_impl(input, p, training, inplace, True, True, fn)
