"""Functions whose result size depends on the data: nonzero / argwhere / flatnonzero, unique and
bincount, computed on the device with numpy's semantics. Each reads back one small value (a
count, or bincount's min and max) to size its result, the sync torch makes on CUDA for the same
ops; everything else stays on the device. The compaction kernel (shaders/compact.wgsl) writes
the selected elements to their places, given the inclusive cumsum of the selection flags."""

from __future__ import annotations

import math

import numpy as np

from . import elementwise, indexing, runtime, views
from . import scan as _scan  # the module: it may still be importing (functions.py imports both)
from .array import GpuArray
from .elementwise import _KIND, _WGSL
from .functions import implements

_INT64 = np.dtype("int64")


def _dev(x, op: str) -> GpuArray:
    if isinstance(x, GpuArray):
        return x
    a = np.asarray(x)
    return GpuArray.from_numpy(a.astype(elementwise.device_dtype(a.dtype), copy=False))


def compact(flags: GpuArray, pos: GpuArray, src: GpuArray | None, count: int, dtype=_INT64) -> GpuArray:
    """The elements of src (1-D, or their indices when src is None) whose flag is set, in order:
    flags a contiguous bool (n,), pos its inclusive cumsum, count = pos[-1]."""
    dst = GpuArray.empty((count,), dtype if src is None else src.dtype)
    n = flags.size
    if count == 0 or n == 0:
        return dst
    if src is not None and not src.is_contiguous:
        src = elementwise.copy(src)
    rt = runtime.get()
    kind = _KIND[dst.dtype]
    pipe = rt.pipeline(f"compact:{kind}:{'iota' if src is None else 'src'}", source=lambda: _source(kind, src is None))
    arrays = [flags, pos] + ([src] if src is not None else [])
    room = (rt.max_binding - rt.storage_align) // 4
    step = n if all(x.storage.nbytes <= rt.max_binding for x in arrays) else room
    d_step = count if dst.storage.nbytes <= rt.max_binding else room
    for i0 in range(0, n, step):
        cnt = min(step, n - i0)
        binds, offs = [], []
        for x in arrays:
            b, base = rt.window(x.storage, x.offset + i0, x.offset + i0 + cnt)
            binds.append(b)
            offs.append(x.offset + i0 - base)
        if src is None:
            offs.append(0)
        for d0 in range(0, count, d_step):
            dcnt = min(d_step, count - d0)
            d_bind, d_base = rt.window(dst.storage, d0, d0 + dcnt)
            params = runtime.pack(cnt, i0, d0, dcnt, *offs, d0 - d_base, fmt="IIIIiiii")
            rt.launch(pipe, binds + [d_bind], runtime.grid_1d(-(-cnt // 256), rt.max_workgroups), params)
    return dst


def _source(kind: str, iota: bool) -> str:
    binds = ["@group(0) @binding(0) var<storage, read_write> FLAG: array<u32>;",
             "@group(0) @binding(1) var<storage, read_write> POS: array<i32>;"]
    if not iota:
        binds.append(f"@group(0) @binding(2) var<storage, read_write> SRC: array<{_WGSL[kind]}>;")
    binds.append(f"@group(0) @binding({len(binds)}) var<storage, read_write> DST: array<{_WGSL[kind]}>;")
    binds.append(f"@group(0) @binding({len(binds)}) var<uniform> p: Params;")
    value = "i32(p.base + i)" if iota else "SRC[p.src_off + i32(i)]"
    return runtime.load_shader("compact").replace("//BINDINGS", "\n".join(binds)).replace("VALUE", value)


def _count(pos: GpuArray) -> int:
    """The last element of an inclusive count: the one read back."""
    return int(pos[pos.size - 1].item()) if pos.size else 0


# ---- nonzero ---------------------------------------------------------------------------------
@implements(np.flatnonzero)
def flatnonzero(a) -> GpuArray:
    """int64 flat (C-order) indices of the nonzero elements. Reads back their count (one sync)."""
    a = _dev(a, "flatnonzero")
    mask = views.reshape(np.not_equal(a, 0), (-1,))
    pos = _scan.scan("sum", mask, 0)
    return compact(mask, pos, None, _count(pos))


@implements(np.nonzero)
def nonzero(a) -> tuple:
    """A tuple of int64 index arrays, one per dim, of the nonzero elements in C order. Reads back
    their count (one sync); the coordinates are unravelled on the device."""
    a = _dev(a, "nonzero")
    if a.ndim == 0:
        raise ValueError("nonzero: calling nonzero on 0d arrays is not allowed; use np.atleast_1d(a).nonzero()")
    flat = flatnonzero(a)
    out = []
    step = math.prod(a.shape)
    for d, n in enumerate(a.shape):
        step //= max(n, 1)
        c = flat if step == 1 else np.floor_divide(flat, step)
        out.append(c if d == 0 else np.remainder(c, n))
    return tuple(out)


@implements(np.argwhere)
def argwhere(a) -> GpuArray:
    """(count, ndim) int64 coordinates of the nonzero elements. Reads back the count (one sync)."""
    a = _dev(a, "argwhere")
    if a.ndim == 0:
        return GpuArray.empty((int(np.not_equal(a, 0).item()), 0), _INT64)
    coords = nonzero(a)
    if not coords[0].size:
        return GpuArray.empty((0, a.ndim), _INT64)
    return np.stack(coords, axis=1)


@implements(np.count_nonzero)
def count_nonzero(a, axis=None, *, keepdims=False) -> GpuArray:
    """int64 counts of nonzero elements (a 0-d device array for axis=None: no readback)."""
    return _dev(a, "count_nonzero").astype(np.bool_).sum(axis, keepdims=keepdims)


# ---- unique ----------------------------------------------------------------------------------
@implements(np.unique)
def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *, equal_nan=True,
           sorted=True):
    """numpy.unique of the flattened array (axis=None only): the sorted unique values, and as
    asked the index of each one's first occurrence, the inverse (ar's shape) and the counts.
    One stable sort, flags where the sorted value changes (NaNs one value when equal_nan), their
    cumsum, a compaction; reads back the number of unique values (one sync). Always sorted."""
    from .sort import sort

    ar = _dev(ar, "unique")
    if axis is not None:
        raise TypeError("unique: axis= is not supported for wgpu device arrays (only the flattened array)")
    flat = views.reshape(ar, (-1,))
    n = flat.size
    if n == 0:
        values = GpuArray.empty((0,), ar.dtype)
        pos = first = GpuArray.empty((0,), _INT64)
        count = 0
    else:
        values, first = sort(flat, 0)
        flags = GpuArray.empty((n,), np.bool_)
        elementwise.assign(flags[0:1], True)
        if n > 1:
            hi, lo = values[1:], values[:-1]
            change = np.not_equal(hi, lo)
            if ar.dtype.kind == "f":
                # Comparisons with NaN are not reliable in llvmpipe's shaders (it may fold them), so
                # NaN-ness comes from isnan (which reads the bits): a NaN beside a number is a change.
                nan_hi, nan_lo = np.isnan(hi), np.isnan(lo)
                if equal_nan:
                    change = np.logical_or(np.logical_and(change, np.logical_not(np.logical_or(nan_hi, nan_lo))),
                                           np.logical_xor(nan_hi, nan_lo))
                else:
                    change = np.logical_or(change, np.logical_or(nan_hi, nan_lo))
            elementwise.assign(flags[1:], change)
        pos = _scan.scan("sum", flags, 0)
        count = _count(pos)
        uniq = compact(flags, pos, values, count)
    if n:
        values = uniq
    results = [values]
    if return_index:
        results.append(compact(flags, pos, first, count) if n else first)
    if return_inverse:
        inv = GpuArray.empty((n,), _INT64)
        if n:
            indexing.setitem(inv, first, np.subtract(pos, 1))
        results.append(views.reshape(inv, ar.shape))
    if return_counts:
        if n:
            starts = compact(flags, pos, None, count)
            ends = GpuArray.empty((count,), _INT64)
            elementwise.assign(ends[:count - 1], starts[1:])
            elementwise.assign(ends[count - 1:], n)
            results.append(np.subtract(ends, starts))
        else:
            results.append(GpuArray.empty((0,), _INT64))
    return results[0] if len(results) == 1 else tuple(results)


# ---- bincount --------------------------------------------------------------------------------
@implements(np.bincount)
def bincount(x, weights=None, minlength=0) -> GpuArray:
    """Counts (int64) or summed weights (float32) per value of the non-negative ints x (1-D):
    reads back x's min and max (one sync) to check and size the result, then adds atomically."""
    x = _dev(x, "bincount")
    if x.ndim != 1:
        raise ValueError(f"bincount: x must be 1-D, got shape {x.shape}")
    if x.dtype.kind not in "iub":
        raise TypeError(f"bincount: x must hold non-negative integers, got dtype {x.dtype}")
    minlength = int(minlength)
    if minlength < 0:
        raise ValueError(f"bincount: minlength must be non-negative, got {minlength}")
    if weights is not None:
        weights = _dev(weights, "bincount")
        if weights.shape != x.shape:
            raise ValueError(f"bincount: weights of shape {weights.shape} must have x's shape {x.shape}")
    ids = x.astype(np.int64, copy=False) if x.dtype != np.int32 else x
    length = minlength
    if x.size:
        lo, hi = (int(v) for v in np.stack([ids.min(), ids.max()]).numpy())
        if lo < 0:
            raise ValueError(f"bincount: x must not contain negative values, got minimum {lo}")
        length = max(hi + 1, minlength)
    out = elementwise.full((length,), 0, _INT64 if weights is None else np.float32)
    if x.size:
        indexing.add_at(out, ids, 1 if weights is None else weights)
    return out
