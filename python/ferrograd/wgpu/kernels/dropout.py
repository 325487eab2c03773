"""Seeded random numbers on the device (Philox4x32-10, shaders/dropout.wgsl): a dropout mask
and the raw uint32 stream it comes from. Counter-based, so the same seed gives the same numbers
on every device and launch shape, with no generator state on the device."""

from __future__ import annotations

import math

import numpy as np

from .. import runtime
from ..array import GpuArray
from ._util import flat_windows

BLOCK = 64 * 4  # elements per workgroup: 64 threads, 4 words each


def dropout_mask(shape, p: float, seed: int) -> GpuArray:
    """float32 array of `shape`: 1/(1-p) where the element is kept (probability 1-p), else 0.

    p = 0 keeps everything (mask of ones), p = 1 drops everything (zeros). `seed` is any int,
    taken modulo 2**64; the same seed gives the same mask."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout_mask: probability has to be between 0 and 1, but got {p}")
    shape = tuple(int(s) for s in shape)
    # The scale as F.dropout computes it: float32 division of 1 by float32(1 - p).
    scale = 0.0 if p == 1.0 else float(np.float32(1.0) / np.float32(1.0 - p))
    return _launch("mask", shape, np.float32, seed, scale, p)


def random_uint32(shape, seed: int) -> GpuArray:
    """uint32 array of `shape`: Philox4x32-10 words for counters 0, 1, ... under key `seed`
    (element i is word i % 4 of block i // 4), the stream dropout_mask thresholds."""
    return _launch("bits", tuple(int(s) for s in shape), np.uint32, seed, 0.0, 0.0)


def _launch(entry: str, shape: tuple, dtype, seed: int, scale: float, p: float) -> GpuArray:
    out = GpuArray.empty(shape, dtype)
    n = math.prod(shape)
    if n == 0:
        return out
    if n >= 1 << 32:
        raise ValueError(f"dropout_mask: {n} elements exceed the 2**32 counter range of one launch")
    key = int(seed) % (1 << 64)
    rt = runtime.get()
    # An array larger than one binding runs in chunks of whole Philox blocks (flat_windows' steps
    # are multiples of 4), each continuing the stream from its first block.
    for start, count, (binding,), (off,) in flat_windows([out], n):
        params = runtime.pack(count, key & 0xFFFFFFFF, key >> 32, scale, p, start // 4, off, 0, fmt="IIIffIII")
        grid = runtime.grid_1d(-(-count // BLOCK), rt.max_workgroups)
        rt.launch(rt.pipeline("dropout", entry), [binding], grid, params)
    return out
