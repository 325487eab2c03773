"""layer_norm (Rust kernel), batch_norm, group_norm, normalize against numpy references,
PyTorch fixtures, gradcheck, non-contiguous inputs and bad input."""

from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.nn import functional as F
from ferrograd.reference import norm as ref
from ferrograd.testing import gradcheck

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def t64(a, grad=True):
    return fg.tensor(np.asarray(a, np.float64), dtype=fg.float64, requires_grad=grad)


# ---- layer_norm -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,ns", [((7,), (7,)), ((3, 5), (5,)), ((2, 3, 17), (17,)), ((2, 3, 4, 5), (4, 5)),
                                      ((4, 129), (129,)), ((2, 5, 3), (2, 5, 3))])
@pytest.mark.parametrize("affine", ["none", "weight", "bias", "both"])
def test_layer_norm_matches_reference(shape, ns, affine):
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    w = rng.standard_normal(ns).astype(np.float32) if affine in ("weight", "both") else None
    b = rng.standard_normal(ns).astype(np.float32) if affine in ("bias", "both") else None
    got = F.layer_norm(fg.from_numpy(x), ns, None if w is None else fg.from_numpy(w),
                       None if b is None else fg.from_numpy(b), eps=1e-5).numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref.layer_norm(x, ns, w, b), rtol=1e-5, atol=2e-5)


def test_layer_norm_torch_fixture():
    d = np.load(FIXTURES / "layernorm_basic.npz")
    x, w, b = (fg.tensor(d[k], requires_grad=True) for k in ("x", "w", "b"))
    y = F.layer_norm(x, (8,), w, b)
    y.backward(d["gy"])
    np.testing.assert_allclose(y.detach().numpy(), d["y"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), d["gx"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w.grad.numpy(), d["gw"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), d["gb"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("affine", [False, True])
def test_layer_norm_gradcheck(affine):
    rng = np.random.default_rng(1)
    x = t64(rng.standard_normal((3, 2, 5)))
    w = t64(rng.standard_normal((2, 5))) if affine else None
    b = t64(rng.standard_normal((2, 5))) if affine else None
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (2, 5), w, b, eps=1e-3), [x, w, b])
    # weight only / bias only
    assert gradcheck(lambda x, w: F.layer_norm(x, (2, 5), w), [t64(rng.standard_normal((4, 2, 5))),
                                                               t64(rng.standard_normal((2, 5)))])
    assert gradcheck(lambda x, b: F.layer_norm(x, (5,), None, b), [t64(rng.standard_normal((4, 5))),
                                                                  t64(rng.standard_normal((5,)))])


def test_layer_norm_large_parallel_path_and_backward():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((257, 300)).astype(np.float32)
    w, b = rng.standard_normal(300).astype(np.float32), rng.standard_normal(300).astype(np.float32)
    gy = rng.standard_normal((257, 300)).astype(np.float32)
    tx, tw, tb = (fg.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.layer_norm(tx, 300, tw, tb)
    y.backward(gy)
    np.testing.assert_allclose(y.detach().numpy(), ref.layer_norm(x, (300,), w, b), rtol=1e-4, atol=1e-4)
    # float64 run of the same kernel as the oracle for the gradients
    ux, uw, ub = (fg.tensor(a.astype(np.float64), requires_grad=True) for a in (x, w, b))
    F.layer_norm(ux, 300, uw, ub).backward(gy.astype(np.float64))
    for got, want in ((tx, ux), (tw, uw), (tb, ub)):
        np.testing.assert_allclose(got.grad.numpy(), want.grad.numpy(), rtol=1e-3, atol=1e-3)
    # and the float64 gradients against finite differences of the reference on a few entries
    xs = x.astype(np.float64)
    for (i, j) in ((0, 0), (100, 7), (256, 299)):
        e = np.zeros_like(xs)
        e[i, j] = 1e-6
        num = ((ref.layer_norm(xs + e, (300,), w, b) - ref.layer_norm(xs - e, (300,), w, b)) * gy).sum() / 2e-6
        assert abs(num - ux.grad.numpy()[i, j]) < 1e-4 * max(1, abs(num))


def test_layer_norm_non_contiguous():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((10, 12)).astype(np.float32)
    for v in (base.T, base[::2, ::3], base[:, ::-1]):
        np.testing.assert_allclose(F.layer_norm(fg.from_numpy(v), v.shape[-1:]).numpy(),
                                   F.layer_norm(fg.tensor(np.ascontiguousarray(v)), v.shape[-1:]).numpy(), rtol=1e-6, atol=1e-6)
    x = t64(rng.standard_normal((5, 6)))
    assert gradcheck(lambda t: F.layer_norm(t.T[:, 1:], (4,)), [x])


def test_layer_norm_bad_input():
    x = fg.randn(3, 8)
    with pytest.raises(ValueError, match=r"layer_norm.*normalized_shape \(7,\).*\(3, 8\)"):
        F.layer_norm(x, (7,))
    with pytest.raises(ValueError, match="layer_norm: weight has shape"):
        F.layer_norm(x, 8, fg.ones(7))
    with pytest.raises(ValueError, match="layer_norm: bias"):
        F.layer_norm(x, 8, None, fg.ones(2, 4))
    with pytest.raises(TypeError, match="layer_norm"):
        F.layer_norm(fg.tensor([[1, 2]]), 2)
    with pytest.raises(TypeError, match="layer_norm: weight"):
        F.layer_norm(x, 8, fg.ones(8, dtype=fg.float64))


# ---- batch_norm -------------------------------------------------------------------------------
def test_batch_norm_torch_fixture_training_with_running_stats():
    d = np.load(FIXTURES / "batchnorm1d.npz")
    x = fg.tensor(d["x"], requires_grad=True)
    w, b = fg.ones(4, requires_grad=True), fg.zeros(4, requires_grad=True)
    rm, rv = fg.zeros(4), fg.ones(4)
    y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5)
    y.backward(d["gy"])
    np.testing.assert_allclose(y.detach().numpy(), d["y"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), d["gx"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(w.grad.numpy(), d["gw"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), d["gb"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rm.numpy(), d["running_mean"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv.numpy(), d["running_var"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 7), (2, 3, 4, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_reference(shape, training):
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape).astype(np.float32) * 2 + 0.5
    c = shape[1]
    w, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    rm0, rv0 = rng.standard_normal(c).astype(np.float32), rng.random(c).astype(np.float32) + 0.5
    rm, rv = fg.tensor(rm0), fg.tensor(rv0)
    y = F.batch_norm(fg.from_numpy(x), rm, rv, fg.from_numpy(w), fg.from_numpy(b), training=training, momentum=0.3)
    want, wrm, wrv = ref.batch_norm(x, rm0, rv0, w, b, training=training, momentum=0.3)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rm.numpy(), wrm, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv.numpy(), wrv, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(training):
    rng = np.random.default_rng(5)
    x, w, b = t64(rng.standard_normal((4, 3, 2))), t64(rng.standard_normal(3)), t64(rng.standard_normal(3))
    rm, rv = fg.tensor(rng.standard_normal(3), dtype=fg.float64), fg.tensor(rng.random(3) + 0.5, dtype=fg.float64)
    # running stats are updated on every call in training: give each call fresh copies
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None if training else rm, None if training else rv, w, b,
                                                  training=training), [x, w, b])
    assert gradcheck(lambda x: F.batch_norm(x, None, None, training=True), [t64(rng.standard_normal((5, 2)))])


def test_batch_norm_non_contiguous_and_bad_input():
    rng = np.random.default_rng(6)
    base = rng.standard_normal((3, 8)).astype(np.float32)
    v = base.T  # (8, 3)
    np.testing.assert_allclose(F.batch_norm(fg.from_numpy(v), None, None, training=True).numpy(),
                               F.batch_norm(fg.tensor(np.ascontiguousarray(v)), None, None, training=True).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match=r"batch_norm: running_mean has shape \(4,\)"):
        F.batch_norm(fg.randn(5, 3), fg.zeros(4), fg.ones(3))
    with pytest.raises(ValueError, match="batch_norm: expected more than 1 value per channel"):
        F.batch_norm(fg.randn(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="batch_norm: weight"):
        F.batch_norm(fg.randn(5, 3), None, None, fg.ones(2), training=True)
    with pytest.raises(ValueError, match="batch_norm: input must be"):
        F.batch_norm(fg.randn(5), None, None, training=True)
    with pytest.raises(ValueError, match="batch_norm: running_mean and running_var are required"):
        F.batch_norm(fg.randn(5, 3), None, None)


# ---- group_norm -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,groups", [((2, 6), 3), ((3, 4, 5), 2), ((2, 6, 3, 3), 6), ((1, 8, 7), 1)])
def test_group_norm_matches_reference_and_gradcheck(shape, groups):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    c = shape[1]
    w, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    got = F.group_norm(fg.from_numpy(x), groups, fg.from_numpy(w), fg.from_numpy(b)).numpy()
    np.testing.assert_allclose(got, ref.group_norm(x, groups, w, b), rtol=1e-5, atol=1e-5)
    xs, ws, bs = t64(x), t64(w), t64(b)
    assert gradcheck(lambda x, w, b: F.group_norm(x, groups, w, b, eps=1e-3), [xs, ws, bs])


def test_group_norm_bad_input():
    with pytest.raises(ValueError, match="group_norm: num_groups 4 must divide the 6 channels"):
        F.group_norm(fg.randn(2, 6, 3), 4)
    with pytest.raises(ValueError, match="group_norm: weight"):
        F.group_norm(fg.randn(2, 6, 3), 3, fg.ones(3))


# ---- normalize --------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_normalize(p, dim):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 5, 3))
    np.testing.assert_allclose(F.normalize(fg.from_numpy(x), p, dim).numpy(), ref.normalize(x, p, dim), rtol=1e-10)
    assert gradcheck(lambda t: F.normalize(t, p, dim), [t64(rng.standard_normal((3, 4)) if dim != -1 or True else None)])


def test_normalize_zero_vector_and_non_contiguous():
    x = fg.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=fg.float64, requires_grad=True)
    y = F.normalize(x, dim=1)
    np.testing.assert_allclose(y.detach().numpy(), [[0, 0], [0.6, 0.8]])
    y.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    base = np.random.default_rng(8).standard_normal((6, 5))
    np.testing.assert_allclose(F.normalize(fg.from_numpy(base.T[::2]), dim=1).numpy(), ref.normalize(base.T[::2], 2, 1))
    with pytest.raises(IndexError, match="normalize"):
        F.normalize(fg.randn(2, 3), dim=2)


# ---- random shapes (hypothesis) and empty batches -----------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=4), seed=st.integers(0, 2**31), data=st.data())
def test_layer_norm_random_shapes(shape, seed, data):
    k = data.draw(st.integers(1, len(shape)))
    ns = tuple(shape[len(shape) - k:])
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    w, b = rng.standard_normal(ns).astype(np.float32), rng.standard_normal(ns).astype(np.float32)
    got = F.layer_norm(fg.from_numpy(x), ns, fg.from_numpy(w), fg.from_numpy(b)).numpy()
    np.testing.assert_allclose(got, ref.layer_norm(x, ns, w, b), rtol=1e-4, atol=1e-4)


def test_layer_norm_empty_batch():
    x = fg.zeros(0, 8, requires_grad=True)
    y = F.layer_norm(x, 8, fg.ones(8, requires_grad=True))
    assert y.shape == (0, 8)
    y.sum().backward()
    assert x.grad.shape == (0, 8)
