"""`ModelOutput`: transformers' output object — fields by attribute or key, and a tuple of the
fields that are not None (`out[0]`, `hidden, pooled = out`)."""

from __future__ import annotations

from collections import OrderedDict


class ModelOutput(OrderedDict):
    """Fields in the order given; None-valued fields are left out, as transformers does."""

    def __init__(self, **fields):
        super().__init__((k, v) for k, v in fields.items() if v is not None)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            return None  # transformers: a field the model did not fill reads as None

    def __setattr__(self, name, value):
        self[name] = value

    def __getitem__(self, key):
        if isinstance(key, (int, slice)):
            return self.to_tuple()[key]
        return OrderedDict.__getitem__(self, key)

    def __iter__(self):  # unpacking gives the values, as a tuple would
        return iter(self.to_tuple())

    def to_tuple(self) -> tuple:
        return tuple(OrderedDict.__getitem__(self, k) for k in OrderedDict.keys(self))

    def keys(self):
        return list(OrderedDict.keys(self))

    def __repr__(self):
        inner = ", ".join(f"{k}={_short(v)}" for k, v in OrderedDict.items(self))
        return f"{type(self).__name__}({inner})"


def _short(v):
    shape = getattr(v, "shape", None)
    return f"<{type(v).__name__} shape={tuple(shape)}>" if shape is not None else repr(v)
