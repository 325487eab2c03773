"""Batch norm forward and backward on GpuArrays with the contracts of `_native.batch_norm_forward`
/ `batch_norm_backward`: (N, C, *) input normalised per channel. Built from the device's
reductions and elementwise kernels (a fused WGSL kernel would save passes; batch norm is a small
share of a device step, so it waits)."""

from __future__ import annotations

import numpy as np

from ..array import GpuArray
from ._layout import check_float


def _layout(op: str, x: GpuArray):
    if x.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C) or (N, C, *), got shape {x.shape}")
    return (0,) + tuple(range(2, x.ndim)), (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm_forward(x: GpuArray, weight, bias, running_mean, running_var, eps):
    """`(y, mean, var, rstd)`: batch mean and biased variance when no running statistics are
    given (training), else those; rstd = 1 / sqrt(var + eps)."""
    op = "batch_norm_forward"
    check_float(op, input=x, weight=weight, bias=bias, running_mean=running_mean, running_var=running_var)
    axes, bshape = _layout(op, x)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var (evaluation) or neither (training)")
    if running_mean is None:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    else:
        mean, var = running_mean, running_var
    rstd = 1.0 / np.sqrt(var + eps)
    y = (x - mean.reshape(bshape)) * rstd.reshape(bshape)
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y, mean, var, rstd


def batch_norm_backward(gy: GpuArray, x: GpuArray, mean, rstd, weight, training, need_weight_grad, need_bias_grad):
    """`(dx, dweight or None, dbias or None)` of `batch_norm_forward` from its mean and rstd;
    `training` says whether the statistics came from the batch (their gradient flows into dx)."""
    op = "batch_norm_backward"
    check_float(op, grad=gy, input=x, mean=mean, rstd=rstd, weight=weight)
    axes, bshape = _layout(op, x)
    xhat = (x - mean.reshape(bshape)) * rstd.reshape(bshape)
    gw = gy if weight is None else gy * weight.reshape(bshape)
    if training:
        mg = gw.mean(axis=axes, keepdims=True)
        mgx = (gw * xhat).mean(axis=axes, keepdims=True)
        dx = (gw - mg - xhat * mgx) * rstd.reshape(bshape)
    else:
        dx = gw * rstd.reshape(bshape)
    dw = (gy * xhat).sum(axis=axes) if need_weight_grad else None
    db = gy.sum(axis=axes) if need_bias_grad else None
    return dx, dw, db
