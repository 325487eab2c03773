"""numpy references of the recurrent sequences (float64 loops over time): the test oracle."""

from __future__ import annotations

import numpy as np


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _prep(x, h0, w_ih, w_hh, b_ih, b_hh):
    x, w_ih, w_hh = (np.asarray(a, np.float64) for a in (x, w_ih, w_hh))
    g = w_hh.shape[0]
    b_ih = np.zeros(g) if b_ih is None else np.asarray(b_ih, np.float64)
    b_hh = np.zeros(g) if b_hh is None else np.asarray(b_hh, np.float64)
    h = np.zeros((x.shape[0], w_hh.shape[1])) if h0 is None else np.asarray(h0, np.float64)
    return x, h, w_ih, w_hh, b_ih, b_hh


def lstm(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
    """-> (output (B, L, H), (h_n, c_n))"""
    x, h, w_ih, w_hh, b_ih, b_hh = _prep(x, h0, w_ih, w_hh, b_ih, b_hh)
    c = np.zeros_like(h) if c0 is None else np.asarray(c0, np.float64)
    outs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, g, o = np.split(a, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        outs.append(h)
    return np.stack(outs, 1), (h, c)


def gru(x, h0, w_ih, w_hh, b_ih=None, b_hh=None):
    """-> (output (B, L, H), h_n)"""
    x, h, w_ih, w_hh, b_ih, b_hh = _prep(x, h0, w_ih, w_hh, b_ih, b_hh)
    outs = []
    for t in range(x.shape[1]):
        xr, xz, xn = np.split(x[:, t] @ w_ih.T + b_ih, 3, axis=1)
        hr, hz, hn = np.split(h @ w_hh.T + b_hh, 3, axis=1)
        r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
        n = np.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        outs.append(h)
    return np.stack(outs, 1), h


def rnn(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """-> (output (B, L, H), h_n)"""
    x, h, w_ih, w_hh, b_ih, b_hh = _prep(x, h0, w_ih, w_hh, b_ih, b_hh)
    act = np.tanh if nonlinearity == "tanh" else (lambda a: np.maximum(a, 0))
    outs = []
    for t in range(x.shape[1]):
        h = act(x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        outs.append(h)
    return np.stack(outs, 1), h
