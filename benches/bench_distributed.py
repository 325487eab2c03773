"""Data-parallel training throughput on MPI, and the all-reduce cost behind it.

    python benches/bench_distributed.py [--per-rank-batch 64] [--steps 30]
        runs itself under `mpiexec -n 1` and `mpiexec -n 2` (one thread per rank) and prints the table
    mpiexec -n N python benches/bench_distributed.py --worker   # one world size, JSON on stdout

Per model (an MLP and a small Transformer encoder), with the per-rank batch fixed (torch's
convention: batch_size is per process, the global batch grows with N):
  t_step     one DDP training step (forward, backward with the bucketed all-reduce, SGD step)
  t_compute  the same step inside no_sync() (no communication)
  samples/s  N × per-rank batch / t_step
MPI_Allreduce of float32 buffers from 8 B to 32 MiB gives the latency α (smallest message) and
the bandwidth β (least-squares slope over the large messages); with N = 2 a ring all-reduce
costs 2(N-1)α + 2(N-1)/N · bytes/β = 2α + bytes/β. The estimate for N ranks, no overlap:
  t_step(N) = t_compute + 2(N-1)α + 2(N-1)/N · grad_bytes/β,  samples/s = N · batch / t_step(N)
(one rank per core, the measured shared-memory α and β; across machines use the network's).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np


def _best(fn, steps, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _models(fg):
    nn = fg.nn
    fg.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    tfm = nn.Sequential(nn.Linear(32, 128), nn.TransformerEncoderLayer(128, 4, dim_feedforward=256, dropout=0.0,
                                                                        batch_first=True),
                        nn.TransformerEncoderLayer(128, 4, dim_feedforward=256, dropout=0.0, batch_first=True),
                        nn.Linear(128, 10))
    return {"mlp 784-512-512-10": (mlp, (784,)), "transformer 2x(d128, 4 heads), seq 32": (tfm, (32, 32))}


def worker(args):
    import ferrograd as fg
    import ferrograd.distributed as dist
    from ferrograd.distributed import _mpi

    dist.init_process_group("mpi")
    MPI = _mpi.mpi()
    comm = MPI.COMM_WORLD
    rank, world = dist.get_rank(), dist.get_world_size()
    out = {"world": world, "models": {}, "allreduce": []}
    rng = np.random.default_rng(rank)
    for name, (model, shape) in _models(fg).items():
        ddp = fg.nn.parallel.DistributedDataParallel(model)
        opt = fg.optim.SGD(model.parameters(), lr=1e-3)
        x = fg.tensor(rng.standard_normal((args.per_rank_batch, *shape)).astype(np.float32))
        y = fg.tensor(rng.integers(0, 10, args.per_rank_batch))

        def step():
            opt.zero_grad()
            out_ = ddp(x)
            if out_.ndim == 3:
                out_ = out_.mean(1)
            fg.nn.functional.cross_entropy(out_, y).backward()
            opt.step()

        def step_nosync():
            with ddp.no_sync():
                step()
            comm.Barrier()  # keep the ranks in step, as the synchronised step does

        t_step = _best(step, args.steps)
        t_compute = _best(step_nosync, args.steps)
        grad_bytes = sum(int(np.prod(p.shape)) * 4 for p in model.parameters())
        out["models"][name] = {"t_step": t_step, "t_compute": t_compute, "grad_bytes": grad_bytes,
                               "samples_per_s": world * args.per_rank_batch / t_step}
        ddp._release()
    for nbytes in [8 * 4**k for k in range(12)]:  # 8 B .. 32 MiB
        buf = np.ones(nbytes // 4, np.float32)
        reps = 200 if nbytes < 1 << 16 else 20

        def reduce():
            comm.Allreduce(MPI.IN_PLACE, buf, MPI.SUM)

        comm.Barrier()
        out["allreduce"].append((nbytes, _best(reduce, reps)))
    if rank == 0:
        print("JSON " + json.dumps(out), flush=True)
    dist.destroy_process_group()


def _fit(allreduce):
    sizes = np.array([b for b, _ in allreduce], float)
    times = np.array([t for _, t in allreduce])
    alpha = times[0] / 2  # smallest message: 2(N-1) = 2 latency terms for N = 2
    big = sizes >= 1 << 20
    slope = np.polyfit(sizes[big], times[big], 1)[0]  # seconds per byte = 2(N-1)/N / β = 1/β for N = 2
    return alpha, 1.0 / slope


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--worker", action="store_true", help="run as one rank (under mpiexec)")
    p.add_argument("--per-rank-batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    mpiexec = next((q for q in (os.path.join(sys.prefix, "bin", "mpiexec"), shutil.which("mpiexec"))
                    if q and os.path.exists(q)), None)
    if mpiexec is None:
        sys.exit("bench_distributed: mpiexec not found: pip install mpi4py mpich")
    env = dict(os.environ, OMP_NUM_THREADS="1", RAYON_NUM_THREADS="1", FERROGRAD_NO_PROGRESS="1")
    runs = {}
    for n in (1, 2):
        r = subprocess.run([mpiexec, "-n", str(n), sys.executable, __file__, "--worker", "--per-rank-batch",
                            str(args.per_rank_batch), "--steps", str(args.steps)], env=env, capture_output=True,
                           text=True, check=False)
        line = next((ln for ln in r.stdout.splitlines() if ln.startswith("JSON ")), None)
        if line is None:
            sys.exit(f"bench_distributed: the {n}-rank run failed:\n{r.stdout}\n{r.stderr}")
        runs[n] = json.loads(line[5:])
    alpha, beta = _fit(runs[2]["allreduce"])
    b = args.per_rank_batch
    print(f"Per-rank batch {b}, float32, 1 thread per rank, median of {args.steps} steps.\n")
    print("| model | ranks | t_compute ms | t_step ms | samples/s | speed-up |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in runs[1]["models"]:
        base = runs[1]["models"][name]["samples_per_s"]
        for n in (1, 2):
            m = runs[n]["models"][name]
            print(f"| {name} | {n} | {m['t_compute'] * 1e3:.2f} | {m['t_step'] * 1e3:.2f} | {m['samples_per_s']:.0f} "
                  f"| {m['samples_per_s'] / base:.2f} |")
    print("\nMPI_Allreduce (2 ranks, float32, in place):\n")
    print("| bytes | time µs | algorithm bandwidth GB/s |")
    print("|---:|---:|---:|")
    for nbytes, t in runs[2]["allreduce"]:
        print(f"| {nbytes} | {t * 1e6:.1f} | {nbytes / t / 1e9:.2f} |")
    print(f"\nFit: latency α = {alpha * 1e6:.2f} µs per step of the ring, bandwidth β = {beta / 1e9:.2f} GB/s.\n")
    print("Estimate t_step(N) = t_compute(1 rank) + 2(N-1)α + 2(N-1)/N · grad_bytes/β (no overlap), one core per rank:\n")
    ns = (1, 2, 4, 8, 16, 64)
    print("| model | grad MB | " + " | ".join(f"N={n} samples/s" for n in ns) + " |")
    print("|---|---:|" + "---:|" * len(ns))
    for name, m1 in runs[1]["models"].items():
        gb = m1["grad_bytes"]
        cells = []
        for n in ns:
            t = m1["t_compute"] + (2 * (n - 1) * alpha + 2 * (n - 1) / n * gb / beta if n > 1 else 0.0)
            cells.append(f"{n * b / t:.0f}")
        print(f"| {name} | {gb / 1e6:.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
