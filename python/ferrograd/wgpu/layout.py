"""Rearranging functions on GpuArrays, with numpy's semantics: flip (a negative-stride view),
diagonal (a view), and copies through the strided copy kernel for roll, repeat, tile, diag,
tril and triu. Nothing here reads back, except repeat with device `repeats` (one count)."""

from __future__ import annotations

import itertools
import math

import numpy as np

from . import elementwise, views
from .array import GpuArray
from .functions import implements


def _dev(x, op: str) -> GpuArray:
    if isinstance(x, GpuArray):
        return x
    a = np.asarray(x)
    return GpuArray.from_numpy(a.astype(elementwise.device_dtype(a.dtype), copy=False))


def _axes(axis, ndim: int, op: str) -> tuple:
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"{op}: axis {a} is out of bounds for an array of {ndim} dims")
        out.append(int(a) % ndim)
    return tuple(out)


# ---- flips -----------------------------------------------------------------------------------
@implements(np.flip)
def flip(m, axis=None) -> GpuArray:
    """A view with the order reversed along `axis` (None: every axis): negative strides."""
    m = _dev(m, "flip")
    axes = range(m.ndim) if axis is None else _axes(axis, m.ndim, "flip")
    strides, offset = list(m.strides), m.offset
    for a in set(axes):
        if m.shape[a] > 1:
            offset += (m.shape[a] - 1) * strides[a]
            strides[a] = -strides[a]
    return GpuArray(m.shape, m.dtype, m.storage, strides, offset)


@implements(np.fliplr)
def _fliplr(m):
    if np.ndim(m) < 2:
        raise ValueError("fliplr: input must be >= 2-d")
    return flip(m, 1)


@implements(np.flipud)
def _flipud(m):
    if np.ndim(m) < 1:
        raise ValueError("flipud: input must be >= 1-d")
    return flip(m, 0)


# ---- roll ------------------------------------------------------------------------------------
@implements(np.roll)
def roll(a, shift, axis=None) -> GpuArray:
    """Elements shifted along `axis` (None: the flattened array), wrapping around: a copy made of
    at most two blocks per rolled axis."""
    a = _dev(a, "roll")
    if axis is None:
        return views.reshape(roll(views.reshape(a, (-1,)), shift, 0), a.shape)
    try:
        pairs = np.broadcast(np.asarray(shift), np.asarray(axis))
    except ValueError:
        raise ValueError(f"roll: shift {shift!r} and axis {axis!r} must broadcast together") from None
    total = {}
    for s, ax in pairs:
        (ax,) = _axes(int(ax), a.ndim, "roll")
        total[ax] = total.get(ax, 0) + int(s)
    out = GpuArray.empty(a.shape, a.dtype)
    if a.size == 0:
        return out
    # Per rolled axis: source [0, n - s) goes to [s, n), source [n - s, n) to [0, s).
    pieces = []
    for ax, s in total.items():
        n = a.shape[ax]
        s %= n
        if s:
            pieces.append([(ax, slice(0, n - s), slice(s, n)), (ax, slice(n - s, n), slice(0, s))])
    for combo in itertools.product(*pieces):
        src, dst = [slice(None)] * a.ndim, [slice(None)] * a.ndim
        for ax, s_src, s_dst in combo:
            src[ax], dst[ax] = s_src, s_dst
        elementwise.assign(out[tuple(dst)], a[tuple(src)])
    return out


# ---- repeat and tile -------------------------------------------------------------------------
@implements(np.repeat)
def repeat(a, repeats, axis=None) -> GpuArray:
    """Each element repeated `repeats` times along `axis` (None: the flattened array). `repeats`
    an int (a broadcast view copied), a host array (a gather by host-computed indices), or a
    device array: its total is read back (one sync) to size the result, the indices come from
    cumsum + searchsorted on the device."""
    a = _dev(a, "repeat")
    if axis is None:
        a, axis = views.reshape(a, (-1,)), 0
    elif a.ndim == 0:
        a = views.reshape(a, (1,))
    (axis,) = _axes(axis, a.ndim, "repeat")
    n = a.shape[axis]
    if isinstance(repeats, GpuArray):
        if repeats.ndim > 1 or repeats.size not in (1, n):
            raise ValueError(f"repeat: repeats of shape {repeats.shape} do not broadcast to size {n} of axis {axis}")
        if repeats.size == 1:
            return repeat(a, int(repeats.item()), axis)
        from .scan import scan
        from .sort import searchsorted

        ends = scan("sum", repeats.astype(np.int64, copy=False), 0)
        total = int(ends[-1].item()) if n else 0
        idx = searchsorted(ends, GpuArray.from_numpy(np.arange(total, dtype=np.int32)), side="right")
        return a[(slice(None),) * axis + (idx,)]
    reps = np.asarray(repeats)
    if reps.dtype.kind not in "iub":
        raise TypeError(f"repeat: repeats must be integers, got dtype {reps.dtype}")
    if reps.size and reps.min() < 0:
        raise ValueError("repeat: repeats may not contain negative values")
    if reps.size == 1:
        r = int(reps.reshape(()))
        shape = a.shape[:axis + 1] + (r,) + a.shape[axis + 1:]
        expanded = views.broadcast_to(views.expand_dims(a, axis + 1), shape)
        out = elementwise.copy(expanded) if math.prod(shape) else GpuArray.empty(shape, a.dtype)
        return views.reshape(out, a.shape[:axis] + (n * r,) + a.shape[axis + 1:])
    if reps.ndim != 1 or reps.size != n:
        raise ValueError(f"repeat: repeats of shape {reps.shape} do not broadcast to size {n} of axis {axis}")
    idx = np.repeat(np.arange(n, dtype=np.int32), reps)
    if idx.size == 0:
        return GpuArray.empty(a.shape[:axis] + (0,) + a.shape[axis + 1:], a.dtype)
    return a[(slice(None),) * axis + (idx,)]


@implements(np.tile)
def tile(A, reps) -> GpuArray:
    """A repeated `reps` times per dim (numpy's rules for unequal lengths): a broadcast view of A
    interleaved with the repeat counts, copied."""
    A = _dev(A, "tile")
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps must be non-negative, got {reps}")
    if A.ndim < len(reps):
        A = views.reshape(A, (1,) * (len(reps) - A.ndim) + A.shape)
    reps = (1,) * (A.ndim - len(reps)) + reps
    shape, strides = [], []
    for r, n, s in zip(reps, A.shape, A.strides):
        shape += [r, n]
        strides += [0, s]
    final = tuple(r * n for r, n in zip(reps, A.shape))
    if math.prod(final) == 0:
        return GpuArray.empty(final, A.dtype)
    return views.reshape(elementwise.copy(GpuArray(shape, A.dtype, A.storage, strides, A.offset)), final)


# ---- diagonals and triangles -----------------------------------------------------------------
@implements(np.diagonal)
def diagonal(a, offset=0, axis1=0, axis2=1) -> GpuArray:
    """The diagonal (offset above the main one when positive) of the planes (axis1, axis2), as
    the last dim of a view (numpy's is read-only; this one writes through)."""
    a = _dev(a, "diagonal")
    if a.ndim < 2:
        raise ValueError(f"diagonal: array must be at least 2-d, got shape {a.shape}")
    a1, a2 = _axes((axis1, axis2), a.ndim, "diagonal")
    if a1 == a2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    offset = int(offset)
    n1, n2 = a.shape[a1], a.shape[a2]
    length = max(0, min(n1 - max(0, -offset), n2 - max(0, offset)))
    start = a.offset
    if length:
        start += max(0, offset) * a.strides[a2] + max(0, -offset) * a.strides[a1]
    rest = [d for d in range(a.ndim) if d not in (a1, a2)]
    return GpuArray([a.shape[d] for d in rest] + [length], a.dtype, a.storage,
                    [a.strides[d] for d in rest] + [a.strides[a1] + a.strides[a2]], start)


@implements(np.diag)
def diag(v, k=0) -> GpuArray:
    """1-D v: a square matrix with v on diagonal k; 2-D v: a copy of its diagonal k (torch.diag
    semantics; numpy gives a read-only view)."""
    v = _dev(v, "diag")
    k = int(k)
    if v.ndim == 1:
        n = v.shape[0] + abs(k)
        out = elementwise.full((n, n), 0, v.dtype)
        if v.size:
            elementwise.assign(diagonal(out, k), v)
        return out
    if v.ndim == 2:
        return elementwise.copy(diagonal(v, k))
    raise ValueError(f"diag: input must be 1-d or 2-d, got shape {v.shape}")


def _triangle(m, k, lower: bool, op: str) -> GpuArray:
    m = _dev(m, op)
    if m.ndim == 0:
        raise ValueError(f"{op}: input must be at least 1-d, got a 0-d array")
    rows, cols = m.shape[-2:] if m.ndim >= 2 else (m.shape[-1], m.shape[-1])
    # keep[i, j] = j - i <= k (tril) or j - i >= k (triu), built on the device from two ranges.
    i = GpuArray.from_numpy(np.arange(rows, dtype=np.int32).reshape(rows, 1))
    j = GpuArray.from_numpy(np.arange(cols, dtype=np.int32).reshape(1, cols))
    diff = np.subtract(j, i)
    keep = np.less_equal(diff, int(k)) if lower else np.greater_equal(diff, int(k))
    zero = False if m.dtype == np.bool_ else 0
    return elementwise.where(keep, m, zero)


@implements(np.tril)
def tril(m, k=0) -> GpuArray:
    """m with the elements above diagonal k zeroed (the last two dims; leading dims are a batch)."""
    return _triangle(m, k, True, "tril")


@implements(np.triu)
def triu(m, k=0) -> GpuArray:
    """m with the elements below diagonal k zeroed (the last two dims; leading dims are a batch)."""
    return _triangle(m, k, False, "triu")
