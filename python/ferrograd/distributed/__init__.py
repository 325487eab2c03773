"""ferrograd.distributed: torch.distributed's process-group API on MPI (mpi4py + MPICH).

    mpiexec -n 2 python train.py          # mpiexec comes with `pip install ferrograd[distributed]`

    import ferrograd.distributed as dist
    dist.init_process_group("mpi")
    dist.all_reduce(t)                    # in place, ReduceOp.SUM
    dist.get_rank(), dist.get_world_size()

CPU tensors hand their numpy buffers to MPI without copies (a non-contiguous tensor goes
through a contiguous copy). wgpu tensors are read back to the host, reduced there and written
back into their GPU buffer: MPI has no WebGPU transport.

Collectives are synchronous (async_op=False); async_op=True returns a Work whose .wait() is a
no-op, since the collective has already completed. Every collective waits at most the group's
`timeout` (init_process_group(timeout=...), 30 minutes by default as torch) and then raises.
"""

from ._group import (
    ReduceOp,
    Work,
    all_gather,
    all_reduce,
    barrier,
    broadcast,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
)
from ._faults import install_excepthook

__all__ = ["ReduceOp", "Work", "all_gather", "all_reduce", "barrier", "broadcast", "destroy_process_group",
           "get_backend", "get_rank", "get_world_size", "init_process_group", "install_excepthook", "is_available",
           "is_initialized", "is_mpi_available"]
