"""Registry entries: indexing by index tensors and masks (gather, scatter, scatter_add,
scatter_reduce, index_select, index_add, index_copy, index_fill, index_put, masked_fill,
masked_select, masked_scatter, take, take_along_dim, nonzero, argwhere, one-argument where).

gather / scatter / scatter_add / scatter_reduce are autograd Functions over `_index_kernels`
(numpy on cpu, GpuArray kernels on wgpu); the index_* and masked_* ops compose the indexing
Functions of ops/shape.py (Index, IndexPut) and `where`, so they are differentiable (twice) for free.

Index tensors: int32 or int64 on the input's device, or on the cpu for a wgpu input (host indices
are uploaded, as torch accepts cpu indices for cuda tensors). Bounds are checked on every device:
device indices cost one small readback (an any() of the out-of-range mask, ops/_range.py), so an
out-of-range index raises IndexError naming the op on wgpu as on cpu instead of reading zeros.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import dtypes
from ..autograd import Function
from ..errors import DtypeRuntimeError, ShapeRuntimeError
from ..wgpu.array import GpuArray
from . import _generic as G
from . import _index_kernels as K
from ._index_kernels import IndexRuntimeError
from ._util import full as _full
from ._util import ones as _ones
from ._util import to_host
from .registry import register
from .shape import Index, IndexPut
from ._args import tensor_cls as _tensor_cls, check_tensor as _check
from ._range import check_key_ranges, first_out_of_range


def _dim(dim, ndim, op):
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of {ndim} dims (expected in [{-n}, {n - 1}])")
    return int(dim) % n


def _index(index, input, op, name="index"):
    """The raw int array of an index tensor (validated: a Tensor, integer, on a usable device)."""
    if not isinstance(index, _tensor_cls()):
        raise TypeError(f"{op}: {name} must be a Tensor of int64 (or int32), got {type(index).__name__}")
    if np.dtype(index.dtype).kind not in "iu":
        raise DtypeRuntimeError(f"{op}: expected dtype int64 (or int32) for {name}, got {index.dtype}")
    if type(input._data) is np.ndarray and type(index._data) is not np.ndarray:
        raise ValueError(f"{op}: {name} is on {index.device}, input on {input.device}; move them to one device")
    if type(input._data) is not np.ndarray and type(index._data) is np.ndarray:
        # A cpu index for a wgpu input is uploaded here, explicitly (as torch takes cpu indices
        # for cuda tensors): the kernels' Function.apply refuses host arrays beside device tensors.
        return index.to(input.device)._data
    return index._data


def _same_device(t, input, op, name):
    if type(t._data) is not type(input._data):
        raise ValueError(f"{op}: {name} is on {t.device}, input on {input.device}; move them to one device")


def _check_range(idx, n, op, *, negative=False, exc=IndexRuntimeError, dim=None):
    """Indices must lie in [0, n) (or [-n, n) where torch wraps negatives). On wgpu this costs
    one small readback (a device-side any() of the out-of-range mask), see ops/_range.py."""
    bad = first_out_of_range(idx, -n if negative else 0, n)
    if bad is not None:
        where = f" for dimension {dim}" if dim is not None else ""
        raise exc(f"{op}: index {bad} is out of bounds{where} with size {n}")


def _value_tensor(value, input, op):
    """A 0-d value (a Python number or a 0-d tensor) as a tensor of input's dtype and device."""
    T = _tensor_cls()
    if isinstance(value, T):
        if value.ndim != 0:
            raise ShapeRuntimeError(f"{op}: only supports a 0-dimensional value tensor, but got tensor with {value.ndim} dimension(s)")
        _same_device(value, input, op, "value")
        return value if value.dtype == input.dtype else value.to(input.dtype)
    if not isinstance(value, (numbers.Number, np.generic)):
        raise TypeError(f"{op}: value must be a number or a 0-d Tensor, got {type(value).__name__}")
    from ..tensor import tensor

    return tensor(value, dtype=input.dtype, device=input.device)


def _like_input(t, input, op, name):
    _check(t, op, name)
    _same_device(t, input, op, name)
    if t.dtype != input.dtype:
        raise DtypeRuntimeError(f"{op}: expected {name} to have the dtype of input ({input.dtype}), got {t.dtype}")
    return t


# ---- gather / scatter --------------------------------------------------------------------------
def _check_scatter_shapes(input, idx, dim, op, src=None):
    """torch's rule: index has input's number of dims; index.size(d) <= input.size(d) for
    d != dim, and <= src.size(d) for every d."""
    if idx.ndim != input.ndim and not (idx.ndim <= 1 and input.ndim <= 1):
        raise ShapeRuntimeError(f"{op}: index tensor must have the same number of dimensions as input tensor "
                                f"(index {tuple(idx.shape)}, input {tuple(input.shape)})")
    if idx.size == 0:
        return
    for d in range(idx.ndim):
        if d != dim and idx.shape[d] > input.shape[d]:
            raise ShapeRuntimeError(f"{op}: expected index {tuple(idx.shape)} to be no larger than input "
                                    f"{tuple(input.shape)} apart from dimension {dim}")
    if src is not None:
        if src.ndim != idx.ndim:
            raise ShapeRuntimeError(f"{op}: index {tuple(idx.shape)} and src {tuple(src.shape)} must have the same number of dims")
        if any(i > s for i, s in zip(idx.shape, src.shape)):
            raise ShapeRuntimeError(f"{op}: expected index {tuple(idx.shape)} to be no larger than src {tuple(src.shape)}")


class Gather(Function):
    """out[i][j] = a[idx[i][j]][j] (dim 0); the gradient scatter-adds back, repeats accumulating."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, idx, dim):
        ctx.shape, ctx.dim, ctx.idx = a.shape, dim, idx
        return K.gather_along(a, dim, idx)

    @staticmethod
    def backward(ctx, g):
        return K.scatter_add_into(ctx.shape, ctx.dim, ctx.idx, g), None


@register("gather")
def gather(input, dim, index, *, sparse_grad=False):
    """Values of input at `index` along `dim` (torch.gather): out has index's shape."""
    _check(input, "gather")
    d = _dim(dim, input.ndim, "gather")
    idx = _index(index, input, "gather")
    if input.ndim == 0 or (input.ndim == 1 and idx.ndim == 0):  # torch allows 0-d with 0-d / 1-d
        _check_scatter_shapes(input, idx, d, "gather")  # (and refuses a 0-d input with a 2-d index)
        return gather(input.reshape(-1), 0, index.reshape(-1)).reshape(tuple(index.shape))
    _check_scatter_shapes(input, idx, d, "gather")
    _check_range(idx, input.shape[d], "gather", dim=d)
    return Gather.apply(input, idx, d)


class Scatter(Function):
    """A copy of `a` with src (an array, or a scalar) written at idx along dim; where indices
    repeat, one of the writes wins (as torch: unspecified which)."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, src, idx, dim):
        out = a.copy()
        scalar = not isinstance(src, (np.ndarray, GpuArray))
        K.put_along(out, idx, src if scalar else K.corner(src, idx.shape), dim)
        ctx.idx, ctx.dim, ctx.src_shape = idx, dim, None if scalar else src.shape
        return out

    @staticmethod
    def backward(ctx, g):
        g_self = g_src = None
        if ctx.needs_input_grad[0]:
            g_self = _scatter_value(g, ctx.idx, ctx.dim, 0)
        if ctx.src_shape is not None and ctx.needs_input_grad[1]:
            g_src = K.pad_corner(K.gather_along(g, ctx.dim, ctx.idx), ctx.src_shape)
        return g_self, g_src


def _scatter_value(g, idx, dim, value):
    """g with `value` written at idx along dim (arrays or Tensors)."""
    if G.is_tensor(g):
        T = type(g)
        return Scatter.apply(g, value, idx._data if isinstance(idx, T) else idx, dim)
    out = g.copy()
    K.put_along(out, idx, value, dim)
    return out


class ScatterAdd(Function):
    generic_backward = True

    @staticmethod
    def forward(ctx, a, src, idx, dim):
        out = a.copy()
        K.add_along(out, idx, K.corner(src, idx.shape), dim)
        ctx.idx, ctx.dim, ctx.src_shape = idx, dim, src.shape
        return out

    @staticmethod
    def backward(ctx, g):
        g_src = None
        if ctx.needs_input_grad[1]:
            g_src = K.pad_corner(K.gather_along(g, ctx.dim, ctx.idx), ctx.src_shape)
        return g, g_src


def _scatter_args(input, dim, index, src, op):
    _check(input, op)
    d = _dim(dim, input.ndim, op)
    idx = _index(index, input, op)
    if src is not None:
        _like_input(src, input, op, "src")
    _check_scatter_shapes(input, idx, d, op, None if src is None else src)
    _check_range(idx, input.shape[d], op, dim=d)
    return d, idx


def _on_vector(input, index, src):
    """0-d input: the same op on one-element vectors, then back to 0-d."""
    return input.reshape(1), index.reshape(-1), None if src is None else src.reshape(-1)


def _vector_args(input, index, src):
    """A 1-d input with a 0-d index (and src), which torch accepts: the index as one element."""
    if input.ndim == 1 and isinstance(index, _tensor_cls()) and index.ndim == 0:
        index = index.reshape(1)
        if isinstance(src, _tensor_cls()) and src.ndim == 0:
            src = src.reshape(1)
    return index, src


@register("scatter_add", inplace=True)
def scatter_add(input, dim, index, src):
    """A copy of input with src added at index along dim (repeats accumulate), torch.scatter_add."""
    _check(input, "scatter_add")
    _check(src, "scatter_add", "src")
    if input.ndim == 0:
        a, i, s = _on_vector(input, index, src)
        return scatter_add(a, 0, i, s).reshape(())
    index, src = _vector_args(input, index, src)
    d, idx = _scatter_args(input, dim, index, src, "scatter_add")
    if input.dtype == dtypes.bool_:
        raise DtypeRuntimeError("scatter_add: bool tensors are not supported")
    return ScatterAdd.apply(input, src, idx, d)


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


@register("scatter", inplace=True)
def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """A copy of input with src (a tensor) or value (a number) written at index along dim,
    torch.scatter; reduce='add' / 'multiply' accumulate instead of overwriting."""
    _check(input, "scatter")
    if src is not None and not isinstance(src, _tensor_cls()):
        src, value = None, src  # scatter(input, dim, index, 2.0): the value form
    if (src is None) == (value is None):
        raise TypeError("scatter: expects exactly one of src (a Tensor) and value (a number)")
    if value is not None:
        if isinstance(value, _tensor_cls()):
            if value.ndim != 0:
                raise TypeError("scatter: value must be a number (or a 0-d tensor); pass a tensor as src")
            value = value.item()
        if not isinstance(value, (numbers.Number, np.generic)):
            raise TypeError(f"scatter: value must be a number, got {type(value).__name__}")
    if reduce is not None and reduce not in ("add", "multiply"):
        raise ValueError(f"scatter: reduce argument must be either 'add' or 'multiply', got {reduce!r}")
    if input.ndim == 0:
        a, i, s = _on_vector(input, index, src)
        return scatter(a, 0, i, s, value, reduce=reduce).reshape(())
    index, src = _vector_args(input, index, src)
    d, idx = _scatter_args(input, dim, index, src, "scatter")
    if reduce is not None:
        if src is None:
            from ..tensor import full

            src = full(tuple(index.shape), value, dtype=input.dtype, device=input.device)
        if reduce == "add":
            return scatter_add(input, d, index, src)
        return scatter_reduce(input, d, index, src, "prod")
    if src is None:
        return Scatter.apply(input, value, idx, d)
    return Scatter.apply(input, src, idx, d)


def _identity(reduce, dtype, like):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if np.dtype(dtype).kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(np.int32 if isinstance(like, GpuArray) else dtype)  # int64 lives as int32 on the device
    return int(info.min) if reduce == "amax" else int(info.max)


class ScatterReduce(Function):
    """scatter_reduce's forward on arrays; its backward is torch's (FunctionsManual
    scatter_reduce_backward), written with Tensor ops so it can be differentiated again."""

    generic_backward = True

    @staticmethod
    def forward(ctx, a, src, idx, dim, reduce, include_self):
        out = a.copy()
        s = K.corner(src, idx.shape)
        if not include_self:
            K.put_along(out, idx, _identity(reduce, a.dtype, a), dim)
        if reduce in ("sum", "mean"):
            K.add_along(out, idx, s, dim)
        else:
            K.reduce_along(out, idx, s, dim, reduce)
        if reduce == "mean":
            count = _full(a.shape, 1 if include_self else 0, a.dtype, like=a)
            K.add_along(count, idx, _ones(idx.shape, a.dtype, like=a), dim)
            count = np.maximum(count, 1)
            out = out / count if np.dtype(a.dtype).kind == "f" else K.floor_divide_int(out, count)
        ctx.save_for_backward(a, src, out)
        ctx.idx, ctx.dim, ctx.reduce, ctx.include_self = idx, dim, reduce, include_self
        return out

    @staticmethod
    def backward(ctx, g):
        T = _tensor_cls()
        raw = not isinstance(g, T)
        a, src, out = (x if isinstance(x, T) else T._wrap(x) for x in ctx.saved)
        gs, gsrc = _scatter_reduce_backward(g if not raw else T._wrap(g), a, src, out, T._wrap(ctx.idx), ctx.dim,
                                            ctx.reduce, ctx.include_self, ctx.needs_input_grad)
        if raw:
            gs = None if gs is None else gs._data
            gsrc = None if gsrc is None else gsrc._data
        return gs, gsrc


def _scatter_reduce_backward(grad, self, src, result, index, dim, reduce, include_self, needs):
    from ..tensor import where, zeros_like

    corner_key = tuple(slice(0, n) for n in index.shape)
    src_c = src if tuple(src.shape) == tuple(index.shape) else src[corner_key]
    dt = self.dtype
    if reduce == "sum":
        grad_self = grad
        grad_src = gather(grad, dim, index)
    elif reduce == "prod":
        masked_self = where(self == 0, 1.0, self)
        masked_self_result = scatter_reduce(masked_self, dim, index, src, "prod", include_self=include_self)
        grad_self = grad * masked_self_result / masked_self
        src_zero = src_c == 0
        src_num_zeros = gather(scatter_add(zeros_like(self), dim, index, src_zero.to(dt)), dim, index)
        src_single_zero = src_zero & (src_num_zeros == 1)
        masked_src = where(src_single_zero, 1.0, src_c)
        masked_src_result = scatter_reduce(self, dim, index, masked_src, "prod", include_self=include_self)
        grad_src = where(src_single_zero, gather(grad * masked_src_result, dim, index),
                         gather(grad * result, dim, index) / where(src_zero, 1.0, src_c))
    elif reduce == "mean":
        from ..tensor import full, ones

        n = full(tuple(self.shape), 1.0 if include_self else 0.0, dtype=dt, device=self.device)
        n = scatter_add(n, dim, index, ones(tuple(index.shape), dtype=dt, device=self.device))
        n = where(n == 0, 1.0, n)
        grad_self = grad / n
        grad_src = gather(grad_self, dim, index)
    else:  # amax, amin: the gradient is shared evenly between the elements equal to the result
        value = gather(result, dim, index)
        self_is_result = (self == result).to(dt)
        src_is_result = (src_c == value).to(dt)
        n = scatter_add(self_is_result, dim, index, src_is_result)
        grad_distributed = grad / n
        grad_self = self_is_result * grad_distributed
        grad_src = src_is_result * gather(grad_distributed, dim, index)
    if not include_self:
        grad_self = scatter(grad_self, dim, index, 0.0)
    return (grad_self if needs[0] else None), (K.pad_corner(grad_src, tuple(src.shape)) if needs[1] else None)


@register("scatter_reduce", inplace=True)
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """src reduced into a copy of input at index along dim with 'sum', 'prod', 'mean', 'amax' or
    'amin' (include_self: whether input's values take part), torch.scatter_reduce."""
    _check(input, "scatter_reduce")
    _check(src, "scatter_reduce", "src")
    if reduce not in _REDUCES:
        raise ValueError(f"scatter_reduce: reduce must be one of {', '.join(_REDUCES)}, got {reduce!r}")
    if input.ndim == 0:
        a, i, s = _on_vector(input, index, src)
        return scatter_reduce(a, 0, i, s, reduce, include_self=include_self).reshape(())
    index, src = _vector_args(input, index, src)
    d, idx = _scatter_args(input, dim, index, src, "scatter_reduce")
    if input.dtype == dtypes.bool_:
        raise DtypeRuntimeError("scatter_reduce: bool tensors are not supported")
    return ScatterReduce.apply(input, src, idx, d, reduce, bool(include_self))


# ---- index_* along one dim ---------------------------------------------------------------------
def _vector_index(index, input, op):
    idx = _index(index, input, op)
    if idx.ndim > 1:
        raise IndexError(f"{op}: index is supposed to be a vector, got shape {tuple(idx.shape)}")
    return idx.reshape(-1) if idx.ndim == 0 else idx


def _along_key(d, idx):
    return (slice(None),) * d + (idx,)


@register("index_select")
def index_select(input, dim, index):
    """The slices of input at `index` (a vector) along dim, torch.index_select."""
    _check(input, "index_select")
    idx = _vector_index(index, input, "index_select")
    if input.ndim == 0:  # torch: a 0-d input takes a one-element index and stays 0-d
        _dim(dim, 0, "index_select")
        if idx.shape[0] != 1:
            raise IndexError(f"index_select: index to a 0-d tensor can have only 1 value, got {idx.shape[0]}")
        return index_select(input.reshape(1), 0, index.reshape(-1)).reshape(())
    d = _dim(dim, input.ndim, "index_select")
    _check_range(idx, input.shape[d], "index_select", exc=IndexError, dim=d)
    return Index.apply(input, _along_key(d, idx))


def _index_source(input, d, idx, source, op):
    _like_input(source, input, op, "source")
    want = tuple(input.shape[:d]) + (idx.shape[0],) + tuple(input.shape[d + 1:])
    if tuple(source.shape) != want:
        raise ShapeRuntimeError(f"{op}: source of shape {tuple(source.shape)} does not fit: expected {want} "
                                f"(input {tuple(input.shape)} with dim {d} of the index's length {idx.shape[0]})")


@register("index_add", inplace=True)
def index_add(input, dim, index, source, *, alpha=1):
    """A copy of input with alpha * source added at index along dim (repeats accumulate)."""
    _check(input, "index_add")
    if input.ndim == 0:
        return index_add(input.reshape(1), 0, index, source.reshape(-1), alpha=alpha).reshape(())
    d = _dim(dim, input.ndim, "index_add")
    idx = _vector_index(index, input, "index_add")
    _index_source(input, d, idx, source, "index_add")
    _check_range(idx, input.shape[d], "index_add", dim=d)
    values = source if alpha == 1 else source * alpha
    return IndexPut.apply(input, values, _along_key(d, idx), True)


@register("index_copy", inplace=True)
def index_copy(input, dim, index, source):
    """A copy of input with the slices of source written at index along dim."""
    _check(input, "index_copy")
    if input.ndim == 0:
        return index_copy(input.reshape(1), 0, index, source.reshape(-1)).reshape(())
    d = _dim(dim, input.ndim, "index_copy")
    idx = _vector_index(index, input, "index_copy")
    _index_source(input, d, idx, source, "index_copy")
    _check_range(idx, input.shape[d], "index_copy", dim=d)
    return IndexPut.apply(input, source, _along_key(d, idx), False)


@register("index_fill", inplace=True)
def index_fill(input, dim, index, value):
    """A copy of input with value (a number or a 0-d tensor, which gets a gradient) written at
    index along dim; negative indices count from the end."""
    _check(input, "index_fill")
    v = _value_tensor(value, input, "index_fill")
    if input.ndim == 0:
        return index_fill(input.reshape(1), 0, index, v).reshape(())
    d = _dim(dim, input.ndim, "index_fill")
    idx = _vector_index(index, input, "index_fill")
    _check_range(idx, input.shape[d], "index_fill", negative=True, exc=IndexError, dim=d)
    # where() with a mask of the filled slices: a repeated index fills once, so the value's
    # gradient counts each filled element once (an IndexPut would count repeats twice)
    from ..tensor import where
    from ._util import zeros

    mask = zeros((input.shape[d],), np.bool_, like=input._data)
    mask[idx] = True
    return where(mask.reshape(tuple(-1 if i == d else 1 for i in range(input.ndim))), v, input)


def _key_item(k, input, op):
    T = _tensor_cls()
    if isinstance(k, T):
        kind = np.dtype(k.dtype).kind
        if kind not in "iub":
            raise IndexError(f"{op}: tensors used as indices must be long, int or bool tensors, got {k.dtype}")
        if type(input._data) is np.ndarray and type(k._data) is not np.ndarray:
            raise ValueError(f"{op}: an index is on {k.device}, input on {input.device}")
        return k._data
    if isinstance(k, list):
        return np.asarray(k)
    return k  # None, slice, Ellipsis, int, or a raw array (from the gradient helpers)


@register("index_put", inplace=True)
def index_put(input, indices, values, accumulate=False):
    """A copy of input with input[indices] = values (or += with accumulate, repeats adding up):
    `indices` a tuple of index tensors (int or bool; slices, None and Ellipsis also pass)."""
    _check(input, "index_put")
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put: indices must be a tuple of Tensors, got {type(indices).__name__}")
    key = tuple(_key_item(k, input, "index_put") for k in indices)
    check_key_ranges("index_put", key, tuple(input.shape))  # device index arrays: one small readback each
    if isinstance(values, _tensor_cls()):
        _same_device(values, input, "index_put", "values")
        if values.dtype != input.dtype:
            raise DtypeRuntimeError(f"index_put: values ({values.dtype}) must have the dtype of input ({input.dtype})")
    else:
        values = _value_tensor(values, input, "index_put")
    try:
        return IndexPut.apply(input, values, key, bool(accumulate))
    except IndexError as e:
        raise IndexError(f"index_put: {e} (input shape {tuple(input.shape)})") from None
    except ValueError as e:
        raise ShapeRuntimeError(f"index_put: {e} (input shape {tuple(input.shape)}, values shape {tuple(values.shape)})") from None


# ---- masks ---------------------------------------------------------------------------------
def _mask(mask, input, op):
    _check(mask, op, "mask")
    if mask.dtype != dtypes.bool_:
        raise DtypeRuntimeError(f"{op}: only supports boolean masks, but got mask with dtype {mask.dtype}")
    _same_device(mask, input, op, "mask")
    try:
        return tuple(np.broadcast_shapes(tuple(input.shape), tuple(mask.shape)))
    except ValueError:
        raise ShapeRuntimeError(f"{op}: mask of shape {tuple(mask.shape)} does not broadcast with input of shape "
                                f"{tuple(input.shape)}") from None


@register("masked_fill", inplace=True)
def masked_fill(input, mask, value):
    """input with value where mask is True (mask broadcast); a 0-d value tensor gets a gradient."""
    from ..tensor import where

    _check(input, "masked_fill")
    _mask(mask, input, "masked_fill")
    return where(mask, _value_tensor(value, input, "masked_fill"), input)


@register("masked_select")
def masked_select(input, mask):
    """The elements of input where mask is True (both broadcast), as a 1-d tensor."""
    _check(input, "masked_select")
    shape = _mask(mask, input, "masked_select")
    a = input if tuple(input.shape) == shape else input.expand(shape)
    m = mask._data if tuple(mask.shape) == shape else np.broadcast_to(mask._data, shape)
    return Index.apply(a, (m,))


@register("masked_scatter", inplace=True)
def masked_scatter(input, mask, source):
    """input with the first elements of source (in order) written where mask is True."""
    _check(input, "masked_scatter")
    shape = _mask(mask, input, "masked_scatter")
    _like_input(source, input, "masked_scatter", "source")
    m = mask._data if tuple(mask.shape) == shape else np.broadcast_to(mask._data, shape)
    count = int(to_host(m).sum())
    if source.numel() < count:
        raise ShapeRuntimeError(f"masked_scatter: source has {source.numel()} elements, fewer than the {count} "
                                "true elements of mask")
    a = input if tuple(input.shape) == shape else input.expand(shape)
    return IndexPut.apply(a, source.reshape(-1)[:count], (m,), False)


# ---- flat and along-dim takes ------------------------------------------------------------------
@register("take")
def take(input, index):
    """input read as 1-d at index (negative counts from the end); the result has index's shape."""
    _check(input, "take")
    idx = _index(index, input, "take")
    n = input.numel()
    bad = first_out_of_range(idx, -n, n)  # on wgpu: one small readback
    if bad is not None:
        raise IndexError(f"take: out of range: tried to access index {bad} on a tensor of {n} elements")
    return Index.apply(input.reshape(-1), (idx,))


def _wrap_negative(idx, n):
    """Negative indices counted from the end (take_along_dim wraps them, gather does not)."""
    if type(idx) is np.ndarray and (idx.size == 0 or idx.min() >= 0):
        return idx
    return np.where(idx < 0, idx + n, idx)


@register("take_along_dim")
def take_along_dim(input, indices, dim=None):
    """gather with broadcasting: input and indices broadcast in every dim but `dim`; dim=None
    reads both as 1-d. Negative indices count from the end."""
    _check(input, "take_along_dim")
    idx = _index(indices, input, "take_along_dim", "indices")
    T = _tensor_cls()
    if dim is None:
        n = input.numel()
        flat = idx.reshape(-1)
        _check_range(flat, n, "take_along_dim", negative=True)
        return Gather.apply(input.reshape(-1), _wrap_negative(flat, n), 0)
    d = _dim(dim, input.ndim, "take_along_dim")
    if idx.ndim != input.ndim:
        raise ShapeRuntimeError(f"take_along_dim: input and indices should have the same number of dimensions, "
                                f"but got {input.ndim} dimensions for input, and {idx.ndim} dimensions for indices")
    if input.ndim == 0:
        return gather(input, 0, T._wrap(idx))
    rest = lambda s: tuple(1 if i == d else n for i, n in enumerate(s))  # noqa: E731
    try:
        b = np.broadcast_shapes(rest(input.shape), rest(idx.shape))
    except ValueError:
        raise ShapeRuntimeError(f"take_along_dim: input {tuple(input.shape)} and indices {tuple(idx.shape)} do not "
                                f"broadcast apart from dim {d}") from None
    a_shape = b[:d] + (input.shape[d],) + b[d + 1:]
    i_shape = b[:d] + (idx.shape[d],) + b[d + 1:]
    a = input if tuple(input.shape) == a_shape else input.expand(a_shape)
    i = idx if tuple(idx.shape) == i_shape else np.broadcast_to(idx, i_shape)
    _check_range(i, input.shape[d], "take_along_dim", negative=True, dim=d)
    return Gather.apply(a, _wrap_negative(i, input.shape[d]), d)


# ---- positions of non-zeros ----------------------------------------------------------------
@register("nonzero", differentiable=False)
def nonzero(input, *, out=None, as_tuple=False):
    """Indices of the non-zero elements: a (count, ndim) int64 tensor, or with as_tuple one
    1-d tensor per dim (a 0-d input counts as 1-d). On wgpu the count needs one readback."""
    T = _tensor_cls()
    _check(input, "nonzero")
    if out is not None:
        raise TypeError("nonzero: out= is not supported")
    parts = K.nonzero(input._data)
    if as_tuple:
        return tuple(T._wrap(p) for p in parts)
    if input.ndim == 0:
        from ._util import zeros

        return T._wrap(zeros((parts[0].shape[0], 0), np.int64, like=input._data))
    return T._wrap(np.stack(parts, axis=1))


@register("argwhere", differentiable=False)
def argwhere(input):
    """The (count, ndim) indices of the non-zero elements, torch.argwhere."""
    return nonzero(_check(input, "argwhere"))


@register("where", method=False)
def where(condition, input=None, other=None):
    """torch.where: where(condition, input, other) picks elementwise; where(condition) is
    nonzero(condition, as_tuple=True)."""
    from ..tensor import where as where3

    if input is None and other is None:
        return nonzero(_check(condition, "where", "condition"), as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: expects both input and other, or neither (the one-argument form)")
    return where3(condition, input, other)
