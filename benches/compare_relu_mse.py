"""Issue 18: relu forward / forward+backward at 16×16, 256×256 and 1024², and mse_loss 8192×768
forward+backward, float32, one thread: this ferrograd, an older one (--baseline, a checkout's
python/ folder with its built _native) and PyTorch — each in its own process, several rounds,
the minimum kept.

Run: python benches/compare_relu_mse.py --torch-python /work/torchenv/bin/python [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys

CASES = """
import json, timeit, numpy as np
try:
    T.set_num_threads(1)
except AttributeError:
    pass
F = T.nn.functional
rng = np.random.default_rng(0)
cases = {}
for n in (16, 256, 1024):
    x = rng.standard_normal((n, n), dtype=np.float32)
    a = T.tensor(x)
    w = T.tensor(x, requires_grad=True)
    g = T.tensor(rng.standard_normal((n, n), dtype=np.float32))
    cases[f"relu fwd {n}x{n}"] = (lambda a=a: T.relu(a))
    def fb(w=w, g=g):
        w.grad = None
        T.relu(w).backward(g)
    cases[f"relu fwd+bwd {n}x{n}"] = fb
x = T.tensor(rng.standard_normal((8192, 768), dtype=np.float32), requires_grad=True)
y = T.tensor(rng.standard_normal((8192, 768), dtype=np.float32))
def mse():
    x.grad = None
    F.mse_loss(x, y).backward()
cases["mse_loss fwd+bwd 8192x768"] = mse
out = {}
for name, fn in cases.items():
    fn()
    t = min(timeit.repeat(fn, number=1, repeat=3))
    n = max(1, int(0.05 / max(t, 1e-7)))
    out[name] = min(timeit.repeat(fn, number=n, repeat=7)) / n * 1e6
print(json.dumps(out))
"""


def run(python, path, module):
    code = f"import sys; sys.path.insert(0, {path!r}) if {path!r} else None\nimport {module} as T\n" + CASES
    env = dict(os.environ, RAYON_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    res = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, env=env)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--baseline", help="python/ folder of an older ferrograd checkout")
    ap.add_argument("--torch-python", default=sys.executable, help="an interpreter that has torch")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    here = str(pathlib.Path(__file__).resolve().parents[1] / "python")
    peers = {"ferrograd (this tree)": (sys.executable, here, "ferrograd")}
    if args.baseline:
        peers["ferrograd (baseline)"] = (sys.executable, args.baseline, "ferrograd")
    peers["PyTorch"] = (args.torch_python, "", "torch")
    cols = {}
    for _ in range(args.rounds):  # round-robin: a slow phase of the machine hits every peer
        for name, peer in peers.items():
            try:
                got = run(*peer)
            except subprocess.CalledProcessError as e:
                print(f"{name}: failed\n{e.stderr[-2000:]}", file=sys.stderr)
                continue
            best = cols.setdefault(name, got)
            for k, v in got.items():
                best[k] = min(best[k], v)
    names = list(next(iter(cols.values())))
    keys = list(cols)
    print("| case (µs per call, 1 thread) | " + " | ".join(keys) + (" | PyTorch / this tree |" if "PyTorch" in cols else " |"))
    print("|---|" + "---|" * (len(keys) + ("PyTorch" in cols)))
    for n in names:
        row = f"| {n} | " + " | ".join(f"{cols[k][n]:.2f}" for k in keys)
        if "PyTorch" in cols:
            row += f" | {cols['PyTorch'][n] / cols[keys[0]][n]:.2f}"
        print(row + " |")


if __name__ == "__main__":
    main()
