"""Scans along one axis: cumsum and cumprod with numpy's semantics and result dtypes (bool and
small ints accumulate as int64, stored as int32 on the device: sums wrap at 32 bits).

Any strided input (transposed, sliced, reversed) is read in place. Rows up to BLOCK elements
get one workgroup each (shaders/scan.wgsl: a blocked, work-efficient scan in workgroup memory);
longer rows take three passes: block totals, a scan of those totals (recursively, the same
function), and the block scans started from them. Rows of at most SHORT elements are scanned by
one thread each (shaders/scan_rows.wgsl). Rows are split into groups whose buffers fit one
storage binding, and a row longer than one binding into chunks scanned in turn. Float sums are
added in a different order than numpy's sequential loop, so they agree to rounding, not bit for
bit.
"""

from __future__ import annotations

import math

import numpy as np

from . import _rows, runtime
from .array import GpuArray
from .elementwise import _KIND, _WGSL, _conv, device_dtype
from .functions import implements

BLOCK = 8192  # elements per workgroup; longer rows take the multi-pass path
SHORT = 32  # rows up to this long: one thread per row
_OPS = {"sum": ("a + b", {"f32": "0.0", "i32": "0i", "u32": "0u"}),
        "prod": ("a * b", {"f32": "1.0", "i32": "1i", "u32": "1u"})}
_NUMPY = {"sum": np.cumsum, "prod": np.cumprod}


def result_dtype(op: str, dtype, requested=None) -> np.dtype:
    """numpy's result dtype for cumsum / cumprod of `dtype` (asked of numpy on an empty array),
    as the device holds it (float64 -> float32)."""
    return device_dtype(_NUMPY[op](np.empty(0, dtype), dtype=requested).dtype)


def scan(op: str, x: GpuArray, axis=None, dtype=None) -> GpuArray:
    """Inclusive scan of x along `axis` (None: the flattened array) with op "sum" or "prod"; a new
    C-contiguous array of x's shape (1-D when axis is None)."""
    name = "cumsum" if op == "sum" else "cumprod"
    if not isinstance(x, GpuArray):
        raise TypeError(f"{name}: expected a wgpu GpuArray, got {type(x).__name__}")
    out_dt = result_dtype(op, x.dtype, dtype)
    rows, ax = _rows.along(x, axis, name)
    shape = rows.shape if axis is None or x.ndim == 0 else x.shape
    out = GpuArray.empty(shape, out_dt)
    if out.size:
        out_rows = out if axis is None or x.ndim == 0 else np.moveaxis(out, ax, -1)
        scan_into(op, rows, out_rows, name)
    return out


def scan_into(op: str, x: GpuArray, out: GpuArray, name: str) -> None:
    """out[..., k] = op-scan of x[..., :k+1] (rows along the last dim of both views)."""
    rt = runtime.get()
    room = (rt.max_binding - rt.storage_align) // 4
    n = x.shape[-1]
    if n > room:
        # Rows longer than one binding: chunks of them scanned on their own, each then combined
        # with the last value of the chunk before it (already final).
        combine = np.add if op == "sum" else np.multiply
        for k0 in range(0, n, room):
            k1 = min(n, k0 + room)
            scan_into(op, x[..., k0:k1], out[..., k0:k1], name)
            if k0:
                combine(out[..., k0:k1], out[..., k0 - 1:k0], out=out[..., k0:k1])
        return
    _rows.row_groups(name, [x], [out], lambda ins, outs: _record(op, ins[0], outs[0]))


def _pipeline(op: str, src: str, acc: str, shader: str):
    comb, ident = _OPS[op]
    key = f"{shader}:{op}:{src}:{acc}"

    def source():
        binds = [f"@group(0) @binding(0) var<storage, read_write> IN: array<{_WGSL[src]}>;",
                 f"@group(0) @binding(1) var<storage, read_write> OUT: array<{_WGSL[acc]}>;"]
        if shader == "scan":
            binds.append(f"@group(0) @binding(2) var<storage, read_write> CARRY: array<{_WGSL[acc]}>;")
        binds.append(f"@group(0) @binding({len(binds)}) var<uniform> p: Params;")
        head = (f"alias ACC = {_WGSL[acc]};\nconst IDENT: ACC = {ident[acc]};\n"
                f"fn LOAD(i: i32) -> ACC {{ return {_conv('IN[i]', src, acc)}; }}\n"
                f"fn COMB(a: ACC, b: ACC) -> ACC {{ return {comb}; }}\n")
        return "\n".join([runtime.load_shader("rows"), "\n".join(binds), head, runtime.load_shader(shader)])

    return runtime.get().pipeline(key, source=source)


def _record(op: str, x: GpuArray, out: GpuArray, carry: GpuArray | None = None) -> None:
    rt = runtime.get()
    src, acc = _KIND[x.dtype], _KIND[out.dtype]
    acc = "u32" if acc == "bool" else acc
    n = x.shape[-1]
    nrows = math.prod(x.shape[:-1])
    x_bind, x_off = runtime.bind(x)
    o_bind, o_off = runtime.bind(out)
    if n <= SHORT:
        params = _rows.params(x, x_off, out, o_off)
        rt.launch(_pipeline(op, src, acc, "scan_rows"), [x_bind, o_bind],
                  runtime.grid_1d(-(-nrows // 64), rt.max_workgroups), params)
        return
    nblocks = -(-n // BLOCK)
    pipe = _pipeline(op, src, acc, "scan")
    grid = runtime.grid_1d(nrows * nblocks, rt.max_workgroups)
    if nblocks == 1:
        params = _rows.params(x, x_off, out, o_off, block=BLOCK, nblocks=1)
        rt.launch(pipe, [x_bind, o_bind, x_bind], grid, params)
        return
    # Multi-pass: block totals (nrows, nblocks), their inclusive scan, then the blocks again,
    # each starting from the scanned total of the blocks before it.
    totals = GpuArray.empty((nrows, nblocks), out.dtype)
    rt.launch(pipe, [x_bind, totals.storage, x_bind], grid,
              _rows.params(x, x_off, x, 0, mode=1, block=BLOCK, nblocks=nblocks))
    scanned = GpuArray.empty((nrows, nblocks), out.dtype)
    scan_into(op, totals, scanned, "scan")
    rt.launch(pipe, [x_bind, o_bind, scanned.storage], grid,
              _rows.params(x, x_off, out, o_off, block=BLOCK, nblocks=nblocks, aux=scanned.offset))


# ---- numpy functions -------------------------------------------------------------------------
def _handler(op: str):
    name = "cumsum" if op == "sum" else "cumprod"

    def fn(a, axis=None, dtype=None, out=None):
        from .elementwise import assign

        if not isinstance(a, GpuArray):
            a = _upload(a)
        r = scan(op, a, axis, dtype)
        if out is None:
            return r
        if out.shape != r.shape:
            raise ValueError(f"{name}: out has shape {out.shape}, expected {r.shape}")
        assign(out, r)
        return out

    fn.__name__ = fn.__qualname__ = f"_np_{name}"
    return fn


def _upload(x) -> GpuArray:
    a = np.asarray(x)
    return GpuArray.from_numpy(a.astype(device_dtype(a.dtype), copy=False))


implements(np.cumsum)(_handler("sum"))
implements(np.cumprod)(_handler("prod"))
if hasattr(np, "cumulative_sum"):  # numpy >= 2.1: the array-API names, with include_initial
    def _cumulative(op: str):
        def fn(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
            from . import elementwise, functions

            if axis is None:
                if x.ndim > 1:
                    raise ValueError(f"cumulative_{op}: axis must be given for arrays of more than 1 dim")
                axis = 0
            r = scan(op, x, axis, dtype)
            if include_initial:
                ax = int(axis) % max(x.ndim, 1)
                shape = list(r.shape)
                shape[ax] = 1
                first = elementwise.full(tuple(shape), 0 if op == "sum" else 1, r.dtype)
                r = functions._concatenate([first, r], ax)
            return functions._out(r, out)

        return fn

    implements(np.cumulative_sum)(_cumulative("sum"))
    implements(np.cumulative_prod)(_cumulative("prod"))
