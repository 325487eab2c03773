"""Learning-rate schedules: closed forms, and PyTorch's sequence when torch is installed."""

import math

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.nn import Parameter
from ferrograd.optim import lr_scheduler as S


def _lrs(make, steps=20, lr=0.5, opt_cls=None):
    p = Parameter(fg.ones(2))
    opt = (opt_cls or fg.optim.SGD)([p], lr=lr, momentum=0.9)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out, opt


def test_step_lr():
    lrs, _ = _lrs(lambda o: S.StepLR(o, step_size=3, gamma=0.5), steps=7)
    np.testing.assert_allclose(lrs, [0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125])


def test_cosine_annealing():
    lrs, _ = _lrs(lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.1), steps=11)
    want = [0.1 + 0.4 * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(11)]
    np.testing.assert_allclose(lrs, want)


def test_linear_warmup_then_constant():
    lrs, _ = _lrs(lambda o: S.LinearLR(o, start_factor=0.25, total_iters=3), steps=6)
    np.testing.assert_allclose(lrs, [0.125, 0.25, 0.375, 0.5, 0.5, 0.5])


def test_lambda_lr():
    lrs, _ = _lrs(lambda o: S.LambdaLR(o, lambda e: 1 / (e + 1)), steps=4)
    np.testing.assert_allclose(lrs, [0.5, 0.25, 0.5 / 3, 0.125])


def test_one_cycle_rises_to_max_then_anneals_and_cycles_momentum():
    lrs, opt = _lrs(lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=20), steps=20)
    assert lrs[0] == pytest.approx(1.0 / 25)
    peak = int(np.argmax(lrs))
    assert peak == 5 and lrs[peak] == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(1.0 / 25 / 1e4, rel=1e-3)
    assert all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1:]))
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95, abs=0.01)  # back near max_momentum
    with pytest.raises(ValueError, match="total_steps"):
        S.OneCycleLR(opt, max_lr=1.0)


@pytest.mark.parametrize("name, kw", [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.01)),
    ("LinearLR", dict(start_factor=0.1, total_iters=4)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=20)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=20, three_phase=True, anneal_strategy="linear")),
])
def test_matches_pytorch_when_installed(name, kw):
    torch = pytest.importorskip("torch")
    ours, _ = _lrs(lambda o: getattr(S, name)(o, **kw), steps=19)
    tp = torch.nn.Parameter(torch.ones(2))
    topt = torch.optim.SGD([tp], lr=0.5, momentum=0.9)
    ts = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    theirs = []
    for _ in range(19):
        theirs.append(topt.param_groups[0]["lr"])
        topt.step()
        ts.step()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_scheduler_state_round_trip():
    p = Parameter(fg.ones(2))
    opt = fg.optim.SGD([p], lr=0.5)
    s1 = S.StepLR(opt, step_size=2)
    for _ in range(3):
        s1.step()
    s2 = S.StepLR(fg.optim.SGD([Parameter(fg.ones(2))], lr=0.5), step_size=2)
    s2.load_state_dict(s1.state_dict())
    assert s2.last_epoch == 3 and s2.get_last_lr() == s1.get_last_lr()
