"""Matrix product with numpy's `@` rules, running the Rust GEMM for float operands."""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from . import _generic as G
from ._util import NATIVE_FLOATS, kernels


def matmul_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`a @ b` for arrays of rank >= 1 (1-D operands promoted and squeezed as numpy does)."""
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if a.dtype.kind == "f" and b2.ndim == 2 and a2.ndim > 2:
        # (..., m, k) @ (k, n) is one (M, k) @ (k, n) GEMM, not a batch of thin ones.
        rows = math.prod(a2.shape[:-1])
        out = kernels(a2).matmul(a2.reshape(rows, a2.shape[-1]), b2).reshape(tuple(a2.shape[:-1]) + (b2.shape[-1],))
    elif a.dtype.kind == "f":
        out = kernels(a2).matmul(a2, b2)
    else:
        out = np.matmul(a2, b2)
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out


class Matmul(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return matmul_arrays(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        # Work in >= 2-D: a as (..., m, k), b as (..., k, n), g as (..., m, n).
        a2 = a.reshape((1,) + tuple(a.shape)) if a.ndim == 1 else a
        b2 = b.reshape(tuple(b.shape) + (1,)) if b.ndim == 1 else b
        # Restore b's squeezed column first: for 1-D @ 1-D, g is 0-d and has no axis -2 yet.
        g2 = g
        if b.ndim == 1:
            g2 = g2.reshape(tuple(g2.shape) + (1,))
        if a.ndim == 1:
            g2 = g2.reshape(tuple(g2.shape[:-1]) + (1, g2.shape[-1]))
        # Transposed operands are strided views: the GEMM reads them without a copy.
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = G.sum_to(G.matmul(g2, G.swapaxes(b2, -1, -2)), tuple(a2.shape)).reshape(tuple(a.shape))
        if ctx.needs_input_grad[1] and b2.ndim == 2 and a2.ndim > 2:
            # A weight shared by every batch row: one GEMM over all rows (K = M), not a batch of
            # (k, m) @ (m, n) products summed afterwards.
            rows = math.prod(a2.shape[:-1])
            gb = G.matmul(G.swapaxes(a2.reshape(rows, a2.shape[-1]), -1, -2), g2.reshape(rows, g2.shape[-1]))
            gb = gb.reshape(tuple(b.shape))
        elif ctx.needs_input_grad[1]:
            gb = G.sum_to(G.matmul(G.swapaxes(a2, -1, -2), g2), tuple(b2.shape)).reshape(tuple(b.shape))
        return ga, gb


class Linear(Function):
    """`x @ weight.T + bias` for weight (out, in): one GEMM reading the weight transposed in place,
    the bias added into its fresh output, and a backward whose weight gradient comes out (out, in)
    and contiguous (an optimizer then updates it without a copy). One graph node instead of three."""

    generic_backward = True

    @staticmethod
    def forward(ctx, x, weight, bias):
        lead, k = tuple(x.shape[:-1]), x.shape[-1]
        x2 = x.reshape(math.prod(lead), k)
        wt = weight.T if type(weight) is np.ndarray else G.swapaxes(weight, 0, 1)
        if bias is not None and x2.dtype.kind == "f" and x2.dtype == weight.dtype == bias.dtype and bias.ndim == 1:
            y = kernels(x2).matmul(x2, wt, bias)  # the bias added by the kernel, not a numpy pass
        else:
            y = matmul_arrays(x2, wt)
            if bias is not None:
                if type(y) is np.ndarray:
                    np.add(y, bias, out=y, casting="unsafe")
                else:
                    y = y + bias
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return y.reshape(lead + (weight.shape[0],))

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        needs = ctx.needs_input_grad
        rows = math.prod(tuple(x.shape[:-1]))
        g2 = g.reshape(rows, w.shape[0])
        if not G._any_tensor(g2, x, w) and x.dtype in NATIVE_FLOATS and x.dtype == w.dtype == g2.dtype:
            # The three products in one kernel call (no Python between them).
            bias = len(needs) > 2 and needs[2] and ctx.has_bias
            gx, gw, gb = kernels(g2).linear_backward(x.reshape(rows, x.shape[-1]), w, g2, needs[0], needs[1], bias)
            return (None if gx is None else gx.reshape(tuple(x.shape))), gw, gb
        gx = gw = gb = None
        if needs[0]:
            gx = G.matmul(g2, w).reshape(tuple(x.shape))
        if needs[1]:
            gw = G.matmul(g2.T if type(g2) is np.ndarray else G.swapaxes(g2, 0, 1), x.reshape(rows, x.shape[-1]))
        if len(needs) > 2 and needs[2] and ctx.has_bias:
            gb = G.reduce_sum(g2, (0,))  # the column sums (as a GEMM, see G.sum_array)
        return gx, gw, gb
