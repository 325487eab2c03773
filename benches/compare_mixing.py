"""MLP-Mixer block, forward+backward, float32: ferrograd (`token_mixing` / `channel_mixing` and
`layer_norm` kernels) against the equivalent PyTorch block.

Block: y = x + token_mixing(LN1(x)); z = y + channel_mixing(LN2(y)), B16, 196 tokens × 512
channels, token MLP 256, channel MLP 2048, exact GELU.

Run: PYTHONPATH=python python benches/compare_mixing.py   (markdown table; ratio = torch / fg)
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

import ferrograd as fg
from _timing import compare
from ferrograd.nn import functional as F

B, S, C, DT, DC = 16, 196, 512, 256, 2048


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import torch

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    torch.manual_seed(0)
    ln1, ln2 = torch.nn.LayerNorm(C), torch.nn.LayerNorm(C)
    tok1, tok2 = torch.nn.Linear(S, DT), torch.nn.Linear(DT, S)
    ch1, ch2 = torch.nn.Linear(C, DC), torch.nn.Linear(DC, C)
    for ln in (ln1, ln2):  # non-trivial affine parameters
        torch.nn.init.normal_(ln.weight, 1.0, 0.1)
        torch.nn.init.normal_(ln.bias, 0.0, 0.1)
    gelu = torch.nn.functional.gelu

    def torch_block(x):
        y = x + tok2(gelu(tok1(ln1(x).transpose(1, 2)))).transpose(1, 2)
        return y + ch2(gelu(ch1(ln2(y))))

    mods = [ln1, ln2, tok1, tok2, ch1, ch2]
    p = [[fg.tensor(q.detach().numpy(), requires_grad=True) for q in (m.weight, m.bias)] for m in mods]
    (l1w, l1b), (l2w, l2b), (t1w, t1b), (t2w, t2b), (c1w, c1b), (c2w, c2b) = p

    def fg_block(x):
        y = x + F.token_mixing(F.layer_norm(x, (C,), l1w, l1b), t1w, t1b, t2w, t2b)
        return y + F.channel_mixing(F.layer_norm(y, (C,), l2w, l2b), c1w, c1b, c2w, c2b)

    x = torch.randn(B, S, C, requires_grad=True)
    gy = torch.randn(B, S, C)
    fx = fg.tensor(x.detach().numpy(), requires_grad=True)
    fgy = gy.numpy()
    with fg.no_grad():
        np.testing.assert_allclose(fg_block(fx).numpy(), torch_block(x).detach().numpy(), rtol=1e-3, atol=1e-3)

    def run_fg():
        fg_block(fx).backward(fgy)

    def run_torch():
        torch_block(x).backward(gy)

    def run_fg_mixing_only():  # the two fused mixing ops without the composite layer norms
        y = fx + F.token_mixing(fx, t1w, t1b, t2w, t2b)
        (y + F.channel_mixing(y, c1w, c1b, c2w, c2b)).backward(fgy)

    def run_torch_mixing_only():
        y = x + tok2(gelu(tok1(x.transpose(1, 2)))).transpose(1, 2)
        (y + ch2(gelu(ch1(y)))).backward(gy)

    print("| case | fg fwd+bwd ms | torch fwd+bwd ms | torch/fg |")
    print("|---|---|---|---|")
    for name, f, t in [
        (f"Mixer block B{B} {S}×{C}, token MLP {DT}, channel MLP {DC}", run_fg, run_torch),
        ("same block without the two layer norms", run_fg_mixing_only, run_torch_mixing_only),
    ]:
        best = compare({"fg": f, "torch": t}, repeats=args.repeats, min_time=0.5, rounds=3)
        print(f"| {name} | {best['fg'] * 1e3:.0f} | {best['torch'] * 1e3:.0f} | {best['torch'] / best['fg']:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
