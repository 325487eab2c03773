"""The dtypes a Tensor can hold, and the promotion rules between them (PyTorch's, not numpy's)."""

from __future__ import annotations

import numpy as np

float32 = np.dtype("float32")
float64 = np.dtype("float64")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")

SUPPORTED = (float32, float64, int32, int64, bool_)
FLOATS = (float32, float64)


def is_float(dtype) -> bool:
    if isinstance(dtype, np.dtype):  # the common case, without np.dtype()'s parsing
        return dtype.kind == "f" and dtype.itemsize in (4, 8)
    return np.dtype(dtype) in FLOATS


def check_dtype(dtype, op: str = "tensor") -> np.dtype:
    """The numpy dtype for `dtype`, or TypeError if ferrograd does not support it."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: {dtype!r} is not a dtype") from None
    if dt not in SUPPORTED:
        names = ", ".join(str(d) for d in SUPPORTED)
        raise TypeError(f"{op}: dtype {dt} is not supported (supported: {names})")
    return dt


def default_float() -> np.dtype:
    """The default float dtype (fg.set_default_dtype; float32 unless changed)."""
    from .typeinfo import get_default_dtype

    return get_default_dtype()


def infer_dtype(array: np.ndarray, op: str = "tensor", from_python: bool = False) -> np.dtype:
    """What `fg.tensor` stores for data numpy read as `array`: floats become float32 unless they
    are float64 arrays, integers int64, as in PyTorch. `from_python` says the data were Python
    numbers or lists, which numpy reads as float64 although PyTorch makes them float32."""
    kind = array.dtype.kind
    if kind == "f":
        return float64 if array.dtype == float64 and not from_python else default_float()
    if kind in "iu":
        return array.dtype if array.dtype in (int32, int64) else int64
    if kind == "b":
        return bool_
    raise TypeError(f"{op}: cannot make a tensor from data of dtype {array.dtype}")


def promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """Result dtype of a binary op between two tensors: a float side wins over an int side."""
    if a == b:
        return a
    fa, fb = a in FLOATS, b in FLOATS
    if fa and not fb:
        return a
    if fb and not fa:
        return b
    return np.promote_types(a, b)
