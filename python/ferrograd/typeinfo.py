"""dtype facts and the default dtype: `fg.finfo`, `fg.iinfo`, `fg.get_default_dtype`,
`fg.set_default_dtype`, as torch's.

The default dtype is what floats become when nothing says otherwise: `fg.tensor(3.5)`,
`fg.zeros(2)`, `fg.arange(0.5, 3)`, `fg.rand(2)`. It is float32 or float64 (ferrograd has no
float16/bfloat16).
"""

from __future__ import annotations

import numpy as np

from . import dtypes

_default = [dtypes.float32]


def _as_dtype(dtype, op: str) -> np.dtype:
    if isinstance(dtype, str) and dtype.startswith(("torch.", "ferrograd.", "fg.")):
        dtype = dtype.split(".", 1)[1]
    if dtype is float:
        return dtypes.float64
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: {dtype!r} is not a dtype") from None


def get_default_dtype() -> np.dtype:
    """The dtype of float tensors made without a dtype (float32 unless set_default_dtype)."""
    return _default[0]


def set_default_dtype(d) -> None:
    """Make `d` (fg.float32 or fg.float64) the default float dtype."""
    dt = _as_dtype(d, "set_default_dtype")
    if dt not in dtypes.FLOATS:
        extra = " (float16 is not supported by ferrograd)" if dt.kind == "f" else ""
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the default type, "
                        f"got {dt}; expected float32 or float64{extra}")
    _default[0] = dt


class finfo:
    """Machine limits of a float dtype: bits, eps, max, min, tiny (= smallest_normal), resolution."""

    def __init__(self, type=None):  # noqa: A002  (torch's argument name)
        dt = get_default_dtype() if type is None else _as_dtype(type, "finfo")
        if dt.kind != "f":
            raise TypeError(f"finfo: requires a floating point input type, got {dt}; use fg.iinfo for integer types")
        info = np.finfo(dt)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = 10.0 ** -int(info.precision)  # exact 1e-06, as torch (numpy keeps float32 rounding)
        self.dtype = str(dt)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")

    def __eq__(self, other):
        return isinstance(other, finfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))


class iinfo:
    """Machine limits of an integer dtype: bits, max, min."""

    def __init__(self, type):  # noqa: A002
        dt = _as_dtype(type, "iinfo")
        if dt.kind not in "iu":
            what = "bool is not supported by iinfo" if dt.kind == "b" else "requires an integer input type"
            raise TypeError(f"iinfo: {what}, got {dt}; use fg.finfo for float types")
        info = np.iinfo(dt)
        self.bits = int(info.bits)
        self.max = int(info.max)
        self.min = int(info.min)
        self.dtype = str(dt)

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"

    def __eq__(self, other):
        return isinstance(other, iinfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))
