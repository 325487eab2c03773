"""EmbeddingBag / F.embedding_bag, the margin losses (multi_margin, multilabel_margin,
multilabel_soft_margin + modules) against torch (tests/fixtures/nn_more_cases.npz) on cpu
float64 and wgpu float32; F.gumbel_softmax by its definition; gradcheck and bad arguments."""

import sys
from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F
from ferrograd.testing import gradcheck

sys.path.insert(0, str(Path(__file__).parent))
from _nn_more_replay import check, names, wgpu  # noqa: E402,F401

BAG_CASES = names(["eb_", "EmbeddingBag"])
LOSS_CASES = names(["multi", "Multi"])


@pytest.mark.parametrize("name", BAG_CASES + LOSS_CASES)
def test_match_torch(name):
    check(name)


# max_norm renormalises rows through numpy.linalg.norm, which F.embedding runs on cpu only.
@pytest.mark.parametrize("name", [n for n in BAG_CASES if n != "eb_max_norm"] + LOSS_CASES)
def test_match_torch_on_wgpu(wgpu, name):
    check(name, np.float32, "wgpu", rtol=2e-4, atol=2e-5)


def test_embedding_bag_module_init_and_from_pretrained():
    fg.manual_seed(0)
    m = nn.EmbeddingBag(50, 4, padding_idx=-1)
    assert m.padding_idx == 49 and m.mode == "mean" and list(m.state_dict()) == ["weight"]
    w = m.weight.detach().numpy()
    assert not w[49].any() and abs(w[:49].std() - 1) < 0.2  # N(0, 1), padding row zero
    pre = fg.randn(5, 2)
    bag = nn.EmbeddingBag.from_pretrained(pre, mode="sum")
    assert not bag.weight.requires_grad and bag.mode == "sum"
    np.testing.assert_array_equal(bag(fg.tensor([[0, 1]])).numpy(), (pre.numpy()[0] + pre.numpy()[1])[None])
    assert nn.EmbeddingBag.from_pretrained(pre, freeze=False).weight.requires_grad


def test_embedding_bag_gradcheck_and_edge_cases():
    fg.manual_seed(1)
    w = fg.randn(6, 3, dtype=fg.float64, requires_grad=True)
    psw = fg.randn(7, dtype=fg.float64, requires_grad=True)
    ids, offs = fg.tensor([0, 1, 1, 5, 2, 3, 0]), fg.tensor([0, 3, 3])
    assert gradcheck(lambda w, s: F.embedding_bag(ids, w, offs, mode="sum", per_sample_weights=s), [w, psw])
    assert gradcheck(lambda w: F.embedding_bag(ids, w, offs, mode="max"), [w])
    assert gradcheck(lambda w: F.embedding_bag(ids, w, offs, padding_idx=1), [w])
    # no bags, and bags over an empty input
    assert F.embedding_bag(ids, w, fg.tensor([], dtype=fg.int64)).shape == (0, 3)
    empty = F.embedding_bag(fg.tensor([], dtype=fg.int64), w, fg.tensor([0, 0]), mode="max")
    assert empty.shape == (2, 3) and not empty.detach().numpy().any()
    # int32 ids and offsets
    a = F.embedding_bag(ids.to(fg.int32), w, offs.to(fg.int32))
    np.testing.assert_allclose(a.detach().numpy(), F.embedding_bag(ids, w, offs).detach().numpy())


def test_embedding_bag_bad_arguments():
    w = fg.randn(5, 2)
    ids = fg.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor but got None"):
        F.embedding_bag(ids, w)
    with pytest.raises(ValueError, match="if input is 2D, then offsets has to be None"):
        F.embedding_bag(ids.reshape(1, 3), w, fg.tensor([0]))
    with pytest.raises(RuntimeError, match=r"offsets\[0\] has to be 0"):
        F.embedding_bag(ids, w, fg.tensor([1, 2]))
    with pytest.raises(RuntimeError, match=r"offsets\[-1\] can not be greater than input's length \(3\)"):
        F.embedding_bag(ids, w, fg.tensor([0, 4]))
    with pytest.raises(RuntimeError, match="non-decreasing"):
        F.embedding_bag(ids, w, fg.tensor([0, 2, 1]))
    with pytest.raises(ValueError, match="mode has to be one of sum, mean or max"):
        F.embedding_bag(ids, w, fg.tensor([0]), mode="min")
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for mode='sum'"):
        F.embedding_bag(ids, w, fg.tensor([0]), per_sample_weights=fg.ones(3))
    with pytest.raises(ValueError, match=r"per_sample_weights \(\(2,\)\) is not None, then it must have the same shape"):
        F.embedding_bag(ids, w, fg.tensor([0]), mode="sum", per_sample_weights=fg.ones(2))
    with pytest.raises(ValueError, match="max mode does not support scaling the gradient"):
        F.embedding_bag(ids, w, fg.tensor([0]), mode="max", scale_grad_by_freq=True)
    with pytest.raises(RuntimeError, match="padding_idx must be within the number of embeddings, -5 through 4"):
        F.embedding_bag(ids, w, fg.tensor([0]), padding_idx=5)
    with pytest.raises(ValueError, match="index 7 is out of range"):
        F.embedding_bag(fg.tensor([0, 7]), w, fg.tensor([0]))
    with pytest.raises(TypeError, match="input must hold int32/int64 ids"):
        F.embedding_bag(fg.randn(3), fg.randn(5, 2), fg.tensor([0]))
    with pytest.raises(ValueError, match="weight has to be a 2D Tensor"):
        F.embedding_bag(ids, fg.randn(5), fg.tensor([0]))
    with pytest.raises(ValueError, match="EmbeddingBag: padding_idx must be within num_embeddings"):
        nn.EmbeddingBag(5, 2, padding_idx=5)


# ---- margin losses --------------------------------------------------------------------------------
def test_losses_gradcheck():
    fg.manual_seed(2)
    x = fg.randn(3, 4, dtype=fg.float64, requires_grad=True)
    t = fg.tensor([1, 0, 3])
    w = fg.rand(4, dtype=fg.float64) + 0.5
    assert gradcheck(lambda x: F.multi_margin_loss(x, t, p=2, margin=0.8, weight=w, reduction="none"), [x])
    tl = fg.tensor([[3, 0, -1, 1], [1, 2, 3, 0], [-1, 0, 0, 0]])
    assert gradcheck(lambda x: F.multilabel_margin_loss(x, tl, reduction="none"), [x])
    y = (fg.rand(3, 4, dtype=fg.float64) > 0.5).to(fg.float64)
    wt = fg.rand(4, dtype=fg.float64, requires_grad=True)
    assert gradcheck(lambda x, wt: F.multilabel_soft_margin_loss(x, y, wt), [x, wt])


def test_loss_modules_defaults_and_buffers():
    m = nn.MultiMarginLoss()
    assert (m.p, m.margin, m.reduction, m.weight) == (1, 1.0, "mean", None)
    w = nn.MultiLabelSoftMarginLoss(weight=fg.ones(3))
    assert list(w.state_dict()) == ["weight"]
    assert nn.MultiLabelMarginLoss(reduce=False).reduction == "none"


def test_loss_bad_arguments():
    x = fg.randn(3, 4)
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        F.multi_margin_loss(x, fg.tensor([0, 1, 2]), p=3)
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(RuntimeError, match=r"inconsistent target size, expected 3 but got \(2,\)"):
        F.multi_margin_loss(x, fg.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="target out of range"):
        F.multi_margin_loss(x, fg.tensor([0, 1, 4]))
    with pytest.raises(ValueError, match="weight must be one-dimensional"):
        F.multi_margin_loss(x, fg.tensor([0, 1, 2]), weight=fg.ones(1, 4))
    with pytest.raises(TypeError, match="target must hold int32/int64 class indices"):
        F.multi_margin_loss(x, fg.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(RuntimeError, match=r"inconsistent target size: \(3, 3\) for input of size: \(3, 4\)"):
        F.multilabel_margin_loss(x, fg.zeros(3, 3, dtype=fg.int64))
    with pytest.raises(RuntimeError, match="target index is out of range"):
        F.multilabel_margin_loss(x, fg.full((3, 4), 4, dtype=fg.int64))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.multilabel_soft_margin_loss(x, fg.zeros(3, 4), reduction="avg")
    with pytest.raises(ValueError, match=r"target shape \(3, 3\) must equal input shape \(3, 4\)"):
        F.multilabel_soft_margin_loss(x, fg.zeros(3, 3))


# ---- gumbel_softmax ---------------------------------------------------------------------------------
def _noise(shape, seed):
    fg.manual_seed(seed)
    return -fg.empty(*shape, dtype=fg.float64).exponential_().log().numpy()


def test_gumbel_softmax_is_softmax_of_perturbed_logits():
    logits = fg.randn(4, 6, dtype=fg.float64)
    g = _noise((4, 6), 3)
    fg.manual_seed(3)
    y = F.gumbel_softmax(logits, tau=0.5)
    z = (logits.numpy() + g) / 0.5
    want = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(y.numpy(), want / want.sum(1, keepdims=True), rtol=1e-12)
    fg.manual_seed(3)
    y0 = F.gumbel_softmax(logits, tau=0.5, dim=0)
    np.testing.assert_allclose(y0.numpy().sum(0), np.ones(6))


def test_gumbel_softmax_hard_is_one_hot_with_the_soft_gradient():
    logits = fg.randn(5, 4, dtype=fg.float64, requires_grad=True)
    fg.manual_seed(7)
    hard = F.gumbel_softmax(logits, tau=2.0, hard=True)
    v = hard.detach().numpy()
    assert set(np.unique(v)) == {0.0, 1.0} and (v.sum(1) == 1).all()
    fg.manual_seed(7)
    soft = F.gumbel_softmax(logits, tau=2.0)
    assert (v.argmax(1) == soft.detach().numpy().argmax(1)).all()
    up = fg.randn(5, 4, dtype=fg.float64)
    (hard * up).sum().backward()
    g_hard = logits.grad.numpy().copy()
    logits.grad = None
    (soft * up).sum().backward()
    np.testing.assert_allclose(g_hard, logits.grad.numpy(), rtol=1e-12)  # straight through

    def seeded(x):
        fg.manual_seed(11)
        return F.gumbel_softmax(x, tau=0.7)

    assert gradcheck(seeded, [logits])


def test_gumbel_softmax_on_wgpu_and_bad_arguments(wgpu):
    y = F.gumbel_softmax(fg.randn(3, 5, device="wgpu"), hard=True)
    assert y.device == "wgpu" and (y.numpy().sum(1) == 1).all()
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        F.gumbel_softmax(fg.randn(3, 5), dim=2)
    with pytest.raises(TypeError, match="logits must be float32 or float64"):
        F.gumbel_softmax(fg.tensor([1, 2]))
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
        F.gumbel_softmax(fg.randn(2, 2), eps=1e-5)
