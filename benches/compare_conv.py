"""float32 conv2d / max_pool2d, forward + backward: ferrograd against PyTorch CPU.

Run: PYTHONPATH=python python benches/compare_conv.py      (prints a markdown table)
Ratio = torch time / ferrograd time (> 1 means ferrograd is faster).
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

import ferrograd as fg
import ferrograd.nn.functional as F
from _timing import compare

# (label, batch, c_in, c_out, size)
CONVS = [("conv2d 3×3 pad 1", 8, 64, 64, 56), ("conv2d 3×3 pad 1", 32, 3, 32, 32)]
POOLS = [("max_pool2d 2×2", 32, 64, 56)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--min-time", type=float, default=0.5)
    args = parser.parse_args()
    import torch
    import torch.nn.functional as TF

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads, mkldnn {torch.backends.mkldnn.is_available()})")
    print("| op | shape | fg fwd ms | torch fwd ms | fwd ratio | fg fwd+bwd ms | torch fwd+bwd ms | fwd+bwd ratio |")
    print("|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)

    def row(label, shape, peers):
        best = compare(peers, repeats=args.repeats, min_time=args.min_time)
        f, t, fb, tb = (best[k] * 1e3 for k in ("fg_fwd", "torch_fwd", "fg_fb", "torch_fb"))
        print(f"| {label} | {shape} | {f:.2f} | {t:.2f} | {t / f:.2f} | {fb:.2f} | {tb:.2f} | {tb / fb:.2f} |", flush=True)

    for label, n, ci, co, s in CONVS:
        x = rng.standard_normal((n, ci, s, s), dtype=np.float32)
        w = (rng.standard_normal((co, ci, 3, 3), dtype=np.float32) * 0.1).astype(np.float32)
        b = rng.standard_normal(co, dtype=np.float32)
        fx, fw, fb_ = (fg.tensor(a, requires_grad=True) for a in (x, w, b))
        tx, tw, tb_ = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        gy = rng.standard_normal((n, co, s, s), dtype=np.float32)
        fgy, tgy = fg.tensor(gy), torch.tensor(gy)

        def fg_fwd():
            with fg.no_grad():
                F.conv2d(fx, fw, fb_, padding=1)

        def torch_fwd():
            with torch.no_grad():
                TF.conv2d(tx, tw, tb_, padding=1)

        def fg_fb():
            fx.grad = fw.grad = fb_.grad = None
            F.conv2d(fx, fw, fb_, padding=1).backward(fgy)

        def torch_fb():
            tx.grad = tw.grad = tb_.grad = None
            TF.conv2d(tx, tw, tb_, padding=1).backward(tgy)

        row(label, f"B{n} {ci}→{co} {s}×{s}", {"fg_fwd": fg_fwd, "torch_fwd": torch_fwd, "fg_fb": fg_fb, "torch_fb": torch_fb})

    for label, n, c, s in POOLS:
        x = rng.standard_normal((n, c, s, s), dtype=np.float32)
        fx, tx = fg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        gy = rng.standard_normal((n, c, s // 2, s // 2), dtype=np.float32)
        fgy, tgy = fg.tensor(gy), torch.tensor(gy)

        def fg_fwd():
            with fg.no_grad():
                F.max_pool2d(fx, 2)

        def torch_fwd():
            with torch.no_grad():
                TF.max_pool2d(tx, 2)

        def fg_fb():
            fx.grad = None
            F.max_pool2d(fx, 2).backward(fgy)

        def torch_fb():
            tx.grad = None
            TF.max_pool2d(tx, 2).backward(tgy)

        row(label, f"B{n} {c}×{s}×{s}", {"fg_fwd": fg_fwd, "torch_fwd": torch_fwd, "fg_fb": fg_fb, "torch_fb": torch_fb})


if __name__ == "__main__":
    main()
