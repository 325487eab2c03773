"""Stochastic gradient descent with momentum and weight decay (PyTorch's update rule)."""

from __future__ import annotations

from .optimizer import Optimizer


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def step(self):
        for group in self.param_groups:
            for p in self._params_with_grad(group):
                g = p.grad.data
                if group["weight_decay"]:
                    g = g + group["weight_decay"] * p.data
                if group["momentum"]:
                    buf = self.state.get(id(p))
                    buf = g.copy() if buf is None else buf * group["momentum"] + g
                    self.state[id(p)] = buf
                    g = buf
                p.data -= group["lr"] * g
