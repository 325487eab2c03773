"""softmax / log_softmax over any dim, and cross-entropy fused with log-softmax (Rust kernels).

The kernels work on the last axis of a C-contiguous array; another dim is moved last first
(one copy), and the result is handed back as a view with the dim in place.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from . import composite
from ._util import asarray, ascontiguous, kernels, ones, zeros


def _last(a: np.ndarray, dim: int) -> np.ndarray:
    """`a` with `dim` moved last, C-contiguous (no copy when it already is)."""
    if dim != a.ndim - 1:
        a = np.moveaxis(a, dim, -1)
    return ascontiguous(a)


class Softmax(Function):
    """softmax (or log_softmax when `log`) along `dim` of a float32/float64 array."""

    composite = staticmethod(composite.softmax)

    @staticmethod
    def forward(ctx, x, dim, log):
        if x.ndim == 0:
            y = kernels(x).softmax_forward(x.reshape(1), log).reshape(())
            ctx.save_for_backward(y.reshape(1))
            ctx.dim, ctx.log, ctx.scalar = 0, log, True
            return y
        y = kernels(x).softmax_forward(_last(x, dim), log)
        ctx.save_for_backward(y)
        ctx.dim, ctx.log, ctx.scalar = dim, log, False
        return y if dim == x.ndim - 1 else np.moveaxis(y, -1, dim)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        if ctx.scalar:
            return kernels(y).softmax_backward(y, ascontiguous(g, y.dtype).reshape(1), ctx.log).reshape(())
        last = y.ndim - 1 == ctx.dim
        gl = _last(asarray(g, y.dtype), ctx.dim)
        dx = kernels(y).softmax_backward(y, gl, ctx.log)
        return dx if last else np.moveaxis(dx, -1, ctx.dim)


class CrossEntropyIndex(Function):
    """Per-sample cross-entropy of (rows, C) logits against int64 class indices (rows,),
    torch's weight / ignore_index / label_smoothing semantics, before reduction."""

    composite = staticmethod(composite.cross_entropy_index)

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, label_smoothing):
        x = ascontiguous(x)
        target = ascontiguous(target, dtype=np.int64)  # (rows,) class ids, any integer dtype given
        loss, lse = kernels(x).cross_entropy_forward(x, target, weight, ignore_index, label_smoothing)
        ctx.save_for_backward(x, target, weight, lse)
        ctx.ignore_index, ctx.label_smoothing = ignore_index, label_smoothing
        return loss

    @staticmethod
    def backward(ctx, g):
        x, target, weight, lse = ctx.saved
        g = ascontiguous(np.broadcast_to(g, lse.shape), dtype=x.dtype)
        dx = kernels(x).cross_entropy_backward(x, target, weight, ctx.ignore_index, ctx.label_smoothing, lse, g)
        return dx, None, None


class KeptMean(Function):
    """sum(loss) / (weighted) count of targets that are not `ignore_index`: cross-entropy's 'mean'.
    One op, so the count is computed from this call's targets (a compiled step replays it too);
    on a device the count stays there (no readback inside a training step)."""

    generic_backward = True

    @staticmethod
    def forward(ctx, loss, t, wdata, ignore_index):
        keep = t != ignore_index
        dt = loss.dtype
        if type(t) is not np.ndarray:
            safe = np.where(keep, t, 0)
            # select, don't multiply: an ignored class's weight may be NaN (0 * NaN)
            denom = keep.sum() if wdata is None else np.where(keep, wdata[safe], 0).sum()
            scale = 1 / denom.astype(dt)
        else:
            denom = keep.sum() if wdata is None else wdata[t[keep]].sum()
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = dt.type(1) / dt.type(denom)
        ctx.scale, ctx.shape = scale, loss.shape
        return loss.sum() * scale

    @staticmethod
    def backward(ctx, g):
        from . import _generic as G

        return G.broadcast_to(g * ctx.scale, ctx.shape), None, None, None


class CrossEntropyProb(Function):
    """Per-sample cross-entropy of (rows, C) logits against class probabilities (rows, C).
    Differentiable w.r.t. logits, target and weight (torch composes this case from ops)."""

    composite = staticmethod(composite.cross_entropy_prob)

    @staticmethod
    def forward(ctx, x, target, weight, label_smoothing):
        x, target = ascontiguous(x), ascontiguous(target)
        loss, lse = kernels(x).cross_entropy_prob_forward(x, target, weight, label_smoothing)
        ctx.save_for_backward(x, target, weight, lse)
        ctx.label_smoothing = label_smoothing
        return loss

    @staticmethod
    def backward(ctx, g):
        x, target, weight, lse = ctx.saved
        eps = ctx.label_smoothing
        g = ascontiguous(np.broadcast_to(g, lse.shape), dtype=x.dtype)
        dx, dt = kernels(x).cross_entropy_prob_backward(x, target, weight, eps, lse, g, True)
        dw = None
        if weight is not None:
            ts = target * (1 - eps) + eps / x.shape[1]
            dw = (g[:, None] * ts * (lse[:, None] - x)).sum(0)
        return dx, dt, dw


class NllLoss(Function):
    """Per-sample -weight[t] * x[i, t] for (rows, C) log-probabilities; 0 where t is ignored."""

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index):
        target = ascontiguous(target, dtype=np.int64)
        keep = target != ignore_index
        safe = np.where(keep, target, 0)
        rows = np.arange(x.shape[0])
        wt = ones(target.shape, x.dtype, like=x) if weight is None else weight[safe]
        wt = np.where(keep, wt, 0).astype(x.dtype)
        ctx.save_for_backward(rows, safe, wt)
        ctx.shape = x.shape
        # select, don't multiply: an ignored row reads x[i, 0], and 0 * NaN there would be NaN
        return np.where(keep, -(wt * x[rows, safe]), 0).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        rows, safe, wt = ctx.saved
        dx = zeros(ctx.shape, wt.dtype, like=g)
        dx[rows, safe] = -wt * g
        return dx, None, None
