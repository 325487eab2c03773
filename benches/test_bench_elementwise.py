"""Elementwise ops and per-op overhead, float32 (from compare_op_overhead and compare_gelu).

Small cases (16×16) measure what one eager op costs in Python + dispatch, the figure that decides
small-model speed (issue 18: at most 2× PyTorch's). Large ones measure the kernels.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

ALL = ["ferrograd", "numpy", "torch"]
FG_TORCH = ["ferrograd", "torch"]
pytestmark = pytest.mark.benchmark(group="elementwise")

SIZES = {"16x16": (16, 16), "1024x1024": (1024, 1024)}
GELU_SHAPE = (32, 128, 1536)  # BERT/MiniLM's MLP activation at batch 32 × 128 tokens
SQRT_2, C_TANH = math.sqrt(2.0), math.sqrt(2.0 / math.pi)


def arrays(shape, n=2, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape, dtype=np.float32) for _ in range(n)]


def wrap(lib, arrs, requires_grad=False):
    """numpy arrays -> the library's tensors (numpy: the arrays themselves)."""
    if lib == "ferrograd":
        import ferrograd as fg

        return [fg.tensor(a, requires_grad=requires_grad) for a in arrs]
    if lib == "torch":
        import torch

        return [torch.tensor(a, requires_grad=requires_grad) for a in arrs]
    return arrs


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
@pytest.mark.parametrize("lib", ALL, indirect=True)
def test_add(bench, lib, size):
    a, b = wrap(lib, arrays(SIZES[size]))
    bench(lambda: a + b)


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
@pytest.mark.parametrize("lib", ALL, indirect=True)
def test_relu(bench, lib, size):
    (a,) = wrap(lib, arrays(SIZES[size], 1))
    if lib == "numpy":
        bench(lambda: np.maximum(a, 0))
    elif lib == "torch":
        import torch

        bench(lambda: torch.relu(a))
    else:
        import ferrograd as fg

        bench(lambda: fg.relu(a))


RELU_SIZES = {"16x16": (16, 16), "256x256": (256, 256), "1024x1024": (1024, 1024)}


@pytest.mark.parametrize("size", RELU_SIZES, ids=list(RELU_SIZES))
@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_relu_fwd_bwd(bench, lib, size):
    """relu forward and backward (issue 18: one Rust pass each way)."""
    x, g = arrays(RELU_SIZES[size], 2)
    tx, = wrap(lib, [x], requires_grad=True)
    tg, = wrap(lib, [g])
    if lib == "torch":
        import torch as T
    else:
        import ferrograd as T

    def step():
        tx.grad = None
        T.relu(tx).backward(tg)

    bench(step)


@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_mul_recording_graph_16x16(bench, lib):
    a, = wrap(lib, arrays((16, 16), 1))
    w, = wrap(lib, arrays((16, 16), 1, seed=1), requires_grad=True)
    bench(lambda: a * w)


@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_mul_sum_backward_16x16(bench, lib):
    a, = wrap(lib, arrays((16, 16), 1))
    w, = wrap(lib, arrays((16, 16), 1, seed=1), requires_grad=True)

    def step():
        w.grad = None
        (a * w).sum().backward()

    bench(step)


@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_tiny_linear_relu_fwd_bwd(bench, lib):
    """Linear(8, 8) + ReLU + sum, forward and backward on 4×8: five ops, all overhead."""
    x, = arrays((4, 8), 1)
    if lib == "torch":
        import torch as T
    else:
        import ferrograd as T
    layer = T.nn.Linear(8, 8)
    tx = T.tensor(x)

    def step():
        layer.weight.grad = layer.bias.grad = None
        T.relu(layer(tx)).sum().backward()

    bench(step)


# ---- GELU on (32, 128, 1536): exact (erf) and tanh forms; numpy's is the formula ferrograd ran before
# its native kernel (scipy's erf for the exact form).

def numpy_gelu(x, approximate):
    if approximate == "tanh":
        return (0.5 * x * (1 + np.tanh(C_TANH * (x + 0.044715 * x**3)))).astype(np.float32, copy=False)
    from scipy.special import erf

    return (0.5 * x * (1 + erf(x / SQRT_2))).astype(np.float32, copy=False)


def numpy_gelu_backward(x, g, approximate):
    if approximate == "tanh":
        t = np.tanh(C_TANH * (x + 0.044715 * x**3))
        d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C_TANH * (1 + 3 * 0.044715 * x * x)
    else:
        from scipy.special import erf

        d = 0.5 * (1 + erf(x / SQRT_2)) + x * (1 / math.sqrt(2 * math.pi)) * np.exp(-0.5 * x * x)
    return (g * d).astype(np.float32, copy=False)


def _gelu_fns(lib, approximate):
    if lib == "numpy" and approximate == "none":
        pytest.importorskip("scipy")
    if lib == "torch":
        import torch.nn.functional as F
    elif lib == "ferrograd":
        import ferrograd.nn.functional as F
    else:
        return None
    return F.gelu


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("lib", ALL, indirect=True)
def test_gelu_fwd(bench, lib, approximate):
    gelu = _gelu_fns(lib, approximate)
    x, = arrays(GELU_SHAPE, 1)
    if gelu is None:
        bench(lambda: numpy_gelu(x, approximate))
        return
    tx, = wrap(lib, [x])
    bench(lambda: gelu(tx, approximate=approximate))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("lib", ALL, indirect=True)
def test_gelu_fwd_bwd(bench, lib, approximate):
    gelu = _gelu_fns(lib, approximate)
    x, g = arrays(GELU_SHAPE, 2)
    if gelu is None:
        bench(lambda: (numpy_gelu(x, approximate), numpy_gelu_backward(x, g, approximate)))
        return
    tx, = wrap(lib, [x], requires_grad=True)
    tg, = wrap(lib, [g])

    def step():
        tx.grad = None
        gelu(tx, approximate=approximate).backward(tg)

    bench(step)
