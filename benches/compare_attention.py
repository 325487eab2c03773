"""float32 scaled_dot_product_attention, forward + backward: ferrograd vs PyTorch CPU.

Run: python benches/compare_attention.py            (prints a markdown table; ratio = torch / fg,
                                                     > 1 means ferrograd is faster)
Options: --shape B H L D (default 4 8 1024 64), --repeats N, --forward-only.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ferrograd as fg  # noqa: E402
import ferrograd.nn.functional as F  # noqa: E402
from _timing import compare  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", type=int, nargs=4, default=[4, 8, 1024, 64], metavar=("B", "H", "L", "D"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--forward-only", action="store_true")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    B, H, L, D = args.shape
    rng = np.random.default_rng(0)
    q, k, v, gy = (rng.standard_normal((B, H, L, D), dtype=np.float32) for _ in range(4))
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
        + (f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else "torch not installed")
    )
    what = "forward" if args.forward_only else "forward+backward"
    head = f"| {what}, float32, B{B} H{H} L{L} D{D} | fg ms |" + (" torch ms | torch/fg |" if torch else "")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for causal in (False, True):
        tq, tk, tv = (fg.tensor(x, requires_grad=not args.forward_only) for x in (q, k, v))

        def run_fg():
            out = F.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
            if not args.forward_only:
                out.backward(gy)
                tq.grad = tk.grad = tv.grad = None

        peers = {"fg": run_fg}
        if torch:
            xq, xk, xv = (torch.from_numpy(x).requires_grad_(not args.forward_only) for x in (q, k, v))
            xg = torch.from_numpy(gy)

            def run_torch():
                out = torch.nn.functional.scaled_dot_product_attention(xq, xk, xv, is_causal=causal)
                if not args.forward_only:
                    out.backward(xg)
                    xq.grad = xk.grad = xv.grad = None

            peers["torch"] = run_torch
        best = compare(peers, repeats=args.repeats, min_time=0.5, rounds=3)
        row = f"| {'causal' if causal else 'non-causal'} | {best['fg'] * 1e3:.0f} |"
        if torch:
            row += f" {best['torch'] * 1e3:.0f} | {best['torch'] / best['fg']:.2f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
