"""Stochastic gradient descent: PyTorch's rule with momentum, dampening, Nesterov, L2 decay and
maximize."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, fused_ok, hyper, maybe_negate, require_nonnegative


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        require_nonnegative("SGD", lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: nesterov needs momentum > 0 and dampening 0, got momentum={momentum!r}, "
                             f"dampening={dampening!r}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _update(self, p, g, group, state):
        w = p._data
        if group["fused"] is not False and fused_ok(w, g):
            return self._fused_update(w, g, group, state)
        lr, mu, dampening, wd = hyper(group, "lr", "momentum", "dampening", "weight_decay")
        g = maybe_negate(g, group)
        if wd:
            g = g + wd * w
        if mu:
            buf = state.get("momentum_buffer")
            if buf is None:  # the first step starts the buffer at the gradient, undamped
                state["momentum_buffer"] = buf = np.copy(g)
            else:
                buf *= mu
                buf += (1 - dampening) * g
            g = g + mu * buf if group["nesterov"] else buf
        w -= lr * g

    def _fused_update(self, w, g, group, state):
        """One WGSL dispatch per parameter on the wgpu device, same rule as above."""
        from ..wgpu.array import GpuArray
        from ..wgpu.kernels import sgd_step

        lr, mu, dampening, wd = hyper(group, "lr", "momentum", "dampening", "weight_decay")
        first = bool(mu) and state.get("momentum_buffer") is None
        if first:  # the kernel sets a new buffer to the gradient without reading it
            state["momentum_buffer"] = GpuArray.empty(w.shape)
        sgd_step(w, g, state.get("momentum_buffer"), lr, mu, dampening, group["nesterov"], wd,
                 maximize=bool(group["maximize"]), first_step=first)
