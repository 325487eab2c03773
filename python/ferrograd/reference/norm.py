"""numpy references: layer_norm, batch_norm, group_norm, normalize (float64 math)."""

import numpy as np


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    x = np.asarray(x, np.float64)
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Returns (y, new_running_mean, new_running_var)."""
    x = np.asarray(x, np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        mu, var = x.mean(axis=axes), x.var(axis=axes)
        n = x.size // x.shape[1]
        rm = None if running_mean is None else (1 - momentum) * running_mean + momentum * mu
        rv = None if running_var is None else (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        mu, var, rm, rv = running_mean, running_var, running_mean, running_var
    y = (x - mu.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y, rm, rv


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    x = np.asarray(x, np.float64)
    n, c = x.shape[:2]
    g = x.reshape(n, num_groups, -1)
    mu = g.mean(-1, keepdims=True)
    var = g.var(-1, keepdims=True)
    y = ((g - mu) / np.sqrt(var + eps)).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def normalize(x, p=2.0, dim=1, eps=1e-12):
    x = np.asarray(x, np.float64)
    n = np.linalg.norm(np.moveaxis(x, dim, -1), ord=p, axis=-1)
    return x / np.expand_dims(np.maximum(n, eps), dim)
