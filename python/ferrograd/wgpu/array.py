"""GpuArray: a C-contiguous n-d array in a pooled wgpu buffer — what a "wgpu" Tensor holds
where a CPU Tensor holds a numpy array."""

from __future__ import annotations

import math

import numpy as np

from . import runtime

# Element types a device buffer holds (WGSL has f32, i32 and u32; no 64-bit types everywhere).
DEVICE_DTYPES = (np.dtype("float32"), np.dtype("int32"), np.dtype("uint32"))


class GpuArray:
    __slots__ = ("shape", "dtype", "storage", "offset")

    def __init__(self, shape, dtype, storage: runtime.Storage, offset: int = 0):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.storage = storage
        self.offset = offset  # bytes

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
        raw = runtime.get().read(self.storage, self.offset, self.nbytes)
        return np.frombuffer(raw, dtype=self.dtype, count=self.size).reshape(self.shape).copy()

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
        """(storage, byte offset, byte size) for `runtime.launch`."""
        return (self.storage, self.offset, self.nbytes)

    def __repr__(self):
        return f"GpuArray(shape={self.shape}, dtype={self.dtype})"


def _check_dtype(dtype, op: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in DEVICE_DTYPES:
        names = ", ".join(str(d) for d in DEVICE_DTYPES)
        raise TypeError(f"wgpu {op}: dtype {dt} cannot live on the device (device dtypes: {names})")
    return dt
