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
from ...tensor import Tensor, cat

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
    h0, c0 = _zeros(h0, b, h, input.dtype, input._data), _zeros(c0, b, h, input.dtype, input._data)
    packed = LSTMSequence.apply(input, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh)
    n = b * l * h
    output = Part.apply(packed, 0, n, (b, l, h))
    c_n = Part.apply(packed, n, n + b * h, (b, h))
    return output, (output[:, -1], c_n)


def gru_sequence(input, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """GRU over a sequence (torch's formula, gates r,z,n): returns (output (B, L, H), h_n (B, H))."""
    b, _, _, h = _check("gru_sequence", 3, input, {"h0": h0}, weight_ih, weight_hh, bias_ih, bias_hh)
    output = GRUSequence.apply(input, _zeros(h0, b, h, input.dtype, input._data), weight_ih, weight_hh, bias_ih, bias_hh)
    return output, output[:, -1]


def rnn_sequence(input, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """Elman RNN (tanh or relu) over a sequence: returns (output (B, L, H), h_n (B, H))."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_sequence: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    b, _, _, h = _check("rnn_sequence", 1, input, {"h0": h0}, weight_ih, weight_hh, bias_ih, bias_hh)
    output = RNNSequence.apply(
        input, _zeros(h0, b, h, input.dtype, input._data), weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity == "relu"
    )
    return output, output[:, -1]


def _runs(batch_sizes):
    """Maximal runs of steps with one batch size: [(t0, t1, b)], in time order, b decreasing."""
    bs = np.asarray(batch_sizes, dtype=np.int64)
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(bs)) + 1, [bs.size]])
    return [(int(t0), int(t1), int(bs[t0])) for t0, t1 in zip(bounds[:-1], bounds[1:])]


def run_packed(step, data, batch_sizes, states, reverse=False):
    """One layer, one direction over a packed sequence (nn.utils.rnn.PackedSequence layout).

    data: (N, I) time-major packed rows; batch_sizes: host ints, non-increasing (sequences sorted by
    decreasing length); states: list of (B, H) initial states in that sorted order; step(x, states)
    runs a fused sequence kernel on batch-first x (b, n, I) and returns (out (b, n, H), list of (b, H)).

    Steps that share a batch size form one run and go to `step` in one call, so a layer costs one
    kernel call per distinct length and computes no padding. Forward: the runs are chained through
    their states, and the rows that leave the batch after a run hold those sequences' final states.
    Reverse (each sequence read from its own end): the runs go back in time, and a sequence joins the
    batch, with its initial state, at its last step. Gradients flow through the chained states.
    Returns (output (N, H) packed like data, list of final states (B, H)).
    """
    runs = _runs(batch_sizes)
    offsets = np.concatenate([[0], np.cumsum(np.asarray(batch_sizes, dtype=np.int64))])
    features = data.shape[1]

    def segment(t0, t1, b):  # packed rows of steps t0..t1 as batch-first (b, t1 - t0, I), a view
        return data[int(offsets[t0]):int(offsets[t1])].reshape(t1 - t0, b, features).transpose(0, 1)

    def packed_rows(out):  # (b, n, H) back to time-major rows (n * b, H)
        return out.transpose(0, 1).reshape(-1, out.shape[-1])

    outs = [None] * len(runs)
    if not reverse:
        cur, ended = list(states), []
        for k, (t0, t1, b) in enumerate(runs):
            if cur[0].shape[0] != b:
                cur = [s[:b] for s in cur]
            out, cur = step(segment(t0, t1, b), cur)
            outs[k] = packed_rows(out)
            after = runs[k + 1][2] if k + 1 < len(runs) else 0
            ended.append([s[after:b] for s in cur])  # sequences after..b-1 end with this run
        finals = [cat([e[i] for e in reversed(ended)]) if len(ended) > 1 else ended[0][i] for i in range(len(states))]
    else:
        cur = None
        for k in reversed(range(len(runs))):
            t0, t1, b = runs[k]
            before = runs[k + 1][2] if k + 1 < len(runs) else 0
            joining = [s[before:b] for s in states]  # sequences whose last step lies in this run
            cur = joining if cur is None else [cat([c, j]) for c, j in zip(cur, joining)]
            out, cur = step(segment(t0, t1, b)[:, ::-1], cur)
            outs[k] = packed_rows(out[:, ::-1])
        finals = list(cur)
    return (outs[0] if len(outs) == 1 else cat(outs)), finals
