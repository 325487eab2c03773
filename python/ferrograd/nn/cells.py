"""RNNCell, LSTMCell, GRUCell: one time step, with torch's arguments, parameter names
(weight_ih, weight_hh, bias_ih, bias_hh), gate order (LSTM i,f,g,o; GRU r,z,n) and init.
Each step is composed of linear + elementwise Tensor ops, so it runs on every device and
its gradient (and gradient of gradient) comes from those ops."""

from __future__ import annotations

import math

from .. import dtypes
from ..errors import ShapeRuntimeError
from ..tensor import Tensor, empty, zeros
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


class RNNCellBase(Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        for arg, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name}: {arg} must be a non-negative int, got {v!r}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(empty(g, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(g, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(g, dtype=dtype))
            self.bias_hh = Parameter(empty(g, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    # ---- argument checks shared by the three cells -------------------------------------------
    def _input(self, input):
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if not dtypes.is_float(input.dtype):
            raise TypeError(f"{name}: input must be float32 or float64, got dtype {input.dtype}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise ShapeRuntimeError(f"{name}: input has inconsistent input_size: got {input.shape[-1]} "
                                    f"expected {self.input_size}")
        if input.dtype != self.weight_ih.dtype:
            raise TypeError(f"{name}: input has dtype {input.dtype} but the cell's weights have dtype "
                            f"{self.weight_ih.dtype}")
        batched = input.ndim == 2
        return (input if batched else input.unsqueeze(0)), batched

    def _state(self, h, x, batched, what):
        """hx (or one of its parts) as (batch, hidden): zeros when None."""
        name = type(self).__name__
        if h is None:
            return zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
        if not isinstance(h, Tensor):
            raise TypeError(f"{name}: {what} must be a Tensor, got {type(h).__name__}")
        if h.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {h.ndim}D instead")
        if (h.ndim == 2) != batched:
            raise ValueError(f"{name}: {what} is {h.ndim}D but input is {2 if batched else 1}D: "
                             "both must be batched or both unbatched")
        h = h if batched else h.unsqueeze(0)
        if tuple(h.shape) != (x.shape[0], self.hidden_size):
            raise ShapeRuntimeError(f"{name}: {what} has shape {tuple(h.shape)}, expected "
                                    f"({x.shape[0]}, {self.hidden_size}) for input batch size {x.shape[0]}")
        if h.dtype != x.dtype:
            raise TypeError(f"{name}: {what} has dtype {h.dtype} but input has dtype {x.dtype}")
        return h

    def _gates(self, x, h):
        return (F.linear(x, self.weight_ih, self.bias_ih), F.linear(h, self.weight_hh, self.bias_hh))


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, batched = self._input(input)
        h = self._state(hx, x, batched, "hx")
        gi, gh = self._gates(x, h)
        pre = gi + gh
        out = pre.tanh() if self.nonlinearity == "tanh" else F.relu(pre)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """Gates i, f, g, o from one (4H,) projection; c' = f c + i g, h' = o tanh(c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        x, batched = self._input(input)
        if hx is None:
            h = c = self._state(None, x, batched, "hx")
        else:
            if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise TypeError(f"LSTMCell: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            h = self._state(hx[0], x, batched, "hx[0]")
            c = self._state(hx[1], x, batched, "hx[1]")
        gi, gh = self._gates(x, h)
        i, f, g, o = (gi + gh).chunk(4, dim=1)
        c1 = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h1 = o.sigmoid() * c1.tanh()
        return (h1, c1) if batched else (h1.squeeze(0), c1.squeeze(0))


class GRUCell(RNNCellBase):
    """r, z from the summed projections; n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ + b_hn));
    h' = (1 - z) n + z h."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, batched = self._input(input)
        h = self._state(hx, x, batched, "hx")
        gi, gh = self._gates(x, h)
        i_r, i_z, i_n = gi.chunk(3, dim=1)
        h_r, h_z, h_n = gh.chunk(3, dim=1)
        r = (i_r + h_r).sigmoid()
        z = (i_z + h_z).sigmoid()
        n = (i_n + r * h_n).tanh()
        h1 = n + z * (h - n)
        return h1 if batched else h1.squeeze(0)
