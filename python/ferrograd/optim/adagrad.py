"""Adagrad: PyTorch's rule, a per-element step lr / sqrt(sum of squared gradients), with a
learning-rate decay over steps, L2 weight decay and maximize."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, hyper, maybe_negate, require_nonnegative


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        require_nonnegative("Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                            initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))

    def add_param_group(self, group: dict) -> None:
        # torch fills the state at construction (the sum starts at initial_accumulator_value), so a
        # state_dict taken before the first step already holds it; groups added later get it too.
        super().add_param_group(group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state.setdefault(id(p), {})
        if not state:
            state.update(step=0, sum=np.full_like(p._data, float(group["initial_accumulator_value"])))
        return state

    def _update(self, p, g, group, state):
        w = p._data
        lr, lr_decay, eps, wd = hyper(group, "lr", "lr_decay", "eps", "weight_decay")
        state = state or self._init_state(p, group)  # state cleared by hand: start it again
        state["step"] += 1
        g = maybe_negate(g, group)
        if wd:
            g = g + wd * w
        clr = lr / (1 + (state["step"] - 1) * lr_decay)
        s = state["sum"]
        s += g * g
        w -= clr * (g / (np.sqrt(s) + eps))
