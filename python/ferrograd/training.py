"""`fit`: the small training loop the demo and recipes share — progress bar, per-epoch metrics,
optional validation, scheduling, gradient clipping and checkpoints."""

from __future__ import annotations

import os

import numpy as np
from tqdm import tqdm

from .autograd import no_grad
from .distributed import data_parallel as _dp
from .checkpoint import save_checkpoint
from .nn.utils import clip_grad_norm_
from .ops._util import to_host
from .tensor import Tensor


def accuracy(output: Tensor, target: Tensor) -> float:
    """Share of rows whose arg-max class equals the target index."""
    return float((output.detach().numpy().argmax(-1) == np.asarray(to_host(target._data))).mean())


def _split(batch, device=None):
    if isinstance(batch, dict):
        x, y = batch["input"], batch["target"]
    else:
        x, y = batch
    if device is not None:  # loaders yield cpu tensors; move each batch once
        x, y = x.to(device), y.to(device)
    return x, y


def evaluate(model, loss_fn, loader, metrics=None, device=None) -> dict:
    """Mean loss and metrics over `loader` in eval mode, without building graphs; batches go to
    `device` when given (the model must already be there). Under mpiexec each rank evaluates its
    share of the data set and the totals are summed over the ranks."""
    sharded = _dp.shard_eval_loader(loader) if _dp.active() else None
    loader = sharded or loader
    was_training = model.training
    model.eval()
    totals, count = {}, 0
    with no_grad():
        for batch in loader:
            x, y = _split(batch, device)
            out = model(x)
            n = len(y)
            scores = {"loss": loss_fn(out, y).item(), **{k: f(out, y) for k, f in (metrics or {}).items()}}
            for k, v in scores.items():
                totals[k] = totals.get(k, 0.0) + v * n
            count += n
    model.train(was_training)
    if sharded is not None:
        *sums, count = _dp.sum_over_ranks([*totals.values(), count])
        totals = dict(zip(totals, sums))
    return {k: v / max(count, 1) for k, v in totals.items()}


def _progress_off() -> bool:
    """FERROGRAD_NO_PROGRESS=1 hides every progress bar (tests, logs, the tour's worker runs)."""
    return bool(os.environ.get("FERROGRAD_NO_PROGRESS"))


def fit(model, loss_fn, optimizer, loader, epochs: int = 1, val_loader=None, metrics=None, scheduler=None,
        scheduler_per_batch: bool = False, clip_grad_norm: float | None = None, checkpoint_path=None,
        progress: bool = True, log=print, device=None) -> list[dict]:
    """Train for `epochs` passes over `loader` (batches of (input, target) or dicts with those
    keys); returns one dict of metrics per epoch (train_loss, and val_* when validating).
    `device` ("wgpu"): each batch is moved there; move the model first (`model.to(device)`).

    Under `mpiexec -n N` (ferrograd.distributed initialised, or started here) it trains
    data-parallel: the model is wrapped in DistributedDataParallel, each rank takes its
    DistributedSampler shard with batch_size / N samples per batch (the global batch stays
    `loader`'s), losses and metrics are summed over the ranks, and only rank 0 logs, shows
    progress and writes the checkpoint (the unwrapped model's keys: it resumes on any world size)."""
    _dp.init_if_launched()
    parallel = _dp.active()
    main = _dp.is_main_process()
    net = model
    if parallel:
        from .nn.parallel import DistributedDataParallel

        created = not isinstance(model, DistributedDataParallel)
        net = DistributedDataParallel(model) if created else model
        model = net.module
        loader = _dp.shard_train_loader(loader)
    history = []
    step = 0
    for epoch in range(1, epochs + 1):
        model.train()
        if hasattr(getattr(loader, "sampler", None), "set_epoch"):
            loader.sampler.set_epoch(epoch)
        running, seen = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", leave=False,
                   disable=not progress or _progress_off() or not main)
        for batch in bar:
            x, y = _split(batch, device)
            loss = loss_fn(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            if clip_grad_norm is not None:
                clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            if scheduler is not None and scheduler_per_batch:
                scheduler.step()
            step += 1
            running += loss.item() * len(y)
            seen += len(y)
            bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
        if scheduler is not None and not scheduler_per_batch:
            scheduler.step()
        if parallel:
            running, seen = _dp.sum_over_ranks([running, seen])
        record = {"epoch": epoch, "train_loss": running / max(seen, 1)}
        if val_loader is not None:
            record.update({f"val_{k}": v for k, v in evaluate(model, loss_fn, val_loader, metrics, device).items()})
        history.append(record)
        if checkpoint_path is not None and main:
            save_checkpoint(checkpoint_path, model, optimizer, scheduler, step=step, epoch=epoch)
        if parallel and checkpoint_path is not None:
            _dp.barrier()  # no rank reads the checkpoint before rank 0 has written it
        if log is not None and main:
            log("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()))
    if parallel and created:
        net._release()  # the hooks go; the trained parameters stay in `model`
    return history


def linear_probe(f_train, y_train, f_test, y_test, steps: int = 300, lr: float = 0.05,
                 weight_decay: float = 1e-3) -> float:
    """Test accuracy of a logistic-regression probe (one Linear layer, full-batch Adam) on fixed
    features (numpy arrays), standardised with the training features' mean and std: how much of the
    labels a representation makes linearly readable. A few hundred tiny steps, so it runs on the CPU
    whatever device computed the features."""
    from . import nn, optim
    from .nn import functional as F

    f_train, f_test = np.asarray(f_train, np.float64), np.asarray(f_test, np.float64)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    mu, sd = f_train.mean(0), f_train.std(0) + 1e-6
    a = Tensor(((f_train - mu) / sd).astype(np.float32))
    b = Tensor(((f_test - mu) / sd).astype(np.float32))
    y = Tensor(y_train.astype(np.int64))
    probe = nn.Linear(a.shape[1], int(max(y_train.max(), y_test.max())) + 1)
    opt = optim.Adam(probe.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        loss = F.cross_entropy(probe(a), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with no_grad():
        return float((probe(b).numpy().argmax(1) == y_test).mean())
