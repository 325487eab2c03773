"""float32 matmul `a @ b` (from compare_matmul): ferrograd, numpy (its BLAS) and PyTorch, forward only."""

from __future__ import annotations

import numpy as np
import pytest

ALL = ["ferrograd", "numpy", "torch"]
pytestmark = pytest.mark.benchmark(group="matmul")

# (m, k, n); 64³ is below ferrograd's threading threshold, 4096×768·768×3072 is a transformer MLP.
SHAPES = [(64, 64, 64), (256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048),
          (4096, 768, 3072)]


def operands(lib, m, k, n):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    if lib == "ferrograd":
        import ferrograd as fg

        return fg.from_numpy(a), fg.from_numpy(b)
    if lib == "torch":
        import torch

        return torch.from_numpy(a), torch.from_numpy(b)
    return a, b


@pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
@pytest.mark.parametrize("lib", ALL, indirect=True)
def test_matmul(bench, lib, shape):
    a, b = operands(lib, *shape)
    bench(lambda: a @ b, rounds=5 if shape[0] * shape[1] * shape[2] >= 2048**3 else None)


@pytest.mark.parametrize("lib", ALL, indirect=True)
def test_bmm_32x128x64x128(bench, lib):
    """Batched (32, 128, 64) @ (32, 64, 128): attention-score size, one small GEMM per batch."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((32, 128, 64), dtype=np.float32)
    b = rng.standard_normal((32, 64, 128), dtype=np.float32)
    if lib == "ferrograd":
        import ferrograd as fg

        a, b = fg.from_numpy(a), fg.from_numpy(b)
    elif lib == "torch":
        import torch

        a, b = torch.from_numpy(a), torch.from_numpy(b)
    bench(lambda: a @ b)
