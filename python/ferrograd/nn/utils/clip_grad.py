"""Gradient clipping with PyTorch's semantics: the norm comes back as a 0-d tensor on the
gradients' device, so clipping inside a training step on wgpu reads nothing back.

`foreach` is accepted for torch compatibility and ignored: every gradient is already handled as
one array operation."""

from __future__ import annotations

import math

import numpy as np

from ... import _native
from ...autograd import replayed_whole
from ...ops._util import is_device, native_float
from ...tensor import Tensor


def _tensors(tensors):
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _grads(parameters):
    return [p.grad._data for p in _tensors(parameters) if p.grad is not None]


def _one_device(arrays, fn):
    kinds = {is_device(a) for a in arrays}
    if len(kinds) > 1:
        raise ValueError(f"{fn}: the gradients are on more than one device (cpu and wgpu); clip each device's separately")
    return kinds.pop()


def _norm_type(norm_type, fn) -> float:
    try:
        return float(norm_type)  # torch takes 'inf' too
    except (TypeError, ValueError):
        raise ValueError(f"{fn}: norm_type must be a number, got {norm_type!r}") from None


def _host_norm(arrays, p):
    """In float64 (the result is cast to the gradients' dtype afterwards)."""
    if p == math.inf:
        return max(float(np.abs(a).max(initial=0.0)) for a in arrays)
    if p == -math.inf:
        return min(float(np.abs(a).min(initial=math.inf)) for a in arrays)
    if p == 0:
        return float(sum(np.count_nonzero(a) for a in arrays))
    if p == 2:
        if all(native_float(a) and a.flags.c_contiguous for a in arrays):
            # One pass per array, squares and sum in f64, no temporaries: the float64 copy and its
            # square cost 3 passes over memory (a GRU step's clip 160 -> ~25 µs).
            return math.sqrt(_native.sum_of_squares(arrays))
        # square-and-sum, not np.vdot: numpy's BLAS dot spins its thread pool (8.7 ms for 50k
        # elements on a busy 2-core machine, against 38 µs here)
        return math.sqrt(sum(float(np.square(a.astype(np.float64)).sum()) for a in arrays))
    return float(sum(float((np.abs(a.astype(np.float64)) ** p).sum()) for a in arrays) ** (1 / p))


def _device_norm(arrays, p):
    """On the device in float32: a 0-d device array, nothing read back."""
    if p in (math.inf, -math.inf):
        pick = np.maximum if p > 0 else np.minimum
        parts = [np.abs(a).max() if p > 0 else np.abs(a).min() for a in arrays if a.size]
        if not parts:
            return None
        total = parts[0]
        for part in parts[1:]:
            total = pick(total, part)
        return total
    if p == 0:
        return sum((a != 0).sum() for a in arrays).astype(np.float32)
    if p == 2:
        return sum((a * a).sum() for a in arrays) ** 0.5
    return sum((np.abs(a) ** p).sum() for a in arrays) ** (1 / p)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The `norm_type` norm of all `tensors` together (the norm of their norms): a 0-d tensor of
    their dtype on their device."""
    fn = "get_total_norm"
    arrays = [t._data for t in _tensors(tensors)]
    p = _norm_type(norm_type, fn)
    if not arrays:
        return Tensor._wrap(np.zeros((), np.float32))
    if _one_device(arrays, fn):
        total = _device_norm(arrays, p)
        if total is None:  # the inf norm of empty gradients only
            from ...wgpu.array import GpuArray

            total = GpuArray.from_numpy(np.zeros((), np.float32))
    else:
        total = np.asarray(_host_norm(arrays, p), np.result_type(*(a.dtype for a in arrays)))
    if error_if_nonfinite:
        value = float(total.item())  # the one readback, only when asked for
        if not math.isfinite(value):
            raise RuntimeError(
                f"clip_grad_norm_ (get_total_norm): the total norm of order {p} of the gradients is {value}, so they cannot be "
                "clipped; pass error_if_nonfinite=False to scale them by it anyway"
            )
    return Tensor._wrap(total)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm, foreach=None) -> None:
    """Scale the gradients by min(1, max_norm / (total_norm + 1e-6))."""
    grads = _grads(parameters)
    if not grads:
        return
    raw = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(float(total_norm))
    if not is_device(raw):
        coef = max_norm / (float(raw) + 1e-6)
        if coef < 1 or math.isnan(coef):  # torch multiplies by min(coef, 1): 1 changes nothing
            with np.errstate(invalid="ignore"):  # an inf gradient times coef 0 is nan, as in torch
                for g in grads:
                    g *= coef
        return
    coef = np.minimum(max_norm / (raw + 1e-6), 1.0)  # stays on the device
    for g in grads:
        g *= coef


@replayed_whole
def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Scale all gradients together so that their joint norm is at most max_norm; returns the
    norm before clipping as a 0-d tensor (the gradients' dtype and device)."""
    params = _tensors(parameters)  # a generator is read once
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


@replayed_whole
def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clip every gradient element to [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
