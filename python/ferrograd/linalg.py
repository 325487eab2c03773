"""`fg.linalg`: torch.linalg's names. Norms run on every device and are differentiable; inv, det,
solve and cholesky run LAPACK (numpy) on cpu with their own backward formulas and raise
NotImplementedError on wgpu."""

from __future__ import annotations

import math
import numbers

from .errors import ShapeRuntimeError
from .ops.linalg_ops import LinAlgError, cross_dim, vector_norm
from .ops.linalg_ops import cholesky as _cholesky
from .ops.linalg_ops import det as _det
from .ops.linalg_ops import inverse as _inverse
from .ops.linalg_ops import solve
from .ops.reduce import normalize_dims

__all__ = ["LinAlgError", "cholesky", "cross", "det", "inv", "matmul", "matrix_norm", "norm", "solve",
           "vector_norm", "vecdot"]


def inv(A, *, out=None):
    """The inverse of a square matrix (or a batch); LinAlgError when singular."""
    return _inverse(A, out=out)


def det(A, *, out=None):
    out_ = _det(A)
    if out is not None:
        from .ops._factory import finish

        return finish(out_, out, "linalg.det")
    return out_


def cholesky(A, *, upper=False, out=None):
    return _cholesky(A, upper, out=out)


def cross(input, other, *, dim=-1, out=None):
    """The 3-D cross product along `dim` (default the last, unlike torch.cross's None)."""
    res = cross_dim(input, other, dim, "linalg.cross")
    if out is not None:
        from .ops._factory import finish

        return finish(res, out, "linalg.cross")
    return res


def matmul(input, other, *, out=None):
    res = input @ other
    if out is not None:
        from .ops._factory import finish

        return finish(res, out, "linalg.matmul")
    return res


def vecdot(x, y, *, dim=-1, out=None):
    """sum(x * y, dim) (real tensors: no conjugation)."""
    res = (x * y).sum(dim=dim)
    if out is not None:
        from .ops._factory import finish

        return finish(res, out, "linalg.vecdot")
    return res


def _move_last2(A, dims, op):
    d0, d1 = (normalize_dims(d, A.ndim, op)[0] for d in dims)
    if d0 == d1:
        raise ValueError(f"{op}: dims must be different, got {dims}")
    rest = [d for d in range(A.ndim) if d not in (d0, d1)]
    return A.permute(rest + [d0, d1]), (d0, d1)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """torch.linalg.matrix_norm for ord 'fro', 1, -1, inf, -inf (2, -2 and 'nuc' need singular
    values: not implemented)."""
    op = "linalg.matrix_norm"
    if A.ndim < 2:
        raise ShapeRuntimeError(f"{op}: the input tensor A must have at least 2 dimensions, got shape {tuple(A.shape)}")
    if dtype is not None:
        A = A.to(dtype)
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ValueError(f"{op}: dim must be a 2-tuple, got {dim!r}")
    if ord == "fro":
        res = vector_norm(A, 2, dim=tuple(dim), keepdim=keepdim)
    elif ord in ("nuc", 2, -2):
        raise NotImplementedError(f"{op}: ord={ord!r} (from singular values) is not implemented; "
                                  "supported: 'fro', 1, -1, inf, -inf")
    elif isinstance(ord, numbers.Number) and ord in (1, -1, math.inf, -math.inf):
        B, (d0, d1) = _move_last2(A, dim, op)
        if 0 in tuple(B.shape[-2:]):
            raise ShapeRuntimeError(f"{op}: cannot compute the {ord} norm of an empty matrix")
        # 1 / -1: max / min over columns of the column sums of |A|; inf / -inf: over rows.
        sums = B.abs().sum(dim=-2 if abs(ord) == 1 else -1)
        res = (sums.max(dim=-1) if ord > 0 else sums.min(dim=-1)).values
        if keepdim:
            for d in sorted((d0, d1)):
                res = res.unsqueeze(d)
    else:
        raise ValueError(f"{op}: order {ord!r} not supported (supported: 'fro', 1, -1, inf, -inf)")
    if out is not None:
        from .ops._factory import finish

        return finish(res, out, op)
    return res


def norm(A, ord=None, dim=None, keepdim=False, *, out=None, dtype=None):
    """torch.linalg.norm: a vector norm when dim is an int (or A is 1-D / ord is None with no dim:
    the 2-norm of every element), a matrix norm when dim is a 2-tuple or A is 2-D with an ord."""
    op = "linalg.norm"
    if isinstance(dim, numbers.Integral):
        dim = (dim,)
    if dim is not None:
        dim = tuple(dim)
        if len(dim) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype, out=out)
        if len(dim) != 1:
            raise ValueError(f"{op}: dim must be an int or a tuple of 1 or 2 ints, got {dim}")
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype, out=out)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
    if isinstance(ord, str) or A.ndim == 2:
        if A.ndim != 2:
            raise ShapeRuntimeError(f"{op}: ord={ord!r} needs a 2-D input when dim is not given, got {A.ndim}-D")
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype, out=out)
    if A.ndim != 1:
        raise ShapeRuntimeError(f"{op}: if dim is not specified but ord is, the input must be 1D or 2D. Got {A.ndim}D")
    return vector_norm(A, ord, None, keepdim, dtype=dtype, out=out)
