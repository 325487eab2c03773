"""Run with mpiexec -n 2. `raise`: rank 1 raises while rank 0 waits in an all_reduce that will
never complete. `timeout`: rank 1 never calls the all_reduce and stays alive (MPI cannot tell),
rank 0's all_reduce gives up after init_process_group's 2-second timeout. Either way the whole
job must end quickly with the failing rank's error."""

import sys
import time

import ferrograd as fg
import ferrograd.distributed as dist

dist.init_process_group("mpi", timeout=2)
rank = dist.get_rank()
dist.barrier()
if sys.argv[1] == "raise":
    if rank == 1:
        raise ValueError("rank one failed on purpose")
    dist.all_reduce(fg.ones(3))
else:
    if rank == 1:
        time.sleep(120)
    else:
        dist.all_reduce(fg.ones(3))
