"""Table rows: reductions (ops/reduce_ops.py)."""

from __future__ import annotations

import numpy as np
from optable import Case, Row


def _truth_cases(rng):
    return {
        "random": Case((rng.random((3, 4)) > 0.3,)),
        "empty": Case((np.zeros((0, 3), bool),)),
        "dim": Case((rng.random((3, 4)) > 0.3, 1)),
        "keepdim": Case((rng.integers(0, 2, (2, 3, 4)), (0, 2), True)),
        "floats": Case((rng.standard_normal((3, 4)) * (rng.random((3, 4)) > 0.5), 0)),
    }


ROWS = {
    "all": Row(samples=_truth_cases, ref=lambda a, dim=None, keepdim=False: np.all(a != 0, axis=dim, keepdims=keepdim), grad=False,
               bad=[((np.ones((2, 2)), 2), {}, IndexError, "all")]),
    "any": Row(samples=_truth_cases, ref=lambda a, dim=None, keepdim=False: np.any(a != 0, axis=dim, keepdims=keepdim), grad=False,
               bad=[((np.ones((2, 2)), 2), {}, IndexError, "any")]),
}
