"""Elementwise kernels: numpy ufuncs, copies, casts, fills and `where` on GpuArrays.

One WGSL template (shaders/elementwise.wgsl) is specialised per op, operand dtypes and which
operands are scalars; each operand is read through its own offset and element strides, so
broadcasting, transposed and sliced inputs and strided outputs (in-place ops, `a[k] = v`) need
no copies. Result dtypes come from numpy's own resolver (`ufunc.resolve_dtypes`, Python scalars
weak as in NumPy 2), with float64 mapped to float32 (the device has no float64).
"""

from __future__ import annotations

import numbers
import struct

import numpy as np

from . import runtime
from .array import GpuArray, check_dtype, halves, narrow

MAX_INPUTS = 3
MAX_DIMS = 8
PLANS_KEEP = 8192
_PLANS = {}  # launch signature -> (pipeline, parameters, grid)
_LOOPS = {}  # (ufunc, operand dtypes or scalar types, dtype) -> (loop kinds, result dtype)
_F32 = np.dtype("float32")

# Kind of a logical dtype in WGSL: the value type, and how it is stored.
_KIND = {np.dtype("float32"): "f32", np.dtype("int32"): "i32", np.dtype("int64"): "i32",
         np.dtype("uint32"): "u32", np.dtype("bool"): "bool"}
_WGSL = {"f32": "f32", "i32": "i32", "u32": "u32", "bool": "u32"}
_ZERO = {"f32": "0.0", "i32": "0i", "u32": "0u", "bool": "0u"}
_SCALAR_FMT = {"f32": "f", "i32": "i", "u32": "I", "bool": "I"}

# ufunc name -> (WGSL expression over {0} {1} ..., "val" or "pred"); a dict maps kind -> expr.
_OPS = {
    "add": "{0} + {1}",
    "subtract": "{0} - {1}",
    "multiply": {"bool": "{0} & {1}", "*": "{0} * {1}"},
    "divide": "{0} / {1}",
    "floor_divide": {"f32": "ffloordiv({0}, {1})", "i32": "ifloordiv({0}, {1})", "*": "{0} / max({1}, 1u)"},
    "remainder": {"f32": "fremainder({0}, {1})", "i32": "imod({0}, {1})", "*": "{0} % max({1}, 1u)"},
    "power": {"f32": "fpow({0}, {1})", "i32": "ipow({0}, {1})"},
    "negative": {"bool": "1u - {0}", "u32": "0u - {0}", "*": "-{0}"},
    "positive": "{0}",
    "absolute": {"u32": "{0}", "bool": "{0}", "*": "abs({0})"},
    "sign": {"u32": "min({0}, 1u)", "f32": "select(sign({0}), 0.0, fisnan({0}))", "*": "sign({0})"},  # NaN: 0, as torch
    "exp": "fexp({0})",
    "exp2": "exp2({0})",
    "expm1": "fexpm1({0})",
    "log": "flog({0})",
    "log2": "log2({0})",
    "log1p": "flog1p({0})",
    "sqrt": "sqrt({0})",
    "square": "{0} * {0}",
    "reciprocal": "1.0 / {0}",
    "tanh": "ftanh({0})",
    "sin": "sin({0})",
    "cos": "cos({0})",
    "tan": "tan({0})",
    "arctan": "fatan({0})",
    "arcsin": "fasin({0})",
    "arccos": "facos({0})",
    "sinh": "sinh({0})",
    "cosh": "cosh({0})",
    "arcsinh": "asinh({0})",
    "arccosh": "acosh({0})",
    "arctanh": "atanh({0})",
    "arctan2": "fatan2({0}, {1})",
    "log10": "log2({0}) * 0.30102999566398120",
    "fmod": {"f32": "ffmod({0}, {1})", "i32": "irem({0}, {1})", "*": "{0} % max({1}, 1u)"},
    "erf": "ferf({0})",
    "floor": "floor({0})",
    "ceil": "ceil({0})",
    "rint": "round({0})",
    "trunc": "trunc({0})",
    "maximum": {"f32": "fmaxn({0}, {1})", "*": "max({0}, {1})"},
    "minimum": {"f32": "fminn({0}, {1})", "*": "min({0}, {1})"},
    "fmax": "max({0}, {1})",
    "fmin": "min({0}, {1})",
    "less": ("{0} < {1}", "pred"),
    "less_equal": ("{0} <= {1}", "pred"),
    "greater": ("{0} > {1}", "pred"),
    "greater_equal": ("{0} >= {1}", "pred"),
    "equal": ("{0} == {1}", "pred"),
    "not_equal": {"f32": ("fne({0}, {1})", "pred"), "*": ("{0} != {1}", "pred")},
    # f32 truth by bits (ftrue): NaN is true, and llvmpipe folds NaN != 0 to false
    "logical_and": {"f32": ("ftrue({0}) && ftrue({1})", "pred"), "*": ("({0} != Z) && ({1} != Z)", "pred")},
    "logical_or": {"f32": ("ftrue({0}) || ftrue({1})", "pred"), "*": ("({0} != Z) || ({1} != Z)", "pred")},
    "logical_xor": {"f32": ("ftrue({0}) != ftrue({1})", "pred"), "*": ("({0} != Z) != ({1} != Z)", "pred")},
    "logical_not": {"f32": ("!ftrue({0})", "pred"), "*": ("{0} == Z", "pred")},
    "bitwise_and": "{0} & {1}",
    "bitwise_or": "{0} | {1}",
    "bitwise_xor": "{0} ^ {1}",
    "invert": {"bool": "1u - {0}", "*": "~{0}"},
    "isnan": {"f32": ("fisnan({0})", "pred"), "*": ("false", "pred")},
    "isinf": {"f32": ("fisinf({0})", "pred"), "*": ("false", "pred")},
    "isfinite": {"f32": ("!(fisnan({0}) || fisinf({0}))", "pred"), "*": ("true", "pred")},
    "_copy": "{0}",
    "_where": "select({2}, {1}, {0} != 0u)",
}


def device_dtype(dt) -> np.dtype:
    """The dtype a result has on the device: float64 (and other floats) become float32."""
    dt = np.dtype(dt)
    if dt.kind == "f":
        return _F32
    if dt.kind == "i" and dt != np.int32:
        return np.dtype("int64")
    if dt.kind == "u" and dt != np.uint32:
        return np.dtype("int64") if dt.itemsize < 4 else np.dtype("uint32")
    return check_dtype(dt, "elementwise")


def _expr(name: str, kind: str):
    spec = _OPS.get(name)
    if spec is None:
        return None
    if isinstance(spec, dict):
        spec = spec.get(kind, spec.get("*"))
        if spec is None:
            return None
    text, res = spec if isinstance(spec, tuple) else (spec, "val")
    return text.replace("Z", _ZERO[kind]), res


def _conv(e: str, src: str, dst: str) -> str:
    if src == dst:
        return e
    if dst == "bool" and src == "f32":  # by bits: NaN is true (llvmpipe folds NaN != 0.0 to false), -0.0 false
        return f"select(0u, 1u, (bitcast<u32>({e}) & 0x7fffffffu) != 0u)"
    if dst == "bool":
        return f"select(0u, 1u, {e} != {_ZERO[src]})"
    return f"{_WGSL[dst]}({e})"


def _is_scalar(x) -> bool:
    return isinstance(x, (numbers.Number, np.generic)) or (isinstance(x, np.ndarray) and x.ndim == 0)


def _resolve_arg(x):
    """What numpy's dtype resolver should see for an operand (Python scalars stay weak)."""
    if isinstance(x, GpuArray):
        return x.dtype
    if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
        return type(x)
    return np.asarray(x).dtype


def _operand(x, op: str):
    """A GpuArray or a Python/numpy scalar; host arrays are uploaded (host -> device is explicit
    in op code as a constant; device -> host never happens here)."""
    if isinstance(x, GpuArray) or _is_scalar(x):
        return x.item() if isinstance(x, (np.generic, np.ndarray)) else x
    if isinstance(x, np.ndarray):
        return GpuArray.from_numpy(x.astype(device_dtype(x.dtype), copy=False))
    if isinstance(x, (list, tuple)):
        a = np.asarray(x)
        return GpuArray.from_numpy(a.astype(device_dtype(a.dtype), copy=False))
    raise TypeError(f"{op}: cannot use a {type(x).__name__} as an operand of a wgpu device array")


def broadcast_strides(a: GpuArray, shape: tuple) -> tuple:
    """a's element strides read as `shape` (0 along broadcast dims)."""
    lead = len(shape) - a.ndim
    if lead < 0:
        raise ValueError(f"cannot broadcast shape {a.shape} to {shape}")
    out = [0] * lead
    for n, s, target in zip(a.shape, a.strides, shape[lead:]):
        if n == target:
            out.append(s if n != 1 else 0)
        elif n == 1:
            out.append(0)
        else:
            raise ValueError(f"cannot broadcast shape {a.shape} to {shape}")
    return tuple(out)


def _collapse(shape, stride_sets):
    """Drop size-1 dims and merge dims that are contiguous for every operand, so the kernel's
    index loop is short and any rank fits its MAX_DIMS."""
    dims = [(n, [s[i] for s in stride_sets]) for i, n in enumerate(shape) if n != 1]
    merged = []
    for n, st in dims:
        if merged:
            pn, pst = merged[-1]
            if all(ps == s * n for ps, s in zip(pst, st)):
                merged[-1] = (pn * n, st)
                continue
        merged.append((n, st))
    if len(merged) > MAX_DIMS:
        raise ValueError(f"wgpu elementwise: shape {shape} has more than {MAX_DIMS} non-mergeable dims")
    return [n for n, _ in merged], [[st[k] for _, st in merged] for k in range(len(stride_sets))]


def _overlaps(out: GpuArray, x: GpuArray, shape) -> bool:
    """x reads out's buffer through a different layout: writing in place could race."""
    return x.storage is out.storage and (x.offset != out.offset or broadcast_strides(x, shape) != out.strides)


def launch(name: str, loop_kinds, out_kind: str, out: GpuArray, inputs) -> GpuArray:
    """Record `out = name(*inputs)` with inputs converted to `loop_kinds` (scalars or arrays
    broadcast to out.shape)."""
    shape = out.shape
    n = out.size
    if n == 0:
        return out
    if n >= 1 << 32:
        raise ValueError(f"wgpu {name}: {n} elements exceed the kernel's 32-bit index")
    arrays = [x for x in inputs if isinstance(x, GpuArray)]
    # A training loop repeats the same launches: their pipeline, parameters and grid are kept per
    # signature, so a repeat costs a key and the runtime's dispatch, not the plan below.
    rt = runtime.get()
    big = rt.max_binding  # views of larger buffers bind windows: their plans differ
    sig = (name, tuple(loop_kinds), out.dtype, shape, out.strides, out.offset, out.storage.nbytes > big,
           tuple((x.dtype, x.shape, x.strides, x.offset, x.storage is out.storage, x.storage.nbytes > big)
                 if isinstance(x, GpuArray) else (type(x), x) for x in inputs))
    plan = _PLANS.get(sig)
    if plan is not None:
        pipe, params, grid = plan
        rt.launch(pipe, [out.storage] + [x.storage for x in arrays], grid, params)
        return out
    if any(_overlaps(out, x, shape) for x in arrays):
        tmp = launch(name, loop_kinds, out_kind, GpuArray.empty(shape, out.dtype), inputs)
        return launch("_copy", [out_kind], out_kind, out, [tmp])
    stride_sets = [out.strides] + [broadcast_strides(x, shape) for x in arrays]
    views = [out] + arrays
    bindings = [v.storage for v in views]
    offs = [v.offset for v in views]
    if any(v.storage.nbytes > rt.max_binding for v in views):
        # A buffer larger than one binding: bind the window each view spans, or split the work
        # until every view's span fits one.
        spans = [runtime.span(v.offset, shape, st) for v, st in zip(views, stride_sets)]
        if not all(rt.fits_one_binding(lo, hi) for lo, hi in spans):
            return _split(name, loop_kinds, out_kind, out, inputs, stride_sets)
        for i, (v, (lo, hi)) in enumerate(zip(views, spans)):
            bindings[i], base = rt.window(v.storage, lo, hi, v.stored_dtype.itemsize)
            offs[i] -= base
        sig = None  # the plan depends on the windows: not kept
    dims, strides = _collapse(shape, stride_sets)
    strides += [[0] * len(dims)] * (1 + MAX_INPUTS - len(strides))
    offs += [0] * (MAX_INPUTS - len(arrays))

    scalars, key_parts = [], []
    for x, kind in zip(inputs, loop_kinds):
        if isinstance(x, GpuArray):
            key_parts.append(f"a{_KIND[x.dtype]}>{kind}")
        else:
            scalars.append(struct.unpack("<I", struct.pack("<" + _SCALAR_FMT[kind], _scalar_value(x, kind)))[0])
            key_parts.append(f"s{kind}")
    key = f"ew:{name}:{','.join(key_parts)}:{_KIND[out.dtype]}"
    # The WGSL text is built only when the pipeline is not cached yet (it costs more than a launch).
    pipe = rt.pipeline(key, source=lambda: _source(name, loop_kinds, out, inputs))
    shp = list(dims) + [1] * (MAX_DIMS - len(dims))
    flat_strides = []
    for d in range(MAX_DIMS):
        flat_strides += [strides[k][d] if d < len(dims) else 0 for k in range(1 + MAX_INPUTS)]
    params = runtime.pack(n, len(dims), 0, 0, *shp, *offs, *flat_strides, *(scalars + [0] * (4 - len(scalars))),
                          fmt="IIII" + "I" * MAX_DIMS + "iiii" + "i" * (4 * MAX_DIMS) + "IIII")
    grid = runtime.grid_1d(-(-n // 256), rt.max_workgroups)
    if sig is not None:
        if len(_PLANS) >= PLANS_KEEP:
            _PLANS.clear()
        _PLANS[sig] = (pipe, params, grid)
    rt.launch(pipe, bindings, grid, params)
    return out


def _split(name, loop_kinds, out_kind, out: GpuArray, inputs, stride_sets) -> GpuArray:
    """`launch` in two halves along the outermost dim longer than one (each half may split again)."""
    shape = out.shape
    d, parts = halves(shape)
    strides = iter(stride_sets[1:])
    full = [(x, next(strides)) if isinstance(x, GpuArray) else (x, None) for x in inputs]
    for start, stop in parts:
        launch(name, loop_kinds, out_kind, narrow(out, shape, out.strides, d, start, stop),
               [narrow(x, shape, st, d, start, stop) if st is not None else x for x, st in full])
    return out


def _source(name: str, loop_kinds, out: GpuArray, inputs) -> str:
    """The elementwise shader for `name` over these operand kinds (arrays and scalars)."""
    expr_spec = _expr(name, loop_kinds[0] if name != "_where" else loop_kinds[1])
    if expr_spec is None:
        raise TypeError(f"wgpu {name}: not implemented for dtype kind {loop_kinds[0]}")
    expr, res = expr_spec
    if name == "power" and loop_kinds[0] == "f32" and not isinstance(inputs[1], GpuArray):
        expr = "fpow_s({0}, {1})"  # a number as the exponent: 0.5 is sqrt, as numpy (the key has "s")
    bindings = [f"@group(0) @binding(0) var<storage, read_write> OUT: array<{_WGSL[_KIND[out.dtype]]}>;"]
    loads, b, n_scalars = [], 0, 0
    for k, (x, kind) in enumerate(zip(inputs, loop_kinds)):
        if isinstance(x, GpuArray):
            b += 1
            src = _KIND[x.dtype]
            bindings.append(f"@group(0) @binding({b}) var<storage, read_write> IN{b}: array<{_WGSL[src]}>;")
            loads.append(f"    let v{k} = {_conv(f'IN{b}[pos[{b}]]', src, kind)};")
        else:
            loads.append(f"    let v{k} = bitcast<{_WGSL[kind]}>(p.scalars[{n_scalars}]);")
            n_scalars += 1
    bindings.append(f"@group(0) @binding({b + 1}) var<uniform> p: Params;")
    value = expr.format(*(f"v{k}" for k in range(len(inputs))))
    result_kind = loop_kinds[1] if name == "_where" else loop_kinds[0]
    if res == "pred":
        store = f"select({_conv('0u', 'bool', _KIND[out.dtype])}, {_conv('1u', 'bool', _KIND[out.dtype])}, {value})"
    else:
        store = _conv(f"({value})", result_kind, _KIND[out.dtype])
    return runtime.load_shader("float_bits") + (
        runtime.load_shader("elementwise")
        .replace("//BINDINGS", "\n".join(bindings))
        .replace("//LOADS", "\n".join(loads))
        .replace("//STORE", f"    OUT[pos[0]] = {store};")
    )


def _scalar_value(x, kind):
    if kind == "f32":
        return float(x)
    if kind == "i32":
        v = int(x)
        if not -(1 << 31) <= v < (1 << 31):
            raise OverflowError(f"wgpu: scalar {x} does not fit the device's int32")
        return v
    return int(bool(x)) if kind == "bool" else int(x) & 0xFFFFFFFF


def _shape(x):
    return x.shape if isinstance(x, GpuArray) else ()


def apply(ufunc, inputs, out: GpuArray | None = None, dtype=None) -> GpuArray:
    """`ufunc(*inputs)` (numpy semantics: broadcasting, dtype resolution) on the device."""
    name = ufunc.__name__
    if name == "matmul":
        from .functions import matmul

        return matmul(*inputs) if out is None else assign(out, matmul(*inputs))
    if name == "clip":
        from .functions import clip

        return clip(*inputs, out=out)
    if name not in _OPS:
        raise TypeError(f"numpy.{name} is not implemented on the wgpu device")
    inputs = [_operand(x, name) for x in inputs]
    args = tuple(_resolve_arg(x) for x in inputs)
    loop_key = (ufunc, args, dtype)
    resolved = _LOOPS.get(loop_key)
    if resolved is None:
        try:
            res = ufunc.resolve_dtypes(args + (None,) * ufunc.nout)
        except Exception as e:
            kinds = ", ".join(str(a) for a in args)
            raise TypeError(f"numpy.{name}: no loop for operand dtypes ({kinds}) on the wgpu device: {e}") from None
        resolved = [device_dtype(d) for d in res[: ufunc.nin]], device_dtype(dtype if dtype is not None else res[ufunc.nin])
        _LOOPS[loop_key] = resolved
    loop, out_dt = resolved
    shapes = [_shape(x) for x in inputs]
    try:
        shape = shapes[0] if all(sh == shapes[0] for sh in shapes) else np.broadcast_shapes(*shapes)
    except ValueError:
        shapes = ", ".join(str(_shape(x)) for x in inputs)
        raise ValueError(f"numpy.{name}: operand shapes {shapes} do not broadcast") from None
    if out is None:
        out = GpuArray.empty(shape, out_dt)
    elif np.broadcast_shapes(shape, out.shape) != out.shape:
        raise ValueError(f"numpy.{name}: result shape {shape} does not fit out of shape {out.shape}")
    return launch(name, [_KIND[d] for d in loop], _KIND[out.dtype], out, inputs)


def array_ufunc(ufunc, method, inputs, kwargs):
    out = kwargs.pop("out", None)
    if isinstance(out, tuple):
        if len(out) != 1:
            raise TypeError(f"numpy.{ufunc.__name__}: several outputs are not supported on the wgpu device")
        out = out[0]
    if out is not None and not isinstance(out, GpuArray):
        raise TypeError(
            f"numpy.{ufunc.__name__}: cannot write a wgpu device result into a {type(out).__name__} (out=)"
        )
    dtype = kwargs.pop("dtype", None)
    if kwargs.get("where", True) is not True:
        raise TypeError(f"numpy.{ufunc.__name__}: where= is not supported on the wgpu device")
    kwargs.pop("where", None)
    kwargs.pop("casting", None)
    if method == "__call__":
        if kwargs:
            raise TypeError(f"numpy.{ufunc.__name__}: arguments {sorted(kwargs)} are not supported on the wgpu device")
        return apply(ufunc, inputs, out, dtype)
    if method == "at":
        from . import indexing

        if ufunc is not np.add:
            raise TypeError(f"numpy.{ufunc.__name__}.at is not implemented on the wgpu device (only add.at)")
        return indexing.add_at(*inputs)
    if method == "reduce":
        from . import reduce

        op = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
              "logical_or": "any", "logical_and": "all"}.get(ufunc.__name__)
        if op is None:
            raise TypeError(f"numpy.{ufunc.__name__}.reduce is not implemented on the wgpu device")
        (a,) = inputs
        r = reduce.reduce_named(op, a, kwargs.get("axis", 0), kwargs.get("keepdims", False))
        return r if out is None else assign(out, r)
    raise TypeError(f"numpy.{ufunc.__name__}.{method} is not implemented on the wgpu device")


def copy(x: GpuArray, dtype=None) -> GpuArray:
    """A new contiguous array with x's values, cast to `dtype` (numpy astype rules: floats
    truncate to ints, nonzero is True)."""
    dt = x.dtype if dtype is None else check_dtype(dtype, "astype")
    out = GpuArray.empty(x.shape, dt)
    return launch("_copy", [_KIND[x.dtype]], _KIND[dt], out, [x])


def contiguous(x: GpuArray) -> GpuArray:
    return x if x.is_contiguous else copy(x)


def assign(dst: GpuArray, value) -> GpuArray:
    """dst[...] = value (scalar, host array or device array, broadcast), converted to dst.dtype."""
    value = _operand(value, "assign")
    if isinstance(value, GpuArray):
        kind = _KIND[value.dtype]
        if np.broadcast_shapes(value.shape, dst.shape) != dst.shape:
            raise ValueError(f"setitem: cannot assign a value of shape {value.shape} into shape {dst.shape}")
    else:
        kind = _KIND[dst.dtype]
    return launch("_copy", [kind], _KIND[dst.dtype], dst, [value])


def full(shape, value, dtype) -> GpuArray:
    dt = check_dtype(dtype, "full")
    out = GpuArray.empty(shape, dt)
    return assign(out, value)


def where(cond, a, b) -> GpuArray:
    cond, a, b = (_operand(x, "where") for x in (cond, a, b))
    res = np.result_type(*(x.dtype if isinstance(x, GpuArray) else x for x in (a, b)))  # scalars weak
    dt = device_dtype(res)
    try:
        shape = np.broadcast_shapes(_shape(cond), _shape(a), _shape(b))
    except ValueError:
        raise ValueError(f"where: shapes {_shape(cond)}, {_shape(a)} and {_shape(b)} do not broadcast") from None
    if isinstance(cond, GpuArray) and cond.dtype != np.bool_:
        cond = np.not_equal(cond, 0)
    elif not isinstance(cond, GpuArray):
        cond = bool(cond)
    out = GpuArray.empty(shape, dt)
    return launch("_where", ["bool", _KIND[dt], _KIND[dt]], _KIND[dt], out, [cond, a, b])
