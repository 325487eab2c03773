"""Fused optimizer steps on the device against ferrograd.optim on the CPU: the same gradient
sequence replayed on both, every step compared (float32 tolerance)."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.wgpu.array import GpuArray
from ferrograd.wgpu.kernels import adam_step, adam_step_many, sgd_step

SHAPE = (7, 37)  # not a multiple of the workgroup size: the tail is covered
STEPS = 6


def _grads(seed, shape=SHAPE, steps=STEPS):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(steps)]


def _cpu_param(seed, shape=SHAPE):
    w = np.random.default_rng(seed + 100).standard_normal(shape).astype(np.float32)
    return fg.Tensor(w, requires_grad=True)


def _replay_cpu(opt, p, g):
    p.grad = fg.Tensor(g)
    opt.step()
    return p._data.copy()


@pytest.mark.parametrize(
    "hyper",
    [
        dict(momentum=0.0),
        dict(momentum=0.0, weight_decay=0.1),
        dict(momentum=0.9),
        dict(momentum=0.9, dampening=0.3),
        dict(momentum=0.8, nesterov=True),
        dict(momentum=0.9, nesterov=True, weight_decay=0.05),
        dict(momentum=0.5, dampening=0.5, weight_decay=0.01),
    ],
    ids=lambda h: ",".join(f"{k}={v}" for k, v in h.items()),
)
def test_sgd_matches_cpu_every_step(hyper):
    lr = 0.05
    p = _cpu_param(1)
    opt = fg.optim.SGD([p], lr=lr, **hyper)
    dev_p = GpuArray.from_numpy(p._data)
    buf = GpuArray.empty(SHAPE) if hyper.get("momentum") else None  # first step never reads it
    for t, g in enumerate(_grads(2)):
        expected = _replay_cpu(opt, p, g)
        sgd_step(dev_p, GpuArray.from_numpy(g), buf, lr, first_step=t == 0, **hyper)
        np.testing.assert_allclose(dev_p.numpy(), expected, rtol=1e-5, atol=1e-6, err_msg=f"step {t + 1}")
    if buf is not None:
        cpu_buf = opt.state[id(p)]["momentum_buffer"]
        np.testing.assert_allclose(buf.numpy(), cpu_buf, rtol=1e-5, atol=1e-6)


def test_sgd_maximize_is_descent_on_the_negated_gradient():
    p = _cpu_param(3)
    opt = fg.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    dev_p, buf = GpuArray.from_numpy(p._data), GpuArray.empty(SHAPE)
    for t, g in enumerate(_grads(4)):
        expected = _replay_cpu(opt, p, -g)
        sgd_step(dev_p, GpuArray.from_numpy(g), buf, 0.1, momentum=0.9, weight_decay=0.01, maximize=True,
                 first_step=t == 0)
        np.testing.assert_allclose(dev_p.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "cls, hyper",
    [
        (fg.optim.Adam, dict()),
        (fg.optim.Adam, dict(weight_decay=0.1)),
        (fg.optim.Adam, dict(amsgrad=True)),
        (fg.optim.Adam, dict(amsgrad=True, weight_decay=0.05, betas=(0.8, 0.99))),
        (fg.optim.AdamW, dict()),
        (fg.optim.AdamW, dict(weight_decay=0.2)),
        (fg.optim.AdamW, dict(weight_decay=0.0, eps=1e-3)),
    ],
    ids=lambda x: x.__name__ if isinstance(x, type) else ",".join(f"{k}={v}" for k, v in x.items()),
)
def test_adam_matches_cpu_every_step(cls, hyper):
    lr = 0.01
    p = _cpu_param(5)
    opt = cls([p], lr=lr, **hyper)
    g0 = opt.param_groups[0]
    dev_p = GpuArray.from_numpy(p._data)
    m, v = GpuArray.empty(SHAPE), GpuArray.empty(SHAPE)  # step 1 never reads them
    vmax = GpuArray.empty(SHAPE) if g0["amsgrad"] else None
    # Shrinking gradients late in the sequence make AMSGrad's running max differ from v.
    grads = [g * s for g, s in zip(_grads(6), [1.0, 3.0, 0.5, 0.2, 2.0, 0.1])]
    for t, g in enumerate(grads, start=1):
        expected = _replay_cpu(opt, p, g)
        adam_step(dev_p, GpuArray.from_numpy(g), m, v, vmax, t, lr, g0["betas"][0], g0["betas"][1], g0["eps"],
                  g0["weight_decay"], cls is fg.optim.AdamW)
        np.testing.assert_allclose(dev_p.numpy(), expected, rtol=1e-5, atol=1e-6, err_msg=f"step {t}")
    state = opt.state[id(p)]
    np.testing.assert_allclose(m.numpy(), state["exp_avg"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(v.numpy(), state["exp_avg_sq"], rtol=1e-5, atol=1e-7)
    if vmax is not None:
        np.testing.assert_allclose(vmax.numpy(), state["max_exp_avg_sq"], rtol=1e-5, atol=1e-7)
        assert (state["max_exp_avg_sq"] > state["exp_avg_sq"]).any()  # the max path was exercised


def test_adam_maximize_is_descent_on_the_negated_gradient():
    p = _cpu_param(7)
    opt = fg.optim.Adam([p], lr=0.01)
    dev_p, m, v = GpuArray.from_numpy(p._data), GpuArray.empty(SHAPE), GpuArray.empty(SHAPE)
    for t, g in enumerate(_grads(8), start=1):
        expected = _replay_cpu(opt, p, -g)
        adam_step(dev_p, GpuArray.from_numpy(g), m, v, None, t, 0.01, maximize=True)
        np.testing.assert_allclose(dev_p.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_views_at_an_offset_update_only_their_span():
    """Parameters can live at an element offset inside a larger buffer (e.g. a flat arena)."""
    rng = np.random.default_rng(9)
    base = rng.standard_normal(300).astype(np.float32)
    grad = rng.standard_normal(100).astype(np.float32)
    arena = GpuArray.from_numpy(base)
    view = GpuArray((10, 10), np.float32, arena.storage, offset=150)
    sgd_step(view, GpuArray.from_numpy(grad.reshape(10, 10)), None, 0.5)
    expected = base.copy()
    expected[150:250] -= np.float32(0.5) * grad
    np.testing.assert_allclose(arena.numpy(), expected, rtol=1e-6, atol=1e-7)


def test_state_may_share_an_arena_buffer_with_the_parameter():
    p = _cpu_param(11, (40,))
    opt = fg.optim.Adam([p], lr=0.01)
    arena = GpuArray.from_numpy(np.concatenate([p._data, np.zeros(120, np.float32)]))
    dev_p, m, v = (GpuArray((40,), np.float32, arena.storage, offset=40 * i) for i in range(3))
    for t, g in enumerate(_grads(12, (40,), 3), start=1):
        expected = _replay_cpu(opt, p, g)
        adam_step(dev_p, GpuArray.from_numpy(g), m, v, None, t, 0.01)
        np.testing.assert_allclose(dev_p.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_many_parameters_recorded_before_one_readback():
    """Steps for several parameters are recorded back to back and read once at the end."""
    shapes = [(3,), (5, 4), (1, 1), (513,)]
    rng = np.random.default_rng(10)
    params = [fg.Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in shapes]
    opt = fg.optim.AdamW(params, lr=0.02)
    dev = [GpuArray.from_numpy(p._data) for p in params]
    state = [(GpuArray.empty(s), GpuArray.empty(s)) for s in shapes]
    for t in range(1, 4):
        grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        for p, g in zip(params, grads):
            p.grad = fg.Tensor(g)
        opt.step()
        for d, (m, v), g in zip(dev, state, grads):
            adam_step(d, GpuArray.from_numpy(g), m, v, None, t, 0.02, weight_decay=1e-2, decoupled=True)
    for d, p in zip(dev, params):
        np.testing.assert_allclose(d.numpy(), p._data, rtol=1e-5, atol=1e-6)


def test_bad_arguments_name_the_op_and_argument():
    p = GpuArray.from_numpy(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"sgd_step: grad has shape \(3, 4\)"):
        sgd_step(p, GpuArray.from_numpy(np.zeros((3, 4), np.float32)), None, 0.1)
    with pytest.raises(TypeError, match="sgd_step: momentum_buffer must be a GpuArray"):
        sgd_step(p, p, None, 0.1, momentum=0.9)
    with pytest.raises(TypeError, match="adam_step: grad must be float32"):
        adam_step(p, GpuArray.from_numpy(np.zeros((4, 3), np.int32)), p, p, None, 1, 0.1)
    other = GpuArray.from_numpy(np.zeros((4, 3), np.float32))
    transposed = GpuArray((4, 3), np.float32, other.storage, strides=(1, 4))
    with pytest.raises(ValueError, match="adam_step: exp_avg must be contiguous"):
        adam_step(p, other, transposed, other, None, 1, 0.1)
    # A dispatch may not bind one buffer both writable and read-only (WebGPU usage rules).
    with pytest.raises(ValueError, match="sgd_step: grad shares a buffer with param"):
        sgd_step(p, p, None, 0.1)
    with pytest.raises(ValueError, match="step counts from 1"):
        adam_step(p, p, p, p, None, 0, 0.1)


def test_adam_step_many_is_adam_step_per_parameter():
    """The list form on the device: the same results as one adam_step per parameter (own step
    counts), and an error naming the refused parameter."""
    shapes, steps = [(5, 3), (40,), (2, 2, 3)], [1, 4, 2]
    rng = np.random.default_rng(7)
    host = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(4)]  # p, g, m, v
    many = [[GpuArray.from_numpy(a) for a in arrays] for arrays in host]
    single = [[GpuArray.from_numpy(a) for a in arrays] for arrays in host]
    adam_step_many(*many, None, steps, 0.01, 0.9, 0.999, 1e-8, 0.1, True)
    for i in range(len(shapes)):
        adam_step(single[0][i], single[1][i], single[2][i], single[3][i], None, steps[i], 0.01, 0.9, 0.999, 1e-8,
                  0.1, True)
    for got, want in zip(many, single):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    bad = [many[0], many[1], many[2], many[3][:2] + [GpuArray.from_numpy(np.zeros(4, np.float32))]]
    with pytest.raises(ValueError, match="adam_step_many: parameter 2: adam_step"):
        adam_step_many(*bad, None, steps, 0.01)


def test_sum_of_squares_on_the_device_matches_the_native_kernel():
    from ferrograd import _native
    from ferrograd.wgpu.kernels import sum_of_squares

    rng = np.random.default_rng(8)
    host = [rng.standard_normal(s).astype(np.float32) for s in [(7, 37), (1,), (0,), (300,)]]
    want = _native.sum_of_squares(host)
    got = sum_of_squares([GpuArray.from_numpy(a) for a in host])
    assert abs(got - want) <= 1e-5 * want
    with pytest.raises(TypeError, match="sum_of_squares: array 1"):
        sum_of_squares([GpuArray.from_numpy(host[0]), [1.0, 2.0]])
