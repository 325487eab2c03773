"""Test helpers: float32 GpuArrays, plain or as non-contiguous views (a window sliced out of a
larger buffer, or a permutation of a contiguous buffer), holding the same values as numpy."""

import numpy as np

from ferrograd.wgpu.array import GpuArray


def dev(a, dtype=np.float32):
    return GpuArray.from_numpy(np.ascontiguousarray(a, dtype=dtype))


def sliced(a, dtype=np.float32):
    """A view of `a` cut out of a buffer padded by 1 before and 2 after along every dim."""
    a = np.asarray(a, dtype)
    big = np.full(tuple(n + 3 for n in a.shape), 7, dtype)
    big[tuple(slice(1, 1 + n) for n in a.shape)] = a
    base = dev(big, dtype)
    offset = sum(base.strides)
    return GpuArray(a.shape, dtype, base.storage, base.strides, offset)


def permuted(a, order, dtype=np.float32):
    """A view of `a` over a contiguous buffer laid out as a.transpose(order)."""
    a = np.asarray(a, dtype)
    base = dev(np.transpose(a, order), dtype)
    strides = [0] * a.ndim
    for pos, d in enumerate(order):
        strides[d] = base.strides[pos]
    return GpuArray(a.shape, dtype, base.storage, strides, 0)


def layouts(a, order=None, dtype=np.float32):
    """(name, GpuArray) pairs: contiguous, sliced and (when `order` is given) permuted."""
    out = [("contiguous", dev(a, dtype)), ("sliced", sliced(a, dtype))]
    if order is not None:
        out.append(("permuted", permuted(a, order, dtype)))
    return out


def flipped(a, axis, dtype=np.float32):
    """A view of `a` with a negative stride along `axis`, over a buffer holding a flipped."""
    a = np.asarray(a, dtype)
    base = dev(np.flip(a, axis), dtype)
    strides = list(base.strides)
    strides[axis] = -strides[axis]
    return GpuArray(a.shape, dtype, base.storage, strides, base.strides[axis] * (a.shape[axis] - 1))


def small_grid_limit(monkeypatch, limit=7):
    """Make the device report a tiny per-dimension workgroup limit, so small tests take the
    paths that big tensors take on a real GPU (folded grids, split launches)."""
    from ferrograd.wgpu import runtime

    rt = runtime.get()
    monkeypatch.setitem(rt.limits, "max-compute-workgroups-per-dimension", limit)
    assert rt.max_workgroups == limit
