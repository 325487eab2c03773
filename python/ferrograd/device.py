"""Device names: "cpu" (numpy arrays, Rust kernels) and "wgpu" (GpuArrays, WGSL kernels)."""

from __future__ import annotations

import numpy as np

KNOWN = ("cpu", "wgpu")


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
WGPU = device("wgpu")


def of(array) -> device:
    """The device an array lives on."""
    return CPU if isinstance(array, np.ndarray) else WGPU
