"""Curvature of a loss around trained weights: Hessian-vector products, the top Hessian eigenvalue
by power iteration, Keskar et al.'s ε-sharpness and 1-D loss slices along filter-normalised
directions (Li et al., 2018). Small and model-agnostic: every function takes

    loss_fn: a callable with no arguments returning the scalar loss Tensor (the whole training
             set, say), built from
    params:  the leaf Tensors (requires_grad=True) the curvature is taken with respect to.

Functions that move the weights (ε-sharpness, loss slices) put them back before they return.
The Hessian is never formed: H v is the gradient of g·v with g = ∇loss built with
create_graph=True (double backward), at the cost of about two backward passes.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

import ferrograd as fg


def _check_params(fname: str, params) -> list:
    params = list(params)
    if not params:
        raise ValueError(f"{fname}: params is empty; pass the model's parameters")
    for i, p in enumerate(params):
        if not isinstance(p, fg.Tensor):
            raise TypeError(f"{fname}: params[{i}] must be a Tensor, got {type(p).__name__}")
        if not p.requires_grad:
            raise ValueError(f"{fname}: params[{i}] (shape {tuple(p.shape)}) does not require grad")
    return params


def _loss(fname: str, loss_fn):
    loss = loss_fn()
    if not isinstance(loss, fg.Tensor) or loss.numel() != 1:
        got = tuple(loss.shape) if isinstance(loss, fg.Tensor) else type(loss).__name__
        raise ValueError(f"{fname}: loss_fn must return a scalar Tensor, got {got}")
    return loss


def _dot(a, b) -> float:
    return float(sum((x * y).sum().item() for x, y in zip(a, b)))


def _like(p, array: np.ndarray):
    """A constant Tensor with p's dtype and device holding `array`."""
    return fg.tensor(np.asarray(array, dtype=p.dtype)).to(p.device)


class HessianVectorProduct:
    """v ↦ H v for the Hessian H of loss_fn() at the current params.

    The gradient graph is built once (create_graph=True) and reused for every product, so each
    call costs one backward through it. Vectors are lists of Tensors shaped like params.
    """

    def __init__(self, loss_fn, params):
        self.params = _check_params("HessianVectorProduct", params)
        self.loss = _loss("HessianVectorProduct", loss_fn)
        self.grads = fg.autograd.grad(self.loss, self.params, create_graph=True)

    def __call__(self, vectors) -> list:
        vectors = list(vectors)
        if len(vectors) != len(self.params) or any(tuple(v.shape) != tuple(p.shape)
                                                   for v, p in zip(vectors, self.params)):
            raise ValueError("HessianVectorProduct: vectors must match params' shapes "
                             f"{[tuple(p.shape) for p in self.params]}, got {[tuple(v.shape) for v in vectors]}")
        gv = sum((g * v.detach()).sum() for g, v in zip(self.grads, vectors))
        if not gv.requires_grad:  # the loss is linear in params: H = 0
            return [fg.zeros_like(p).detach() for p in self.params]
        hv = fg.autograd.grad(gv, self.params, retain_graph=True, allow_unused=True)
        return [fg.zeros_like(p).detach() if h is None else h.detach() for h, p in zip(hv, self.params)]


def hvp(loss_fn, params, vectors) -> list:
    """H v (one product); for many products with the same weights use HessianVectorProduct."""
    return HessianVectorProduct(loss_fn, params)(vectors)


class PowerIteration(NamedTuple):
    eigenvalue: float       # the Rayleigh quotient vᵀHv of the last iterate
    eigenvector: list       # unit-norm v, a list of Tensors shaped like params
    history: list           # the Rayleigh quotient at each iteration


def top_eigenvalue(loss_fn, params, iters: int = 100, tol: float | None = 1e-4, seed: int = 0) -> PowerIteration:
    """The Hessian eigenvalue of largest magnitude by power iteration on Hessian-vector products.

    v ← H v / ‖H v‖ from a seeded random start; stops after `iters` products or when the Rayleigh
    quotient changes by at most tol·|λ| (tol=None: always `iters` products, so histories of
    several runs line up). Near a minimum the Hessian is (nearly) positive
    semi-definite, so this is λ_max, the sharpness. Convergence is geometric in λ₂/λ₁.
    """
    params = _check_params("top_eigenvalue", params)
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 1:
        raise ValueError(f"top_eigenvalue: iters must be an int >= 1, got {iters!r}")
    if tol is not None and not tol >= 0:
        raise ValueError(f"top_eigenvalue: tol must be >= 0, got {tol!r}")
    H = HessianVectorProduct(loss_fn, params)
    rng = np.random.default_rng(seed)
    v = [_like(p, rng.standard_normal(tuple(p.shape))) for p in params]
    norm = math.sqrt(_dot(v, v))
    v = [x / norm for x in v]
    history: list[float] = []
    for _ in range(int(iters)):
        hv = H(v)
        lam = _dot(v, hv)
        history.append(lam)
        norm = math.sqrt(_dot(hv, hv))
        if norm == 0.0:  # v lies in H's null space; H may still be non-zero elsewhere, but rarely
            break
        v = [x / norm for x in hv]
        if tol is not None and len(history) > 1 and abs(history[-1] - history[-2]) <= tol * abs(history[-1]):
            break
    return PowerIteration(history[-1], v, history)


def epsilon_sharpness(loss_fn, params, epsilon: float = 1e-3, steps: int = 10, seed: int = 0) -> float:
    """Keskar et al. (2017)'s ε-sharpness, in percent:

        100 · (max_{y ∈ C_ε} L(w + y) − L(w)) / (1 + L(w)),   C_ε = {y : |y_i| ≤ ε (|w_i| + 1)}.

    The box scales with each weight, so the measure does not depend on how a layer is scaled.
    The max is found by projected sign-gradient ascent (Keskar et al. used L-BFGS-B): a random
    start in the box, `steps` ascent steps of half the box width, each clipped back into the box.
    The unperturbed w counts as a candidate, so the result is ≥ 0, and exactly 0 at ε = 0.
    """
    params = _check_params("epsilon_sharpness", params)
    if not (isinstance(epsilon, (int, float, np.floating)) and epsilon >= 0 and math.isfinite(epsilon)):
        raise ValueError(f"epsilon_sharpness: epsilon must be a finite number >= 0, got {epsilon!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"epsilon_sharpness: steps must be an int >= 1, got {steps!r}")
    with fg.no_grad():
        base = float(_loss("epsilon_sharpness", loss_fn).item())
    if epsilon == 0:
        return 0.0
    rng = np.random.default_rng(seed)
    w0 = [p.detach().clone() for p in params]
    box = [(w.abs() + 1.0) * float(epsilon) for w in w0]
    y = [_like(p, rng.uniform(-1.0, 1.0, tuple(p.shape))) * b for p, b in zip(params, box)]
    best = base
    try:
        for k in range(int(steps) + 1):
            with fg.no_grad():
                for p, w, d in zip(params, w0, y):
                    p.copy_(w + d)
            loss = _loss("epsilon_sharpness", loss_fn)
            best = max(best, float(loss.item()))
            if k == steps:
                break
            grads = fg.autograd.grad(loss, params, allow_unused=True)
            y = [d if g is None else fg.minimum(fg.maximum(d + 0.5 * b * g.sign(), -b), b)
                 for d, g, b in zip(y, grads, box)]
    finally:
        with fg.no_grad():
            for p, w in zip(params, w0):
                p.copy_(w)
    return 100.0 * (best - base) / (1.0 + base)


def filter_normalized_direction(params, seed: int = 0) -> list:
    """A random direction d shaped like params, rescaled filter by filter (Li et al., 2018):
    each slice d[i] along dim 0 (an output unit of a Linear, a filter of a Conv) gets the norm of
    the weights' w[i], so a step α·d moves every filter by the same fraction α of its size and
    slices of differently scaled networks compare. 1-D params (biases, norm scales) get d = 0,
    as in the paper."""
    params = _check_params("filter_normalized_direction", params)
    rng = np.random.default_rng(seed)
    out = []
    for p in params:
        w = p.detach().numpy().astype(np.float64)
        if w.ndim <= 1:
            out.append(_like(p, np.zeros(w.shape)))
            continue
        d = rng.standard_normal(w.shape)
        axes = tuple(range(1, w.ndim))
        scale = np.sqrt((w * w).sum(axes, keepdims=True)) / (np.sqrt((d * d).sum(axes, keepdims=True)) + 1e-12)
        out.append(_like(p, d * scale))
    return out


def loss_along(loss_fn, params, direction, alphas) -> list:
    """[L(w + α d) for α in alphas] as floats: a 1-D slice of the loss landscape through w."""
    params = _check_params("loss_along", params)
    direction = list(direction)
    if len(direction) != len(params) or any(tuple(d.shape) != tuple(p.shape) for d, p in zip(direction, params)):
        raise ValueError("loss_along: direction must match params' shapes "
                         f"{[tuple(p.shape) for p in params]}, got {[tuple(d.shape) for d in direction]}")
    w0 = [p.detach().clone() for p in params]
    out = []
    try:
        with fg.no_grad():
            for a in alphas:
                for p, w, d in zip(params, w0, direction):
                    p.copy_(w + float(a) * d)
                out.append(float(_loss("loss_along", loss_fn).item()))
    finally:
        with fg.no_grad():
            for p, w in zip(params, w0):
                p.copy_(w)
    return out


__all__ = ["HessianVectorProduct", "PowerIteration", "epsilon_sharpness", "filter_normalized_direction",
           "hvp", "loss_along", "top_eigenvalue"]
