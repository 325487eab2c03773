"""Adamax: PyTorch's rule, Adam with the second moment replaced by a decaying infinity norm
(max(beta2 * u, |g| + eps)), with L2 weight decay and maximize."""

from __future__ import annotations

import numpy as np

from .adam import lerp_
from .optimizer import Optimizer, hyper, maybe_negate, require_betas, require_nonnegative


class Adamax(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        require_nonnegative("Adamax", lr=lr, eps=eps)
        require_betas("Adamax", betas)
        require_nonnegative("Adamax", weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update(self, p, g, group, state):
        w = p._data
        lr, eps, wd = hyper(group, "lr", "eps", "weight_decay")
        b1, b2 = (float(b) for b in group["betas"])
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(w), exp_inf=np.zeros_like(w))
        state["step"] += 1
        g = maybe_negate(g, group)
        if wd:
            g = g + wd * w
        m, u = state["exp_avg"], state["exp_inf"]
        lerp_(m, g, 1 - b1)
        u *= b2
        np.maximum(u, np.abs(g) + eps, out=u)
        clr = lr / (1 - b1 ** state["step"])
        w -= clr * (m / u)
