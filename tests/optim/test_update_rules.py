"""Each optimizer replays a fixed gradient sequence and must match its update rule, written out
here in float64, to float32 rounding at every step."""

import math

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.nn import Parameter

STEPS = 8


def _grads(shape=(3, 5), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(STEPS)]


def _start(shape=(3, 5)):
    return np.random.default_rng(99).standard_normal(shape).astype(np.float32)


def sgd_rule(w, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    w, buf, out = w.astype(np.float64), None, []
    for g in grads:
        g = g + weight_decay * w
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        w = w - lr * g
        out.append(w)
    return out


def adam_rule(w, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    w = w.astype(np.float64)
    m, v, vmax, out = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w), []
    for t, g in enumerate(grads, 1):
        if decoupled:
            w = w * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * w
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - betas[0] ** t)
        v_hat = (vmax if amsgrad else v) / (1 - betas[1] ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(w)
    return out


def rmsprop_rule(w, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    w = w.astype(np.float64)
    sq, ga, buf, out = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w), []
    for g in grads:
        g = g + weight_decay * w
        sq = alpha * sq + (1 - alpha) * g * g
        ga = alpha * ga + (1 - alpha) * g
        avg = np.sqrt(sq - ga * ga if centered else sq) + eps
        if momentum:
            buf = momentum * buf + g / avg
            w = w - lr * buf
        else:
            w = w - lr * g / avg
        out.append(w)
    return out


CASES = [
    (fg.optim.SGD, sgd_rule, dict(lr=0.1)),
    (fg.optim.SGD, sgd_rule, dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01)),
    (fg.optim.SGD, sgd_rule, dict(lr=0.05, momentum=0.8, nesterov=True)),
    (fg.optim.Adam, adam_rule, dict(lr=0.01)),
    (fg.optim.Adam, adam_rule, dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    (fg.optim.AdamW, lambda w, g, **kw: adam_rule(w, g, decoupled=True, **kw), dict(lr=0.01, weight_decay=0.1)),
    (fg.optim.AdamW, lambda w, g, **kw: adam_rule(w, g, decoupled=True, **kw), dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    (fg.optim.RMSprop, rmsprop_rule, dict(lr=0.01)),
    (fg.optim.RMSprop, rmsprop_rule, dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1)),
]


@pytest.mark.parametrize("opt_cls, rule, kw", CASES, ids=lambda x: getattr(x, "__name__", str(x)))
def test_each_step_follows_the_rule(opt_cls, rule, kw):
    w0, grads = _start(), _grads()
    p = Parameter(fg.tensor(w0.copy()))
    opt = opt_cls([p], **kw)
    for step, (g, want) in enumerate(zip(grads, rule(w0, grads, **kw))):
        p.grad = fg.tensor(g)
        opt.step()
        np.testing.assert_allclose(p._data, want, rtol=2e-5, atol=2e-6, err_msg=f"step {step + 1}")
        assert p.dtype == np.float32


@pytest.mark.parametrize("opt_cls, rule, kw", CASES, ids=lambda x: getattr(x, "__name__", str(x)))
def test_matches_pytorch_when_installed(opt_cls, rule, kw):
    torch = pytest.importorskip("torch")
    w0, grads = _start(), _grads(seed=1)
    p = Parameter(fg.tensor(w0.copy()))
    tp = torch.nn.Parameter(torch.tensor(w0.copy()))
    opt, topt = opt_cls([p], **kw), getattr(torch.optim, opt_cls.__name__)([tp], **kw)
    for g in grads:
        p.grad, tp.grad = fg.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    np.testing.assert_allclose(p._data, tp.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_frozen_and_gradless_parameters_are_skipped():
    a, b, c = (Parameter(fg.ones(2)) for _ in range(3))
    b.requires_grad_(False)
    opt = fg.optim.Adam([a, b, c], lr=0.1)
    a.grad = fg.ones(2)
    b.grad = fg.ones(2)  # frozen: must not move even with a stale grad
    opt.step()
    assert not np.allclose(a._data, 1)
    np.testing.assert_array_equal(b._data, 1)
    np.testing.assert_array_equal(c.data, 1)


def test_param_groups_have_their_own_lr_and_weight_decay():
    backbone, head = Parameter(fg.ones(3)), Parameter(fg.ones(3))
    opt = fg.optim.SGD([{"params": [backbone], "lr": 0.01}, {"params": [head], "weight_decay": 0.5}], lr=0.1)
    backbone.grad, head.grad = fg.ones(3), fg.ones(3)
    opt.step()
    np.testing.assert_allclose(backbone._data, 1 - 0.01)
    np.testing.assert_allclose(head._data, 1 - 0.1 * (1 + 0.5))
    assert opt.param_groups[0]["weight_decay"] == 0.0


def test_state_dict_round_trip_continues_identically():
    w0, grads = _start(), _grads()
    p1 = Parameter(fg.tensor(w0.copy()))
    o1 = fg.optim.Adam([p1], lr=0.01, amsgrad=True)
    for g in grads[:4]:
        p1.grad = fg.tensor(g)
        o1.step()
    saved = o1.state_dict()
    assert set(saved) == {"state", "param_groups"} and saved["param_groups"][0]["params"] == [0]
    p2 = Parameter(fg.tensor(p1._data.copy()))
    o2 = fg.optim.Adam([p2], lr=0.5)
    o2.load_state_dict(saved)
    assert o2.param_groups[0]["lr"] == 0.01
    for g in grads[4:]:
        p1.grad, p2.grad = fg.tensor(g), fg.tensor(g)
        o1.step()
        o2.step()
    np.testing.assert_array_equal(p1._data, p2._data)


def test_bad_arguments_raise_value_error():
    p = Parameter(fg.ones(2))
    with pytest.raises(ValueError, match="empty"):
        fg.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="nesterov"):
        fg.optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="more than one"):
        fg.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="groups"):
        fg.optim.SGD([p], lr=0.1).load_state_dict({"state": {}, "param_groups": []})


def test_clip_grad_norm_scales_jointly_and_returns_the_norm():
    a, b = Parameter(fg.zeros(2)), Parameter(fg.zeros(1))
    a.grad, b.grad = fg.tensor([3.0, 0.0]), fg.tensor([4.0])
    total = fg.nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(np.concatenate([a.grad._data, b.grad._data]), [0.6, 0.0, 0.8], rtol=1e-5)
    assert fg.nn.utils.clip_grad_norm_([a, b], max_norm=10.0) == pytest.approx(1.0, rel=1e-5)
    a.grad = fg.tensor([-3.0, 2.0])
    assert fg.nn.utils.clip_grad_norm_([a], 1.0, norm_type=math.inf) == pytest.approx(3.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt_cls, kw", [(fg.optim.Adam, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
                                         (fg.optim.AdamW, dict(lr=0.01, weight_decay=0.1))])
def test_the_rust_adam_step_agrees_with_the_numpy_one(monkeypatch, dtype, opt_cls, kw):
    from ferrograd.optim import adam

    shape = (300, 257)  # several rayon tasks and a ragged tail
    w0, grads = _start(shape).astype(dtype), [g.astype(dtype) for g in _grads(shape)]
    weights = []
    for native in (True, False):
        monkeypatch.setattr(adam, "native_ok", lambda p, g, on=native: on)
        p = Parameter(fg.tensor(w0.copy()))
        opt = opt_cls([p], **kw)
        for g in grads:
            p.grad = fg.tensor(np.ascontiguousarray(g.T)).T  # a transposed view, as Linear's weight grad is
            assert not p.grad._data.flags.c_contiguous
            opt.step()
        assert p.dtype == dtype
        weights.append(p._data.copy())
        state = opt.state[id(p)]
        assert state["step"] == STEPS and state["exp_avg"].dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(weights[0], weights[1], rtol=tol, atol=tol)


def test_the_rust_adam_step_rejects_bad_arrays():
    from ferrograd import _native

    p, g, m, v = (np.zeros(6, np.float32) for _ in range(4))
    args = (3, 0.1, 0.9, 0.999, 1e-8, 0.0, False)
    with pytest.raises(ValueError, match="adam_step.*one shape"):
        _native.adam_step(p, g, m, np.zeros(5, np.float32), None, *args)
    with pytest.raises(TypeError, match="adam_step: exp_avg must be a numpy array of dtype f32"):
        _native.adam_step(p, g, m.astype(np.float64), v, None, *args)
    with pytest.raises(ValueError, match="adam_step: param cannot be written"):
        _native.adam_step(p, p, m, v, None, *args)  # the gradient is the parameter itself
    with pytest.raises(ValueError, match="adam_step: exp_avg must be C-contiguous"):
        _native.adam_step(p[:3], g[:3], np.zeros(6, np.float32)[::2], v[:3], None, *args)
    with pytest.raises(ValueError, match="adam_step: step counts from 1"):
        _native.adam_step(p, g, m, v, None, 0, *args[1:])
    assert not p.any() and not m.any()  # nothing written by a refused call


@pytest.mark.parametrize("opt_cls, kw", [(fg.optim.Adam, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
                                         (fg.optim.AdamW, dict(lr=0.01, weight_decay=0.1))])
def test_a_param_group_in_one_rust_call_matches_one_call_per_parameter(monkeypatch, opt_cls, kw):
    """Adam's multi-tensor step (one adam_step_many per group) gives the bits of the per-parameter
    step, with float32 and float64 parameters, a non-contiguous parameter (the numpy rule), a
    transposed gradient, a parameter without a gradient, and a second group."""
    from ferrograd.optim.optimizer import Optimizer

    rng = np.random.default_rng(5)
    starts = [rng.standard_normal(s).astype(d) for s, d in
              [((7, 5), np.float32), ((130,), np.float32), ((3, 4), np.float64), ((6,), np.float32), ((2, 9), np.float32)]]
    results = []
    for grouped in (True, False):
        if not grouped:
            monkeypatch.setattr(fg.optim.Adam, "_update_group", Optimizer._update_group)
        ps = [Parameter(fg.tensor(w.copy())) for w in starts]
        ps[4]._data = np.asfortranarray(ps[4]._data)  # not C-contiguous: the numpy rule
        opt = opt_cls([{"params": ps[:4]}, {"params": ps[4:], "lr": 0.05}], **kw)
        for step in range(3):
            for i, p in enumerate(ps):
                g = np.random.default_rng(step * 10 + i).standard_normal(p.shape).astype(p.dtype)
                p.grad = None if i == 3 and step == 1 else fg.tensor(g)
            ps[0].grad = fg.tensor(np.ascontiguousarray(ps[0].grad.numpy().T)).T
            opt.step()
        results.append([p._data.copy() for p in ps] + [opt.state[id(p)]["step"] for p in ps])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert results[0][-2] == 2  # the step without a gradient did not count


def test_adam_step_many_names_the_parameter_it_refuses():
    from ferrograd import _native

    ps = [np.zeros(4, np.float32) for _ in range(3)]
    gs = [np.ones(4, np.float32) for _ in range(3)]
    ms = [np.zeros(4, np.float32) for _ in range(3)]
    vs = [np.zeros(4, np.float32), np.zeros(4, np.float32), np.zeros(5, np.float32)]
    args = (0.1, 0.9, 0.999, 1e-8, 0.0, False)
    with pytest.raises(ValueError, match="adam_step_many: parameter 2: adam_step: .*one shape"):
        _native.adam_step_many(ps, gs, ms, vs, None, [1, 1, 1], *args)
    with pytest.raises(ValueError, match="adam_step_many: 3 params but"):
        _native.adam_step_many(ps, gs[:2], ms, vs, None, [1, 1, 1], *args)
    with pytest.raises(TypeError, match="adam_step_many: parameter 1: .*dtype"):
        _native.adam_step_many(ps[:2], [gs[0], gs[1].astype(np.float64)], ms[:2], vs[:2], None, [1, 1], *args)
