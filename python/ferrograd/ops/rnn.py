"""Fused recurrent sequences (LSTM, GRU, RNN): autograd Functions over the Rust kernels.

Each forward runs the whole sequence in Rust and saves the gate activations (time-major) that
the backward-through-time kernel needs. A Function has one output, so the LSTM packs `output`
and `c_n` into one flat array that `Part` splits into differentiable tensors.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._util import ascontiguous, empty, kernels


def _rows_contiguous(g):
    """`g` (B, L, H) as the CPU GRU backward reads it: any strides but a contiguous last axis (a
    mean over time hands back a gradient broadcast over L, which then needs no 1 MB copy)."""
    if type(g) is np.ndarray and (g.shape[-1] <= 1 or g.strides[-1] == g.itemsize):
        return g
    return ascontiguous(g)


class Part(Function):
    """`packed[start:stop].reshape(shape)`; backward places the gradient in a buffer zero elsewhere."""

    @staticmethod
    def forward(ctx, packed, start, stop, shape):
        ctx.size, ctx.span = packed.size, (start, stop)
        return packed[start:stop].reshape(shape)

    @staticmethod
    def backward(ctx, g):
        start, stop = ctx.span
        # Only the rest is zeroed: the span is written once, not zeroed and then written.
        out = empty(ctx.size, g.dtype, like=g)
        out[:start], out[stop:] = 0, 0
        out[start:stop] = g.reshape(-1)
        return out


class LSTMSequence(Function):
    """Returns the flat array [output (B, L, H), c_n (B, H)]."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        packed, gates, cells, hs = kernels(x).lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        ctx.save_for_backward(x, c0, w_ih, w_hh, gates, cells, hs)
        ctx.biases = (b_ih is not None, b_hh is not None)
        return packed

    @staticmethod
    def backward(ctx, g):
        x, c0, w_ih, w_hh, gates, cells, hs = ctx.saved
        b, l, h = x.shape[0], x.shape[1], w_hh.shape[1]
        n = b * l * h
        g = ascontiguous(g)
        gy, gc = g[:n].reshape(b, l, h), g[n:].reshape(b, h)
        dx, dh0, dc0, dwi, dwh, db = kernels(x).lstm_backward(x, c0, w_ih, w_hh, gates, cells, hs, gy, gc)
        return dx, dh0, dc0, dwi, dwh, db if ctx.biases[0] else None, db if ctx.biases[1] else None


class GRUSequence(Function):
    """Returns output (B, L, H); h_n is its last step."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        out, gates, hn, hs = kernels(x).gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
        ctx.save_for_backward(x, h0, w_ih, w_hh, gates, hn, hs)
        ctx.biases = (b_ih is not None, b_hh is not None)
        return out

    @staticmethod
    def backward(ctx, g):
        x, h0, w_ih, w_hh, gates, hn, hs = ctx.saved
        need_dx, need_dh0 = ctx.needs_input_grad[:2]  # data and a zero initial state need neither
        dx, dh0, dwi, dwh, dbi, dbh = kernels(x).gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, _rows_contiguous(g),
                                                              need_dx, need_dh0)
        return dx, dh0, dwi, dwh, dbi if ctx.biases[0] else None, dbh if ctx.biases[1] else None


class RNNSequence(Function):
    """Returns output (B, L, H); h_n is its last step."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, relu):
        out, hs = kernels(x).rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh, relu)
        ctx.save_for_backward(x, h0, w_ih, w_hh, hs)
        ctx.biases, ctx.relu = (b_ih is not None, b_hh is not None), relu
        return out

    @staticmethod
    def backward(ctx, g):
        x, h0, w_ih, w_hh, hs = ctx.saved
        dx, dh0, dwi, dwh, db = kernels(x).rnn_backward(x, h0, w_ih, w_hh, ctx.relu, hs, ascontiguous(g))
        return dx, dh0, dwi, dwh, db if ctx.biases[0] else None, db if ctx.biases[1] else None, None
