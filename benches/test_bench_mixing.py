"""MLP-Mixer block, float32, forward+backward (from compare_mixing / compare_nn): ferrograd's
nn.MixerBlock (fused token_mixing / channel_mixing kernels) against the same block written with
PyTorch layers; and the two mixing MLPs alone (F.token_mixing / F.channel_mixing), without layer norms.

Block: y = x + token_mixing(LN1(x)); z = y + channel_mixing(LN2(y)), exact GELU.
"""

from __future__ import annotations

import numpy as np
import pytest

FG_TORCH = ["ferrograd", "torch"]
pytestmark = pytest.mark.benchmark(group="mixing")

# id: (B, tokens, channels, token MLP, channel MLP)
SHAPES = {"B16-196x512-256-2048": (16, 196, 512, 256, 2048), "B64-16x64-32-128": (64, 16, 64, 32, 128)}


def torch_layers(S, C, DT, DC):
    import torch

    return (torch.nn.LayerNorm(C, eps=1e-6), torch.nn.LayerNorm(C, eps=1e-6), torch.nn.Linear(S, DT),
            torch.nn.Linear(DT, S), torch.nn.Linear(C, DC), torch.nn.Linear(DC, C))


def inputs(T, B, S, C):
    rng = np.random.default_rng(0)
    x = T.tensor(rng.standard_normal((B, S, C), dtype=np.float32), requires_grad=True)
    return x, T.tensor(rng.standard_normal((B, S, C), dtype=np.float32))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_mixer_block_fwd_bwd(bench, lib, shape):
    B, S, C, DT, DC = SHAPES[shape]
    if lib == "torch":
        import torch
        gelu = torch.nn.functional.gelu
        ln1, ln2, tok1, tok2, ch1, ch2 = torch_layers(S, C, DT, DC)

        def block(x):
            y = x + tok2(gelu(tok1(ln1(x).transpose(1, 2)))).transpose(1, 2)
            return y + ch2(gelu(ch1(ln2(y))))

        x, gy = inputs(torch, B, S, C)
    else:
        import ferrograd as fg
        block = fg.nn.MixerBlock(S, C, DT, DC)
        x, gy = inputs(fg, B, S, C)

    def step():
        x.grad = None
        block(x).backward(gy)

    bench(step, rounds=5 if B * S * C * DC > 1e8 else None)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_mixing_mlps_fwd_bwd(bench, lib, shape):
    B, S, C, DT, DC = SHAPES[shape]
    if lib == "torch":
        import torch
        gelu = torch.nn.functional.gelu
        _, _, tok1, tok2, ch1, ch2 = torch_layers(S, C, DT, DC)

        def block(x):
            y = x + tok2(gelu(tok1(x.transpose(1, 2)))).transpose(1, 2)
            return y + ch2(gelu(ch1(y)))

        x, gy = inputs(torch, B, S, C)
    else:
        import ferrograd as fg
        F = fg.nn.functional
        rng = np.random.default_rng(1)
        t1w, t1b, t2w, t2b, c1w, c1b, c2w, c2b = (
            fg.tensor(rng.standard_normal(s, dtype=np.float32) * np.float32(0.05), requires_grad=True)
            for s in ((DT, S), (DT,), (S, DT), (S,), (DC, C), (DC,), (C, DC), (C,)))

        def block(x):
            y = x + F.token_mixing(x, t1w, t1b, t2w, t2b)
            return y + F.channel_mixing(y, c1w, c1b, c2w, c2b)

        x, gy = inputs(fg, B, S, C)

    def step():
        x.grad = None
        block(x).backward(gy)

    bench(step, rounds=5 if B * S * C * DC > 1e8 else None)
