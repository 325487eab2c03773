"""The one door into the device kernels: `ops` reaches every wgpu kernel through this package's
names (`ops._util.kernels(x).<name>`), so the package wraps each kernel here once.

The kernels index their operands with u32 strides and offsets (WGSL has no negative strides in
their parameter structs), so an operand with a negative stride (a flipped view, `x.flip(0)` or
`x[::-1]`) is copied to a contiguous array first; a negative stride on a length-1 dim is never
stepped, so it just becomes 0 (no copy). Arguments a kernel writes into (matmul's `out`, the
optimizer state) are left alone: those kernels refuse a non-contiguous destination themselves."""

from __future__ import annotations

import functools

from ..array import GpuArray
from ._layout import forward_strides


def _operand(a):
    return forward_strides(a) if type(a) is GpuArray else a


def device_kernel(fn, written=()):
    """`fn` with its GpuArray arguments (positional or keyword, except the names in `written`)
    given non-negative strides."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        args = tuple(_operand(a) for a in args)
        if kwargs:
            kwargs = {k: (v if k in written else _operand(v)) for k, v in kwargs.items()}
        return fn(*args, **kwargs)

    return call
