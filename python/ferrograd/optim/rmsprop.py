"""RMSprop: PyTorch's rule, with optional momentum, centring and maximize."""

from __future__ import annotations

import numpy as np

from .adam import lerp_
from .optimizer import Optimizer, hyper, maybe_negate, require_nonnegative


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        require_nonnegative("RMSprop", lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    def _update(self, p, g, group, state):
        w = p._data
        lr, alpha, eps, wd, mu = hyper(group, "lr", "alpha", "eps", "weight_decay", "momentum")
        if not state:
            state.update(step=0, square_avg=np.zeros_like(w))
            if mu > 0:
                state["momentum_buffer"] = np.zeros_like(w)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(w)
        g = maybe_negate(g, group)
        state["step"] += 1
        if wd:
            g = g + wd * w
        sq = state["square_avg"]
        sq *= alpha
        sq += (1 - alpha) * (g * g)
        if group["centered"]:
            ga = state["grad_avg"]
            lerp_(ga, g, 1 - alpha)
            avg = np.sqrt(sq - ga * ga) + eps
        else:
            avg = np.sqrt(sq) + eps
        if mu > 0:
            buf = state["momentum_buffer"]
            buf *= mu
            buf += g / avg
            w -= lr * buf
        else:
            w -= lr * (g / avg)
