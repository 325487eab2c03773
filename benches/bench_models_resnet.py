"""resnet18 training step (forward + cross-entropy + backward, train mode) and eval forward,
batch 32 × 3×32×32, 10 classes, torchvision's stem and the small-image stem: ferrograd against
PyTorch CPU (torchvision's resnet18; the small stem by the usual conv1/maxpool surgery).

Run: PYTHONPATH=python python benches/bench_models_resnet.py --repeats 3
     (markdown table; ratio = torch time / ferrograd time, > 1 means ferrograd is faster)
When this interpreter has no torch, the torch half runs in another one, in its own process:
     python benches/bench_models_resnet.py --torch-python /path/to/venv-with-torch/bin/python
(then the two are not interleaved: run it twice on a quiet machine.)
--threads N sets both libraries' threads (RAYON_NUM_THREADS, torch.set_num_threads): on a busy
machine --threads 1 gives steadier ratios (PyTorch's OpenMP threads suffer most from contention).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _timing import compare  # noqa: E402

BATCH, SIZE, CLASSES = 32, 32, 10
STEMS = ("default", "small")


def data(lib):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 3, SIZE, SIZE), dtype=np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    return lib.tensor(x), lib.tensor(y)


def steps(lib, model, x, y):
    """(train step, eval forward) closures; the same code runs on torch and ferrograd."""
    F = lib.nn.functional

    def train_step():
        model.train()
        for p in model.parameters():
            p.grad = None
        F.cross_entropy(model(x), y).backward()

    def eval_forward():
        model.eval()
        with lib.no_grad():
            model(x)

    return train_step, eval_forward


def fg_peers():
    import ferrograd as fg
    import ferrograd.models.resnet  # noqa: F401  (registers the family)

    x, y = data(fg)
    peers = {}
    for stem in STEMS:
        model = fg.models.create_model("resnet18", num_classes=CLASSES, stem=stem)
        peers[f"fg_{stem}_train"], peers[f"fg_{stem}_eval"] = steps(fg, model, x, y)
    return peers


def torch_peers(threads=None):
    import torch
    import torchvision

    if threads:
        torch.set_num_threads(threads)
    x, y = data(torch)
    peers = {}
    for stem in STEMS:
        model = torchvision.models.resnet18(num_classes=CLASSES)
        if stem == "small":
            model.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            model.maxpool = torch.nn.Identity()
        peers[f"torch_{stem}_train"], peers[f"torch_{stem}_eval"] = steps(torch, model, x, y)
    return peers


def torch_info():
    import torch
    mkldnn = torch.backends.mkldnn.is_available()
    return f"torch {torch.__version__} ({torch.get_num_threads()} threads, mkldnn {mkldnn})"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--torch-python", default=os.environ.get("FERROGRAD_TORCH_PYTHON"),
                    help="an interpreter with torch + torchvision, when this one has none")
    ap.add_argument("--threads", type=int, default=None, help="threads for both (default: each library's own)")
    ap.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)  # the subprocess half
    args = ap.parse_args()
    kw = dict(repeats=args.repeats, min_time=args.min_time)
    if args.threads:  # before ferrograd loads its extension (rayon reads it when its pool starts)
        os.environ["RAYON_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(args.threads)

    if args.torch_only:
        print(json.dumps({"times": compare(torch_peers(args.threads), **kw), "info": torch_info()}))
        return
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
        in_process = True
    except ImportError:
        in_process = False
    if in_process:
        best, info = compare({**fg_peers(), **torch_peers(args.threads)}, **kw), torch_info()
    else:
        best = compare(fg_peers(), **kw)
        info = "torch: not installed (pass --torch-python)"
        if args.torch_python:
            cmd = [args.torch_python, __file__, "--torch-only", "--repeats", str(args.repeats),
                   "--min-time", str(args.min_time)] + (["--threads", str(args.threads)] if args.threads else [])
            res = subprocess.run(cmd, capture_output=True, text=True, check=True)
            theirs = json.loads(res.stdout.strip().splitlines()[-1])
            best.update(theirs["times"])
            info = theirs["info"] + ", separate process"
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; {info}")
    threads = os.environ.get("RAYON_NUM_THREADS", "default")
    print(f"resnet18, batch {BATCH} × 3×{SIZE}×{SIZE}, {CLASSES} classes; ferrograd threads: {threads}")
    print("| stem | fg train step ms | torch train step ms | ratio | fg eval fwd ms | torch eval fwd ms | ratio |")
    print("|---|---|---|---|---|---|---|")
    for stem in STEMS:
        row = [best.get(f"{lib}_{stem}_{kind}", float("nan")) * 1e3
               for kind in ("train", "eval") for lib in ("fg", "torch")]
        ft, tt, fe, te = row
        print(f"| {stem} | {ft:.1f} | {tt:.1f} | {tt / ft:.2f} | {fe:.1f} | {te:.1f} | {te / fe:.2f} |", flush=True)


if __name__ == "__main__":
    main()
