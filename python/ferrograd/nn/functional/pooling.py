"""pooling functions of nn.functional: max_pool1d/2d (+ _with_indices), avg_pool1d/2d,
adaptive_avg_pool1d/2d, adaptive_max_pool1d/2d, max_unpool1d/2d, lp_pool1d/2d,
local_response_norm.

torch semantics (stride defaults to kernel_size, padding at most half the kernel, max pooling
pads with -inf, average pooling counts padding by default, ceil_mode windows may run past the
right edge but never start in the right padding). 1-d pooling is 2-d pooling of (N, C, 1, L)
views. The plain calls run the fused kernels of `ferrograd.ops.pool`; the options those kernels
lack (return_indices, dilation, ceil_mode, divisor_override) and the adaptive max / 1-d pools
gather the windows with registered Tensor ops (_windows.windows), so they are differentiable and
run on every device.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ... import dtypes
from ...errors import DtypeRuntimeError, IndexRuntimeError, ShapeRuntimeError
from ...ops import pool as pool_ops
from ...tensor import Tensor, zeros
from ._windows import adaptive_positions, along, const, flat_positions, windows
from .resample import pad as _pad

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices", "avg_pool1d", "avg_pool2d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "max_unpool1d", "max_unpool2d",
    "lp_pool1d", "lp_pool2d", "local_response_norm",
]


def _is_int(v):
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))


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


def _out_size(n, k, s, p, d, ceil_mode):
    """pooling_output_shape (Pool.h): ceil mode rounds up, but the last window must start inside
    the input or its left padding."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _window_args(fn, nd, x, kernel_size, stride, padding, dilation=1, ceil_mode=False):
    """Validated (kernel, stride, pad, dilation, out) nd-tuples of a pooling call on batched x."""
    kernel = _tuple(kernel_size, nd, fn, "kernel_size", 1)
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    stride = kernel if no_stride else _tuple(stride, nd, fn, "stride", 1)
    pad = _tuple(padding, nd, fn, "padding", 0)
    dil = _tuple(dilation, nd, fn, "dilation", 1)
    effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dil))
    if any(p > e // 2 for p, e in zip(pad, effective)):
        what = "kernel size" if dil == (1,) * nd else f"effective kernel size {effective} (dilation {dil}) of kernel"
        raise ValueError(f"{fn}: padding {pad} should be at most half of {what} {kernel}")
    spatial = tuple(x.shape[2:])
    out = tuple(_out_size(n, k, s, p, d, bool(ceil_mode)) for n, k, s, p, d in zip(spatial, kernel, stride, pad, dil))
    if any(o < 1 for o in out):
        extra = f", dilation {dil}" if dil != (1,) * nd else ""
        raise ValueError(
            f"{fn}: kernel {kernel} is larger than the padded input: input {tuple(x.shape)}, padding {pad}{extra} "
            f"(calculated output size {out})")
    if any(n == 0 for n in x.shape[1:]):
        raise ValueError(f"{fn}: expected non-empty channel and spatial dims, got input {tuple(x.shape)}")
    return kernel, stride, pad, dil, out


def _fast_ok(spatial, kernel, stride, pad, dil, out):
    """Whether the fused floor-mode kernel computes this call (no dilation, floor-size output)."""
    return all(d == 1 for d in dil) and out == tuple(
        _out_size(n, k, s, p, 1, False) for n, k, s, p in zip(spatial, kernel, stride, pad))


def _sliding(x, kernel, stride, pad, dil, out, fill):
    """(N, C, *out, K) windows of x padded with `fill`, and their positions (unpadded coords)."""
    spatial = tuple(x.shape[2:])
    right = [max(0, (o - 1) * s + d * (k - 1) + 1 - n - p) for n, k, s, p, d, o in zip(spatial, kernel, stride, pad, dil, out)]
    widths = []
    for p, r in zip(reversed(pad), reversed(right)):
        widths += [p, r]
    if any(widths):
        x = _pad(x, tuple(widths), value=fill)
    positions = [(np.arange(o) * s)[:, None] + (np.arange(k) * d)[None, :] for k, s, d, o in zip(kernel, stride, dil, out)]
    return windows(x, positions), [p - pp for p, pp in zip(positions, pad)]


def _max_windows(x, kernel, stride, pad, dil, out):
    """Max pooling by gathering windows: values and torch's flat (per plane) argmax indices."""
    w, positions = _sliding(x, kernel, stride, pad, dil, out, -math.inf)
    values, arg = w.max(dim=-1)
    table = const(x, flat_positions(positions, tuple(x.shape[2:])))
    table = table.expand(tuple(x.shape[:2]) + tuple(table.shape))
    return values, table.gather(-1, arg.unsqueeze(-1)).squeeze(-1)


def _unbatch(unbatched, *ts):
    return tuple(t.squeeze(0) for t in ts) if unbatched else ts


def _max_pool(fn, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched = _input(fn, input, nd)
    k, s, p, d, out = _window_args(fn, nd, x, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices and _fast_ok(tuple(x.shape[2:]), k, s, p, d, out):
        if nd == 1:
            y = pool_ops.MaxPool2d.apply(x.unsqueeze(2), (1, k[0]), (1, s[0]), (0, p[0])).squeeze(2)
        else:
            y = pool_ops.MaxPool2d.apply(x, k, s, p)
        return _unbatch(unbatched, y)[0]
    y, idx = _unbatch(unbatched, *_max_windows(x, k, s, p, d, out))
    return (y, idx) if return_indices else y


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """max_pool2d returning (values, indices) whatever return_indices says (torch's form)."""
    return _max_pool("max_pool2d_with_indices", 2, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return _max_pool("max_pool1d_with_indices", 1, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_divisor(spatial, kernel, stride, pad, out, count_include_pad):
    """Each window's divisor (avg_pool2d's CPU kernel): the window clipped to the padded input
    when padding counts, else to the input; 1 where a window holds nothing (its sum is 0)."""
    div = np.ones(out, dtype=np.float64)
    for i, (n, k, s, p, o) in enumerate(zip(spatial, kernel, stride, pad, out)):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        size = end - start
        if not count_include_pad:
            size = np.minimum(end, n) - np.maximum(start, 0)
        shape = [1] * len(out)
        shape[i] = o
        div = div * size.reshape(shape)
    return np.where(div > 0, div, 1)


def _avg_pool(fn, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x, unbatched = _input(fn, input, nd)
    k, s, p, d, out = _window_args(fn, nd, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        if not _is_int(divisor_override):
            raise TypeError(f"{fn}: divisor_override must be an int, got {type(divisor_override).__name__}")
        if divisor_override == 0:
            raise ShapeRuntimeError(f"{fn}: divisor must be not zero")
    if divisor_override is None and _fast_ok(tuple(x.shape[2:]), k, s, p, d, out):
        if nd == 1:
            y = pool_ops.AvgPool2d.apply(x.unsqueeze(2), (1, k[0]), (1, s[0]), (0, p[0]), bool(count_include_pad)).squeeze(2)
        else:
            y = pool_ops.AvgPool2d.apply(x, k, s, p, bool(count_include_pad))
        return _unbatch(unbatched, y)[0]
    w, _ = _sliding(x, k, s, p, d, out, 0.0)
    if divisor_override is not None:
        y = w.sum(-1) / float(divisor_override)
    else:
        y = w.sum(-1) / const(x, _avg_divisor(tuple(x.shape[2:]), k, s, p, out, count_include_pad), dtype=x.dtype)
    return _unbatch(unbatched, y)[0]


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None) -> Tensor:
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True) -> Tensor:
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


# ---- adaptive pooling ---------------------------------------------------------------------------
def _adaptive_size(fn, x, output_size, nd, allow_zero):
    if _is_int(output_size) or output_size is None:
        output_size = (output_size,) * nd
    if not (isinstance(output_size, (tuple, list)) and len(output_size) == nd):
        what = "an int" if nd == 1 else f"an int or a tuple of {nd} ints (or None)"
        raise ValueError(f"{fn}: output_size must be {what}, got {output_size!r}")
    out = tuple(int(x.shape[2 + i]) if o is None else o for i, o in enumerate(output_size))
    if not all(_is_int(o) and (o >= 0 if allow_zero else o > 0) for o in out):
        raise ValueError(f"{fn}: output_size must be {'non-negative' if allow_zero else 'positive'}, got {output_size!r}")
    if any(n == 0 for n in x.shape[1:]):
        raise ValueError(f"{fn}: input {tuple(x.shape)} has an empty channel or spatial dim")
    return tuple(int(o) for o in out)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    fn = "adaptive_avg_pool2d"
    x, unbatched = _input(fn, input, 2)
    out = _adaptive_size(fn, x, output_size, 2, False)
    y = pool_ops.AdaptiveAvgPool2d.apply(x, out)
    return y.squeeze(0) if unbatched else y


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Averages over torch's adaptive windows [floor(i*L/o), ceil((i+1)*L/o))."""
    fn = "adaptive_avg_pool1d"
    x, unbatched = _input(fn, input, 1)
    (o,) = _adaptive_size(fn, x, output_size, 1, True)
    pos, counts = adaptive_positions(int(x.shape[2]), o)
    w = (np.arange(pos.shape[1])[None, :] < counts[:, None]) / np.maximum(counts, 1)[:, None]
    y = along(x, 2, pos, w) if o else x[:, :, :0]
    y = y.clone() if y is x else y  # o == L copies, torch returns a new tensor
    return y.squeeze(0) if unbatched else y


def _adaptive_max(fn, nd, input, output_size, return_indices):
    x, unbatched = _input(fn, input, nd)
    out = _adaptive_size(fn, x, output_size, nd, True)
    if any(o == 0 for o in out):
        y = x.reshape(tuple(x.shape[:2]) + (int(np.prod(x.shape[2:])),))[:, :, :0].reshape(tuple(x.shape[:2]) + out)
        idx = zeros(tuple(y.shape), dtype=dtypes.int64, device=x.device)
    else:
        positions = [adaptive_positions(int(n), o)[0] for n, o in zip(x.shape[2:], out)]
        y, arg = windows(x, positions).max(dim=-1)
        table = const(x, flat_positions(positions, tuple(x.shape[2:])))
        idx = table.expand(tuple(x.shape[:2]) + tuple(table.shape)).gather(-1, arg.unsqueeze(-1)).squeeze(-1)
    y, idx = _unbatch(unbatched, y, idx)
    return (y, idx) if return_indices else y


def adaptive_max_pool1d(input: Tensor, output_size, return_indices=False):
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices=False):
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices=False):
    return _adaptive_max("adaptive_max_pool1d_with_indices", 1, input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices=False):
    return _adaptive_max("adaptive_max_pool2d_with_indices", 2, input, output_size, True)


# ---- max_unpool ---------------------------------------------------------------------------------
def _unpool_output_size(fn, spatial, kernel, stride, pad, output_size):
    """torch's _unpool_output_size: the default size, or output_size (optionally with N, C) if it
    lies strictly within a stride of the default."""
    nd = len(kernel)
    default = [(n - 1) * s + k - 2 * p for n, k, s, p in zip(spatial, kernel, stride, pad)]
    if output_size is None:
        return tuple(default)
    size = list(output_size)
    if len(size) == nd + 2:
        size = size[2:]
    if len(size) != nd:
        raise ValueError(f"{fn}: output_size should be a sequence containing {nd} or {nd + 2} elements, but it has a "
                         f"length of '{len(size)}'")
    for i in range(nd):
        lo, hi = default[i] - stride[i], default[i] + stride[i]
        if not (_is_int(size[i]) and lo < size[i] < hi):
            raise ValueError(f'{fn}: invalid output_size "{tuple(output_size)}" (dim {i} must be between {lo} and {hi})')
    return tuple(int(v) for v in size)


def _max_unpool(fn, nd, input, indices, kernel_size, stride, padding, output_size):
    x, unbatched = _input(fn, input, nd)
    if not isinstance(indices, Tensor):
        raise TypeError(f"{fn}: indices must be a Tensor, got {type(indices).__name__}")
    if np.dtype(indices.dtype) != np.int64:
        raise DtypeRuntimeError(f"{fn}: elements in indices should be type int64 but got: {indices.dtype}")
    if tuple(indices.shape) != tuple(input.shape):
        raise ShapeRuntimeError(f"{fn}: expected shape of indices to be same as that of the input tensor "
                                f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}")
    if type(indices._data) is not type(x._data):
        raise ValueError(f"{fn}: indices are on {indices.device}, input on {input.device}; move them to one device")
    kernel = _tuple(kernel_size, nd, fn, "kernel_size", 1)
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    stride = kernel if no_stride else _tuple(stride, nd, fn, "stride", 1)
    pad = _tuple(padding, nd, fn, "padding", 0)
    out = _unpool_output_size(fn, tuple(x.shape[2:]), kernel, stride, pad, output_size)
    plane = int(np.prod(out))
    idx = indices.unsqueeze(0) if unbatched else indices
    if idx.numel() and plane >= 0:
        lo, hi = int(idx.min().item()), int(idx.max().item())
        if lo < 0 or hi >= plane:
            bad = hi if hi >= plane else lo
            raise IndexRuntimeError(f"{fn}: found an invalid max index: {bad} (output volumes are of size "
                                    f"{'x'.join(str(o) for o in out)})")
    n, c = x.shape[:2]
    flat = zeros((n, c, plane), dtype=x.dtype, device=x.device)
    m = int(np.prod(x.shape[2:]))
    y = flat.scatter(2, idx.reshape(n, c, m), x.reshape(n, c, m)).reshape((n, c) + out)
    return y.squeeze(0) if unbatched else y


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """max_pool2d's partial inverse: input values written at their indices, zeros elsewhere."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


# ---- power-average pooling and local response norm ----------------------------------------------
def _lp_pool(fn, nd, input, norm_type, kernel_size, stride, ceil_mode):
    if not isinstance(norm_type, (numbers.Real, np.floating)) or isinstance(norm_type, bool):
        raise TypeError(f"{fn}: norm_type must be a number, got {type(norm_type).__name__}")
    if norm_type == 0:
        raise ValueError(f"{fn}: norm_type must be a non-zero value, but got {norm_type}")
    pool_max, pool_avg = (max_pool1d, avg_pool1d) if nd == 1 else (max_pool2d, avg_pool2d)
    if isinstance(input, Tensor) and input.ndim >= nd + 1 and 0 in tuple(input.shape)[-nd - 1:]:
        # an empty channel or spatial dim, as torch (an empty batch passes); named here, not by avg_pool
        raise ValueError(f"{fn}: expected non-empty channel and spatial dims, got input {tuple(input.shape)}")
    if norm_type == math.inf:
        return pool_max(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -pool_max(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    kernel = _tuple(kernel_size, nd, fn, "kernel_size", 1)
    out = pool_avg(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    # torch: (sign(out) * relu(|out|)) * prod(kernel), then the 1/p power
    return (out.sign() * out.abs().relu() * float(np.prod(kernel))).pow(1.0 / norm_type)


def lp_pool2d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode=False) -> Tensor:
    """Power-average pooling: (sum over the window of x^p)^(1/p)."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool1d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode=False) -> Tensor:
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """x / (k + alpha * mean of x^2 over `size` neighbouring channels)^beta (AlexNet); the window
    is zero padded by size//2 before and (size-1)//2 after, and always divides by size."""
    fn = "local_response_norm"
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 3:
        raise ValueError(f"{fn}: expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if not _is_int(size) or size < 1:
        raise ValueError(f"{fn}: size must be a positive int, got {size!r}")
    if input.numel() == 0:
        return input
    c = input.shape[1]
    sq = _pad(input * input, (0, 0) * (input.ndim - 2) + (size // 2, (size - 1) // 2))
    acc = sq.narrow(1, 0, c)
    for j in range(1, size):
        acc = acc + sq.narrow(1, j, c)
    div = ((acc / size) * alpha + k).pow(beta)
    return input / div
