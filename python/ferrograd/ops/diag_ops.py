"""Registry entries: triangles and diagonals (tril, triu, tril_indices, triu_indices, diag,
diagonal, diag_embed, trace).

tril/triu are `where` with a constant (rows, cols) mask built on the host (uploaded once per call
on wgpu), so they need no device kernel and are twice differentiable. diagonal is a strided view of
the input (as torch's); its gradient writes into the diagonal of zeros (DiagonalScatter), and the
two Functions are each other's backward.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd import Function
from ..errors import ShapeRuntimeError
from . import _generic as G
from . import _index_kernels as K
from ._util import zeros as _zeros
from .registry import register
from ._args import tensor_cls as _tensor_cls, check_tensor as _check


def _int(v, op, name):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {type(v).__name__}")
    return int(v)


def _dim(dim, ndim, op, name="dim"):
    _int(dim, op, name)
    if not -ndim <= dim < ndim:
        raise IndexError(f"{op}: {name} {dim} is out of range for a tensor of {ndim} dims (expected in [{-ndim}, {ndim - 1}])")
    return int(dim) % ndim


# ---- triangles -----------------------------------------------------------------------------
def _triangle(input, diagonal, op, lower):
    from ..tensor import where, zeros

    _check(input, op)
    k = _int(diagonal, op, "diagonal")
    if input.ndim < 2:
        raise ShapeRuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape {tuple(input.shape)}")
    r, c = input.shape[-2:]
    mask = np.tri(r, c, k, dtype=bool) if lower else ~np.tri(r, c, k - 1, dtype=bool)
    return where(mask, input, zeros((), dtype=input.dtype, device=input.device))


@register("tril", inplace=True)
def tril(input, diagonal=0):
    """The lower triangle (j - i <= diagonal) of the last two dims, zeros elsewhere."""
    return _triangle(input, diagonal, "tril", True)


@register("triu", inplace=True)
def triu(input, diagonal=0):
    """The upper triangle (j - i >= diagonal) of the last two dims, zeros elsewhere."""
    return _triangle(input, diagonal, "triu", False)


def _indices(row, col, offset, dtype, device, op, lower):
    from ..tensor import tensor

    row, col, offset = _int(row, op, "row"), _int(col, op, "col"), _int(offset, op, "offset")
    if row < 0 or col < 0:
        raise ValueError(f"{op}: row and col must be non-negative, got {row} and {col}")
    dt = dtypes.check_dtype(dtype, op)
    if dt.kind not in "iu":
        raise TypeError(f"{op}: dtype must be an integer dtype, got {dt}")
    rows, cols = np.tril_indices(row, offset, col) if lower else np.triu_indices(row, offset, col)
    return tensor(np.stack([rows, cols]).astype(dt), device=device)


@register("tril_indices", method=False, differentiable=False)
def tril_indices(row, col, offset=0, *, dtype=dtypes.int64, device=None, layout=None):
    """The (2, N) coordinates of the lower triangle of a row x col matrix, row by row."""
    return _indices(row, col, offset, dtype, device, "tril_indices", True)


@register("triu_indices", method=False, differentiable=False)
def triu_indices(row, col, offset=0, *, dtype=dtypes.int64, device=None, layout=None):
    """The (2, N) coordinates of the upper triangle of a row x col matrix, row by row."""
    return _indices(row, col, offset, dtype, device, "triu_indices", False)


# ---- diagonals -------------------------------------------------------------------------------
class Diagonal(Function):
    """The diagonal (offset, dim1, dim2) as a strided view of the input."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, offset, d1, d2):
        ctx.shape, ctx.dtype, ctx.args = a.shape, a.dtype, (offset, d1, d2)
        return K.diagonal_view(a, offset, d1, d2)

    @staticmethod
    def backward(ctx, g):
        if G.is_tensor(g):
            from ..tensor import zeros

            return DiagonalScatter.apply(zeros(ctx.shape, dtype=g.dtype, device=g.device), g, *ctx.args)
        out = _zeros(ctx.shape, g.dtype, like=g)
        K.diagonal_view(out, *ctx.args)[...] = g
        return out


class DiagonalScatter(Function):
    """A copy of `a` whose diagonal (offset, dim1, dim2) is `src` (torch.diagonal_scatter)."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, src, offset, d1, d2):
        ctx.args = (offset, d1, d2)
        out = a.copy()
        K.diagonal_view(out, offset, d1, d2)[...] = src
        return out

    @staticmethod
    def backward(ctx, g):
        g_src = None
        if ctx.needs_input_grad[1]:
            g_src = Diagonal.apply(g, *ctx.args) if G.is_tensor(g) else K.diagonal_view(g, *ctx.args).copy()
        g_a = None
        if ctx.needs_input_grad[0]:
            if G.is_tensor(g):
                from ..tensor import zeros

                z = zeros(_diagonal_shape(tuple(g.shape), *ctx.args), dtype=g.dtype, device=g.device)
                g_a = DiagonalScatter.apply(g, z, *ctx.args)
            else:
                g_a = g.copy()
                K.diagonal_view(g_a, *ctx.args)[...] = 0
        return g_a, g_src


def _diagonal_shape(shape, offset, d1, d2):
    n1, n2 = shape[d1], shape[d2]
    n = max(0, min(n1, n2 - offset)) if offset >= 0 else max(0, min(n1 + offset, n2))
    return tuple(s for d, s in enumerate(shape) if d not in (d1, d2)) + (n,)


def _diag_dims(ndim, dim1, dim2, op):
    d1, d2 = _dim(dim1, ndim, op, "dim1"), _dim(dim2, ndim, op, "dim2")
    if d1 == d2:
        raise ShapeRuntimeError(f"{op}: diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


@register("diagonal")
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of dims (dim1, dim2) at `offset`, as a view: the other dims, then the diagonal."""
    _check(input, "diagonal")
    k = _int(offset, "diagonal", "offset")
    if input.ndim < 2:
        raise ShapeRuntimeError(f"diagonal: expects a tensor of at least 2 dims, got shape {tuple(input.shape)}")
    d1, d2 = _diag_dims(input.ndim, dim1, dim2, "diagonal")
    return Diagonal.apply(input, k, d1, d2)


@register("diag_embed")
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """A tensor whose diagonals (offset, over dims dim1, dim2 of the result) are input's last
    dim; zeros elsewhere."""
    from ..tensor import zeros

    _check(input, "diag_embed")
    k = _int(offset, "diag_embed", "offset")
    if input.ndim == 0:
        raise ShapeRuntimeError("diag_embed: expects a tensor of at least 1 dim, got a 0-d tensor")
    d1, d2 = _diag_dims(input.ndim + 1, dim1, dim2, "diag_embed")
    n = input.shape[-1] + abs(k)
    shape = list(input.shape[:-1])
    for d in sorted((d1, d2)):
        shape.insert(d, n)
    base = zeros(tuple(shape), dtype=input.dtype, device=input.device)
    return DiagonalScatter.apply(base, input, k, d1, d2)


@register("diag")
def diag(input, diagonal=0):
    """1-d input: the square matrix with input on its `diagonal`; 2-d: that diagonal (a copy)."""
    _check(input, "diag")
    k = _int(diagonal, "diag", "diagonal")
    if input.ndim == 1:
        return diag_embed(input, k, 0, 1)
    if input.ndim == 2:
        return Diagonal.apply(input, k, 0, 1).clone()
    raise ShapeRuntimeError(f"diag: supports 1-d or 2-d tensors, got {input.ndim}-d")


@register("trace")
def trace(input):
    """The sum of the main diagonal of a matrix (integers sum as int64)."""
    _check(input, "trace")
    if input.ndim != 2:
        raise ShapeRuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    if input.dtype == dtypes.bool_:
        raise TypeError("trace: not implemented for bool tensors")
    d = Diagonal.apply(input, 0, 0, 1)
    return d.sum() if dtypes.is_float(input.dtype) else d.to(dtypes.int64).sum()
