"""Elementwise activations (leaky_relu, gelu, silu) and the elementwise losses built on the same
pattern (binary cross-entropy with and without logits, KL divergence): numpy forward next to
its backward."""

from __future__ import annotations

import functools
import math

import numpy as np

from ..autograd import Function
from . import composite
from ._util import asarray, unbroadcast

@functools.cache
def _erf_impl():
    """scipy's erf when present (exact, vectorised); imported on first use, since importing
    scipy.special costs ~0.2 s at `import ferrograd`."""
    try:
        from scipy.special import erf

        return erf
    except ImportError:  # pragma: no cover
        scalar = np.vectorize(math.erf, otypes=[np.float64])
        return lambda x: scalar(x).astype(x.dtype, copy=False)


def _erf(x):
    return _erf_impl()(x)


_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _softplus(x):
    """log(1 + e^x), stable for any x."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


class LeakyRelu(Function):
    composite = staticmethod(composite.leaky_relu)

    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return np.where(x > 0, x, x * slope).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return (g * np.where(x > 0, 1, ctx.slope)).astype(x.dtype, copy=False)


class Gelu(Function):
    composite = staticmethod(composite.gelu)

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.tanh = approximate == "tanh"
        if ctx.tanh:
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x**3)
            return (0.5 * x * (1 + np.tanh(inner))).astype(x.dtype, copy=False)
        return (0.5 * x * (1 + _erf(x / _SQRT_2))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        if ctx.tanh:
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x**3)
            t = np.tanh(inner)
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        else:
            d = 0.5 * (1 + _erf(x / _SQRT_2)) + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x)
        return (g * d).astype(x.dtype, copy=False)


class Silu(Function):
    composite = staticmethod(composite.silu)

    @staticmethod
    def forward(ctx, x):
        s = _sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved
        return g * s * (1 + x * (1 - s))


class BinaryCrossEntropy(Function):
    """Elementwise -w (t log x + (1 - t) log(1 - x)) with logs clamped to >= -100 (torch)."""

    @staticmethod
    def forward(ctx, x, t, w):
        with np.errstate(divide="ignore"):
            lx = np.maximum(np.log(x), -100)
            l1x = np.maximum(np.log1p(-x), -100)
        out = -(t * lx + (1 - t) * l1x)
        ctx.save_for_backward(x, t, w, lx, l1x, out)
        if w is not None:
            out = out * w
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, t, w, lx, l1x, raw = ctx.saved
        gw = g if w is None else g * w
        dx = gw * (x - t) / np.maximum((1 - x) * x, 1e-12)
        dt = gw * (l1x - lx)
        dw = None if w is None else unbroadcast(g * raw, w.shape)
        return dx.astype(x.dtype, copy=False), unbroadcast(dt, t.shape), dw


class BinaryCrossEntropyWithLogits(Function):
    """w [(1 - t) x + (1 + (pw - 1) t) softplus(-x)], the stable form torch uses."""

    @staticmethod
    def forward(ctx, x, t, w, pw):
        sp = _softplus(-x)
        lw = 1 if pw is None else 1 + (pw - 1) * t
        raw = (1 - t) * x + lw * sp
        ctx.save_for_backward(x, t, w, pw, sp, raw)
        out = raw if w is None else raw * w
        return asarray(out, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, t, w, pw, sp, raw = ctx.saved
        gw = g if w is None else g * w
        lw = 1 if pw is None else 1 + (pw - 1) * t
        dx = gw * ((1 - t) - lw * _sigmoid(-x))
        dt = gw * (-x + (0 if pw is None else (pw - 1) * sp))
        dw = None if w is None else unbroadcast(g * raw, w.shape)
        dpw = None if pw is None else unbroadcast(gw * t * sp, pw.shape)
        return unbroadcast(dx, x.shape), unbroadcast(dt, t.shape), dw, dpw


class KLDiv(Function):
    """Elementwise KL term: t (log t - x), 0 where t == 0; with log_target, e^t (t - x)."""

    @staticmethod
    def forward(ctx, x, t, log_target):
        ctx.save_for_backward(x, t)
        ctx.log_target = log_target
        if log_target:
            out = np.exp(t) * (t - x)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                out = np.where(t == 0, 0, t * np.log(t)) - t * x  # xlogy(t, t) - t x; NaN for t < 0
        return asarray(out, dtype=np.result_type(x, t))

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved
        if ctx.log_target:
            e = np.exp(t)
            dx = -g * e
            dt = g * e * (t - x + 1)
        else:
            dx = -g * t
            with np.errstate(divide="ignore", invalid="ignore"):
                dt = np.where(t > 0, g * (np.log(np.where(t > 0, t, 1)) + 1 - x), 0)
        return unbroadcast(dx, x.shape), unbroadcast(dt, t.shape), None
