"""`fg.Size`: the type of `Tensor.shape` and `Tensor.size()`, a tuple of ints, as torch.Size."""

from __future__ import annotations

import operator


_new = tuple.__new__


class Size(tuple):
    """A tuple of non-negative ints: equal to the plain tuple of the same sizes; slicing and
    `+ tuple` give a Size again; `numel()` is the product."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        items = []
        for i, n in enumerate(sizes):
            if isinstance(n, bool) or not hasattr(n, "__index__"):
                raise TypeError(f"Size: takes an iterable of 'int' (item {i} is '{type(n).__name__}')")
            items.append(operator.index(n))
        return super().__new__(cls, items)

    def numel(self) -> int:
        out = 1
        for n in self:
            out *= n
        return out

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return _new(Size, out) if type(key) is slice else out  # a slice of ints needs no re-check

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return _new(Size, tuple(self) + other) if type(other) is Size else Size(tuple(self) + tuple(other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(other) + tuple(self))

    def __mul__(self, n):
        return Size(tuple(self) * n)

    __rmul__ = __mul__

    def __repr__(self):
        return f"ferrograd.Size({list(self)})"

    # In messages and print() a Size reads as the plain tuple it equals: "(2, 3)".
    __str__ = tuple.__repr__

    def __format__(self, spec):
        return format(tuple.__repr__(self), spec)

    def __reduce__(self):
        return (Size, (tuple(self),))
