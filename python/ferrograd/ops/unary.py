"""Elementwise unary functions: exp log sqrt abs tanh sigmoid relu clamp, and dtype casts."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from . import _generic as G
from ._util import kernels, native_float


class Exp(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved[0]


class Log(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, g):
        return g / ctx.saved[0]


class Sqrt(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return g / (2 * ctx.saved[0])


class Abs(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        return g * G.sign(ctx.saved[0])


class Tanh(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        y = ctx.saved[0]
        return g * (1 - y * y)


class Sigmoid(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        # exp of a non-positive number only: no overflow warnings for large |a|.
        e = np.exp(-np.abs(a))
        out = np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        y = ctx.saved[0]
        return g * y * (1 - y)


def _native_c(x) -> bool:
    """Whether the Rust kernels take `x` as it is, without a copy: a C-contiguous native float array."""
    return native_float(x) and x.flags.c_contiguous


class Relu(Function):
    """max(x, 0). Numpy float32/float64 C-contiguous arrays take the Rust kernels (one pass
    each way, no numpy dispatch cost on small arrays); anything else (GpuArray, other dtypes,
    strided views, and the Tensors of a create_graph backward) the generic form."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        if _native_c(a):
            return kernels(a).relu_forward(a)
        return np.maximum(a, 0)

    @staticmethod
    def backward(ctx, g):
        a = ctx.saved[0]
        if _native_c(a) and type(g) is np.ndarray and g.dtype is a.dtype and g.shape == a.shape \
                and g.flags.c_contiguous:
            return kernels(a).relu_backward(g, a)
        return g * (a > 0)


class Clamp(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, lo=None, hi=None):
        ctx.save_for_backward(a)
        ctx.lo, ctx.hi = lo, hi
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, g):
        a = ctx.saved[0]
        keep = None
        if ctx.lo is not None:
            keep = a >= ctx.lo
        if ctx.hi is not None:
            keep = (a <= ctx.hi) if keep is None else keep & (a <= ctx.hi)
        return g * keep


class ToDevice(Function):
    generic_backward = True

    """Move to another device (host <-> wgpu); the gradient moves back."""

    @staticmethod
    def forward(ctx, a, device):
        ctx.source = "cpu" if isinstance(a, np.ndarray) else "wgpu"
        return _move(a, str(device))

    @staticmethod
    def backward(ctx, g):
        if G.is_tensor(g):
            return g.to(ctx.source)
        return _move(g, ctx.source)


def _move(a, device: str):
    from ..wgpu.array import GpuArray, check_dtype

    if device == "cpu":
        return a.numpy() if isinstance(a, GpuArray) else a
    if isinstance(a, GpuArray):
        return a
    check_dtype(a.dtype, "to")  # float64 -> TypeError: not supported on the wgpu device
    return GpuArray.from_numpy(a)


class Cast(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return G.astype(g, ctx.dtype) if np.dtype(ctx.dtype).kind == "f" else None
