"""Work along one axis ("rows"): scan.py and sort.py read row r of a strided input and write row
r of an output through the layout in shaders/rows.wgsl. Here: the axis moved last, the other
dims collapsed, the layout parameters packed, and kernels run on groups of rows small enough
that every buffer they bind fits one storage binding."""

from __future__ import annotations

import math

import numpy as np

from . import runtime, views
from .array import GpuArray, halves, narrow

MAX_OUTER = 8  # outer dims the layout holds (after collapsing)


def along(x: GpuArray, axis, op: str) -> tuple[GpuArray, int]:
    """(x viewed as rows, the normalized axis): axis=None flattens (C order), a 0-d array is one
    row of one element (numpy's cumsum/sort accept axis 0 or -1 there), else the axis moves last."""
    if axis is None:
        return views.reshape(x, (-1,)), 0
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int or None, got {type(axis).__name__}")
    nd = max(x.ndim, 1)
    if not -nd <= axis < nd:
        raise np.exceptions.AxisError(f"{op}: axis {axis} is out of bounds for an array of {x.ndim} dims")
    if x.ndim == 0:
        return views.reshape(x, (1,)), 0
    axis = int(axis) % nd
    return views.moveaxis(x, axis, -1), axis


def _collapse(shape, a_strides, b_strides):
    """Outer dims without size-1 ones, neighbours merged where both stride sets allow."""
    dims = []
    for n, sa, sb in zip(shape, a_strides, b_strides):
        if n == 1:
            continue
        if dims and dims[-1][1] == sa * n and dims[-1][2] == sb * n:
            dims[-1] = (dims[-1][0] * n, sa, sb)
        else:
            dims.append((n, sa, sb))
    return dims


def params(x: GpuArray, x_off: int, out: GpuArray, out_off: int, *, mode=0, block=0, nblocks=1, aux=0, aux2=0,
           nrows=None) -> bytes:
    """rows.wgsl's Params for rows of x (read from element x_off of its binding) and of out (same
    shape, written from out_off)."""
    dims = _collapse(x.shape[:-1], x.strides[:-1], out.strides[:-1])
    if len(dims) > MAX_OUTER:
        raise ValueError(f"wgpu rows: shape {x.shape} has more than {MAX_OUTER} non-mergeable outer dims")
    pad = [(1, 0, 0)] * (MAX_OUTER - len(dims))
    dims = dims + pad
    n = x.shape[-1] if x.ndim else 1
    nrows = math.prod(x.shape[:-1]) if nrows is None else nrows
    return runtime.pack(
        nrows, n, len(dims) - len(pad), mode,
        x_off, out_off, x.strides[-1], out.strides[-1],
        block, nblocks, aux, aux2,
        *(d[0] for d in dims), *(d[1] for d in dims), *(d[2] for d in dims),
        fmt="IIII" + "iiii" + "IIII" + "I" * MAX_OUTER + "i" * (2 * MAX_OUTER),
    )


def _fits(v: GpuArray) -> bool:
    rt = runtime.get()
    return v.storage.nbytes <= rt.max_binding or rt.fits_one_binding(*runtime.span(v.offset, v.shape, v.strides))


def _row_span(v: GpuArray) -> int:
    return (v.shape[-1] - 1) * abs(v.strides[-1]) + 1


def row_groups(op: str, ins: list, outs: list, run, scratch_per_row: int = 0) -> None:
    """run(ins, outs) on groups of rows (views of shape (..., n), the same for all) such that each
    view, and `scratch_per_row` bytes times the group's rows, fit one storage binding: halves
    along the outer dims. A row too long for one binding is a ValueError naming `op`; a row
    whose strided span is (a transposed axis) is read from a compact copy or written through one."""
    rt = runtime.get()
    limit = rt.max_binding - rt.storage_align
    n = ins[0].shape[-1]
    if max(n * 4, scratch_per_row) > limit:
        raise ValueError(
            f"{op}: one row of {n} elements ({max(n * 4, scratch_per_row)} bytes with its work buffers) exceeds "
            f"the device's max-storage-buffer-binding-size {rt.max_binding}; the kernel splits work across rows only"
        )
    def compact(v):
        return v.storage.nbytes > rt.max_binding and _row_span(v) * 4 > limit

    shape = ins[0].shape
    tangled = any(len(_collapse(shape[:-1], a.strides[:-1], b.strides[:-1])) > MAX_OUTER for a in ins for b in outs)
    if tangled or any(compact(v) for v in ins + outs):
        from .elementwise import assign, copy

        ins = [copy(v) if tangled or compact(v) else v for v in ins]
        temps = [GpuArray.empty(v.shape, v.dtype) if tangled or compact(v) else v for v in outs]
        _groups(ins, temps, run, scratch_per_row, limit)
        for v, t in zip(outs, temps):
            if t is not v:
                assign(v, t)
        return
    _groups(ins, outs, run, scratch_per_row, limit)


def _groups(ins, outs, run, scratch_per_row, limit):
    shape = ins[0].shape
    nrows = math.prod(shape[:-1])
    if nrows <= 1 or (all(_fits(v) for v in ins + outs) and nrows * scratch_per_row <= limit):
        run(ins, outs)
        return
    d, parts = halves(shape[:-1])
    for start, stop in parts:
        _groups([narrow(v, v.shape, v.strides, d, start, stop) for v in ins],
                [narrow(v, v.shape, v.strides, d, start, stop) for v in outs], run, scratch_per_row, limit)
