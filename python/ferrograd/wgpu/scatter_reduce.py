"""scatter_reduce on the device for the reductions that have no atomic add: prod, amax, amin.

`reduce_along_axis(arr, idx, values, axis, reduce)` folds `values` into `arr` at `idx` along
`axis` (repeated indices all fold in), like numpy's `np.multiply.at` / `np.maximum.at` /
`np.minimum.at` along an axis. It reuses the indexed-kernel template of indexing.py; the body is
a compare-and-swap loop (float32: on the bits; int32: atomicMax/atomicMin where WGSL has them).
"""

from __future__ import annotations

import numpy as np

from . import runtime
from .array import GpuArray
from .elementwise import _KIND, _WGSL, MAX_DIMS
from .indexing import _along, _record, _values

_COMBINE = {"prod": "{a} * {b}", "amax": "max({a}, {b})", "amin": "min({a}, {b})"}
_NATIVE_I32 = {"amax": "atomicMax", "amin": "atomicMin"}
# float32 amax / amin keep NaN (as torch): WGSL max / min may return the other operand
# (fmaxn / fminn: shaders/float_bits.wgsl).
_F32_COMBINE = {"amax": "fmaxn({a}, {b})", "amin": "fminn({a}, {b})"}


def _body(reduce: str, kind: str) -> tuple[str, str]:
    """(the B binding's element type, the kernel body) for one reduction and value kind."""
    if kind == "i32" and reduce in _NATIVE_I32:
        return "atomic<i32>", f"    {_NATIVE_I32[reduce]}(&B[tpos], A[pos.x]);"
    if kind == "f32":
        new = _F32_COMBINE.get(reduce, _COMBINE[reduce]).format(a="bitcast<f32>(old)", b="v")
        new = f"bitcast<u32>({new})"
        elem = "atomic<u32>"
    else:
        new = _COMBINE[reduce].format(a="old", b="v")
        elem = f"atomic<{_WGSL[kind]}>"
    body = ("    let v = A[pos.x];\n    var old = atomicLoad(&B[tpos]);\n    loop {\n"
            f"        let r = atomicCompareExchangeWeak(&B[tpos], old, {new});\n"
            "        if (r.exchanged) { break; }\n        old = r.old_value;\n    }")
    return elem, body


def reduce_along_axis(arr: GpuArray, idx, values, axis: int, reduce: str) -> None:
    """arr[..., idx, ...] = reduce(arr[...], values) along `axis`, in place."""
    if reduce not in _COMBINE:
        raise ValueError(f"scatter_reduce: reduce must be one of {sorted(_COMBINE)} on the device, got {reduce!r}")
    if arr.dtype == np.bool_:
        raise TypeError("scatter_reduce: bool arrays are not supported on the wgpu device")
    shape, lin, lin_st, dst_st = _along(arr, idx, axis, "scatter_reduce")
    v, v_st = _values(values, arr.dtype, shape, "scatter_reduce")
    if shape and int(np.prod(shape)) == 0:
        return
    if len(shape) > MAX_DIMS:
        raise ValueError(f"scatter_reduce: {len(shape)} dims exceed the device limit of {MAX_DIMS}")
    ka, kb = _KIND[v.dtype], _KIND[arr.dtype]
    elem, body = _body(reduce, kb)
    binds = [f"@group(0) @binding(0) var<storage, read_write> A: array<{_WGSL[ka]}>;",
             "@group(0) @binding(1) var<storage, read_write> LIN: array<i32>;",
             f"@group(0) @binding(2) var<storage, read_write> B: array<{elem}>;",
             "@group(0) @binding(3) var<uniform> p: Params;"]
    if kb == "f32":
        binds.append(runtime.load_shader("float_bits"))
    rt = runtime.get()
    pipe = rt.pipeline(f"idx:reduce:{reduce}:{ka}:{kb}", source=lambda: runtime.load_shader("indexed")
                       .replace("//BINDINGS", "\n".join(binds)).replace("//BODY", body))
    _record(rt, pipe, tuple(shape), [(v, v.offset, v_st), (lin, lin.offset, lin_st)], arr, arr.offset, dst_st)
