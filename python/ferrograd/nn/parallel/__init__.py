"""ferrograd.nn.parallel: DistributedDataParallel over ferrograd.distributed (MPI)."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
