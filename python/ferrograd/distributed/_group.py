"""The default process group (MPI_COMM_WORLD) and torch.distributed's collectives on it."""

from __future__ import annotations

import datetime
import enum
import importlib.util
import numbers

import numpy as np

from . import _mpi

_DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)  # torch's default for non-NCCL backends
_STATE = {"comm": None, "timeout": None}


class ReduceOp(enum.Enum):
    """torch.distributed.ReduceOp. AVG is a SUM divided by the world size (MPI has no AVG)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


class Work:
    """What a collective returns with async_op=True. Collectives here complete before they
    return, so wait() returns at once (True) and is_completed() is True."""

    def wait(self, timeout=None):
        return True

    def is_completed(self):
        return True


def is_available() -> bool:
    """Whether ferrograd.distributed can run: mpi4py is installed (MPI is not started by this check)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_mpi_available() -> bool:
    return is_available()


def is_initialized() -> bool:
    return _STATE["comm"] is not None


def _comm(op):
    from ..autograd import _RECORDING

    if _RECORDING[0] is not None and not _RECORDING[0].depth:
        _RECORDING[0].unsupported(f"ferrograd.distributed.{op} (collectives run outside a compiled step)")
    comm = _STATE["comm"]
    if comm is None:
        raise ValueError(f"ferrograd.distributed.{op}: Default process group has not been initialized, "
                         "please make sure to call init_process_group.")
    return comm


def _check_group(group, op):
    if group is not None:
        raise NotImplementedError(f"ferrograd.distributed.{op}: only the default group (group=None) is supported, "
                                  f"got group={group!r}")


def _seconds(timeout):
    if timeout is None:
        timeout = _DEFAULT_TIMEOUT
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    if isinstance(timeout, numbers.Real) and not isinstance(timeout, bool) and timeout > 0:
        return float(timeout)
    raise TypeError(f"init_process_group: timeout must be a datetime.timedelta or a positive number of seconds, "
                    f"got {timeout!r}")


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Join the job started by `mpiexec`: rank and world size come from MPI.

    backend must be "mpi" (or None); world_size/rank, when given, must match MPI's. When the
    world has more than one rank, an exception escaping any rank prints that rank's traceback
    and aborts the whole job (see install_excepthook), so the others do not wait forever."""
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(f"init_process_group: ferrograd.distributed runs on MPI only: backend must be 'mpi' or None, "
                         f"got {backend!r}")
    if init_method not in (None, "env://") or store is not None:
        raise ValueError("init_process_group: init_method and store are not used with MPI (mpiexec starts the "
                         f"ranks), got init_method={init_method!r}, store={store!r}")
    if _STATE["comm"] is not None:
        raise RuntimeError("init_process_group: trying to initialize the default process group twice!")
    seconds = _seconds(timeout)
    MPI = _mpi.mpi()
    world = MPI.COMM_WORLD
    for name, given, actual in (("world_size", world_size, world.Get_size()), ("rank", rank, world.Get_rank())):
        if given not in (-1, None) and given != actual:
            raise ValueError(f"init_process_group: {name}={given} does not match MPI's {name} {actual} "
                             "(launch with mpiexec -n <world_size>)")
    _STATE["comm"], _STATE["timeout"] = world.Dup(), seconds
    if world.Get_size() > 1:
        from ._faults import install_excepthook

        install_excepthook()


def destroy_process_group(group=None):
    _check_group(group, "destroy_process_group")
    comm = _comm("destroy_process_group")
    _STATE["comm"] = None
    comm.Free()


def get_rank(group=None) -> int:
    _check_group(group, "get_rank")
    return _comm("get_rank").Get_rank()


def get_world_size(group=None) -> int:
    _check_group(group, "get_world_size")
    return _comm("get_world_size").Get_size()


def get_backend(group=None) -> str:
    _check_group(group, "get_backend")
    _comm("get_backend")
    return "mpi"


def _done(async_op):
    return Work() if async_op else None


def _host(tensor, op, name="tensor"):
    """A C-contiguous writable host array holding `tensor`'s values, and a function that writes
    it back into the tensor (None when the array is the tensor's own buffer)."""
    from ..tensor import Tensor

    if not isinstance(tensor, Tensor):
        raise TypeError(f"ferrograd.distributed.{op}: {name} must be a Tensor, got {type(tensor).__name__}")
    data = tensor._data
    if isinstance(data, np.ndarray):
        if data.flags.c_contiguous and data.flags.writeable:
            return data, None
        buf = np.ascontiguousarray(data)
        return buf, lambda: np.copyto(data, buf)
    buf = np.require(data.numpy(), requirements=["C", "W", "O"])  # wgpu: read back, reduce, write back

    def write():
        data[...] = buf

    return buf, write


def _collective(req, op):
    _mpi.wait(req, _STATE["timeout"], op)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce `tensor` over all ranks, in place: every rank ends with the result."""
    _check_group(group, "all_reduce")
    comm = _comm("all_reduce")
    if not isinstance(op, ReduceOp):
        raise TypeError(f"ferrograd.distributed.all_reduce: op must be a ReduceOp, got {op!r}")
    arr, write = _host(tensor, "all_reduce")
    if op is ReduceOp.AVG and arr.dtype.kind != "f":
        raise TypeError(f"ferrograd.distributed.all_reduce: ReduceOp.AVG needs a floating tensor, got dtype {arr.dtype}")
    MPI = _mpi.mpi()
    mpi_op = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
              ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}[op]
    _collective(comm.Iallreduce(MPI.IN_PLACE, arr, mpi_op), "all_reduce")
    if op is ReduceOp.AVG:
        arr /= comm.Get_size()
    if write is not None:
        write()
    tensor._version[0] += 1
    return _done(async_op)


def broadcast(tensor, src, group=None, async_op=False, group_src=None):
    """Copy rank `src`'s `tensor` into `tensor` on every other rank."""
    _check_group(group, "broadcast")
    comm = _comm("broadcast")
    src = src if group_src is None else group_src
    if isinstance(src, bool) or not isinstance(src, numbers.Integral) or not 0 <= src < comm.Get_size():
        raise ValueError(f"ferrograd.distributed.broadcast: src must be a rank in [0, {comm.Get_size()}), got {src!r}")
    arr, write = _host(tensor, "broadcast")
    _collective(comm.Ibcast(arr, root=int(src)), "broadcast")
    if write is not None and comm.Get_rank() != src:
        write()
        tensor._version[0] += 1
    elif comm.Get_rank() != src:
        tensor._version[0] += 1
    return _done(async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[r] = rank r's `tensor`, on every rank."""
    _check_group(group, "all_gather")
    comm = _comm("all_gather")
    n = comm.Get_size()
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != n:
        got = len(tensor_list) if isinstance(tensor_list, (list, tuple)) else type(tensor_list).__name__
        raise ValueError(f"ferrograd.distributed.all_gather: tensor_list must be a list of world_size ({n}) tensors, "
                         f"got {got}")
    send, _ = _host(tensor, "all_gather")
    for i, t in enumerate(tensor_list):
        _host(t, "all_gather", f"tensor_list[{i}]")  # type check
        if tuple(t.shape) != send.shape or t.dtype != tensor.dtype:
            raise ValueError(f"ferrograd.distributed.all_gather: tensor_list[{i}] has shape {tuple(t.shape)} and dtype "
                             f"{t.dtype}; expected {send.shape} and {tensor.dtype}, those of tensor")
    recv = np.empty((n,) + send.shape, send.dtype)
    _collective(comm.Iallgather(send, recv), "all_gather")
    for t, part in zip(tensor_list, recv):
        if isinstance(t._data, np.ndarray):
            np.copyto(t._data, part)
        else:
            t._data[...] = part
        t._version[0] += 1
    return _done(async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Return once every rank has entered the barrier."""
    _check_group(group, "barrier")
    _collective(_comm("barrier").Ibarrier(), "barrier")
    return _done(async_op)
