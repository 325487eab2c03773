"""mse_loss fused for its common case: input and target numpy float32/float64 arrays of one shape
and dtype, reduction 'mean' or 'sum', no weight. One Rust pass forward (Σ (x - t)² in f64) and
one backward (grad_input = 2 (x - t) g / n, grad_target its negative, each only when needed),
where the composite `d = x - t; (d * d).mean()` takes three passes forward and more backward.
nn.functional.mse_loss takes the composite for everything else; it is also this op's
second-order path (Function.composite)."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from . import composite
from ._util import c_order, kernels, native_float

def fusable(x, t, reduction: str) -> bool:
    """Whether MseLoss takes the raw arrays `x` (input) and `t` (target)."""
    return (reduction in ("mean", "sum") and native_float(x) and type(t) is np.ndarray
            and t.dtype == x.dtype and t.shape == x.shape)


class MseLoss(Function):
    composite = staticmethod(composite.mse_loss)

    @staticmethod
    def forward(ctx, x, t, reduction):
        x, t = c_order(x), c_order(t)
        ctx.save_for_backward(x, t)
        ctx.mean = reduction == "mean"
        s = kernels(x).mse_loss_sum(x, t)
        if ctx.mean:
            s = s / x.size if x.size else float("nan")  # torch: the mean of nothing is nan
        return np.array(s, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved
        need_x, need_t = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        scale = 2.0 * float(g)
        if ctx.mean:
            scale = scale / x.size if x.size else 0.0
        gx, gt = kernels(x).mse_loss_backward(x, t, scale, need_x, need_t)
        return gx, gt, None
