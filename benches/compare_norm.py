"""Forward + backward, float32: ferrograd's layer_norm, cross_entropy and softmax against PyTorch
CPU in the same process (interleaved best-of timings, see _timing.compare).

Run: PYTHONPATH=python python benches/compare_norm.py      (prints a markdown table)
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

import ferrograd as fg
from _timing import compare
from ferrograd.nn import functional as F


def cases(rng):
    """(name, fg_step, torch_step_factory) with inputs made once."""
    out = []

    x = rng.standard_normal((8192, 768), dtype=np.float32)
    w = rng.standard_normal(768, dtype=np.float32)
    b = rng.standard_normal(768, dtype=np.float32)
    gy = rng.standard_normal((8192, 768), dtype=np.float32)
    fx, fw, fb = (fg.tensor(a, requires_grad=True) for a in (x, w, b))

    def fg_ln():
        fx.grad = fw.grad = fb.grad = None
        F.layer_norm(fx, (768,), fw, fb).backward(gy)

    def torch_ln(torch):
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        tgy = torch.from_numpy(gy)

        def step():
            tx.grad = tw.grad = tb.grad = None
            torch.nn.functional.layer_norm(tx, (768,), tw, tb).backward(tgy)
        return step

    out.append(("layer_norm 8192×768 (weight, bias)", fg_ln, torch_ln))

    z = rng.standard_normal((2048, 8192), dtype=np.float32)
    t = rng.integers(0, 8192, 2048)
    fz, ft = fg.tensor(z, requires_grad=True), fg.tensor(t)

    def fg_ce():
        fz.grad = None
        F.cross_entropy(fz, ft).backward()

    def torch_ce(torch):
        tz, tt = torch.tensor(z, requires_grad=True), torch.from_numpy(t)

        def step():
            tz.grad = None
            torch.nn.functional.cross_entropy(tz, tt).backward()
        return step

    out.append(("cross_entropy 2048×8192 (mean)", fg_ce, torch_ce))

    s = rng.standard_normal((8192, 768), dtype=np.float32)
    sg = rng.standard_normal((8192, 768), dtype=np.float32)
    fs = fg.tensor(s, requires_grad=True)

    def fg_sm():
        fs.grad = None
        F.softmax(fs, -1).backward(sg)

    def torch_sm(torch):
        ts, tsg = torch.tensor(s, requires_grad=True), torch.from_numpy(sg)

        def step():
            ts.grad = None
            torch.softmax(ts, -1).backward(tsg)
        return step

    out.append(("softmax 8192×768 (dim=-1)", fg_sm, torch_sm))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import torch

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print("| forward+backward, float32 | ferrograd ms | torch ms | torch/fg |")
    print("|---|---|---|---|")
    for name, fg_step, torch_factory in cases(np.random.default_rng(0)):
        best = compare({"fg": fg_step, "torch": torch_factory(torch)}, repeats=args.repeats)
        print(f"| {name} | {best['fg'] * 1e3:.2f} | {best['torch'] * 1e3:.2f} | {best['torch'] / best['fg']:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
