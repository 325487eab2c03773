"""Argument checks every registry family uses: the one place that names the op and the argument
in a type error."""

from __future__ import annotations

from .. import dtypes
from ..autograd import _TENSOR, _tensor_type


def tensor_cls():
    return _TENSOR[0] or _tensor_type()


def check_tensor(value, op: str, name: str = "input"):
    """`value` if it is a Tensor, else TypeError naming the op and the argument."""
    if not isinstance(value, _TENSOR[0] or _tensor_type()):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
    return value


def floated(value, op: str, name: str = "input"):
    """A Tensor argument in a float dtype (integers and bools converted to the default float)."""
    value = check_tensor(value, op, name)
    return value if dtypes.is_float(value.dtype) else value.to(dtypes.default_float())
