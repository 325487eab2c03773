"""Shared helpers of the conv / pool / norm / softmax kernels: dtype and shape checks that raise
before any dispatch, views of an array as a vector or a matrix of rows (what the row kernels
index through strides), and a strided-copy kernel for views that fit neither."""

from __future__ import annotations

import math

import numpy as np

from .. import elementwise, runtime
from ..array import GpuArray
from ._util import check_type



def check_float(op: str, **arrays) -> None:
    """TypeError unless every given (non-None) array is a float32 GpuArray."""
    for name, a in arrays.items():
        if a is not None:
            check_type(op, name, a)


def check_int(op: str, name: str, a) -> None:
    if not isinstance(a, GpuArray):
        raise TypeError(f"{op}: {name} must be a GpuArray, got {type(a).__name__}")
    if a.stored_dtype != np.int32:  # int64 tensors live on the device as int32
        raise TypeError(f"{op}: {name} must be an integer (int32/int64) array on the wgpu device, got {a.dtype}")


def dims4(op: str, name: str, a: GpuArray) -> tuple:
    if a.ndim != 4:
        raise ValueError(f"{op}: {name} must be 4-d, got shape {a.shape}")
    return a.shape


def pair(op: str, name: str, v) -> tuple:
    try:
        a, b = (int(x) for x in v)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: {name} must be a pair of ints, got {v!r}") from None
    if a < 0 or b < 0:
        raise ValueError(f"{op}: {name} must be non-negative, got {v!r}")
    return a, b


def contiguous(a: GpuArray) -> GpuArray:
    """`a` itself when contiguous, else a contiguous copy made on the device."""
    return elementwise.contiguous(a)


def forward_strides(a):
    """`a` itself, or a contiguous copy when a stride is negative (kernels index with u32); a
    size-1 dim's stride is never used, so a negative one there just becomes 0."""
    if a is None or all(st >= 0 for st in a.strides):
        return a
    if any(st < 0 and n > 1 for st, n in zip(a.strides, a.shape)):
        return contiguous(a)
    return GpuArray(a.shape, a.dtype, a.storage, [max(st, 0) for st in a.strides], a.offset)


def _merge(shape, strides) -> list:
    """(size, stride) dims with size-1 dims dropped and adjacent dims merged where one stride
    steps through both; always at least one dim."""
    dims = [(n, s) for n, s in zip(shape, strides) if n != 1]
    merged = []
    for n, s in dims:
        if merged and merged[-1][1] == s * n:
            merged[-1] = (merged[-1][0] * n, s)
        else:
            merged.append((n, s))
    return merged or [(1, 0)]


def vector(a: GpuArray) -> tuple:
    """(array, offset, stride) reading `a`'s elements in order as one strided run (a copy when
    the view is not one)."""
    dims = _merge(a.shape, a.strides)
    if len(dims) > 1 or dims[0][1] < 0:
        a = contiguous(a)
        return a, a.offset, 1
    return a, a.offset, dims[0][1]


def matrix(a: GpuArray, cols: int) -> tuple:
    """`a` as rows of `cols` trailing elements: (array, offset, inner_rows, row_stride_outer,
    row_stride_inner, col_stride). Row r starts at offset + (r // inner_rows) * outer +
    (r % inner_rows) * inner: two row dims cover softmax over a moved axis without a copy."""
    split = _suffix(a.shape, cols)
    if split is not None and all(s >= 0 for s in a.strides):
        rows = _merge(a.shape[:split], a.strides[:split])
        col = _merge(a.shape[split:], a.strides[split:])
        if len(rows) <= 2 and len(col) == 1:
            if len(rows) == 1:
                rows = [(1, 0)] + rows
            (_, s0), (n1, s1) = rows
            return a, a.offset, n1, s0, s1, col[0][1]
    a = contiguous(a)
    return a, a.offset, 1, cols, 0, 1


def _suffix(shape, cols: int):
    """The dim where the trailing dims of product `cols` start, or None."""
    prod = 1
    for i in range(len(shape), 0, -1):
        if prod == cols:
            return i
        prod *= shape[i - 1]
    return 0 if prod == cols else None


def grid_rows(rows: int) -> tuple:
    """One workgroup per row, folded into (x, y) past the device's per-dimension limit."""
    return runtime.grid_1d(rows, runtime.get().max_workgroups)


def grid_elems(n: int, per_group: int = 256) -> tuple:
    return runtime.grid_1d(-(-n // per_group), runtime.get().max_workgroups)


def new(shape) -> GpuArray:
    return GpuArray.empty(tuple(int(s) for s in shape), np.float32)


__all__ = ["batch_blocks", "check_float", "check_int", "contiguous", "dims4", "forward_strides", "grid_elems",
           "grid_rows", "joined", "matrix", "new", "pair", "row_blocks", "vector"]


def batch_blocks(op: str, run, out_per_item: int = 0, axes: dict | None = None, **inputs):
    """Kernels over independent items (batch rows, samples, sequences) on inputs whose buffers
    are larger than one binding: the items are cut into blocks, each block's inputs copied into
    buffers of their own (the copy kernel splits itself), and `run(**block_inputs)` called per
    block; returns the list of block results, or None when every input fits as it is.
    `out_per_item`: elements per item of the largest output (or work buffer), so that it fits a
    binding too. `axes`: an input's item axis where it is not 0 (time-major saved buffers)."""
    rt = runtime.get()
    axes = axes or {}
    arrays = {k: a for k, a in inputs.items() if a is not None}
    k0, a0 = next(iter(arrays.items()))
    n = a0.shape[axes.get(k0, 0)]
    if not any(a.storage.nbytes > rt.max_binding for a in arrays.values()) and n * out_per_item * 4 <= rt.max_binding:
        return None
    widest = max([a.size // max(a.shape[axes.get(k, 0)], 1) for k, a in arrays.items()] + [out_per_item])
    per = (rt.max_binding - rt.storage_align) // (4 * max(widest, 1))
    if per < 1:
        raise ValueError(
            f"{op}: one item of {widest} values exceeds the device's max-storage-buffer-binding-size "
            f"{rt.max_binding} bytes"
        )

    def cut(k, a, i):
        return None if a is None else a[(slice(None),) * axes.get(k, 0) + (slice(i, i + per),)].copy()

    return [run(**{k: cut(k, a, i) for k, a in inputs.items()}) for i in range(0, n, per)]


def joined(blocks, axes) -> tuple:
    """`batch_blocks`' per-block results put together: result k concatenated along `axes[k]`, or
    summed where that is None (gradients of weights every block shares); None stays None."""
    out = []
    for parts, axis in zip(zip(*blocks), axes):
        if parts[0] is None:
            out.append(None)
        elif axis is None:
            total = parts[0]  # a block's own new array: summed into in place
            for p in parts[1:]:
                np.add(total, p, out=total)
            out.append(total)
        else:
            out.append(np.concatenate(parts, axis=axis))
    return tuple(out)


def row_blocks(op: str, cols: int, run, **row_inputs):
    """`batch_blocks` for row kernels: `row_inputs` maps name -> (array, values per row); the
    arrays are seen as (rows, values per row)."""
    mats = {n: None if a is None else a.reshape(-1, k) if k > 1 else a.reshape(-1) for n, (a, k) in row_inputs.items()}
    return batch_blocks(op, run, **mats)
