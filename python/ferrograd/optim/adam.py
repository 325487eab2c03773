"""Adam and AdamW: PyTorch's rules, with bias correction and optional AMSGrad."""

from __future__ import annotations

import math

import numpy as np

from .. import _native
from .optimizer import Optimizer, fused_ok, native_ok


class Adam(Optimizer):
    decoupled = False  # AdamW decays the weights directly instead of adding an L2 gradient

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"{type(self).__name__}: invalid lr {lr}, eps {eps} or betas {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def _update(self, p, g, group, state):
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if fused_ok(p.data, g):
            return self._fused_update(p, g, group, state, lr, b1, b2, eps, wd)
        if native_ok(p.data, g):  # one Rust pass instead of a dozen numpy ones
            _init_state(state, group, lambda: np.zeros_like(p.data))
            state["step"] += 1
            _native.adam_step(p.data, np.ascontiguousarray(g), state["exp_avg"], state["exp_avg_sq"],
                              state.get("max_exp_avg_sq"), state["step"], lr, b1, b2, eps, wd, self.decoupled)
            return
        if wd and self.decoupled:
            p.data *= 1 - lr * wd
        elif wd:
            g = g + wd * p.data
        _init_state(state, group, lambda: np.zeros_like(p.data))
        state["step"] += 1
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        t = state["step"]
        step_size = lr / (1 - b1**t)
        denom = np.sqrt(v) / math.sqrt(1 - b2**t) + eps
        p.data -= step_size * (m / denom)

    def _fused_update(self, p, g, group, state, lr, b1, b2, eps, wd):
        """One WGSL dispatch per parameter on the wgpu device, same rule as above."""
        from ..wgpu.array import GpuArray
        from ..wgpu.kernels import adam_step

        _init_state(state, group, lambda: GpuArray.empty(p.data.shape))  # the kernel ignores them at step 1
        state["step"] += 1
        adam_step(p.data, g, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"), state["step"],
                  lr, b1, b2, eps, wd, group["amsgrad"], decoupled=self.decoupled)


def _init_state(state: dict, group: dict, new) -> None:
    """A parameter's first step: step count and moment buffers from `new()`."""
    if not state:
        state.update(step=0, exp_avg=new(), exp_avg_sq=new())
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = new()


class AdamW(Adam):
    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
