"""SyncBatchNorm's training step across ranks (torch's SyncBatchNorm math).

Forward: each rank's per-channel count, mean and sum of squared deviations are all-gathered and
combined (Chan's parallel formula: stable where sum-of-squares minus mean² is not), so every
rank normalises with the statistics of the whole global batch.
Backward: the per-channel sums of dy and dy·(x-mean) are all-reduced, so the input gradient is
that of the global batch; the weight and bias gradients stay local (DDP averages them).
wgpu inputs are read back, computed on the host and written back to the device."""

from __future__ import annotations

import numpy as np

from .. import distributed as dist
from ..autograd import Function
from ..tensor import Tensor


def _host(a):
    return a if a is None or isinstance(a, np.ndarray) else a.numpy()


def _like(out, ref):
    if isinstance(ref, np.ndarray):
        return out
    from ..wgpu.array import GpuArray

    return GpuArray.from_numpy(np.ascontiguousarray(out, dtype=ref.dtype))


def _channels_last(shape):
    """(1, C, 1, ...) for broadcasting per-channel values against (N, C, *)."""
    return (1, shape[1]) + (1,) * (len(shape) - 2)


def global_stats(x, eps):
    """(mean, biased var, invstd, total count) per channel over every rank's batch."""
    axes = (0,) + tuple(range(2, x.ndim))
    n = x.size // x.shape[1]
    mean = x.mean(axis=axes) if n else np.zeros(x.shape[1], x.dtype)
    m2 = ((x - mean.reshape(_channels_last(x.shape))) ** 2).sum(axis=axes)
    local = Tensor._wrap(np.stack([np.full_like(mean, n), mean, m2]))
    parts = [Tensor._wrap(np.empty_like(local._data)) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, local)
    counts, means, m2s = np.stack([p._data for p in parts], axis=1)  # each (world, C)
    total = counts.sum(axis=0)
    g_mean = (counts * means).sum(axis=0) / total
    g_m2 = (m2s + counts * (means - g_mean) ** 2).sum(axis=0)
    var = g_m2 / total
    return g_mean, var, 1.0 / np.sqrt(var + eps), total


class SyncBatchNormFn(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps, stats_out):
        xh = _host(x)
        mean, var, invstd, total = global_stats(xh, eps)
        stats_out.extend([mean, var, total])  # for the running statistics, updated by the module
        cs = _channels_last(xh.shape)
        xhat = (xh - mean.reshape(cs)) * invstd.reshape(cs)
        y = xhat
        if weight is not None:
            y = y * _host(weight).reshape(cs)
        if bias is not None:
            y = y + _host(bias).reshape(cs)
        ctx.xhat, ctx.invstd, ctx.total, ctx.ref = xhat, invstd, total, x
        ctx.weight = _host(weight)
        ctx.has_bias = bias is not None
        return _like(y.astype(xh.dtype, copy=False), x)

    @staticmethod
    def backward(ctx, dy):
        dy = _host(dy)
        xhat, invstd, w = ctx.xhat, ctx.invstd, ctx.weight
        axes = (0,) + tuple(range(2, dy.ndim))
        cs = _channels_last(dy.shape)
        sum_dy = dy.sum(axis=axes)
        sum_dy_xhat = (dy * xhat).sum(axis=axes)  # = sum dy·(x-mean) · invstd
        grad_w = sum_dy_xhat if w is not None else None
        grad_b = sum_dy.copy() if ctx.has_bias else None
        both = Tensor._wrap(np.concatenate([sum_dy, sum_dy_xhat]))
        dist.all_reduce(both)
        c = dy.shape[1]
        mean_dy, mean_dy_xhat = both._data[:c] / ctx.total, both._data[c:] / ctx.total
        scale = invstd if w is None else invstd * w
        dx = (dy - mean_dy.reshape(cs) - xhat * mean_dy_xhat.reshape(cs)) * scale.reshape(cs)
        ref = ctx.ref
        return (_like(dx.astype(dy.dtype, copy=False), ref),
                None if grad_w is None else _like(grad_w, ref),
                None if grad_b is None else _like(grad_b, ref), None, None)
