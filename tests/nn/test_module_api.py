"""Module methods torch users call (traversal, registration, state dicts, hooks, dtype moves,
repr), ParameterList / ParameterDict and LazyLinear, against torch's answers recorded in
tests/fixtures/module_api_torch.json (tests/fixtures/gen/gen_nn_more.py)."""

import json
from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn

API = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "module_api_torch.json").read_text())
ENV = {"nn": nn, "torch": fg}


def _ours(text: str) -> str:
    """torch's repr text with ferrograd's dtype names (the only expected difference)."""
    return text.replace("torch.float", "ferrograd.float")


def _net():
    env = dict(ENV)
    exec(API["net_code"], env)
    env["net"] = env["Net"]()
    return env


# ---- traversal, state dicts and repr against torch -------------------------------------------------
@pytest.mark.parametrize("query", sorted(API["net_queries"]))
def test_net_queries_match_torch(query):
    env = _net()
    got = eval(API["net_queries"][query], env)
    want = API["net"][query]
    if isinstance(got, tuple):
        got = list(got)
    if query == "repr":
        want = _ours(want)
    assert json.loads(json.dumps(got)) == want


@pytest.mark.parametrize("code", API["reprs"])
def test_repr_matches_torch(code):
    assert repr(eval(code, dict(ENV))) == _ours(API["reprs"][code])


@pytest.mark.parametrize("code", API["states"])
def test_state_dict_keys_and_shapes_match_torch(code):
    m = eval(code, dict(ENV))
    assert [[k, list(v.shape)] for k, v in m.state_dict().items()] == API["states"][code]


def test_state_dict_keep_vars_prefix_and_destination():
    lin = nn.Linear(2, 3)
    kept = lin.state_dict(keep_vars=True)
    assert kept["weight"] is lin.weight
    detached = lin.state_dict()
    assert detached["weight"] is not lin.weight and not detached["weight"].requires_grad
    dest = {}
    assert lin.state_dict(destination=dest, prefix="head.") is dest and list(dest) == ["head.weight", "head.bias"]


def test_load_state_dict_errors_assign_and_result():
    lin = nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match=r"missing keys \['bias'\]"):
        lin.load_state_dict({"weight": fg.zeros(3, 2)})
    with pytest.raises(RuntimeError, match=r"size mismatch for 'weight'.*\(2, 2\).*\(3, 2\)"):
        lin.load_state_dict({"weight": fg.zeros(2, 2)}, strict=False)
    with pytest.raises(TypeError, match="dict-like"):
        lin.load_state_dict([("weight", fg.zeros(3, 2))])
    res = lin.load_state_dict({"weight": fg.ones(3, 2, dtype=fg.float64), "bias": fg.zeros(3)}, assign=True)
    assert repr(res) == "<All keys matched successfully>"
    assert lin.weight.dtype == np.float64 and isinstance(lin.weight, nn.Parameter)  # assign keeps the loaded dtype
    res = lin.load_state_dict({"bias": np.full(3, 2.0)}, strict=False)
    assert res.missing_keys == ["weight"] and res.unexpected_keys == []
    np.testing.assert_array_equal(lin.bias.detach().numpy(), [2, 2, 2])


# ---- registration rules ----------------------------------------------------------------------------
def test_register_errors_name_the_problem():
    m = nn.Module()
    m.x = 1
    with pytest.raises(KeyError, match="attribute 'x' already exists"):
        m.register_buffer("x", fg.zeros(1))
    with pytest.raises(KeyError, match='contain "\\."'):
        m.register_parameter("a.b", None)
    with pytest.raises(KeyError, match="empty string"):
        m.add_module("", nn.ReLU())
    with pytest.raises(TypeError, match="buffer name should be a string"):
        m.register_buffer(3, None)
    with pytest.raises(TypeError, match="Tensor or None required"):
        m.register_buffer("b", np.zeros(2))
    with pytest.raises(TypeError, match=r"nn.Parameter or None required"):
        m.register_parameter("p", fg.zeros(2))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("child", 3)
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("q", _non_leaf_param())
    with pytest.raises(AttributeError, match="before Module.__init__"):
        nn.Module.register_buffer(object.__new__(nn.Module), "b", None)


def _non_leaf_param():
    p = nn.Parameter(fg.zeros(2))
    q = p * 2
    q.__class__ = nn.Parameter  # a Parameter with a grad_fn, what torch refuses to register
    return q


def test_setattr_keeps_one_home_per_name_and_refuses_wrong_types():
    m = nn.Module()
    m.w = None
    m.w = nn.Parameter(fg.ones(2))  # a plain attribute gives way to the parameter
    assert "w" not in m.__dict__ and m.w is m._parameters["w"]
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = fg.zeros(2)
    m.w = None
    assert "w" in m._parameters and m.w is None and list(m.state_dict()) == []
    m.register_buffer("b", fg.zeros(2))
    m.b = fg.ones(2)
    assert m._buffers["b"] is m.b
    m.child = nn.ReLU()
    with pytest.raises(TypeError, match="as child module 'child'"):
        m.child = 3
    del m.child
    assert "child" not in m._modules
    m.register_buffer("tmp", fg.zeros(1), persistent=False)
    assert "tmp" not in m.state_dict()
    m.register_buffer("tmp", fg.zeros(1))  # persistent again
    assert "tmp" in m.state_dict()


def test_get_submodule_parameter_buffer():
    env = _net()
    net = env["net"]
    assert net.get_submodule("") is net and net.get_submodule("a.1") is net.a[1]
    assert net.get_parameter("plist.1") is net.plist[1]
    assert net.get_buffer("buf") is net.buf
    with pytest.raises(AttributeError, match="has no attribute `zz`"):
        net.get_submodule("a.zz")
    with pytest.raises(AttributeError, match="`buf` is not an nn.Module"):
        net.get_submodule("buf.x")
    with pytest.raises(AttributeError, match="`buf` is not an nn.Parameter"):
        net.get_parameter("buf")
    with pytest.raises(AttributeError, match="`weight` is not a buffer"):
        net.get_buffer("shared.weight")


# ---- modes, grads, dtypes --------------------------------------------------------------------------
def test_train_eval_zero_grad_requires_grad_and_apply():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert net.eval() is net and not net[1].training
    assert net.train() is net and net[1].training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train("no")
    net(fg.randn(3, 2)).sum().backward()
    g = net[0].weight.grad
    net.zero_grad(set_to_none=False)
    assert net[0].weight.grad is not None and not net[0].weight.grad.numpy().any()
    assert not g.numpy().any()  # zeroed in place, as torch
    net.zero_grad()
    assert net[0].weight.grad is None
    assert net.requires_grad_(False) is net and not any(p.requires_grad for p in net.parameters())
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "Dropout", "Sequential"]


def test_dtype_moves():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    assert m.double() is m and m[0].weight.dtype == np.float64
    assert m[1].num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype
    m.float()
    assert m[0].weight.dtype == np.float32
    m.to(fg.zeros(1, dtype=fg.float64))
    assert m[1].running_mean.dtype == np.float64
    m.to(device="cpu", dtype=fg.float32)
    assert m[0].bias.dtype == np.float32
    with pytest.raises(TypeError, match="only accepts floating point dtypes"):
        m.to(fg.int64)
    with pytest.raises(TypeError, match="float16 is not supported"):
        m.half()
    with pytest.raises(ValueError, match="unknown device"):
        m.to("tpu")
    assert list(m.parameters(recurse=False)) == [] and len(list(m[0].parameters(recurse=False))) == 2


# ---- hooks -------------------------------------------------------------------------------------------
def test_forward_hooks_order_replacement_and_removal():
    lin = nn.Linear(2, 2)
    calls = []

    def pre(m, args):
        calls.append("pre")
        return args[0] * 0  # a single value becomes the 1-tuple of args

    def pre_first(m, args):
        calls.append("pre_first")

    def post(m, args, out):
        calls.append("post")
        assert args[0].numpy().sum() == 0
        return out + 1

    h1 = lin.register_forward_pre_hook(pre)
    h0 = lin.register_forward_pre_hook(pre_first, prepend=True)
    h2 = lin.register_forward_hook(post)
    y = lin(fg.ones(1, 2))
    assert calls == ["pre_first", "pre", "post"]
    np.testing.assert_allclose(y.detach().numpy(), lin.bias.detach().numpy()[None] + 1)
    for h in (h0, h1):
        h.remove()
    with h2:
        pass  # a handle is a context manager that removes its hook
    calls.clear()
    np.testing.assert_allclose(lin(fg.ones(1, 2)).detach().numpy(), fg.nn.functional.linear(
        fg.ones(1, 2), lin.weight, lin.bias).detach().numpy())
    assert calls == []


def test_forward_hooks_with_kwargs_and_always_call():
    class Scale(nn.Module):
        def forward(self, x, *, k=1.0):
            if k < 0:
                raise ValueError("negative k")
            return x * k

    m = Scale()
    m.register_forward_pre_hook(lambda mod, a, kw: (a, {"k": kw.get("k", 1.0) * 2}), with_kwargs=True)
    seen = []
    m.register_forward_hook(lambda mod, a, kw, out: seen.append(kw["k"]), with_kwargs=True)
    assert float(m(fg.ones(1), k=3.0).item()) == 6.0 and seen == [6.0]
    always = []
    m.register_forward_hook(lambda mod, a, out: always.append(out), always_call=True)
    with pytest.raises(ValueError, match="negative k"):
        m(fg.ones(1), k=-1.0)
    assert always == [None]


def test_full_backward_hook_sees_and_replaces_gradients():
    lin = nn.Linear(3, 2)
    x = fg.randn(4, 3, requires_grad=True)
    g = fg.randn(4, 2)
    seen = {}

    def hook(m, grad_input, grad_output):
        seen["in"], seen["out"] = grad_input, grad_output
        return (grad_input[0] * 2,)

    h = lin.register_full_backward_hook(hook)
    (lin(x) * g).sum().backward()
    want_in = g.numpy() @ lin.weight.detach().numpy()
    np.testing.assert_allclose(seen["out"][0].numpy(), g.numpy(), rtol=1e-6)
    np.testing.assert_allclose(seen["in"][0].numpy(), want_in, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 2 * want_in, rtol=1e-5, atol=1e-6)  # the replacement is used
    h.remove()
    # an input that needs no gradient: the hook still runs, with grad_input (None,)
    lin.register_full_backward_hook(lambda m, gi, go: seen.__setitem__("none", gi))
    lin(fg.randn(4, 3)).sum().backward()
    assert seen["none"] == (None,)


def test_full_backward_pre_hook_replaces_grad_output():
    lin = nn.Linear(2, 2)
    lin.register_full_backward_pre_hook(lambda m, go: (go[0] * 0,))
    x = fg.randn(3, 2, requires_grad=True)
    lin(x).sum().backward()
    assert not x.grad.numpy().any() and not lin.weight.grad.numpy().any()


def test_backward_hooks_on_wgpu(wgpu):
    lin = nn.Linear(3, 2).to("wgpu")
    x = fg.randn(4, 3, requires_grad=True, device="wgpu")
    seen = {}
    lin.register_full_backward_hook(lambda m, gi, go: seen.update(gi=gi, go=go))
    lin(x).sum().backward()
    assert seen["gi"][0].device == "wgpu" and seen["go"][0].device == "wgpu"
    np.testing.assert_allclose(x.grad.numpy(), np.ones((4, 2)) @ lin.weight.detach().numpy(), rtol=1e-5)


# ---- ParameterList / ParameterDict -------------------------------------------------------------------
def test_parameter_list_behaves_like_torch():
    pl = nn.ParameterList([fg.ones(2)])
    assert isinstance(pl[0], nn.Parameter) and pl[0].requires_grad  # a plain tensor is wrapped
    pl.append(nn.Parameter(fg.zeros(3)))
    pl += [fg.zeros(1)]
    pl.extend([fg.zeros(4)])
    assert len(pl) == 4 and [tuple(p.shape) for p in pl] == [(2,), (3,), (1,), (4,)]
    assert pl[-1] is pl[3] and isinstance(pl[1:3], nn.ParameterList) and len(pl[1:3]) == 2
    pl[0] = fg.full((2,), 5.0)
    assert float(pl[0].sum().item()) == 10.0 and list(pl.state_dict()) == ["0", "1", "2", "3"]
    with pytest.raises(IndexError, match="out of range"):
        pl[4]
    with pytest.raises(TypeError, match="iterable"):
        pl.extend(fg.zeros(2))
    with pytest.raises(RuntimeError, match="should not be called"):
        pl()
    # a module holding one: parameters are found, optimised and loaded by name
    opt = fg.optim.SGD(pl.parameters(), lr=1.0)
    (pl[1] * 2).sum().backward()
    opt.step()
    np.testing.assert_allclose(pl[1].detach().numpy(), [-2, -2, -2])


def test_parameter_dict_behaves_like_torch():
    pd = nn.ParameterDict({"b": fg.ones(2), "a": fg.zeros(3)})
    assert list(pd) == ["a", "b"]  # a plain dict is taken in sorted key order, as torch
    pd["c"] = nn.Parameter(fg.ones(1))
    assert "c" in pd and len(pd) == 3 and list(pd.keys()) == ["a", "b", "c"]
    assert pd.get("zz") is None and pd.setdefault("d", fg.ones(4)) is pd["d"]
    assert pd.pop("d").shape == (4,) and "d" not in pd and "d" not in pd._parameters
    k, v = pd.popitem()
    assert k == "c" and tuple(v.shape) == (1,)
    merged = pd | {"e": fg.ones(1)}
    assert list(merged) == ["a", "b", "e"] and list(pd) == ["a", "b"]
    pd.update([("z", fg.ones(1)), ("y", fg.ones(1))])
    assert list(pd.state_dict()) == ["a", "b", "z", "y"]
    with pytest.raises(TypeError, match="not a string"):
        pd[1] = fg.ones(1)
    with pytest.raises(ValueError, match="has length 3; 2 is required"):
        pd.update([("a", 1, 2)])
    with pytest.raises(KeyError):
        pd["missing"]
    pd.clear()
    assert len(pd) == 0 and list(pd.parameters()) == []


# ---- LazyLinear --------------------------------------------------------------------------------------
def test_lazy_linear_infers_in_features_and_becomes_linear():
    fg.manual_seed(0)
    m = nn.LazyLinear(4)
    w = m.weight
    assert m.has_uninitialized_params() and isinstance(w, nn.UninitializedParameter)
    opt = fg.optim.SGD(m.parameters(), lr=0.1)  # held before the first call, as in torch
    y = m(fg.randn(5, 3))
    assert type(m) is nn.Linear and m.in_features == 3 and y.shape == (5, 4)
    assert m.weight is w and type(w) is nn.Parameter and w.shape == (4, 3)
    bound = 1 / np.sqrt(3)
    assert np.abs(m.weight.detach().numpy()).max() <= bound and np.abs(m.bias.detach().numpy()).max() <= bound
    y.sum().backward()
    before = w.detach().numpy().copy()
    opt.step()
    assert not np.allclose(w.detach().numpy(), before)
    assert list(m.state_dict()) == ["weight", "bias"]


def test_lazy_linear_loads_a_state_dict_and_checks_the_input():
    src = nn.Linear(3, 2)
    m = nn.LazyLinear(2, bias=False)
    m.load_state_dict({"weight": src.weight.detach()})
    np.testing.assert_array_equal(m.weight.detach().numpy(), src.weight.detach().numpy())
    with pytest.raises(RuntimeError, match="in_features inferred from input"):
        m(fg.randn(1, 5))
    x = fg.randn(2, 3)
    np.testing.assert_allclose(m(x).detach().numpy(), x.numpy() @ src.weight.detach().numpy().T, rtol=1e-6)
    assert type(m) is nn.Linear and m.bias is None and m.in_features == 3


def test_lazy_linear_on_wgpu(wgpu):
    m = nn.LazyLinear(3).to("wgpu")
    y = m(fg.randn(2, 5, device="wgpu"))
    assert y.device == "wgpu" and m.weight.device == "wgpu" and m.weight.shape == (3, 5)


@pytest.fixture
def wgpu():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
