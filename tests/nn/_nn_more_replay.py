"""Replays the cases of tests/fixtures/gen/nn_more_cases.py under ferrograd and compares with
the torch fixture nn_more_cases.npz (outputs, input gradients, parameter gradients)."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg

FIX = Path(__file__).resolve().parents[1] / "fixtures"
sys.path.insert(0, str(FIX / "gen"))
from nn_more_cases import CASES, case_inputs, needs_grad, upstream  # noqa: E402

_DATA = {}


def fixture():
    if "d" not in _DATA:
        _DATA["d"] = np.load(FIX / "nn_more_cases.npz")
    return _DATA["d"]


class Ctx:
    def __init__(self, tensors, dtype, device):
        self.nn, self.F, self.t = fg.nn, fg.nn.functional, tensors
        self.dtype, self.device = dtype, device

    def __getitem__(self, k):
        return self.t[k]

    def load(self, module, prefix):
        module.to(self.dtype).to(self.device)
        state = {k[len(prefix):]: v.detach() for k, v in self.t.items() if k.startswith(prefix)}
        res = module.load_state_dict(state, strict=False)
        assert not res.unexpected_keys, res  # the fixture's names are torch's state_dict keys
        return module


def run(name, dtype=np.float64, device="cpu"):
    """(outputs, input tensors, params) of case `name` under ferrograd, after backward."""
    arrays = case_inputs(name)
    tensors = {}
    for k, v in arrays.items():
        if v.dtype.kind == "f":
            tensors[k] = fg.tensor(v.astype(dtype), device=device, requires_grad=needs_grad(k, v))
        else:
            tensors[k] = fg.tensor(v, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs, params = CASES[name][0](Ctx(tensors, dtype, device))
    terms = [(o * fg.tensor(upstream(tuple(o.shape)).astype(dtype), device=device)).sum()
             for o in outs if o.requires_grad]
    if terms:
        loss = terms[0]
        for t in terms[1:]:
            loss = loss + t
        loss.backward()
    return outs, tensors, params


def check(name, dtype=np.float64, device="cpu", rtol=1e-9, atol=1e-10):
    d = fixture()
    outs, tensors, params = run(name, dtype, device)
    for i, o in enumerate(outs):
        assert o.device == device, f"{name}: out{i} on {o.device}"
        np.testing.assert_allclose(o.detach().numpy(), d[f"{name}|out{i}"], rtol=rtol, atol=atol,
                                   err_msg=f"{name} out{i}")
    for k, t in tensors.items():
        key = f"{name}|grad|{k}"
        if key in d:
            assert t.grad is not None, f"{name}: no gradient for {k}"
            np.testing.assert_allclose(t.grad.numpy(), d[key], rtol=rtol, atol=atol, err_msg=f"{name} grad {k}")
    want = {k.split("|")[2] for k in d.files if k.startswith(f"{name}|gparam|")}
    assert want <= set(params), f"{name}: parameters {sorted(want - set(params))} missing"
    for k in want:
        np.testing.assert_allclose(params[k].grad.numpy(), d[f"{name}|gparam|{k}"], rtol=rtol, atol=atol,
                                   err_msg=f"{name} param grad {k}")


def names(prefixes):
    return [n for n in CASES if n.startswith(tuple(prefixes))]


@pytest.fixture
def wgpu():
    """Opened at the first wgpu test, not at collection (see tests/wgpu/conftest.py)."""
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
