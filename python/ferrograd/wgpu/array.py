"""GpuArray: an n-d strided view of a pooled wgpu buffer — what a "wgpu" Tensor holds where a
CPU Tensor holds a numpy array. Strides and offset count elements (not bytes, unlike numpy), so
kernels bind the whole buffer and index it themselves; transposes and slices are free views."""

from __future__ import annotations

import math

import numpy as np

from . import runtime

# Element types a device buffer holds (WGSL has f32, i32 and u32; no 64-bit types everywhere).
DEVICE_DTYPES = (np.dtype("float32"), np.dtype("int32"), np.dtype("uint32"))


def contiguous_strides(shape) -> tuple:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(int(n), 1)
    return tuple(reversed(strides))


class GpuArray:
    __slots__ = ("shape", "dtype", "storage", "strides", "offset")

    def __init__(self, shape, dtype, storage: runtime.Storage, strides=None, offset: int = 0):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.storage = storage
        self.strides = contiguous_strides(self.shape) if strides is None else tuple(int(s) for s in strides)
        self.offset = int(offset)  # elements

    @classmethod
    def empty(cls, shape, dtype=np.float32) -> "GpuArray":
        dtype = _check_dtype(dtype, "empty")
        nbytes = math.prod(shape) * dtype.itemsize
        return cls(shape, dtype, runtime.get().alloc(nbytes))

    @classmethod
    def from_numpy(cls, a) -> "GpuArray":
        a = np.asarray(a)
        _check_dtype(a.dtype, "from_numpy")
        a = np.ascontiguousarray(a)
        return cls(a.shape, a.dtype, runtime.get().upload(a if a.size else np.zeros(1, a.dtype)))

    def numpy(self) -> np.ndarray:
        """A host copy (waits for the recorded work that produces it)."""
        if self.size == 0:
            return np.empty(self.shape, self.dtype)
        # Read the span the view covers, then let numpy apply the strides.
        lo = self.offset + sum(st * (n - 1) for st, n in zip(self.strides, self.shape) if st < 0)
        hi = self.offset + sum(st * (n - 1) for st, n in zip(self.strides, self.shape) if st > 0) + 1
        item = self.dtype.itemsize
        raw = runtime.get().read(self.storage, lo * item, (hi - lo) * item)
        flat = np.frombuffer(raw, dtype=self.dtype, count=hi - lo)
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset - lo:], self.shape, tuple(st * item for st in self.strides)
        )
        return np.array(view)

    @property
    def is_contiguous(self) -> bool:
        return all(s == c for s, c, n in zip(self.strides, contiguous_strides(self.shape), self.shape) if n > 1)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def binding(self):
        """The whole buffer, for `runtime.launch`; kernels index it with offset and strides."""
        return self.storage

    def __repr__(self):
        return f"GpuArray(shape={self.shape}, dtype={self.dtype})"


def _check_dtype(dtype, op: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in DEVICE_DTYPES:
        names = ", ".join(str(d) for d in DEVICE_DTYPES)
        raise TypeError(f"wgpu {op}: dtype {dt} cannot live on the device (device dtypes: {names})")
    return dt
