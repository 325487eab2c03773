"""Sorting on the device: sort / argsort along any axis (stable, ascending or descending), top-k
and searchsorted, for float32, int32, int64 (stored as int32), uint32 and bool.

Order: values compare through a u32 key (shaders: KEY below) whose unsigned order is numpy's:
-0.0 equals 0.0 and every NaN sorts after +inf. Ties break by the original index, so the sort is
stable ascending and descending alike (descending complements the key, so NaN comes first, as
in torch.sort(descending=True)). Values are gathered from the input by the sorted indices, so
they come back bit for bit (NaN payloads, the sign of zero).

Kernels: a row of up to TILE elements is sorted by one workgroup (bitonic sort in workgroup
memory, shaders/sort_tile.wgsl); a longer row is sorted in tiles, then merged pass by pass
(shaders/sort_merge.wgsl, a binary search per element, runs doubling each pass), then gathered
(sort_gather.wgsl). Rows are split into groups whose buffers fit one storage binding; a single
row longer than one binding is a ValueError.
"""

from __future__ import annotations

import math

import numpy as np

from . import _rows, runtime, views
from .array import GpuArray
from .elementwise import _KIND, _WGSL, copy, device_dtype
from .functions import implements

TILE = None  # elements one workgroup sorts (None: from the device's workgroup memory, at most 2048)
_INT64 = np.dtype("int64")
_U32 = np.dtype("uint32")

_KEY = {
    # Positive floats get the sign bit set, negative ones are complemented; -0.0 becomes +0.0
    # and every NaN one canonical NaN, above +inf.
    "f32": ("fn KEY(v: f32) -> u32 {\n"
            "    var b = bitcast<u32>(v);\n"
            "    if ((b & 0x7fffffffu) > 0x7f800000u) { b = 0x7fc00000u; }\n"
            "    if (b == 0x80000000u) { b = 0u; }\n"
            "    return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);\n}"),
    "i32": "fn KEY(v: i32) -> u32 { return bitcast<u32>(v) ^ 0x80000000u; }",
    "u32": "fn KEY(v: u32) -> u32 { return v; }",
    "bool": "fn KEY(v: u32) -> u32 { return v; }",
}


def _key_source(kind: str) -> str:
    return f"alias VAL = {_WGSL[kind]};\n{_KEY[kind]}\n"


def tile_size() -> int:
    """Elements one workgroup sorts: a power of two whose (key, index) pairs fit workgroup memory."""
    if TILE is not None:
        return TILE
    room = runtime.get().limits.get("max-compute-workgroup-storage-size", 16384)
    return min(2048, 1 << ((room // 8).bit_length() - 1))


def _check(a, op: str) -> GpuArray:
    if not isinstance(a, GpuArray):
        raise TypeError(f"{op}: expected a wgpu GpuArray, got {type(a).__name__}")
    return a


def sort(a: GpuArray, axis=-1, descending: bool = False, stable: bool = False) -> tuple[GpuArray, GpuArray]:
    """(values, int64 indices) of `a` sorted along `axis` (None: the flattened array), like
    torch.sort: always stable (stable=False allows any order of ties; this one keeps them in
    order), NaN last ascending and first descending. New C-contiguous arrays."""
    a = _check(a, "sort")
    rows, ax = _rows.along(a, axis, "sort")
    shape = rows.shape if axis is None or a.ndim == 0 else a.shape
    vals, idx = GpuArray.empty(shape, a.dtype), GpuArray.empty(shape, _INT64)
    if vals.size:
        if axis is None or a.ndim == 0:
            vr, ir = vals, idx
        else:
            vr, ir = views.moveaxis(vals, ax, -1), views.moveaxis(idx, ax, -1)
        sort_into(rows, vr, ir, bool(descending))
    if a.ndim == 0 and axis is not None:
        vals, idx = views.reshape(vals, ()), views.reshape(idx, ())
    return vals, idx


def argsort(a: GpuArray, axis=-1, descending: bool = False, stable: bool = False) -> GpuArray:
    """int64 indices that sort `a` along `axis` (stable; see sort)."""
    return sort(a, axis, descending, stable)[1]


def topk(a: GpuArray, k: int, axis=-1, largest: bool = True, sorted: bool = True) -> tuple[GpuArray, GpuArray]:
    """(values, int64 indices) of the k largest (or smallest) elements along `axis`, like
    torch.topk; always sorted (largest first, or smallest first), ties in index order, NaN
    counted as the largest value. Sorts whole rows, then keeps the first k."""
    a = _check(a, "topk")
    if axis is None:
        raise TypeError("topk: axis must be an int, got None")
    rows, ax = _rows.along(a, axis, "topk")
    n = rows.shape[-1]
    if not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ValueError(f"topk: k must be an int in [0, {n}] (the size of axis {axis} of shape {a.shape}), got {k!r}")
    vals, idx = sort(a, axis, descending=largest)
    if k == n:
        return vals, idx
    key = (slice(None),) * ax + (slice(0, int(k)),)
    return copy(vals[key]), copy(idx[key])


def sort_into(x: GpuArray, vals: GpuArray, idx: GpuArray, descending: bool) -> None:
    """Sort rows of x (the last dim) into vals and idx (same shape, any strides)."""
    n = x.shape[-1]
    tile = tile_size()
    scratch = 4 * n if n > tile else 0
    _rows.row_groups("sort", [x], [vals, idx], lambda ins, outs: _record(ins[0], *outs, descending, tile),
                     scratch_per_row=scratch)


def _tile_pipeline(kind: str, p: int, final: bool):
    wg = min(256, max(p // 2, 1))
    key = f"sort_tile:{kind}:{p}:{'final' if final else 'runs'}"

    def source():
        if final:
            binds = [f"@group(0) @binding(1) var<storage, read_write> VALS: array<{_WGSL[kind]}>;",
                     "@group(0) @binding(2) var<storage, read_write> IDX: array<i32>;"]
            store = ("        let i = si[j];\n"
                     "        let o = base.y + i32(start + j) * p.out_step;\n"
                     "        VALS[o] = IN[base.x + i32(i) * p.in_step];\n"
                     "        IDX[o - p.out_off + i32(p.aux2)] = i32(i);")
        else:
            binds = ["@group(0) @binding(1) var<storage, read_write> KO: array<u32>;",
                     "@group(0) @binding(2) var<storage, read_write> IO: array<u32>;"]
            store = ("        let e = row * p.n + start + j;\n"
                     "        KO[e] = sk[j];\n"
                     "        IO[e] = si[j];")
        binds = [f"@group(0) @binding(0) var<storage, read_write> IN: array<{_WGSL[kind]}>;", *binds,
                 "@group(0) @binding(3) var<uniform> p: Params;"]
        body = runtime.load_shader("sort_tile").replace("//STORE", store)
        consts = f"const P: u32 = {p}u;\nconst WG: u32 = {wg}u;"
        return "\n".join([runtime.load_shader("rows"), _key_source(kind), runtime.load_shader("sort_common"),
                          consts, "\n".join(binds), body])

    return runtime.get().pipeline(key, source=source)


def _pipeline(name: str, kind: str | None = None):
    def source():
        parts = [runtime.load_shader("rows"), runtime.load_shader("sort_common")]
        if name == "sort_gather":
            parts.append(
                f"@group(0) @binding(0) var<storage, read_write> IN: array<{_WGSL[kind]}>;\n"
                "@group(0) @binding(1) var<storage, read_write> II: array<u32>;\n"
                f"@group(0) @binding(2) var<storage, read_write> VALS: array<{_WGSL[kind]}>;\n"
                "@group(0) @binding(3) var<storage, read_write> IDX: array<i32>;\n"
                "@group(0) @binding(4) var<uniform> p: Params;")
        parts.append(runtime.load_shader(name))
        return "\n".join(parts)

    return runtime.get().pipeline(f"{name}:{kind}", source=source)


def _record(x: GpuArray, vals: GpuArray, idx: GpuArray, descending: bool, tile: int) -> None:
    rt = runtime.get()
    kind = _KIND[x.dtype]
    n = x.shape[-1]
    nrows = math.prod(x.shape[:-1])
    x_bind, x_off = runtime.bind(x)
    v_bind, v_off = runtime.bind(vals)
    i_bind, i_off = runtime.bind(idx)
    desc = int(descending)
    if n <= tile:
        p = max(2, 1 << (n - 1).bit_length())
        params = _rows.params(x, x_off, vals, v_off, block=n, nblocks=1, aux=desc, aux2=i_off)
        rt.launch(_tile_pipeline(kind, p, True), [x_bind, v_bind, i_bind],
                  runtime.grid_1d(nrows, rt.max_workgroups), params)
        return
    # Sorted runs of one tile each, merged pass by pass (ping-pong between two pairs of buffers).
    nt = -(-n // tile)
    keys = [GpuArray.empty((nrows * n,), _U32) for _ in range(2)]
    ids = [GpuArray.empty((nrows * n,), _U32) for _ in range(2)]
    params = _rows.params(x, x_off, x, 0, block=tile, nblocks=nt, aux=desc)
    rt.launch(_tile_pipeline(kind, tile, False), [x_bind, keys[0].storage, ids[0].storage],
              runtime.grid_1d(nrows * nt, rt.max_workgroups), params)
    merge = _pipeline("sort_merge")
    grid = runtime.grid_1d(-(-nrows * n // 256), rt.max_workgroups)
    w, src = tile, 0
    while w < n:
        rt.launch(merge, [keys[src].storage, ids[src].storage, keys[1 - src].storage, ids[1 - src].storage], grid,
                  _rows.params(x, 0, x, 0, block=w, nrows=nrows))
        w, src = 2 * w, 1 - src
    rt.launch(_pipeline("sort_gather", kind), [x_bind, ids[src].storage, v_bind, i_bind], grid,
              _rows.params(x, x_off, vals, v_off, aux2=i_off))


# ---- searchsorted ----------------------------------------------------------------------------
def searchsorted(sorted_sequence, values, side: str = "left", sorter=None) -> GpuArray:
    """int64 insertion points of `values` in `sorted_sequence` (ascending along its last dim, in
    numpy's sort order: NaN last), like numpy (1-D sequence, any values) and torch (a sequence
    of shape (..., M) with values of shape (..., K), the same leading dims). side: "left" (first
    suitable place) or "right" (last); sorter: int indices that sort a 1-D sequence."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    seq = _dev(sorted_sequence)
    vals = _dev(values)
    if seq.ndim == 0:
        raise ValueError("searchsorted: sorted_sequence must have at least 1 dim, got a 0-d array")
    if sorter is not None:
        if seq.ndim != 1:
            raise ValueError(f"searchsorted: sorter needs a 1-D sequence, got shape {seq.shape}")
        seq = seq[sorter if isinstance(sorter, (np.ndarray, GpuArray)) else np.asarray(sorter)]
    batched = seq.ndim > 1
    if batched and (vals.ndim != seq.ndim or vals.shape[:-1] != seq.shape[:-1]):
        raise ValueError(f"searchsorted: a sequence of shape {seq.shape} needs values with the same leading dims, "
                         f"got shape {vals.shape}")
    dt = device_dtype(np.result_type(seq.dtype, vals.dtype))
    seq = _contiguous_as(seq, dt)
    v = _contiguous_as(vals, dt)
    out = GpuArray.empty(vals.shape, _INT64)
    m = seq.shape[-1]
    k = vals.shape[-1] if batched else vals.size
    nrows = math.prod(vals.shape[:-1]) if batched else 1
    if out.size == 0:
        return out
    if m == 0:
        out.fill(0)
        return out
    _search(seq, v, out, nrows, m, k, batched, side == "right")
    return out


def _dev(x) -> GpuArray:
    if isinstance(x, GpuArray):
        return x
    a = np.asarray(x)
    return GpuArray.from_numpy(a.astype(device_dtype(a.dtype), copy=False))


def _contiguous_as(x: GpuArray, dt) -> GpuArray:
    return copy(x, dt) if x.dtype != dt or not x.is_contiguous else x


def _search(seq, v, out, nrows, m, k, batched, right):
    rt = runtime.get()
    kind = _KIND[seq.dtype]

    def source():
        binds = (f"@group(0) @binding(0) var<storage, read_write> SEQ: array<{_WGSL[kind]}>;\n"
                 f"@group(0) @binding(1) var<storage, read_write> V: array<{_WGSL[kind]}>;\n"
                 "@group(0) @binding(2) var<storage, read_write> OUT: array<i32>;\n"
                 "@group(0) @binding(3) var<uniform> p: Params;")
        return _key_source(kind) + runtime.load_shader("search").replace("//BINDINGS", binds)

    pipe = rt.pipeline(f"search:{kind}", source=source)
    room = (rt.max_binding - rt.storage_align) // 4
    if m > room:
        raise ValueError(f"searchsorted: a sorted sequence of {m} elements ({4 * m} bytes) exceeds the device's "
                         f"max-storage-buffer-binding-size {rt.max_binding}")
    # Groups of value rows (or of values within one row) whose buffers fit one binding each.
    per_rows = max(1, room // max(k, m if batched else 1))
    per_k = k if per_rows > 1 or k <= room else room
    for r0 in range(0, nrows, per_rows):
        nr = min(per_rows, nrows - r0)
        for k0 in range(0, k, per_k):
            nk = min(per_k, k - k0)
            lo = r0 * k + k0
            hi = lo + (nr - 1) * k + nk
            v_bind, v_base = rt.window(v.storage, v.offset + lo, v.offset + hi)
            o_bind, o_base = rt.window(out.storage, out.offset + lo, out.offset + hi)
            s_lo = seq.offset + (r0 * m if batched else 0)
            s_bind, s_base = rt.window(seq.storage, s_lo, s_lo + (nr * m if batched else m))
            # A chunk of one row (nk < k) is a row of its own: rows of nk values, stride k apart,
            # are only contiguous when nr == 1, which is when chunks within a row happen.
            params = runtime.pack(nr, m, nk if nr == 1 else k, int(right), s_lo - s_base,
                                  v.offset + lo - v_base, out.offset + lo - o_base, int(batched), fmt="IIIIiiiI")
            rt.launch(pipe, [s_bind, v_bind, o_bind], runtime.grid_1d(-(-nr * (nk if nr == 1 else k) // 256),
                                                                          rt.max_workgroups), params)


# ---- numpy functions -------------------------------------------------------------------------
def _no_order(order, op):
    if order is not None:
        raise TypeError(f"{op}: order= (structured arrays) is not supported for wgpu device arrays")


@implements(np.sort)
def _np_sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Always stable: a valid result for every `kind`."""
    _no_order(order, "sort")
    if np.ndim(a) == 0 and axis is not None:
        raise np.exceptions.AxisError(f"sort: axis {axis} is out of bounds for an array of 0 dims")
    return sort(a, axis)[0]


@implements(np.argsort)
def _np_argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    _no_order(order, "argsort")
    return sort(a, None if np.ndim(a) == 0 else axis)[1]  # numpy: a 0-d array's argsort is [0]


@implements(np.searchsorted)
def _np_searchsorted(a, v, side="left", sorter=None):
    a = _dev(a)
    if a.ndim != 1:
        raise ValueError(f"searchsorted: a must be 1-D, got shape {a.shape}")
    return searchsorted(a, v, side, sorter)
