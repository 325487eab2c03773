"""Adam (PyTorch's update rule with bias correction)."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def step(self):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in self._params_with_grad(group):
                g = p.grad.data
                if group["weight_decay"]:
                    g = g + group["weight_decay"] * p.data
                st = self.state.setdefault(id(p), {"step": 0, "m": np.zeros_like(p.data), "v": np.zeros_like(p.data)})
                st["step"] += 1
                st["m"] = b1 * st["m"] + (1 - b1) * g
                st["v"] = b2 * st["v"] + (1 - b2) * g * g
                m_hat = st["m"] / (1 - b1 ** st["step"])
                v_hat = st["v"] / (1 - b2 ** st["step"])
                p.data -= (group["lr"] * m_hat / (np.sqrt(v_hat) + group["eps"])).astype(p.dtype, copy=False)
