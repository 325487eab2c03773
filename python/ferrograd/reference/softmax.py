"""numpy references: softmax and log_softmax along any axis (float64 math)."""

import numpy as np


def log_softmax(x, dim):
    x = np.asarray(x, np.float64)
    m = x.max(axis=dim, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=dim, keepdims=True))


def softmax(x, dim):
    return np.exp(log_softmax(x, dim))
