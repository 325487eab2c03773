"""Adagrad, Adadelta, Adamax, NAdam and RAdam (and Adam, AdamW, SGD, RMSprop with maximize,
decoupled decay and 0-dim parameters) against torch.optim trajectories recorded in
tests/fixtures/optim_trajectories.npz (tests/fixtures/gen/optim_trajectories.py), against
their rules written out below in float64 numpy, and on the wgpu device against the cpu.

Every case updates three parameters, of shapes (3, 4), () and (5,), for 8 steps of fixed
gradients; the parameters are compared after every step and the optimizer state at the end."""

import json
import math
import pathlib

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.nn import Parameter

FIXTURE = np.load(pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "optim_trajectories.npz")
META = json.loads(str(FIXTURE["meta"]))
STEPS = META["steps"]
CASES = {case: (name, {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()})
         for case, (name, kw) in META["cases"].items()}
NEW = ["Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"]
ALL = NEW + ["Adam", "AdamW", "SGD", "RMSprop"]
# float32: rounding differs op by op from torch's kernels (and lerp's form, fused kernels);
# float64: the same rule in another order.
TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-10, atol=1e-12)}


def _recorded(case, dtype):
    key = f"{case}/{dtype}"
    n = len(META["shapes"])
    starts = [FIXTURE[f"{key}/p{i}/init"] for i in range(n)]
    grads = [FIXTURE[f"{key}/p{i}/grads"] for i in range(n)]
    trajs = [FIXTURE[f"{key}/p{i}/traj"] for i in range(n)]
    return starts, grads, trajs


def _run(case, dtype="float32", device="cpu", **extra):
    """Replay a recorded case with ferrograd: (optimizer, params, per-step list of host arrays)."""
    name, kw = CASES[case]
    starts, grads, _ = _recorded(case, dtype)
    params = [Parameter(fg.tensor(w.copy(), device=device)) for w in starts]
    opt = getattr(fg.optim, name)(params, **kw, **extra)
    out = []
    for t in range(STEPS):
        for p, g in zip(params, grads):
            p.grad = fg.tensor(g[t].copy(), device=device)
        opt.step()
        out.append([p.detach().numpy().copy() for p in params])
    return opt, params, out


def _host(a):
    return a.numpy() if hasattr(a, "storage") else np.asarray(a)


# ---- against torch -----------------------------------------------------------------------------
FUSABLE = {"Adam", "AdamW", "SGD"}  # these have fused (Rust / WGSL) steps; fused=False is the ufunc rule
RUNS = [(c, None) for c in CASES] + [(c, False) for c, (n, _) in CASES.items() if n in FUSABLE]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case, fused", RUNS, ids=[f"{c}-fused={f}" for c, f in RUNS])
def test_every_step_matches_torch(case, fused, dtype):
    _, _, want = _recorded(case, dtype)
    extra = {} if fused is None else dict(fused=fused)
    opt, params, got = _run(case, dtype, **extra)
    for t in range(STEPS):
        for i, p in enumerate(got[t]):
            assert p.dtype == dtype and p.shape == want[i][t].shape
            np.testing.assert_allclose(p, want[i][t], **TOL[dtype], err_msg=f"{case} param {i} step {t + 1}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(CASES))
def test_final_state_has_torchs_names_and_values(case, dtype):
    opt, params, _ = _run(case, dtype)
    key = f"{case}/{dtype}"
    for i, p in enumerate(params):
        state = opt.state[id(p)]
        assert sorted(state) == META["state_keys"][case]
        for k, v in state.items():
            want = FIXTURE[f"{key}/p{i}/state/{k}"]
            if k in ("step", "mu_product"):
                assert isinstance(v, (int, float)) and v == pytest.approx(float(want), rel=1e-6)
            else:
                assert type(v) is np.ndarray and v.shape == p.shape and v.dtype == dtype, k
                np.testing.assert_allclose(v, want, **TOL[dtype], err_msg=f"{case} param {i} state {k}")


# ---- the rules, written out in float64 ----------------------------------------------------------
def adagrad_rule(w, grads, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 maximize=False):
    s, out = np.full_like(w, initial_accumulator_value), []
    for t, g in enumerate(grads, 1):
        g = (-g if maximize else g) + weight_decay * w
        s = s + g * g
        w = w - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        out.append(w)
    return out


def adadelta_rule(w, grads, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    v, u, out = np.zeros_like(w), np.zeros_like(w), []
    for g in grads:
        g = (-g if maximize else g) + weight_decay * w
        v = rho * v + (1 - rho) * g * g
        dx = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * dx * dx
        w = w - lr * dx
        out.append(w)
    return out


def adamax_rule(w, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False):
    m, u, out = np.zeros_like(w), np.zeros_like(w), []
    for t, g in enumerate(grads, 1):
        g = (-g if maximize else g) + weight_decay * w
        m = betas[0] * m + (1 - betas[0]) * g
        u = np.maximum(betas[1] * u, np.abs(g) + eps)
        w = w - lr / (1 - betas[0] ** t) * m / u
        out.append(w)
    return out


def nadam_rule(w, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
               decoupled_weight_decay=False, maximize=False):
    b1, b2 = betas
    mu = [b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay)) for t in range(len(grads) + 2)]  # mu[t]: step t
    m, v, out = np.zeros_like(w), np.zeros_like(w), []
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g
        if decoupled_weight_decay:
            w = w * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = mu[t + 1] * m / (1 - math.prod(mu[1:t + 2])) + (1 - mu[t]) * g / (1 - math.prod(mu[1:t + 1]))
        v_hat = v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(w)
    return out


def radam_rule(w, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
               maximize=False):
    b1, b2 = betas
    rho_inf = 2 / (1 - b2) - 1
    m, v, out = np.zeros_like(w), np.zeros_like(w), []
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g
        if decoupled_weight_decay:
            w = w * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho_t > 5:
            r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            w = w - lr * m_hat * r * math.sqrt(1 - b2**t) / (np.sqrt(v) + eps)
        else:
            w = w - lr * m_hat
        out.append(w)
    return out


RULES = {"Adagrad": adagrad_rule, "Adadelta": adadelta_rule, "Adamax": adamax_rule, "NAdam": nadam_rule,
         "RAdam": radam_rule}
RULE_CASES = [c for c, (n, _) in CASES.items() if n in RULES]


@pytest.mark.parametrize("case", RULE_CASES)
def test_the_rule_written_out_gives_torchs_and_ferrograds_steps(case):
    name, kw = CASES[case]
    starts, grads, torch_traj = _recorded(case, "float64")
    _, _, got64 = _run(case, "float64")
    _, _, got32 = _run(case, "float32")
    for i, (w0, g) in enumerate(zip(starts, grads)):
        rule = RULES[name](w0.astype(np.float64), list(g), **kw)
        for t in range(STEPS):
            msg = f"{case} param {i} step {t + 1}"
            np.testing.assert_allclose(rule[t], torch_traj[i][t], rtol=1e-10, atol=1e-12, err_msg=msg)
            np.testing.assert_allclose(got64[t][i], rule[t], rtol=1e-10, atol=1e-12, err_msg=msg)
            np.testing.assert_allclose(got32[t][i], rule[t], rtol=5e-5, atol=5e-6, err_msg=msg)


def test_radam_cases_take_both_branches():
    """The recorded RAdam runs start with the un-rectified step and switch at rho_t > 5."""
    for case in [c for c in RULE_CASES if CASES[c][0] == "RAdam"]:
        b2 = CASES[case][1].get("betas", (0.9, 0.999))[1]
        rho_inf = 2 / (1 - b2) - 1
        rho = [rho_inf - 2 * t * b2**t / (1 - b2**t) for t in range(1, STEPS + 1)]
        assert rho[0] <= 5 < rho[-1], case


# ---- 0-dim parameters ---------------------------------------------------------------------------
@pytest.mark.parametrize("fused", [None, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", [fg.optim.Adam, fg.optim.AdamW])
def test_adam_takes_a_0dim_parameter(cls, dtype, fused):
    """np.ascontiguousarray turned a 0-dim gradient 1-dim, and the Rust step refused the shapes."""
    p = Parameter(fg.tensor(np.array(1.5, dtype)))
    q = Parameter(fg.tensor(np.array([1.5], dtype)))  # the same number as a 1-element vector
    opts = [cls([x], lr=0.1, weight_decay=0.1, amsgrad=True, fused=fused) for x in (p, q)]
    for g in (0.3, -2.0, 0.01):
        p.grad, q.grad = fg.tensor(np.array(g, dtype)), fg.tensor(np.array([g], dtype))
        for o in opts:
            o.step()
    assert p.shape == () and p.dtype == dtype
    np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy()[0])
    assert all(v.shape == () for k, v in opts[0].state[id(p)].items() if k != "step")


@pytest.mark.parametrize("name", ALL)
def test_0dim_state_survives_a_state_dict_round_trip(name, tmp_path):
    """Saved (also through fg.save / fg.load) and loaded, a 0-dim parameter's state stays arrays
    of shape () and the run continues as if never stopped."""
    kw = dict(lr=0.1, momentum=0.9) if name == "SGD" else dict(lr=0.1)
    cls = getattr(fg.optim, name)
    a, b = Parameter(fg.tensor(np.array(0.5, np.float32))), Parameter(fg.tensor(np.array(0.5, np.float32)))
    oa = cls([a], **kw)
    for g in (1.0, -0.5):
        a.grad = fg.tensor(np.array(g, np.float32))
        oa.step()
    fg.save(oa.state_dict(), tmp_path / "opt.safetensors")
    b._data[...] = a._data
    ob = cls([b], **kw)
    ob.load_state_dict(fg.load(tmp_path / "opt.safetensors"))
    for k, v in ob.state[id(b)].items():
        if k in ("step", "mu_product"):
            assert isinstance(v, (int, float)), k
        else:
            assert type(v) is np.ndarray and v.shape == () and v.dtype == np.float32, k
    for g in (0.25, 2.0):
        a.grad, b.grad = fg.tensor(np.array(g, np.float32)), fg.tensor(np.array(g, np.float32))
        oa.step()
        ob.step()
    np.testing.assert_array_equal(b.detach().numpy(), a.detach().numpy())


# ---- param groups -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_param_groups_carry_torchs_keys_and_defaults(name):
    opt = getattr(fg.optim, name)([Parameter(fg.zeros(2))])
    want = META["param_groups"][name]
    group = opt.param_groups[0]
    assert set(group) - {"params"} == set(want)
    for k, v in want.items():
        assert (list(group[k]) if isinstance(group[k], tuple) else group[k]) == v, k
    saved = opt.state_dict()["param_groups"][0]
    assert set(saved) == set(want) | {"params"} and saved["params"] == [0]


@pytest.mark.parametrize("name", ALL)
def test_setting_group_lr_takes_effect(name):
    p = Parameter(fg.ones(3))
    opt = getattr(fg.optim, name)([p], lr=0.1)
    opt.param_groups[0]["lr"] = 0.0
    p.grad = fg.ones(3)
    opt.step()
    np.testing.assert_array_equal(p.detach().numpy(), 1.0)
    opt.param_groups[0]["lr"] = 0.1
    opt.step()
    assert (p.detach().numpy() < 1.0).all()


def test_group_betas_and_momentum_are_read_each_step():
    """A scheduler sets group['betas'] / group['momentum'] (OneCycleLR): the next step uses them."""
    runs = []
    for betas in [(0.9, 0.999), (0.5, 0.999)]:
        p = Parameter(fg.ones(2))
        opt = fg.optim.NAdam([p], lr=0.1)
        for g in (1.0, -3.0):
            p.grad = fg.full((2,), g)
            opt.step()
            opt.param_groups[0]["betas"] = betas
        runs.append(p.detach().numpy().copy())
    assert not np.allclose(*runs)
    p = Parameter(fg.ones(2))
    opt = fg.optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = fg.ones(2)
    opt.step()
    opt.param_groups[0]["momentum"] = 0.5
    opt.step()
    np.testing.assert_allclose(opt.state[id(p)]["momentum_buffer"], 0.5 * 1 + 1, rtol=1e-6)


def test_extra_group_keys_are_kept_as_torch_keeps_them():
    a, b = Parameter(fg.ones(2)), Parameter(fg.ones(2))
    opt = fg.optim.RAdam([{"params": [a], "name": "body"}, {"params": [b], "lr": 0.5, "betas": (0.8, 0.9)}])
    assert opt.param_groups[0]["name"] == "body" and opt.param_groups[0]["lr"] == 1e-3
    assert opt.param_groups[1]["betas"] == (0.8, 0.9) and opt.param_groups[1]["decoupled_weight_decay"] is False
    assert opt.state_dict()["param_groups"][0]["name"] == "body"


def test_adagrad_state_exists_before_the_first_step():
    """As in torch, Adagrad's 'sum' starts at initial_accumulator_value at construction."""
    a, b = Parameter(fg.zeros(3)), Parameter(fg.zeros(2))
    opt = fg.optim.Adagrad([a], initial_accumulator_value=0.25)
    opt.add_param_group({"params": [b], "initial_accumulator_value": 0.5})
    saved = opt.state_dict()["state"]
    assert saved[0]["step"] == 0
    np.testing.assert_array_equal(saved[0]["sum"], np.full(3, 0.25, np.float32))
    np.testing.assert_array_equal(saved[1]["sum"], np.full(2, 0.5, np.float32))


def test_sgd_without_momentum_keeps_no_state():
    p = Parameter(fg.ones(2))
    opt = fg.optim.SGD([p], lr=0.1)
    p.grad = fg.ones(2)
    opt.step()
    assert opt.state_dict()["state"] == {}


# ---- bad hyper-parameters -----------------------------------------------------------------------
BAD = [(name, {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}, arg) for name, kw, arg in META["bad"]]


@pytest.mark.parametrize("name, kw, arg", BAD, ids=[f"{n}-{a}" for n, _, a in BAD])
def test_bad_hyper_parameters_raise_value_error_naming_optimizer_and_argument(name, kw, arg):
    """Each of these raised ValueError in torch when the fixture was recorded."""
    with pytest.raises(ValueError, match=rf"^{name}: .*{arg}"):
        getattr(fg.optim, name)([Parameter(fg.ones(2))], **kw)


@pytest.mark.parametrize("name", ALL)
def test_nan_lr_and_non_numbers_are_refused(name):
    with pytest.raises(ValueError, match=rf"^{name}: .*lr"):
        getattr(fg.optim, name)([Parameter(fg.ones(2))], lr=float("nan"))
    with pytest.raises(TypeError, match=rf"^{name}: lr must be a real number"):
        getattr(fg.optim, name)([Parameter(fg.ones(2))], lr="0.1")


def test_unsupported_switches_are_refused():
    p = Parameter(fg.ones(2))
    with pytest.raises(NotImplementedError, match="NAdam: differentiable=True"):
        fg.optim.NAdam([p], differentiable=True)
    with pytest.raises(RuntimeError, match="Adam: `fused` and `foreach`"):
        fg.optim.Adam([p], fused=True, foreach=True)
    with pytest.raises(TypeError, match="Adagrad: params must be an ordered iterable"):
        fg.optim.Adagrad(p)


# ---- wgpu ---------------------------------------------------------------------------------------
@pytest.fixture
def wgpu():
    """Opened at the first wgpu test, not at collection (see tests/wgpu/conftest.py)."""
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")


@pytest.mark.parametrize("case, fused", RUNS, ids=[f"{c}-fused={f}" for c, f in RUNS])
def test_wgpu_parameters_follow_the_cpu_and_torch(wgpu, case, fused):
    extra = {} if fused is None else dict(fused=fused)
    _, _, want = _recorded(case, "float32")
    opt_c, params_c, cpu = _run(case, "float32", "cpu", **extra)
    opt_d, params_d, dev = _run(case, "float32", "wgpu", **extra)
    for t in range(STEPS):
        for i in range(len(cpu[t])):
            msg = f"{case} param {i} step {t + 1}"
            np.testing.assert_allclose(dev[t][i], cpu[t][i], rtol=2e-5, atol=2e-6, err_msg=msg)
            np.testing.assert_allclose(dev[t][i], want[i][t], rtol=2e-5, atol=2e-6, err_msg=msg)
    for pc, pd in zip(params_c, params_d):
        assert str(pd.device) == "wgpu"
        sc, sd = opt_c.state[id(pc)], opt_d.state[id(pd)]
        assert sorted(sd) == sorted(sc)
        for k in sd:
            if k in ("step", "mu_product"):
                assert sd[k] == pytest.approx(sc[k], rel=1e-12)
            else:
                assert type(sd[k]).__name__ == "GpuArray", k
                np.testing.assert_allclose(_host(sd[k]), sc[k], rtol=2e-5, atol=2e-6, err_msg=k)


@pytest.mark.parametrize("name", NEW)
def test_wgpu_state_dict_round_trip_stays_on_the_device(wgpu, name):
    a = Parameter(fg.tensor(np.linspace(-1, 1, 6, dtype=np.float32), device="wgpu"))
    b = Parameter(fg.tensor(np.linspace(-1, 1, 6, dtype=np.float32), device="wgpu"))
    oa, ob = getattr(fg.optim, name)([a], lr=0.1), getattr(fg.optim, name)([b], lr=0.1)
    grads = [np.random.default_rng(i).standard_normal(6).astype(np.float32) for i in range(4)]
    for g in grads[:2]:
        a.grad = b.grad = fg.tensor(g, device="wgpu")
        oa.step()
    ob.load_state_dict(oa.state_dict())
    b._data[...] = a._data
    assert all(type(v).__name__ == "GpuArray" for k, v in ob.state[id(b)].items() if k not in ("step", "mu_product"))
    for g in grads[2:]:
        a.grad = fg.tensor(g, device="wgpu")
        b.grad = fg.tensor(g, device="wgpu")
        oa.step()
        ob.step()
    np.testing.assert_array_equal(b.detach().numpy(), a.detach().numpy())
