"""Helpers shared by the distributions (torch.distributions.utils' names)."""

from __future__ import annotations

import functools
import numbers

import numpy as np

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs", "probs_to_logits"]

euler_constant = 0.57721566490153286060


def _tensor_cls():
    from ..tensor import Tensor

    return Tensor


def is_number(x) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool) or isinstance(x, np.number)


def broadcast_all(*values):
    """The arguments as Tensors of one broadcast shape. Numbers become tensors of the first
    Tensor argument's dtype and device (the default float dtype when there is none)."""
    from ..ops.registry import OPS
    from ..tensor import tensor
    from ..typeinfo import get_default_dtype

    T = _tensor_cls()
    for v in values:
        if not (isinstance(v, T) or is_number(v)):
            raise ValueError("Input arguments must all be instances of Number or ferrograd.Tensor, got "
                             f"{type(v).__name__}")
    if not all(isinstance(v, T) for v in values):
        like = next((v for v in values if isinstance(v, T)), None)
        opts = dict(dtype=get_default_dtype()) if like is None else dict(dtype=like.dtype, device=like.device)
        values = tuple(v if isinstance(v, T) else tensor(float(v), **opts) for v in values)
    if len(values) == 1:
        return tuple(values)
    return tuple(OPS["broadcast_tensors"].fn(*values))


def _standard_normal(shape, dtype, device):
    """N(0, 1) draws of `shape` from ferrograd's default generator (fg.manual_seed)."""
    from ..ops.registry import OPS

    return OPS["randn"].fn(tuple(shape), dtype=dtype, device=device)


def _sum_rightmost(value, dim: int):
    """Sum out the `dim` rightmost dims."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:value.ndim - dim]) + (-1,)).sum(-1)


def logits_to_probs(logits, is_binary=False):
    if is_binary:
        return logits.sigmoid()
    return logits.softmax(-1)


def clamp_probs(probs):
    from ..typeinfo import finfo

    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    ps = clamp_probs(probs)
    if is_binary:
        return ps.log() - (-ps).log1p()
    return ps.log()


class lazy_property:
    """A property computed on first access and then stored on the instance (so `probs` and
    `logits` derive from each other once; parameters not yet computed are not validated)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        functools.update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        from ..autograd import enable_grad

        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value
