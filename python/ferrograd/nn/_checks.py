"""Constructor argument checks shared by the nn modules: a TypeError/ValueError that names the
module, the argument, what it got and what it expects, instead of a failure deep inside `empty`."""

from __future__ import annotations

import numbers


def check_size(module: str, **sizes) -> None:
    """Each value a non-negative int (a layer width, a channel or feature count)."""
    for arg, v in sizes.items():
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"{module}: {arg} must be an int, got {type(v).__name__} {v!r}")
        if v < 0:
            raise ValueError(f"{module}: {arg} must be non-negative, got {v}")


def check_positive(module: str, **values) -> None:
    """Each value an int > 0 (groups, heads), or a tuple of them (kernel_size, stride)."""
    for arg, v in values.items():
        for item in v if isinstance(v, (tuple, list)) else (v,):
            if not isinstance(item, numbers.Integral) or isinstance(item, bool):
                raise TypeError(f"{module}: {arg} must be an int or a tuple of ints, got {v!r}")
            if item <= 0:
                raise ValueError(f"{module}: {arg} must be a positive integer, got {v!r}")
