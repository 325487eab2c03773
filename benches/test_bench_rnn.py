"""float32 recurrent layers, forward+backward (from compare_rnn / compare_nn): nn.LSTM, nn.GRU and
nn.RNN(batch_first=True), each library's own initialisation (same shapes; the values do not change the cost)."""

from __future__ import annotations

import numpy as np
import pytest

FG_TORCH = ["ferrograd", "torch"]
pytestmark = pytest.mark.benchmark(group="rnn")

# id: (B, T, input, hidden)
SHAPES = {"B32-T64-256to256": (32, 64, 256, 256), "B128-T20-2to128": (128, 20, 2, 128)}  # compare_rnn's; MNIST-1D's


def make(lib, cell, b, t, i, h):
    if lib == "torch":
        import torch as T
    else:
        import ferrograd as T
    layer = {"lstm": T.nn.LSTM, "gru": T.nn.GRU, "rnn_tanh": T.nn.RNN}[cell](i, h, batch_first=True)
    rng = np.random.default_rng(0)
    x = T.tensor(rng.standard_normal((b, t, i), dtype=np.float32), requires_grad=True)
    gy = T.tensor(rng.standard_normal((b, t, h), dtype=np.float32))
    return layer, x, gy


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_rnn_fwd_bwd(bench, lib, cell, shape):
    layer, x, gy = make(lib, cell, *SHAPES[shape])

    def step():
        x.grad = None
        layer.zero_grad()
        layer(x)[0].backward(gy)

    bench(step)
