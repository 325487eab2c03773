"""Pooling ops (NCHW), each forward next to its backward, on the kernels of the data's device
(`_util.kernels`: Rust for numpy arrays, WGSL for GpuArrays).

Arguments arrive validated by `nn.functional.pooling`; kernel/stride/padding are pairs.
Max pooling saves the argmax of every window (flat index within its plane) for backward.
"""

from __future__ import annotations

from ..autograd import Function
from ._util import ascontiguous, kernels


class MaxPool2d(Function):
    @staticmethod
    def forward(ctx, x, kernel, stride, pad):
        y, idx = kernels(x).max_pool2d_forward(x, kernel, stride, pad)
        ctx.save_for_backward(idx)
        ctx.args = (x.shape, kernel, stride, pad)
        return y

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved
        shape, kernel, stride, pad = ctx.args
        g = ascontiguous(g)
        return (kernels(g).max_pool2d_backward(g, idx, shape, kernel, stride, pad),)


class AvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, kernel, stride, pad, count_include_pad):
        ctx.args = (x.shape, kernel, stride, pad, count_include_pad)
        return kernels(x).avg_pool2d_forward(x, kernel, stride, pad, count_include_pad)

    @staticmethod
    def backward(ctx, g):
        shape, kernel, stride, pad, include = ctx.args
        return (kernels(g).avg_pool2d_backward(ascontiguous(g), shape, kernel, stride, pad, include),)


class AdaptiveAvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, out_size):
        ctx.args = (x.shape, out_size)
        return kernels(x).adaptive_avg_pool2d_forward(x, out_size)

    @staticmethod
    def backward(ctx, g):
        shape, out_size = ctx.args
        return (kernels(g).adaptive_avg_pool2d_backward(ascontiguous(g), shape, out_size),)
