"""Where a small training step's time goes: eager ferrograd, the same step under fg.compile, and
what the difference says per op (Python dispatch: argument checks, Tensor objects, the graph).

    python benches/step_breakdown.py [--threads 1] [--cases mlp_adam digits_mlp ...] [--repeats 5]

For each case of benches/test_bench_train_step.py: the number of kernel calls the captured program
replays (forward ops, backward nodes, gradient sums and accumulations, whole calls such as the
optimizer step), the eager and compiled step times (min over repeats of the mean of many calls), and
(eager - compiled) / steps: the dispatch cost per op that capture removes. Run it on a quiet machine;
PyTorch's figures come from the pytest-benchmark suite (each library in its own process).
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def timed(fn, calls, repeats):
    for _ in range(max(3, calls // 10)):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t) / calls)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=None, help="RAYON_NUM_THREADS for ferrograd (default: its own)")
    ap.add_argument("--cases", nargs="*", default=None)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    if args.threads is not None:
        os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from test_bench_train_step import CASES, build

    import ferrograd as fg

    print(f"threads: {args.threads or 'default'}")
    print("| case | replayed steps | eager | compiled | eager / compiled | dispatch per op |")
    print("|---|---:|---:|---:|---:|---:|")
    for case in args.cases or CASES:
        eager = build("ferrograd", case)
        compiled = fg.compile(build("ferrograd", case))
        probe = time.perf_counter()
        eager()
        calls = max(5, min(2000, int(0.5 / max(time.perf_counter() - probe, 1e-6))))
        te = timed(eager, calls, args.repeats)
        tc = timed(compiled, calls, args.repeats)
        steps = sum(p.steps for e in compiled._entries.values() for p in e.programs)
        per_op = (te - tc) / steps * 1e6 if steps else float("nan")
        print(f"| {case} | {steps} | {te * 1e3:.3f} ms | {tc * 1e3:.3f} ms | {te / tc:.2f} | {per_op:.2f} µs |",
              flush=True)


if __name__ == "__main__":
    main()
