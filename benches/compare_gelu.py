"""GELU speed, float32 (32, 128, 1536) — the MLP activation of BERT/MiniLM at batch 32 × 128 tokens:
forward, and forward + backward, of the exact (erf) form and the tanh form.

Peers:
- ferrograd: F.gelu on a Tensor (the native kernel, rust/core/src/activation.rs);
- numpy + scipy: the numpy formula ferrograd ran before, with scipy.special.erf (one thread);
- numpy + math.erf (--vectorize): the same without scipy (np.vectorize(math.erf)), as ferrograd
  ran when scipy was absent; slow, so timed once;
- PyTorch CPU, in its own interpreter (--torch-python, default /work/torchenv/bin/python when it
  exists) with torch.set_num_threads(--threads).

ferrograd and numpy alternate in this process (benches/_timing.compare); PyTorch runs between
rounds. Best time of each. ratio = peer / ferrograd (> 1: ferrograd is faster).
--cpu-time measures the CPU time of the process (all its threads) instead of the wall clock: the
work each peer does, much less disturbed by other processes on a shared machine.

Run: python benches/compare_gelu.py [--rounds 3] [--threads 2] [--cpu-time] [--vectorize]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
import types

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _timing  # noqa: E402
from _timing import compare  # noqa: E402

SHAPE = (32, 128, 1536)
SQRT_2 = math.sqrt(2.0)
C_TANH = math.sqrt(2.0 / math.pi)


def data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(SHAPE, dtype=np.float32), rng.standard_normal(SHAPE, dtype=np.float32)


def numpy_gelu(erf):
    """The numpy forward and backward ferrograd used before the native kernel, given an erf."""

    def fwd(x, approximate):
        if approximate == "tanh":
            return (0.5 * x * (1 + np.tanh(C_TANH * (x + 0.044715 * x**3)))).astype(x.dtype, copy=False)
        return (0.5 * x * (1 + erf(x / SQRT_2))).astype(x.dtype, copy=False)

    def bwd(x, g, approximate):
        if approximate == "tanh":
            t = np.tanh(C_TANH * (x + 0.044715 * x**3))
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C_TANH * (1 + 3 * 0.044715 * x * x)
        else:
            d = 0.5 * (1 + erf(x / SQRT_2)) + x * (1 / math.sqrt(2 * math.pi)) * np.exp(-0.5 * x * x)
        return (g * d).astype(x.dtype, copy=False)

    return fwd, bwd


def fg_steps(x, g):
    import ferrograd as fg
    from ferrograd.nn import functional as F

    gy = fg.tensor(g)
    xt = fg.tensor(x)
    xg = fg.tensor(x, requires_grad=True)

    def forward(approximate):
        return lambda: F.gelu(xt, approximate=approximate)

    def both(approximate):
        def step():
            xg.grad = None
            F.gelu(xg, approximate=approximate).backward(gy)
        return step

    return forward, both


def use_cpu_time():
    """Make benches/_timing measure process CPU time (every thread's) instead of wall time."""
    _timing.time = types.SimpleNamespace(perf_counter=time.process_time)


TORCH_CODE = r"""
import json, sys, time
import torch
sys.path.insert(0, {bench_dir!r})
import compare_gelu as C
if {cpu_time!r}:
    C.use_cpu_time()
from _timing import best_seconds
torch.set_num_threads({threads})
x, g = (torch.from_numpy(a) for a in C.data())
xg = x.clone().requires_grad_()
def forward(ap):
    return lambda: torch.nn.functional.gelu(x, approximate=ap)
def both(ap):
    def step():
        xg.grad = None
        torch.nn.functional.gelu(xg, approximate=ap).backward(g)
    return step
times = {{}}
for ap in ("none", "tanh"):
    times["fwd/" + ap] = best_seconds(forward(ap))
    times["both/" + ap] = best_seconds(both(ap))
print(json.dumps({{"version": torch.__version__, "threads": torch.get_num_threads(), "times": times}}))
"""


def torch_times(python, threads, cpu_time):
    code = TORCH_CODE.format(bench_dir=os.path.dirname(os.path.abspath(__file__)), threads=threads,
                             cpu_time=cpu_time)
    res = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if res.returncode != 0:
        print(f"(PyTorch run failed: {res.stderr.strip().splitlines()[-1] if res.stderr.strip() else res.returncode})")
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_torch = "/work/torchenv/bin/python" if os.path.exists("/work/torchenv/bin/python") else sys.executable
    ap.add_argument("--torch-python", default=default_torch)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--vectorize", action="store_true", help="also time numpy + np.vectorize(math.erf), once")
    ap.add_argument("--cpu-time", action="store_true", help="process CPU time instead of wall time")
    args = ap.parse_args()
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)  # before ferrograd starts its thread pool
    if args.cpu_time:
        use_cpu_time()

    x, g = data()
    fg_fwd, fg_both = fg_steps(x, g)
    peers = {}
    try:
        from scipy.special import erf as scipy_erf

        peers["numpy+scipy"] = numpy_gelu(scipy_erf)
    except ImportError:
        pass
    cases = {}
    for approx in ("none", "tanh"):
        cases[f"fwd/{approx}"] = {"fg": fg_fwd(approx)}
        cases[f"both/{approx}"] = {"fg": fg_both(approx)}
        for name, (fwd, bwd) in peers.items():
            cases[f"fwd/{approx}"][name] = lambda f=fwd, a=approx: f(x, a)
            cases[f"both/{approx}"][name] = lambda f=fwd, b=bwd, a=approx: (f(x, a), b(x, g, a))

    best = {k: {p: float("inf") for p in c} for k, c in cases.items()}
    torch_best = {k: float("inf") for k in cases}
    info = None
    for _ in range(args.rounds):
        r = torch_times(args.torch_python, args.threads, args.cpu_time)
        if r is not None:
            info = r
            for k, t in r["times"].items():
                torch_best[k] = min(torch_best[k], t)
        for k, c in cases.items():
            for p, t in compare(c, repeats=1).items():
                best[k][p] = min(best[k][p], t)
    vec = {}
    if args.vectorize:
        scalar = np.vectorize(math.erf, otypes=[np.float64])
        fwd, bwd = numpy_gelu(lambda a: scalar(a).astype(a.dtype, copy=False))
        clock = time.process_time if args.cpu_time else time.perf_counter
        for approx in ("none",):
            t = clock()
            fwd(x, approx)
            vec[f"fwd/{approx}"] = clock() - t
            t = clock()
            fwd(x, approx), bwd(x, g, approx)
            vec[f"both/{approx}"] = clock() - t

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; {args.threads} threads; "
          + (f"torch {info['version']} ({info['threads']} threads)" if info else "torch not run")
          + ("; CPU time (all threads) per call" if args.cpu_time else "; wall time per call"))
    names = {"fwd/none": "forward, exact (erf)", "both/none": "forward + backward, exact (erf)",
             "fwd/tanh": "forward, tanh", "both/tanh": "forward + backward, tanh"}
    cols = ["numpy+scipy"] if peers else []
    head = "| float32 (32, 128, 1536) | ferrograd ms | " + "".join(f"{c} ms | {c}/fg | " for c in cols)
    head += "torch ms | torch/fg |" + (" numpy+math.erf ms |" if vec else "")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for k in cases:
        f = best[k]["fg"]
        row = f"| {names[k]} | {f * 1e3:.1f} | "
        for c in cols:
            row += f"{best[k][c] * 1e3:.1f} | {best[k][c] / f:.1f} | "
        t = torch_best[k]
        row += f"{t * 1e3:.1f} | {t / f:.2f} |" if np.isfinite(t) else "– | – |"
        if vec:
            row += f" {vec[k] * 1e3:.0f} |" if k in vec else " – |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
