"""RAdam: PyTorch's rule, Adam whose adaptive step is switched on and rectified once the
variance of the adaptive learning rate is tractable (rho_t > 5); plain momentum SGD with bias
correction before. L2 or decoupled weight decay, maximize."""

from __future__ import annotations

import math

import numpy as np

from .adam import decay, update_moments
from .optimizer import Optimizer, hyper, maybe_negate, require_betas, require_nonnegative


class RAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        require_nonnegative("RAdam", lr=lr, eps=eps)
        require_betas("RAdam", betas)
        require_nonnegative("RAdam", weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def _update(self, p, g, group, state):
        w = p._data
        lr, eps, wd = hyper(group, "lr", "eps", "weight_decay")
        b1, b2 = (float(b) for b in group["betas"])
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(w), exp_avg_sq=np.zeros_like(w))
        state["step"] += 1
        t = state["step"]
        g = decay(w, maybe_negate(g, group), lr, wd, bool(group["decoupled_weight_decay"]))
        m, v = state["exp_avg"], state["exp_avg_sq"]
        update_moments(m, v, g, b1, b2)
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        m_hat = m / bc1
        rho_inf = 2 / (1 - b2) - 1  # the longest the approximated simple moving average gets
        rho_t = rho_inf - 2 * t * b2**t / bc2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = math.sqrt(bc2) / (np.sqrt(v) + eps)
            w -= m_hat * lr * adaptive * rect
        else:
            w -= m_hat * lr
