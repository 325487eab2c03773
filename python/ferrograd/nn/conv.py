"""Convolution layers with PyTorch's weight layouts and default init."""

from __future__ import annotations

import math

from ..tensor import empty
from . import functional as F
from . import init
from ._checks import check_positive, check_size
from .module import Module
from .parameter import Parameter


def _ntuple(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class _ConvNd(Module):
    nd = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", output_padding=0, dtype=None):
        super().__init__()
        name = type(self).__name__
        check_size(name, in_channels=in_channels, out_channels=out_channels)
        check_positive(name, groups=groups)
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of 'same', 'valid'")
        for arg, v in (("kernel_size", kernel_size), ("stride", stride), ("dilation", dilation)):
            if isinstance(v, (tuple, list)) and len(v) != self.nd:
                raise ValueError(f"{name}: {arg} must be an int or a tuple of {self.nd} ints, got {v!r}")
        check_positive(name, kernel_size=kernel_size, stride=stride, dilation=dilation)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{type(self).__name__}: groups {groups} must divide in_channels {in_channels} "
                             f"and out_channels {out_channels}")
        if padding_mode != "zeros":
            raise ValueError(f"{type(self).__name__}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _ntuple(kernel_size, self.nd)
        self.stride, self.dilation = _ntuple(stride, self.nd), _ntuple(dilation, self.nd)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, self.nd)
        self.output_padding = _ntuple(output_padding, self.nd)
        shape = ((in_channels, out_channels // groups) if self.transposed else (out_channels, in_channels // groups))
        self.weight = Parameter(empty(*shape, *self.kernel_size, dtype=dtype))
        self.bias = Parameter(empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + ("" if self.bias is not None else ", bias=False")


class Conv1d(_ConvNd):
    nd = 1

    def forward(self, x):
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv3d(_ConvNd):
    nd = 3

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, 0, dtype)
        if device is not None:
            self.to(device)

    def forward(self, x):
        return F.conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, dtype)
        if device is not None:
            self.to(device)

    def _output_padding(self, input, output_size):
        """torch's rule: the output_padding that gives `output_size` (spatial dims, or with the
        batch and channel dims in front), which must lie within one stride of the smallest size."""
        if output_size is None:
            return self.output_padding
        nd = self.nd
        lead = 2 if input.ndim == nd + 2 else 1
        output_size = tuple(int(s) for s in output_size)
        if len(output_size) == lead + nd:
            output_size = output_size[lead:]
        if len(output_size) != nd:
            raise ValueError(f"{type(self).__name__}: for {input.ndim}D input, output_size must have {nd} or "
                             f"{lead + nd} elements (got {len(output_size)})")
        spatial = tuple(input.shape[lead:])
        mins = tuple((i - 1) * s - 2 * p + d * (k - 1) + 1 for i, s, p, d, k in
                     zip(spatial, self.stride, self.padding, self.dilation, self.kernel_size))
        maxs = tuple(m + s - 1 for m, s in zip(mins, self.stride))
        if any(not lo <= o <= hi for o, lo, hi in zip(output_size, mins, maxs)):
            raise ValueError(f"{type(self).__name__}: requested an output size of {list(output_size)}, but valid "
                             f"sizes range from {list(mins)} to {list(maxs)} (for an input of {list(spatial)})")
        return tuple(o - m for o, m in zip(output_size, mins))


class ConvTranspose1d(_ConvTransposeNd):
    nd = 1

    def forward(self, input, output_size=None):
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups, self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    nd = 2

    def forward(self, input, output_size=None):
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups, self.dilation)
