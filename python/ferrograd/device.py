"""Device names. Only "cpu" exists until the wgpu backend lands."""

from __future__ import annotations

KNOWN = ("cpu",)


class device:
    """A device name that compares equal to its string, like `torch.device`."""

    __slots__ = ("type",)

    def __init__(self, name):
        name = name.type if isinstance(name, device) else str(name)
        if name not in KNOWN:
            raise ValueError(f"device: unknown device {name!r} (available: {', '.join(KNOWN)})")
        self.type = name

    def __eq__(self, other):
        if isinstance(other, device):
            return self.type == other.type
        return isinstance(other, str) and self.type == other

    def __hash__(self):
        return hash(self.type)

    def __repr__(self):
        return f"device(type={self.type!r})"

    def __str__(self):
        return self.type


CPU = device("cpu")
