"""numpy references of the pooling family (test oracles): direct loops over output positions."""

from __future__ import annotations

import numpy as np


def _pair(v, n=2):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _windows(x, kernel_size, stride, padding, fill):
    (kh, kw) = _pair(kernel_size)
    (sh, sw) = _pair(kernel_size if stride is None else stride)
    (ph, pw) = _pair(padding)
    xp = np.pad(np.asarray(x, np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh = (xp.shape[2] - kh) // sh + 1
    ow = (xp.shape[3] - kw) // sw + 1
    for i in range(oh):
        for j in range(ow):
            yield i, j, xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw], (oh, ow)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    out = None
    for i, j, win, (oh, ow) in _windows(x, kernel_size, stride, padding, -np.inf):
        if out is None:
            out = np.empty(win.shape[:2] + (oh, ow))
        out[:, :, i, j] = win.max(axis=(2, 3))
    return out


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    out = None
    ones = np.ones((1, 1) + np.shape(x)[2:])
    counts = list(_windows(ones, kernel_size, stride, padding, 0.0))
    for (i, j, win, (oh, ow)), (_, _, cwin, _) in zip(_windows(x, kernel_size, stride, padding, 0.0), counts):
        if out is None:
            out = np.empty(win.shape[:2] + (oh, ow))
        div = win.shape[2] * win.shape[3] if count_include_pad else cwin.sum()
        out[:, :, i, j] = win.sum(axis=(2, 3)) / div
    return out


def max_pool1d(x, kernel_size, stride=None, padding=0):
    s = None if stride is None else (1, _pair(stride, 1)[0])
    return max_pool2d(np.asarray(x)[:, :, None], (1, _pair(kernel_size, 1)[0]), s, (0, _pair(padding, 1)[0]))[:, :, 0]


def avg_pool1d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    s = None if stride is None else (1, _pair(stride, 1)[0])
    k, p = (1, _pair(kernel_size, 1)[0]), (0, _pair(padding, 1)[0])
    return avg_pool2d(np.asarray(x)[:, :, None], k, s, p, count_include_pad)[:, :, 0]


def adaptive_avg_pool2d(x, output_size):
    x = np.asarray(x, np.float64)
    oh, ow = _pair(output_size)
    H, W = x.shape[2:]
    out = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        h0, h1 = (i * H) // oh, -((-(i + 1) * H) // oh)
        for j in range(ow):
            w0, w1 = (j * W) // ow, -((-(j + 1) * W) // ow)
            out[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return out
