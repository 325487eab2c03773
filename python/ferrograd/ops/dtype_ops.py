"""Registry entries: dtype and device conversions and dtype queries, as torch's Tensor methods.

to (dtype / device / another tensor), type, type_as, int/long/float/double/bool (half, bfloat16,
short, char and byte raise: ferrograd has no such dtypes), is_floating_point, is_complex,
element_size, numel, is_tensor. Casts are differentiable (the gradient is cast back), moves
between devices too.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..device import CPU
from ..device import device as Device
from ._factory import dtype_arg, tensor_cls
from .registry import register
from ._args import check_tensor as _check

_TYPE_NAMES = {
    dtypes.float32: "FloatTensor",
    dtypes.float64: "DoubleTensor",
    dtypes.int32: "IntTensor",
    dtypes.int64: "LongTensor",
    dtypes.bool_: "BoolTensor",
}
_UNSUPPORTED = {"HalfTensor": "float16", "BFloat16Tensor": "bfloat16", "ByteTensor": "uint8",
                "CharTensor": "int8", "ShortTensor": "int16"}


def _is_dtype(x) -> bool:
    return isinstance(x, np.dtype) or x in (float, int, bool) or (isinstance(x, type) and issubclass(x, np.generic))


@register("to", function=False)
def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None):
    """This tensor in another dtype and/or on another device, as Tensor.to: `t.to(fg.float64)`,
    `t.to("wgpu")`, `t.to("cpu", fg.float64)`, `t.to(other)` (other's dtype and device),
    `t.to(device=..., dtype=..., copy=True)`. Returns self when nothing changes (and copy is
    False); otherwise differentiable."""
    op = "to"
    _check(self, op)
    T = tensor_cls()
    flags = []
    for a in args:
        if isinstance(a, T):
            dtype, device = a.dtype, a.device
        elif isinstance(a, bool):
            flags.append(a)  # non_blocking, copy (positional, as torch)
        elif isinstance(a, (str, Device)):
            device = a
        elif _is_dtype(a):
            dtype = a
        else:
            raise TypeError(f"{op}: expected a dtype, a device or a tensor, got {type(a).__name__} {a!r}")
    if len(flags) > 2:
        raise TypeError(f"{op}: too many positional bool arguments {flags} (non_blocking, copy)")
    if len(flags) == 2:
        copy = flags[1]
    dt = dtype_arg(dtype, op)
    target = None if device is None else Device(device)  # ValueError for an unknown device
    from .unary import Cast, ToDevice

    out = self
    if dt is not None and dt != self.dtype:
        if target is not None and target == CPU and target != self.device:
            out = ToDevice.apply(out, target)  # read back first: float64 lives on the host
        out = Cast.apply(out, dt)
    if target is not None and target != out.device:
        out = ToDevice.apply(out, target)
    if copy and out is self:
        out = self.clone()
    return out


def _type_string(t) -> str:
    where = "" if t.device == CPU else f"{t.device}."
    return f"torch.{where}{_TYPE_NAMES[t.dtype]}"


def _parse_type_string(s: str, op: str):
    """'torch.FloatTensor' / 'torch.wgpu.LongTensor' (or ferrograd.*) -> (dtype, device)."""
    parts = s.split(".")
    if len(parts) not in (2, 3) or parts[0] not in ("torch", "ferrograd"):
        raise ValueError(f"{op}: invalid type {s!r} (expected e.g. 'torch.FloatTensor' or 'torch.wgpu.FloatTensor')")
    name = parts[-1]
    if name in _UNSUPPORTED:
        raise TypeError(f"{op}: {s} ({_UNSUPPORTED[name]}) is not supported by ferrograd")
    by_name = {v: k for k, v in _TYPE_NAMES.items()}
    if name not in by_name:
        raise ValueError(f"{op}: invalid type {s!r}")
    device = CPU if len(parts) == 2 else Device("wgpu" if parts[1] in ("wgpu", "cuda") else parts[1])
    return by_name[name], device


@register("type", function=False)
def type_(self, dtype=None, non_blocking=False, **kwargs):
    """Without dtype: the type string ('torch.FloatTensor', 'torch.wgpu.LongTensor', ...). With a
    dtype or such a string: this tensor cast to it (self when it already is)."""
    op = "type"
    _check(self, op)
    if dtype is None:
        return _type_string(self)
    if isinstance(dtype, str):
        dt, device = _parse_type_string(dtype, op)
        return to(self, dt, device=device)
    return to(self, dtype_arg(dtype, op))


@register("type_as", function=False)
def type_as(self, other):
    """This tensor with `other`'s dtype (and device), as Tensor.type_as."""
    _check(self, "type_as")
    if not isinstance(other, tensor_cls()):
        raise TypeError(f"type_as: other must be a Tensor, got {type(other).__name__}")
    return to(self, other.dtype, device=other.device)


def _cast_method(name, dt):
    def fn(self, memory_format=None):
        return to(_check(self, name), dt)

    fn.__doc__ = f"`self.to({dt})`, as Tensor.{name}."
    register(name, function=False)(fn)


def _unsupported_method(name, what):
    def fn(self, memory_format=None):
        _check(self, name)
        raise TypeError(f"{name}: {what} is not supported by ferrograd (dtypes: float32, float64, int32, int64, bool)")

    fn.__doc__ = f"Raises TypeError: ferrograd has no {what}."
    register(name, function=False)(fn)


_cast_method("float", dtypes.float32)
_cast_method("double", dtypes.float64)
_cast_method("int", dtypes.int32)
_cast_method("long", dtypes.int64)
_cast_method("bool", dtypes.bool_)
_unsupported_method("half", "float16")
_unsupported_method("bfloat16", "bfloat16")
_unsupported_method("short", "int16")
_unsupported_method("char", "int8")
_unsupported_method("byte", "uint8")


@register("is_floating_point")
def is_floating_point(input) -> bool:
    return dtypes.is_float(_check(input, "is_floating_point").dtype)


@register("is_complex")
def is_complex(input) -> bool:
    """Always False: ferrograd has no complex dtypes."""
    _check(input, "is_complex")
    return False


@register("element_size", function=False)
def element_size(self) -> int:
    """Bytes per element (4 for float32, 8 for int64, 1 for bool)."""
    return int(np.dtype(_check(self, "element_size").dtype).itemsize)


@register("numel")
def numel(input) -> int:
    return int(_check(input, "numel")._data.size)


@register("is_tensor", method=False)
def is_tensor(obj) -> bool:
    """Whether `obj` is a ferrograd Tensor (Parameters included)."""
    return isinstance(obj, tensor_cls())
