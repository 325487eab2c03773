"""Device embedding gather and scatter-add gradient against `ferrograd._native`: repeated ids
(the atomic add path), padding_idx, strided tables, host and device ids, bad ids."""

import numpy as np
import pytest

from ferrograd import _native
from ferrograd.wgpu.array import GpuArray
from ferrograd.wgpu.kernels import embedding_backward, embedding_forward


def _table(rows, dim, seed=0):
    return np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)


@pytest.mark.parametrize("rows, dim, ids_shape", [(1, 1, (1,)), (10, 3, (4, 5)), (50, 33, (2, 3, 7)), (7, 300, (9,))])
@pytest.mark.parametrize("device_ids", [False, True], ids=["host_ids", "device_ids"])
def test_forward_matches_native(rows, dim, ids_shape, device_ids):
    w = _table(rows, dim)
    ids = np.random.default_rng(1).integers(0, rows, ids_shape)  # repeats: more ids than rows
    arg = GpuArray.from_numpy(ids.astype(np.int32)) if device_ids else ids
    out = embedding_forward(GpuArray.from_numpy(w), arg).numpy()
    np.testing.assert_array_equal(out, _native.embedding_forward(w, ids.astype(np.int64)))


def test_forward_reads_a_transposed_table_in_place():
    w = _table(6, 11)
    base = GpuArray.from_numpy(np.ascontiguousarray(w.T))
    view = GpuArray((6, 11), np.float32, base.storage, strides=(1, 6))
    ids = np.array([[5, 0, 5], [2, 2, 1]])
    np.testing.assert_array_equal(embedding_forward(view, ids).numpy(), _native.embedding_forward(w, ids))


@pytest.mark.parametrize("padding_idx", [None, 0, 2])
@pytest.mark.parametrize("rows, dim, ids_shape", [(5, 4, (3, 8)), (40, 17, (6, 50)), (3, 65, (129,))])
def test_backward_matches_native(rows, dim, ids_shape, padding_idx):
    rng = np.random.default_rng(rows * dim)
    ids = rng.integers(0, rows, ids_shape)
    gy = rng.standard_normal((*ids_shape, dim)).astype(np.float32)
    out = embedding_backward(GpuArray.from_numpy(gy), GpuArray.from_numpy(ids.astype(np.int32)), rows, padding_idx)
    expected = _native.embedding_backward(gy, ids.astype(np.int64), rows, padding_idx)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)
    if padding_idx is not None:
        assert (out.numpy()[padding_idx] == 0).all()


def test_backward_all_ids_equal_contend_on_one_row():
    """Every thread adds into the same row: the compare-exchange loop must lose no update."""
    n, dim = 2000, 3
    gy = np.ones((n, dim), np.float32)
    ids = np.full(n, 2, np.int32)
    out = embedding_backward(GpuArray.from_numpy(gy), GpuArray.from_numpy(ids), 4, None).numpy()
    expected = np.zeros((4, dim), np.float32)
    expected[2] = n  # integers: exact in float32 whatever the order of the adds
    np.testing.assert_array_equal(out, expected)


def test_backward_overwrites_a_reused_buffer():
    """The table gradient is zero-filled first, even when the pool hands back a dirty buffer."""
    dirty = GpuArray.from_numpy(np.full((8, 4), 7.0, np.float32))
    del dirty
    gy = np.arange(8, dtype=np.float32).reshape(2, 4)
    out = embedding_backward(GpuArray.from_numpy(gy), np.array([1, 1]), 8, None).numpy()
    np.testing.assert_array_equal(out, _native.embedding_backward(gy, np.array([1, 1]), 8, None))


def _value_error(fn, *args) -> str:
    """The ValueError message of fn(*args). Caught here, not with `pytest.raises(...) as e`:
    a kept ExceptionInfo makes a reference cycle through the frames that hold GpuArrays, and the
    runtime's pool mishandles buffers freed by the cycle collector (see the branch report)."""
    try:
        fn(*args)
    except ValueError as e:
        return str(e)
    raise AssertionError(f"{fn.__name__} did not raise ValueError")


def test_out_of_range_host_ids_raise_like_native():
    w = _table(5, 2)
    for bad in (np.array([0, 5]), np.array([[1, -1]])):
        msg = _value_error(embedding_forward, GpuArray.from_numpy(w), bad)
        assert "out of range for 5 embeddings" in msg
        assert msg == _value_error(_native.embedding_forward, w, bad.astype(np.int64))
        gy = GpuArray.from_numpy(np.ones((*bad.shape, 2), np.float32))
        assert "out of range for 5 embeddings" in _value_error(embedding_backward, gy, bad, 5, None)


def test_out_of_range_device_ids_stay_inside_the_table():
    """Device ids are not read back to be checked; a bad one gives a zero row / no gradient."""
    w = _table(4, 3)
    ids = GpuArray.from_numpy(np.array([1, 4, -2, 3], np.int32))
    out = embedding_forward(GpuArray.from_numpy(w), ids).numpy()
    np.testing.assert_array_equal(out, np.stack([w[1], np.zeros(3), np.zeros(3), w[3]]).astype(np.float32))
    gy = np.ones((4, 3), np.float32)
    grad = embedding_backward(GpuArray.from_numpy(gy), ids, 4, None).numpy()
    np.testing.assert_array_equal(grad, np.array([[0] * 3, [1] * 3, [0] * 3, [1] * 3], np.float32))


def test_bad_arguments_name_the_op():
    w = GpuArray.from_numpy(_table(4, 3))
    with pytest.raises(ValueError, match="weight must be 2-d"):
        embedding_forward(GpuArray.from_numpy(np.zeros(3, np.float32)), np.array([0]))
    with pytest.raises(TypeError, match="ids must be integers"):
        embedding_forward(w, np.array([0.5]))
    with pytest.raises(TypeError, match="device ids must be int32"):
        embedding_forward(w, GpuArray.from_numpy(np.array([0], np.uint32)))
    with pytest.raises(ValueError, match="embedding_backward: gradient holds 6 elements"):
        embedding_backward(GpuArray.from_numpy(np.ones((2, 3), np.float32)), np.array([0, 1, 2]), 4, None)
