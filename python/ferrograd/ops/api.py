"""Import every registry family, so `registry.OPS` is complete before `install` runs."""

from . import diag_ops, index_ops, math_ops, reduce_ops, shape_ops  # noqa: F401
