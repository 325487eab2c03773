"""Resampling functions of nn.functional: pad, interpolate (+ the deprecated upsample*),
pixel_shuffle / pixel_unshuffle, channel_shuffle, unfold / fold.

All are compositions of registered Tensor ops (index_select, index_add, cat, reshape, permute,
elementwise math; see _windows.py), so they are differentiable, can be differentiated again, and
run on every device. Position and weight tables follow torch's CPU kernels (UpSample.h,
UpSampleKernel.cpp, PadNd.cpp, Im2Col.cpp), computed in the input's float precision so that
float32 rounding picks the same source pixels as torch does.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ... import dtypes
from ...errors import DtypeRuntimeError, ShapeRuntimeError
from ...tensor import Tensor, cat, full, zeros
from ._windows import adaptive_positions, along, const

__all__ = [
    "pad", "interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle", "unfold", "fold",
]


def _is_int(v):
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_tensor(fn, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")


# ---- pad ----------------------------------------------------------------------------------------
_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_arg(pad):
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad: argument 'pad' must be a tuple of ints, got {type(pad).__name__}")
    for i, v in enumerate(pad):
        if not _is_int(v):
            raise TypeError(f"pad: argument 'pad' must be a tuple of ints, but found element of type "
                            f"{type(v).__name__} at pos {i}")
    return tuple(int(v) for v in pad)


def _fill_value(value, dtype):
    """torch casts the fill to the input's dtype (2.5 pads an int64 tensor with 2)."""
    if np.dtype(dtype) == np.bool_:
        return bool(value)
    if np.dtype(dtype).kind in "iu":
        return int(value)
    return float(value)


def _constant_pad(input, pad, value):
    x = input
    fill = _fill_value(value, x.dtype)
    for i in range(len(pad) // 2):
        dim = x.ndim - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        n = x.shape[dim]
        keep = n - max(-left, 0) - max(-right, 0)
        if keep < 0:
            raise ShapeRuntimeError(
                f"pad: the input size {n} plus negative padding ({left}, {right}) of dimension {dim} resulted in "
                f"a negative output size")
        if keep != n:
            x = x.narrow(dim, max(-left, 0), keep)
        parts = []
        for p in (left, None, right):
            if p is None:
                parts.append(x)
            elif p > 0:
                shape = tuple(x.shape[:dim]) + (p,) + tuple(x.shape[dim + 1:])
                parts.append(full(shape, fill, dtype=x.dtype, device=x.device))
        if len(parts) > 1:
            x = cat(parts, dim)
    return x.clone() if x is input else x


def _pad_positions(mode, n, left, right, dim, shape):
    """Source positions along one dim for reflect / replicate / circular padding (negative pads
    crop). Reflect and replicate index the uncropped input (torch's kernels); circular wraps the
    cropped one (torch's _pad_circular copies from the cropped interior)."""
    size = n + left + right
    if mode == "reflect":
        if left >= n or right >= n:
            raise ShapeRuntimeError(
                f"pad: padding size should be less than the corresponding input dimension, but got padding "
                f"({left}, {right}) at dimension {dim} of input {list(shape)} (mode 'reflect')")
    if mode in ("reflect", "replicate") and size < 1:
        raise ShapeRuntimeError(f"pad: input (size {n} at dimension {dim}) is too small for padding ({left}, {right}): "
                                f"calculated output size {size} (mode {mode!r})")
    if mode == "circular":
        if left > n or right > n:
            raise ShapeRuntimeError(f"pad: padding ({left}, {right}) at dimension {dim} of input {list(shape)} "
                                    "causes wrapping around more than once (mode 'circular')")
        if size < 0:
            raise ShapeRuntimeError(f"pad: negative padding ({left}, {right}) at dimension {dim} of input "
                                    f"{list(shape)} results in a negative size (mode 'circular')")
    j = np.arange(size)
    if mode == "reflect":
        p = np.abs(j - left)
        return (n - 1) - np.abs((n - 1) - p)
    if mode == "replicate":
        return np.clip(j - left, 0, n - 1)
    start = max(-left, 0)
    kept = n - start - max(-right, 0)
    if size and (max(left, 0) > kept or max(right, 0) > kept):
        raise ShapeRuntimeError(f"pad: padding ({left}, {right}) at dimension {dim} of input {list(shape)} "
                                "causes wrapping around the cropped input more than once (mode 'circular')")
    return start + (j - max(left, 0)) % max(kept, 1)


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """torch.nn.functional.pad: `pad` lists (left, right) pairs from the last dim backwards;
    negative entries crop. 'constant' pads any number of dims; 'reflect', 'replicate' and
    'circular' pad the last 1, 2 or 3 dims of a (batched or unbatched) input, as torch does."""
    _check_tensor("pad", input)
    pad = _pad_arg(pad)
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r} (expected one of {', '.join(_PAD_MODES)})")
    if len(pad) % 2:
        raise ShapeRuntimeError(f"pad: padding length must be divisible by 2, got {len(pad)} ({pad})")
    if len(pad) > 2 * input.ndim:
        raise ShapeRuntimeError(
            f"pad: padding length should be less than or equal to two times the input dimension but got padding "
            f"length {len(pad)} and input of dimension {input.ndim}")
    if mode == "constant":
        return _constant_pad(input, pad, 0 if value is None else value)
    if value is not None and value != 0:
        raise ShapeRuntimeError(f"pad: padding mode {mode!r} doesn't take in value argument, got value={value!r}")
    n = len(pad) // 2
    if not (1 <= n <= 3 and input.ndim in (n + 1, n + 2)):
        raise NotImplementedError(
            f"pad: padding size {len(pad)} is not supported for {input.ndim}D input tensor with mode {mode!r}. "
            "Supported combinations for non-constant padding: 2D or 3D input: padding size 2 (pads the last dim); "
            "3D or 4D input: padding size 4 (last 2 dims); 4D or 5D input: padding size 6 (last 3 dims)")
    shape = tuple(input.shape)
    if mode in ("reflect", "replicate") and any(s == 0 for s in shape[1:]):
        raise ShapeRuntimeError(
            f"pad: expected a {n + 1}D or {n + 2}D (batch mode) tensor with possibly 0 batch size and other "
            f"non-zero dimensions for input, but got: {list(shape)} (mode {mode!r})")
    x = input
    for i in range(n):
        dim = input.ndim - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        if left == 0 and right == 0:
            continue
        pos = _pad_positions(mode, shape[dim], left, right, dim, shape)
        x = along(x, dim, pos[:, None])
    return x.clone() if x is input else x  # a new tensor, as torch returns, even for zero pads


# ---- interpolate --------------------------------------------------------------------------------
_INTERP_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_LINEAR_DIMS = {"linear": 3, "bilinear": 4, "trilinear": 5}


def _scale(ft, n_in, n_out, align_corners, scale):
    """area_pixel_compute_scale in precision ft (UpSample.h)."""
    if align_corners:
        return ft(n_in - 1) / ft(n_out - 1) if n_out > 1 else ft(0)
    if scale is not None and scale > 0:
        return ft(1.0 / scale)
    return ft(n_in) / ft(n_out)


def _source(ft, scale, n_out, align_corners, cubic):
    """area_pixel_compute_source_index for every output index, in precision ft."""
    i = np.arange(n_out).astype(ft)
    if align_corners:
        return scale * i
    src = scale * (i + ft(0.5)) - ft(0.5)
    return src if cubic else np.maximum(src, ft(0))


def _guard(ft, real, n_in):
    """guard_index_and_lambda: floor index (at most n_in - 1) and the fraction past it."""
    idx = np.minimum(np.floor(real).astype(np.int64), n_in - 1)
    lam = np.clip(real - idx.astype(ft), ft(0), ft(1)).astype(ft)
    return idx, lam


def _cubic_coeffs(ft, t, a=-0.75):
    a = ft(a)

    def conv1(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def conv2(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    one = ft(1)
    return np.stack([conv2(t + one), conv1(t), conv1(one - t), conv2((one - t) + one)], axis=1).astype(ft)


def _aa_taps(ft, n_in, n_out, scale, interp_size, filt):
    """Antialiased taps (HelperInterpBase::_compute_indices_min_size_weights_aa): a filter widened
    by the downscale factor, normalised per output; PIL's resampling."""
    support = (interp_size * 0.5) * scale if scale >= 1.0 else interp_size * 0.5
    k = int(math.ceil(support)) * 2 + 1
    invscale = 1.0 / scale if scale >= 1.0 else 1.0
    idx = np.zeros((n_out, k), np.int64)
    w = np.zeros((n_out, k), np.float64)
    for i in range(n_out):
        center = float(scale) * (i + 0.5)
        xmin = max(int(center - support + 0.5), 0)
        xsize = min(max(min(int(center + support + 0.5), n_in) - xmin, 0), k)
        ws = np.array([filt((j + xmin - center + 0.5) * invscale) for j in range(xsize)])
        total = ws.sum()
        if total != 0:
            ws = ws / total
        w[i, :xsize] = ws
        idx[i, :xsize] = xmin + np.arange(xsize)
        idx[i, xsize:] = xmin  # zero weight: any valid position
    return idx, w.astype(ft)


def _bilinear_filter(x):
    x = abs(x)
    return 1.0 - x if x < 1.0 else 0.0


def _bicubic_filter(x, a=-0.5):
    x = abs(x)
    if x < 1.0:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2.0:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return 0.0


def _taps(mode, ft, n_in, n_out, align_corners, scale, antialias, image=False):
    """(positions (out, T), weights (out, T) or None) of one spatial dim, as torch's CPU kernel.
    image: a 4-D input, whose nearest kernel (nearest_idx) copies equal sizes, halves exact
    doublings and otherwise scales in float32 whatever the dtype."""
    if mode == "nearest" and image:
        if n_out in (n_in, 2 * n_in):
            return (np.arange(n_out) // (n_out // n_in))[:, None], None
        ft = np.float32
    if mode == "nearest":  # HelperInterpNearest: floor(scale * i), the legacy rule
        s = _scale(ft, n_in, n_out, False, scale)
        real = _source(ft, s, n_out, True, False)
        return np.minimum(np.floor(real).astype(np.int64), n_in - 1)[:, None], None
    if mode == "nearest-exact":  # HelperInterpNearestExact: round half up of the centre
        s = _scale(ft, n_in, n_out, False, scale)
        real = _source(ft, s, n_out, False, False)
        return np.minimum(np.floor(real + ft(0.5)).astype(np.int64), n_in - 1)[:, None], None
    if mode == "area":  # adaptive average pooling along this dim
        pos, counts = adaptive_positions(n_in, n_out)
        w = (np.arange(pos.shape[1])[None, :] < counts[:, None]) / counts[:, None]
        return pos, w.astype(ft)
    s = _scale(ft, n_in, n_out, align_corners, scale)
    if antialias:
        filt = _bilinear_filter if mode == "bilinear" else _bicubic_filter
        return _aa_taps(ft, n_in, n_out, float(s), 2 if mode == "bilinear" else 4, filt)
    if mode == "bicubic":
        real = _source(ft, s, n_out, align_corners, True)
        i0, t = _guard(ft, real, n_in)
        pos = np.clip(i0[:, None] + np.arange(-1, 3)[None, :], 0, n_in - 1)
        return pos, _cubic_coeffs(ft, t)
    # linear / bilinear / trilinear (compute_source_index_and_lambda)
    if n_in == n_out:
        return np.arange(n_out)[:, None], None
    real = _source(ft, s, n_out, align_corners, False)
    i0, lam1 = _guard(ft, real, n_in)
    i1 = i0 + (i0 < n_in - 1)
    return np.stack([i0, i1], 1), np.stack([ft(1) - lam1, lam1], 1).astype(ft)


def _interp_sizes(input, size, scale_factor, dim):
    """torch's size / scale_factor rules: exactly one given, one per spatial dim or broadcast."""
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    f"interpolate: input and output must have the same number of spatial dimensions, but got input "
                    f"with spatial dimensions of {list(input.shape[2:])} and output size of {size}. Please provide "
                    "input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
            if not all(_is_int(v) for v in size):
                raise TypeError(f"interpolate: size must be an int or a tuple of ints, got {size!r}")
            return [int(v) for v in size], None
        if not _is_int(size):
            raise TypeError(f"interpolate: size must be an int or a tuple of ints, got {size!r}")
        return [int(size)] * dim, None
    if scale_factor is None:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != dim:
            raise ValueError(
                f"interpolate: input and scale_factor must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {list(input.shape[2:])} and scale_factor of shape {scale_factor}. "
                "Please provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
        factors = list(scale_factor)
    else:
        factors = [scale_factor] * dim
    if not all(isinstance(f, (numbers.Real, np.floating)) and not isinstance(f, bool) for f in factors):
        raise TypeError(f"interpolate: scale_factor must be a float or a tuple of floats, got {scale_factor!r}")
    return None, [float(f) for f in factors]


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False) -> Tensor:
    """torch.nn.functional.interpolate for (N, C, L), (N, C, H, W) and (N, C, D, H, W) inputs."""
    fn = "interpolate"
    _check_tensor(fn, input)
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("interpolate: align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.ndim - 2
    out_size, factors = _interp_sizes(input, size, scale_factor, dim)
    if recompute_scale_factor and size is not None:
        raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size.")
    if out_size is None:
        out_size = [int(input.shape[2 + i] * factors[i]) for i in range(dim)]
        if mode == "area" or recompute_scale_factor:
            factors = None  # the kernel then uses in/out, the ratio of the integer sizes
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("interpolate: anti-alias option is restricted to bilinear and bicubic modes and requires "
                         "a 4-D tensor as input")
    if mode == "lanczos":
        raise NotImplementedError("interpolate: mode 'lanczos' is not supported")
    if mode not in _INTERP_MODES or input.ndim not in (3, 4, 5):
        raise NotImplementedError(
            f"interpolate: only 3D, 4D and 5D input tensors are supported (got {input.ndim}D) for the modes: "
            f"nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact (got {mode!r})")
    want = _LINEAR_DIMS.get(mode, 4 if mode == "bicubic" else input.ndim)
    if want != input.ndim:
        raise NotImplementedError(f"interpolate: got {input.ndim}D input, but {mode} mode needs {want}D input")
    if not dtypes.is_float(input.dtype):
        raise DtypeRuntimeError(f"interpolate: mode {mode!r} needs a float32 or float64 input, got {input.dtype}")
    spatial = tuple(input.shape[2:])
    if any(o <= 0 for o in out_size) or any(s <= 0 for s in spatial):
        names = "DHW"[-dim:] if dim > 1 else "W"
        ins = ", ".join(f"{n}: {s}" for n, s in zip(names, spatial))
        outs = ", ".join(f"{n}: {o}" for n, o in zip(names, out_size))
        raise ShapeRuntimeError(f"interpolate: input and output sizes should be greater than 0, but got input "
                                f"({ins}) and output ({outs})")
    if input.shape[1] == 0:
        raise ShapeRuntimeError(f"interpolate: non-empty {input.ndim}D data tensor expected but got a tensor with "
                                f"sizes {list(input.shape)}")
    if mode == "area" and dim == 2:
        from .pooling import adaptive_avg_pool2d

        return adaptive_avg_pool2d(input, tuple(out_size))
    ft = np.float64 if input.dtype == np.float64 else np.float32
    x = input
    for i in range(dim):
        scale = None if factors is None else factors[i]
        idx, w = _taps(mode, ft, spatial[i], out_size[i], align_corners, scale, antialias, dim == 2)
        x = along(x, 2 + i, idx, w)
    return x.clone() if x is input else x


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate (torch warns too)."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- pixel / channel shuffles -------------------------------------------------------------------
def _factor(fn, name, value):
    if not _is_int(value):
        raise TypeError(f"{fn}: {name} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ShapeRuntimeError(f"{fn}: expects a positive {name}, but got {value}")
    return int(value)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    fn = "pixel_shuffle"
    _check_tensor(fn, input)
    r = _factor(fn, "upscale_factor", upscale_factor)
    if input.ndim < 3:
        raise ShapeRuntimeError(f"{fn}: expects input to have at least 3 dimensions, but got input with "
                                f"{input.ndim} dimension(s)")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise ShapeRuntimeError(f"{fn}: expects its input's 'channel' dimension to be divisible by the square of "
                                f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    nb = len(batch)
    x = input.reshape(tuple(batch) + (c // (r * r), r, r, h, w))
    x = x.permute(tuple(range(nb)) + tuple(nb + i for i in (0, 3, 1, 4, 2)))  # (*, C, H, r, W, r)
    return x.reshape(tuple(batch) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)."""
    fn = "pixel_unshuffle"
    _check_tensor(fn, input)
    r = _factor(fn, "downscale_factor", downscale_factor)
    if input.ndim < 3:
        raise ShapeRuntimeError(f"{fn}: expects input to have at least 3 dimensions, but got input with "
                                f"{input.ndim} dimension(s)")
    *batch, c, h, w = input.shape
    if h % r:
        raise ShapeRuntimeError(f"{fn}: expects height to be divisible by downscale_factor, but input.size(-2)={h} "
                                f"is not divisible by {r}")
    if w % r:
        raise ShapeRuntimeError(f"{fn}: expects width to be divisible by downscale_factor, but input.size(-1)={w} "
                                f"is not divisible by {r}")
    nb = len(batch)
    x = input.reshape(tuple(batch) + (c, h // r, r, w // r, r))
    x = x.permute(tuple(range(nb)) + tuple(nb + i for i in (0, 2, 4, 1, 3)))  # (*, C, r, r, H, W)
    return x.reshape(tuple(batch) + (c * r * r, h // r, w // r))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, g*k, *) -> (N, k*g, *): channel c*k + j moves to j*g + c (ShuffleNet)."""
    fn = "channel_shuffle"
    _check_tensor(fn, input)
    if not _is_int(groups):
        raise TypeError(f"{fn}: groups must be an int, got {type(groups).__name__}")
    if groups <= 0:
        raise ShapeRuntimeError(f"{fn}: number of groups to divide channels in must be positive, got {groups}")
    if input.ndim <= 2:
        raise ShapeRuntimeError(f"{fn}: expects input with > 2 dims, but got input with sizes {list(input.shape)}")
    n, c, *rest = input.shape
    if c % groups:
        raise ShapeRuntimeError(f"{fn}: number of channels must be divisible by groups. Got {c} channels and "
                                f"{groups} groups.")
    x = input.reshape((n, int(groups), c // groups) + tuple(rest)).transpose(1, 2)
    return x.reshape(tuple(input.shape))


native_channel_shuffle = channel_shuffle


# ---- unfold / fold ------------------------------------------------------------------------------
def _pair(fn, name, value, minimum):
    if _is_int(value):
        vals = (int(value),) * 2
    elif isinstance(value, (tuple, list)) and all(_is_int(v) for v in value):
        if len(value) != 2:
            raise ShapeRuntimeError(f"{fn}: it is expected {name} equals to 2, but got size {len(value)}")
        vals = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{fn}: {name} must be an int or a tuple of 2 ints, got {value!r}")
    if any(v < minimum for v in vals):
        what = "greater than zero" if minimum else "non-negative"
        raise ShapeRuntimeError(f"{fn}: {name} should be {what}, but got {name}={vals}")
    return vals


def _block_args(fn, kernel_size, dilation, padding, stride):
    return (_pair(fn, "kernel_size", kernel_size, 1), _pair(fn, "dilation", dilation, 1),
            _pair(fn, "padding", padding, 0), _pair(fn, "stride", stride, 1))


def _blocks(fn, spatial, k, d, p, s):
    """Number of sliding blocks along each dim, and each block's padded positions (k, o)."""
    outs = tuple((n + 2 * pp - dd * (kk - 1) - 1) // ss + 1 for n, kk, dd, pp, ss in zip(spatial, k, d, p, s))
    if any(o < 1 for o in outs):
        raise ShapeRuntimeError(
            f"{fn}: given input with spatial size {tuple(spatial)}, kernel_size={k}, dilation={d}, padding={p}, "
            f"calculated shape of the array of sliding blocks as {outs}, but its components must be at least one.")
    pos = [(np.arange(kk) * dd)[:, None] + (np.arange(o) * ss)[None, :] for kk, dd, ss, o in zip(k, d, s, outs)]
    return outs, pos


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C*kh*kw, L), L the number of sliding blocks; channel index
    c*kh*kw + i*kw + j holds kernel offset (i, j)."""
    fn = "unfold"
    _check_tensor(fn, input)
    k, d, p, s = _block_args(fn, kernel_size, dilation, padding, stride)
    if input.ndim not in (3, 4) or any(v == 0 for v in input.shape[-3:]):
        raise ShapeRuntimeError(f"{fn}: expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other "
                                f"non-zero dimensions for input, but got: {list(input.shape)}")
    x = input if input.ndim == 4 else input.unsqueeze(0)
    n, c, h, w = x.shape
    outs, pos = _blocks(fn, (h, w), k, d, p, s)
    if any(p):
        x = pad(x, (p[1], p[1], p[0], p[0]))
    x = along(x, 2, pos[0].reshape(-1, 1))  # (N, C, kh*oh, Wp), kernel row major
    x = along(x, 3, pos[1].reshape(-1, 1))  # (N, C, kh*oh, kw*ow)
    x = x.reshape(n, c, k[0], outs[0], k[1], outs[1]).permute(0, 1, 2, 4, 3, 5)
    y = x.reshape(n, c * k[0] * k[1], outs[0] * outs[1])
    return y if input.ndim == 4 else y.squeeze(0)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """col2im, unfold's adjoint: (N, C*kh*kw, L) -> (N, C, H, W), overlapping blocks summed."""
    fn = "fold"
    _check_tensor(fn, input)
    size = _pair(fn, "output_size", output_size, 1)
    k, d, p, s = _block_args(fn, kernel_size, dilation, padding, stride)
    if input.ndim not in (2, 3) or any(v == 0 for v in input.shape[-2:]):
        raise ShapeRuntimeError(f"{fn}: expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size "
                                f"and non-zero dimensions for input, but got: {list(input.shape)}")
    x = input if input.ndim == 3 else input.unsqueeze(0)
    n, ck, length = x.shape
    if ck % (k[0] * k[1]):
        raise ShapeRuntimeError(f"{fn}: expected size of input's dimension 1 to be divisible by the product of "
                                f"kernel_size, but got input.size(1)={ck} and kernel_size={k}.")
    outs, pos = _blocks(fn, size, k, d, p, s)
    if outs[0] * outs[1] != length:
        raise ShapeRuntimeError(
            f"{fn}: given output_size={size}, kernel_size={k}, dilation={d}, padding={p}, stride={s}, expected size "
            f"of input's dimension 2 to match the calculated number of sliding blocks {outs[0]} * {outs[1]} = "
            f"{outs[0] * outs[1]}, but got input.size(2)={length}.")
    c = ck // (k[0] * k[1])
    hp, wp = size[0] + 2 * p[0], size[1] + 2 * p[1]
    x = x.reshape(n, c, k[0], k[1], outs[0], outs[1]).permute(0, 1, 2, 4, 3, 5)
    x = x.reshape(n, c, k[0] * outs[0], k[1] * outs[1])
    x = zeros((n, c, k[0] * outs[0], wp), dtype=x.dtype, device=x.device).index_add(
        3, const(x, pos[1].reshape(-1).astype(np.int64)), x)
    x = zeros((n, c, hp, wp), dtype=x.dtype, device=x.device).index_add(
        2, const(x, pos[0].reshape(-1).astype(np.int64)), x)
    if any(p):
        x = x[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
    return x if input.ndim == 3 else x.squeeze(0)
