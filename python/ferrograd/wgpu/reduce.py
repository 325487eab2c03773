"""Reductions on GpuArrays: sum, prod, max, min, argmax, argmin (any axes, keepdims) and mean /
var built on them. One WGSL template (shaders/reduce.wgsl) specialised per op and dtype reads
the input through its strides, so reducing a transposed or broadcast view needs no copy."""

from __future__ import annotations

import math

import numpy as np

from . import runtime
from .array import GpuArray, halves, narrow
from .elementwise import _KIND, _WGSL, _conv

MAX_DIMS = 8
SPLIT_AT = 8192  # reduced elements per workgroup beyond which a long reduction runs in two passes
MAX_CHUNKS = 1024
_INT64 = np.dtype("int64")

_INIT = {
    ("sum", "f32"): "0.0", ("sum", "i32"): "0i", ("sum", "u32"): "0u",
    ("prod", "f32"): "1.0", ("prod", "i32"): "1i", ("prod", "u32"): "1u",
    ("max", "f32"): "bitcast<f32>(0xff800000u)", ("max", "i32"): "(-2147483647i - 1i)", ("max", "u32"): "0u",
    ("min", "f32"): "bitcast<f32>(0x7f800000u)", ("min", "i32"): "2147483647i", ("min", "u32"): "0xffffffffu",
}
_COMB = {"sum": "*a + v", "prod": "*a * v", "max": "max(*a, v)", "min": "min(*a, v)"}
_BETTER = {"argmax": "v > *a", "argmin": "v < *a"}


def _axes(axis, ndim, op):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise np.exceptions.AxisError(f"{op}: axis {a} is out of bounds for an array of {ndim} dims")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out)) if ndim else ()


def _out_dtype(op, dt):
    if op in ("argmax", "argmin"):
        return _INT64
    if op in ("sum", "prod") and dt.kind in "biu":
        return _INT64
    return dt


_PAIR = {"sum": np.add, "prod": np.multiply, "max": np.maximum, "min": np.minimum}


def _run(op: str, x: GpuArray, axes: tuple, keepdims: bool) -> GpuArray:
    rt = runtime.get()
    if x.storage.nbytes > rt.max_binding and x.size:
        if not rt.fits_one_binding(*runtime.span(x.offset, x.shape, x.strides)):
            return _split(op, x, axes, keepdims)
    keep = [d for d in range(x.ndim) if d not in axes]
    out_shape = tuple(1 if d in axes else x.shape[d] for d in range(x.ndim)) if keepdims else tuple(x.shape[d] for d in keep)
    out_dt = _out_dtype(op, x.dtype)
    r = math.prod(x.shape[d] for d in axes)
    n_out = math.prod(out_shape)
    if n_out == 0:
        return GpuArray.empty(out_shape, out_dt)
    if r == 0:
        if op in ("max", "min", "argmax", "argmin"):
            raise ValueError(f"{op}: zero-size array to reduction operation (shape {x.shape}, axes {axes})")
        from .elementwise import assign

        return assign(GpuArray.empty(out_shape, out_dt), 0 if op == "sum" else 1)
    keep = [d for d in keep if x.shape[d] != 1]
    red = [d for d in axes if x.shape[d] != 1]
    arg = op in ("argmax", "argmin")
    # Few outputs over many elements: one workgroup each would leave the GPU idle, so chunks of
    # the reduced range go to their own workgroups and a second pass combines the partials.
    nchunks = 1 if arg or n_out >= 256 else min(MAX_CHUNKS, -(-r // SPLIT_AT))
    if nchunks > 1:
        partial = GpuArray.empty((n_out, nchunks), out_dt)
        _launch_reduce(op, x, keep, red, r, partial, nchunks)
        total = _run(op, partial, (1,), False)
        return total.reshape(out_shape)
    out = GpuArray.empty(out_shape, out_dt)
    _launch_reduce(op, x, keep, red, r, out, 1)
    return out


def _split(op: str, x: GpuArray, axes: tuple, keepdims: bool) -> GpuArray:
    """A view spanning more than one binding, reduced in two halves along its outermost dim
    longer than one: halves of a reduced dim combine by the op, others are concatenated."""
    d, parts = halves(x.shape)
    results = [_run(op, narrow(x, x.shape, x.strides, d, start, stop), axes, True) for start, stop in parts]
    if d in axes:
        if op not in _PAIR:
            raise ValueError(f"wgpu {op}: a reduction over a view larger than one storage binding (shape {x.shape})")
        out = _PAIR[op](*results)
    else:
        out = np.concatenate(results, axis=d)
    if keepdims:
        return out
    return out.reshape(tuple(n for i, n in enumerate(out.shape) if i not in axes))


def _launch_reduce(op, x, keep, red, r, out, nchunks):
    """Record the reduction of x over dims `red` (kept dims `keep`) into contiguous `out`."""
    n_out = out.size // nchunks
    if len(keep) > MAX_DIMS or len(red) > MAX_DIMS:
        raise ValueError(f"wgpu {op}: more than {MAX_DIMS} kept or reduced dims (shape {x.shape})")
    src = _KIND[x.dtype]
    acc = src if op in ("max", "min", "argmax", "argmin") else ("i32" if src in ("bool", "i32") else src)
    if acc == "bool":
        acc = "u32"
    okind = _KIND[out.dtype]
    arg = op in ("argmax", "argmin")
    base_op = {"argmax": "max", "argmin": "min"}.get(op, op)
    if arg and acc == "f32":
        # NaN is the best (as numpy and torch: the first NaN's index), tested by bits, then the
        # order: llvmpipe's comparisons drop NaN.
        step = (f"fn step(a: ptr<function, ACC>, ai: ptr<function, u32>, v: ACC, vi: u32) {{\n"
                f"    let vn = fisnan(v);\n    let an = fisnan(*a);\n"
                f"    if ((vn && (!an || vi < *ai)) || (!vn && !an && ({_BETTER[op]} || (v == *a && vi < *ai)))) "
                f"{{ *a = v; *ai = vi; }}\n}}")
        store = "        OUT[g] = i32(si[0]);"
    elif arg:
        step = (f"fn step(a: ptr<function, ACC>, ai: ptr<function, u32>, v: ACC, vi: u32) {{\n"
                f"    if ({_BETTER[op]} || (v == *a && vi < *ai)) {{ *a = v; *ai = vi; }}\n}}")
        store = "        OUT[g] = i32(si[0]);"
    else:
        comb = {"max": "fmaxn(*a, v)", "min": "fminn(*a, v)"}.get(op, _COMB[op]) if acc == "f32" else _COMB[op]
        step = (f"fn step(a: ptr<function, ACC>, ai: ptr<function, u32>, v: ACC, vi: u32) {{\n"
                f"    *a = {comb};\n}}")
        store = f"        OUT[g] = {_conv('sv[0]', acc, okind)};"
    key = f"red:{op}:{src}:{acc}:{okind}"
    rt = runtime.get()

    def source():
        bindings = (f"@group(0) @binding(0) var<storage, read_write> IN: array<{_WGSL[src]}>;\n"
                    f"@group(0) @binding(1) var<storage, read_write> OUT: array<{_WGSL[okind]}>;\n"
                    f"@group(0) @binding(2) var<uniform> p: Params;")
        load = f"fn LOAD(x: {_WGSL[src]}) -> {_WGSL[acc]} {{ return {_conv('x', src, acc)}; }}"
        return runtime.load_shader("float_bits") + (runtime.load_shader("reduce")
                .replace("//BINDINGS", bindings + "\n" + load)
                .replace("//COMBINE", step)
                .replace("//STORE", store)
                .replace("INIT", _INIT[(base_op, acc)])
                .replace("ACC", _WGSL[acc]))

    pipe = rt.pipeline(key, source=source)

    def pad(v):
        return list(v) + [0] * (MAX_DIMS - len(v))

    chunk = -(-r // nchunks)
    binding, x_off = runtime.bind(x)  # a window of a big buffer
    params = runtime.pack(
        n_out, r, len(keep), len(red), x_off, chunk, nchunks, 0,
        *pad([x.shape[d] for d in keep]), *pad([x.strides[d] for d in keep]),
        *pad([x.shape[d] for d in red]), *pad([x.strides[d] for d in red]),
        fmt="IIIIiIII" + "I" * MAX_DIMS + "i" * MAX_DIMS + "I" * MAX_DIMS + "i" * MAX_DIMS,
    )
    rt.launch(pipe, [binding, out.storage], runtime.grid_1d(n_out * nchunks, rt.max_workgroups), params)


def reduce(op: str, x: GpuArray, axis=None, keepdims=False) -> GpuArray:
    """op in sum, prod, max, min over `axis` (None: all)."""
    return _run(op, x, _axes(axis, x.ndim, op), keepdims)


def reduce_named(op, x, axis, keepdims):
    if op == "any":
        return x.any(axis, keepdims=keepdims)
    if op == "all":
        return x.all(axis, keepdims=keepdims)
    return reduce(op, x, axis, keepdims)


def arg(op: str, x: GpuArray, axis=None, keepdims=False) -> GpuArray:
    """argmax / argmin: along one axis, or over the flattened array when axis is None (the
    index is then the flat C-order index, as in numpy)."""
    if axis is None:
        out = _run(op, x, tuple(range(x.ndim)), False)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return _run(op, x, _axes(int(axis), x.ndim, op), keepdims)


def mean(x: GpuArray, axis=None, keepdims=False) -> GpuArray:
    axes = _axes(axis, x.ndim, "mean")
    count = math.prod(x.shape[d] for d in axes)
    s = _run("sum", x.astype(np.float32, copy=False) if x.dtype.kind != "f" else x, axes, keepdims)
    return np.multiply(s, np.float32(1.0 / count) if count else np.float32("nan"))


def var(x: GpuArray, axis=None, ddof=0, keepdims=False) -> GpuArray:
    axes = _axes(axis, x.ndim, "var")
    count = math.prod(x.shape[d] for d in axes)
    m = mean(x, axes, keepdims=True)
    d = np.subtract(x, m)
    s = _run("sum", np.multiply(d, d), axes, keepdims)
    denom = max(count - ddof, 0)
    return np.multiply(s, np.float32(1.0 / denom) if denom else np.float32("nan"))
