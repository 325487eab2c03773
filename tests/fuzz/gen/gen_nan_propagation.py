"""Print which module_specs.SPECS layers torch gives some NaN out for, when one element of the
first float input is NaN (module_specs.NAN_PROPAGATES is this set).

Run with the reference PyTorch venv:  /work/torchenv/bin/python tests/fuzz/gen/gen_nan_propagation.py
"""

import pathlib
import sys

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from module_specs import NO_FORWARD, SPECS, values  # noqa: E402


def first_float(out):
    if isinstance(out, torch.Tensor):
        return out if out.is_floating_point() else None
    for o in out:
        t = first_float(o) if isinstance(o, (tuple, list, torch.Tensor)) else None
        if t is not None:
            return t
    return None


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    propagates, missing = [], []
    for name, spec in sorted(SPECS.items()):
        if name in NO_FORWARD or not hasattr(torch.nn, name):
            missing.append(name)
            continue
        m = spec.make(torch.nn).double()
        xs = [values(rng, s, 3) for s in spec.inputs]
        first = next((j for j, s in enumerate(spec.inputs) if s.kind in ("f", "prob", "pos")), None)
        if first is None:
            continue
        xs[first].reshape(-1)[0] = np.nan
        try:
            out = first_float(m(*[torch.tensor(x) for x in xs]))
        except Exception as e:  # noqa: BLE001
            print(f"{name}: torch refuses NaN: {e}")
            continue
        if out is not None and out.numel() and torch.isnan(out).any():
            propagates.append(name)
    print("NAN_PROPAGATES =", propagates)
    print("not in torch.nn or no forward:", missing)


if __name__ == "__main__":
    main()
