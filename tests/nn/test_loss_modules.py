"""Loss and distance modules and the functional losses added with them: numpy references,
float64 gradcheck, torch's constructor arguments, weight buffers, and bad arguments.
(Values and gradients against torch itself: test_loss_activation_fixtures.py.)"""

import math
import warnings

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F
from ferrograd.testing import gradcheck


def t64(a, grad=True):
    return fg.tensor(np.asarray(a, np.float64), dtype=fg.float64, requires_grad=grad)


def _reduce(a, reduction):
    return {"none": a, "mean": a.mean(), "sum": a.sum()}[reduction]


RNG = np.random.default_rng(11)
X, Y = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
S = np.where(RNG.random((4, 5)) < 0.5, -1.0, 1.0)
COUNTS = RNG.poisson(2.0, (4, 5)).astype(np.float64)


def _smooth(d, beta):
    return np.where(np.abs(d) < beta, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta)


def _huber(d, delta):
    return np.where(np.abs(d) < delta, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta))


def _stirling(t):
    safe = np.where(t > 1, t, 1.0)
    return np.where(t > 1, safe * np.log(safe) - safe + 0.5 * np.log(2 * np.pi * safe), 0)


# name: (ferrograd loss of (x, y) with a reduction, numpy elementwise reference of (x, y))
POINTWISE = {
    "smooth_l1_loss": (lambda x, y, r: F.smooth_l1_loss(x, y, reduction=r, beta=0.6), lambda x, y: _smooth(x - y, 0.6)),
    "huber_loss": (lambda x, y, r: F.huber_loss(x, y, reduction=r, delta=0.8), lambda x, y: _huber(x - y, 0.8)),
    "soft_margin_loss": (lambda x, y, r: F.soft_margin_loss(x, t64(S, False), reduction=r),
                         lambda x, y: np.log1p(np.exp(-S * x))),
    "hinge_embedding_loss": (lambda x, y, r: F.hinge_embedding_loss(x, t64(S, False), margin=0.7, reduction=r),
                             lambda x, y: np.where(S == 1, x, np.maximum(0, 0.7 - x))),
    "margin_ranking_loss": (lambda x, y, r: F.margin_ranking_loss(x, y, t64(S, False), margin=0.2, reduction=r),
                            lambda x, y: np.maximum(0, -S * (x - y) + 0.2)),
    "poisson_nll_loss": (lambda x, y, r: F.poisson_nll_loss(x, t64(COUNTS, False), reduction=r),
                         lambda x, y: np.exp(x) - COUNTS * x),
    "poisson_nll_loss_full_linear": (
        lambda x, y, r: F.poisson_nll_loss(x.abs() + 0.1, t64(COUNTS, False), log_input=False, full=True, reduction=r),
        lambda x, y: np.abs(x) + 0.1 - COUNTS * np.log(np.abs(x) + 0.1 + 1e-8) + _stirling(COUNTS)),
    "gaussian_nll_loss": (
        lambda x, y, r: F.gaussian_nll_loss(x, y, t64(np.abs(X) + 0.2, False), full=True, reduction=r),
        lambda x, y: 0.5 * (np.log(np.abs(X) + 0.2) + (x - y) ** 2 / (np.abs(X) + 0.2)) + 0.5 * math.log(2 * math.pi)),
    "mse_loss_weight": (lambda x, y, r: F.mse_loss(x, y, reduction=r, weight=t64(np.abs(Y), False)),
                        lambda x, y: (x - y) ** 2 * np.abs(Y)),
}


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name", sorted(POINTWISE))
def test_functional_matches_numpy_and_gradcheck(name, reduction):
    fn, want = POINTWISE[name]
    got = fn(t64(X, False), t64(Y, False), reduction).numpy()
    expect = want(X, Y)
    if name == "mse_loss_weight" and reduction == "mean":
        expect = expect.sum() / np.abs(Y).sum()  # a weighted mean, as torch's
    else:
        expect = _reduce(expect, reduction)
    np.testing.assert_allclose(got, expect, rtol=1e-12, atol=1e-13)
    assert gradcheck(lambda x, y: fn(x, y, reduction), [t64(X), t64(Y)])


def test_triplet_margin_with_distance_loss_default_and_custom_distance():
    a, p, n = (RNG.standard_normal((3, 4)) for _ in range(3))
    d = lambda u, v: np.linalg.norm(u - v + 1e-6, axis=-1)  # noqa: E731  (pairwise_distance)
    got = F.triplet_margin_with_distance_loss(t64(a, False), t64(p, False), t64(n, False), margin=2.0, reduction="none")
    np.testing.assert_allclose(got.numpy(), np.maximum(0, 2.0 + d(a, p) - d(a, n)), rtol=1e-12)
    l1 = lambda u, v: (u - v).abs().sum(-1)  # noqa: E731
    got = F.triplet_margin_with_distance_loss(t64(a, False), t64(p, False), t64(n, False), distance_function=l1,
                                              swap=True, reduction="sum")
    np1 = lambda u, v: np.abs(u - v).sum(-1)  # noqa: E731
    want = np.maximum(0, 1.0 + np1(a, p) - np.minimum(np1(a, n), np1(p, n))).sum()
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    assert gradcheck(lambda *t: F.triplet_margin_with_distance_loss(*t, swap=True), [t64(a), t64(p), t64(n)])


def test_gaussian_nll_loss_var_shapes_and_clamp():
    x, y = t64(X, False), t64(Y, False)
    full = F.gaussian_nll_loss(x, y, t64(np.full((4, 5), 0.3), False), reduction="none")
    for var in (t64(np.full((4, 1), 0.3), False), t64(np.full(4, 0.3), False), 0.3):
        np.testing.assert_allclose(F.gaussian_nll_loss(x, y, var, reduction="none").numpy(), full.numpy(), rtol=1e-13)
    # var below eps: eps in the value, and the gradient flows to var as if it were not clamped
    var = t64([[1e-9]])
    loss = F.gaussian_nll_loss(t64([[0.1]], False), t64([[0.0]], False), var, eps=1e-6, reduction="sum")
    assert loss.item() == pytest.approx(0.5 * (math.log(1e-6) + 0.01 / 1e-6))
    loss.backward()
    assert var.grad.item() == pytest.approx(0.5 * (1 / 1e-6 - 0.01 / 1e-12))
    assert gradcheck(lambda x, y, v: F.gaussian_nll_loss(x, y, v), [t64(X), t64(Y), t64(np.abs(Y[:, :1]) + 0.5)])


MODULES = [
    (lambda: nn.L1Loss(reduction="sum"), lambda x, y: F.l1_loss(x, y, reduction="sum")),
    (lambda: nn.MSELoss(), F.mse_loss),
    (lambda: nn.SmoothL1Loss(beta=0.3), lambda x, y: F.smooth_l1_loss(x, y, beta=0.3)),
    (lambda: nn.HuberLoss(delta=2.0), lambda x, y: F.huber_loss(x, y, delta=2.0)),
    (lambda: nn.SoftMarginLoss(), F.soft_margin_loss),
    (lambda: nn.HingeEmbeddingLoss(margin=0.5), lambda x, y: F.hinge_embedding_loss(x, y, margin=0.5)),
    (lambda: nn.KLDivLoss(reduction="batchmean", log_target=True),
     lambda x, y: F.kl_div(x, y, reduction="batchmean", log_target=True)),
    (lambda: nn.PoissonNLLLoss(log_input=False, full=True, eps=0.01),
     lambda x, y: F.poisson_nll_loss(x, y, log_input=False, full=True, eps=0.01)),
    (lambda: nn.BCEWithLogitsLoss(), F.binary_cross_entropy_with_logits),
    (lambda: nn.PairwiseDistance(p=1.0, keepdim=True), lambda x, y: F.pairwise_distance(x, y, 1.0, keepdim=True)),
    (lambda: nn.CosineSimilarity(dim=0), lambda x, y: F.cosine_similarity(x, y, 0)),
]


@pytest.mark.parametrize("make,fn", MODULES, ids=[type(m[0]()).__name__ for m in MODULES])
def test_module_equals_functional(make, fn):
    x, y = t64(np.abs(X), False), t64(np.abs(Y) / 4, False)
    np.testing.assert_array_equal(make()(x, y).numpy(), fn(x, y).numpy())


def test_three_input_modules():
    a, b, c = (t64(RNG.standard_normal((3, 4)), False) for _ in range(3))
    s = t64([1.0, -1.0, 1.0], False)
    assert nn.MarginRankingLoss(0.1)(a[:, 0], b[:, 0], s).item() == F.margin_ranking_loss(a[:, 0], b[:, 0], s, 0.1).item()
    assert nn.CosineEmbeddingLoss(0.1)(a, b, s).item() == F.cosine_embedding_loss(a, b, s, 0.1).item()
    m = nn.TripletMarginLoss(margin=0.5, p=1.0, swap=True)
    assert (m.margin, m.p, m.eps, m.swap) == (0.5, 1.0, 1e-6, True)
    assert m(a, b, c).item() == F.triplet_margin_loss(a, b, c, 0.5, 1.0, swap=True).item()
    m = nn.TripletMarginWithDistanceLoss()
    assert isinstance(m.distance_function, nn.PairwiseDistance)
    assert m(a, b, c).item() == F.triplet_margin_with_distance_loss(a, b, c).item()
    g = nn.GaussianNLLLoss(full=True, eps=1e-3)
    assert g(a, b, c.abs()).item() == F.gaussian_nll_loss(a, b, c.abs(), full=True, eps=1e-3).item()


def test_weighted_losses_register_the_weight_as_a_buffer():
    w = fg.tensor([1.0, 2.0, 0.5])
    ce = nn.CrossEntropyLoss(weight=w, ignore_index=1, label_smoothing=0.1)
    assert list(ce.state_dict()) == ["weight"] and list(ce.parameters()) == []
    assert ce.weight is w and (ce.ignore_index, ce.label_smoothing, ce.reduction) == (1, 0.1, "mean")
    x, t = fg.randn(4, 3), fg.tensor([0, 2, 1, 2])
    np.testing.assert_array_equal(
        ce(x, t).numpy(), F.cross_entropy(x, t, weight=w, ignore_index=1, label_smoothing=0.1).numpy())
    assert list(nn.NLLLoss(weight=w).state_dict()) == ["weight"]
    assert list(nn.BCELoss(weight=w).state_dict()) == ["weight"]
    bce = nn.BCEWithLogitsLoss(pos_weight=fg.tensor([2.0]))
    assert list(bce.state_dict()) == ["pos_weight"] and bce.weight is None
    assert nn.CrossEntropyLoss().state_dict() == {}
    ce.double()
    assert ce.weight.dtype == np.float64  # buffers follow .to()/.double() as in torch
    loaded = nn.CrossEntropyLoss(weight=fg.zeros(3))
    loaded.load_state_dict({"weight": fg.tensor([3.0, 2.0, 1.0])})
    assert loaded.weight.tolist() == [3.0, 2.0, 1.0]


def test_legacy_size_average_and_reduce():
    x, y = fg.randn(3, 2), fg.randn(3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert nn.MSELoss(size_average=False).reduction == "sum"
        assert nn.L1Loss(reduce=False).reduction == "none"
        assert nn.SmoothL1Loss(size_average=True, reduction="sum").reduction == "mean"
    assert nn.MSELoss(size_average=False)(x, y).item() == pytest.approx(F.mse_loss(x, y, reduction="sum").item())


def test_bad_arguments_name_the_loss():
    x, y = fg.randn(3, 4), fg.randn(3, 4)
    for make in (lambda r: nn.MSELoss(reduction=r), lambda r: nn.CrossEntropyLoss(reduction=r),
                 lambda r: nn.HuberLoss(reduction=r), lambda r: nn.GaussianNLLLoss(reduction=r)):
        with pytest.raises(ValueError, match=r"Loss: reduction must be one of \('none', 'mean', 'sum'\), got 'avg'"):
            make("avg")
    with pytest.raises(ValueError, match="KLDivLoss: reduction must be one of .*'batchmean'"):
        nn.KLDivLoss(reduction="batch")
    for call, match in [
        (lambda: F.smooth_l1_loss(x, y, reduction="avg"), "smooth_l1_loss: reduction"),
        (lambda: F.huber_loss(x, y, reduction="avg"), "huber_loss: reduction"),
        (lambda: F.soft_margin_loss(x, y, reduction="avg"), "soft_margin_loss: reduction"),
        (lambda: F.poisson_nll_loss(x, y, reduction="avg"), "poisson_nll_loss: reduction"),
        (lambda: F.gaussian_nll_loss(x, y, y.abs(), reduction="avg"), "gaussian_nll_loss: reduction"),
        (lambda: F.smooth_l1_loss(x, y, beta=-1.0), "smooth_l1_loss: beta must be >= 0"),
        (lambda: F.huber_loss(x, y, delta=0.0), "huber_loss: delta must be > 0"),
        (lambda: F.huber_loss(x, y, weight=fg.ones(4)), r"huber_loss: weight shape \(4,\) must equal input shape"),
        (lambda: F.mse_loss(x, y, weight=fg.ones(3, 1)), "mse_loss: weight shape"),
        (lambda: F.smooth_l1_loss(x, fg.randn(2, 4)), r"smooth_l1_loss: input shape \(3, 4\) and target shape \(2, 4\)"),
        (lambda: F.soft_margin_loss(x, fg.randn(5)), "soft_margin_loss: input shape"),
        (lambda: F.hinge_embedding_loss(x, fg.randn(2)), "hinge_embedding_loss: input shape"),
        (lambda: F.margin_ranking_loss(x[0], y[0], fg.ones(2, 4)), "margin_ranking_loss: input1, input2 and target must have the same number of dims"),
        (lambda: F.margin_ranking_loss(x[0], y[0], fg.ones(3)), "margin_ranking_loss: shapes do not broadcast"),
        (lambda: F.gaussian_nll_loss(x, y, fg.ones(4)), r"gaussian_nll_loss: var shape \(4,\) is of incorrect size"),
        (lambda: F.gaussian_nll_loss(x, y, fg.ones(1, 2)), "gaussian_nll_loss: var shape"),
        (lambda: F.gaussian_nll_loss(x, y, -fg.ones(3, 4)), "gaussian_nll_loss: var has negative entries"),
        (lambda: F.gaussian_nll_loss(x, y, -1.0), "gaussian_nll_loss: var has a negative value"),
        (lambda: F.triplet_margin_with_distance_loss(x, y, y[0]), "triplet_margin_with_distance_loss: anchor, positive and negative must have the same number of dims"),
        (lambda: F.triplet_margin_with_distance_loss(x, y, y, margin=0.0), "triplet_margin_with_distance_loss: margin must be greater than 0"),
        (lambda: F.triplet_margin_loss(x, y, y, margin=-1.0), "triplet_margin_loss: margin must be greater than 0"),
        (lambda: nn.TripletMarginLoss(margin=0.0), "TripletMarginLoss: margin must be greater than 0"),
        (lambda: nn.TripletMarginWithDistanceLoss(margin=-1.0), "TripletMarginWithDistanceLoss: margin"),
        (lambda: nn.HuberLoss(delta=-1.0), "HuberLoss: delta must be > 0"),
        (lambda: nn.SmoothL1Loss(beta=-1.0), "SmoothL1Loss: beta must be >= 0"),
        (lambda: nn.CrossEntropyLoss(label_smoothing=1.5), "CrossEntropyLoss: label_smoothing"),
        (lambda: nn.CrossEntropyLoss()(x, fg.tensor([0, 1])), "cross_entropy: target shape"),
    ]:
        with pytest.raises(ValueError, match=match):
            call()
    with pytest.raises(TypeError, match="CrossEntropyLoss: weight must be a Tensor or None, got list"):
        nn.CrossEntropyLoss(weight=[1.0, 2.0])
    with pytest.raises(TypeError, match="BCEWithLogitsLoss: pos_weight must be a Tensor"):
        nn.BCEWithLogitsLoss(pos_weight=2.0)
    with pytest.raises(TypeError, match="huber_loss: input must be a Tensor"):
        F.huber_loss(np.ones(3), y)
