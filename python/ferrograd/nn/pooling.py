"""Pooling layers."""

from __future__ import annotations

from . import functional as F
from .module import Module


class _Pool(Module):
    fn_name = ""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return getattr(F, self.fn_name)(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, padding={self.padding}"


class MaxPool1d(_Pool):
    fn_name = "max_pool1d"


class MaxPool2d(_Pool):
    fn_name = "max_pool2d"


class AvgPool1d(_Pool):
    fn_name = "avg_pool1d"


class AvgPool2d(_Pool):
    fn_name = "avg_pool2d"


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
