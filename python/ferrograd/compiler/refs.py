"""How a captured step names its arguments: a slot of the program (an array made inside the step, or
an input), a long-lived tensor read afresh on every replay (a parameter, a buffer), or a constant."""

from __future__ import annotations

import numpy as np

from ..wgpu.array import GpuArray

ARRAYS = (np.ndarray, GpuArray)


class Slot:
    """The array held in register `i` of a replay."""

    __slots__ = ("i",)

    def __init__(self, i):
        self.i = i


class Ext:
    """A tensor that outlives the step (parameter, buffer, optimizer state): its `_data` is read
    when the step replays, so updates between calls are seen."""

    __slots__ = ("t",)

    def __init__(self, t):
        self.t = t


class Const:
    """A value fixed at capture time (a Python number, a dtype, an array made outside autograd).
    Two captures must agree on it, or the program would replay a stale value."""

    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v


class Seq:
    """A list, tuple or dict holding tensors (`torch.cat([a, b])`, an index key)."""

    __slots__ = ("kind", "items", "keys")

    def __init__(self, kind, items, keys=None):
        self.kind, self.items, self.keys = kind, items, keys


def has_tensor(x, tensor_type) -> bool:
    if isinstance(x, tensor_type) or isinstance(x, ARRAYS):
        return True
    if type(x) in (list, tuple):
        return any(has_tensor(v, tensor_type) for v in x)
    if type(x) is dict:
        return any(has_tensor(v, tensor_type) for v in x.values())
    return False


def slots_in(ref) -> list:
    """The registers a reference reads."""
    if type(ref) is Slot:
        return [ref.i]
    if type(ref) is Seq:
        return [i for x in ref.items for i in slots_in(x)]
    return []


def array_getter(ref):
    """A function of the registers giving the raw array (or value) `ref` names."""
    if type(ref) is Slot:
        i = ref.i
        return lambda r: r[i]
    if type(ref) is Ext:
        t = ref.t
        return lambda r: t._data
    if type(ref) is Const:
        v = ref.v
        return lambda r: v
    gets = [array_getter(x) for x in ref.items]
    if ref.kind is dict:
        keys = list(ref.keys)
        return lambda r: {k: g(r) for k, g in zip(keys, gets)}
    kind = ref.kind
    return lambda r: kind(g(r) for g in gets)


def tensor_getter(ref, wrap):
    """Like array_getter, with arrays made inside the step handed out as (graph-free) tensors."""
    if type(ref) is Slot:
        i = ref.i
        return lambda r: wrap(r[i])
    if type(ref) is Ext:
        t = ref.t
        return lambda r: t
    if type(ref) is Const:
        v = ref.v
        return lambda r: v
    gets = [tensor_getter(x, wrap) for x in ref.items]
    if ref.kind is dict:
        keys = list(ref.keys)
        return lambda r: {k: g(r) for k, g in zip(keys, gets)}
    kind = ref.kind
    return lambda r: kind(g(r) for g in gets)


def same(a, b, tensor_type) -> bool:
    """Whether two captures named the same thing: slots by number, long-lived tensors by identity
    (or, made afresh by each call, by value), constants by value."""
    if type(a) is not type(b):
        return False
    if type(a) is Slot:
        return a.i == b.i
    if type(a) is Ext:
        return a.t is b.t or _same_value(a.t._data, b.t._data)
    if type(a) is Const:
        return _same_value(a.v, b.v)
    if a.kind is not b.kind or len(a.items) != len(b.items):
        return False
    if a.kind is dict and a.keys != b.keys:
        return False
    return all(same(x, y, tensor_type) for x, y in zip(a.items, b.items))


def _same_value(x, y) -> bool:
    if x is y:
        return True
    if isinstance(x, ARRAYS) or isinstance(y, ARRAYS):
        if type(x) is not type(y) or x.shape != y.shape or x.dtype != y.dtype:
            return False
        if type(x) is GpuArray:
            x, y = x.numpy(), y.numpy()
        return bool(np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))
    if type(x) is not type(y):
        return False
    try:
        eq = x == y
        return bool(eq) if isinstance(eq, (bool, np.bool_)) else False
    except Exception:
        return False
