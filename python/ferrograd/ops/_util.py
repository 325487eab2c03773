"""Shared helpers for op forwards and backwards, for both array kinds: numpy arrays (cpu) and
GpuArrays (wgpu). numpy's creation and conversion functions (np.asarray, np.zeros, ...) do not
dispatch to GpuArray, so op code calls these instead; on numpy arrays they are exactly the numpy
calls they replace."""

from __future__ import annotations

import numpy as np

from .. import _native
from ..wgpu.array import GpuArray


def unbroadcast(grad, shape: tuple):
    """Sum `grad` back down to `shape`, undoing numpy broadcasting."""
    if grad.shape == tuple(shape):
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    return out.reshape(shape)


def shape_of(x) -> tuple:
    if type(x) is np.ndarray or type(x) is GpuArray:
        return x.shape  # the common case, without np.shape's dispatch
    return np.shape(x)


def is_device(x) -> bool:
    return isinstance(x, GpuArray)


def kernels(x):
    """The kernel module for the array kind of `x`: `ferrograd._native` for numpy arrays,
    `ferrograd.wgpu.kernels` for GpuArrays. Functions are looked up by name at call time, so a
    kernel family added to wgpu.kernels later plugs in; one not there yet raises
    NotImplementedError naming it."""
    if type(x) is np.ndarray or not isinstance(x, GpuArray):
        return _native
    from ..wgpu import kernels as wk

    return wk


def asarray(x, dtype=None, like=None):
    """np.asarray(x, dtype) for either kind; host data goes to the device when `like` is a
    GpuArray (an explicit upload of op constants, never a download)."""
    if type(x) is np.ndarray and (dtype is None or x.dtype == dtype) and not isinstance(like, GpuArray):
        return x  # what np.asarray returns here, without the call
    if isinstance(x, GpuArray):
        return x if dtype is None else x.astype(dtype, copy=False)
    if isinstance(like, GpuArray):
        from ..wgpu.elementwise import device_dtype

        a = np.asarray(x, dtype=dtype)
        return GpuArray.from_numpy(a.astype(device_dtype(a.dtype), copy=False))
    return np.asarray(x, dtype=dtype)


NATIVE_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def native_float(x) -> bool:
    """Whether the Rust kernels take `x` as it is: a numpy array of native float32 / float64."""
    return type(x) is np.ndarray and x.dtype in NATIVE_FLOATS


def c_order(x):
    """A numpy array in C order (not np.ascontiguousarray: that turns a 0-d array into shape (1,))."""
    return x if x.flags.c_contiguous else np.ascontiguousarray(x)


def ascontiguous(x, dtype=None):
    """np.ascontiguousarray(x, dtype) for either kind."""
    if isinstance(x, GpuArray):
        from ..wgpu.elementwise import contiguous

        return contiguous(x if dtype is None else x.astype(dtype, copy=False))
    return np.ascontiguousarray(x, dtype=dtype)


def full(shape, value, dtype, like=None):
    """np.full on the device of `like` (numpy when `like` is not a GpuArray)."""
    if isinstance(like, GpuArray):
        from ..wgpu.elementwise import full as dfull

        return dfull(tuple(shape) if not isinstance(shape, int) else (shape,), value, dtype)
    return np.full(shape, value, dtype)


def zeros(shape, dtype, like=None):
    if isinstance(like, GpuArray):
        return full(shape, 0, dtype, like)
    return np.zeros(shape, dtype)


def empty(shape, dtype, like=None):
    """An uninitialised array for a caller that writes every element (on the device: zeros)."""
    if isinstance(like, GpuArray):
        return full(shape, 0, dtype, like)
    return np.empty(shape, dtype)


def ones(shape, dtype, like=None):
    if isinstance(like, GpuArray):
        return full(shape, 1, dtype, like)
    return np.ones(shape, dtype)


def to_host(x):
    """A numpy array for data that must be inspected on the host (explicit readback)."""
    return x.numpy() if isinstance(x, GpuArray) else x
