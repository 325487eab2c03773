"""Normalisation ops: layer norm and batch norm (Rust kernels on the CPU), p-norm (numpy)."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from . import composite
from ._util import ascontiguous, kernels


class LayerNorm(Function):
    """Layer norm over the trailing `cols` elements; weight/bias are flat (cols,) or None."""

    composite = staticmethod(composite.layer_norm)

    @staticmethod
    def forward(ctx, x, weight, bias, cols, eps):
        xc = ascontiguous(x)
        w = None if weight is None else ascontiguous(weight).reshape(-1)
        b = None if bias is None else ascontiguous(bias).reshape(-1)
        y, mean, rstd = kernels(xc).layer_norm_forward(xc, cols, w, b, eps)
        ctx.save_for_backward(xc, mean, rstd, w)
        ctx.cols = cols
        ctx.wshape = None if weight is None else weight.shape
        ctx.bshape = None if bias is None else bias.shape
        return y

    @staticmethod
    def backward(ctx, g):
        xc, mean, rstd, w = ctx.saved
        g = ascontiguous(g, dtype=xc.dtype)
        dx, dw, db = kernels(g).layer_norm_backward(
            g, xc, ctx.cols, mean, rstd, w, ctx.wshape is not None, ctx.bshape is not None
        )
        dw = None if dw is None else dw.reshape(ctx.wshape)
        db = None if db is None else db.reshape(ctx.bshape)
        return dx, dw, db


class BatchNorm(Function):
    """Batch norm of (N, C, *) input over every axis but 1. In training, batch statistics, and the
    running estimates (when given) updated in place with `momentum` and the unbiased variance, as
    torch does — inside the op, so a replayed (fg.compile) step updates them too; otherwise the
    running `mean`/`var` are constants."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, eps, momentum):
        xc = ascontiguous(x)
        w = None if weight is None else ascontiguous(weight)  # nn.functional checked their dtype
        b = None if bias is None else ascontiguous(bias)
        if training:
            mean = var = None
        else:
            mean, var = ascontiguous(running_mean, dtype=x.dtype), ascontiguous(running_var, dtype=x.dtype)
        y, mean, var, rstd = kernels(xc).batch_norm_forward(xc, w, b, mean, var, eps)
        if training:
            count = x.size // max(x.shape[1], 1)
            if running_mean is not None:
                running_mean[...] = (1 - momentum) * running_mean + momentum * mean
            if running_var is not None:
                running_var[...] = (1 - momentum) * running_var + momentum * (var * (count / (count - 1)))
        ctx.save_for_backward(xc, mean, rstd, w)
        ctx.training, ctx.has_weight, ctx.has_bias = training, weight is not None, bias is not None
        return y

    @staticmethod
    def backward(ctx, g):
        xc, mean, rstd, w = ctx.saved
        g = ascontiguous(g, dtype=xc.dtype)
        dx, dw, db = kernels(g).batch_norm_backward(g, xc, mean, rstd, w, ctx.training,
                                                    ctx.has_weight, ctx.has_bias)
        return dx, dw, db, None, None


class PNorm(Function):
    """p-norm along `dim` with keepdim; the gradient is 0 where the norm is 0 (as torch)."""

    @staticmethod
    def forward(ctx, x, p, dim, keepdim):
        ax = np.abs(x)
        if p == np.inf:
            n = ax.max(axis=dim, keepdims=True)
        elif p == 1:
            n = ax.sum(axis=dim, keepdims=True)
        elif p == 2:
            n = np.sqrt((x * x).sum(axis=dim, keepdims=True))
        else:
            n = (ax**p).sum(axis=dim, keepdims=True) ** (1.0 / p)
        ctx.save_for_backward(x, n)
        ctx.p, ctx.dim, ctx.keepdim = p, dim, keepdim
        return n if keepdim else np.squeeze(n, axis=dim)

    @staticmethod
    def backward(ctx, g):
        x, n = ctx.saved
        p = ctx.p
        if not ctx.keepdim:
            g = np.expand_dims(g, ctx.dim)
        safe = np.where(n == 0, 1, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == np.inf:
                hit = np.abs(x) == n
                d = np.sign(x) * hit / hit.sum(axis=ctx.dim, keepdims=True)
            elif p == 1:
                d = np.sign(x)
            elif p == 2:
                d = x / safe
            else:
                d = np.sign(x) * np.abs(x) ** (p - 1) / safe ** (p - 1)
        d = np.where(n == 0, 0, d)
        return (g * d).astype(x.dtype, copy=False)
