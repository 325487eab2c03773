"""Trains a small model for 20 SGD steps and saves its parameters and buffers to <out>/<mode>.npz.

    mpiexec -n 2 python worker_ddp.py MODE OUT            # data-parallel: each rank its half of every batch
    python worker_ddp.py MODE OUT --single                # one process, the whole (doubled) batch
    python worker_ddp.py MODE OUT --single --per-rank-bn  # one process simulating DDP's per-rank batch norm

MODE: mlp, transformer, bn (BatchNorm under DDP), syncbn (SyncBatchNorm under DDP),
accumulate (mlp with no_sync gradient accumulation over 2 micro-batches), unused (a layer the
forward never uses, find_unused_parameters=True; and the error without it).
"""

import os
import sys

import numpy as np

import ferrograd as fg
from ferrograd import nn

STEPS, BATCH = 20, 16  # BATCH: the whole batch; each of 2 ranks takes half


def build(mode):
    fg.manual_seed(0)
    if mode in ("mlp", "accumulate"):
        return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
    if mode == "transformer":
        return nn.Sequential(nn.Linear(6, 16), nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0,
                                                                           batch_first=True), nn.Linear(16, 3))
    if mode == "unused":  # the middle layer is never used: find_unused_parameters=True
        return nn.ModuleDict({"a": nn.Linear(6, 16), "unused": nn.Linear(16, 16), "b": nn.Linear(16, 3)})
    norm = nn.SyncBatchNorm if mode == "syncbn" else nn.BatchNorm1d
    return nn.Sequential(nn.Linear(6, 16), norm(16), nn.ReLU(), nn.Linear(16, 3))


class _Unused(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner["b"](self.inner["a"](x).tanh())


def batches(mode):
    rng = np.random.default_rng(1)
    shape = (BATCH, 5, 6) if mode == "transformer" else (BATCH, 6)
    for _ in range(STEPS):
        x = rng.standard_normal(shape)
        y = rng.integers(0, 3, shape[:-1])
        yield x, y


def loss_fn(out, y):
    return nn.functional.cross_entropy(out.reshape(-1, 3), fg.tensor(y.reshape(-1)))


def snapshot(model):
    sd = model.state_dict()
    return {k.removeprefix("module."): v.numpy() for k, v in sd.items()}


def run_ddp(mode, out):
    import ferrograd.distributed as dist

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    net = build(mode)
    if mode == "unused":
        net = _Unused(net)
        strict = nn.parallel.DistributedDataParallel(_Unused(build(mode)))
        loss_fn(strict(fg.tensor(np.zeros((2, 6)))), np.zeros(2, int)).backward()
        try:  # without find_unused_parameters the reduction never finishes: the next forward says so
            strict(fg.tensor(np.zeros((2, 6))))
            raise AssertionError("no error for an unused parameter")
        except RuntimeError as e:
            assert "find_unused_parameters=True" in str(e), e
        strict._release()
    model = nn.parallel.DistributedDataParallel(net, bucket_cap_mb=0.001,  # several buckets
                                                find_unused_parameters=mode == "unused")
    opt = fg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in batches(mode):
        part = slice(rank * BATCH // world, (rank + 1) * BATCH // world)
        xs, ys = x[part], y[part]
        opt.zero_grad()
        if mode == "accumulate":  # two micro-batches: the first without synchronising
            h = len(xs) // 2
            with model.no_sync():
                (loss_fn(model(fg.tensor(xs[:h])), ys[:h]) / 2).backward()
            (loss_fn(model(fg.tensor(xs[h:])), ys[h:]) / 2).backward()
        else:
            loss_fn(model(fg.tensor(xs)), ys).backward()
        opt.step()
    if mode == "unused":
        assert model.module.inner["unused"].weight.grad is None
    if rank == 0:
        np.savez(os.path.join(out, f"{mode}.npz"), **snapshot(model))
    # every rank's parameters must be the same
    flat = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    gathered = [fg.zeros(flat.shape, dtype=fg.float64) for _ in range(world)]
    dist.all_gather(gathered, fg.tensor(flat))
    assert all(np.array_equal(g.numpy(), flat) for g in gathered), f"rank {rank}: ranks' parameters differ"
    dist.destroy_process_group()


def run_single(mode, out, per_rank_bn):
    model = _Unused(build(mode)) if mode == "unused" else build(mode)
    opt = fg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in batches(mode):
        opt.zero_grad()
        if per_rank_bn:  # DDP with plain BatchNorm: each half normalised with its own statistics,
            # gradients averaged, running statistics those of rank 0 (broadcast at each forward)
            saved = {k: v.numpy().copy() for k, v in model.state_dict().items() if "running" in k or "tracked" in k}
            h = BATCH // 2
            loss1 = loss_fn(model(fg.tensor(x[h:])), y[h:])
            with fg.no_grad():
                for k, v in model.state_dict().items():
                    if k in saved:
                        v.copy_(fg.tensor(saved[k]))
            loss0 = loss_fn(model(fg.tensor(x[:h])), y[:h])
            ((loss0 + loss1) / 2).backward()
        else:
            loss_fn(model(fg.tensor(x)), y).backward()
        opt.step()
    np.savez(os.path.join(out, f"{mode}{'_per_rank' if per_rank_bn else ''}_single.npz"), **snapshot(model))


if __name__ == "__main__":
    fg.set_default_dtype(fg.float64)
    mode, out = sys.argv[1], sys.argv[2]
    if "--single" in sys.argv:
        run_single(mode, out, "--per-rank-bn" in sys.argv)
    else:
        run_ddp(mode, out)
