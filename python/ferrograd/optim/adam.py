"""Adam and AdamW: PyTorch's rules, with bias correction, optional AMSGrad, L2 or decoupled
weight decay and maximize. The helpers at the bottom are the steps the Adam family shares
(Adamax, NAdam and RAdam use them too)."""

from __future__ import annotations

import math

import numpy as np

from .. import _native
from .optimizer import (Optimizer, fused_ok, hyper, maybe_negate, native_ok, require_betas,
                        require_nonnegative)


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        name = type(self).__name__
        require_nonnegative(name, lr=lr, eps=eps)
        require_betas(name, betas)
        require_nonnegative(name, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update_group(self, group, todo):
        """The group's numpy parameters in one Rust call (torch's foreach: ~6 µs of Python per
        parameter otherwise); the others (wgpu, maximize, unsupported dtypes) one by one."""
        if group["fused"] is False or group["maximize"] or len(todo) < 2:
            return super()._update_group(group, todo)
        lr, eps, wd = hyper(group, "lr", "eps", "weight_decay")
        b1, b2 = (float(b) for b in group["betas"])
        amsgrad = bool(group["amsgrad"])
        ws, gs, ms, vs, vmaxes, steps = [], [], [], [], [], []
        states = self.state
        for p, g in todo:
            w, state = p._data, states.get(id(p))
            if state is None:
                state = states[id(p)] = {}
            if not native_ok(w, g):
                self._update(p, g, group, state)
                continue
            g, m, v, vmax, step = _native_step_args(w, g, state, amsgrad)
            ws.append(w)
            gs.append(g)
            ms.append(m)
            vs.append(v)
            vmaxes.append(vmax)
            steps.append(step)
        if ws:
            _native.adam_step_many(ws, gs, ms, vs, vmaxes if amsgrad else None, steps, lr, b1, b2, eps, wd,
                                   bool(group["decoupled_weight_decay"]))

    def _update(self, p, g, group, state):
        w = p._data
        lr, eps, wd = hyper(group, "lr", "eps", "weight_decay")
        b1, b2 = (float(b) for b in group["betas"])
        amsgrad, decoupled = bool(group["amsgrad"]), bool(group["decoupled_weight_decay"])
        fast = group["fused"] is not False
        if fast and fused_ok(w, g):
            return self._fused_update(w, g, group, state, lr, b1, b2, eps, wd)
        if fast and native_ok(w, g):  # one Rust pass instead of a dozen numpy ones
            if group["maximize"]:  # the Rust step has no maximize: hand it the negated gradient
                g = np.negative(g, out=np.empty(g.shape, g.dtype))
            _native.adam_step(w, *_native_step_args(w, g, state, amsgrad), lr, b1, b2, eps, wd, decoupled)
            return
        g = decay(w, maybe_negate(g, group), lr, wd, decoupled)
        _init_state(state, amsgrad, lambda: np.zeros_like(w))
        state["step"] += 1
        m, v = state["exp_avg"], state["exp_avg_sq"]
        update_moments(m, v, g, b1, b2)
        if amsgrad:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        t = state["step"]
        step_size = lr / (1 - b1**t)
        denom = np.sqrt(v) / math.sqrt(1 - b2**t) + eps
        w -= step_size * (m / denom)

    def _fused_update(self, w, g, group, state, lr, b1, b2, eps, wd):
        """One WGSL dispatch per parameter on the wgpu device, same rule as above."""
        from ..wgpu.array import GpuArray
        from ..wgpu.kernels import adam_step

        _init_state(state, group["amsgrad"], lambda: GpuArray.empty(w.shape))  # the kernel ignores them at step 1
        state["step"] += 1
        adam_step(w, g, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"), int(state["step"]),
                  lr, b1, b2, eps, wd, bool(group["decoupled_weight_decay"]), maximize=bool(group["maximize"]))


class AdamW(Adam):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


def _native_step_args(w, g, state: dict, amsgrad: bool):
    """Counts the step of the numpy parameter `w` and returns what the Rust step takes after it:
    the gradient C-contiguous, exp_avg, exp_avg_sq, max_exp_avg_sq (or None), the step number."""
    _init_state(state, amsgrad, lambda: np.zeros_like(w))
    state["step"] += 1
    if not g.flags.c_contiguous:
        g = np.array(g, order="C")  # (np.ascontiguousarray would make a 0-dim grad 1-dim)
    return g, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"), int(state["step"])


def _init_state(state: dict, amsgrad: bool, new) -> None:
    """A parameter's first step: step count and moment buffers from `new()`."""
    if not state:
        state.update(step=0, exp_avg=new(), exp_avg_sq=new())
        if amsgrad:
            state["max_exp_avg_sq"] = new()


# ---- steps the Adam family shares ---------------------------------------------------------------
def decay(w, g, lr: float, weight_decay: float, decoupled: bool):
    """Weight decay before the moments: decoupled (AdamW) shrinks w in place by lr * weight_decay;
    otherwise L2, the gradient plus weight_decay * w (a new array)."""
    if not weight_decay:
        return g
    if decoupled:
        w *= 1 - lr * weight_decay
        return g
    return g + weight_decay * w


def lerp_(a, b, weight: float) -> None:
    """a <- a + weight * (b - a) in place, in the form torch.lerp_ uses for this weight (the
    other form above 0.5, where it is the more accurate)."""
    if weight < 0.5:
        a += weight * (b - a)
    else:
        np.subtract(b, (b - a) * (1 - weight), out=a)


def update_moments(exp_avg, exp_avg_sq, g, beta1: float, beta2: float) -> None:
    """The running first and second moments, in place, as torch: exp_avg.lerp_(g, 1 - beta1),
    exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)."""
    lerp_(exp_avg, g, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * (g * g)
