"""Registry entries: tensor creation with torch's signatures and dtype rules.

zeros / ones / empty / full (size as varargs, a tuple, a list or an fg.Size), the *_like family,
Tensor.new_* methods, eye, arange, linspace, logspace, and the data constructors tensor,
as_tensor, asarray, from_numpy. Every factory takes dtype, device, requires_grad and out; layout,
pin_memory and memory_format are accepted (torch code passes them) and ignored. Values are made
on the host and uploaded for device="wgpu", except constant fills, which the device writes.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import dtypes
from ._factory import (check_requires_grad, default_dtype, device_arg, dtype_arg, filled, finish, place,
                       scalar_arg, scalar_dtype, size_arg, tensor_cls)
from .registry import register


def _check_tensor(input, op):
    if not isinstance(input, tensor_cls()):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    return input


# ---- constant fills ---------------------------------------------------------------------------
def _constant(op, args, size, value, out, dtype, device, requires_grad):
    shape = size_arg(args, op, size)
    dt = dtype_arg(dtype, op, default_dtype() if out is None else out.dtype)
    dev = device_arg(device, op, default=None if out is None else out.device)
    return finish(filled(shape, value, dt, dev, op, requires_grad), out, op)


@register("zeros", method=False)
def zeros(*args, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
          memory_format=None):
    """A tensor of zeros: `zeros(2, 3)`, `zeros((2, 3))`, `zeros(size=[2, 3])`, as torch.zeros."""
    return _constant("zeros", args, size, 0, out, dtype, device, requires_grad)


@register("ones", method=False)
def ones(*args, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
         memory_format=None):
    """A tensor of ones, as torch.ones."""
    return _constant("ones", args, size, 1, out, dtype, device, requires_grad)


@register("empty", method=False)
def empty(*args, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
          memory_format=None):
    """An uninitialised tensor (zeros on wgpu), as torch.empty."""
    return _constant("empty", args, size, None, out, dtype, device, requires_grad)


@register("full", method=False)
def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """A tensor of `size` filled with `fill_value`; without dtype, a bool fill gives bool, an int
    int64 and a float the default dtype (torch.full's rule)."""
    op = "full"
    value = scalar_arg(fill_value, op, "fill_value")
    shape = size_arg((size,), op)
    dt = dtype_arg(dtype, op, out.dtype if out is not None else scalar_dtype(value))
    return finish(filled(shape, value, dt, device_arg(device, op), op, requires_grad), out, op)


# ---- *_like -------------------------------------------------------------------------------------
def _like(op, input, value, dtype, device, requires_grad):
    _check_tensor(input, op)
    dt = dtype_arg(dtype, op, input.dtype)
    return filled(tuple(input.shape), value, dt, device_arg(device, op, input.device), op, requires_grad)


@register("zeros_like", method=False)
def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    """Zeros of `input`'s shape, dtype and device (each overridable), as torch.zeros_like."""
    return _like("zeros_like", input, 0, dtype, device, requires_grad)


@register("ones_like", method=False)
def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return _like("ones_like", input, 1, dtype, device, requires_grad)


@register("empty_like", method=False)
def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return _like("empty_like", input, None, dtype, device, requires_grad)


@register("full_like", method=False)
def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    """`fill_value` (cast to `input`'s dtype: 2.7 in an int64 tensor is 2) in `input`'s shape."""
    value = scalar_arg(fill_value, "full_like", "fill_value")
    return _like("full_like", input, value, dtype, device, requires_grad)


# ---- Tensor.new_* (dtype and device follow self unless given) -------------------------------------
def _new(op, self, args, size, value, dtype, device, requires_grad):
    _check_tensor(self, op)
    shape = size_arg(args, op, size)
    dt = dtype_arg(dtype, op, self.dtype)
    return filled(shape, value, dt, device_arg(device, op, self.device), op, requires_grad)


@register("new_zeros", function=False)
def new_zeros(self, *args, size=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """Zeros of the given size with this tensor's dtype and device, as Tensor.new_zeros."""
    return _new("new_zeros", self, args, size, 0, dtype, device, requires_grad)


@register("new_ones", function=False)
def new_ones(self, *args, size=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    return _new("new_ones", self, args, size, 1, dtype, device, requires_grad)


@register("new_empty", function=False)
def new_empty(self, *args, size=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    return _new("new_empty", self, args, size, None, dtype, device, requires_grad)


@register("new_full", function=False)
def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """`fill_value` in this tensor's dtype (not inferred from the value) and device."""
    value = scalar_arg(fill_value, "new_full", "fill_value")
    return _new("new_full", self, (size,), None, value, dtype, device, requires_grad)


@register("new_tensor", function=False)
def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """A copy of `data` with this tensor's dtype and device unless given (a tensor `data` is
    copied and detached)."""
    _check_tensor(self, "new_tensor")
    return _make("new_tensor", data, dtype_arg(dtype, "new_tensor", self.dtype),
                 device_arg(device, "new_tensor", self.device), requires_grad)


# ---- ranges -------------------------------------------------------------------------------------
def _number(x, op, name):
    v = scalar_arg(x, op, name)
    return int(v) if isinstance(v, bool) else v


@register("eye", method=False)
def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """The n x m identity (ones on the main diagonal), as torch.eye."""
    op = "eye"
    for name, v in (("n", n), ("m", m)):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{op}: argument '{name}' must be int, got {type(v).__name__} {v!r}")
        if v < 0:
            from ..errors import ShapeRuntimeError

            raise ShapeRuntimeError(f"{op}: {name} must be greater or equal to 0, got {v}")
    dt = dtype_arg(dtype, op, out.dtype if out is not None else default_dtype())
    array = np.eye(int(n), int(n if m is None else m), dtype=dt)
    return finish(place(array, device_arg(device, op), op, requires_grad), out, op)


@register("arange", method=False)
def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
           pin_memory=False):
    """Values from `start` up to (not including) `end` by `step`: ceil((end - start) / step) of
    them. Without dtype: int64 when every argument is an int, else the default float dtype."""
    op = "arange"
    if end is None:
        start, end = 0, start
    start, end, step = (_number(v, op, name) for v, name in ((start, "start"), (end, "end"), (step, "step")))
    for name, v in (("start", start), ("end", end)):
        if not math.isfinite(v):
            raise ValueError(f"{op}: unsupported range: {name}={v} (must be finite)")
    if step == 0:
        raise ValueError(f"{op}: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"{op}: upper bound and lower bound inconsistent with step sign "
                         f"(start={start}, end={end}, step={step})")
    any_float = any(isinstance(v, float) for v in (start, end, step))
    dt = dtype_arg(dtype, op, out.dtype if out is not None else (default_dtype() if any_float else dtypes.int64))
    if dt == dtypes.bool_:
        raise TypeError(f"{op}: dtype bool is not supported (expected an int or float dtype)")
    n = max(0, math.ceil((end - start) / step))
    idx = np.arange(n, dtype=np.int64)
    if dtypes.is_float(dt):
        values = (start + idx * float(step)).astype(dt)
    else:  # torch casts start and step to the integer dtype first
        values = (int(start) + idx * int(step)).astype(dt)
    return finish(place(values, device_arg(device, op), op, requires_grad), out, op)


def _steps(steps, op):
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        if isinstance(steps, tensor_cls()) and steps.numel() == 1 and steps.dtype.kind in "iu":
            steps = steps.item()
        else:
            raise TypeError(f"{op}: steps must be an int, got {type(steps).__name__} {steps!r}")
    if steps < 0:
        raise ValueError(f"{op}: number of steps must be non-negative, got {steps}")
    return int(steps)


def _linspace64(start, end, steps):
    """torch's linspace in float64: the first half counted up from start, the second half down
    from end, so both ends are exact and the spacing is symmetric."""
    if steps == 1:
        return np.array([start], np.float64)
    step = (end - start) / (steps - 1)
    i = np.arange(steps, dtype=np.float64)
    half = steps // 2
    return np.where(i < half, start + step * i, end - step * (steps - 1 - i))


@register("linspace", method=False)
def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """`steps` evenly spaced values from `start` to `end` (both included), as torch.linspace."""
    op = "linspace"
    start, end = _number(start, op, "start"), _number(end, op, "end")
    steps = _steps(steps, op)
    dt = dtype_arg(dtype, op, out.dtype if out is not None else default_dtype())
    values = _linspace64(float(start), float(end), steps)
    values = values.astype(dt) if dtypes.is_float(dt) else np.trunc(values).astype(dt)
    return finish(place(values, device_arg(device, op), op, requires_grad), out, op)


@register("logspace", method=False)
def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """base ** linspace(start, end, steps), as torch.logspace."""
    op = "logspace"
    start, end = _number(start, op, "start"), _number(end, op, "end")
    base = _number(base, op, "base")
    steps = _steps(steps, op)
    dt = dtype_arg(dtype, op, out.dtype if out is not None else default_dtype())
    with np.errstate(over="ignore"):
        values = np.power(float(base), _linspace64(float(start), float(end), steps))
    values = values.astype(dt) if dtypes.is_float(dt) else np.trunc(values).astype(dt)
    return finish(place(values, device_arg(device, op), op, requires_grad), out, op)


# ---- from data ----------------------------------------------------------------------------------
_PY_SCALARS = (bool, int, float)


def _plain(data) -> bool:
    """Whether nested lists hold Python scalars only (numpy reads them directly)."""
    stack = [data]
    while stack:
        seq = stack.pop()
        for x in seq:
            t = type(x)
            if t in _PY_SCALARS:
                continue
            if t is list or t is tuple:
                stack.append(x)
            else:
                return False
    return True


def _combine(kinds):
    """torch's dtype for mixed scalars: any float wins (widest), then ints (widest), then bool."""
    floats = [k for k in kinds if k.kind == "f"]
    if floats:
        return max(floats, key=lambda d: d.itemsize)
    ints = [k for k in kinds if k.kind in "iu"]
    if ints:
        return max(ints, key=lambda d: d.itemsize)
    return dtypes.bool_ if kinds else default_dtype()


def _convert(obj, kinds, op):
    """Nested data with tensors / numpy values inside -> nested Python scalars; `kinds` collects
    the dtype each leaf stands for."""
    T = tensor_cls()
    if isinstance(obj, T):
        if obj.numel() != 1:
            raise ValueError(f"{op}: only one-element tensors can be converted to Python scalars, got a tensor of "
                             f"shape {tuple(obj.shape)} inside the data (use fg.stack to join tensors)")
        kinds.append(obj.dtype)
        return obj.item()
    if isinstance(obj, np.ndarray):
        kinds.append(dtypes.infer_dtype(obj, op))
        return obj.tolist()
    if isinstance(obj, np.generic):
        kinds.append(dtypes.infer_dtype(np.asarray(obj), op))
        return obj.item()
    if isinstance(obj, (list, tuple)):
        return [_convert(x, kinds, op) for x in obj]
    if isinstance(obj, _PY_SCALARS):
        kinds.append(scalar_dtype(obj))
        return obj
    raise TypeError(f"{op}: invalid data type '{type(obj).__name__}' inside the data")


def _host_array(data, op):
    """(numpy array copy of `data`, the dtype torch infers for it)."""
    if isinstance(data, np.ndarray):
        if data.dtype.kind == "c":
            raise TypeError(f"{op}: complex data (dtype {data.dtype}) is not supported: ferrograd has no complex dtypes")
        return np.array(data), dtypes.infer_dtype(data, op)
    if isinstance(data, np.generic):
        return np.array(data), dtypes.infer_dtype(np.asarray(data), op)
    if isinstance(data, _PY_SCALARS):
        if isinstance(data, int) and not -(2**63) <= data < 2**63:
            raise OverflowError(f"{op}: the int {data} does not fit in int64")
        return np.array(data), scalar_dtype(data)
    if isinstance(data, (list, tuple)):
        try:
            if _plain(data):
                array = np.array(data)
                kind = array.dtype.kind
                if kind == "O":  # ints beyond int64
                    raise OverflowError("an int in the data does not fit in int64")
                inferred = dtypes.bool_ if kind == "b" else dtypes.int64 if kind in "iu" else default_dtype()
                return array, inferred
            kinds = []
            nested = _convert(data, kinds, op)
            return np.array(nested), _combine(kinds)
        except ValueError as e:
            if "one-element" in str(e):
                raise
            raise ValueError(f"{op}: the data is not rectangular (nested lists of different lengths): {e}") from None
        except OverflowError as e:
            raise OverflowError(f"{op}: {e} (ints must fit in int64)") from None
    if isinstance(data, complex):
        raise TypeError(f"{op}: complex data is not supported: ferrograd has no complex dtypes")
    raise TypeError(f"{op}: invalid data type '{type(data).__name__}' (expected a number, a nested list/tuple, "
                    "a numpy array or a Tensor)")


@register("tensor", method=False)
def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of `data` (a number, nested lists/tuples of numbers or
    one-element tensors, a numpy array or a Tensor), with torch's dtype rules: Python floats
    become the default dtype (float32), ints int64, bools bool; numpy arrays keep float64 and
    int32; a Tensor keeps its dtype and device (the copy is detached)."""
    return _make("tensor", data, dtype, device, requires_grad)


def _make(op, data, dtype, device, requires_grad):
    T = tensor_cls()
    dt = dtype_arg(dtype, op)
    dev = device_arg(device, op, default=None)
    from ..wgpu.array import GpuArray

    if isinstance(data, GpuArray):
        data = T._wrap(data)
    if isinstance(data, T):
        target = dev or data.device
        src = data._data
        if type(src) is not np.ndarray and (target == "cpu" or (dt or data.dtype) == dtypes.float64):
            src = src.numpy()  # read back: the copy lives on the host (or float64 goes there)
        out_dt = dt or data.dtype
        array = src.astype(out_dt) if src.dtype != out_dt else src.copy()
        if type(array) is not np.ndarray:  # a device copy stays there
            check_requires_grad(out_dt, requires_grad, op)
            return T._wrap(array, bool(requires_grad))
        return place(array, target, op, requires_grad)
    array, inferred = _host_array(data, op)
    out_dt = dt or inferred
    if array.dtype != out_dt:
        array = array.astype(out_dt)
    return place(array, dev, op, requires_grad)


def _shares(array, dt, dev) -> bool:
    return (dev is None or dev == "cpu") and (dt is None or dt == array.dtype) and array.dtype in dtypes.SUPPORTED


@register("as_tensor", method=False)
def as_tensor(data, dtype=None, device=None):
    """`data` as a tensor without a copy where possible: a Tensor of the right dtype and device is
    returned as it is; a cpu numpy array of a supported dtype is shared (writes show in both)."""
    op = "as_tensor"
    T = tensor_cls()
    dt = dtype_arg(dtype, op)
    dev = device_arg(device, op, default=None)
    if isinstance(data, T):
        return data.to(dtype=dt, device=dev)
    if isinstance(data, np.ndarray) and _shares(data, dt, dev):
        return T._wrap(data)
    return _make(op, data, dt, dev, False)


@register("asarray", method=False)
def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """torch.asarray: shares memory with a Tensor or numpy array when dtype and device allow and
    `copy` is not True; `copy=False` raises where a copy would be needed."""
    op = "asarray"
    T = tensor_cls()
    dt = dtype_arg(dtype, op)
    dev = device_arg(device, op, default=None)
    if isinstance(obj, T):
        same = (dt is None or dt == obj.dtype) and (dev is None or dev == obj.device)
        if copy is False and not same:
            raise ValueError(f"{op}: copy=False, but a {obj.dtype} tensor on {obj.device} cannot become "
                             f"{dt or obj.dtype} on {dev or obj.device} without a copy")
        out = obj if same else obj.to(dtype=dt, device=dev)
        if copy and out is obj:
            out = obj.clone()
        if requires_grad and not out.requires_grad:
            out = out.detach().requires_grad_()
        return out
    if isinstance(obj, np.ndarray):
        if _shares(obj, dt, dev) and not copy:
            out = T._wrap(obj)
            return out.requires_grad_() if requires_grad else out
        if copy is False:
            raise ValueError(f"{op}: copy=False, but the {obj.dtype} array cannot be used as "
                             f"{dt or 'a supported dtype'} on {dev or 'cpu'} without a copy")
    elif copy is False and not hasattr(obj, "__array_interface__"):
        raise ValueError(f"{op}: copy=False, but a {type(obj).__name__} cannot be used without a copy")
    return _make(op, obj, dt, dev, requires_grad)


@register("from_numpy", method=False)
def from_numpy(ndarray):
    """A cpu tensor sharing memory with the numpy array `ndarray`: writes to one show in the other."""
    op = "from_numpy"
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"{op}: expected np.ndarray, got {type(ndarray).__name__}")
    dtypes.check_dtype(ndarray.dtype, op)
    return tensor_cls()._wrap(ndarray)
