"""nn.init beyond test_init.py: trunc_normal_, eye_, dirac_, sparse_, calculate_gain's table,
kaiming's modes, `generator=`, zero-element tensors and bad arguments."""

import math
import warnings

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F
from ferrograd.nn import init


def _param(*shape):
    return nn.Parameter(fg.zeros(*shape))


def _truncnorm_moments(mean, std, a, b):
    """Mean and std of N(mean, std^2) truncated to [a, b]."""
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2  # noqa: E731
    al, be = (a - mean) / std, (b - mean) / std
    z = cdf(be) - cdf(al)
    m = mean + std * (pdf(al) - pdf(be)) / z
    v = std**2 * (1 + (al * pdf(al) - be * pdf(be)) / z - ((pdf(al) - pdf(be)) / z) ** 2)
    return m, math.sqrt(v)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (1.0, 2.0, 0.0, 10.0),
                                          (0.0, 1.0, 1.5, 3.0)])
def test_trunc_normal_bounds_and_moments(mean, std, a, b):
    t = init.trunc_normal_(_param(200, 500), mean, std, a, b)
    v = t.detach().numpy()
    assert v.dtype == np.float32 and v.min() >= a and v.max() <= b
    m, s = _truncnorm_moments(mean, std, a, b)
    assert abs(v.mean() - m) < 0.01 * s + 1e-7 and v.std() == pytest.approx(s, rel=0.01)
    # a and b are values, not numbers of std: the default [-2, 2] does not cut N(0, 0.02) at all
    if (mean, std, a, b) == (0.0, 0.02, -0.04, 0.04):
        wide = init.trunc_normal_(_param(100, 100), std=0.02).detach().numpy()
        assert wide.std() == pytest.approx(0.02, rel=0.02)


def test_trunc_normal_generator_seed_and_warning():
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    a = init.trunc_normal_(_param(30), generator=g1).detach().numpy()
    np.testing.assert_array_equal(a, init.trunc_normal_(_param(30), generator=g2).detach().numpy())
    fg.manual_seed(2)
    b = init.trunc_normal_(_param(30)).detach().numpy()
    fg.manual_seed(2)
    np.testing.assert_array_equal(b, init.trunc_normal_(_param(30)).detach().numpy())
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        init.trunc_normal_(_param(3), mean=10.0, std=1.0, a=-1.0, b=1.0)
    with pytest.raises(ValueError, match="trunc_normal_: a must be <= b"):
        init.trunc_normal_(_param(3), a=1.0, b=-1.0)
    with pytest.raises(ValueError, match="trunc_normal_: std must be > 0"):
        init.trunc_normal_(_param(3), std=0.0)
    with pytest.raises(TypeError, match="trunc_normal_: generator must be None or a ferrograd.Generator"):
        init.trunc_normal_(_param(3), generator=3)


def test_every_random_init_takes_a_generator():
    for fn in (init.uniform_, init.normal_, init.trunc_normal_, init.xavier_uniform_, init.xavier_normal_,
               init.kaiming_uniform_, init.kaiming_normal_, init.orthogonal_, lambda t, generator: init.sparse_(
                   t, 0.5, generator=generator)):
        a = fn(_param(4, 6), generator=np.random.default_rng(1)).detach().numpy()
        b = fn(_param(4, 6), generator=np.random.default_rng(1)).detach().numpy()
        np.testing.assert_array_equal(a, b)
        assert a.std() > 0


def test_calculate_gain_matches_torch_table():
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                 "sigmoid"):
        assert init.calculate_gain(name) == 1
    assert init.calculate_gain("tanh") == 5.0 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("selu") == 0.75
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01**2))
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("leaky_relu", 1) == 1.0
    with pytest.raises(ValueError, match="calculate_gain: negative_slope True is not a valid number"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="calculate_gain: unsupported nonlinearity 'gelu'"):
        init.calculate_gain("gelu")


def test_kaiming_modes_and_zero_element_tensors():
    t = _param(64, 256)
    init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu")
    assert np.abs(t.detach().numpy()).max() <= math.sqrt(2) * math.sqrt(3 / 64)
    assert np.abs(t.detach().numpy()).max() > math.sqrt(2) * math.sqrt(3 / 64) * 0.95
    init.kaiming_normal_(t, mode="FAN_IN", nonlinearity="linear")  # torch lower-cases the mode
    assert t.detach().numpy().std() == pytest.approx(1 / 16, rel=0.03)
    with pytest.raises(ValueError, match="kaiming: mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(t, mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element tensor is a no-op"):
        init.kaiming_uniform_(_param(0, 3))
    assert init.orthogonal_(_param(0, 3)).shape == (0, 3)
    with pytest.raises(ValueError, match="fewer than 2 dims"):
        init.xavier_uniform_(_param(5))
    assert init._calculate_fan_in_and_fan_out(_param(8, 4, 3, 3)) == (36, 72)


def test_eye_and_constant_fills():
    t = init.eye_(_param(3, 5))
    np.testing.assert_array_equal(t.detach().numpy(), np.eye(3, 5))
    assert init.constant_(_param(2, 2), 0.25).detach().numpy().tolist() == [[0.25, 0.25], [0.25, 0.25]]
    with pytest.raises(ValueError, match="eye_: only tensors with 2 dims"):
        init.eye_(_param(2, 2, 2))
    with pytest.raises(TypeError, match="constant_: tensor must be a Tensor"):
        init.constant_(np.zeros(3), 1.0)


@pytest.mark.parametrize("groups", [1, 2])
def test_dirac_makes_a_conv_the_identity(groups):
    w = init.dirac_(_param(4, 4 // groups, 3, 3), groups=groups)
    x = fg.randn(2, 4, 5, 5)
    y = F.conv2d(x, w.detach(), padding=1, groups=groups)
    np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=1e-6, atol=1e-6)
    w1 = init.dirac_(_param(6, 2, 3)).detach().numpy()  # more outputs than inputs: the rest stay 0
    assert w1.sum() == 2 and w1[0, 0, 1] == 1 and w1[1, 1, 1] == 1
    with pytest.raises(ValueError, match="dirac_: dim 0 of shape \\(5, 2, 3\\) must be divisible by groups=2"):
        init.dirac_(_param(5, 2, 3), groups=2)
    with pytest.raises(ValueError, match="dirac_: only tensors with 3, 4 or 5 dims"):
        init.dirac_(_param(3, 3))


def test_sparse_zeros_per_column():
    t = init.sparse_(_param(10, 7), sparsity=0.25, std=0.5).detach().numpy()
    assert ((t == 0).sum(0) == math.ceil(0.25 * 10)).all()
    assert t[t != 0].std() == pytest.approx(0.5, rel=0.3)
    with pytest.raises(ValueError, match="sparse_: only tensors with 2 dims"):
        init.sparse_(_param(3), 0.1)


def test_inits_fill_wgpu_tensors_in_place():
    pytest.importorskip("wgpu")
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    t = nn.Parameter(fg.zeros(8, 6, device="wgpu"))
    for fn in (init.trunc_normal_, init.xavier_uniform_, init.orthogonal_, init.eye_, lambda t: init.constant_(t, 2.0)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = fn(t)
        assert out is t and t.device == "wgpu" and t.dtype == np.float32
    np.testing.assert_array_equal(t.detach().numpy(), np.full((8, 6), 2.0, np.float32))
    fg.manual_seed(0)
    init.orthogonal_(t)
    fg.manual_seed(0)
    np.testing.assert_allclose(t.detach().numpy(), init.orthogonal_(_param(8, 6)).detach().numpy(), rtol=1e-6)
