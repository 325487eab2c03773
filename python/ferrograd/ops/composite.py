"""Composite forms of the fused ops, built from differentiable Tensor ops. They are the fused
kernels' oracles and their second-order path: under create_graph=True autograd differentiates
these (see Function.composite), so gradient penalties and Hessian-vector products run through
softmax, cross-entropy, layer norm and the activations."""

from __future__ import annotations

import math

import numpy as np


def _T():
    from ..tensor import Tensor

    return Tensor


def _const(array, like):
    """A raw array (target, weight) as a constant tensor; None stays None."""
    if array is None:
        return None
    T = _T()
    return array if isinstance(array, T) else T._wrap(array)


def log_softmax(x, dim):
    if x.ndim == 0:
        return x - x
    shift = x.detach().max(dim=dim, keepdim=True)[0]
    z = x - shift
    return z - z.exp().sum(dim=dim, keepdim=True).log()


def softmax(x, dim, log):
    out = log_softmax(x, dim)
    return out if log else out.exp()


def cross_entropy_index(x, target, weight, ignore_index, label_smoothing):
    """Per-row loss of (rows, C) logits against class ids, torch's weight/ignore/smoothing rules."""
    t = target._data if isinstance(target, _T()) else target  # the class ids, as a raw array
    logp = log_softmax(x, 1)
    rows = np.arange(x.shape[0])
    keep = t != ignore_index
    safe = np.where(keep, t, 0)
    w = _const(weight, x)
    picked = -logp[rows, safe]
    wt = None if w is None else w[safe]
    nll = picked if wt is None else picked * wt
    loss = nll
    if label_smoothing:
        c = x.shape[1]
        smooth = -(logp if w is None else logp * w).sum(dim=1) / c
        loss = nll * (1 - label_smoothing) + smooth * label_smoothing
    mask = _T()._wrap(keep.astype(x.dtype) if type(keep) is np.ndarray else keep.astype(x.dtype))
    return loss * mask


def cross_entropy_prob(x, target, weight, label_smoothing):
    """Per-row loss of (rows, C) logits against class probabilities."""
    logp = log_softmax(x, 1)
    t = _const(target, x)
    c = x.shape[1]
    ts = t * (1 - label_smoothing) + label_smoothing / c
    w = _const(weight, x)
    terms = ts * logp if w is None else ts * logp * w
    return -terms.sum(dim=1)


def layer_norm(x, weight, bias, cols, eps):
    """Normalise the trailing `cols` elements of each row; weight/bias (any shape of cols) or None."""
    shape = tuple(x.shape)
    rows = x.reshape(-1, cols)
    mean = rows.mean(dim=1, keepdim=True)
    var = ((rows - mean) ** 2).mean(dim=1, keepdim=True)
    y = (rows - mean) / (var + eps).sqrt()
    if weight is not None:
        y = y * _const(weight, x).reshape(-1)
    if bias is not None:
        y = y + _const(bias, x).reshape(-1)
    return y.reshape(shape)


def leaky_relu(x, slope):
    from ..tensor import where

    return where(x > 0, x, x * slope)


def gelu(x, approximate, with_grad=False):  # with_grad: Gelu's forward-time choice, no effect here
    if approximate == "tanh":
        inner = (x + 0.044715 * x ** 3) * math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1 + inner.tanh())
    return 0.5 * x * (1 + (x / math.sqrt(2.0)).erf())


def silu(x):
    return x * x.sigmoid()


def mse_loss(x, target, reduction):
    d = x - target
    return (d * d).mean() if reduction == "mean" else (d * d).sum()
