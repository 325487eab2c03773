"""float32 normalisations, forward+backward (from compare_norm): layer_norm and softmax also in plain
numpy (the textbook formulas, forward and backward), batch_norm (training mode) against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

ALL = ["ferrograd", "numpy", "torch"]
FG_TORCH = ["ferrograd", "torch"]
pytestmark = pytest.mark.benchmark(group="norms")

ROWS = {"8192x768": (8192, 768), "64x64": (64, 64)}  # BERT-base activations; a small model's


def data(shape, n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s, dtype=np.float32) for s in ([shape] * n if isinstance(shape, tuple) else shape)]


def libs(lib):
    if lib == "torch":
        import torch
        import torch.nn.functional as F
        return torch, F
    import ferrograd as fg
    import ferrograd.nn.functional as F
    return fg, F


def numpy_layer_norm_fwd_bwd(x, w, b, gy, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    rstd = 1.0 / np.sqrt((xc * xc).mean(-1, keepdims=True) + eps)
    xhat = xc * rstd
    y = xhat * w + b
    gb, gw = gy.sum(0), (gy * xhat).sum(0)
    gxhat = gy * w
    gx = rstd * (gxhat - gxhat.mean(-1, keepdims=True) - xhat * (gxhat * xhat).mean(-1, keepdims=True))
    return y, gx, gw, gb


def numpy_softmax_fwd_bwd(x, gy):
    e = np.exp(x - x.max(-1, keepdims=True))
    y = e / e.sum(-1, keepdims=True)
    return y, y * (gy - (gy * y).sum(-1, keepdims=True))


@pytest.mark.parametrize("size", ROWS)
@pytest.mark.parametrize("lib", ALL, indirect=True)
def test_layer_norm_fwd_bwd(bench, lib, size):
    rows, d = ROWS[size]
    x, gy = data((rows, d), 2)
    w, b = data([(d,), (d,)], 2, seed=1)
    if lib == "numpy":
        bench(lambda: numpy_layer_norm_fwd_bwd(x, w, b, gy))
        return
    T, F = libs(lib)
    tx, tw, tb = (T.tensor(a, requires_grad=True) for a in (x, w, b))
    tgy = T.tensor(gy)

    def step():
        tx.grad = tw.grad = tb.grad = None
        F.layer_norm(tx, (d,), tw, tb).backward(tgy)

    bench(step)


@pytest.mark.parametrize("size", ROWS)
@pytest.mark.parametrize("lib", ALL, indirect=True)
def test_softmax_fwd_bwd(bench, lib, size):
    x, gy = data(ROWS[size], 2)
    if lib == "numpy":
        bench(lambda: numpy_softmax_fwd_bwd(x, gy))
        return
    T, F = libs(lib)
    tx, tgy = T.tensor(x, requires_grad=True), T.tensor(gy)

    def step():
        tx.grad = None
        F.softmax(tx, -1).backward(tgy)

    bench(step)


@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_batch_norm2d_train_fwd_bwd_B32_64x32x32(bench, lib):
    T, F = libs(lib)
    x, gy = data((32, 64, 32, 32), 2)
    tx, tgy = T.tensor(x, requires_grad=True), T.tensor(gy)
    w, b = T.ones(64, requires_grad=True), T.zeros(64, requires_grad=True)
    rm, rv = T.zeros(64), T.ones(64)

    def step():
        tx.grad = w.grad = b.grad = None
        F.batch_norm(tx, rm, rv, w, b, training=True).backward(tgy)

    bench(step)
