"""Per-op overhead of small tensors: a 16x16 float32 add (no graph), a multiply that records a
graph, and a tiny forward+backward, for this ferrograd, an older one (--baseline, a checkout's
python/ folder) and PyTorch when installed — each in its own process, in the same run.

Run: python benches/compare_op_overhead.py --baseline /path/to/old/checkout/python
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys

CASES = """
import timeit, json, numpy as np
a_np = np.random.rand(16, 16).astype(np.float32); b_np = np.random.rand(16, 16).astype(np.float32)
a = T.tensor(a_np); b = T.tensor(b_np); w = T.tensor(b_np, requires_grad=True)
cases = {
    "16x16 add": lambda: a + b,
    "16x16 mul recording a graph": lambda: a * w,
    "(a * w).sum().backward()": lambda: (a * w).sum().backward(),
}
out = {}
for name, fn in cases.items():
    n = 5000
    out[name] = min(timeit.repeat(fn, number=n, repeat=7)) / n * 1e6
print(json.dumps(out))
"""


def run(python, path, module):
    code = f"import sys; sys.path.insert(0, {path!r}) if {path!r} else None\nimport {module} as T\n" + CASES
    res = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--baseline", help="python/ folder of an older ferrograd checkout")
    ap.add_argument("--torch-python", default=sys.executable, help="an interpreter that has torch")
    args = ap.parse_args()
    here = str(pathlib.Path(__file__).resolve().parents[1] / "python")
    cols = {"ferrograd (this tree)": run(sys.executable, here, "ferrograd")}
    if args.baseline:
        cols["ferrograd (baseline)"] = run(sys.executable, args.baseline, "ferrograd")
    try:
        cols["PyTorch"] = run(args.torch_python, "", "torch")
    except subprocess.CalledProcessError:
        pass
    names = list(next(iter(cols.values())))
    print("| case (µs per call) | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for n in names:
        print(f"| {n} | " + " | ".join(f"{c[n]:.2f}" for c in cols.values()) + " |")


if __name__ == "__main__":
    main()
