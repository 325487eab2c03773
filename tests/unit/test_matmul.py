"""`@` / fg.matmul against numpy: 1-D and 2-D operands, broadcast batches, strided inputs."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import _native
from ferrograd.testing import gradcheck


def leaf(a):
    return fg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


SHAPES = [
    ((4,), (4,)),
    ((3,), (3, 5)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((1, 1), (1, 1)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((1, 3, 4), (2, 4, 2)),
    ((3,), (2, 3, 4)),
    ((2, 2, 3), (3,)),
]


@pytest.mark.parametrize("sa, sb", SHAPES, ids=str)
def test_matmul_float64_forward_and_gradcheck(sa, sb, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    out = leaf(a) @ leaf(b)
    want = a @ b
    assert out.shape == want.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fg.matmul(leaf(a), leaf(b)).detach().numpy(), want, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda x, y: x @ y, [leaf(a), leaf(b)])
    assert gradcheck(fg.matmul, [leaf(a), fg.tensor(b)])


@pytest.mark.parametrize("sa, sb", SHAPES + [((64, 80), (80, 48)), ((8, 33, 17), (17, 9))], ids=str)
def test_matmul_float32_matches_numpy(sa, sb, rng):
    a = rng.standard_normal(sa).astype(np.float32)
    b = rng.standard_normal(sb).astype(np.float32)
    out = fg.tensor(a) @ fg.tensor(b)
    assert out.dtype == np.float32
    want = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-4, atol=1e-4 * np.sqrt(sa[-1]))


def test_matmul_gradient_values(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    x, y = leaf(a), leaf(b)
    g = rng.standard_normal((2, 4))
    (x @ y).backward(g)
    np.testing.assert_allclose(x.grad.numpy(), g @ b.T, rtol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), a.T @ g, rtol=1e-12)


def test_matmul_batch_broadcast_gradient_shapes(rng):
    x, y = leaf(rng.standard_normal((2, 1, 3, 4))), leaf(rng.standard_normal((5, 4, 2)))
    (x @ y).sum().backward()
    assert x.grad.shape == (2, 1, 3, 4) and y.grad.shape == (5, 4, 2)
    g = np.ones((2, 5, 3, 2))
    np.testing.assert_allclose(x.grad.numpy(), (g @ np.swapaxes(y._data, -1, -2)).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(y.grad.numpy(), (np.swapaxes(x._data, -1, -2) @ g).sum(axis=0))


STRIDED = {
    "a.T": (lambda a, b: (a.T, b), (4, 3), (4, 5)),
    "b.T": (lambda a, b: (a, b.T), (3, 4), (5, 4)),
    "both.T": (lambda a, b: (a.T, b.T), (4, 3), (5, 4)),
    "neg_steps": (lambda a, b: (a[::-1], b[:, ::-1]), (3, 4), (4, 5)),
    "step2": (lambda a, b: (a[::2, ::2], b[1::2]), (6, 8), (8, 3)),
    "batch_transposed": (lambda a, b: (np.swapaxes(a, 0, 1), np.swapaxes(b, -1, -2)), (3, 2, 4), (2, 5, 4)),
    "batch_neg_step": (lambda a, b: (a[::-1, :, ::-1], b[:, ::-1]), (2, 3, 4), (4, 5)),
}


@pytest.mark.parametrize("name", list(STRIDED))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_noncontiguous_numpy_inputs(name, dtype, rng):
    make, sa, sb = STRIDED[name]
    a, b = make(rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype))
    assert not (a.flags.c_contiguous and b.flags.c_contiguous)
    out = fg.from_numpy(a) @ fg.from_numpy(b)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.numpy(), a.astype(np.float64) @ b.astype(np.float64), rtol=tol, atol=tol)


def test_matmul_of_transposed_tensors_gradcheck(rng):
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((5, 4))
    out = leaf(a).T @ leaf(b).transpose(0, 1)
    np.testing.assert_allclose(out.detach().numpy(), a.T @ b.T, rtol=1e-12)
    assert gradcheck(lambda x, y: x.T @ y.T, [leaf(a), leaf(b)])
    c = rng.standard_normal((3, 2, 4))
    assert gradcheck(lambda x, y: x.permute(1, 0, 2)[:, ::-1] @ y.T, [leaf(c), leaf(b)])


def test_matmul_broadcast_zero_stride_operands(rng):
    a = np.broadcast_to(rng.standard_normal((1, 3, 4)), (6, 3, 4))
    b = np.broadcast_to(rng.standard_normal((4, 1)), (4, 5))
    out = fg.from_numpy(a) @ fg.from_numpy(b)
    np.testing.assert_allclose(out.numpy(), a @ b, rtol=1e-12)
    x = leaf(rng.standard_normal((3, 4)))
    (x.expand(6, 3, 4) @ fg.tensor(b)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * np.ones((3, 5)) @ b.T, rtol=1e-12)


@pytest.mark.parametrize(
    "sa, sb", [((16, 64, 64), (64, 64)), ((16, 64, 64), (16, 64, 64)), ((256, 300), (300, 200))], ids=str
)
def test_matmul_large_parallel_paths(sa, sb, rng):
    a = rng.standard_normal(sa).astype(np.float32)
    b = rng.standard_normal(sb).astype(np.float32)
    out = fg.tensor(a) @ fg.tensor(b)
    np.testing.assert_allclose(out.numpy(), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)


def test_matmul_ints_and_promotion():
    a = np.arange(6).reshape(2, 3)
    b = np.arange(12).reshape(3, 4)
    out = fg.tensor(a) @ fg.tensor(b)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), a @ b)
    mixed = fg.tensor(a) @ fg.tensor(b.astype(np.float32))
    assert mixed.dtype == np.float32
    np.testing.assert_allclose(mixed.numpy(), a @ b)
    f64 = fg.tensor(a.astype(np.float32)) @ fg.tensor(b.astype(np.float64))
    assert f64.dtype == np.float64


def test_matmul_accepts_numpy_and_lists_on_either_side():
    x = fg.tensor([[1.0, 2.0]])
    np.testing.assert_allclose((x @ np.array([[3.0], [4.0]])).numpy(), [[11.0]])
    np.testing.assert_allclose((np.array([[3.0], [4.0]]) @ x).numpy(), [[3.0, 6.0], [4.0, 8.0]])
    np.testing.assert_allclose(fg.matmul([[1.0, 0.0], [0.0, 2.0]], x.T).numpy(), [[1.0], [4.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_native_matmul_direct(dtype, rng):
    a = rng.standard_normal((2, 3, 4)).astype(dtype)
    b = rng.standard_normal((4, 5)).astype(dtype)
    out = _native.matmul(a, b)
    assert out.dtype == dtype and out.shape == (2, 3, 5)
    np.testing.assert_allclose(out, a @ b, rtol=1e-5)


# One output row (a vector times a matrix, as a sum over a middle axis is taken: ones (1, R) @ x
# (A, R, C)): its own path, 64 columns at a time; widths below, at and past 64, rows strided.
@pytest.mark.parametrize("k, n", [(1, 5), (20, 64), (20, 130), (33, 100)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_native_matmul_of_one_row_matches_numpy(k, n, dtype, rng):
    a = rng.standard_normal((1, k)).astype(dtype)
    b = rng.standard_normal((7, k, n + 3)).astype(dtype)[:, :, 1:n + 1]  # rows n + 3 apart
    tol = 1e-12 if dtype == np.float64 else 1e-5
    want = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_allclose(_native.matmul(a, b), want, rtol=tol, atol=tol)
    np.testing.assert_allclose(_native.matmul(a, b[0]), want[0], rtol=tol, atol=tol)
    x = rng.standard_normal((6, k, n)).astype(dtype)
    np.testing.assert_allclose(fg.tensor(x).sum(1).numpy(), x.astype(np.float64).sum(1), rtol=tol, atol=tol)


# ---- `_native.matmul(a, b, bias)`: a Linear layer's product with its bias added in the kernel

BIAS_SHAPES = [((5, 3), (3, 4)), ((2, 6, 3), (3, 7)), ((2, 6, 3), (2, 3, 7)), ((4, 3), (3, 2)),  # thin
               ((0, 3), (3, 4)), ((4, 0), (0, 5)), ((300, 64), (64, 96))]


@pytest.mark.parametrize("sa, sb", BIAS_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_native_matmul_adds_the_bias_to_every_row(sa, sb, dtype, rng):
    a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
    bias = rng.standard_normal(sb[-1]).astype(dtype)
    want = a.astype(np.float64) @ b.astype(np.float64) + bias
    got = _native.matmul(a, b, bias)
    assert got.dtype == dtype and got.shape == want.shape
    tol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    np.testing.assert_array_equal(_native.matmul(a, b, None), _native.matmul(a, b))


def test_native_matmul_bias_on_strided_operands(rng):
    x = rng.standard_normal((40, 9, 16)).astype(np.float32)[:, ::2, :]  # rows not one stride apart
    w = rng.standard_normal((24, 16)).astype(np.float32)
    bias = rng.standard_normal(24).astype(np.float32)
    want = x.astype(np.float64) @ w.T.astype(np.float64) + bias
    np.testing.assert_allclose(_native.matmul(x, w.T, bias), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("bias, match", [
    (np.zeros(5, np.float32), "bias has 5 elements, the product has 4 columns"),
    (np.zeros((1, 4), np.float32), "bias must be 1-D"),
    (np.zeros(4, np.float64), "bias must be a numpy array of dtype f32"),
    (np.zeros(8, np.float32)[::2], "bias must be a C-contiguous array"),
])
def test_native_matmul_bad_bias_names_the_argument(bias, match):
    a, b = np.ones((3, 2), np.float32), np.ones((2, 4), np.float32)
    with pytest.raises((ValueError, TypeError), match=match):
        _native.matmul(a, b, bias)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_with_and_without_bias_matches_numpy(bias, rng):
    lin = fg.nn.Linear(16, 12, bias=bias)
    x = rng.standard_normal((3, 5, 16)).astype(np.float32)
    w = lin.weight.detach().numpy().astype(np.float64)
    want = x.astype(np.float64) @ w.T + (lin.bias.detach().numpy() if bias else 0)
    np.testing.assert_allclose(lin(fg.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-5)
    lin64 = fg.nn.Linear(4, 3, bias=bias).double()
    assert gradcheck(lin64, [fg.tensor(rng.standard_normal((2, 4)), requires_grad=True)])


def _linear_backward_reference(x, w, g):
    x, w, g = (np.asarray(a, np.float64) for a in (x, w, g))
    return g @ w, g.T @ x, g.sum(0)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-4), (np.float64, 1e-12)])
@pytest.mark.parametrize("rows, fin, fout", [(1, 1, 1), (7, 5, 3), (1280, 64, 192), (0, 4, 3), (5, 0, 2)])
def test_native_linear_backward_matches_numpy(rows, fin, fout, dtype, tol, rng):
    x = rng.standard_normal((rows, fin)).astype(dtype)
    w = rng.standard_normal((fout, fin)).astype(dtype)
    g = rng.standard_normal((rows, fout)).astype(dtype)
    got = _native.linear_backward(x, w, g)
    for have, want in zip(got, _linear_backward_reference(x, w, g)):
        assert have.dtype == dtype and have.shape == want.shape and have.flags.c_contiguous
        np.testing.assert_allclose(have, want, rtol=tol, atol=tol * max(1, rows))


def test_native_linear_backward_on_strided_operands(rng):
    # x and g read through transposed and sliced views, w with a negative stride.
    x = rng.standard_normal((6, 9))[:, ::2].T  # (5, 6) with strides (16, 72) bytes
    w = rng.standard_normal((4, 6))[::-1]
    g = np.asfortranarray(rng.standard_normal((5, 4)))
    got = _native.linear_backward(x, w, g)
    for have, want in zip(got, _linear_backward_reference(x, w, g)):
        np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("needs", [(True, False, False), (False, True, False), (False, False, True), (False, True, True)])
def test_native_linear_backward_computes_only_what_is_needed(needs, rng):
    x, w, g = rng.standard_normal((4, 3)), rng.standard_normal((2, 3)), rng.standard_normal((4, 2))
    got = _native.linear_backward(x, w, g, *needs)
    for need, have, want in zip(needs, got, _linear_backward_reference(x, w, g)):
        if need:
            np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-12)
        else:
            assert have is None


@pytest.mark.parametrize("shapes, match", [
    (((4, 3), (2, 3), (4, 5)), "grad"),
    (((4, 3), (2, 4), (4, 2)), "weight"),
    (((4, 3, 1), (2, 3), (4, 2)), "2-D"),
])
def test_native_linear_backward_bad_shapes_name_the_op(shapes, match):
    x, w, g = (np.ones(s) for s in shapes)
    with pytest.raises(ValueError, match="linear_backward") as err:
        _native.linear_backward(x, w, g)
    assert match in str(err.value)


def test_native_linear_backward_rejects_mixed_dtypes():
    with pytest.raises(TypeError, match="linear_backward: x"):
        _native.linear_backward(np.ones((2, 3), np.float64), np.ones((4, 3), np.float32), np.ones((2, 4), np.float32))


@pytest.mark.parametrize("bias", [True, False])
def test_linear_layer_backward_matches_numpy(bias, rng):
    # Linear's backward runs the fused kernel: its gradients against the products written out.
    lin = fg.nn.Linear(6, 5, bias=bias).double()
    x = fg.tensor(rng.standard_normal((2, 3, 6)), requires_grad=True)
    g = rng.standard_normal((2, 3, 5))
    lin(x).backward(fg.tensor(g))
    w = lin.weight.detach().numpy()
    gx, gw, gb = _linear_backward_reference(x.detach().numpy().reshape(6, 6), w, g.reshape(6, 5))
    np.testing.assert_allclose(x.grad.numpy(), gx.reshape(2, 3, 6), rtol=1e-12)
    np.testing.assert_allclose(lin.weight.grad.numpy(), gw, rtol=1e-12)
    if bias:
        np.testing.assert_allclose(lin.bias.grad.numpy(), gb, rtol=1e-12)
    # A frozen weight: its gradient is not computed (the old one stays), x's still is.
    lin.weight.requires_grad_(False)
    x.grad = None
    lin(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones((2, 3, 5)) @ w, rtol=1e-12)
    np.testing.assert_allclose(lin.weight.grad.numpy(), gw, rtol=1e-12)
