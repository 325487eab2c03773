"""numpy references of the activations (float64 math)."""

import math

import numpy as np


def relu(x):
    return np.maximum(x, 0)


def leaky_relu(x, negative_slope=0.01):
    return np.where(x > 0, x, negative_slope * x)


def gelu(x, approximate="none"):
    x = np.asarray(x, np.float64)
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, np.float64)))


def silu(x):
    return np.asarray(x, np.float64) * sigmoid(x)


def tanh(x):
    return np.tanh(np.asarray(x, np.float64))
