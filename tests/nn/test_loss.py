"""Losses and distances: cross_entropy (fused Rust kernel), nll_loss, mse, l1, bce, bce with
logits, kl_div, cosine_similarity, pairwise_distance, triplet_margin, cosine_embedding."""

from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.nn import functional as F
from ferrograd.reference import loss as ref
from ferrograd.reference.softmax import log_softmax
from ferrograd.testing import gradcheck

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REDUCTIONS = ["none", "mean", "sum"]


def t64(a, grad=True):
    return fg.tensor(np.asarray(a, np.float64), dtype=fg.float64, requires_grad=grad)


def close(got, want, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(got.detach().numpy() if isinstance(got, fg.Tensor) else got), want,
                               rtol=rtol, atol=atol)


# ---- cross_entropy ----------------------------------------------------------------------------
def test_cross_entropy_torch_fixture():
    d = np.load(FIXTURES / "cross_entropy_basic.npz")
    z = fg.tensor(d["z"], requires_grad=True)
    loss = F.cross_entropy(z, fg.tensor(d["t"]))
    loss.backward()
    close(loss, d["loss"], rtol=1e-6)
    close(z.grad, d["gz"], rtol=1e-5, atol=1e-7)


CE_SHAPES = [(7,), (5, 3), (4, 6, 3), (2, 5, 3, 2), (9, 130)]


@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", [{}, {"weight": True}, {"ignore": True}, {"label_smoothing": 0.2},
                                  {"weight": True, "ignore": True, "label_smoothing": 0.1}])
def test_cross_entropy_index_targets_match_reference(shape, reduction, opts):
    rng = np.random.default_rng(sum(shape) + len(opts))
    c = shape[0] if len(shape) == 1 else shape[1]
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    t = rng.integers(0, c, tshape)
    ignore = -100
    if opts.get("ignore") and t.size > 1:
        ignore = int(t.reshape(-1)[0])  # a real class index, ignored
    w = rng.random(c).astype(np.float32) + 0.5 if opts.get("weight") else None
    ls = opts.get("label_smoothing", 0.0)
    got = F.cross_entropy(fg.from_numpy(x), fg.tensor(t), None if w is None else fg.from_numpy(w),
                          ignore_index=ignore, reduction=reduction, label_smoothing=ls)
    want = ref.cross_entropy(x, t, w, ignore, reduction, ls)
    assert got.shape == np.shape(want)
    close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(5, 3), (3, 4, 2), (6,)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted,ls", [(False, 0.0), (True, 0.0), (True, 0.3)])
def test_cross_entropy_probability_targets_match_reference(shape, reduction, weighted, ls):
    rng = np.random.default_rng(len(shape) * 7 + int(weighted))
    c = shape[0] if len(shape) == 1 else shape[1]
    x = rng.standard_normal(shape).astype(np.float32)
    p = np.exp(log_softmax(rng.standard_normal(shape), 0 if len(shape) == 1 else 1)).astype(np.float32)
    w = rng.random(c).astype(np.float32) + 0.5 if weighted else None
    got = F.cross_entropy(fg.from_numpy(x), fg.from_numpy(p), None if w is None else fg.from_numpy(w),
                          reduction=reduction, label_smoothing=ls)
    close(got, ref.cross_entropy(x, p, w, -100, reduction, ls), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck_index_targets(reduction):
    rng = np.random.default_rng(11)
    x = t64(rng.standard_normal((5, 4)))
    t = fg.tensor(np.array([0, 3, 1, -100, 3]))
    w = fg.tensor(rng.random(4) + 0.5, dtype=fg.float64)
    assert gradcheck(lambda x: F.cross_entropy(x, t, w, reduction=reduction, label_smoothing=0.15), [x])
    assert gradcheck(lambda x: F.cross_entropy(x, t, reduction=reduction), [x])
    x3 = t64(rng.standard_normal((2, 3, 4)))
    t3 = fg.tensor(rng.integers(0, 3, (2, 4)))
    assert gradcheck(lambda x: F.cross_entropy(x, t3, reduction=reduction, label_smoothing=0.1), [x3])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck_probability_targets(reduction):
    rng = np.random.default_rng(12)
    x, p, w = t64(rng.standard_normal((4, 3))), t64(rng.random((4, 3))), t64(rng.random(3) + 0.5)
    assert gradcheck(lambda x, p, w: F.cross_entropy(x, p, w, reduction=reduction, label_smoothing=0.2), [x, p, w])
    x3, p3 = t64(rng.standard_normal((2, 3, 2))), t64(rng.random((2, 3, 2)))
    assert gradcheck(lambda x, p: F.cross_entropy(x, p, reduction=reduction), [x3, p3])


def test_cross_entropy_large_parallel_path():
    rng = np.random.default_rng(13)
    x = (rng.standard_normal((300, 500)) * 4).astype(np.float32)
    t = rng.integers(0, 500, 300)
    tx = fg.tensor(x, requires_grad=True)
    loss = F.cross_entropy(tx, fg.tensor(t), label_smoothing=0.1)
    loss.backward()
    close(loss, ref.cross_entropy(x, t, label_smoothing=0.1), rtol=1e-5)
    ux = fg.tensor(x.astype(np.float64), requires_grad=True)
    F.cross_entropy(ux, fg.tensor(t), label_smoothing=0.1).backward()
    close(tx.grad, ux.grad.numpy(), rtol=1e-4, atol=1e-8)
    # softmax - onehot / N, mixed with smoothing
    p = np.exp(log_softmax(x, 1))
    want = (p - 0.9 * np.eye(500)[t] - 0.1 / 500) / 300
    close(ux.grad, want, rtol=1e-6, atol=1e-10)


def test_cross_entropy_non_contiguous_and_all_ignored():
    rng = np.random.default_rng(14)
    base = rng.standard_normal((6, 9)).astype(np.float32)
    t = fg.tensor(rng.integers(0, 6, 9))
    close(F.cross_entropy(fg.from_numpy(base.T), t, reduction="none"),
          F.cross_entropy(fg.tensor(np.ascontiguousarray(base.T)), t, reduction="none").numpy())
    x = t64(rng.standard_normal((6, 5)))
    assert gradcheck(lambda x: F.cross_entropy(x.T[::2], fg.tensor([0, 5, 2])), [x])
    out = F.cross_entropy(fg.randn(3, 4), fg.tensor([-100, -100, -100]))
    assert np.isnan(out.item())


def test_cross_entropy_bad_input():
    x = fg.randn(4, 3)
    with pytest.raises(ValueError, match=r"cross_entropy: target holds class index 3, out of range for 3 classes"):
        F.cross_entropy(x, fg.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match=r"cross_entropy: target shape \(5,\) does not match input shape \(4, 3\)"):
        F.cross_entropy(x, fg.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(ValueError, match=r"cross_entropy: probability target shape \(4, 2\)"):
        F.cross_entropy(x, fg.rand(4, 2))
    with pytest.raises(ValueError, match=r"cross_entropy: weight has shape \(4,\)"):
        F.cross_entropy(x, fg.tensor([0, 1, 2, 0]), fg.ones(4))
    with pytest.raises(ValueError, match="cross_entropy: reduction"):
        F.cross_entropy(x, fg.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy: target holds class index -1"):
        F.cross_entropy(x, fg.tensor([0, 1, -1, 0]))
    with pytest.raises(TypeError, match="cross_entropy"):
        F.cross_entropy(fg.tensor([[1, 2]]), fg.tensor([0]))


def test_native_cross_entropy_rejects_bad_targets_without_panicking():
    from ferrograd import _native

    x = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="out of range"):
        _native.cross_entropy_forward(x, np.array([0, 7]), None, -100, 0.0)
    with pytest.raises(ValueError):
        _native.cross_entropy_forward(x, np.array([0, 1, 2]), None, -100, 0.0)
    with pytest.raises(ValueError):
        _native.cross_entropy_forward(x, np.array([0, 1]), np.ones(2, np.float32), -100, 0.0)


# ---- nll_loss ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2), (6,)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(shape, reduction):
    rng = np.random.default_rng(15)
    c = shape[0] if len(shape) == 1 else shape[1]
    lp = log_softmax(rng.standard_normal(shape), 0 if len(shape) == 1 else 1)
    t = rng.integers(0, c, () if len(shape) == 1 else (shape[0],) + shape[2:])
    w = rng.random(c) + 0.5
    ignore = int(np.reshape(t, -1)[0]) if np.size(t) > 1 else -100
    got = F.nll_loss(t64(lp, False), fg.tensor(t), fg.tensor(w, dtype=fg.float64), ignore_index=ignore, reduction=reduction)
    close(got, ref.nll_loss(lp, t, w, ignore, reduction), rtol=1e-12)
    x = t64(lp)
    assert gradcheck(lambda x: F.nll_loss(x, fg.tensor(t), fg.tensor(w, dtype=fg.float64), ignore_index=ignore,
                                          reduction=reduction), [x])
    with pytest.raises(ValueError, match="nll_loss: target holds class index"):
        F.nll_loss(x, fg.tensor(np.full(np.shape(t), c)))


# ---- elementwise losses -------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_l1(reduction):
    rng = np.random.default_rng(16)
    x, t = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    close(F.mse_loss(t64(x, False), t64(t, False), reduction=reduction), ref.mse_loss(x, t, reduction), rtol=1e-12)
    close(F.l1_loss(t64(x, False), t64(t, False), reduction=reduction), ref.l1_loss(x, t, reduction), rtol=1e-12)
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), [t64(x), t64(t)])
    assert gradcheck(lambda a, b: F.l1_loss(a, b, reduction=reduction), [t64(x), t64(t)])
    assert F.mse_loss(fg.randn(3, 5), fg.randn(3, 5), size_average=False).shape == ()
    with pytest.raises(ValueError, match="mse_loss"):
        F.mse_loss(fg.randn(3, 5), fg.randn(4, 5))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction):
    rng = np.random.default_rng(17)
    x, t, w = rng.uniform(0.05, 0.95, (4, 3)), rng.random((4, 3)), rng.random(3) + 0.5
    close(F.binary_cross_entropy(t64(x, False), t64(t, False), t64(w, False), reduction=reduction),
          ref.binary_cross_entropy(x, t, w, reduction), rtol=1e-12)
    assert gradcheck(lambda a, b, w: F.binary_cross_entropy(a, b, w, reduction=reduction), [t64(x), t64(t), t64(w)])
    # log clamped at -100 like torch: x = 0 with t = 1 gives 100, not inf
    assert F.binary_cross_entropy(fg.tensor([0.0, 1.0]), fg.tensor([1.0, 0.0]), reduction="none").tolist() == [100.0, 100.0]
    with pytest.raises(ValueError, match="binary_cross_entropy: target size"):
        F.binary_cross_entropy(fg.rand(3), fg.rand(3, 1))
    with pytest.raises(ValueError, match="binary_cross_entropy: all elements of input"):
        F.binary_cross_entropy(fg.tensor([1.5]), fg.tensor([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(reduction):
    rng = np.random.default_rng(18)
    x, t = rng.standard_normal((4, 3)) * 3, rng.random((4, 3))
    w, pw = rng.random((4, 1)) + 0.5, rng.random(3) + 0.5
    close(F.binary_cross_entropy_with_logits(t64(x, False), t64(t, False), t64(w, False), reduction=reduction,
                                             pos_weight=t64(pw, False)),
          ref.binary_cross_entropy_with_logits(x, t, w, reduction, pw), rtol=1e-12)
    assert gradcheck(lambda a, b, w, pw: F.binary_cross_entropy_with_logits(a, b, w, reduction=reduction, pos_weight=pw),
                     [t64(x), t64(t), t64(w), t64(pw)])
    big = F.binary_cross_entropy_with_logits(fg.tensor([1000.0, -1000.0]), fg.tensor([0.0, 1.0]), reduction="none")
    close(big, [1000.0, 1000.0])
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: target size"):
        F.binary_cross_entropy_with_logits(fg.rand(3), fg.rand(4))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: pos_weight"):
        F.binary_cross_entropy_with_logits(fg.rand(2, 3), fg.rand(2, 3), pos_weight=fg.rand(4))


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    rng = np.random.default_rng(19)
    x = log_softmax(rng.standard_normal((4, 5)), 1)
    t = np.exp(log_softmax(rng.standard_normal((4, 5)), 1))
    if log_target:
        t = np.log(t)
    else:
        t[0, 0] = 0.0
    close(F.kl_div(t64(x, False), t64(t, False), reduction=reduction, log_target=log_target),
          ref.kl_div(x, t, reduction, log_target), rtol=1e-12)
    t_pos = np.where(t == 0, 0.3, t)
    assert gradcheck(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target), [t64(x), t64(t_pos)])


# ---- distances ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cosine_similarity(dim):
    rng = np.random.default_rng(20)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    close(F.cosine_similarity(t64(a, False), t64(b, False), dim), ref.cosine_similarity(a, b, dim), rtol=1e-12)
    assert gradcheck(lambda x, y: F.cosine_similarity(x, y, dim), [t64(a), t64(b)])
    bb = rng.standard_normal((1, 5))
    close(F.cosine_similarity(t64(a, False), t64(bb, False), 1), ref.cosine_similarity(a, bb, 1), rtol=1e-12)
    close(F.cosine_similarity(fg.from_numpy(a.T), fg.from_numpy(b.T), 0), ref.cosine_similarity(a, b, 1), rtol=1e-12)
    with pytest.raises(ValueError, match="cosine_similarity"):
        F.cosine_similarity(fg.randn(3, 4), fg.randn(3, 5))


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance(p, keepdim):
    rng = np.random.default_rng(21)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    close(F.pairwise_distance(t64(a, False), t64(b, False), p, keepdim=keepdim),
          ref.pairwise_distance(a, b, p, keepdim=keepdim), rtol=1e-12)
    assert gradcheck(lambda x, y: F.pairwise_distance(x, y, p, keepdim=keepdim), [t64(a), t64(b)])
    close(F.pairwise_distance(t64(a[0], False), t64(b[0], False), p), ref.pairwise_distance(a[0], b[0], p), rtol=1e-12)
    with pytest.raises(ValueError, match="pairwise_distance"):
        F.pairwise_distance(fg.randn(3, 4), fg.randn(2, 4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_loss(reduction, swap):
    rng = np.random.default_rng(22)
    a, p_, n = (rng.standard_normal((6, 4)) for _ in range(3))
    close(F.triplet_margin_loss(t64(a, False), t64(p_, False), t64(n, False), margin=1.5, swap=swap, reduction=reduction),
          ref.triplet_margin_loss(a, p_, n, 1.5, 2, 1e-6, swap, reduction), rtol=1e-12)
    assert gradcheck(lambda x, y, z: F.triplet_margin_loss(x, y, z, margin=1.5, swap=swap, reduction=reduction),
                     [t64(a), t64(p_), t64(n)])
    with pytest.raises(ValueError, match="triplet_margin_loss"):
        F.triplet_margin_loss(fg.randn(3, 4), fg.randn(3, 4), fg.randn(3, 4, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cosine_embedding_loss(reduction):
    rng = np.random.default_rng(23)
    a, b = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    y = np.array([1, -1, 1, -1, -1, 1])
    close(F.cosine_embedding_loss(t64(a, False), t64(b, False), fg.tensor(y), margin=0.1, reduction=reduction),
          ref.cosine_embedding_loss(a, b, y, 0.1, reduction), rtol=1e-12)
    assert gradcheck(lambda x, z: F.cosine_embedding_loss(x, z, fg.tensor(y), margin=-0.5, reduction=reduction),
                     [t64(a), t64(b)])
    with pytest.raises(ValueError, match="cosine_embedding_loss: target shape"):
        F.cosine_embedding_loss(fg.randn(3, 4), fg.randn(3, 4), fg.tensor([1, -1]))


def test_losses_against_torch_if_installed():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    rng = np.random.default_rng(24)
    x = rng.standard_normal((6, 5, 3)).astype(np.float32)
    t = rng.integers(0, 5, (6, 3))
    t[0, 0] = 2
    w = (rng.random(5) + 0.5).astype(np.float32)
    for reduction in REDUCTIONS:
        for ls in (0.0, 0.25):
            tx = torch.tensor(x, requires_grad=True)
            tl = tF.cross_entropy(tx, torch.tensor(t), torch.tensor(w), ignore_index=2, reduction=reduction,
                                  label_smoothing=ls)
            tl.sum().backward()
            fx = fg.tensor(x, requires_grad=True)
            fl = F.cross_entropy(fx, fg.tensor(t), fg.tensor(w), ignore_index=2, reduction=reduction, label_smoothing=ls)
            fl.sum().backward()
            close(fl, tl.detach().numpy(), rtol=1e-5, atol=1e-6)
            close(fx.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-6)
    p = np.exp(log_softmax(rng.standard_normal((6, 5, 3)), 1)).astype(np.float32)
    tl = tF.cross_entropy(torch.tensor(x), torch.tensor(p), torch.tensor(w), label_smoothing=0.1)
    close(F.cross_entropy(fg.tensor(x), fg.tensor(p), fg.tensor(w), label_smoothing=0.1), tl.numpy(), rtol=1e-5)
    xx, tt = rng.standard_normal((4, 3)).astype(np.float32), rng.random((4, 3)).astype(np.float32)
    close(F.binary_cross_entropy_with_logits(fg.tensor(xx), fg.tensor(tt), pos_weight=fg.tensor([1.0, 2.0, 0.5])),
          tF.binary_cross_entropy_with_logits(torch.tensor(xx), torch.tensor(tt), pos_weight=torch.tensor([1.0, 2.0, 0.5])).numpy())
    a, b = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)
    close(F.cosine_similarity(fg.tensor(a), fg.tensor(b)), tF.cosine_similarity(torch.tensor(a), torch.tensor(b)).numpy())
    close(F.pairwise_distance(fg.tensor(a), fg.tensor(b), 3.0),
          tF.pairwise_distance(torch.tensor(a), torch.tensor(b), 3.0).numpy())
    close(F.kl_div(fg.tensor(a), fg.tensor(np.abs(b)), reduction="batchmean"),
          tF.kl_div(torch.tensor(a), torch.tensor(np.abs(b)), reduction="batchmean").numpy())
