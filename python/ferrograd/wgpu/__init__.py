"""The wgpu (WebGPU) backend: WGSL kernels on any GPU with Vulkan, Metal or Direct3D 12.

A "wgpu" Tensor holds a GpuArray, which behaves like a numpy array for everything ferrograd's
Python ops do, so ops, autograd, nn and optim run on the device unchanged:

    runtime.py      the device, buffer pool, pipeline cache, batched dispatches, readback (counted)
    array.py        GpuArray: shape, element strides, offset over a pooled buffer; dtype policy
    elementwise.py  numpy ufuncs, casts, copies, fills, where: one generated strided kernel family
    reduce.py       sum / prod / max / min / argmax / argmin over any axes; mean and var on them
    views.py        reshape, transpose, squeeze, expand_dims, broadcast_to: free views
    indexing.py     basic keys as views; integer-array gather, scatter, add.at, *_along_axis
    functions.py    numpy functions (np.sum, np.concatenate, np.where, np.matmul, ...)
    scan.py         cumsum / cumprod along any axis (blocked scan; multi-pass for long rows)
    sort.py         sort / argsort (stable, descending too), topk, searchsorted (bitonic + merge)
    layout.py       flip, roll, repeat, tile, diag, diagonal, tril, triu
    select.py       nonzero / argwhere, unique, bincount (each reads back one count)
    _rows.py        the row layout scan and sort share, and their split across storage bindings
    kernels/        `_native`-compatible kernel families (matmul, ...), picked by ops._util.kernels
    shaders/        the WGSL sources
"""

from __future__ import annotations

from .runtime import KernelError, NoAdapterError, is_available


def adapter_info() -> dict:
    """Vendor, device, backend, features and limits of the adapter in use."""
    from . import runtime

    return runtime.get().info


def synchronize() -> None:
    """Submit recorded work and wait for the device to finish it."""
    from . import runtime

    runtime.get().synchronize()


__all__ = ["KernelError", "NoAdapterError", "adapter_info", "is_available", "synchronize"]
