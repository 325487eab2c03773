"""pooling functions of nn.functional: max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool2d.

torch semantics (floor mode, stride defaults to kernel_size, padding at most half the kernel,
max pooling pads with -inf, average pooling counts padding by default). 1-d pooling is 2-d
pooling of (N, C, 1, L) views.
"""

from __future__ import annotations

import numbers

from ... import dtypes
from ...ops import pool as pool_ops
from ...tensor import Tensor

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool2d"]


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _tuple(value, n, fn, name, minimum):
    if _is_int(value):
        vals = (int(value),) * n
    elif isinstance(value, (tuple, list)) and len(value) == n and all(_is_int(v) for v in value):
        vals = tuple(int(v) for v in value)
    else:
        raise ValueError(f"{fn}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in vals):
        raise ValueError(f"{fn}: {name} must be {'positive' if minimum else 'non-negative'}, got {value!r}")
    return vals


def _input(fn, input, nd):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    if not dtypes.is_float(input.dtype):
        raise TypeError(f"{fn}: input must be float32 or float64, got {input.dtype}")
    if input.ndim == nd + 2:
        return input, False
    if input.ndim == nd + 1:
        return input.unsqueeze(0), True
    raise ValueError(f"{fn}: expected a {nd + 1}-d (unbatched) or {nd + 2}-d (batched) input, got shape {tuple(input.shape)}")


def _window_args(fn, nd, x, kernel_size, stride, padding):
    kernel = _tuple(kernel_size, nd, fn, "kernel_size", 1)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else _tuple(stride, nd, fn, "stride", 1)
    pad = _tuple(padding, nd, fn, "padding", 0)
    if any(p > k // 2 for p, k in zip(pad, kernel)):
        raise ValueError(f"{fn}: padding {pad} should be at most half of kernel size {kernel}")
    spatial = tuple(x.shape[2:])
    if any(i + 2 * p < k for i, p, k in zip(spatial, pad, kernel)):
        raise ValueError(
            f"{fn}: kernel {kernel} is larger than the padded input: input {tuple(x.shape)}, padding {pad}"
        )
    return kernel, stride, pad


def _unsupported(fn, **flags):
    for name, (value, default) in flags.items():
        if value != default:
            raise NotImplementedError(f"{fn}: {name}={value!r} is not supported (only {default!r})")


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False) -> Tensor:
    fn = "max_pool2d"
    x, unbatched = _input(fn, input, 2)
    _unsupported(fn, dilation=(_tuple(dilation, 2, fn, "dilation", 1), (1, 1)), ceil_mode=(ceil_mode, False),
                 return_indices=(return_indices, False))
    k, s, p = _window_args(fn, 2, x, kernel_size, stride, padding)
    y = pool_ops.MaxPool2d.apply(x, k, s, p)
    return y.squeeze(0) if unbatched else y


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False) -> Tensor:
    fn = "max_pool1d"
    x, unbatched = _input(fn, input, 1)
    _unsupported(fn, dilation=(_tuple(dilation, 1, fn, "dilation", 1), (1,)), ceil_mode=(ceil_mode, False),
                 return_indices=(return_indices, False))
    (k,), (s,), (p,) = _window_args(fn, 1, x, kernel_size, stride, padding)
    y = pool_ops.MaxPool2d.apply(x.unsqueeze(2), (1, k), (1, s), (0, p)).squeeze(2)
    return y.squeeze(0) if unbatched else y


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None) -> Tensor:
    fn = "avg_pool2d"
    x, unbatched = _input(fn, input, 2)
    _unsupported(fn, ceil_mode=(ceil_mode, False), divisor_override=(divisor_override, None))
    k, s, p = _window_args(fn, 2, x, kernel_size, stride, padding)
    y = pool_ops.AvgPool2d.apply(x, k, s, p, bool(count_include_pad))
    return y.squeeze(0) if unbatched else y


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True) -> Tensor:
    fn = "avg_pool1d"
    x, unbatched = _input(fn, input, 1)
    _unsupported(fn, ceil_mode=(ceil_mode, False))
    (k,), (s,), (p,) = _window_args(fn, 1, x, kernel_size, stride, padding)
    y = pool_ops.AvgPool2d.apply(x.unsqueeze(2), (1, k), (1, s), (0, p), bool(count_include_pad)).squeeze(2)
    return y.squeeze(0) if unbatched else y


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    fn = "adaptive_avg_pool2d"
    x, unbatched = _input(fn, input, 2)
    if _is_int(output_size) or output_size is None:
        output_size = (output_size, output_size)
    if not (isinstance(output_size, (tuple, list)) and len(output_size) == 2):
        raise ValueError(f"{fn}: output_size must be an int or a tuple of 2 ints (or None), got {output_size!r}")
    out = tuple(int(x.shape[2 + i]) if o is None else o for i, o in enumerate(output_size))
    if not all(_is_int(o) and o > 0 for o in out):
        raise ValueError(f"{fn}: output_size must be positive, got {output_size!r}")
    if any(n == 0 for n in x.shape[2:]):
        raise ValueError(f"{fn}: input {tuple(input.shape)} has an empty spatial dim")
    y = pool_ops.AdaptiveAvgPool2d.apply(x, tuple(int(o) for o in out))
    return y.squeeze(0) if unbatched else y
