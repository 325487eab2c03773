"""float32 conv2d and max_pool2d, forward and forward+backward (from compare_conv): ferrograd and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

FG_TORCH = ["ferrograd", "torch"]
pytestmark = pytest.mark.benchmark(group="conv")

# id: (batch, c_in, c_out, size), 3×3 kernels, padding 1
CONVS = {"B8-64to64-56x56": (8, 64, 64, 56), "B32-3to32-32x32": (32, 3, 32, 32),
         "B64-16to16-8x8": (64, 16, 16, 8)}  # the last: the digits CNN's first stage


def libs(lib):
    if lib == "torch":
        import torch
        import torch.nn.functional as F
        return torch, F
    import ferrograd as fg
    import ferrograd.nn.functional as F
    return fg, F


def conv_setup(lib, n, ci, co, s):
    T, F = libs(lib)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, ci, s, s), dtype=np.float32)
    w = rng.standard_normal((co, ci, 3, 3), dtype=np.float32) * np.float32(0.1)
    b = rng.standard_normal(co, dtype=np.float32)
    gy = rng.standard_normal((n, co, s, s), dtype=np.float32)
    tx, tw, tb = (T.tensor(a, requires_grad=True) for a in (x, w, b))
    return T, F, tx, tw, tb, T.tensor(gy)


@pytest.mark.parametrize("shape", CONVS)
@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_conv2d_3x3_fwd(bench, lib, shape):
    T, F, x, w, b, _ = conv_setup(lib, *CONVS[shape])

    def step():
        with T.no_grad():
            F.conv2d(x, w, b, padding=1)

    bench(step)


@pytest.mark.parametrize("shape", CONVS)
@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_conv2d_3x3_fwd_bwd(bench, lib, shape):
    T, F, x, w, b, gy = conv_setup(lib, *CONVS[shape])

    def step():
        x.grad = w.grad = b.grad = None
        F.conv2d(x, w, b, padding=1).backward(gy)

    bench(step)


@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_max_pool2d_2x2_fwd_bwd_B32_64x56x56(bench, lib):
    T, F = libs(lib)
    rng = np.random.default_rng(0)
    x = T.tensor(rng.standard_normal((32, 64, 56, 56), dtype=np.float32), requires_grad=True)
    gy = T.tensor(rng.standard_normal((32, 64, 28, 28), dtype=np.float32))

    def step():
        x.grad = None
        F.max_pool2d(x, 2).backward(gy)

    bench(step)


@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_max_pool2d_2x2_fwd_B32_64x56x56(bench, lib):
    T, F = libs(lib)
    x = T.tensor(np.random.default_rng(0).standard_normal((32, 64, 56, 56), dtype=np.float32))

    def step():
        with T.no_grad():
            F.max_pool2d(x, 2)

    bench(step)
