"""The runtime: adapter, buffers round-trip, pooled reuse, batched dispatches, errors."""

import numpy as np
import pytest

from ferrograd import wgpu as fgw
from ferrograd.wgpu import runtime
from ferrograd.wgpu.array import GpuArray


def _fill(arr: GpuArray, value: float):
    rt = runtime.get()
    pipe = rt.pipeline("fill")
    rt.launch(pipe, [arr.binding()], runtime.grid_1d(-(-arr.size // 256), rt.max_workgroups),
              runtime.pack(arr.size, value, fmt="If"))


def test_adapter_info_names_the_adapter_and_limits():
    info = fgw.adapter_info()
    assert info["device"]
    assert info["limits"]["max-storage-buffer-binding-size"] >= 128 << 20
    assert set(info["features"]) <= {"shader-f16", "timestamp-query", "subgroup"}


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
@pytest.mark.parametrize("shape", [(0,), (1,), (7, 3), (2, 3, 5)])
def test_round_trip(shape, dtype):
    a = (np.arange(int(np.prod(shape))) * 3 - 5).astype(dtype).reshape(shape)
    np.testing.assert_array_equal(GpuArray.from_numpy(a).numpy(), a)


def test_many_dispatches_in_one_batch_run_in_order():
    arrs = [GpuArray.empty((1000,)) for _ in range(20)]
    for i, a in enumerate(arrs):
        _fill(a, float(i))
        _fill(a, float(i) + 0.5)  # the later dispatch wins
    for i, a in enumerate(arrs):
        np.testing.assert_array_equal(a.numpy(), np.full(1000, i + 0.5, np.float32))


def test_freed_buffers_are_reused_and_keep_order():
    rt = runtime.get()
    a = GpuArray.empty((4096,))
    _fill(a, 1.0)
    kept = a.numpy()
    buf = a.storage.buffer
    del a
    b = GpuArray.empty((4096,))
    assert b.storage.buffer is buf  # from the pool
    _fill(b, 2.0)
    assert (kept == 1.0).all() and (b.numpy() == 2.0).all()
    rt.flush()


def test_large_grid_folds_into_two_dimensions():
    n = 256 * 70000 + 3  # more groups than one dimension allows on most devices
    a = GpuArray.empty((n,))
    _fill(a, 3.0)
    out = a.numpy()
    assert out[0] == 3.0 and out[-1] == 3.0 and (out == 3.0).all()


def test_shader_compile_error_names_the_kernel():
    with pytest.raises(fgw.KernelError, match="broken_kernel"):
        runtime.get().pipeline("broken_kernel", source="fn main( { this is not wgsl")


def test_missing_shader_names_the_kernel():
    with pytest.raises(fgw.KernelError, match="no_such_kernel"):
        runtime.get().pipeline("no_such_kernel")


def test_unsupported_dtype_is_a_clear_error():
    with pytest.raises(TypeError, match="float64"):
        GpuArray.from_numpy(np.zeros(3))


def test_too_large_binding_is_a_value_error_with_sizes():
    rt = runtime.get()
    with pytest.raises(ValueError, match="max-storage-buffer-binding-size"):
        st = rt.alloc(16)
        rt.launch(rt.pipeline("fill"), [(st, 0, rt.max_binding + 4)], (1,), runtime.pack(1, 0.0, fmt="If"))


def test_buffers_of_arrays_dying_in_reference_cycles_stay_valid():
    # A Storage collected with its buffer in one garbage cycle must not return a buffer that
    # wgpu's finaliser released: the next array from the pool would bind a dead buffer.
    import gc

    class Holder:
        pass

    for i in range(4):
        h = Holder()
        h.me = h
        h.arr = GpuArray.from_numpy(np.full(40, i, np.float32))
        del h
        gc.collect()
        b = GpuArray.empty((40,))
        _fill(b, float(i))
        np.testing.assert_array_equal(b.numpy(), np.full(40, i, np.float32))


def test_buffers_over_the_pool_budget_are_destroyed_only_after_the_work_using_them(monkeypatch):
    monkeypatch.setattr(runtime, "POOL_KEEP", 0)  # every released buffer is over the budget
    a = GpuArray.from_numpy(np.arange(64, dtype=np.float32))
    b = a * 2  # recorded, not submitted
    del a  # its buffer leaves the pool while the recorded multiply still reads it
    c = b + 1
    np.testing.assert_array_equal(c.numpy(), np.arange(64, dtype=np.float32) * 2 + 1)


def test_synchronize_waits_for_recorded_work():
    a = GpuArray.empty((1000,))
    _fill(a, 4.0)
    fgw.synchronize()
    assert (a.numpy() == 4.0).all()


# ---- per-dispatch caches ------------------------------------------------------------------------
def test_repeated_launches_reuse_bind_groups_and_parameter_slots():
    rt = runtime.get()
    a = GpuArray.empty((300,))
    _fill(a, 1.0)
    groups, slots = len(rt._bind_groups), len(rt._param_slots)
    for _ in range(5):
        _fill(a, 1.0)
    assert (len(rt._bind_groups), len(rt._param_slots)) == (groups, slots)
    _fill(a, 2.0)  # new parameters: one more slot and bind group, and the new value wins
    assert len(rt._param_slots) == slots + 1
    np.testing.assert_array_equal(a.numpy(), np.full(300, 2.0, np.float32))


def test_parameter_arena_starting_over_keeps_every_launch_correct(monkeypatch):
    rt = runtime.get()
    monkeypatch.setattr(runtime, "PARAMS_ARENA", 8 * rt.uniform_align)  # starts over every 8 blocks
    arrs = [GpuArray.empty((50,)) for _ in range(30)]
    for i, a in enumerate(arrs):
        _fill(a, 100.0 + i)  # 30 distinct parameter blocks, recorded before any readback
    for i, a in enumerate(arrs):
        np.testing.assert_array_equal(a.numpy(), np.full(50, 100.0 + i, np.float32))


def test_destroyed_buffers_leave_the_bind_group_cache(monkeypatch):
    rt = runtime.get()
    a = GpuArray.empty((64,))
    _fill(a, 5.0)
    buf = a.storage.buffer
    assert any(v is buf for key in rt._bind_groups for v in key)
    monkeypatch.setattr(runtime, "POOL_KEEP", 0)
    del a
    assert not any(v is buf for key in rt._bind_groups for v in key)


def test_cached_elementwise_plans_follow_their_operands():
    # Same signature (shapes, strides, offsets), different buffers and values: each result is its own.
    x, y = np.arange(12, dtype=np.float32), np.ones(12, np.float32) * 3
    a, b, c, d = (GpuArray.from_numpy(v) for v in (x, y, y, x))
    np.testing.assert_array_equal((a + b).numpy(), x + y)
    np.testing.assert_array_equal((c + d).numpy(), y + x)
    a += a  # in place through the same buffer
    np.testing.assert_array_equal(a.numpy(), 2 * x)
    np.testing.assert_array_equal((a * 0.5).numpy(), x)
    np.testing.assert_array_equal((a * 0.25).numpy(), x / 2)  # scalar values are part of the plan
