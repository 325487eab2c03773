"""WGSL kernels with the calling conventions of `ferrograd._native`: the same function names,
arguments and results, on GpuArrays. `ops` picks this module or `_native` by the data's type
(`ops._util.kernels`), looking functions up by name at call time: a kernel family not written
for the device yet raises KernelMissing (a NotImplementedError) naming the function."""

from .matmul import matmul  # noqa: F401


class KernelMissing(NotImplementedError, AttributeError):
    """No wgpu kernel of that name yet. Also an AttributeError, so hasattr() and getattr() with a
    default answer normally."""


def __getattr__(name: str):
    if name.startswith("_"):
        raise AttributeError(name)
    raise KernelMissing(f"{name} is not implemented on the wgpu device yet")
