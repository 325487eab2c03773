"""`fit` under mpiexec vs one process, and resuming its checkpoint on another world size.

    [mpiexec -n 2] python worker_fit.py train OUT TAG        # 2 epochs, checkpoint OUT/ckpt_TAG.safetensors
    [mpiexec -n 2] python worker_fit.py resume OUT TAG CKPT  # load CKPT, 1 more epoch

Writes OUT/<action>_TAG.npz (rank 0): parameters and the history. shuffle=False, 64 samples,
batch 8: under 2 ranks each takes 4 of every 8 (DistributedSampler interleaves), so the global
batches are the one-process batches."""

import os
import sys

import numpy as np

import ferrograd as fg
from ferrograd import nn
from ferrograd.data import DataLoader, TensorDataset
from ferrograd.nn import functional as F
from ferrograd.training import accuracy, fit


def data():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 6)), rng.integers(0, 3, 64)
    xv, yv = rng.standard_normal((21, 6)), rng.integers(0, 3, 21)  # 21: ranks get 11 and 10 samples
    train = DataLoader(TensorDataset(fg.tensor(x), fg.tensor(y)), batch_size=8, shuffle=False)
    val = DataLoader(TensorDataset(fg.tensor(xv), fg.tensor(yv)), batch_size=16)
    return train, val


def main():
    fg.set_default_dtype(fg.float64)
    action, out, tag = sys.argv[1:4]
    fg.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = fg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    train, val = data()
    if action == "resume":
        fg.load_checkpoint(sys.argv[4], model, opt)
    ckpt = os.path.join(out, f"ckpt_{tag}.safetensors") if action == "train" else None
    hist = fit(model, F.cross_entropy, opt, train, epochs=2 if action == "train" else 1, val_loader=val,
               metrics={"acc": accuracy}, checkpoint_path=ckpt, log=None, progress=False)
    import ferrograd.distributed as dist

    if not dist.is_initialized() or dist.get_rank() == 0:
        sd = {k: v.numpy() for k, v in model.state_dict().items()}
        for i, h in enumerate(hist):
            sd.update({f"hist{i}_{k}": np.float64(v) for k, v in h.items()})
        np.savez(os.path.join(out, f"{action}_{tag}.npz"), **sd)


if __name__ == "__main__":
    main()
