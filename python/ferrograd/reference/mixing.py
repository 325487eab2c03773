"""numpy references of MLP-Mixer token and channel mixing (float64): the test oracle."""

from __future__ import annotations

import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(a):
    """Exact GELU: 0.5 a (1 + erf(a / sqrt 2))."""
    return 0.5 * a * (1 + _erf(a / math.sqrt(2)))


def _mlp(x, w1, b1, w2, b2):
    h = x @ w1.T + (0 if b1 is None else b1)
    return gelu(h) @ w2.T + (0 if b2 is None else b2)


def channel_mixing(x, w1, b1, w2, b2):
    f = lambda a: None if a is None else np.asarray(a, np.float64)  # noqa: E731
    return _mlp(f(x), f(w1), f(b1), f(w2), f(b2))


def token_mixing(x, w1, b1, w2, b2):
    """The MLP over axis 1 of x (B, tokens, channels): transpose, MLP, transpose back."""
    f = lambda a: None if a is None else np.asarray(a, np.float64)  # noqa: E731
    return _mlp(f(x).transpose(0, 2, 1), f(w1), f(b1), f(w2), f(b2)).transpose(0, 2, 1)
