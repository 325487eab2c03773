"""Adadelta: PyTorch's rule, steps scaled by the ratio of running RMS of past updates to running
RMS of gradients, with L2 weight decay and maximize."""

from __future__ import annotations

import numbers

import numpy as np

from .optimizer import Optimizer, hyper, maybe_negate, require_nonnegative


class Adadelta(Optimizer):
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        require_nonnegative("Adadelta", lr=lr)
        if not (isinstance(rho, numbers.Real) and 0.0 <= rho <= 1.0):
            raise ValueError(f"Adadelta: invalid rho value {rho!r}, expected 0 <= rho <= 1")
        require_nonnegative("Adadelta", eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      capturable=capturable, foreach=foreach, differentiable=differentiable))

    def _update(self, p, g, group, state):
        w = p._data
        lr, rho, eps, wd = hyper(group, "lr", "rho", "eps", "weight_decay")
        if not state:
            state.update(step=0, square_avg=np.zeros_like(w), acc_delta=np.zeros_like(w))
        state["step"] += 1
        g = maybe_negate(g, group)
        if wd:
            g = g + wd * w
        sq, acc = state["square_avg"], state["acc_delta"]
        sq *= rho
        sq += (1 - rho) * (g * g)
        delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * g
        acc *= rho
        acc += (1 - rho) * (delta * delta)
        w -= lr * delta
