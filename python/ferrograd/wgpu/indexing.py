"""Indexing GpuArrays: basic keys (ints, slices, None, Ellipsis) are free strided views;
integer-array keys (numpy or device arrays, with numpy's broadcasting and placement rules) run a
gather kernel, `a[key] = v` a scatter, `np.add.at` an atomic scatter-add (repeated indices
accumulate); take_along_axis / put_along_axis use the same kernels.

Bounds: host (numpy) index arrays are checked and raise IndexError like numpy; device index
arrays are not checked (that would need a readback), so out-of-range device indices are the
caller's bug. Boolean masks have a data-dependent result shape: a device mask is read back
(one explicit sync) to find its True positions.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import runtime
from .array import GpuArray, halves
from .elementwise import _KIND, _WGSL, MAX_DIMS, assign, broadcast_strides

_INT32 = np.dtype("int32")


def _is_index_array(k) -> bool:
    return isinstance(k, (GpuArray, np.ndarray)) and not (isinstance(k, np.ndarray) and k.ndim == 0 and k.dtype.kind in "iu")


def _normalize(x: GpuArray, key):
    """Key as a tuple: lists -> arrays, bool masks -> integer arrays, Ellipsis expanded."""
    if not isinstance(key, tuple):
        key = (key,)
    items = []
    for k in key:
        if isinstance(k, list):
            k = np.asarray(k)
        if isinstance(k, (np.ndarray, GpuArray)) and k.dtype == np.bool_:
            mask = k.numpy() if isinstance(k, GpuArray) else k
            items.extend(np.nonzero(mask))
            continue
        if isinstance(k, np.ndarray) and k.ndim == 0 and k.dtype.kind in "iu":
            k = int(k)
        if isinstance(k, (np.ndarray, GpuArray)) and k.dtype.kind not in "iu":
            raise IndexError(f"index: arrays used as indices must be of integer (or boolean) type, got {k.dtype}")
        items.append(k)
    consumed = sum(1 for k in items if k is not None and k is not Ellipsis)
    if consumed > x.ndim:
        raise IndexError(f"index: too many indices for array: array is {x.ndim}-dimensional, but {consumed} were indexed")
    if sum(1 for k in items if k is Ellipsis) > 1:
        raise IndexError("index: an index can only have a single ellipsis ('...')")
    if Ellipsis in [k for k in items if not _is_index_array(k)]:
        i = next(j for j, k in enumerate(items) if k is Ellipsis and not _is_index_array(k))
        items[i : i + 1] = [slice(None)] * (x.ndim - consumed)
    else:
        items += [slice(None)] * (x.ndim - consumed)
    return items


def _parse(x: GpuArray, key):
    """(view, [(view dim, index array)]): basic items applied as a view, array items kept."""
    items = _normalize(x, key)
    has_arrays = any(_is_index_array(k) for k in items)
    shape, strides, offset = [], [], x.offset
    adv = []
    d = 0
    for k in items:
        if k is None:
            shape.append(1)
            strides.append(0)
            continue
        n, st = x.shape[d], x.strides[d]
        if isinstance(k, (numbers.Integral, np.integer)) and not isinstance(k, bool):
            i = int(k)
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis {d} with size {n}")
            i %= n
            if has_arrays:  # numpy treats ints next to arrays as 0-d index arrays
                adv.append((len(shape), np.asarray(i)))
                shape.append(n)
                strides.append(st)
            else:
                offset += i * st
        elif isinstance(k, slice):
            start, stop, step = k.indices(n)
            m = len(range(start, stop, step))
            offset += start * st if m else 0
            shape.append(m)
            strides.append(st * step)
        elif _is_index_array(k):
            if isinstance(k, np.ndarray) and k.size:
                if k.max() >= n or k.min() < -n:
                    bad = k[(k >= n) | (k < -n)].flat[0]
                    raise IndexError(f"index {bad} is out of bounds for axis {d} with size {n}")
            adv.append((len(shape), k))
            shape.append(n)
            strides.append(st)
        else:
            raise IndexError(f"index: {type(k).__name__} {k!r} is not a valid index for a wgpu device array")
        d += 1
    return GpuArray(shape, x.dtype, x.storage, strides, offset), adv


def _advanced(view: GpuArray, adv):
    """(result shape, lin GpuArray (int32), lin strides, view strides over the result dims)."""
    dims = [p for p, _ in adv]
    shapes = [np.shape(a) if isinstance(a, np.ndarray) else a.shape for _, a in adv]
    try:
        bshape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError(f"index: shape mismatch: indexing arrays could not be broadcast together with shapes {shapes}") from None
    # The element offset of each index tuple: sum_j wrap(idx_j) * stride_j.
    host = [(p, a) for p, a in adv if isinstance(a, np.ndarray)]
    dev = [(p, a) for p, a in adv if isinstance(a, GpuArray)]
    lin = None
    if host:
        h = sum(np.where(a < 0, a + view.shape[p], a).astype(np.int64) * view.strides[p] for p, a in host)
        lin = np.broadcast_to(np.asarray(h, np.int64), np.broadcast_shapes(*(a.shape for _, a in host)))
        lin = GpuArray.from_numpy(np.ascontiguousarray(lin, np.int32))
    for p, a in dev:
        n, st = view.shape[p], view.strides[p]
        term = np.multiply(np.where(np.less(a, 0), np.add(a, n), a), st).astype(_INT32, copy=False)
        lin = term if lin is None else np.add(lin, term)
    lin = lin.astype(_INT32, copy=False)
    rest = [d for d in range(view.ndim) if d not in dims]
    adjacent = dims == list(range(dims[0], dims[0] + len(dims)))
    nb = len(bshape)
    lin_st = broadcast_strides(lin, bshape)
    if adjacent:
        before = [d for d in rest if d < dims[0]]
        after = [d for d in rest if d > dims[0]]
    else:
        before, after = [], rest
    rshape = tuple([view.shape[d] for d in before] + list(bshape) + [view.shape[d] for d in after])
    lin_strides = [0] * len(before) + list(lin_st) + [0] * len(after)
    src_strides = [view.strides[d] for d in before] + [0] * nb + [view.strides[d] for d in after]
    return rshape, lin, lin_strides, src_strides


def _launch(kind: str, shape, a: GpuArray, a_strides, lin: GpuArray, lin_strides, b: GpuArray, b_off, b_strides):
    """kind: gather (a = out, b = src), set or add (a = values, b = dst)."""
    n = int(np.prod(shape)) if shape else 1
    if n == 0:
        return
    if len(shape) > MAX_DIMS:
        raise ValueError(f"wgpu indexing: result of {len(shape)} dims exceeds {MAX_DIMS}")
    ka, kb = _KIND[a.dtype], _KIND[b.dtype]
    ta, tb = _WGSL[ka], _WGSL[kb]
    if kind == "gather":
        binds = [f"@group(0) @binding(0) var<storage, read_write> A: array<{ta}>;",
                 f"@group(0) @binding(1) var<storage, read_write> LIN: array<i32>;",
                 f"@group(0) @binding(2) var<storage, read_write> B: array<{tb}>;"]
        body = "    A[pos.x] = B[tpos];"
    elif kind == "set":
        binds = [f"@group(0) @binding(0) var<storage, read_write> A: array<{ta}>;",
                 f"@group(0) @binding(1) var<storage, read_write> LIN: array<i32>;",
                 f"@group(0) @binding(2) var<storage, read_write> B: array<{tb}>;"]
        body = "    B[tpos] = A[pos.x];"
    elif kb == "f32":
        binds = [f"@group(0) @binding(0) var<storage, read_write> A: array<{ta}>;",
                 f"@group(0) @binding(1) var<storage, read_write> LIN: array<i32>;",
                 f"@group(0) @binding(2) var<storage, read_write> B: array<atomic<u32>>;"]
        body = ("    let v = A[pos.x];\n    var old = atomicLoad(&B[tpos]);\n    loop {\n"
                "        let r = atomicCompareExchangeWeak(&B[tpos], old, bitcast<u32>(bitcast<f32>(old) + v));\n"
                "        if (r.exchanged) { break; }\n        old = r.old_value;\n    }")
    else:
        binds = [f"@group(0) @binding(0) var<storage, read_write> A: array<{ta}>;",
                 f"@group(0) @binding(1) var<storage, read_write> LIN: array<i32>;",
                 f"@group(0) @binding(2) var<storage, read_write> B: array<atomic<{tb}>>;"]
        body = "    atomicAdd(&B[tpos], A[pos.x]);"
    binds.append("@group(0) @binding(3) var<uniform> p: Params;")
    key = f"idx:{kind}:{ka}:{kb}"
    rt = runtime.get()
    pipe = rt.pipeline(key, source=lambda: runtime.load_shader("indexed")
                       .replace("//BINDINGS", "\n".join(binds)).replace("//BODY", body))
    _record(rt, pipe, tuple(shape), [(a, a.offset, a_strides), (lin, lin.offset, lin_strides)], b, b_off, b_strides)


def _record(rt, pipe, shape, dense, b: GpuArray, b_off: int, b_strides) -> None:
    """Launches over index space `shape`. `dense`: the (array, offset, strides) of A and LIN, halved
    along the outermost dim longer than one until each spans one binding; B, whose targets the
    indices pick anywhere in the view `b`, is bound one window at a time, each launch acting only
    on the targets in its window."""
    spans = [runtime.span(off, shape, st) for _, off, st in dense]
    if any(x.storage.nbytes > rt.max_binding and not rt.fits_one_binding(lo, hi, x.stored_dtype.itemsize)
           for (x, _, _), (lo, hi) in zip(dense, spans)):
        d, parts = halves(shape)
        for start, stop in parts:
            sub = shape[:d] + (stop - start,) + shape[d + 1:]
            _record(rt, pipe, sub, [(x, off + start * st[d], st) for x, off, st in dense], b,
                    b_off + start * b_strides[d], b_strides)
        return
    binds, offs = [], []
    for (x, off, _), (lo, hi) in zip(dense, spans):
        binding, base = rt.window(x.storage, lo, hi, x.stored_dtype.itemsize)
        binds.append(binding)
        offs.append(off - base)
    n = math.prod(shape)
    shp = list(shape) + [1] * (MAX_DIMS - len(shape))
    flat = []
    for d in range(MAX_DIMS):
        flat += [dense[0][2][d], dense[1][2][d], b_strides[d], 0] if d < len(shape) else [0, 0, 0, 0]
    size = b.stored_dtype.itemsize
    lo, hi = runtime.span(b.offset, b.shape, b.strides)
    windows = [(lo, hi)]
    if b.storage.nbytes > rt.max_binding:
        step = (rt.max_binding - rt.storage_align) // size
        windows = [(w, min(w + step, hi)) for w in range(lo, hi, step)]
    for w_lo, w_hi in windows:
        b_bind, base = rt.window(b.storage, w_lo, w_hi, size)
        whole = b_bind is b.storage
        params = runtime.pack(n, len(shape), 0 if whole else w_lo - base, 0xFFFFFFFF if whole else w_hi - w_lo, *shp,
                              *offs, b_off - base, 0, *flat, fmt="IIII" + "I" * MAX_DIMS + "iiii" + "i" * (4 * MAX_DIMS))
        rt.launch(pipe, [*binds, b_bind], runtime.grid_1d(-(-n // 256), rt.max_workgroups), params)


def getitem(x: GpuArray, key) -> GpuArray:
    view, adv = _parse(x, key)
    if not adv:
        return view
    shape, lin, lin_st, src_st = _advanced(view, adv)
    out = GpuArray.empty(shape, x.dtype)
    _launch("gather", shape, out, out.strides, lin, lin_st, view, view.offset, src_st)
    return out


def _values(value, dtype, shape, op):
    from .elementwise import _operand

    v = _operand(value, op)
    if not isinstance(v, GpuArray):
        from .elementwise import full

        return full((), v, dtype), (0,) * len(shape)
    if v.dtype != dtype:
        v = v.astype(dtype)
    try:
        return v, broadcast_strides(v, shape)
    except ValueError:
        raise ValueError(f"{op}: cannot broadcast a value of shape {v.shape} to the indexed shape {shape}") from None


def setitem(x: GpuArray, key, value) -> None:
    view, adv = _parse(x, key)
    if not adv:
        assign(view, value)
        return
    shape, lin, lin_st, dst_st = _advanced(view, adv)
    v, v_st = _values(value, x.dtype, shape, "setitem")
    _launch("set", shape, v, v_st, lin, lin_st, view, view.offset, dst_st)


def add_at(x: GpuArray, key, value) -> None:
    """np.add.at(x, key, value): unbuffered, so repeated indices accumulate."""
    view, adv = _parse(x, key)
    if not adv:
        np.add(view, value, out=view)
        return
    shape, lin, lin_st, dst_st = _advanced(view, adv)
    v, v_st = _values(value, x.dtype, shape, "add.at")
    if x.dtype == np.bool_:
        raise TypeError("add.at: bool arrays are not supported on the wgpu device")
    _launch("add", shape, v, v_st, lin, lin_st, view, view.offset, dst_st)


def _along(arr: GpuArray, idx, axis: int, op: str):
    if axis is None:
        raise TypeError(f"{op}: axis=None is not supported on the wgpu device")
    axis = int(axis) % arr.ndim
    if not isinstance(idx, GpuArray):
        idx = np.asarray(idx)
        n = arr.shape[axis]
        if idx.size and (idx.max() >= n or idx.min() < -n):
            raise IndexError(f"{op}: index out of bounds for axis {axis} with size {n}")
        idx = GpuArray.from_numpy(np.where(idx < 0, idx + n, idx).astype(np.int32))
    if idx.ndim != arr.ndim:
        raise ValueError(f"{op}: indices {idx.shape} and arr {arr.shape} must have the same number of dims")
    try:
        shape = tuple(i if d == axis else s for d, (i, s) in enumerate(zip(idx.shape, np.broadcast_shapes(
            tuple(1 if d == axis else n for d, n in enumerate(idx.shape)),
            tuple(1 if d == axis else n for d, n in enumerate(arr.shape))))))
    except ValueError:
        raise ValueError(f"{op}: shapes {idx.shape} and {arr.shape} do not broadcast") from None
    lin = np.multiply(idx, arr.strides[axis]).astype(_INT32, copy=False)
    lin_st = broadcast_strides(lin, shape)
    base = GpuArray(tuple(1 if d == axis else n for d, n in enumerate(arr.shape)), arr.dtype, arr.storage,
                    arr.strides, arr.offset)
    return shape, lin, lin_st, broadcast_strides(base, shape)


def take_along_axis(arr: GpuArray, idx, axis) -> GpuArray:
    shape, lin, lin_st, src_st = _along(arr, idx, axis, "take_along_axis")
    out = GpuArray.empty(shape, arr.dtype)
    _launch("gather", shape, out, out.strides, lin, lin_st, arr, arr.offset, src_st)
    return out


def put_along_axis(arr: GpuArray, idx, values, axis) -> None:
    shape, lin, lin_st, dst_st = _along(arr, idx, axis, "put_along_axis")
    v, v_st = _values(values, arr.dtype, shape, "put_along_axis")
    _launch("set", shape, v, v_st, lin, lin_st, arr, arr.offset, dst_st)


def add_along_axis(arr: GpuArray, idx, values, axis) -> None:
    """arr[..., idx, ...] += values along `axis`, repeated indices accumulating (scatter_add)."""
    if arr.dtype == np.bool_:
        raise TypeError("scatter_add: bool arrays are not supported on the wgpu device")
    shape, lin, lin_st, dst_st = _along(arr, idx, axis, "scatter_add")
    v, v_st = _values(values, arr.dtype, shape, "scatter_add")
    _launch("add", shape, v, v_st, lin, lin_st, arr, arr.offset, dst_st)
