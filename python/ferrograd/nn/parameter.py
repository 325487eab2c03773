"""`Parameter`: a leaf tensor a Module registers as trainable."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ..wgpu.array import GpuArray


class Parameter(Tensor):
    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        if isinstance(data, Tensor):
            array = data._data
        elif isinstance(data, GpuArray):
            array = data
        else:
            array = np.asarray(data)
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
