"""Initialisers follow PyTorch's formulas (checked through sample statistics and bounds)."""

import math

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import init


def _param(*shape):
    return nn.Parameter(fg.zeros(*shape))


def test_uniform_bounds_follow_the_fans():
    t = _param(300, 200)
    init.xavier_uniform_(t)
    bound = math.sqrt(6 / 500)
    assert np.abs(t._data).max() <= bound and np.abs(t._data).max() > 0.95 * bound
    init.kaiming_uniform_(t, a=math.sqrt(5))  # nn.Linear's default
    bound = math.sqrt(6 / (1 + 5)) / math.sqrt(200)
    assert np.abs(t._data).max() <= bound and np.abs(t._data).max() > 0.95 * bound


def test_normal_stds():
    t = _param(400, 300)
    init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")
    assert t._data.std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    init.xavier_normal_(t, gain=2.0)
    assert t._data.std() == pytest.approx(2 * math.sqrt(2 / 700), rel=0.02)
    init.normal_(t, 3.0, 0.5)
    assert t._data.mean() == pytest.approx(3.0, abs=0.01)


def test_conv_fans_use_the_receptive_field():
    t = _param(16, 8, 3, 3)
    init.kaiming_uniform_(t, nonlinearity="relu")
    assert np.abs(t._data).max() <= math.sqrt(2) * math.sqrt(3 / 72)


def test_orthogonal_constant_and_seeding():
    t = _param(6, 10)
    init.orthogonal_(t)
    np.testing.assert_allclose(t._data @ t._data.T, np.eye(6), atol=1e-5)
    init.ones_(t)
    assert (t._data == 1).all()
    init.zeros_(t)
    assert (t._data == 0).all()
    fg.manual_seed(4)
    a = init.uniform_(_param(5))._data.copy()
    fg.manual_seed(4)
    np.testing.assert_array_equal(a, init.uniform_(_param(5))._data)
    with pytest.raises(ValueError, match="nonlinearity"):
        init.calculate_gain("swish")
