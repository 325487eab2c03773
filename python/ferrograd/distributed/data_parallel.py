"""What `fit`, `evaluate` and the recipes need to run data-parallel under mpiexec, kept out of
the training loop: start the group when launched by mpiexec, shard loaders, sum over ranks.

Under `mpiexec -n N`, fit wraps the model in DistributedDataParallel and gives each rank a
DistributedSampler shard of every epoch with ceil(batch_size / N) samples per rank, so the
global batch, the steps per epoch and so the recipe's hyperparameters stay those of one
process. Evaluation splits the data set over the ranks (no padding) and sums the totals."""

from __future__ import annotations

import os

import numpy as np

from . import _group

_LAUNCHER_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")  # MPICH/hydra, Open MPI, MVAPICH


def launched_by_mpiexec() -> bool:
    """Whether this process is one of several ranks started by mpiexec."""
    return any(int(os.environ.get(v, "1") or 1) > 1 for v in _LAUNCHER_SIZE_VARS)


def init_if_launched():
    """init_process_group("mpi") when started by `mpiexec -n N` (N > 1) and not yet initialised."""
    if launched_by_mpiexec() and not _group.is_initialized():
        _group.init_process_group("mpi")


barrier = _group.barrier


def active() -> bool:
    """A process group with more than one rank is running."""
    return _group.is_initialized() and _group.get_world_size() > 1


def is_main_process() -> bool:
    """Rank 0, or the only process: the one that prints, plots and writes checkpoints."""
    return not _group.is_initialized() or _group.get_rank() == 0


def sum_over_ranks(values):
    """The element-wise sum of a list of floats over all ranks."""
    from ..tensor import Tensor

    t = Tensor._wrap(np.asarray(values, dtype=np.float64).copy())
    _group.all_reduce(t)
    return t._data.tolist()


def _shardable(loader):
    from ..data import DataLoader, DistributedSampler

    return (isinstance(loader, DataLoader) and loader.batch_sampler is None
            and not isinstance(loader.sampler, DistributedSampler))


def shard_train_loader(loader):
    """A DataLoader over this rank's DistributedSampler shard of `loader`'s data set (the same
    shuffle on every rank), with ceil(batch_size / world) samples per batch. Loaders that are
    already sharded, or are not DataLoaders, are returned as they are."""
    from ..data import DataLoader, DistributedSampler, RandomSampler

    if not _shardable(loader):
        return loader
    world = _group.get_world_size()
    shuffle = loader.shuffle or isinstance(loader.sampler, RandomSampler)
    seed = [float(np.random.default_rng().integers(2**31))] if _group.get_rank() == 0 else [0.0]
    from ..tensor import Tensor

    t = Tensor._wrap(np.asarray(seed))
    _group.broadcast(t, 0)  # one shuffle seed for every rank
    sampler = DistributedSampler(loader.dataset, shuffle=shuffle, seed=int(t._data[0]), drop_last=False)
    return DataLoader(loader.dataset, batch_size=-(-loader.batch_size // world), sampler=sampler,
                      collate_fn=loader.collate_fn, drop_last=loader.drop_last)


def shard_eval_loader(loader):
    """A DataLoader over samples rank, rank + world, ... of `loader`'s data set (every sample
    exactly once over all ranks); None when `loader` can't be split (then every rank evaluates
    all of it)."""
    from ..data import DataLoader, Subset

    if not _shardable(loader):
        return None
    rank, world = _group.get_rank(), _group.get_world_size()
    part = Subset(loader.dataset, list(range(rank, len(loader.dataset), world)))
    return DataLoader(part, batch_size=loader.batch_size, collate_fn=loader.collate_fn)
