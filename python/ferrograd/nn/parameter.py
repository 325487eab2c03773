"""`Parameter`: a leaf tensor a Module registers as trainable."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        array = data.data if isinstance(data, Tensor) else np.asarray(data)
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
