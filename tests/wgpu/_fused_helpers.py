"""Shared helpers of the fused-kernel tests: device copies, strided device views, comparisons."""

import numpy as np

from ferrograd.wgpu.array import GpuArray


def dev(a):
    return GpuArray.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def dev_permuted(a, axes):
    """A non-contiguous GpuArray equal to `a`: a contiguous copy of a.transpose(axes), viewed back
    through permuted strides (so the kernel must honour the strides)."""
    base = dev(np.transpose(a, axes))
    inv = np.argsort(axes)
    return GpuArray(a.shape, np.float32, base.storage, [base.strides[i] for i in inv], base.offset)


def dev_sliced(a):
    """A GpuArray equal to `a` that is a strided slice (every other row of the first axis) of a
    larger buffer, with a non-zero offset."""
    big = np.zeros((2 * a.shape[0] + 1, *a.shape[1:]), np.float32)
    big[1::2] = a
    base = dev(big)
    strides = (2 * base.strides[0], *base.strides[1:])
    return GpuArray(a.shape, np.float32, base.storage, strides, base.offset + base.strides[0])


def close(got, want, tol=2e-4):
    got = got.numpy() if isinstance(got, GpuArray) else got
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def rand(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def forbid_dispatch(monkeypatch):
    """Make any recorded dispatch or copy fail: argument errors must come before the first one."""
    from ferrograd.wgpu import runtime

    def fail(*args, **kwargs):
        raise AssertionError("a dispatch was recorded before the arguments were checked")

    rt = runtime.get()
    monkeypatch.setattr(rt, "launch", fail)
    monkeypatch.setattr(rt, "copy", fail)
