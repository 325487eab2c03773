"""mpi4py, imported on first use: `import ferrograd` must not need it (it is an optional extra)."""

from __future__ import annotations

import time

_MPI = None


def available() -> bool:
    try:
        mpi()
    except ImportError:
        return False
    return True


def mpi():
    """The mpi4py.MPI module (initialises MPI on first import)."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise ImportError("ferrograd.distributed needs mpi4py and an MPI library: "
                              "pip install 'ferrograd[distributed]' (mpi4py and the mpich wheel)") from e
        _MPI = MPI
    return _MPI


def wait(req, timeout: float | None, what: str):
    """Wait for a non-blocking MPI request, raising after `timeout` seconds.

    MPI cannot tell that a peer is stuck (or never calls the matching collective), so this polls
    MPI_Test: polling also drives MPICH's progress engine. Spin briefly (small messages complete
    in microseconds), then back off to short sleeps so a waiting rank leaves the core to others."""
    if req.Test():
        return
    start = time.perf_counter()
    spins = 0
    while not req.Test():
        spins += 1
        if spins > 2000:
            time.sleep(5e-5)
            if timeout is not None and time.perf_counter() - start > timeout:
                from ._group import get_rank

                raise RuntimeError(f"ferrograd.distributed.{what}: rank {get_rank()} timed out after {timeout:g} s "
                                   "waiting for the other ranks (a rank never called the matching collective, "
                                   "or is stuck); set init_process_group(timeout=...) to wait longer")
