"""Per-call time of `a @ b` on the small models' GEMM shapes (the Transformer's Linear layers, the GRU's
recurrent step), ferrograd's kernel or torch's, min of 5 rounds:

    RAYON_NUM_THREADS=1 python benches/gemm_small_shapes.py ferrograd
    python benches/gemm_small_shapes.py torch 2      # torch with 2 threads
"""
import sys
import time

import numpy as np

SHAPES = [(128, 128, 384), (1280, 64, 192), (1280, 64, 128), (1280, 128, 64), (1280, 64, 64), (512, 512, 512)]


def best_time(f, a, b, n=200):
    for _ in range(5):
        f(a, b)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            f(a, b)
        best = min(best, (time.perf_counter() - t) / n)
    return best


def main(argv):
    lib = argv[0] if argv else "ferrograd"
    if lib == "torch":
        import torch

        torch.set_num_threads(int(argv[1]) if len(argv) > 1 else torch.get_num_threads())
        f, wrap = torch.matmul, torch.from_numpy
    else:
        from ferrograd import _native

        f, wrap = _native.matmul, (lambda x: x)
    rng = np.random.default_rng(0)
    for m, k, n in SHAPES:
        a, b = wrap(rng.random((m, k), dtype=np.float32)), wrap(rng.random((k, n), dtype=np.float32))
        t = best_time(f, a, b)
        print(f"{lib} {m}x{k}x{n}: {t * 1e6:7.1f} us  {m * k * n / t / 1e9:5.1f} G multiply-adds/s")


if __name__ == "__main__":
    main(sys.argv[1:])
