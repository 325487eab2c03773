"""numpy references of the losses and distances, written from torch's documented formulas."""

import numpy as np

from .softmax import log_softmax


def _reduce(x, reduction):
    return {"none": x, "mean": np.mean(x), "sum": np.sum(x)}[reduction]


def _classes_last(x):
    if x.ndim == 1:
        return x[None]
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    x = np.asarray(x, np.float64)
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    sample_shape = () if x.ndim == 1 else (x.shape[0],) + x.shape[2:]
    logp = _classes_last(log_softmax(x, 0 if x.ndim == 1 else 1))
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    eps = label_smoothing
    if np.issubdtype(np.asarray(target).dtype, np.floating):
        t = _classes_last(np.asarray(target, np.float64)) * (1 - eps) + eps / c
        loss = -(logp * t * w).sum(-1)
        if reduction == "mean":
            return loss.sum() / logp.shape[0]
        return _reduce(loss.reshape(sample_shape), reduction)
    t = np.asarray(target).reshape(-1)
    keep = t != ignore_index
    ts = np.where(keep, t, 0)
    nll = np.where(keep, -w[ts] * logp[np.arange(len(t)), ts], 0.0)
    smooth = np.where(keep, -(logp * w).sum(-1), 0.0)
    loss = (1 - eps) * nll + eps / c * smooth
    if reduction == "mean":
        return loss.sum() / np.where(keep, w[ts], 0).sum()
    return _reduce(loss.reshape(sample_shape), reduction)


def nll_loss(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    logp = np.asarray(logp, np.float64)
    c = logp.shape[0] if logp.ndim == 1 else logp.shape[1]
    sample_shape = () if logp.ndim == 1 else (logp.shape[0],) + logp.shape[2:]
    lp = _classes_last(logp)
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    t = np.asarray(target).reshape(-1)
    keep = t != ignore_index
    ts = np.where(keep, t, 0)
    loss = np.where(keep, -w[ts] * lp[np.arange(len(t)), ts], 0.0)
    if reduction == "mean":
        return loss.sum() / np.where(keep, w[ts], 0).sum()
    return _reduce(loss.reshape(sample_shape), reduction)


def mse_loss(x, t, reduction="mean"):
    return _reduce((np.asarray(x, np.float64) - t) ** 2, reduction)


def l1_loss(x, t, reduction="mean"):
    return _reduce(np.abs(np.asarray(x, np.float64) - t), reduction)


def binary_cross_entropy(x, t, weight=None, reduction="mean"):
    x = np.asarray(x, np.float64)
    with np.errstate(divide="ignore"):
        loss = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log(1 - x), -100))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(x, t, weight=None, reduction="mean", pos_weight=None):
    x = np.asarray(x, np.float64)
    logsig = -np.logaddexp(0, -x)  # log sigmoid(x)
    log1msig = -np.logaddexp(0, x)  # log(1 - sigmoid(x))
    pw = 1.0 if pos_weight is None else pos_weight
    loss = -(pw * t * logsig + (1 - t) * log1msig)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(x, t, reduction="mean", log_target=False):
    x, t = np.asarray(x, np.float64), np.asarray(t, np.float64)
    if log_target:
        loss = np.exp(t) * (t - x)
    else:
        loss = np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0) - t * x
    if reduction == "batchmean":
        return loss.sum() / x.shape[0]
    return _reduce(loss, reduction)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    x1, x2 = np.broadcast_arrays(np.asarray(x1, np.float64), np.asarray(x2, np.float64))
    n1 = np.maximum(np.sqrt((x1 * x1).sum(dim, keepdims=True)), eps)
    n2 = np.maximum(np.sqrt((x2 * x2).sum(dim, keepdims=True)), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    d = np.asarray(x1, np.float64) - x2 + eps
    return np.linalg.norm(d, ord=p, axis=-1, keepdims=keepdim) if d.ndim else abs(d)


def triplet_margin_loss(a, p_, n, margin=1.0, p=2, eps=1e-6, swap=False, reduction="mean"):
    d_ap = pairwise_distance(a, p_, p, eps)
    d_an = pairwise_distance(a, n, p, eps)
    if swap:
        d_an = np.minimum(d_an, pairwise_distance(p_, n, p, eps))
    return _reduce(np.maximum(margin + d_ap - d_an, 0), reduction)


def cosine_embedding_loss(x1, x2, target, margin=0.0, reduction="mean"):
    x1, x2 = np.asarray(x1, np.float64), np.asarray(x2, np.float64)
    d = x1.ndim - 1
    cos = (x1 * x2).sum(d) / np.sqrt(((x1 * x1).sum(d) + 1e-12) * ((x2 * x2).sum(d) + 1e-12))
    loss = np.where(target == 1, 1 - cos, 0) + np.where(target == -1, np.maximum(cos - margin, 0), 0)
    return _reduce(loss, reduction)
