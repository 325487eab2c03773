"""Reductions, scans and selections against torch's conventions where a numpy reference cannot
pin them: gradients at zeros and ties, torch's index choices, histc's binning. Values were
recorded from PyTorch (tests/fixtures/gen/gen_reduce_torch.py); each check runs on cpu (float64)
and on the wgpu device (float32)."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.ops.registry import OPS
from ferrograd.tensor import ValuesIndices
from ferrograd.testing import gradcheck

FIX = np.load(pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "reduce_torch.npz")
op = {name: info.fn for name, info in OPS.items()}  # the registry entries (fg.max may still be hand-written)


def _tol(device):
    return dict(rtol=1e-10, atol=1e-12) if device == "cpu" else dict(rtol=2e-4, atol=2e-5)


def grad_of(fn, x, device, w=None):
    dt = np.float64 if device == "cpu" else np.float32
    t = fg.tensor(np.asarray(x, dt), device=device, requires_grad=True)
    out = fn(t)
    if isinstance(out, tuple):
        out = out[0]
    w = fg.ones_like(out) if w is None else fg.tensor(np.asarray(w, dt), device=device)
    (out * w).sum().backward()
    return np.zeros(np.shape(x)) if t.grad is None else t.grad.cpu().numpy()


def check(got, name, device):
    np.testing.assert_allclose(got, FIX[name], **_tol(device), err_msg=name)


def test_prod_gradient_with_zeros(device):
    check(grad_of(lambda t: op["prod"](t, 1), FIX["prod_x"], device), "prod_dim1_grad", device)
    check(grad_of(lambda t: op["prod"](t), FIX["prod_one_zero"], device), "prod_all_grad", device)


def test_prod_gradient_with_zeros_is_the_derivative():
    x = FIX["prod_x"].copy()  # a polynomial: central differences are exact even at zeros
    assert gradcheck(lambda t: op["prod"](t, 1), [fg.tensor(x, requires_grad=True)])
    assert gradcheck(lambda t: op["prod"](t), [fg.tensor(FIX["prod_one_zero"], requires_grad=True)])


def test_cumprod_gradient_with_zeros(device):
    check(grad_of(lambda t: op["cumprod"](t, 1), FIX["cumprod_x"], device, FIX["cumprod_w"]), "cumprod_grad", device)
    assert gradcheck(lambda t: op["cumprod"](t, 1), [fg.tensor(FIX["cumprod_x"], requires_grad=True)])


@pytest.mark.parametrize("name,p", [("2", 2), ("1", 1), ("3", 3), ("half", 0.5), ("inf", math.inf), ("ninf", -math.inf), ("m1", -1)])
def test_norm_gradient_at_zero_as_torch(device, name, p):
    check(grad_of(lambda t: op["norm"](t, p), FIX["norm_x"], device), f"norm_grad_{name}", device)
    check(grad_of(lambda t: op["norm"](t, p), np.zeros(3), device), f"norm_grad0_{name}", device)


@pytest.mark.parametrize("p", [3, 0.5, -1.5, math.inf, -math.inf, 1])
def test_norm_gradcheck_for_every_p(p):
    x = np.random.default_rng(3).standard_normal((3, 4))
    assert gradcheck(lambda t: op["norm"](t, p, 1), [fg.tensor(x, requires_grad=True)])


def test_norm_p0_has_no_gradient_as_torch():
    t = fg.tensor([1.0, 0.0, 2.0], requires_grad=True)
    out = op["norm"](t, 0)
    assert out.item() == 2.0 and out.requires_grad
    out.backward()
    assert t.grad is None


def test_ties_share_the_gradient_and_dim_forms_pick_the_index(device):
    ties = FIX["ties"]
    check(grad_of(lambda t: op["amax"](t), ties, device), "amax_grad", device)
    check(grad_of(lambda t: op["max"](t), ties, device), "max_grad", device)
    check(grad_of(lambda t: op["amax"](t, 1), ties, device), "amax_dim_grad", device)
    check(grad_of(lambda t: op["max"](t, 1).values, ties, device), "max_dim_grad", device)
    check(grad_of(lambda t: op["min"](t, 0).values, ties, device), "min_dim_grad", device)
    check(grad_of(lambda t: (lambda r: r.min.sum() + r.max.sum())(op["aminmax"](t)), ties, device), "aminmax_grad", device)
    check(grad_of(lambda t: op["median"](t), FIX["median_x"], device), "median_grad", device)


def test_std_gradient_is_zero_where_std_is_zero(device):
    check(grad_of(lambda t: op["std"](t, 1), FIX["std_x"], device), "std_grad", device)


def test_logsumexp_and_logcumsumexp_gradients(device):
    check(grad_of(lambda t: op["logsumexp"](t, 1), FIX["lse_x"], device), "lse_grad", device)
    check(grad_of(lambda t: op["logcumsumexp"](t, 1), FIX["lcse_x"], device, FIX["lcse_w"]), "lcse_grad", device)


def test_cummax_cummin_indices_as_torch(device):
    x = fg.tensor(FIX["cum_x"].astype(np.float32), device=device)
    for name in ("cummax", "cummin"):
        values, indices = op[name](x, 1)
        np.testing.assert_array_equal(values.cpu().numpy(), FIX[f"{name}_values"].astype(np.float32))
        np.testing.assert_array_equal(indices.cpu().numpy(), FIX[f"{name}_indices"])


def test_median_mode_kthvalue_choices_as_torch(device):
    x = fg.tensor(FIX["sel_x"].astype(np.float32), device=device)
    values, indices = op["median"](x, 1)
    np.testing.assert_array_equal(values.cpu().numpy(), FIX["median_dim_values"])
    np.testing.assert_array_equal(indices.cpu().numpy(), FIX["median_dim_indices"])
    values, indices = op["mode"](x, 1)
    np.testing.assert_array_equal(values.cpu().numpy(), FIX["mode_values"])
    np.testing.assert_array_equal(indices.cpu().numpy(), FIX["mode_indices"])
    np.testing.assert_array_equal(op["kthvalue"](x, 3, 1).values.cpu().numpy(), FIX["kthvalue_values"])
    nan_rows = fg.tensor(FIX["median_nan_x"].astype(np.float32), device=device)
    values, indices = op["median"](nan_rows, 1)
    np.testing.assert_array_equal(values.cpu().numpy(), FIX["median_nan_values"].astype(np.float32))
    np.testing.assert_array_equal(indices.cpu().numpy(), FIX["median_nan_indices"])


@pytest.mark.parametrize("case,kw", [("a", {"bins": 10, "min": 0, "max": 1}), ("b", {"bins": 7, "min": 0, "max": 1}),
                                     ("c", {"bins": 13}), ("c_range", {"bins": 9, "min": -2.5, "max": 4})])
def test_histc_bins_as_torch(device, case, kw):
    x = fg.tensor(FIX[f"histc_{case[0]}"], device=device)
    np.testing.assert_array_equal(op["histc"](x, **kw).cpu().numpy(), FIX[f"histc_{case}_out"])


def test_return_types():
    x = fg.tensor([[1.0, 5.0], [3.0, 2.0]])
    r = op["max"](x, 1)
    assert type(r) is ValuesIndices
    assert r.values.tolist() == [5.0, 3.0] and r.indices.tolist() == [1, 0]
    for name in ("sort", "topk", "kthvalue", "median", "mode", "cummax", "cummin"):
        args = {"topk": (1,), "kthvalue": (1,), "cummax": (1,), "cummin": (1,), "median": (1,)}.get(name, ())
        assert type(op[name](x, *args)) is type(r), name
    mm = op["aminmax"](x)
    assert mm._fields == ("min", "max") and mm.min.item() == 1.0 and mm.max.item() == 5.0


def test_integer_results_carry_no_gradient():
    x = fg.tensor([[1.5, -2.0], [0.5, 4.0]], requires_grad=True)
    assert not op["sum"](x, dtype=fg.int64).requires_grad
    assert not op["cumsum"](x, 0, dtype=fg.int64).requires_grad
    assert not op["max"](x, 1).indices.requires_grad
    assert op["sum"](x, dtype=fg.float64).requires_grad


def test_scans_and_sorts_differentiate_twice_on_device():
    # The wgpu backward (and the backward of the backward) agrees with cpu.
    rng = np.random.default_rng(5)
    x = rng.uniform(0.5, 1.5, (2, 6)).astype(np.float32)
    x[0, 3] = 0.0
    w = rng.standard_normal((2, 6)).astype(np.float32)
    fns = {
        "cumprod": lambda t: op["cumprod"](t, 1), "cumsum": lambda t: op["cumsum"](t, 1),
        "logcumsumexp": lambda t: op["logcumsumexp"](t, 1), "sort": lambda t: op["sort"](t, 1, True).values,
        "cummax": lambda t: op["cummax"](t, 1).values, "prod": lambda t: op["prod"](t, 1, True).expand(2, 6),
    }
    pytest.importorskip("wgpu")
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    for name, fn in fns.items():
        got = {}
        for dev in ("cpu", "wgpu"):
            t = fg.tensor(x, device=dev, requires_grad=True)
            y = fn(t)
            (g,) = fg.autograd.grad((y * y * fg.tensor(w, device=dev)).sum(), [t], create_graph=True)
            (gg,) = fg.autograd.grad((g * g).sum(), [t])
            got[dev] = (g.detach().cpu().numpy(), gg.cpu().numpy())
        for a, b in zip(got["cpu"], got["wgpu"]):
            np.testing.assert_allclose(b, a, rtol=2e-3, atol=2e-4, err_msg=name)
