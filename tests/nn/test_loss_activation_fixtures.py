"""Activation and loss modules (and a few functional forms) against PyTorch: outputs and input
gradients in float64 on the cases of tests/fixtures/gen/loss_activation_cases.py, whose values
tests/fixtures/gen/gen_loss_activation.py wrote from torch."""

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
_spec = importlib.util.spec_from_file_location("loss_activation_cases", FIXTURES / "gen" / "loss_activation_cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)

DATA = np.load(FIXTURES / "loss_activation_modules.npz")
CASES = cases.all_cases()
# torch's hardsigmoid backward multiplies by the float32 constant 1.0f / 6 (relative error 3e-8)
GRAD_RTOL = {"act:Hardsigmoid": 1e-7}


def test_every_case_has_a_fixture():
    stored = {k.split("|")[0] for k in DATA.files}
    assert stored == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    build, _, needs_grad = CASES[name]
    xs = [DATA[f"{name}|in{i}"] for i in range(len(needs_grad))]
    ts = [fg.tensor(x, requires_grad=bool(g) and x.dtype == np.float64) for x, g in zip(xs, needs_grad)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn = build(nn, F, lambda a: fg.tensor(a, dtype=fg.float64))
    out = fn(*ts)
    want = DATA[f"{name}|out"]
    assert out.dtype == np.float64 and tuple(out.shape) == want.shape, (out.dtype, out.shape, want.shape)
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-10, atol=1e-12)
    (out * fg.tensor(cases.upstream(want.shape))).sum().backward()
    for i, t in enumerate(ts):
        key = f"{name}|grad{i}"
        if key in DATA.files:
            assert t.grad is not None, f"input {i} got no gradient"
            np.testing.assert_allclose(t.grad.numpy(), DATA[key], rtol=GRAD_RTOL.get(name, 1e-9), atol=1e-11,
                                       err_msg=f"grad of input {i}")
