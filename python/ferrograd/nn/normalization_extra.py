"""InstanceNorm1d/2d/3d, RMSNorm, BatchNorm3d and SyncBatchNorm with torch's arguments,
defaults, parameter/buffer names and init."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .. import distributed as _distributed
from .. import dtypes
from ..autograd import no_grad
from ..tensor import ones, tensor, zeros
from .functional.norm_extra import instance_norm, rms_norm
from .module import Module
from .normalization import _BatchNorm
from .parameter import Parameter
from ._sync_batch_norm import SyncBatchNormFn


class _InstanceNorm(Module):
    no_batch_dim = 2  # input dims of an unbatched input: (C, L) for 1d

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=dtypes.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        if device is not None:
            self.to(device)

    @no_grad()
    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    @no_grad()
    def reset_parameters(self):
        self.reset_running_stats()
        if self.weight is not None:
            self.weight.fill_(1)
        if self.bias is not None:
            self.bias.zero_()

    def forward(self, input):
        name = type(self).__name__
        if not hasattr(input, "ndim"):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        nb = self.no_batch_dim
        if input.ndim not in (nb, nb + 1):
            raise ValueError(f"{name}: expected {nb}D or {nb + 1}D input (got {input.ndim}D input)")
        feature_dim = input.ndim - nb
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"{name}: expected input's size at dim={feature_dim} to match num_features "
                                 f"({self.num_features}), but got: {input.shape[feature_dim]}.")
            warnings.warn(f"{name}: input's size at dim={feature_dim} does not match num_features. You can "
                          "silence this warning by not passing in num_features, which is not used because "
                          "affine=False", stacklevel=2)
        unbatched = input.ndim == nb
        x = input.unsqueeze(0) if unbatched else input
        y = instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training or not self.track_running_stats,
                          self.momentum if self.momentum is not None else 0.0, self.eps)
        return y.squeeze(0) if unbatched else y

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    no_batch_dim = 4


class RMSNorm(Module):
    """y = x / sqrt(mean(x², trailing normalized_shape dims) + eps) * weight (ones at init)."""

    def __init__(self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True, device=None,
                 dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if device is not None:
            self.to(device)

    @no_grad()
    def reset_parameters(self):
        if self.weight is not None:
            self.weight.fill_(1)

    def forward(self, x):
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class _TorchBatchNorm(_BatchNorm):
    """_BatchNorm with torch's full constructor: (..., device=None, dtype=None, *, bias=True)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype=dtype)
        if affine and not bias:
            self.bias = None
        if device is not None:
            self.to(device)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm3d(_TorchBatchNorm):
    expected_dims = (5,)


class _AtLeast:
    """`n in _AtLeast(2)` for every n >= 2: SyncBatchNorm's accepted input dims."""

    def __init__(self, low):
        self.low = low

    def __contains__(self, n):
        return n >= self.low

    def __iter__(self):
        return iter((f"{self.low} or more",))


class SyncBatchNorm(_TorchBatchNorm):
    """Batch norm over (N, C, *) input whose training statistics cover every rank's batch when
    ferrograd.distributed is initialised with more than one rank (torch's SyncBatchNorm math,
    see _sync_batch_norm.py); otherwise (one process, eval mode) it is BatchNorm."""

    expected_dims = _AtLeast(2)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None, device=None, dtype=None, *,
                 bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def forward(self, x):
        if not hasattr(x, "ndim"):
            raise TypeError(f"SyncBatchNorm: input must be a Tensor, got {type(x).__name__}")
        if x.ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (got {x.ndim}D input)")
        if x.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")
        if not (self.training and _distributed.is_initialized() and _distributed.get_world_size() > 1):
            return super().forward(x)
        stats = []
        y = SyncBatchNormFn.apply(x, self.weight, self.bias, self.eps, stats)
        if self.track_running_stats:
            mean, var, total = stats
            with no_grad():
                self.num_batches_tracked._data[...] += 1
                m = self.momentum if self.momentum is not None else 1.0 / int(self.num_batches_tracked.item())
                unbiased = var * (total / np.maximum(total - 1, 1))
                for buf, new in ((self.running_mean, mean), (self.running_var, unbiased)):
                    buf.copy_(tensor(((1 - m) * buf.numpy() + m * new).astype(buf.numpy().dtype)))
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """A copy of `module`'s tree with every BatchNorm replaced by a SyncBatchNorm sharing its
        parameters and buffers (torch's helper)."""
        out = module
        if isinstance(module, _BatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                      process_group, bias=module.bias is not None)
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                t = getattr(module, name, None)
                if name in out._buffers:
                    out._buffers[name] = t
            object.__setattr__(out, "training", module.training)
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
