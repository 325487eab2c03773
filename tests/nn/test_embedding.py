"""embedding (Rust gather / scatter-add) and one_hot."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.nn import functional as F
from ferrograd.reference import embedding as ref
from ferrograd.testing import gradcheck


@pytest.mark.parametrize("ids_shape", [(1,), (7,), (3, 5), (2, 3, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_and_backward_match_reference(ids_shape, dtype):
    rng = np.random.default_rng(sum(ids_shape))
    w = rng.standard_normal((11, 13)).astype(dtype)
    ids = rng.integers(0, 11, ids_shape)
    ids.reshape(-1)[0] = ids.reshape(-1)[-1]  # a repeated id
    tw = fg.tensor(w, requires_grad=True)
    out = F.embedding(fg.tensor(ids), tw)
    assert out.shape == ids_shape + (13,) and out.dtype == dtype
    np.testing.assert_array_equal(out.detach().numpy(), ref.embedding(ids, w))
    g = rng.standard_normal(out.shape).astype(dtype)
    out.backward(g)
    np.testing.assert_allclose(tw.grad.numpy(), ref.embedding_backward(ids, g, 11), rtol=1e-6, atol=1e-6)


def test_padding_idx_gets_no_gradient_and_negative_padding_idx():
    w = fg.tensor(np.random.default_rng(1).standard_normal((5, 3)), requires_grad=True)
    ids = fg.tensor([[0, 4, 4], [2, 0, 4]])
    F.embedding(ids, w, padding_idx=4).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[4], 0)
    np.testing.assert_array_equal(w.grad.numpy()[0], 2)
    w.grad = None
    F.embedding(ids, w, padding_idx=-1).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[4], 0)


def test_large_parallel_scatter_add():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((50, 256)).astype(np.float32)
    ids = rng.integers(0, 50, (40, 30))
    tw = fg.tensor(w, requires_grad=True)
    out = F.embedding(fg.tensor(ids), tw, padding_idx=3)
    g = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(g)
    np.testing.assert_array_equal(out.detach().numpy(), w[ids])
    np.testing.assert_allclose(tw.grad.numpy(), ref.embedding_backward(ids, g, 50, 3), rtol=1e-5, atol=1e-5)


def test_gradcheck_int32_ids_non_contiguous_and_scale_grad_by_freq():
    rng = np.random.default_rng(3)
    w = fg.tensor(rng.standard_normal((6, 4)), dtype=fg.float64, requires_grad=True)
    ids = fg.tensor(np.array([[1, 5, 1], [0, 2, 5]], np.int32))
    assert gradcheck(lambda w: F.embedding(ids, w), [w])
    # padding_idx and scale_grad_by_freq change the gradient on purpose (torch semantics), so
    # they are checked against hand-computed values instead of finite differences.
    base = rng.standard_normal((4, 10))
    wt = fg.from_numpy(base.T)  # (10, 4) transposed view
    ids2 = fg.tensor(np.array([[3, 9, 0, 1]]).T[::2])
    np.testing.assert_array_equal(F.embedding(ids2, wt).numpy(), base.T[ids2.numpy()])
    w2 = fg.tensor(rng.standard_normal((6, 4)), dtype=fg.float64, requires_grad=True)
    ones = F.embedding(fg.tensor([1, 1, 1, 3]), w2, scale_grad_by_freq=True)
    ones.sum().backward()
    np.testing.assert_allclose(w2.grad.numpy()[1], 1.0)


def test_max_norm_renormalises_looked_up_rows():
    w = fg.tensor(np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]]))
    F.embedding(fg.tensor([0, 1]), w, max_norm=1.0)
    np.testing.assert_allclose(np.linalg.norm(w.numpy(), axis=1), [1.0, 0.5, 10.0], rtol=1e-6)


def test_bad_input():
    w = fg.randn(5, 3)
    with pytest.raises(ValueError, match=r"embedding: index 5 is out of range for weight of shape \(5, 3\)"):
        F.embedding(fg.tensor([0, 5]), w)
    with pytest.raises(ValueError, match="embedding: index -1"):
        F.embedding(fg.tensor([-1]), w)
    with pytest.raises(ValueError, match="embedding: padding_idx"):
        F.embedding(fg.tensor([0]), w, padding_idx=5)
    with pytest.raises(ValueError, match="embedding: weight must be 2-d"):
        F.embedding(fg.tensor([0]), fg.randn(5))
    with pytest.raises(TypeError, match="embedding: input"):
        F.embedding(fg.tensor([0.0]), w)


def test_native_embedding_rejects_bad_ids_without_panicking():
    from ferrograd import _native

    with pytest.raises(ValueError, match="out of range"):
        _native.embedding_forward(np.zeros((3, 2), np.float32), np.array([0, 3]))
    with pytest.raises(ValueError, match="out of range"):
        _native.embedding_backward(np.zeros((2, 2), np.float32), np.array([0, -2]), 3, None)
    with pytest.raises(ValueError):
        _native.embedding_backward(np.zeros((3, 2), np.float32), np.array([0, 1]), 3, None)


# ---- one_hot ----------------------------------------------------------------------------------
def test_one_hot():
    t = np.array([[0, 2], [3, 1]])
    got = F.one_hot(fg.tensor(t))
    assert got.dtype == np.int64 and got.shape == (2, 2, 4)
    np.testing.assert_array_equal(got.numpy(), ref.one_hot(t))
    np.testing.assert_array_equal(F.one_hot(fg.tensor([1]), 3).numpy(), [[0, 1, 0]])
    assert F.one_hot(fg.tensor(np.zeros(0, np.int64)), 3).shape == (0, 3)
    with pytest.raises(ValueError, match="one_hot: class values must be smaller than num_classes 3"):
        F.one_hot(fg.tensor([3]), 3)
    with pytest.raises(ValueError, match="one_hot"):
        F.one_hot(fg.tensor([-1]))
    with pytest.raises(TypeError, match="one_hot"):
        F.one_hot(fg.tensor([1.0]))
