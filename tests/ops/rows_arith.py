"""Table rows: arithmetic and basic elementwise functions (ops/arith_ops.py)."""

from __future__ import annotations

import numpy as np
from optable import Case, Row
from rows_math import _binary_cases, _unary_cases, unary


def _relu_ref(a):
    return np.maximum(a, 0).astype(a.dtype)


def _clamp_cases(rng):
    return {
        "random": Case((rng.standard_normal((3, 4)), -0.5, 0.7)),
        "empty": Case((np.zeros((0, 2)), -1.0, 1.0)),
        "min_only": Case((rng.standard_normal((3, 4)),), {"min": 0.1}),
        "tensor_bounds": Case((rng.standard_normal((3, 4)), rng.uniform(-1, -0.2, 4), rng.uniform(0.2, 1, (3, 1)))),
    }


def _clamp_ref(a, min=None, max=None):  # noqa: A002
    out = a
    if min is not None:
        out = np.maximum(out, min)
    if max is not None:
        out = np.minimum(out, max)
    return out.astype(a.dtype)


def _matmul_cases(rng):
    return {
        "random": Case((rng.standard_normal((3, 4)), rng.standard_normal((4, 5)))),
        "empty": Case((np.zeros((0, 4)), rng.standard_normal((4, 2)))),
        "broadcast": Case((rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((3, 4, 2)))),
        "vector": Case((rng.standard_normal(4), rng.standard_normal((2, 4, 3)))),
        "dot": Case((rng.standard_normal(4), rng.standard_normal(4))),
    }


def _pow_cases(rng):
    return {
        "random": Case((rng.uniform(0.5, 2, (3, 4)), rng.uniform(-1.5, 1.5, (3, 4)))),
        "empty": Case((np.zeros((0,)), np.ones((0,)))),
        "broadcast": Case((rng.uniform(0.5, 2, (2, 1, 4)), rng.uniform(-1, 2, (3, 1)))),
        "scalar_exponent": Case((rng.standard_normal((3, 4)), 3)),
    }


ROWS = {
    "add": Row(samples=lambda rng: {**_binary_cases()(rng), "alpha": Case((rng.standard_normal(3), rng.standard_normal(3)), {"alpha": 2.5})},
               ref=lambda a, b, alpha=1: a + alpha * b,
               bad=[((np.ones(3), np.ones(4)), {}, ValueError, "add")]),
    "sub": Row(samples=lambda rng: {**_binary_cases()(rng), "alpha": Case((rng.standard_normal(3), rng.standard_normal(3)), {"alpha": -2.0})},
               ref=lambda a, b, alpha=1: a - alpha * b,
               bad=[((np.ones(3), np.ones(4)), {}, ValueError, "sub")]),
    "mul": Row(samples=_binary_cases(), ref=lambda a, b: a * b,
               bad=[((np.ones(3), np.ones(4)), {}, ValueError, "mul")]),
    "div": Row(samples=lambda rng: {**_binary_cases(avoid_zero=True)(rng),
                                    "floor": Case((rng.standard_normal(5) * 5, 1.5), {"rounding_mode": "floor"}),
                                    "trunc": Case((rng.standard_normal(5) * 5, 1.5), {"rounding_mode": "trunc"})},
               ref=lambda a, b, rounding_mode=None: {None: np.true_divide, "floor": np.floor_divide,
                                                     "trunc": lambda x, y: np.trunc(x / y)}[rounding_mode](a, b).astype(a.dtype),
               bad=[((np.ones(3), 2.0), {"rounding_mode": "up"}, ValueError, "rounding_mode")]),
    "true_divide": Row(samples=_binary_cases(avoid_zero=True), ref=lambda a, b: a / b),
    "pow": Row(samples=_pow_cases, ref=lambda a, b: np.power(a, b).astype(a.dtype)),
    "maximum": Row(samples=_binary_cases(), ref=np.maximum),
    "minimum": Row(samples=_binary_cases(), ref=np.minimum),
    "matmul": Row(samples=_matmul_cases, ref=lambda a, b: np.matmul(a, b),
                  bad=[((np.ones((2, 3)), np.ones((4, 2))), {}, ValueError, "matmul")], rtol=1e-5, atol=1e-5),
    "exp": unary(np.exp),
    "log": unary(np.log, 0.2, 3.0),
    "sqrt": unary(np.sqrt, 0.2, 3.0),
    "tanh": unary(np.tanh),
    "sigmoid": unary(lambda a: (1 / (1 + np.exp(-a))).astype(a.dtype)),
    "abs": Row(samples=_unary_cases(), ref=np.abs, gradgrad=True),
    "relu": Row(samples=_unary_cases(), ref=_relu_ref),
    "clamp": Row(samples=_clamp_cases, ref=_clamp_ref,
                 bad=[((np.ones(3),), {}, ValueError, "clamp")]),
}

ROWS.update({
    "softmax": Row(samples=lambda rng: {"random": Case((rng.standard_normal((3, 4)), 1)),
                                        "empty": Case((np.zeros((0, 4)), 1)),
                                        "dim0": Case((rng.standard_normal((3, 4, 2)), 0))},
                   ref=lambda a, d: (np.exp(a - a.max(d, keepdims=True)) / np.exp(a - a.max(d, keepdims=True)).sum(d, keepdims=True)).astype(a.dtype),
                   bad=[((np.ones((2, 2)), 3), {}, IndexError, "softmax")]),
    "log_softmax": Row(samples=lambda rng: {"random": Case((rng.standard_normal((3, 4)), 1)),
                                            "empty": Case((np.zeros((0, 4)), 1)),
                                            "dim0": Case((rng.standard_normal((3, 4, 2)), 0))},
                       ref=lambda a, d: (a - a.max(d, keepdims=True) - np.log(np.exp(a - a.max(d, keepdims=True)).sum(d, keepdims=True))).astype(a.dtype)),
})
