"""The backend protocol: the primitives every device implements, with one signature each.

Op forwards (registry entries' Functions) run on raw arrays: numpy arrays on cpu, GpuArrays on
wgpu. `of(array)` gives the backend for an array. Both backends implement every name in
PRIMITIVES with the same positional parameters; tests/ops/test_backend_conformance.py fails when
one lacks a primitive, a signature differs, or the two disagree on a value. The fused kernel
families (`_native` and `wgpu.kernels`: conv, pool, attention, norms, losses, RNN, mixing,
optimizer steps) are held to the same rule by that test.
"""

from __future__ import annotations

import numpy as np

# name -> what it does (the docs of the protocol; signatures are checked against CpuBackend's)
PRIMITIVES = {
    "unary": "ufunc `name` (a numpy ufunc name) of one array",
    "binary": "ufunc `name` of two arrays or an array and a scalar, broadcasting",
    "where": "elementwise select: cond ? a : b, broadcasting",
    "cast": "a copy in another dtype",
    "copy": "a C-contiguous copy",
    "full": "a new array of `shape` filled with `value`",
    "arange": "start, start+step, ... below stop",
    "reduce": "sum/prod/max/min/any/all/mean over `axes`",
    "arg_reduce": "argmax/argmin along one axis",
    "scan": "cumsum/cumprod along one axis",
    "take_along": "out[..., i, ...] = a[..., idx[..., i, ...], ...] along `axis`",
    "put_along": "a[..., idx, ...] = values along `axis`, in place",
    "add_along": "a[..., idx, ...] += values along `axis`, repeats accumulate, in place",
    "index": "a[key] for basic and integer-array keys",
    "index_put": "a[key] = values, in place",
    "index_add": "a[key] += values, repeats accumulate, in place",
    "sort": "(values, int64 indices) sorted along `axis`, stable",
    "matmul": "numpy's `@`",
    "reshape": "a view or copy of another shape",
    "transpose": "a view with permuted axes",
    "broadcast_to": "a read-only broadcast view",
    "concat": "join along an existing axis",
    "stack": "join along a new axis",
    "flip": "reverse along `axes`",
    "tril": "zero above the k-th diagonal of the last two axes",
    "triu": "zero below the k-th diagonal of the last two axes",
    "nonzero": "a tuple of int64 index arrays of the true elements (reads a count back on wgpu)",
    "uniform": "U[0, 1) draws of `shape` from a numpy Generator (drawn on the host for wgpu)",
    "normal": "N(0, 1) draws of `shape` from a numpy Generator",
    "from_host": "a numpy array placed on this backend",
    "to_host": "a numpy array of this backend's array (a device read-back)",
}


class _NumpyCalls:
    """Primitives that are the same numpy call on both kinds of array (GpuArray implements the
    ufuncs and numpy functions these use, on the device)."""

    @staticmethod
    def unary(name, a):
        return getattr(np, name)(a)

    @staticmethod
    def binary(name, a, b):
        return getattr(np, name)(a, b)

    @staticmethod
    def cast(a, dtype):
        return a.astype(dtype)

    @staticmethod
    def scan(name, a, axis):
        return getattr(np, name)(a, axis=axis)

    @staticmethod
    def take_along(a, idx, axis):
        return np.take_along_axis(a, idx, axis=axis)

    @staticmethod
    def put_along(a, idx, values, axis):
        np.put_along_axis(a, idx, values, axis=axis)

    @staticmethod
    def index_put(a, key, values):
        a[key] = values

    @staticmethod
    def index_add(a, key, values):
        np.add.at(a, key, values)

    @staticmethod
    def reshape(a, shape):
        return a.reshape(tuple(shape))

    @staticmethod
    def transpose(a, axes):
        return a.transpose(tuple(axes))

    @staticmethod
    def broadcast_to(a, shape):
        return np.broadcast_to(a, tuple(shape))

    @staticmethod
    def concat(arrays, axis):
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def stack(arrays, axis):
        return np.stack(arrays, axis=axis)

    @staticmethod
    def flip(a, axes):
        return np.flip(a, axis=tuple(axes))

    @staticmethod
    def tril(a, k):
        return np.tril(a, k)

    @staticmethod
    def triu(a, k):
        return np.triu(a, k)


class CpuBackend(_NumpyCalls):
    """numpy and the Rust kernels of `_native`."""

    name = "cpu"

    @staticmethod
    def where(cond, a, b):
        return np.where(cond, a, b)

    @staticmethod
    def copy(a):
        return np.array(a, order="C")

    @staticmethod
    def full(shape, value, dtype):
        return np.full(tuple(shape), value, dtype)

    @staticmethod
    def arange(start, stop, step, dtype):
        return np.arange(start, stop, step).astype(dtype)

    @staticmethod
    def reduce(name, a, axes, keepdims):
        return np.asarray(getattr(np, name)(a, axis=tuple(axes), keepdims=keepdims))

    @staticmethod
    def arg_reduce(name, a, axis, keepdims):
        return getattr(np, name)(a, axis=axis, keepdims=keepdims).astype(np.int64)

    @staticmethod
    def add_along(a, idx, values, axis):
        from ._generic import add_along

        add_along(a, idx, np.broadcast_to(values, idx.shape), axis)

    @staticmethod
    def index(a, key):
        return np.asarray(a[key])

    @staticmethod
    def sort(a, axis, descending):
        if not descending:
            idx = np.argsort(a, axis=axis, kind="stable")
        else:  # stable descending (equal keys keep their order), NaN first as torch: sort the reversed row
            n = a.shape[axis]
            idx = n - 1 - np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)
        return np.take_along_axis(a, idx, axis=axis), idx.astype(np.int64)

    @staticmethod
    def matmul(a, b):
        from .linalg import matmul_arrays  # the Rust GEMM for float operands

        return matmul_arrays(a, b)

    @staticmethod
    def nonzero(a):
        return tuple(i.astype(np.int64) for i in np.nonzero(a))

    @staticmethod
    def uniform(shape, dtype, generator):
        return generator.random(tuple(shape)).astype(dtype)

    @staticmethod
    def normal(shape, dtype, generator):
        return generator.standard_normal(tuple(shape)).astype(dtype)

    @staticmethod
    def from_host(x):
        return np.asarray(x)

    @staticmethod
    def to_host(a):
        return a


class WgpuBackend(_NumpyCalls):
    """GpuArray and the WGSL kernels of `ferrograd.wgpu` (float32, int32/int64-as-int32, bool)."""

    name = "wgpu"

    @staticmethod
    def where(cond, a, b):
        from ..wgpu.elementwise import where

        return where(cond, a, b)

    @staticmethod
    def copy(a):
        from ..wgpu.elementwise import copy

        return copy(a)

    @staticmethod
    def full(shape, value, dtype):
        from ..wgpu.elementwise import full

        return full(tuple(shape), value, np.dtype(dtype))

    @staticmethod
    def arange(start, stop, step, dtype):
        return WgpuBackend.from_host(np.arange(start, stop, step).astype(dtype))

    @staticmethod
    def reduce(name, a, axes, keepdims):
        return getattr(a, name)(axis=tuple(axes), keepdims=keepdims)

    @staticmethod
    def arg_reduce(name, a, axis, keepdims):
        return getattr(np, name)(a, axis=axis, keepdims=keepdims)

    @staticmethod
    def add_along(a, idx, values, axis):
        from ..wgpu.indexing import add_along_axis

        add_along_axis(a, idx, values, axis)

    @staticmethod
    def index(a, key):
        return a[key]

    @staticmethod
    def sort(a, axis, descending):
        from ..wgpu import sort as device_sort

        return device_sort.sort(a, axis, descending, True)

    @staticmethod
    def matmul(a, b):
        return np.matmul(a, b)

    @staticmethod
    def nonzero(a):
        return tuple(np.nonzero(a))

    @staticmethod
    def uniform(shape, dtype, generator):
        return WgpuBackend.from_host(generator.random(tuple(shape)).astype(dtype))

    @staticmethod
    def normal(shape, dtype, generator):
        return WgpuBackend.from_host(generator.standard_normal(tuple(shape)).astype(dtype))

    @staticmethod
    def from_host(x):
        from ..wgpu.array import GpuArray
        from ..wgpu.elementwise import device_dtype

        a = np.asarray(x)
        return GpuArray.from_numpy(a.astype(device_dtype(a.dtype), copy=False))

    @staticmethod
    def to_host(a):
        return a.numpy()


def of(array):
    """The backend an array belongs to."""
    return CpuBackend if type(array) is np.ndarray else WgpuBackend
