"""float32 matmul: ferrograd `@` against numpy `@` (OpenBLAS) and, when installed, PyTorch.

Run: python benches/compare_matmul.py            (prints a markdown table: GFLOP/s and ratios)
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

import ferrograd as fg
from _timing import compare

SHAPES = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048), (4096, 768, 3072)]


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info

        return ", ".join(f"{i['internal_api']} {i.get('architecture', '')} {i['num_threads']} threads" for i in threadpool_info())
    except ImportError:
        return "threadpoolctl not installed"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; numpy {np.__version__} ({blas_info()})"
          + (f"; torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else "; torch not installed"))
    head = "| m×k·k×n | fg GFLOP/s | numpy GFLOP/s | fg/numpy |" + (" torch GFLOP/s | fg/torch |" if torch else "")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for m, k, n in SHAPES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        ta, tb = fg.from_numpy(a), fg.from_numpy(b)
        peers = {"fg": lambda: ta @ tb, "numpy": lambda: a @ b}
        if torch:
            xa, xb = torch.from_numpy(a), torch.from_numpy(b)
            peers["torch"] = lambda: xa @ xb
        best = compare(peers, repeats=args.repeats)
        gf = {k_: 2 * m * k * n / t / 1e9 for k_, t in best.items()}
        row = f"| {m}×{k}·{k}×{n} | {gf['fg']:.0f} | {gf['numpy']:.0f} | {gf['fg'] / gf['numpy']:.2f} |"
        if torch:
            row += f" {gf['torch']:.0f} | {gf['fg'] / gf['torch']:.2f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
