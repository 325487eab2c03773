"""WGSL kernels with the calling conventions of `ferrograd._native`: the same function names,
arguments and results, on GpuArrays. `ops` picks this module or `_native` by the data's type."""

from .conv import conv2d_backward_data, conv2d_backward_weight, conv2d_forward  # noqa: F401
from .matmul import matmul  # noqa: F401
