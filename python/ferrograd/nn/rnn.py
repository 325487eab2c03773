"""RNN, LSTM and GRU modules: PyTorch's arguments, parameter names, layouts and init, running the
fused sequence kernels of `functional` one layer and one direction at a time. A PackedSequence input
(nn.utils.rnn) gives a PackedSequence output and each sequence's own final states, as in torch."""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor, cat, empty, stack, zeros
from . import functional as F
from . import init
from .functional.recurrent import run_packed
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence


class _RNNBase(Module):
    gates = 1
    paired_state = False  # LSTM: hx is (h0, c0)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, dtype=None):
        super().__init__()
        name = type(self).__name__
        for arg, v, low in (("input_size", input_size, 0), ("hidden_size", hidden_size, 1), ("num_layers", num_layers, 1)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                raise TypeError(f"{name}: {arg} must be an int, got {type(v).__name__} {v!r}")
            if v < low:
                raise ValueError(f"{name}: {arg} must be {'greater than zero' if low else 'non-negative'}, got {v}")
        if not isinstance(dropout, (int, float, np.floating)) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1] (the probability of zeroing an element "
                             f"between layers), got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
        self.num_directions = 2 if bidirectional else 1
        g = self.gates * hidden_size
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in self._suffixes():
                name = f"l{layer}{suffix}"
                setattr(self, f"weight_ih_{name}", Parameter(empty(g, layer_in, dtype=dtype)))
                setattr(self, f"weight_hh_{name}", Parameter(empty(g, hidden_size, dtype=dtype)))
                if bias:
                    setattr(self, f"bias_ih_{name}", Parameter(empty(g, dtype=dtype)))
                    setattr(self, f"bias_hh_{name}", Parameter(empty(g, dtype=dtype)))
        self.reset_parameters()

    def _suffixes(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.hidden_size) if self.hidden_size else 0.0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _weights(self, layer, suffix):
        name = f"l{layer}{suffix}"
        get = lambda kind: self._parameters.get(f"{kind}_{name}")  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _run(self, x, state, weights):
        """One layer, one direction, batch-first: returns (output, tuple of final states)."""
        raise NotImplementedError

    def _initial(self, hx, batch, dtype):
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if hx is None:
            return zeros(*shape, dtype=dtype, device=next(self.parameters()).device)
        if not isinstance(hx, Tensor):
            raise TypeError(f"{type(self).__name__}: the initial hidden state hx must be a Tensor of shape {shape}, "
                            f"got {type(hx).__name__}")
        if tuple(hx.shape) != shape:
            raise ValueError(f"{type(self).__name__}: expected hidden state of shape {shape}, got {tuple(hx.shape)}")
        return hx

    def forward(self, input, hx=None):
        if isinstance(hx, list) and self.paired_state:  # torch takes LSTM's (h0, c0) as a list too
            hx = tuple(hx)
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a Tensor or a PackedSequence, "
                            f"got {type(input).__name__}")
        unbatched = input.ndim == 2
        if input.ndim not in (2, 3):
            raise ValueError(f"{type(self).__name__}: expected a 2-d or 3-d input, got shape {tuple(input.shape)}")
        x = input.unsqueeze(0 if self.batch_first else 1) if unbatched else input
        if not self.batch_first:
            x = x.transpose(0, 1)  # the kernels run batch-first: (B, T, I)
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: input has {x.shape[-1]} features, expected {self.input_size}")
        if unbatched and hx is not None:
            if isinstance(hx, tuple) and all(isinstance(h, Tensor) for h in hx):
                hx = tuple(h.unsqueeze(1) for h in hx)
            elif isinstance(hx, Tensor):
                hx = hx.unsqueeze(1)
        states = self._initial_states(hx, x.shape[0], x.dtype)
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(self._suffixes()):
                index = layer * self.num_directions + d
                seq = x if d == 0 else x[:, ::-1]
                out, final = self._run(seq, [s[index] for s in states], self._weights(layer, suffix))
                outs.append(out if d == 0 else out[:, ::-1])
                finals.append(final)
            x = outs[0] if len(outs) == 1 else cat(outs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        output = x if self.batch_first else x.transpose(0, 1)
        final_states = [stack([f[i] for f in finals]) for i in range(len(states))]
        if unbatched:
            output = output.squeeze(0 if self.batch_first else 1)
            final_states = [s.squeeze(1) for s in final_states]
        return output, self._pack(final_states)

    def _forward_packed(self, input: PackedSequence, hx):
        """Each layer and direction runs over the packed rows (run_packed), so every sequence stops at,
        and its reverse direction starts from, its own last step. hx and the returned states are in
        the batch's original order; the runs use the sorted order."""
        name = type(self).__name__
        data, batch_sizes, sorted_indices, unsorted_indices = input
        if data.ndim != 2 or data.shape[1] != self.input_size:
            raise ValueError(f"{name}: packed data must be (sum of lengths, {self.input_size}), "
                             f"got shape {tuple(data.shape)}")
        sizes = batch_sizes.numpy().astype(np.int64)
        if sizes.size == 0 or (np.diff(sizes) > 0).any() or sizes[-1] <= 0 or int(sizes.sum()) != data.shape[0]:
            raise ValueError(f"{name}: PackedSequence batch_sizes {sizes.tolist()} must be positive, non-increasing "
                             f"and sum to the {data.shape[0]} rows of data")
        states = self._initial_states(hx, int(sizes[0]), data.dtype)
        if hx is not None and sorted_indices is not None:  # torch's permute_hidden: the runs use the sorted order
            order = sorted_indices.numpy()
            states = [s[:, order] for s in states]
        x, finals = data, []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(self._suffixes()):
                index = layer * self.num_directions + d
                weights = self._weights(layer, suffix)
                step = lambda seq, st, w=weights: self._run(seq, st, w)  # noqa: E731
                out, final = run_packed(step, x, sizes, [s[index] for s in states], reverse=d == 1)
                outs.append(out)
                finals.append(final)
            x = outs[0] if len(outs) == 1 else cat(outs, dim=1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        final_states = [stack([f[i] for f in finals]) for i in range(len(states))]
        if unsorted_indices is not None:
            order = unsorted_indices.numpy()
            final_states = [s[:, order] for s in final_states]
        return PackedSequence(x, batch_sizes, sorted_indices, unsorted_indices), self._pack(final_states)

    def _initial_states(self, hx, batch, dtype):
        return [self._initial(hx, batch, dtype)]

    def _pack(self, states):
        return states[0]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for flag in ("batch_first", "bidirectional"):
            if getattr(self, flag):
                s += f", {flag}=True"
        return s + (f", dropout={self.dropout}" if self.dropout else "")


class RNN(_RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype)
        self.nonlinearity = nonlinearity

    def _run(self, x, state, weights):
        out, h = F.rnn_sequence(x, state[0], *weights, nonlinearity=self.nonlinearity)
        return out, (h,)


class GRU(_RNNBase):
    gates = 3

    def _run(self, x, state, weights):
        out, h = F.gru_sequence(x, state[0], *weights)
        return out, (h,)


class LSTM(_RNNBase):
    gates = 4
    paired_state = True

    def _initial_states(self, hx, batch, dtype):
        if hx is None:
            return [self._initial(None, batch, dtype), self._initial(None, batch, dtype)]
        if not (isinstance(hx, tuple) and len(hx) == 2):
            raise ValueError(f"LSTM: the initial state must be a tuple (h0, c0) of two Tensors, "
                             f"got {type(hx).__name__}" + (f" of length {len(hx)}" if isinstance(hx, tuple) else ""))
        return [self._initial(hx[0], batch, dtype), self._initial(hx[1], batch, dtype)]

    def _run(self, x, state, weights):
        out, (h, c) = F.lstm_sequence(x, state[0], state[1], *weights)
        return out, (h, c)

    def _pack(self, states):
        return states[0], states[1]
