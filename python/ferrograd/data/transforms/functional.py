"""Stateless image ops on (..., C, H, W) numpy arrays: crop, bilinear resize, flip, normalize.

The transform classes draw their random parameters and call these. Inputs may be ferrograd
Tensors or numpy arrays; each op returns the same kind it was given. Transforms act on data,
not on the autograd graph: a Tensor's values are used and the result does not require grad.
"""

from __future__ import annotations

import numbers

import numpy as np

from ... import dtypes
from ...tensor import Tensor


def unwrap(img, op: str, *, need_float: bool = False):
    """(array, was_tensor) for an image, checking it has (C, H, W) layout (leading dims allowed)."""
    was_tensor = isinstance(img, Tensor)
    if was_tensor:
        arr = img._data
    elif isinstance(img, np.ndarray):
        arr = img
    else:
        raise TypeError(f"{op}: expects a Tensor or numpy array image of shape (C, H, W), got {type(img).__name__}")
    if arr.ndim < 3:
        raise ValueError(f"{op}: expects an image of shape (C, H, W) (leading batch dims allowed), got shape {arr.shape}")
    if need_float and arr.dtype.kind != "f":
        raise TypeError(f"{op}: expects a float image, got dtype {arr.dtype} (use ToTensor for uint8 images)")
    return arr, was_tensor


def wrap(arr: np.ndarray, was_tensor: bool):
    if not was_tensor:
        return arr
    dt = dtypes.infer_dtype(arr, "transform")
    return Tensor._wrap(np.ascontiguousarray(arr, dtype=dt))


def pair(size, op: str, name: str = "size"):
    """(h, w) for `size` given as an int or a pair of ints."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (int(size), int(size))
    else:
        try:
            size = tuple(int(s) for s in size)
        except TypeError:
            raise TypeError(f"{op}: {name} must be an int or a pair (h, w), got {size!r}") from None
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"{op}: {name} must be a positive int or a pair (h, w) of positive ints, got {size!r}")
    return size


def _linear_taps(in_size: int, out_size: int):
    """Source indices and weights of 1-D linear interpolation, align_corners=False (torch's)."""
    src = (np.arange(out_size, dtype=np.float64) + 0.5) * (in_size / out_size) - 0.5
    src = np.maximum(src, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    w1 = src - i0
    return i0, i1, 1.0 - w1, w1


def resize(img, size):
    """Bilinear resize of the last two dims to `size` = (h, w) (or an int for a square).

    Same sampling as torch.nn.functional.interpolate(mode='bilinear', align_corners=False),
    without antialiasing.
    """
    arr, was_tensor = unwrap(img, "resize", need_float=True)
    oh, ow = pair(size, "resize")
    h, w = arr.shape[-2:]
    if h < 1 or w < 1:
        raise ValueError(f"resize: cannot resize an empty image of shape {arr.shape}")
    if (oh, ow) == (h, w):
        return wrap(arr.copy(), was_tensor)
    dt = arr.dtype
    r0, r1, a0, a1 = _linear_taps(h, oh)
    c0, c1, b0, b1 = _linear_taps(w, ow)
    rows = arr[..., r0, :] * a0.astype(dt)[:, None] + arr[..., r1, :] * a1.astype(dt)[:, None]  # (..., oh, w)
    out = rows[..., c0] * b0.astype(dt) + rows[..., c1] * b1.astype(dt)  # (..., oh, ow)
    return wrap(out.astype(dt, copy=False), was_tensor)


def crop(img, top: int, left: int, height: int, width: int):
    arr, was_tensor = unwrap(img, "crop")
    h, w = arr.shape[-2:]
    if not (0 <= top and 0 <= left and height >= 1 and width >= 1 and top + height <= h and left + width <= w):
        raise ValueError(f"crop: box top={top} left={left} height={height} width={width} "
                         f"does not fit an image of size {(h, w)}")
    return wrap(arr[..., top:top + height, left:left + width].copy(), was_tensor)


def resized_crop(img, top: int, left: int, height: int, width: int, size):
    arr, was_tensor = unwrap(img, "resized_crop", need_float=True)
    return wrap(resize(crop(arr, top, left, height, width), size), was_tensor)


def hflip(img):
    arr, was_tensor = unwrap(img, "hflip")
    return wrap(arr[..., ::-1].copy(), was_tensor)


def normalize(img, mean, std):
    """(img - mean[c]) / std[c] per channel (dim -3)."""
    arr, was_tensor = unwrap(img, "normalize", need_float=True)
    c = arr.shape[-3]
    mean = np.asarray(mean, dtype=arr.dtype).reshape(-1)
    std = np.asarray(std, dtype=arr.dtype).reshape(-1)
    for name, v in (("mean", mean), ("std", std)):
        if v.size not in (1, c):
            raise ValueError(f"normalize: {name} has {v.size} values but the image has {c} channels (shape {arr.shape})")
    if np.any(std == 0):
        raise ValueError(f"normalize: std must not contain zeros, got {std.tolist()}")
    out = (arr - mean[:, None, None]) / std[:, None, None]
    return wrap(out.astype(arr.dtype, copy=False), was_tensor)
