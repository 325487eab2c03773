"""Test helpers: `gradcheck` compares autograd gradients with central finite differences."""

from __future__ import annotations

import numpy as np

from .autograd import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    pass


def gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0) -> bool:
    """Check autograd's gradient of `fn` at float64 `inputs` against central differences.

    A random upstream gradient is pushed back, so every output element is tested. Raises
    `GradcheckError` with the worst mismatch; returns True when all gradients agree.
    """
    inputs = list(inputs)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {t.dtype}; gradcheck needs float64 inputs")
    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    weights = rng.standard_normal(out.shape)

    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    if out.requires_grad:
        (out * Tensor(weights)).sum().backward()

    def objective():
        with no_grad():
            return float((fn(*inputs)._data * weights).sum())

    for i, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        if not t._data.flags.c_contiguous:
            t._data = np.ascontiguousarray(t._data)
        numeric = np.zeros(t.shape)
        flat = t._data.reshape(-1)  # a view: perturbing it perturbs the input
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = objective()
            flat[j] = orig - eps
            minus = objective()
            flat[j] = orig
            numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        analytic = np.zeros(t.shape) if t.grad is None else t.grad._data
        bad = ~np.isclose(analytic, numeric, atol=atol, rtol=rtol)
        if bad.any():
            k = np.argmax(np.abs(analytic - numeric))
            raise GradcheckError(
                f"gradcheck: input {i} (shape {t.shape}): {int(bad.sum())} of {t._data.size} gradient "
                f"elements differ; worst at flat index {k}: autograd {analytic.reshape(-1)[k]!r}, "
                f"finite differences {numeric.reshape(-1)[k]!r}"
            )
    return True
