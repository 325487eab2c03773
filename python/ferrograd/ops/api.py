"""Import every registry family, so `registry.OPS` is complete before `install` runs."""

from . import arith_ops, diag_ops, index_ops, math_ops, reduce_ops, scan_ops, shape_ops, sort_ops  # noqa: F401
from . import creation_ops, dtype_ops, linalg_ops, nn_ops, random_ops  # noqa: F401
