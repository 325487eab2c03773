"""numpy functions on GpuArrays (`__array_function__`): each handler takes numpy's arguments and
returns a GpuArray. A numpy function without a handler raises TypeError naming it, never
falling back to a silent host copy. Handlers of the scan, sort, layout and select families live
in those modules (registered through `implements` when imported, at the end of this file)."""

from __future__ import annotations

import numpy as np

from . import elementwise, indexing, reduce, views
from .array import GpuArray, _refuse

HANDLED = {}


def implements(*funcs):
    def register(fn):
        for f in funcs:
            HANDLED[f] = fn
        return fn

    return register


def array_function(func, types, args, kwargs):
    fn = HANDLED.get(func)
    if fn is None:
        raise TypeError(f"numpy.{func.__name__} is not implemented for wgpu device arrays")
    return fn(*args, **kwargs)


def _dev(x, op):
    """x as a GpuArray (host arrays and scalars are uploaded)."""
    if isinstance(x, GpuArray):
        return x
    a = np.asarray(x)
    return GpuArray.from_numpy(a.astype(elementwise.device_dtype(a.dtype), copy=False))


# ---- reductions ----------------------------------------------------------------------------
@implements(np.sum)
def _sum(a, axis=None, dtype=None, out=None, keepdims=False, **unsupported):
    _refuse(unsupported, "sum")
    return _out(a.sum(axis, dtype=dtype, keepdims=keepdims), out)


@implements(np.mean)
def _mean(a, axis=None, dtype=None, out=None, keepdims=False, **unsupported):
    _refuse(unsupported, "mean")
    return _out(a.mean(axis, keepdims=keepdims), out)


@implements(np.max, np.amax, np.nanmax)
def _max(a, axis=None, out=None, keepdims=False, **unsupported):
    _refuse(unsupported, "max")
    return _out(a.max(axis, keepdims=keepdims), out)


@implements(np.min, np.amin, np.nanmin)
def _min(a, axis=None, out=None, keepdims=False, **unsupported):
    _refuse(unsupported, "min")
    return _out(a.min(axis, keepdims=keepdims), out)


@implements(np.prod)
def _prod(a, axis=None, dtype=None, out=None, keepdims=False, **unsupported):
    _refuse(unsupported, "prod")
    return _out(a.prod(axis, keepdims=keepdims), out)


@implements(np.any)
def _any(a, axis=None, out=None, keepdims=False, **unsupported):
    _refuse(unsupported, "any")
    return _out(a.any(axis, keepdims=keepdims), out)


@implements(np.all)
def _all(a, axis=None, out=None, keepdims=False, **unsupported):
    _refuse(unsupported, "all")
    return _out(a.all(axis, keepdims=keepdims), out)


@implements(np.argmax)
def _argmax(a, axis=None, out=None, keepdims=False):
    return _out(a.argmax(axis, keepdims=keepdims), out)


@implements(np.argmin)
def _argmin(a, axis=None, out=None, keepdims=False):
    return _out(a.argmin(axis, keepdims=keepdims), out)


@implements(np.var)
def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **unsupported):
    _refuse(unsupported, "var")
    return _out(reduce.var(a, axis, ddof, keepdims), out)


@implements(np.std)
def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **unsupported):
    _refuse(unsupported, "std")
    return _out(np.sqrt(reduce.var(a, axis, ddof, keepdims)), out)


def _out(result, out):
    if out is None:
        return result
    elementwise.assign(out, result)
    return out


# ---- shape ---------------------------------------------------------------------------------
@implements(np.reshape)
def _reshape(a, shape=None, order="C", **kw):
    return views.reshape(_dev(a, "reshape"), kw.get("newshape", shape))


@implements(np.ravel)
def _ravel(a, order="C"):
    return views.reshape(a, (-1,))


@implements(np.transpose)
def _transpose(a, axes=None):
    return views.transpose(a, axes)


@implements(np.swapaxes)
def _swapaxes(a, axis1, axis2):
    return views.swapaxes(a, axis1, axis2)


@implements(np.moveaxis)
def _moveaxis(a, source, destination):
    return views.moveaxis(a, source, destination)


@implements(np.squeeze)
def _squeeze(a, axis=None):
    return views.squeeze(a, axis)


@implements(np.expand_dims)
def _expand_dims(a, axis):
    return views.expand_dims(a, axis)


@implements(np.broadcast_to)
def _broadcast_to(a, shape, subok=False):
    return views.broadcast_to(_dev(a, "broadcast_to"), shape)


@implements(np.shape)
def _shape(a):
    return a.shape


@implements(np.ndim)
def _ndim(a):
    return a.ndim


@implements(np.size)
def _size(a, axis=None):
    return a.size if axis is None else a.shape[axis]


@implements(np.result_type)
def _result_type(*args):
    return np.result_type(*(a.dtype if isinstance(a, GpuArray) else a for a in args))


@implements(np.copy)
def _copy(a, order="K", subok=False):
    return a.copy()


@implements(np.ascontiguousarray)
def _ascontiguousarray(a, dtype=None, **_):
    a = a if dtype is None else a.astype(dtype, copy=False)
    return elementwise.contiguous(a)


@implements(np.concatenate)
def _concatenate(arrays, axis=0, out=None, dtype=None, **unsupported):
    _refuse(unsupported, "concatenate")
    arrays = [_dev(a, "concatenate") for a in arrays]
    if not arrays:
        raise ValueError("concatenate: need at least one array to concatenate")
    if axis is None:
        arrays, axis = [views.reshape(a, (-1,)) for a in arrays], 0
    ref = arrays[0]
    if ref.ndim == 0:
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    axis = int(axis) % ref.ndim
    for a in arrays[1:]:
        if a.ndim != ref.ndim or any(x != y for d, (x, y) in enumerate(zip(a.shape, ref.shape)) if d != axis):
            raise ValueError(
                f"concatenate: all dims but axis {axis} must match, got shapes {[x.shape for x in arrays]}"
            )
    dt = np.dtype(dtype) if dtype is not None else np.result_type(*(a.dtype for a in arrays))
    shape = list(ref.shape)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    result = GpuArray.empty(tuple(shape), elementwise.device_dtype(dt)) if out is None else out
    start = 0
    for a in arrays:
        key = (slice(None),) * axis + (slice(start, start + a.shape[axis]),)
        elementwise.assign(result[key], a)
        start += a.shape[axis]
    return result


@implements(np.stack)
def _stack(arrays, axis=0, out=None, dtype=None, **unsupported):
    _refuse(unsupported, "stack")
    arrays = [_dev(a, "stack") for a in arrays]
    if not arrays:
        raise ValueError("stack: need at least one array to stack")
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got {[a.shape for a in arrays]}")
    n = arrays[0].ndim + 1
    axis = int(axis) % n
    return _concatenate([views.expand_dims(a, axis) for a in arrays], axis, out, dtype)


@implements(np.split, np.array_split)
def _split(a, indices_or_sections, axis=0):
    axis = int(axis) % a.ndim
    n = a.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if n % k:
            raise ValueError(f"split: array split does not result in an equal division ({n} into {k})")
        bounds = [n // k * i for i in range(1, k)]
    else:
        bounds = [int(i) for i in indices_or_sections]
    edges = [0] + bounds + [n]
    pre = (slice(None),) * axis
    return [a[pre + (slice(lo, max(lo, hi)),)] for lo, hi in zip(edges[:-1], edges[1:])]


@implements(np.take)
def _take(a, indices, axis=None, out=None, mode="raise"):
    if axis is None:
        a, axis = views.reshape(a, (-1,)), 0
    axis = int(axis) % a.ndim
    key = (slice(None),) * axis + (indices,)
    return _out(a[key], out)


@implements(np.take_along_axis)
def _take_along_axis(arr, indices, axis=-1):
    return indexing.take_along_axis(arr, indices, axis)


@implements(np.put_along_axis)
def _put_along_axis(arr, indices, values, axis):
    indexing.put_along_axis(arr, indices, values, axis)


# ---- creation and selection ----------------------------------------------------------------
def _like_dtype(a, dtype):
    return elementwise.device_dtype(a.dtype if dtype is None else dtype)


@implements(np.zeros_like)
def _zeros_like(a, dtype=None, order="K", subok=True, shape=None, **_):
    return elementwise.full(a.shape if shape is None else shape, 0, _like_dtype(a, dtype))


@implements(np.ones_like)
def _ones_like(a, dtype=None, order="K", subok=True, shape=None, **_):
    return elementwise.full(a.shape if shape is None else shape, 1, _like_dtype(a, dtype))


@implements(np.full_like)
def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, **_):
    return elementwise.full(a.shape if shape is None else shape, fill_value, _like_dtype(a, dtype))


@implements(np.empty_like)
def _empty_like(a, dtype=None, order="K", subok=True, shape=None, **_):
    return GpuArray.empty(a.shape if shape is None else shape, _like_dtype(a, dtype))


@implements(np.where)
def _where(condition, x=None, y=None):
    if x is None or y is None:
        raise TypeError("numpy.where with one argument (nonzero) is not implemented on the wgpu device")
    return elementwise.where(condition, x, y)


@implements(np.clip)
def clip(a, a_min=None, a_max=None, out=None, **kw):
    a_min = kw.get("min", a_min)
    a_max = kw.get("max", a_max)
    r = a
    if a_min is not None:
        r = np.maximum(r, a_min)
    if a_max is not None:
        r = np.minimum(r, a_max)
    if r is a:
        r = a.copy()
    return _out(r, out)


@implements(np.dot)
def _dot(a, b, out=None):
    return _out(matmul(a, b), out)


def matmul(a, b) -> GpuArray:
    """`a @ b` and np.matmul (a ufunc, routed here by elementwise.apply): numpy's `@` rules (1-D operands promoted and squeezed) over kernels.matmul (float32)."""
    from .kernels import matmul as kmatmul

    a, b = _dev(a, "matmul"), _dev(b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands need at least 1 dim, got shapes {a.shape} and {b.shape}")
    if a.dtype != np.float32 or b.dtype != np.float32:
        raise TypeError(f"matmul: the wgpu device multiplies float32 only, got {a.dtype} and {b.dtype}")
    a2 = views.expand_dims(a, 0) if a.ndim == 1 else a
    b2 = views.expand_dims(b, 1) if b.ndim == 1 else b
    out = kmatmul(a2, b2)
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out


# The handlers of scan / sort / layout / select functions live beside their kernels and register
# themselves with `implements` when imported (after it is defined, hence at the end).
from . import layout, scan, select, sort  # noqa: E402,F401
