"""The activation and loss modules composed of Tensor ops, gradient clipping and the parameter
vector helpers give on "wgpu" what they give on "cpu" (values and gradients)."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F
from ferrograd.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters

TOL = 2e-5


def both(build):
    """build(device) -> (scalar output, [tensors whose grads to compare]) on each device."""
    out = {}
    for device in ("cpu", "wgpu"):
        fg.manual_seed(3)
        y, leaves = build(device)
        assert y.device == device
        y.backward()
        out[device] = (y.detach().numpy(), [None if t.grad is None else t.grad.numpy() for t in leaves])
    (yc, gc), (yd, gd) = out["cpu"], out["wgpu"]
    np.testing.assert_allclose(yd, yc, rtol=TOL, atol=TOL)
    for c, d in zip(gc, gd):
        assert (c is None) == (d is None)
        if c is not None:
            np.testing.assert_allclose(d, c, rtol=TOL, atol=TOL)


def x_(device, *shape, seed=0, scale=3.0):
    a = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)
    return fg.tensor(a, device=device, requires_grad=True)


ACTIVATIONS = {
    "ELU": lambda: nn.ELU(0.7), "SELU": lambda: nn.SELU(), "CELU": lambda: nn.CELU(1.3),
    "Softplus": lambda: nn.Softplus(beta=2.0, threshold=3.0), "Softsign": lambda: nn.Softsign(),
    "LogSigmoid": lambda: nn.LogSigmoid(), "Tanhshrink": lambda: nn.Tanhshrink(), "Mish": lambda: nn.Mish(),
    "Hardswish": lambda: nn.Hardswish(), "Hardsigmoid": lambda: nn.Hardsigmoid(),
    "Hardtanh": lambda: nn.Hardtanh(-0.5, 1.5), "ReLU6": lambda: nn.ReLU6(), "Threshold": lambda: nn.Threshold(0.3, -2.0),
    "Hardshrink": lambda: nn.Hardshrink(0.7), "Softshrink": lambda: nn.Softshrink(0.7),
    "RReLU_eval": lambda: nn.RReLU().eval(), "GLU": lambda: nn.GLU(dim=1), "Softmin": lambda: nn.Softmin(dim=1),
    "PReLU": lambda: nn.PReLU(6, init=0.3),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_modules(name):
    def build(device):
        m = ACTIVATIONS[name]().to(device)
        x = x_(device, 5, 6)
        y = m(x)
        w = fg.tensor(np.cos(np.arange(y.numel())).reshape(y.shape).astype(np.float32), device=device)
        return (y * w).sum(), [x] + list(m.parameters())

    both(build)


def test_rrelu_training_on_the_device():
    x = fg.tensor(-np.ones(4000, np.float32), device="wgpu", requires_grad=True)
    y = nn.RReLU(0.1, 0.3)(x)
    y.sum().backward()
    slopes = -y.detach().numpy()
    assert y.device == "wgpu" and 0.1 <= slopes.min() and slopes.max() <= 0.3
    np.testing.assert_allclose(x.grad.numpy(), slopes, rtol=1e-6)


def _signs(device, *shape, seed=9):
    return fg.tensor(np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0).astype(np.float32), device=device)


LOSSES = {
    "SmoothL1Loss": lambda d, a, b, c: nn.SmoothL1Loss(beta=0.5)(a, b),
    "HuberLoss": lambda d, a, b, c: nn.HuberLoss(reduction="sum", delta=0.7)(a, b),
    "SoftMarginLoss": lambda d, a, b, c: nn.SoftMarginLoss()(a, _signs(d, 4, 5)),
    "MarginRankingLoss": lambda d, a, b, c: nn.MarginRankingLoss(0.3)(a[:, 0], b[:, 0], _signs(d, 4)),
    "HingeEmbeddingLoss": lambda d, a, b, c: nn.HingeEmbeddingLoss(0.8)(a, _signs(d, 4, 5)),
    "GaussianNLLLoss": lambda d, a, b, c: nn.GaussianNLLLoss(full=True)(a, b, c.abs() + 0.1),
    "GaussianNLLLoss_column_var": lambda d, a, b, c: nn.GaussianNLLLoss()(a, b, c[:, :1].abs() + 0.1),
    "GaussianNLLLoss_float_var": lambda d, a, b, c: F.gaussian_nll_loss(a, b, 0.5, reduction="sum"),
    "PoissonNLLLoss": lambda d, a, b, c: nn.PoissonNLLLoss()(a, c.abs().detach()),
    "PoissonNLLLoss_full_linear": lambda d, a, b, c: nn.PoissonNLLLoss(log_input=False, full=True)(
        a.abs() + 0.1, c.abs().detach() * 3),
    "TripletMarginWithDistanceLoss": lambda d, a, b, c: nn.TripletMarginWithDistanceLoss(swap=True)(a, b, c),
    "TripletMarginWithDistanceLoss_cosine": lambda d, a, b, c: nn.TripletMarginWithDistanceLoss(
        distance_function=lambda u, v: 1 - F.cosine_similarity(u, v), margin=0.5)(a, b, c),
    "CosineSimilarity": lambda d, a, b, c: nn.CosineSimilarity()(a, b).sum(),
    "PairwiseDistance": lambda d, a, b, c: nn.PairwiseDistance(p=3.0)(a, b).sum(),
    "MSELoss_weight": lambda d, a, b, c: F.mse_loss(a, b, weight=c.abs()),
    "L1Loss_weight": lambda d, a, b, c: F.l1_loss(a, b, weight=c.abs(), reduction="sum"),
    "HuberLoss_weight": lambda d, a, b, c: F.huber_loss(a, b, weight=c.abs()),
    "CrossEntropyLoss_weight": lambda d, a, b, c: nn.CrossEntropyLoss(
        weight=fg.tensor([0.5, 1.0, 2.0, 1.5, 1.0])).to(d)(a, fg.tensor([0, 4, 2, 1], device=d)),
    "BCEWithLogitsLoss_pos_weight": lambda d, a, b, c: nn.BCEWithLogitsLoss(
        pos_weight=fg.tensor([2.0, 1.0, 0.5, 1.0, 3.0])).to(d)(a, b.sigmoid().detach()),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_modules(name):
    def build(device):
        a, b, c = x_(device, 4, 5, seed=1, scale=1), x_(device, 4, 5, seed=2, scale=1), x_(device, 4, 5, seed=3, scale=1)
        return LOSSES[name](device, a, b, c), [a, b, c]

    both(build)


def test_loss_weight_buffers_move_with_the_module():
    ce = nn.CrossEntropyLoss(weight=fg.tensor([1.0, 2.0, 3.0])).to("wgpu")
    assert ce.weight.device == "wgpu"
    assert ce(fg.randn(4, 3, device="wgpu"), fg.tensor([0, 1, 2, 1], device="wgpu")).device == "wgpu"


@pytest.mark.parametrize("norm_type", [2.0, 3.0, float("inf")])
def test_clip_grad_norm_stays_on_the_device(norm_type):
    res = {}
    for device in ("cpu", "wgpu"):
        ws = [fg.tensor(np.float32([[3.0, -4.0]]), device=device, requires_grad=True),
              fg.tensor(np.float32([12.0, 0.5]), device=device, requires_grad=True)]
        (ws[0].sum() * 2 + (ws[1] * ws[1]).sum()).backward()
        total = clip_grad_norm_(ws, 1.0, norm_type, foreach=None)
        assert total.shape == () and total.dtype == np.float32 and total.device == device
        res[device] = (total.numpy(), [w.grad.numpy() for w in ws])
    np.testing.assert_allclose(res["wgpu"][0], res["cpu"][0], rtol=1e-5)
    for c, d in zip(res["cpu"][1], res["wgpu"][1]):
        np.testing.assert_allclose(d, c, rtol=1e-5)


def test_clip_grad_value_and_parameter_vectors_on_the_device():
    m = nn.Linear(3, 2).to("wgpu")
    m(fg.randn(5, 3, device="wgpu") * 10).sum().backward()
    clip_grad_value_(m.parameters(), 0.5, foreach=True)
    assert m.weight.grad.device == "wgpu" and np.abs(m.weight.grad.numpy()).max() <= 0.5
    vec = parameters_to_vector(m.parameters())
    assert vec.device == "wgpu" and vec.shape == (8,)
    new = fg.arange(8, dtype=fg.float32, device="wgpu")
    vector_to_parameters(new, m.parameters())
    assert m.weight.device == "wgpu"
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(m.bias.detach().numpy(), [6.0, 7.0])
    with pytest.raises(ValueError, match="vector_to_parameters: found parameters on more than one device"):
        vector_to_parameters(fg.zeros(8), m.parameters())
