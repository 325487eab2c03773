"""Run with mpiexec -n 2: checks fg.distributed's collectives against numpy; exits non-zero (via
the abort hook) on the first mismatch. `--wgpu` also checks wgpu tensors (read back, reduce, write)."""

import sys

import numpy as np

import ferrograd as fg
import ferrograd.distributed as dist
from ferrograd.distributed import ReduceOp


def main():
    assert not dist.is_initialized()
    dist.init_process_group("mpi")
    assert dist.is_initialized() and dist.get_backend() == "mpi"
    rank, world = dist.get_rank(), dist.get_world_size()
    assert world == 2, world
    vals = [np.array([1.5, -2.0, 3.0]) * (k + 1) + k for k in range(world)]
    mine = vals[rank]
    for op, ref in ((ReduceOp.SUM, sum(vals)), (ReduceOp.AVG, sum(vals) / world), (ReduceOp.PRODUCT, np.prod(vals, 0)),
                    (ReduceOp.MIN, np.min(vals, 0)), (ReduceOp.MAX, np.max(vals, 0))):
        t = fg.tensor(mine)
        v0 = t._version_count
        assert dist.all_reduce(t, op=op) is None
        np.testing.assert_allclose(t.numpy(), ref, rtol=1e-6, err_msg=str(op))
        assert t._version_count > v0
    # int tensors, a non-contiguous view (written back through the view), async_op's Work
    t = fg.tensor([rank + 1, 10], dtype=fg.int64)
    work = dist.all_reduce(t, async_op=True)
    assert work.wait() and work.is_completed()
    assert t.tolist() == [3, 20]
    base = fg.tensor(np.arange(6.0).reshape(2, 3) * (rank + 1))
    dist.all_reduce(base.t())
    np.testing.assert_allclose(base.numpy(), np.arange(6.0).reshape(2, 3) * 3)
    # broadcast from each source
    for src in range(world):
        t = fg.tensor(np.full(4, float(rank)))
        dist.broadcast(t, src)
        assert t.tolist() == [float(src)] * 4
    # all_gather
    out = [fg.zeros(2, 3) for _ in range(world)]
    dist.all_gather(out, fg.full((2, 3), float(rank)))
    for k in range(world):
        assert (out[k].numpy() == k).all()
    # errors name the function and the argument
    for call, err, text in ((lambda: dist.all_reduce(np.zeros(2)), TypeError, "all_reduce: tensor must be a Tensor"),
                            (lambda: dist.broadcast(fg.zeros(2), 5), ValueError, "broadcast: src must be a rank"),
                            (lambda: dist.all_gather([fg.zeros(2)], fg.zeros(2)), ValueError, "tensor_list must be"),
                            (lambda: dist.all_reduce(fg.tensor([1]), op=ReduceOp.AVG), TypeError, "AVG"),
                            (lambda: dist.init_process_group("mpi"), RuntimeError, "twice")):
        try:
            call()
        except err as e:
            assert text in str(e), (text, str(e))
        else:
            raise AssertionError(f"no {err.__name__} for {text}")
    if "--wgpu" in sys.argv:
        t = fg.tensor(mine.astype(np.float32), device="wgpu")
        dist.all_reduce(t)
        assert t.device.type == "wgpu"
        np.testing.assert_allclose(t.numpy(), sum(vals), rtol=1e-6)
        t = fg.tensor(np.full(3, float(rank), np.float32), device="wgpu")
        dist.broadcast(t, 1)
        assert t.numpy().tolist() == [1.0] * 3
    dist.barrier()
    dist.destroy_process_group()
    assert not dist.is_initialized()
    print(f"rank {rank}: collectives ok", flush=True)


if __name__ == "__main__":
    main()
