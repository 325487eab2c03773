"""erf, erfc and GELU on the device with `_native`'s names and arguments, built from the WGSL
elementwise kernels (the device's erf; the GELU formulas as array arithmetic)."""

from __future__ import annotations

import math

import numpy as np

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def erf(x):
    from .. import elementwise

    x = x if x.dtype == np.float32 else x.astype(np.float32)
    return elementwise.launch("erf", ["f32"], "f32", type(x).empty(x.shape, x.dtype), [x])


def erfc(x):
    return 1.0 - erf(x)


def gelu_forward(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1.0 + erf(x * (1.0 / _SQRT_2)))


def _gelu_derivative(x, approximate):
    if approximate == "tanh":
        t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x * x)
    return 0.5 * (1.0 + erf(x * (1.0 / _SQRT_2))) + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x)


def gelu_backward(x, grad, approximate="none"):
    return grad * _gelu_derivative(x, approximate)


def gelu_forward_with_grad(x, approximate="none"):
    """(gelu(x), gelu'(x)), as `_native.gelu_forward_with_grad`."""
    return gelu_forward(x, approximate), _gelu_derivative(x, approximate)


def relu_forward(x):
    return np.maximum(x, 0)


def relu_backward(grad, x):
    # torch's threshold_backward: 0 where x <= 0, else grad (a NaN x passes grad through)
    return np.where(x <= 0, 0.0, grad).astype(grad.dtype, copy=False)
