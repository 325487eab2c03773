"""Pooling beyond the fused kernels: max pooling with return_indices / dilation / ceil_mode,
avg pooling with ceil_mode / divisor_override, adaptive_avg_pool1d, adaptive_max_pool1d/2d,
max_unpool1d/2d, lp_pool1d/2d, local_response_norm and their modules: outputs, indices and input
gradients against PyTorch (POOL_CASES of tests/fixtures/gen/resample_pool_cases.py), float64
gradchecks, the same calls on wgpu, torch's argument errors, module attributes and reprs."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F
from ferrograd.testing import gradcheck

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
_spec = importlib.util.spec_from_file_location("resample_pool_cases", FIXTURES / "gen" / "resample_pool_cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)

DATA = np.load(FIXTURES / "resample_pool_torch.npz")
CASES = cases.POOL_CASES


def run_case(name, device="cpu", dtype=None):
    """The case on `device` (input cast to dtype): ([outputs as numpy], input gradient)."""
    build, _, _ = CASES[name]
    x = DATA[f"{name}|in"]
    t = fg.tensor(x if dtype is None else x.astype(dtype), device=device, requires_grad=True)
    out = build(nn, F)(t)
    outs = out if isinstance(out, tuple) else (out,)
    assert all(o.device == t.device for o in outs)
    up = fg.tensor(cases.upstream(tuple(outs[0].shape)), dtype=outs[0].dtype, device=device)
    (outs[0] * up).sum().backward()
    return [o.detach().numpy() for o in outs], t.grad.numpy()


def test_every_case_has_a_fixture():
    stored = {k.split("|")[0] for k in DATA.files}
    assert set(CASES) <= stored


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    tol = 1e-5 if CASES[name][2] == "float32" else 1e-10
    outs, grad = run_case(name)
    for i, got in enumerate(outs):
        want = DATA[f"{name}|out{i}"]
        assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
        if want.dtype.kind == "i":
            np.testing.assert_array_equal(got, want, err_msg=f"indices of {name}")
        else:
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=f"output {i} of {name}")
    np.testing.assert_allclose(grad, DATA[f"{name}|grad"], rtol=tol, atol=tol, err_msg=f"gradient of {name}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_wgpu_matches_cpu(name):
    """float32 on wgpu gives what float32 on cpu gives (values, indices and gradients)."""
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    cpu_outs, cpu_grad = run_case(name, "cpu", np.float32)
    dev_outs, dev_grad = run_case(name, "wgpu", np.float32)
    for c, d in zip(cpu_outs, dev_outs):
        if c.dtype.kind == "i":
            np.testing.assert_array_equal(d, c)
        else:
            np.testing.assert_allclose(d, c, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dev_grad, cpu_grad, rtol=1e-5, atol=1e-5)


def _x(*shape, seed=0, positive=False):
    """Distinct, well separated values, so finite differences never cross a max-pool tie."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    x = (rng.permutation(n) - n / 2) / 4.0
    return fg.tensor((x - x.min() + 0.5 if positive else x).reshape(shape), requires_grad=True)


@pytest.mark.parametrize("call", [
    lambda x: F.max_pool2d(x, 3, 2, 1, dilation=1, ceil_mode=True, return_indices=True)[0],
    lambda x: F.max_pool2d(x, 2, 1, 1, dilation=(2, 1)),
    lambda x: F.max_pool1d(x.flatten(2), 3, 2, 1, ceil_mode=True),
    lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: F.avg_pool2d(x, (2, 3), 2, ceil_mode=True, divisor_override=5),
    lambda x: F.avg_pool1d(x.flatten(2), 4, 3, 2, ceil_mode=True),
    lambda x: F.adaptive_avg_pool1d(x.flatten(2), 7),
    lambda x: F.adaptive_max_pool1d(x.flatten(2), 4),
    lambda x: F.adaptive_max_pool2d(x, (3, 2)),
    lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2, output_size=(5, 5)),
    lambda x: F.lp_pool2d(x, 2.5, (2, 3), ceil_mode=True),
    lambda x: F.lp_pool1d(x.flatten(2), 2, 3, 2),
    lambda x: F.local_response_norm(x, 3, alpha=0.1, k=1.5),
])
def test_gradcheck_float64(call):
    assert gradcheck(call, [_x(2, 3, 5, 5, positive=True)])


def test_local_response_norm_second_derivative():
    w = fg.tensor(np.random.default_rng(1).standard_normal((2, 4, 3, 2)))

    def grad_of(x):
        with fg.enable_grad():
            y = F.local_response_norm(x, 3, alpha=0.3, beta=0.6, k=1.2)
            (g,) = fg.autograd.grad((y * w).sum(), [x], create_graph=True)
        return g

    assert gradcheck(grad_of, [_x(2, 4, 3, 2)])


def test_pool_indices_feed_max_unpool_round_trip():
    """max_unpool2d puts every max back where max_pool2d found it, zeros elsewhere."""
    x = _x(2, 3, 6, 6)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    back = F.max_unpool2d(y, idx, 2).detach().numpy()
    xs = x.detach().numpy()
    assert idx.dtype == fg.int64
    np.testing.assert_array_equal(back[back != 0], xs[back != 0])
    assert (back != 0).sum() == y.numel()


def test_ceil_mode_and_indices_match_the_fused_kernel_where_both_apply():
    x = _x(2, 3, 7, 6)
    fast = F.max_pool2d(x, 3, 2, 1)
    slow, _ = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(fast.detach().numpy(), slow.detach().numpy())
    np.testing.assert_array_equal(F.avg_pool2d(x, 2, ceil_mode=True).detach().numpy()[:, :, :3, :3],
                                  F.avg_pool2d(x, 2).detach().numpy())


@pytest.mark.parametrize("device", ["cpu", "wgpu"])
def test_ties_pick_the_first_window_element_like_torch(device):
    """Equal values (a ReLU's zeros): torch's index and gradient go to the first in row-major
    window order."""
    if device == "wgpu":
        from ferrograd.wgpu import NoAdapterError, runtime

        try:
            runtime.get()
        except NoAdapterError as e:
            pytest.skip(f"no WebGPU adapter: {e}")
    x = fg.zeros(1, 1, 4, 5, device=device, requires_grad=True)
    y, idx = F.max_pool2d(x, 2, 2, ceil_mode=True, return_indices=True)
    y.sum().backward()
    assert idx.numpy().ravel().tolist() == [0, 2, 4, 10, 12, 14]
    assert np.flatnonzero(x.grad.numpy().ravel()).tolist() == [0, 2, 4, 10, 12, 14]
    _, idx = F.adaptive_max_pool1d(fg.zeros(1, 1, 7, device=device), 3, return_indices=True)
    assert idx.numpy().ravel().tolist() == [0, 2, 4]


def test_lp_pool_infinite_norms_are_max_and_min_of_magnitudes():
    x = _x(1, 2, 4, 4)
    np.testing.assert_allclose(F.lp_pool2d(x, math.inf, 2).detach().numpy(), F.max_pool2d(x.abs(), 2).detach().numpy())
    np.testing.assert_allclose(F.lp_pool2d(x, -math.inf, 2).detach().numpy(), -F.max_pool2d(-x.abs(), 2).detach().numpy())


@pytest.mark.parametrize("call, exc, fragment", [
    (lambda x: F.max_pool2d(x, 3, 2, padding=2), ValueError, "max_pool2d: padding (2, 2) should be at most half of"),
    (lambda x: F.max_pool2d(x, 2, dilation=0), ValueError, "max_pool2d: dilation must be positive"),
    (lambda x: F.max_pool1d(x[0], 9, return_indices=True), ValueError, "max_pool1d: kernel (9,) is larger than the padded"),
    (lambda x: F.max_pool2d(x, 3, dilation=3), ValueError, "max_pool2d: kernel (3, 3) is larger than the padded input"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=0), ValueError, "avg_pool2d: divisor must be not zero"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=1.5), TypeError, "avg_pool2d: divisor_override must be an int"),
    (lambda x: F.adaptive_avg_pool1d(x[0], (2, 3)), ValueError, "adaptive_avg_pool1d: output_size must be an int"),
    (lambda x: F.adaptive_avg_pool1d(x, 2), ValueError, "adaptive_avg_pool1d: expected a 2-d (unbatched) or 3-d"),
    (lambda x: F.adaptive_avg_pool1d(x[0, :, :0, 0], 2), ValueError, "adaptive_avg_pool1d: input (1, 3, 0) has an empty"),
    (lambda x: F.adaptive_max_pool2d(x, -1), ValueError, "adaptive_max_pool2d: output_size must be non-negative"),
    (lambda x: F.adaptive_max_pool2d(x[:, :, :0], 2), ValueError, "adaptive_max_pool2d: input (2, 3, 0, 7) has an empty"),
    (lambda x: F.adaptive_max_pool1d(x.long()[0], 2), TypeError, "adaptive_max_pool1d: input must be float32 or float64"),
    (lambda x: F.max_unpool2d(x, x.long(), 2, output_size=(7, 6)), ValueError,
     'max_unpool2d: invalid output_size "(7, 6)" (dim 0 must be between 10 and 14)'),
    (lambda x: F.max_unpool2d(x, x.long(), 2, output_size=(5,)), ValueError,
     "max_unpool2d: output_size should be a sequence containing 2 or 4 elements, but it has a length of '1'"),
    (lambda x: F.max_unpool2d(x, x, 2), TypeError, "max_unpool2d: elements in indices should be type int64"),
    (lambda x: F.max_unpool2d(x, x.long()[:, :, :1], 2), ValueError, "max_unpool2d: expected shape of indices to be"),
    (lambda x: F.max_unpool2d(x, x.long() + 200, 2), IndexError, "max_unpool2d: found an invalid max index: 283"),
    (lambda x: F.lp_pool2d(x, 0, 2), ValueError, "lp_pool2d: norm_type must be a non-zero value, but got 0"),
    (lambda x: F.lp_pool1d(x[0], "2", 2), TypeError, "lp_pool1d: norm_type must be a number"),
    (lambda x: F.local_response_norm(x[0, 0], 2), ValueError, "local_response_norm: expected 3D or higher"),
    (lambda x: F.local_response_norm(x, 0), ValueError, "local_response_norm: size must be a positive int"),
])
def test_bad_arguments_raise_naming_the_function(call, exc, fragment):
    x = fg.tensor(np.arange(2 * 3 * 6 * 7, dtype=np.float64).reshape(2, 3, 6, 7) % 84)
    with pytest.raises(exc) as e:
        call(x)
    assert fragment in str(e.value)


def test_modules_attributes_reprs_and_empty_state():
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.MaxPool1d(3, 1)) == "MaxPool1d(kernel_size=3, stride=1, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool2d(2)) == "AvgPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.AvgPool1d(2)) == "AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))"
    assert repr(nn.AdaptiveMaxPool2d((2, None), True)) == "AdaptiveMaxPool2d(output_size=(2, None))"
    assert repr(nn.AdaptiveAvgPool1d(3)) == "AdaptiveAvgPool1d(output_size=3)"
    assert repr(nn.MaxUnpool2d(2)) == "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    assert repr(nn.MaxUnpool1d(2)) == "MaxUnpool1d(kernel_size=(2,), stride=(2,), padding=(0,))"
    assert repr(nn.LPPool2d(2, 3)) == "LPPool2d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)"
    assert repr(nn.LocalResponseNorm(2)) == "LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)"
    m = nn.MaxPool2d(3, return_indices=True, ceil_mode=True)
    assert (m.kernel_size, m.stride, m.return_indices, m.ceil_mode) == (3, 3, True, True)
    a = nn.AvgPool2d(2, divisor_override=3, count_include_pad=False)
    assert (a.divisor_override, a.count_include_pad) == (3, False)
    for m in (nn.MaxPool2d(2), nn.AdaptiveMaxPool1d(2), nn.MaxUnpool2d(2), nn.LPPool1d(2, 2), nn.LocalResponseNorm(3)):
        assert m.state_dict() == {} and list(m.parameters()) == []
