"""Gradient clipping with PyTorch's semantics."""

from __future__ import annotations

import math

import numpy as np


def _grads(parameters):
    params = [parameters] if hasattr(parameters, "grad") else list(parameters)
    return [p.grad.data for p in params if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so that their joint norm is at most max_norm; returns the norm
    before clipping."""
    grads = _grads(parameters)
    if not grads:
        return 0.0
    if norm_type == math.inf:
        total = max(float(np.abs(g).max(initial=0.0)) for g in grads)
    else:
        total = float(sum(float((np.abs(g.astype(np.float64)) ** norm_type).sum()) for g in grads) ** (1 / norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total gradient norm is {total}")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g *= coef
    return total


def clip_grad_value_(parameters, clip_value: float) -> None:
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
