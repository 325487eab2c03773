"""Image transforms for contrastive learning, torchvision-style, on (C, H, W) float images.

Each transform is a callable on a ferrograd Tensor or a numpy array of shape (C, H, W) (leading
batch dims are allowed and get the same random parameters) and returns the same kind.
Random transforms draw from `generator`: None (default) means ferrograd's library generator,
so `fg.manual_seed(s)` makes a pipeline repeat; an int seed or a numpy Generator gives the
transform a stream of its own.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ...tensor import Tensor
from .. import _rng
from . import functional as F


class Compose:
    """Apply `transforms` one after another."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {type(t).__name__}")

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        body = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{body}\n])"


class MultiView:
    """`n_views` independent draws of `transform` on the same image (SimCLR's two views)."""

    def __init__(self, transform, n_views: int = 2):
        if not callable(transform):
            raise TypeError(f"MultiView: transform must be callable, got {type(transform).__name__}")
        if isinstance(n_views, bool) or not isinstance(n_views, numbers.Integral) or n_views < 1:
            raise ValueError(f"MultiView: n_views must be a positive int, got {n_views!r}")
        self.transform = transform
        self.n_views = int(n_views)

    def __call__(self, img):
        return [self.transform(img) for _ in range(self.n_views)]

    def __repr__(self):
        return f"MultiView({self.transform!r}, n_views={self.n_views})"


def _range(value, op, name):
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be a pair (min, max), got {value!r}") from None
    if not lo <= hi:
        raise ValueError(f"{op}: {name} must be (min, max) with min <= max, got {value!r}")
    return lo, hi


class RandomResizedCrop:
    """Crop a random area and aspect ratio of the image, then resize it to `size` (bilinear).

    As torchvision's: the area is a `scale` fraction of the image's, the aspect ratio (w / h)
    log-uniform in `ratio`; ten tries, then a central crop with the ratio clamped into range.
    Resizing is bilinear with align_corners=False and no antialiasing (numpy).
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), generator=None):
        self.size = F.pair(size, "RandomResizedCrop")
        self.scale = _range(scale, "RandomResizedCrop", "scale")
        self.ratio = _range(ratio, "RandomResizedCrop", "ratio")
        if self.scale[0] <= 0 or self.scale[1] > 1:
            raise ValueError(f"RandomResizedCrop: scale must lie in (0, 1], got {scale!r}")
        if self.ratio[0] <= 0:
            raise ValueError(f"RandomResizedCrop: ratio must be positive, got {ratio!r}")
        self._rng = _rng.Source(generator, "RandomResizedCrop")

    def get_params(self, height: int, width: int, rng: np.random.Generator):
        """(top, left, h, w) of the crop box for an image of `height` x `width`."""
        area = height * width
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(10):
            target_area = area * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(log_lo, log_hi))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                top = int(rng.integers(0, height - h + 1))
                left = int(rng.integers(0, width - w + 1))
                return top, left, h, w
        in_ratio = width / height
        if in_ratio < self.ratio[0]:
            w, h = width, int(round(width / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            h, w = height, int(round(height * self.ratio[1]))
        else:
            w, h = width, height
        h, w = max(1, min(h, height)), max(1, min(w, width))
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img):
        arr, was_tensor = F.unwrap(img, "RandomResizedCrop", need_float=True)
        top, left, h, w = self.get_params(arr.shape[-2], arr.shape[-1], self._rng.get())
        return F.wrap(F.resized_crop(arr, top, left, h, w, self.size), was_tensor)

    def __repr__(self):
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


class RandomHorizontalFlip:
    """Mirror the image left-right (last dim) with probability `p`."""

    def __init__(self, p: float = 0.5, generator=None):
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must lie in [0, 1], got {p!r}")
        self.p = float(p)
        self._rng = _rng.Source(generator, "RandomHorizontalFlip")

    def __call__(self, img):
        arr, was_tensor = F.unwrap(img, "RandomHorizontalFlip")
        if self._rng.get().random() < self.p:
            return F.hflip(img)
        return F.wrap(arr.copy(), was_tensor)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class GaussianNoise:
    """Add i.i.d. normal noise N(mean, std^2) to every pixel; `clip=True` clamps to [0, 1]."""

    def __init__(self, std: float = 0.1, mean: float = 0.0, clip: bool = False, generator=None):
        if not float(std) >= 0:
            raise ValueError(f"GaussianNoise: std must be >= 0, got {std!r}")
        self.std, self.mean, self.clip = float(std), float(mean), bool(clip)
        self._rng = _rng.Source(generator, "GaussianNoise")

    def __call__(self, img):
        arr, was_tensor = F.unwrap(img, "GaussianNoise", need_float=True)
        noise = self._rng.get().normal(self.mean, self.std, size=arr.shape)
        out = arr + noise.astype(arr.dtype)
        if self.clip:
            out = np.clip(out, 0.0, 1.0)
        return F.wrap(out, was_tensor)

    def __repr__(self):
        return f"GaussianNoise(std={self.std}, mean={self.mean}, clip={self.clip})"


class Normalize:
    """(img - mean[c]) / std[c] for every channel c."""

    def __init__(self, mean, std):
        self.mean = [float(m) for m in np.atleast_1d(mean)]
        self.std = [float(s) for s in np.atleast_1d(std)]
        if len(self.mean) != len(self.std):
            raise ValueError(f"Normalize: mean and std need one value per channel each, got {self.mean} and {self.std}")
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std must not contain zeros, got {self.std}")

    def __call__(self, img):
        return F.normalize(img, self.mean, self.std)

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


class ToTensor:
    """An (H, W, C) or (H, W) image array -> a (C, H, W) float32 Tensor.

    uint8 pixels are divided by 255 (into [0, 1]); float arrays are taken as already in [0, 1]
    and only cast, as torchvision's ToTensor does; bool arrays become 0.0/1.0. Anything with
    `__array__` (a PIL image, say) is read through numpy first.
    """

    def __call__(self, pic):
        if isinstance(pic, Tensor):
            raise TypeError("ToTensor: expects an (H, W, C) image array, got a Tensor already")
        arr = np.asarray(pic)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3:
            raise ValueError(f"ToTensor: expects an image of shape (H, W, C) or (H, W), got shape {arr.shape}")
        if arr.dtype == np.uint8:
            out = arr.astype(np.float32) / np.float32(255)
        elif arr.dtype.kind in "fb":
            out = arr.astype(np.float32)
        else:
            raise TypeError(f"ToTensor: expects uint8, float or bool pixels, got dtype {arr.dtype}")
        return Tensor._wrap(np.ascontiguousarray(out.transpose(2, 0, 1)))

    def __repr__(self):
        return "ToTensor()"
