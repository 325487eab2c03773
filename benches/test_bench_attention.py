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


@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_mha_self_attention_fwd_bwd(bench, lib):
    """nn.MultiheadAttention(64, 4, batch_first=True) on (128, 10, 64), x as query, key and value,
    need_weights=False (TransformerEncoderLayer's call): ferrograd's packed in-projection and kernel."""
    if lib == "torch":
        import torch as T
    else:
        import ferrograd as T
    T.manual_seed(0)
    mha = T.nn.MultiheadAttention(64, 4, batch_first=True)
    rng = np.random.default_rng(0)
    x = T.tensor(rng.standard_normal((128, 10, 64), dtype=np.float32), requires_grad=True)
    gy = T.tensor(rng.standard_normal((128, 10, 64), dtype=np.float32))

    def step():
        x.grad = None
        mha.zero_grad()
        mha(x, x, x, need_weights=False)[0].backward(gy)

    bench(step)
