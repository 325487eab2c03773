"""Synthetic captioned images of coloured shapes, drawn with numpy, for CLIP-style training."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ...tensor import Tensor
from ..dataset import Dataset

SHAPES = ("circle", "square", "triangle", "cross", "diamond", "ring")
COLORS = {
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 0.8, 0.0),
    "blue": (0.1, 0.3, 1.0),
    "yellow": (1.0, 0.9, 0.0),
    "cyan": (0.0, 0.9, 0.9),
    "magenta": (0.9, 0.0, 0.9),
    "orange": (1.0, 0.5, 0.0),
    "white": (1.0, 1.0, 1.0),
}


def _masks(kind, dx, dy, r):
    """Boolean (n, S, S) masks of one shape kind; dx, dy: offsets from the centres, r: radii."""
    if kind == "circle":
        return dx ** 2 + dy ** 2 <= r ** 2
    if kind == "square":
        return np.maximum(np.abs(dx), np.abs(dy)) <= 0.8 * r
    if kind == "triangle":  # pointing up: apex (0, -r), base at dy = r/2
        s = np.sqrt(3.0)
        return (dy <= 0.5 * r) & (s * dx - dy <= r) & (-s * dx - dy <= r)
    if kind == "cross":
        arm = 0.3 * r
        return ((np.abs(dx) <= arm) & (np.abs(dy) <= r)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= r))
    if kind == "diamond":
        return np.abs(dx) + np.abs(dy) <= r
    if kind == "ring":
        d2 = dx ** 2 + dy ** 2
        return (d2 <= r ** 2) & (d2 >= (0.55 * r) ** 2)
    raise ValueError(f"make_shapes: unknown shape {kind!r}; known: {list(SHAPES)}")


@dataclass(repr=False, eq=False)
class ShapesData(Dataset):
    """Captioned shape images. `data[i]` is (image (3, H, W) float32 Tensor, caption str), so a
    DataLoader batches it into (images (B, 3, H, W), list of B captions).

    images: (N, 3, H, W) float32 in [0, 1] (black background); captions: 'a <colour> <shape>';
    shape: (N,) int64 index into shape_names; color: (N,) int64 index into color_names;
    tokens: (N, 3) int64 caption word ids into `vocab` (['a'] + colours + shapes).
    """

    images: Tensor
    captions: list
    shape: Tensor
    color: Tensor
    shape_names: list
    color_names: list

    def __len__(self):
        return self.images.shape[0]

    def __repr__(self):
        return (f"ShapesData(n={len(self)}, images={tuple(self.images.shape)}, shapes={self.shape_names}, "
                f"colors={self.color_names})")

    def __getitem__(self, i):
        return Tensor._wrap(self.images._data[i]), self.captions[i]

    @property
    def vocab(self) -> list:
        return ["a"] + list(self.color_names) + list(self.shape_names)

    @property
    def tokens(self) -> Tensor:
        nc = len(self.color_names)
        ids = np.stack([np.zeros(len(self), dtype=np.int64), 1 + self.color._data, 1 + nc + self.shape._data], axis=1)
        return Tensor._wrap(ids)


def make_shapes(n: int, image_size: int = 32, seed: int = 0, shapes=SHAPES, colors=None,
                noise: float = 0.0) -> ShapesData:
    """`n` images of one coloured shape each at a random position and size, with captions.

    Shape and colour are drawn uniformly from `shapes` (names from SHAPES) and `colors` (names
    from COLORS; default all). The radius is 15-35 % of `image_size` and the shape lies fully
    inside the image. `noise` adds N(0, noise^2) pixel noise (then clips to [0, 1]).
    Everything comes from numpy's Generator seeded with `seed`, so a seed gives the same set.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"make_shapes: n must be a non-negative int, got {n!r}")
    if isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral) or image_size < 8:
        raise ValueError(f"make_shapes: image_size must be an int >= 8, got {image_size!r}")
    shape_names = list(shapes)
    color_names = list(COLORS) if colors is None else list(colors)
    for s in shape_names:
        if s not in SHAPES:
            raise ValueError(f"make_shapes: unknown shape {s!r}; known: {list(SHAPES)}")
    for c in color_names:
        if c not in COLORS:
            raise ValueError(f"make_shapes: unknown colour {c!r}; known: {list(COLORS)}")
    if not shape_names or not color_names:
        raise ValueError("make_shapes: needs at least one shape and one colour")

    S = int(image_size)
    rng = np.random.default_rng(seed)
    shape_id = rng.integers(0, len(shape_names), size=n)
    color_id = rng.integers(0, len(color_names), size=n)
    r = rng.uniform(0.15 * S, 0.35 * S, size=n)
    cx = rng.uniform(r, S - r)
    cy = rng.uniform(r, S - r)

    centres = np.arange(S, dtype=np.float64) + 0.5  # pixel centres
    mask = np.zeros((n, S, S), dtype=bool)
    for k, kind in enumerate(shape_names):
        sel = np.flatnonzero(shape_id == k)
        if sel.size == 0:
            continue
        dx = centres[None, None, :] - cx[sel, None, None]
        dy = centres[None, :, None] - cy[sel, None, None]
        mask[sel] = _masks(kind, dx, dy, r[sel, None, None])

    rgb = np.asarray([COLORS[c] for c in color_names], dtype=np.float32)[color_id]  # (n, 3)
    images = mask[:, None, :, :] * rgb[:, :, None, None]  # (n, 3, S, S)
    images = images.astype(np.float32)
    if noise > 0:
        images = np.clip(images + rng.normal(0.0, noise, size=images.shape).astype(np.float32), 0.0, 1.0)

    captions = [f"a {color_names[c]} {shape_names[s]}" for s, c in zip(shape_id.tolist(), color_id.tolist())]
    return ShapesData(
        images=Tensor._wrap(np.ascontiguousarray(images, dtype=np.float32)),
        captions=captions,
        shape=Tensor._wrap(shape_id.astype(np.int64)),
        color=Tensor._wrap(color_id.astype(np.int64)),
        shape_names=shape_names,
        color_names=color_names,
    )
