"""NAdam: PyTorch's rule, Adam with Nesterov momentum and a momentum schedule
mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay)), with L2 or decoupled weight decay and
maximize."""

from __future__ import annotations

import numpy as np

from .adam import decay, update_moments
from .optimizer import Optimizer, hyper, maybe_negate, require_betas, require_nonnegative


class NAdam(Optimizer):
    _scalar_state = ("step", "mu_product")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        require_nonnegative("NAdam", lr=lr, eps=eps)
        require_betas("NAdam", betas)
        require_nonnegative("NAdam", weight_decay=weight_decay, momentum_decay=momentum_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def _update(self, p, g, group, state):
        w = p._data
        lr, eps, wd, psi = hyper(group, "lr", "eps", "weight_decay", "momentum_decay")
        b1, b2 = (float(b) for b in group["betas"])
        if not state:
            # mu_product: the running product mu_1 ... mu_t (a Python float; torch keeps a
            # float32 0-dim tensor, the same value to float32 rounding).
            state.update(step=0, mu_product=1.0, exp_avg=np.zeros_like(w), exp_avg_sq=np.zeros_like(w))
        state["step"] += 1
        t = state["step"]
        g = decay(w, maybe_negate(g, group), lr, wd, bool(group["decoupled_weight_decay"]))
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        update_moments(m, v, g, b1, b2)
        denom = np.sqrt(v / (1 - b2**t)) + eps
        # The Nesterov step: this gradient's share now, plus the momentum's share one step ahead.
        w -= (lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom)
        w -= (lr * mu_next / (1.0 - mu_product * mu_next)) * (m / denom)


