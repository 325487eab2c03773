"""WGSL matmul against numpy: odd sizes, strided (transposed, sliced) operands, broadcast batches."""

import numpy as np
import pytest

from ferrograd.wgpu.array import GpuArray
from ferrograd.wgpu.kernels import matmul


def _dev(a):
    return GpuArray.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def _transposed(a):
    """A GpuArray view of a's last two dims swapped, over a contiguous copy of a.swapaxes."""
    base = _dev(np.swapaxes(a, -1, -2))
    strides = list(base.strides)
    strides[-1], strides[-2] = strides[-2], strides[-1]
    return GpuArray(a.shape, np.float32, base.storage, strides, base.offset)


@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (3, 5, 7), (63, 17, 65), (64, 64, 64), (130, 33, 1), (1, 200, 129)])
def test_matches_numpy(m, k, n):
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    a, b = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
    np.testing.assert_allclose(matmul(_dev(a), _dev(b)).numpy(), a @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("ta, tb", [(True, False), (False, True), (True, True)])
def test_transposed_operands_need_no_copy(ta, tb):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((37, 23), dtype=np.float32), rng.standard_normal((23, 41), dtype=np.float32)
    ga = _transposed(a) if ta else _dev(a)
    gb = _transposed(b) if tb else _dev(b)
    np.testing.assert_allclose(matmul(ga, gb).numpy(), a @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("sa, sb", [((2, 3, 5, 7), (2, 3, 7, 4)), ((5, 7), (3, 7, 4)), ((4, 1, 5, 6), (3, 6, 2))])
def test_broadcast_batches(sa, sb):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(sa, dtype=np.float32), rng.standard_normal(sb, dtype=np.float32)
    np.testing.assert_allclose(matmul(_dev(a), _dev(b)).numpy(), np.matmul(a, b), rtol=1e-4, atol=1e-4)


def test_accumulate_adds_into_out():
    rng = np.random.default_rng(3)
    a, b, c = (rng.standard_normal(s, dtype=np.float32) for s in ((9, 4), (4, 11), (9, 11)))
    out = _dev(c)
    matmul(_dev(a), _dev(b), out=out, accumulate=True)
    np.testing.assert_allclose(out.numpy(), c + a @ b, rtol=1e-4, atol=1e-4)


def test_bad_shapes_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"matmul.*\(3, 4\).*\(5, 2\)"):
        matmul(_dev(np.zeros((3, 4))), _dev(np.zeros((5, 2))))
    with pytest.raises(ValueError, match="rank"):
        matmul(_dev(np.zeros(3)), _dev(np.zeros((3, 2))))


def _at(a, offset, transposed):
    """A GpuArray view of a (batch, rows, cols) starting `offset` elements into its buffer."""
    src = np.swapaxes(a, -1, -2) if transposed else a
    flat = np.concatenate([np.zeros(offset, np.float32), np.ascontiguousarray(src, np.float32).ravel()])
    base = GpuArray.from_numpy(flat)
    st = [src.shape[1] * src.shape[2], src.shape[2], 1]
    if transposed:
        st[1], st[2] = st[2], st[1]
    return GpuArray(a.shape, np.float32, base.storage, st, offset)


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("offset", [0, 4, 1])
def test_vec4_and_scalar_tile_loads_agree_with_numpy(ta, tb, offset):
    from ferrograd.wgpu.kernels.matmul import _loads

    rng = np.random.default_rng(3)
    m, k, n = 68, 36, 44  # multiples of 4, not of the 64 tile or the 16 k step
    a, b = rng.standard_normal((2, m, k), dtype=np.float32), rng.standard_normal((2, k, n), dtype=np.float32)
    ga, gb = _at(a, offset, ta), _at(b, offset, tb)
    want_a = "scalar" if offset % 4 else ("vec4_i" if ta else "vec4_k")
    want_b = "scalar" if offset % 4 else ("vec4_k" if tb else "vec4_i")
    assert _loads(ga.offset, ga.strides[0], ga.strides[1], ga.strides[2], m, k) == want_a
    assert _loads(gb.offset, gb.strides[0], gb.strides[2], gb.strides[1], n, k) == want_b
    np.testing.assert_allclose(matmul(ga, gb).numpy(), a @ b, rtol=1e-4, atol=1e-4)
    # the last 4 rows / columns / inner steps cut off: vec4 loads along a cut dim fall back
    np.testing.assert_allclose(matmul(ga[:, :m - 3, :k - 2], gb[:, :k - 2, :n - 1]).numpy(),
                               a[:, :m - 3, :k - 2] @ b[:, :k - 2, :n - 1], rtol=1e-4, atol=1e-4)


def test_bias_is_added_to_every_row_as_by_the_native_kernel():
    from ferrograd import _native

    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((2, 5, 6), dtype=np.float32), rng.standard_normal((6, 9), dtype=np.float32)
    bias = rng.standard_normal(9, dtype=np.float32)
    got = matmul(_dev(a), _dev(b), _dev(bias)).numpy()
    np.testing.assert_allclose(got, _native.matmul(a, b, bias), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="bias must be 1-D with 9 elements"):
        matmul(_dev(a), _dev(b), _dev(np.zeros(8, np.float32)))


@pytest.mark.parametrize("needs", [(True, True, True), (False, True, False), (True, False, True)])
def test_linear_backward_matches_the_native_kernel(needs):
    from ferrograd import _native
    from ferrograd.wgpu.kernels import linear_backward

    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((37, 6), dtype=np.float32), rng.standard_normal((5, 6), dtype=np.float32)
    g = rng.standard_normal((37, 5), dtype=np.float32)
    got = linear_backward(_dev(x), _dev(w), _dev(g), *needs)
    for need, have, want in zip(needs, got, _native.linear_backward(x, w, g, *needs)):
        if need:
            np.testing.assert_allclose(have.numpy(), want, rtol=1e-4, atol=1e-4)
        else:
            assert have is None and want is None
    with pytest.raises(ValueError, match="linear_backward: x, weight and grad must be 2-D"):
        linear_backward(_dev(x[None]), _dev(w), _dev(g))
