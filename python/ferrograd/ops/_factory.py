"""Argument helpers shared by the factory ops (creation_ops, random_ops): torch's size, dtype,
device, requires_grad and out= rules, checked once with errors that name the op."""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

from .. import dtypes
from ..device import CPU, WGPU
from ..device import device as Device
from ..errors import DtypeRuntimeError, ShapeRuntimeError

strided = "strided"  # torch.strided: the only layout ferrograd has


def tensor_cls():
    from ..tensor import Tensor

    return Tensor


def default_dtype() -> np.dtype:
    from ..typeinfo import get_default_dtype

    return get_default_dtype()


def _int_like(x) -> bool:
    """An int for a size: a Python/numpy int or a one-element integer tensor (not a bool)."""
    if isinstance(x, bool):
        return False
    if isinstance(x, numbers.Integral):
        return True
    T = tensor_cls()
    return isinstance(x, T) and x.numel() == 1 and x.dtype.kind in "iu"


def size_arg(args, op: str, size=None) -> tuple:
    """torch's size argument: varargs ints `f(2, 3)`, one tuple/list/Size `f((2, 3))`, or the
    `size=` keyword. Negative sizes raise."""
    if size is not None:
        if args:
            raise TypeError(f"{op}: got the size both as positional arguments {args} and as size={size}")
        args = (size,)
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for i, n in enumerate(args):
        if not _int_like(n):
            raise TypeError(f"{op}: size must be a tuple of ints, got {type(n).__name__} {n!r} at position {i}")
        n = int(n.item()) if isinstance(n, tensor_cls()) else int(n)
        if n < 0:
            raise ShapeRuntimeError(f"{op}: trying to create a tensor with negative dimension {n}: {list(args)}")
        out.append(n)
    return tuple(out)


def dtype_arg(dtype, op: str, default=None):
    """A supported numpy dtype for `dtype` (None: `default`); TypeError naming the op otherwise
    (float16, uint8, complex: not supported by ferrograd)."""
    if dtype is None:
        return default
    if dtype is float:
        return dtypes.float64  # torch: dtype=float is float64
    if isinstance(dtype, str) and dtype.startswith(("torch.", "ferrograd.")):
        dtype = dtype.split(".", 1)[1]
    return dtypes.check_dtype(dtype, op)


def device_arg(device, op: str, default=CPU):
    if device is None:
        return default
    try:
        return Device(device)
    except ValueError as e:
        raise ValueError(f"{op}: {e}") from None


def check_requires_grad(dt, requires_grad, op: str) -> bool:
    if requires_grad and not dtypes.is_float(dt):
        raise DtypeRuntimeError(f"{op}: only Tensors of floating point dtype can require gradients, got dtype {dt}")
    return bool(requires_grad)


def place(array: np.ndarray, device, op: str, requires_grad=False):
    """A Tensor holding host `array` on `device` (uploaded for wgpu; float64 raises there)."""
    T = tensor_cls()
    requires_grad = check_requires_grad(array.dtype, requires_grad, op)
    if device is not None and Device(device) == WGPU:
        from ..wgpu.array import GpuArray, check_dtype

        check_dtype(array.dtype, op)
        return T._wrap(GpuArray.from_numpy(array), requires_grad)
    return T._wrap(array, requires_grad)


def check_alloc(shape: tuple, dt, op: str, host: bool = True) -> int:
    """The byte count of a `shape` x `dt` tensor, refused before allocating (RuntimeError naming
    the op, the shape and the bytes) when it overflows int64 or, for host memory, exceeds the
    machine's physical memory: numpy would raise a bare MemoryError or "array is too big"."""
    nbytes = math.prod(shape) * np.dtype(dt).itemsize
    if nbytes > 2**63 - 1:
        raise RuntimeError(f"{op}: storage size calculation overflowed for size {list(shape)} "
                           f"({nbytes} bytes); the sizes must multiply to less than 2**63 bytes")
    if host and nbytes > _physical_memory():
        raise RuntimeError(f"{op}: can't allocate {nbytes} bytes for size {list(shape)} of dtype "
                           f"{np.dtype(dt).name}: more than this machine's {_physical_memory()} bytes of memory")
    return nbytes


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not known here: only the overflow check applies
        return 2**63 - 1


def filled(shape: tuple, value, dt, device, op: str, requires_grad=False):
    """A Tensor of `shape` filled with `value` (made on the device itself for wgpu)."""
    T = tensor_cls()
    requires_grad = check_requires_grad(dt, requires_grad, op)
    wgpu = device is not None and Device(device) == WGPU
    check_alloc(shape, dt, op, host=not wgpu)
    if device is not None and Device(device) == WGPU:
        from ..wgpu.array import check_dtype
        from ..wgpu.elementwise import full as device_full

        return T._wrap(device_full(shape, 0 if value is None else value, check_dtype(dt, op)), requires_grad)
    try:
        array = np.empty(shape, dt) if value is None else np.full(shape, value, dt)
    except MemoryError:
        raise RuntimeError(f"{op}: can't allocate {check_alloc(shape, dt, op, host=False)} bytes for size "
                           f"{list(shape)} of dtype {np.dtype(dt).name}: out of memory") from None
    return T._wrap(array, requires_grad)


def scalar_arg(x, op: str, name: str):
    """A Python number for a number argument (a one-element tensor or numpy scalar is read)."""
    T = tensor_cls()
    if isinstance(x, T):
        if x.numel() != 1:
            raise ValueError(f"{op}: {name} must be a number or a one-element tensor, got a tensor of shape {tuple(x.shape)}")
        return x.item()
    if isinstance(x, np.ndarray) and x.size == 1:
        return x.item()
    if isinstance(x, np.generic):
        return x.item()
    if not isinstance(x, numbers.Number):
        raise TypeError(f"{op}: {name} must be a number, got {type(x).__name__}")
    if isinstance(x, complex):
        raise TypeError(f"{op}: {name} is complex ({x!r}); ferrograd has no complex dtypes")
    return x


def scalar_dtype(value) -> np.dtype:
    """What torch makes of a Python scalar: bool -> bool, int -> int64, float -> default dtype."""
    if isinstance(value, (bool, np.bool_)):
        return dtypes.bool_
    if isinstance(value, numbers.Integral):
        return dtypes.int64
    return default_dtype()


def finish(result, out, op: str):
    """torch's out=: write `result` into `out` (resized when its shape differs) and return it."""
    if out is None:
        return result
    T = tensor_cls()
    if not isinstance(out, T):
        raise TypeError(f"{op}: out must be a Tensor, got {type(out).__name__}")
    if (type(out._data) is np.ndarray) != (type(result._data) is np.ndarray):
        raise ValueError(f"{op}: out is on {out.device}, the result on {result.device}")
    data = result._data if result.dtype == out.dtype else result._data.astype(out.dtype)
    if tuple(out.shape) == tuple(result.shape):
        if type(out._data) is np.ndarray:
            np.copyto(out._data, data, casting="unsafe")
        else:
            out._data[...] = data
    else:
        out._data = data if data is not result._data else data.copy()
    out._version[0] += 1
    return out
