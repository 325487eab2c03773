"""Lazy modules: parameters whose shape is fixed by the first input (torch's LazyLinear and
UninitializedParameter). After the first call a LazyLinear becomes a Linear, as in torch."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd import no_grad
from ..errors import ShapeRuntimeError
from ..tensor import Tensor, empty
from .linear import Linear
from .module import Module
from .parameter import Parameter


class UninitializedParameter(Parameter):
    """A Parameter without a shape yet: `materialize(shape)` gives it one (uninitialised values)
    and turns it into a plain Parameter in place, so references to it stay valid."""

    __slots__ = ()
    _is_uninitialized = True

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        dtype = dtypes.float32 if dtype is None else dtypes.check_dtype(dtype, "UninitializedParameter")
        super().__init__(empty(0, dtype=dtype, device=device or "cpu"), requires_grad=requires_grad)

    def materialize(self, shape, device=None, dtype=None):
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        device = device or self.device
        dtype = self.dtype if dtype is None else dtypes.check_dtype(dtype, "materialize")
        self._data = empty(*shape, dtype=dtype, device=device)._data
        self.__class__ = Parameter

    def __repr__(self):
        return "<UninitializedParameter>"


class LazyLinear(Linear):
    """Linear whose in_features is read from the first input's last dim."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None):
        Module.__init__(self)
        self.in_features, self.out_features = 0, out_features
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def has_uninitialized_params(self) -> bool:
        return any(getattr(p, "_is_uninitialized", False) for p in (self.weight, self.bias) if p is not None)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"LazyLinear: input must be a Tensor, got {type(input).__name__}")
        if input.ndim == 0:
            raise ValueError("LazyLinear: input must have at least one dim (the features), got a 0-d tensor")
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = int(input.shape[-1])
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        if self.in_features == 0:  # parameters came from load_state_dict
            if input.shape[-1] != self.weight.shape[-1]:
                raise ShapeRuntimeError(
                    f"LazyLinear: the in_features inferred from input ({input.shape[-1]}) is not equal to "
                    f"in_features from weight ({self.weight.shape[-1]})"
                )
            self.in_features = int(input.shape[-1])

    def forward(self, input):
        self.initialize_parameters(input)
        self.__class__ = self.cls_to_become
        return self.forward(input)

    def extra_repr(self):
        if self.has_uninitialized_params():
            return f"in_features=0, out_features={self.out_features}, bias={self.bias is not None}"
        return super().extra_repr()
