"""WGSL kernels with the calling conventions of `ferrograd._native`: the same function names,
arguments and results, on GpuArrays. `ops` picks this module or `_native` by the data's type."""

from .matmul import matmul  # noqa: F401
from .optim import adam_step, sgd_step  # noqa: F401
from .dropout import dropout_mask, random_uint32  # noqa: F401
from .embedding import embedding_backward, embedding_forward  # noqa: F401
