"""Recurrent sequences as functions (ferrograd names: torch has no functional LSTM/GRU/RNN).

One layer, one direction, batch-first input (B, L, I); PyTorch's weight layouts and gate orders
(LSTM i,f,g,o; GRU r,z,n), so `nn.LSTM(...).state_dict()` weights plug straight in. The nn
modules compose layers, directions and reversal on top of these. Initial states are (B, H);
None means zeros. Each returns h_n (and c_n) as (B, H).
"""

from __future__ import annotations

import numpy as np

from ...ops._util import zeros
from ...ops.rnn import GRUSequence, LSTMSequence, Part, RNNSequence
from ...tensor import Tensor

__all__ = ["lstm_sequence", "gru_sequence", "rnn_sequence"]


def _check(name, gates, input, states, weight_ih, weight_hh, bias_ih, bias_hh):
    """Validate shapes and dtypes; returns (B, L, I, H)."""
    args = {"input": input, "weight_ih": weight_ih, "weight_hh": weight_hh, **states,
            "bias_ih": bias_ih, "bias_hh": bias_hh}
    for what, t in args.items():
        if t is None and what not in ("input", "weight_ih", "weight_hh"):
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {what} must be a Tensor, got {type(t).__name__}")
    dtype = input.dtype
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: input must be float32 or float64, got {dtype}")
    for what, t in args.items():
        if t is not None and t.dtype != dtype:
            raise TypeError(f"{name}: {what} has dtype {t.dtype}, input has {dtype}")
    if input.ndim != 3:
        raise ValueError(f"{name}: input must be (B, L, I) (batch-first), got shape {tuple(input.shape)}")
    b, l, i = input.shape
    if l == 0:
        raise ValueError(f"{name}: input has an empty sequence (shape {tuple(input.shape)})")
    if weight_hh.ndim != 2 or weight_hh.shape[0] != gates * weight_hh.shape[1]:
        raise ValueError(
            f"{name}: weight_hh must be ({gates}*H, H), got shape {tuple(weight_hh.shape)}"
        )
    h = weight_hh.shape[1]
    if tuple(weight_ih.shape) != (gates * h, i):
        if weight_ih.ndim == 2 and weight_ih.shape[0] == gates * h:
            raise ValueError(
                f"{name}: input feature size {i} (input shape {tuple(input.shape)}) does not match "
                f"weight_ih shape {tuple(weight_ih.shape)}, expected ({gates * h}, {i})"
            )
        raise ValueError(f"{name}: weight_ih has shape {tuple(weight_ih.shape)}, expected ({gates * h}, {i})")
    for what, t in states.items():
        if t is not None and tuple(t.shape) != (b, h):
            raise ValueError(f"{name}: {what} has shape {tuple(t.shape)}, expected (B, H) = ({b}, {h})")
    for what, t in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if t is not None and tuple(t.shape) != (gates * h,):
            raise ValueError(f"{name}: {what} has shape {tuple(t.shape)}, expected ({gates * h},)")
    return b, l, i, h


def _zeros(t, b, h, dtype, like=None):
    """The given state, or zeros on the input's device."""
    return t if t is not None else Tensor._wrap(zeros((b, h), dtype, like=like))


def lstm_sequence(input, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """LSTM over a sequence: returns (output (B, L, H), (h_n, c_n)), each state (B, H)."""
    b, l, _, h = _check("lstm_sequence", 4, input, {"h0": h0, "c0": c0}, weight_ih, weight_hh, bias_ih, bias_hh)
    h0, c0 = _zeros(h0, b, h, input.dtype, input.data), _zeros(c0, b, h, input.dtype, input.data)
    packed = LSTMSequence.apply(input, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh)
    n = b * l * h
    output = Part.apply(packed, 0, n, (b, l, h))
    c_n = Part.apply(packed, n, n + b * h, (b, h))
    return output, (output[:, -1], c_n)


def gru_sequence(input, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """GRU over a sequence (torch's formula, gates r,z,n): returns (output (B, L, H), h_n (B, H))."""
    b, _, _, h = _check("gru_sequence", 3, input, {"h0": h0}, weight_ih, weight_hh, bias_ih, bias_hh)
    output = GRUSequence.apply(input, _zeros(h0, b, h, input.dtype, input.data), weight_ih, weight_hh, bias_ih, bias_hh)
    return output, output[:, -1]


def rnn_sequence(input, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """Elman RNN (tanh or relu) over a sequence: returns (output (B, L, H), h_n (B, H))."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_sequence: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    b, _, _, h = _check("rnn_sequence", 1, input, {"h0": h0}, weight_ih, weight_hh, bias_ih, bias_hh)
    output = RNNSequence.apply(
        input, _zeros(h0, b, h, input.dtype, input.data), weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity == "relu"
    )
    return output, output[:, -1]
