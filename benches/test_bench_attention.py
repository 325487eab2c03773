"""float32 scaled_dot_product_attention (from compare_attention): ferrograd's flash-style kernel and
PyTorch's, forward and forward+backward, non-causal and causal."""

from __future__ import annotations

import numpy as np
import pytest

FG_TORCH = ["ferrograd", "torch"]
pytestmark = pytest.mark.benchmark(group="attention")

SHAPES = {"B4-H8-L1024-D64": (4, 8, 1024, 64), "B32-H4-L10-D16": (32, 4, 10, 16)}  # compare_attention's; the tour Transformer's


def setup(lib, shape, requires_grad):
    if lib == "torch":
        import torch as T
    else:
        import ferrograd as T
    rng = np.random.default_rng(0)
    q, k, v, gy = (rng.standard_normal(shape, dtype=np.float32) for _ in range(4))
    return T, [T.tensor(a, requires_grad=requires_grad) for a in (q, k, v)], T.tensor(gy)


@pytest.mark.parametrize("causal", [False, True], ids=["noncausal", "causal"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_sdpa_fwd(bench, lib, shape, causal):
    T, (q, k, v), _ = setup(lib, SHAPES[shape], False)
    sdpa = T.nn.functional.scaled_dot_product_attention

    def step():
        with T.no_grad():
            sdpa(q, k, v, is_causal=causal)

    bench(step)


@pytest.mark.parametrize("causal", [False, True], ids=["noncausal", "causal"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_sdpa_fwd_bwd(bench, lib, shape, causal):
    T, (q, k, v), gy = setup(lib, SHAPES[shape], True)
    sdpa = T.nn.functional.scaled_dot_product_attention

    def step():
        q.grad = k.grad = v.grad = None
        sdpa(q, k, v, is_causal=causal).backward(gy)

    bench(step, rounds=5 if SHAPES[shape][2] >= 1024 else None)
