"""float32 losses, forward+backward (cross_entropy from compare_norm): ferrograd and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

FG_TORCH = ["ferrograd", "torch"]
pytestmark = pytest.mark.benchmark(group="losses")

CE = {"2048x8192": (2048, 8192), "64x10": (64, 10)}  # a language-model head; a small classifier's


def libs(lib):
    if lib == "torch":
        import torch
        import torch.nn.functional as F
        return torch, F
    import ferrograd as fg
    import ferrograd.nn.functional as F
    return fg, F


@pytest.mark.parametrize("size", CE)
@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_cross_entropy_fwd_bwd(bench, lib, size):
    n, c = CE[size]
    T, F = libs(lib)
    rng = np.random.default_rng(0)
    z = T.tensor(rng.standard_normal((n, c), dtype=np.float32), requires_grad=True)
    t = T.tensor(rng.integers(0, c, n))

    def step():
        z.grad = None
        F.cross_entropy(z, t).backward()

    bench(step)


@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_mse_loss_fwd_bwd_8192x768(bench, lib):
    T, F = libs(lib)
    rng = np.random.default_rng(0)
    x = T.tensor(rng.standard_normal((8192, 768), dtype=np.float32), requires_grad=True)
    y = T.tensor(rng.standard_normal((8192, 768), dtype=np.float32))

    def step():
        x.grad = None
        F.mse_loss(x, y).backward()

    bench(step)
