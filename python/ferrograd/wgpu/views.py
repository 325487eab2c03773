"""Free views of a GpuArray: reshape (when the strides allow it), transpose, swapaxes, squeeze,
expand_dims, broadcast_to, moveaxis. Same buffer, new shape/strides/offset; nothing runs."""

from __future__ import annotations

import math

import numpy as np

from .array import GpuArray


def _axis(a: int, ndim: int, op: str) -> int:
    if not -max(ndim, 1) <= a < max(ndim, 1):
        raise np.exceptions.AxisError(f"{op}: axis {a} is out of bounds for an array of {ndim} dims")
    return a % max(ndim, 1)


def view(x: GpuArray, shape, strides, offset=None) -> GpuArray:
    return GpuArray(shape, x.dtype, x.storage, strides, x.offset if offset is None else offset)


def _resolve_shape(size: int, shape) -> tuple:
    shape = [int(s) for s in shape]
    if shape.count(-1) > 1:
        raise ValueError("reshape: can only specify one unknown dimension")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape array of size {size} into shape {tuple(shape)}")
        shape[shape.index(-1)] = size // known
    if math.prod(shape) != size:
        raise ValueError(f"reshape: cannot reshape array of size {size} into shape {tuple(shape)}")
    return tuple(shape)


def _view_strides(shape, strides, new_shape):
    """Strides that read `new_shape` over the same elements in C order, or None if impossible
    without a copy (numpy's attempt_nocopy_reshape, simplified)."""
    old = [(n, s) for n, s in zip(shape, strides) if n != 1]
    new, new_strides = list(new_shape), []
    # Runs of new dims (from ni) are matched against runs of old dims (from oi) of equal product;
    # each old run must be contiguous in itself, and the new run's strides step within it.
    ni = oi = 0
    while ni < len(new):
        if new[ni] == 1:
            new_strides.append(0)
            ni += 1
            continue
        if oi >= len(old):
            return None
        # Take new dims until their product equals a product of old dims.
        np_, op_ = new[ni], old[oi][0]
        nj, oj = ni, oi
        while np_ != op_:
            if np_ < op_:
                nj += 1
                if nj >= len(new):
                    return None
                np_ *= new[nj]
            else:
                oj += 1
                if oj >= len(old):
                    return None
                op_ *= old[oj][0]
        for k in range(oi, oj):
            if old[k][1] != old[k + 1][1] * old[k + 1][0]:
                return None  # the old chunk is not contiguous
        st = old[oj][1]
        chunk = []
        for k in range(nj, ni - 1, -1):
            chunk.append(st if new[k] != 1 else 0)
            st *= new[k]
        new_strides.extend(reversed(chunk))
        ni, oi = nj + 1, oj + 1
    return tuple(new_strides)


def reshape(x: GpuArray, shape) -> GpuArray:
    from .elementwise import copy

    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
    new = _resolve_shape(x.size, shape)
    if x.size == 0:
        return GpuArray.empty(new, x.dtype)
    st = _view_strides(x.shape, x.strides, new)
    if st is None:
        x = copy(x)
        st = None
    return view(x, new, st)


def transpose(x: GpuArray, axes=None) -> GpuArray:
    axes = tuple(range(x.ndim - 1, -1, -1)) if axes is None else tuple(_axis(a, x.ndim, "transpose") for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} do not match an array of {x.ndim} dims")
    return view(x, [x.shape[a] for a in axes], [x.strides[a] for a in axes])


def swapaxes(x: GpuArray, a: int, b: int) -> GpuArray:
    axes = list(range(x.ndim))
    a, b = _axis(a, x.ndim, "swapaxes"), _axis(b, x.ndim, "swapaxes")
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


def moveaxis(x: GpuArray, source, destination) -> GpuArray:
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    src = [_axis(s, x.ndim, "moveaxis") for s in src]
    dst = [_axis(d, x.ndim, "moveaxis") for d in dst]
    order = [n for n in range(x.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def squeeze(x: GpuArray, axis=None) -> GpuArray:
    if axis is None:
        axes = {i for i, n in enumerate(x.shape) if n == 1}
    else:
        axes = {_axis(a, x.ndim, "squeeze") for a in ((axis,) if isinstance(axis, (int, np.integer)) else axis)}
        if any(x.shape[a] != 1 for a in axes):
            raise ValueError(f"squeeze: cannot select an axis to squeeze out which has size not equal to one (shape {x.shape})")
    keep = [i for i in range(x.ndim) if i not in axes]
    return view(x, [x.shape[i] for i in keep], [x.strides[i] for i in keep])


def expand_dims(x: GpuArray, axis) -> GpuArray:
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    n = x.ndim + len(axes)
    axes = sorted(_axis(a, n, "expand_dims") for a in axes)
    shape, strides = list(x.shape), list(x.strides)
    for a in axes:
        shape.insert(a, 1)
        strides.insert(a, 0)
    return view(x, shape, strides)


def broadcast_to(x: GpuArray, shape) -> GpuArray:
    from .elementwise import broadcast_strides

    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    try:
        st = broadcast_strides(x, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None
    return view(x, shape, st)
