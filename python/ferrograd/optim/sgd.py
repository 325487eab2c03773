"""Stochastic gradient descent: PyTorch's rule with momentum, dampening, Nesterov and L2 decay."""

from __future__ import annotations

from .optimizer import Optimizer, fused_ok


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening 0")
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr, momentum and weight_decay must be >= 0, got {lr}, {momentum}, {weight_decay}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _update(self, p, g, group, state):
        if fused_ok(p.data, g):
            return self._fused_update(p, g, group, state)
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        mu = group["momentum"]
        if mu:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= mu
                buf += (1 - group["dampening"]) * g
            buf = state["momentum_buffer"]
            g = g + mu * buf if group["nesterov"] else buf
        p.data -= group["lr"] * g

    def _fused_update(self, p, g, group, state):
        """One WGSL dispatch per parameter on the wgpu device, same rule as above."""
        from ..wgpu.array import GpuArray
        from ..wgpu.kernels import sgd_step

        first = bool(group["momentum"]) and "momentum_buffer" not in state
        if first:  # the kernel sets a new buffer to the gradient without reading it
            state["momentum_buffer"] = GpuArray.empty(p.data.shape)
        sgd_step(p.data, g, state.get("momentum_buffer"), group["lr"], group["momentum"], group["dampening"],
                 group["nesterov"], group["weight_decay"], first_step=first)
