"""Hypothesis strategies for bad and edge-case arguments: tensors of odd shapes and dtypes, and
the values people pass by mistake (negative or huge sizes, NaN, None, strings, lists, wrong
devices)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

import ferrograd as fg

DTYPES = ["float32", "float64", "int64", "int32", "bool"]


@st.composite
def shapes(draw, max_dims=4, max_side=4):
    return tuple(draw(st.lists(st.integers(0, max_side), min_size=0, max_size=max_dims)))


@st.composite
def arrays(draw, dtype=None):
    shape = draw(shapes())
    dt = draw(st.sampled_from(DTYPES)) if dtype is None else dtype
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    values = rng.standard_normal(shape) * draw(st.sampled_from([1.0, 1e-30, 1e30]))
    if dt == "bool":
        return values > 0
    if dt.startswith("int"):
        return (values * 3).astype(dt)
    a = values.astype(dt)
    if a.size and draw(st.booleans()):
        a.reshape(-1)[0] = draw(st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0]))
    return a


@st.composite
def tensors(draw, device="cpu", dtype=None):
    a = draw(arrays(dtype))
    if device == "wgpu" and a.dtype == np.float64:
        a = a.astype(np.float32)
    if device == "wgpu" and a.dtype.kind == "i":  # device integers are 32-bit
        a = np.clip(a, -(2**31), 2**31 - 1)
    t = fg.tensor(a, device=device)
    if a.ndim >= 2 and draw(st.booleans()):
        t = t.transpose(0, -1)  # non-contiguous
    return t


ODD_VALUES = st.one_of(
    st.none(),
    st.integers(-(2**16), 2**16),  # sizes that fit in memory...
    st.sampled_from([0, -1, 1, 2, 2**40, -(2**40), 2**62]),  # ...and ones that cannot
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "mean", "sum", "none", "abc", "cpu", "wgpu"]),
    st.lists(st.integers(-3, 3), max_size=3),
    st.tuples(st.integers(-3, 3), st.integers(-3, 3)),
    st.booleans(),
)


@st.composite
def arguments(draw, device="cpu", max_args=4):
    """A positional argument list mixing tensors (the usual first argument) and odd values."""
    n = draw(st.integers(0, max_args))
    first = draw(tensors(device))
    rest = [draw(st.one_of(tensors(device), ODD_VALUES)) for _ in range(n)]
    return [first, *rest]
