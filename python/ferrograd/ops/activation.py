"""Elementwise activations (leaky_relu, gelu, silu) and the elementwise losses built on the same
pattern (binary cross-entropy with and without logits, KL divergence): numpy forward next to
its backward."""

from __future__ import annotations

import functools
import math

import numpy as np

from ..autograd import Function
from . import composite
from ._util import asarray, c_order, is_device, kernels, native_float, unbroadcast

def _erf_numpy(x):
    """erf of a numpy array by the native kernel (fdlibm's rationals, vectorised; < 1 ulp):
    float32 / float64 as they are, other floats through the nearest of the two (the result in
    their dtype), anything else as float64."""
    if native_float(x):
        return kernels(x).erf(c_order(x))
    x = np.asarray(x)
    if x.dtype.kind != "f":
        return kernels(x).erf(np.array(x, dtype=np.float64, order="C"))
    wide = np.float64 if x.dtype.itemsize > 4 else np.float32
    return kernels(x).erf(np.array(x, dtype=wide, order="C")).astype(x.dtype, copy=False)


def _erf_device(x):
    """erf of a float32 GpuArray by the device's own kernel (reached without scipy's ufunc)."""
    from ..wgpu import elementwise

    return elementwise.launch("erf", ["f32"], "f32", type(x).empty(x.shape, x.dtype), [x])


@functools.cache
def _erf_impl():
    """The erf for numpy arrays: the native kernel. scipy is not needed (nor imported)."""
    return _erf_numpy


def _erf(x):
    """Elementwise erf of a numpy array or a GpuArray, in its dtype."""
    if is_device(x):
        return _erf_device(x if x.dtype == np.float32 else x.astype(np.float32))
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


class Dropout(Function):
    """x * mask / (1 - p), the mask drawn inside the op from ferrograd's generator (cpu) or on the
    device (Philox seeded from it), so a replayed step draws a fresh mask as the eager one does."""

    generic_backward = True

    @staticmethod
    def forward(ctx, x, p):
        from ..random import generator

        if type(x) is not np.ndarray:
            from ..wgpu.kernels import dropout_mask

            # The same seed gives a different mask than on the CPU.
            mask = dropout_mask(x.shape, p, seed=int(generator().integers(2**63)))
        elif p == 1.0:
            mask = np.zeros(x.shape, x.dtype)
        else:
            mask = (generator().random(x.shape) >= p).astype(x.dtype) / x.dtype.type(1.0 - p)
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved[0], None


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
    def forward(ctx, x, approximate, with_grad=False):
        """`with_grad`: a gradient will be taken, so gelu'(x) comes from the same pass and is
        kept instead of x (the backward is one multiply)."""
        ctx.tanh = approximate == "tanh"
        ctx.derivative = None
        if native_float(x) and with_grad:
            y, ctx.derivative = kernels(x).gelu_forward_with_grad(c_order(x), approximate)
            return y  # nothing saved: the backward reads only gelu'(x)
        ctx.save_for_backward(x)
        if native_float(x):  # one vectorised, threaded pass (the numpy form below takes ~10)
            return kernels(x).gelu_forward(c_order(x), approximate)
        if ctx.tanh:
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x**3)
            return (0.5 * x * (1 + np.tanh(inner))).astype(x.dtype, copy=False)
        return (0.5 * x * (1 + _erf(x / _SQRT_2))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        d = ctx.derivative
        if d is not None:
            return np.multiply(g, d, dtype=d.dtype)  # grad · gelu'(x), as gelu_backward rounds it
        (x,) = ctx.saved
        if native_float(x) and type(g) is np.ndarray and g.shape == x.shape:
            g = c_order(g.astype(x.dtype, copy=False))
            return kernels(x).gelu_backward(c_order(x), g, "tanh" if ctx.tanh else "none")
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
