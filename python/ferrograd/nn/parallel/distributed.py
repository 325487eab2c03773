"""DistributedDataParallel: each rank runs the whole model on its shard of the batch; gradients
are averaged over the ranks during backward, so every rank takes the same optimizer step.

How the gradients travel (torch's reducer, on MPI):
- At wrap time the parameters and buffers are broadcast from rank 0, and the parameters that
  require grad are grouped into buckets of about `bucket_cap_mb` (reverse registration order,
  roughly the order backward produces them; one dtype and device per bucket).
- Each parameter has a post-accumulate-grad hook. When every gradient of a bucket has been
  accumulated, its gradients are copied into the bucket's flat buffer and a non-blocking
  MPI_Iallreduce starts, while backward goes on computing the earlier layers' gradients.
  Buckets start in index order on every rank (MPI needs the same collective order everywhere).
- The hook of the last parameter to be ready waits for every bucket, divides by the world size
  and writes the averages back into `.grad`.
- `no_sync()`: backward only accumulates locally (gradient accumulation); the first backward
  outside it reduces the accumulated gradients.
- broadcast_buffers=True: buffers (batch-norm running statistics) are broadcast from rank 0 at
  each forward, as torch does; batch statistics stay per rank (use SyncBatchNorm to share them).
wgpu parameters work too: their gradients are read back into the host bucket and written back.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ... import autograd
from ... import distributed as dist
from ...distributed import _group, _mpi
from ..module import Module


class _Bucket:
    __slots__ = ("params", "offsets", "buffer", "ready", "request", "grad_seen")

    def __init__(self, params, dtype):
        self.params = params
        sizes = [int(np.prod(p.shape)) for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.buffer = np.zeros(int(self.offsets[-1]), dtype)
        self.ready = 0
        self.request = None
        self.grad_seen = None


def _host(a):
    return a if isinstance(a, np.ndarray) else a.numpy()


def _outputs(obj, out):
    """The tensors inside a forward's output (tensor, or nested tuple/list/dict of them)."""
    from ...tensor import Tensor

    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _outputs(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _outputs(o, out)
    return out


def _reachable_leaves(tensors):
    """ids of the leaf tensors that a backward from `tensors` would reach."""
    seen_nodes, leaves, stack = set(), set(), []
    for t in tensors:
        if t._node is None:
            leaves.add(id(t))
        elif id(t._node) not in seen_nodes:
            seen_nodes.add(id(t._node))
            stack.append(t._node)
    while stack:
        for e in stack.pop().edges:
            if e is None:
                continue
            if type(e) is tuple:
                if id(e[0]) not in seen_nodes:
                    seen_nodes.add(id(e[0]))
                    stack.append(e[0])
            else:
                leaves.add(id(e))
    return leaves


class DistributedDataParallel(Module):
    """torch.nn.parallel.DistributedDataParallel on ferrograd.distributed's default (MPI) group.

    `device_ids`/`output_device` are accepted for torch compatibility and unused (the module
    stays on its device). `.module` is the wrapped model; state_dict keys start with `module.`."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be an nn.Module, got {type(module).__name__}")
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel: Default process group has not been initialized, please make "
                               "sure to call ferrograd.distributed.init_process_group (and launch with mpiexec)")
        if process_group is not None:
            raise NotImplementedError("DistributedDataParallel: only the default process group is supported, "
                                      f"got process_group={process_group!r}")
        cap = 25.0 if bucket_cap_mb is None else bucket_cap_mb
        if not isinstance(cap, (int, float)) or isinstance(cap, bool) or cap <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be a positive number, got {bucket_cap_mb!r}")
        self.module = module
        self.device_ids, self.output_device, self.dim = device_ids, output_device, dim
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.bucket_bytes_cap = int(cap * 1024 * 1024)
        self.require_backward_grad_sync = True
        self.world_size = dist.get_world_size()
        params = [p for p in module.parameters() if p.requires_grad]
        self._params = params
        with autograd.no_grad():  # every rank starts from rank 0's weights
            for t in list(module.parameters()) + [b for b in module.buffers() if b is not None]:
                dist.broadcast(t, 0)
        self._buckets = self._make_buckets(params)
        self._where = {}  # id(param) -> bucket
        for b in self._buckets:
            for p in b.params:
                self._where[id(p)] = b
        self._handles = [p.register_post_accumulate_grad_hook(self._hook) for p in params]
        self._armed = False
        self._fired = 0  # hooks run by this backward
        self._pending = 0  # parameters whose gradient is not yet in their bucket this backward
        self._next = 0  # the next bucket to start (buckets start in index order on every rank)

    def _make_buckets(self, params):
        buckets, current, size, key = [], [], 0, None
        for p in reversed(params):  # backward produces the last layers' gradients first
            k = (p.dtype, p.device)
            nbytes = int(np.prod(p.shape)) * np.dtype(p._data.dtype).itemsize
            if current and (k != key or size + nbytes > self.bucket_bytes_cap):
                buckets.append(_Bucket(current, current[0]._data.dtype))
                current, size = [], 0
            current.append(p)
            size += nbytes
            key = k
        if current:
            buckets.append(_Bucket(current, current[0]._data.dtype))
        return buckets

    # ---- forward ------------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self._armed and self._fired:  # backward ran some hooks but never finished the reduction
            raise RuntimeError(
                "DistributedDataParallel: Expected to have finished reduction in the prior iteration before starting "
                "a new one: some parameters did not receive a gradient in the previous backward. Pass "
                "find_unused_parameters=True to DistributedDataParallel if the forward does not use every parameter "
                "(and make sure every rank calls backward on an output of the forward).")
        if self.broadcast_buffers and self.world_size > 1:
            with autograd.no_grad():
                for b in self.module.buffers():
                    if b is not None:
                        dist.broadcast(b, 0)
        out = self.module(*inputs, **kwargs)
        self._armed = False
        if autograd.is_grad_enabled() and self.require_backward_grad_sync and self._params:
            self._prepare_for_backward(out)
        return out

    def _prepare_for_backward(self, out):
        self._armed = True
        self._fired = 0
        self._pending = len(self._params)
        self._next = 0
        for b in self._buckets:
            b.ready, b.request = 0, None
        if self.find_unused_parameters:
            used = _reachable_leaves(_outputs(out, []))
            for p in self._params:
                if id(p) not in used:  # no gradient will come: its bucket counts it ready now
                    self._mark_ready(p)

    def _release(self):
        """Remove the gradient hooks (fit does, when it wrapped the model itself)."""
        for h in self._handles:
            h.remove()
        self._handles, self._armed = [], False

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Loads torch DDP's `module.`-prefixed keys and the plain model's keys alike."""
        if state_dict and not any(k.startswith("module.") for k in state_dict):
            state_dict = {f"module.{k}": v for k, v in state_dict.items()}
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward inside this context only accumulates gradients locally; the first backward
        after it all-reduces the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ---- backward -----------------------------------------------------------------------------
    def _hook(self, param):
        if self._armed:
            self._fired += 1
            self._mark_ready(param)

    def _mark_ready(self, param):
        bucket = self._where[id(param)]
        bucket.ready += 1
        self._pending -= 1
        while self._next < len(self._buckets) and self._buckets[self._next].ready == len(self._buckets[self._next].params):
            self._start(self._buckets[self._next])
            self._next += 1
        for b in self._buckets[: self._next]:  # drive MPI's progress engine while backward goes on
            if b.request is not None and b.request is not _Done and b.request.Test():
                b.request = _Done
        if self._pending == 0:
            self._finish()

    def _start(self, bucket):
        buf = bucket.buffer
        seen = np.zeros(len(bucket.params), bool)
        for i, p in enumerate(bucket.params):
            lo, hi = bucket.offsets[i], bucket.offsets[i + 1]
            if p.grad is None:
                buf[lo:hi] = 0
            else:
                buf[lo:hi] = _host(p.grad._data).reshape(-1)
                seen[i] = True
        bucket.grad_seen = seen
        MPI = _mpi.mpi()
        bucket.request = _group._comm("DistributedDataParallel").Iallreduce(MPI.IN_PLACE, buf, MPI.SUM)

    def _finish(self):
        self._armed = False
        timeout = _group._STATE["timeout"]
        for bucket in self._buckets:
            if bucket.request is not _Done and bucket.request is not None:
                _mpi.wait(bucket.request, timeout, "DistributedDataParallel (gradient all-reduce)")
            bucket.request = None
            buf = bucket.buffer
            buf /= self.world_size
            for i, p in enumerate(bucket.params):
                flat = buf[bucket.offsets[i]: bucket.offsets[i + 1]]
                if p.grad is None:
                    if not flat.any():  # unused on every rank: leave .grad None, as torch
                        continue
                    from ...tensor import Tensor

                    p.grad = Tensor._wrap(np.zeros(tuple(p.shape), buf.dtype))
                    if not isinstance(p._data, np.ndarray):
                        p.grad = p.grad.to(p.device)
                g = p.grad._data
                if isinstance(g, np.ndarray):
                    np.copyto(g, flat.reshape(g.shape))
                else:
                    g[...] = flat.reshape(tuple(g.shape))


class _DoneRequest:
    """Marks a bucket whose all-reduce already completed (MPI freed its request)."""


_Done = _DoneRequest()
