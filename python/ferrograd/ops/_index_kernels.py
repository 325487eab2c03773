"""Array-level pieces of the index ops, for both array kinds (numpy on cpu, GpuArray on wgpu):
scatter along an axis (set, add, prod/amax/amin), strided diagonal views, nonzero, and the
"leading corner" views that let an index smaller than its tensor address it (torch allows
index.size(d) <= input.size(d) for d != dim; numpy's *_along_axis functions do not).

Also the two gradient helpers the index Functions share, written for arrays or Tensors alike (the
`ops._generic` convention): `scatter_add_into` and `pad_corner`.
"""

from __future__ import annotations

import numpy as np

from ..wgpu.array import GpuArray
from . import _generic as G
from ._util import zeros as _zeros
from ..errors import IndexRuntimeError  # noqa: F401  (re-exported for index_ops)


# ---- views ------------------------------------------------------------------------------------
def corner(a, shape, skip=None):
    """The view a[:shape[0], :shape[1], ...] (dim `skip` kept whole)."""
    if tuple(a.shape) == tuple(shape) or a.ndim == 0:
        return a
    key = tuple(slice(None) if d == skip else slice(0, int(n)) for d, n in enumerate(shape))
    if all(k == slice(None) or k.stop == a.shape[d] for d, k in enumerate(key)):
        return a
    return a[key]


def strided(a, shape, strides, offset_key):
    """A view of `a` with element `strides`, starting at the element a[offset_key] (a tuple of
    ints); writes through it reach `a`'s storage."""
    shape, strides = tuple(int(n) for n in shape), tuple(int(s) for s in strides)
    if type(a) is np.ndarray:
        base = a[tuple(slice(k, None) for k in offset_key)] if 0 not in shape else a
        item = a.itemsize
        return np.lib.stride_tricks.as_strided(base, shape, tuple(s * item for s in strides),
                                               writeable=bool(base.flags.writeable))
    offset = a.offset + sum(int(k) * s for k, s in zip(offset_key, a.strides)) if 0 not in shape else a.offset
    return GpuArray(shape, a.dtype, a.storage, strides, offset)


def diagonal_view(a, offset: int, d1: int, d2: int):
    """torch.diagonal as a view: the other dims in order, then the diagonal."""
    n1, n2 = a.shape[d1], a.shape[d2]
    n = max(0, min(n1, n2 - offset)) if offset >= 0 else max(0, min(n1 + offset, n2))
    rest = [d for d in range(a.ndim) if d not in (d1, d2)]
    st = a.strides if type(a) is not np.ndarray else tuple(s // a.itemsize for s in a.strides)
    start = [0] * a.ndim
    start[d1], start[d2] = max(-offset, 0), max(offset, 0)
    shape = tuple(a.shape[d] for d in rest) + (n,)
    strides = tuple(st[d] for d in rest) + (st[d1] + st[d2],)
    return strided(a, shape, strides, tuple(start) if n else (0,) * a.ndim)


def flip(a, dims):
    """A C-ordered copy of `a` reversed along `dims`."""
    key = tuple(slice(None, None, -1) if d in dims else slice(None) for d in range(a.ndim))
    return a[key].copy()  # a copy, as torch.flip (numpy's flip is a view)


# ---- scatter along an axis (in place into `out`) -----------------------------------------------
def put_along(out, idx, src, axis):
    """out[..., idx, ...] = src along `axis` (src a scalar or an array of idx's shape)."""
    if idx.size == 0:
        return
    np.put_along_axis(corner(out, idx.shape, axis), idx, src, axis)


def add_along(out, idx, src, axis):
    """out[..., idx, ...] += src along `axis`; repeated indices accumulate."""
    if idx.size == 0:
        return
    G.add_along(corner(out, idx.shape, axis), idx, src, axis)


_UFUNCS = {"prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def reduce_along(out, idx, src, axis, reduce):
    """out[..., idx, ...] = reduce(out[...], src) along `axis`, every repeat folded in."""
    if idx.size == 0:
        return
    view = corner(out, idx.shape, axis)
    if type(view) is np.ndarray:
        grids = np.indices(idx.shape, sparse=True)
        key = tuple(idx if d == axis else grids[d] for d in range(view.ndim))
        _UFUNCS[reduce].at(view, key, src)
        return
    from ..wgpu.scatter_reduce import reduce_along_axis

    reduce_along_axis(view, idx, src, axis, reduce)


def floor_divide_int(a, b):
    """np.floor_divide for integer arrays (b > 0). On the device the quotient comes from float32
    division corrected by the remainder sign, because the device's integer `%` (which its
    floor_divide uses) is wrong for negative operands on some adapters (llvmpipe)."""
    if type(a) is np.ndarray:
        return np.floor_divide(a, b)
    q = np.floor(a.astype(np.float32) / b.astype(np.float32)).astype(a.dtype)
    r = a - q * b
    return q - (r < 0).astype(a.dtype) + (r >= b).astype(a.dtype)


def nonzero(a):
    """np.nonzero for either kind (the device one reads the array back: the result's size
    depends on the values), as int64 arrays on a's device."""
    if type(a) is np.ndarray:
        return tuple(i.astype(np.int64, copy=False) for i in np.nonzero(a.reshape(1) if a.ndim == 0 else a))
    try:
        return tuple(p.astype(np.int64, copy=False) for p in np.nonzero(a.reshape((1,)) if a.ndim == 0 else a))
    except TypeError:  # no device nonzero (yet): one explicit readback
        from ._util import asarray

        host = a.numpy()
        return tuple(asarray(i.astype(np.int64), like=a) for i in np.nonzero(host.reshape(1) if host.ndim == 0 else host))


# ---- gradient helpers (arrays or Tensors) ------------------------------------------------------
def scatter_add_into(shape, axis, idx, src):
    """Zeros of `shape` with src added at idx along axis (the backward of gather); idx may be
    smaller than `shape` apart from `axis`."""
    if G.is_tensor(src):
        from ..tensor import zeros

        T = type(src)
        base = zeros(tuple(shape), dtype=src.dtype, device=src.device)
        from .index_ops import scatter_add

        return scatter_add(base, axis, idx if isinstance(idx, T) else T._wrap(idx), src)
    out = _zeros(tuple(shape), src.dtype, like=src)
    add_along(out, idx, src, axis)
    return out


def pad_corner(x, shape):
    """x placed in the leading corner of zeros of `shape` (x itself when the shapes agree)."""
    shape = tuple(shape)
    if tuple(x.shape) == shape:
        return x
    key = tuple(slice(0, int(n)) for n in x.shape)
    if G.is_tensor(x):
        from ..tensor import zeros
        from .index_ops import index_put

        return index_put(zeros(shape, dtype=x.dtype, device=x.device), key, x)
    out = _zeros(shape, x.dtype, like=x)
    out[key] = x
    return out


def gather_along(g, axis, idx):
    """np.take_along_axis(g, idx, axis) for an idx that may be smaller than g apart from axis
    (arrays or Tensors)."""
    if G.is_tensor(g):
        from .index_ops import gather

        T = type(g)
        return gather(g, axis, idx if isinstance(idx, T) else T._wrap(idx))
    return np.take_along_axis(corner(g, idx.shape, axis), idx, axis)
