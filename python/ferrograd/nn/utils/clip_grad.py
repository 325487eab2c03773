"""Gradient clipping with PyTorch's semantics."""

from __future__ import annotations

import math

import numpy as np

from ...ops._util import is_device


def _grads(parameters):
    params = [parameters] if hasattr(parameters, "grad") else list(parameters)
    return [p.grad.data for p in params if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so that their joint norm is at most max_norm; returns the norm
    before clipping."""
    grads = _grads(parameters)
    if not grads:
        return 0.0
    if any(is_device(g) for g in grads):
        return _clip_norm_on_device(grads, max_norm, norm_type, error_if_nonfinite)
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


def _clip_norm_on_device(grads, max_norm, norm_type, error_if_nonfinite) -> float:
    """The same rule in float32 on the device: the scaling is recorded there; only the returned
    norm is read back."""
    if norm_type == math.inf:
        parts = [np.abs(g).max() if g.size else np.zeros_like(g, shape=()) for g in grads]
        total = parts[0]
        for p in parts[1:]:
            total = np.maximum(total, p)
    else:
        total = sum((np.abs(g) ** norm_type).sum() for g in grads) ** (1 / norm_type)
    coef = np.minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= coef
    value = float(total.item())
    if error_if_nonfinite and not math.isfinite(value):
        raise RuntimeError(f"clip_grad_norm_: the total gradient norm is {value}")
    return value


def clip_grad_value_(parameters, clip_value: float) -> None:
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
