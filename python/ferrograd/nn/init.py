"""Parameter initialisers (in place, seeded by `fg.manual_seed`), with PyTorch's formulas."""

from __future__ import annotations

import math

from ..autograd import no_grad
from ..random import generator


def _fan_in_out(t):
    if t.ndim < 2:
        raise ValueError(f"init: fan in/out needs at least 2 dims, got shape {t.shape}")
    receptive = 1
    for n in t.shape[2:]:
        receptive *= n
    return t.shape[1] * receptive, t.shape[0] * receptive


@no_grad()
def uniform_(t, a=0.0, b=1.0):
    t.data[...] = generator().uniform(a, b, t.shape)
    return t


@no_grad()
def zeros_(t):
    t.data[...] = 0
    return t


def kaiming_uniform_(t, a=0.0, nonlinearity="leaky_relu"):
    fan_in, _ = _fan_in_out(t)
    gain = math.sqrt(2.0 / (1 + a * a)) if nonlinearity == "leaky_relu" else math.sqrt(2.0)
    bound = gain * math.sqrt(3.0 / fan_in) if fan_in else 0.0
    return uniform_(t, -bound, bound)
