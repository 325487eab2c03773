"""The vocabulary backward formulas are written in: each helper takes raw arrays (numpy or
GpuArray) or Tensors. On arrays it is the plain array call (first-order backward stays as fast as
before); on Tensors it is the registered differentiable op, so the same backward records a graph
when `create_graph=True` and the gradient can be differentiated again.

Python operators (+ - * / ** comparisons, unary -) already work on both kinds and need no helper.
"""

from __future__ import annotations

import math

import numpy as np

from ._util import kernels, native_float
from ._util import zeros as _array_zeros


from ..autograd import _TENSOR, _tensor_type


def is_tensor(x) -> bool:
    return isinstance(x, _TENSOR[0] or _tensor_type())


def _any_tensor(*xs) -> bool:
    T = _tensor_type()
    return any(isinstance(x, T) for x in xs)


def shape(x) -> tuple:
    return tuple(x.shape)


def sum_array(a, axes, keepdims=False):
    """`a.sum(axis=axes, keepdims=keepdims)` for an array. A float numpy array summed over one axis
    that is not the last (a sequence's time axis, the rows of a broadcast gradient, a Linear bias's
    gradient) is the batched product ones(1, R) @ a(A, R, C) in the native kernel's one-row path:
    numpy walks that axis 3-6x slower (128x20x128 over axis 1: 78-90 vs 23 µs; 1280x192 over
    axis 0: 36 vs 14 µs)."""
    axes = tuple(axes)
    if (len(axes) == 1 and native_float(a) and a.ndim >= 2 and a.size >= 4096 and a.flags.c_contiguous):
        d = axes[0] % a.ndim
        if d < a.ndim - 1 and a.shape[d] > 1:
            lead, rest = a.shape[:d], a.shape[d + 1:]
            total = kernels(a).matmul(np.ones((1, a.shape[d]), a.dtype), a.reshape(math.prod(lead), a.shape[d], -1))
            return total.reshape(lead + ((1,) if keepdims else ()) + rest)
    return a.sum(axis=axes, keepdims=keepdims)


def sum_to(g, shape_: tuple):
    """Sum `g` down to `shape_`, undoing broadcasting."""
    shape_ = tuple(shape_)
    if tuple(g.shape) == shape_:
        return g
    lead = len(g.shape) - len(shape_)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape_) if n == 1 and g.shape[lead + i] != 1)
    if is_tensor(g):
        out = g.sum(dim=axes, keepdim=True) if axes else g
        return out.reshape(shape_)
    out = sum_array(g, axes, keepdims=True) if axes else g
    return out.reshape(shape_)


def reduce_sum(x, axes, keepdims=False):
    if is_tensor(x):
        return x.sum(dim=tuple(axes), keepdim=keepdims)
    return sum_array(x, axes, keepdims)


def expand_dims(g, axes):
    """Insert size-1 axes at `axes` (sorted, of the result), e.g. to undo a reduction."""
    if not axes:
        return g
    out_shape = list(g.shape)
    for a in sorted(axes):
        out_shape.insert(a, 1)
    return g.reshape(tuple(out_shape))


def broadcast_to(g, shape_):
    if is_tensor(g):
        return g.expand(tuple(shape_))
    return np.broadcast_to(g, tuple(shape_))


def where(cond, a, b):
    if _any_tensor(cond, a, b):
        from ..tensor import where as twhere

        return twhere(cond, a, b)
    return np.where(cond, a, b)


def exp(x):
    return x.exp() if is_tensor(x) else np.exp(x)


def log(x):
    return x.log() if is_tensor(x) else np.log(x)


def sign(x):
    return x.sign() if is_tensor(x) else np.sign(x)


def sqrt(x):
    return x.sqrt() if is_tensor(x) else np.sqrt(x)


def cos(x):
    return x.cos() if is_tensor(x) else np.cos(x)


def sin(x):
    return x.sin() if is_tensor(x) else np.sin(x)


def floor_div(a, b):
    if _any_tensor(a, b):
        return (a / b).floor()
    return np.floor_divide(a, b)


def trunc(x):
    return x.trunc() if is_tensor(x) else np.trunc(x)


def power(a, b):
    if _any_tensor(a, b):
        return a ** b
    return np.power(a, b)


def astype(x, dtype):
    if is_tensor(x):
        return x.to(np.dtype(dtype))
    return x.astype(dtype, copy=False)


def swapaxes(x, a, b):
    return x.transpose(a, b) if is_tensor(x) else np.swapaxes(x, a, b)


def permute(x, axes):
    return x.permute(tuple(axes)) if is_tensor(x) else x.transpose(tuple(axes))


def matmul(a, b):
    if _any_tensor(a, b):
        from ..tensor import matmul as tmatmul

        return tmatmul(a, b)
    from .linalg import matmul_arrays

    return matmul_arrays(a, b)


def zeros(shape_, dtype, like):
    """Zeros on the device of `like` (a Tensor result when `like` is one)."""
    if is_tensor(like):
        from ..tensor import zeros as tzeros

        return tzeros(tuple(shape_), dtype=dtype, device=like.device)
    return _array_zeros(tuple(shape_), dtype, like=like)


def take_along(x, idx, axis):
    if is_tensor(x):
        T = _tensor_type()
        return x.gather(axis, idx if isinstance(idx, T) else T._wrap(idx))
    return np.take_along_axis(x, idx, axis=axis)


def scatter_add_into(shape_, axis, idx, src):
    """Zeros of `shape_` with `src` added at `idx` along `axis` (the backward of a gather); idx
    may be smaller than `shape_` apart from `axis`."""
    from ._index_kernels import scatter_add_into as _impl

    return _impl(shape_, axis, idx, src)


def add_along(out, idx, src, axis):
    """np.add.at along an axis: out[..., idx[i], ...] += src[i] with repeats accumulating."""
    if out.ndim == 0:
        np.add.at(out, (), src)
        return
    grids = np.indices(idx.shape, sparse=True) if type(idx) is np.ndarray else None
    if grids is None:  # device arrays: the index kernel
        from ..wgpu import indexing

        indexing.add_along_axis(out, idx, src, axis)
        return
    key = tuple(idx if d == axis % out.ndim else grids[d] for d in range(out.ndim))
    np.add.at(out, key, src)


def index_add_into(shape_, dtype, key, g):
    """Zeros of `shape_` with `g` added at `key` (the backward of indexing)."""
    if is_tensor(g):
        base = zeros(shape_, dtype, g)
        return base.index_put((key,) if not isinstance(key, tuple) else key, g, accumulate=True)
    out = _array_zeros(tuple(shape_), dtype, like=g)
    if _is_basic(key):  # slices and ints never repeat a position: a plain assignment is the sum
        out[key] = g
    else:
        np.add.at(out, key, g)
    return out


def _is_basic(key) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (slice, int, np.integer)) for k in parts)
