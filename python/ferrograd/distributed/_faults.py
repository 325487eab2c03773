"""A rank that raises ends the whole job: MPI cannot tell the other ranks, which would wait in
their next collective forever, so the uncaught exception's hook prints it with the rank and
calls MPI_Abort (mpiexec then stops every rank and exits non-zero)."""

from __future__ import annotations

import sys
import time
import traceback

_INSTALLED = [None]


def _abort_hook(exc_type, exc, tb):
    from . import _mpi

    MPI = _mpi.mpi()
    rank = MPI.COMM_WORLD.Get_rank()
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write("".join(f"[rank {rank}] {line}\n" for line in text.rstrip("\n").split("\n")))
    sys.stderr.write(f"[rank {rank}] ferrograd.distributed: aborting the job (MPI_Abort) after this rank's error\n")
    sys.stderr.flush()
    sys.stdout.flush()
    # mpiexec forwards each rank's output through its proxy, and MPI_Abort has the launcher kill
    # every process, proxies included: a moment first, or the error above can be lost on the way.
    time.sleep(0.5)
    MPI.COMM_WORLD.Abort(1)


def install_excepthook():
    """Make an uncaught exception on this rank print its traceback (each line prefixed with
    `[rank r]`) and abort every rank of the job. init_process_group installs it when the world
    has more than one rank. KeyboardInterrupt aborts too."""
    if sys.excepthook is not _abort_hook:
        _INSTALLED[0] = sys.excepthook
        sys.excepthook = _abort_hook
