"""Helpers shared by the fused kernel families: argument checks that raise before any dispatch,
free views (transpose, permute, slices), strided copies, fills and axis sums on the device."""

from __future__ import annotations

import numpy as np

from .. import elementwise, runtime
from ..array import GpuArray

_GROUP = 256


def check(op: str, what: str, a, ndim: int | None = None, optional: bool = False) -> GpuArray | None:
    """`a` as a float32 GpuArray (TypeError otherwise), of rank `ndim` when given (ValueError)."""
    if a is None and optional:
        return None
    check_type(op, what, a)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{op}: {what} must have {ndim} dims, got shape {a.shape}")
    if any(s < 0 for s in a.strides):
        raise ValueError(f"{op}: {what} has negative strides {a.strides}; the wgpu kernels need non-negative ones")
    return a


def check_type(op: str, what: str, a) -> None:
    """TypeError unless `a` is a float32 GpuArray."""
    if not isinstance(a, GpuArray):
        raise TypeError(f"{op}: {what} must be a wgpu GpuArray, got {type(a).__name__}")
    if a.dtype != np.float32:
        raise TypeError(f"{op}: {what} must be float32 on the wgpu device, got {a.dtype}")


def expect_shape(op: str, what: str, a: GpuArray | None, want: tuple) -> None:
    if a is not None and a.shape != tuple(want):
        raise ValueError(f"{op}: {what} has shape {a.shape}, expected {tuple(want)}")


def expect_contiguous(op: str, what: str, a: GpuArray) -> None:
    if not a.is_contiguous:
        raise ValueError(f"{op}: {what} must be C-contiguous, got shape {a.shape} strides {a.strides}")


def view(a: GpuArray, shape, strides, offset: int = 0) -> GpuArray:
    """A view of a's buffer: shape and strides in elements, offset relative to a's own."""
    return GpuArray(shape, a.dtype, a.storage, strides, a.offset + offset)


def permute(a: GpuArray, *axes) -> GpuArray:
    return GpuArray([a.shape[i] for i in axes], a.dtype, a.storage, [a.strides[i] for i in axes], a.offset)


def t(a: GpuArray) -> GpuArray:
    """The last two dims swapped (no copy)."""
    axes = list(range(a.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return permute(a, *axes)


def rows(a: GpuArray, start: int, stop: int) -> GpuArray:
    """a[start:stop] along the first axis."""
    return view(a, (stop - start, *a.shape[1:]), a.strides, start * a.strides[0])


def pipeline(name: str, *parts: str, entry: str = "main", constants: dict | None = None):
    """The pipeline of shaders/`name`.wgsl prefixed by shared `parts` (helpers and bindings that
    several kernels use; WGSL has no includes)."""
    rt = runtime.get()
    source = None
    if parts:
        source = "\n".join(runtime.load_shader(p) for p in (*parts, name))
    return rt.pipeline(name if not parts else "+".join((*parts, name)), entry, constants, source)


def groups(n_threads: int) -> tuple:
    rt = runtime.get()
    return runtime.grid_1d(-(-n_threads // _GROUP), rt.max_workgroups)


def dummy() -> runtime.Storage:
    """A small buffer for a binding the kernel skips at run time (an absent bias or mask)."""
    return runtime.get().alloc(16)


def fill(a: GpuArray, value: float) -> GpuArray:
    """Every element of the contiguous array `a` (offset 0) set to `value`."""
    assert a.offset == 0 and a.is_contiguous
    a.fill(value)  # the array layer's fill, which also splits buffers larger than one binding
    return a


def copy_to(src: GpuArray, dst: GpuArray) -> GpuArray:
    """dst (contiguous, same shape) = src read through its strides: the array layer's copy kernel
    (a plain buffer copy when src is contiguous too)."""
    if src.shape != dst.shape or not dst.is_contiguous:
        raise ValueError(f"copy: shapes {src.shape} -> {dst.shape} (contiguous destination) needed")
    if src.size and src.is_contiguous:
        runtime.get().copy(src.storage, src.offset * 4, dst.storage, dst.offset * 4, src.size * 4)
    elif src.size:
        elementwise.assign(dst, src)
    return dst


def contiguous(a: GpuArray) -> GpuArray:
    """a itself when contiguous, else a contiguous copy (recorded, not read back)."""
    return elementwise.contiguous(a)


def sum_axes(x: GpuArray, a: int, j: int, k: int, out: GpuArray, out_off: int = 0) -> None:
    """out[out_off + jj] = sum over aa < a, kk < k of x[(aa * j + jj) * k + kk], x contiguous.

    Long inner runs (k > 1) get a workgroup per output with a tree reduction; k == 1 (column
    sums) a thread per output, so neighbouring threads read neighbouring elements. An x larger
    than one binding is summed in blocks of a (and of j when one a-slice is too long), each block
    adding to the sums of the ones before."""
    assert x.is_contiguous and out.is_contiguous
    if j == 0:
        return
    rt = runtime.get()
    pipe = rt.pipeline("sum_axes", "per_thread" if k == 1 else "per_group")
    room = (rt.max_binding - rt.storage_align) // 4
    if x.storage.nbytes <= rt.max_binding:
        per_a, per_j = a, j
    elif j * k <= room:
        per_a, per_j = room // (j * k), j
    elif k <= room:
        per_a, per_j = 1, room // k
    else:
        raise ValueError(f"sum_axes: a run of {k} values exceeds the device's max-storage-buffer-binding-size "
                         f"{rt.max_binding} bytes")
    for a0 in range(0, max(a, 1), max(per_a, 1)):
        na = min(per_a, a - a0)
        for j0 in range(0, j, per_j):
            nj = min(per_j, j - j0)
            lo = x.offset + (a0 * j + j0) * k
            x_bind, x_base = rt.window(x.storage, lo, lo + max(((na - 1) * j + nj) * k, 1))
            o_lo = out.offset + out_off + j0
            o_bind, o_base = rt.window(out.storage, o_lo, o_lo + nj)
            params = runtime.pack(na, nj, k, lo - x_base, o_lo - o_base, j, int(a0 > 0), fmt="I" * 7)
            grid = groups(nj) if k == 1 else runtime.grid_1d(nj, rt.max_workgroups)
            rt.launch(pipe, [x_bind, o_bind], grid, params)


def flat_windows(arrays, n: int):
    """Launches over elements [0, n) of contiguous arrays (each from its own offset): yields
    (start, count, bindings, element offsets). One launch binding whole buffers when every buffer
    fits one binding; otherwise ranges short enough that each array's window fits one."""
    rt = runtime.get()
    if all(x.storage.nbytes <= rt.max_binding for x in arrays):
        yield 0, n, [x.storage for x in arrays], [x.offset for x in arrays]
        return
    step = (rt.max_binding - rt.storage_align) // 16 * 4  # whole groups of 4 (dropout's Philox blocks)
    for start in range(0, n, step):
        count = min(step, n - start)
        binds, offs = [], []
        for x in arrays:
            binding, base = rt.window(x.storage, x.offset + start, x.offset + start + count)
            binds.append(binding)
            offs.append(x.offset + start - base)
        yield start, count, binds, offs
