"""Categorical(probs | logits): one of K classes per batch element (int64 class indices).

probs are normalised along the last dim, logits shifted to log-probabilities, as torch does.
"""

from __future__ import annotations

import math

import numpy as np

from ..size import Size
from . import constraints
from .distribution import Distribution
from .utils import lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical"]


def _check_param(x, name):
    from ..tensor import Tensor

    if not isinstance(x, Tensor):
        raise TypeError(f"Categorical: {name} must be a Tensor, got {type(x).__name__}")
    if x.ndim < 1:
        raise ValueError(f"`{name}` parameter must be at least one-dimensional.")
    return x


class Categorical(Distribution):
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            probs = _check_param(probs, "probs")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            logits = _check_param(logits, "logits")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        batch_shape = self._param.shape[:-1] if self._param.ndim > 1 else Size()
        super().__init__(batch_shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @property
    def param_shape(self) -> Size:
        return self._param.shape

    def _nan_full(self):
        from ..ops.registry import OPS

        return OPS["full"].fn(tuple(self._extended_shape()), math.nan, dtype=self.probs.dtype,
                              device=self.probs.device)

    @property
    def mean(self):
        return self._nan_full()

    @property
    def mode(self):
        return self.probs.argmax(dim=-1)

    @property
    def variance(self):
        return self._nan_full()

    def sample(self, sample_shape=Size()):
        from ..autograd import no_grad
        from ..ops.registry import OPS

        shape = self._extended_shape(sample_shape)
        n = 1
        for s in tuple(shape)[: len(shape) - len(self._batch_shape)]:
            n *= s
        with no_grad():
            probs_2d = self.probs.reshape(-1, self._num_events)
            if n == 0 or probs_2d.shape[0] == 0:
                return OPS["zeros"].fn(tuple(shape), dtype=np.dtype(np.int64), device=self.probs.device)
            samples_2d = OPS["multinomial"].fn(probs_2d, n, True).T
            return samples_2d.reshape(tuple(shape))

    def log_prob(self, value):
        from ..ops.registry import OPS

        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = OPS["broadcast_tensors"].fn(value, self.logits)
        value = value[..., :1]
        return log_pmf.gather(-1, value).squeeze(-1)

    def entropy(self):
        from ..typeinfo import finfo

        logits = self.logits.clamp(min=finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        from ..ops.registry import OPS

        values = OPS["arange"].fn(self._num_events, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
