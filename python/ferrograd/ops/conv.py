"""Convolution ops: conv2d and conv_transpose2d, forward next to backward, on the kernels of the
data's device (`_util.kernels`: Rust for numpy arrays, WGSL for GpuArrays).

Both run on three Rust kernels (`_native.conv2d_forward`, `conv2d_backward_data`,
`conv2d_backward_weight`); conv_transpose2d's forward is conv2d's backward-data and its backward
is conv2d's forward plus backward-weight. Arguments arrive validated by `nn.functional.conv`:
`stride`, `pad` (top/left), `dilation` are pairs; output sizes are given explicitly, so
asymmetric 'same' padding and output_padding need nothing more. `needs` says which of
(input, weight, bias) want a gradient, so backward computes only those.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._util import ascontiguous, kernels


def _c(a: np.ndarray) -> np.ndarray:
    return ascontiguous(a)


class Conv2d(Function):
    @staticmethod
    def forward(ctx, x, w, b, stride, pad, dilation, groups, out_size, needs):
        w = _c(w)
        y = kernels(x).conv2d_forward(x, w, None if b is None else _c(b), stride, pad, dilation, groups, out_size)
        ctx.save_for_backward(x, w)
        ctx.args = (stride, pad, dilation, groups)
        ctx.needs = needs
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        stride, pad, dilation, groups = ctx.args
        need_x, need_w, need_b = ctx.needs
        g = _c(g.astype(x.dtype, copy=False))
        gx = gw = gb = None
        if need_x:
            gx = kernels(g).conv2d_backward_data(g, w, x.shape[2:], stride, pad, dilation, groups)
        if need_w:
            gw, gb = kernels(x).conv2d_backward_weight(x, g, w.shape[2:], stride, pad, dilation, groups, need_b)
        elif need_b:
            gb = g.sum(axis=(0, 2, 3))
        return gx, gw, gb


class ConvTranspose2d(Function):
    """x (N, C_in, H, W), w (C_in, C_out/groups, kh, kw) -> (N, C_out, *out_size)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, pad, dilation, groups, out_size, needs):
        w = _c(w)
        x_c = _c(x)
        y = kernels(x_c).conv2d_backward_data(x_c, w, out_size, stride, pad, dilation, groups)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        ctx.save_for_backward(x_c, w)
        ctx.args = (stride, pad, dilation, groups)
        ctx.needs = needs
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        stride, pad, dilation, groups = ctx.args
        need_x, need_w, need_b = ctx.needs
        g = g.astype(x.dtype, copy=False)
        gx = gw = gb = None
        if need_x:
            gx = kernels(g).conv2d_forward(g, w, None, stride, pad, dilation, groups, x.shape[2:])
        if need_w:
            gw, _ = kernels(g).conv2d_backward_weight(g, x, w.shape[2:], stride, pad, dilation, groups, False)
        if need_b:
            gb = g.sum(axis=(0, 2, 3))
        return gx, gw, gb
