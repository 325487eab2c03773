"""conv_transpose1d / ConvTranspose1d (the 2-d transposed kernel on (N, C, 1, L)) and conv3d /
Conv3d (a sum of 2-d convolutions over the depth taps) against torch
(tests/fixtures/nn_more_cases.npz) on cpu float64 and wgpu float32; init, gradcheck, bad args."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F
from ferrograd.testing import gradcheck

sys.path.insert(0, str(Path(__file__).parent))
from _nn_more_replay import check, names, wgpu  # noqa: E402,F401

CONV_CASES = names(["conv_transpose1d", "ConvTranspose1d", "conv3d", "Conv3d"])


@pytest.mark.parametrize("name", CONV_CASES)
def test_convs_match_torch(name):
    check(name)


@pytest.mark.parametrize("name", CONV_CASES)
def test_convs_match_torch_on_wgpu(wgpu, name):
    check(name, np.float32, "wgpu", rtol=5e-4, atol=5e-4)


def test_gradcheck():
    fg.manual_seed(4)
    r = lambda *s: fg.randn(*s, dtype=fg.float64, requires_grad=True)  # noqa: E731
    x, w, b = r(1, 2, 3, 4, 3), r(2, 1, 2, 2, 2), r(2)
    assert gradcheck(lambda x, w, b: F.conv3d(x, w, b, stride=(2, 1, 1), padding=1, groups=2), [x, w, b])
    x1, w1 = r(2, 2, 4), r(2, 3, 2)
    assert gradcheck(lambda x, w: F.conv_transpose1d(x, w, stride=2, output_padding=1), [x1, w1])


def test_module_shapes_and_init():
    fg.manual_seed(0)
    m = nn.Conv3d(4, 6, (1, 2, 3), groups=2)
    assert tuple(m.weight.shape) == (6, 2, 1, 2, 3) and tuple(m.bias.shape) == (6,)
    bound = 1 / math.sqrt(2 * 6)
    assert np.abs(m.weight.detach().numpy()).max() <= bound and np.abs(m.bias.detach().numpy()).max() <= bound
    t = nn.ConvTranspose1d(4, 6, 3, groups=2, bias=False)
    assert tuple(t.weight.shape) == (4, 3, 3) and t.bias is None
    assert nn.Conv3d(1, 1, 1, dtype=fg.float64).weight.dtype == np.float64


def test_output_size_picks_output_padding():
    m = nn.ConvTranspose1d(2, 2, 3, stride=3)
    x = fg.randn(1, 2, 4)
    assert [m(x, output_size=[s]).shape[-1] for s in (12, 13, 14)] == [12, 13, 14]
    assert m(x, output_size=(1, 2, 13)).shape == (1, 2, 13)  # with the batch and channel dims
    with pytest.raises(ValueError, match=r"requested an output size of \[15\], but valid sizes range from \[12\] to \[14\]"):
        m(x, output_size=[15])
    with pytest.raises(ValueError, match="output_size must have 1 or 3 elements"):
        m(x, output_size=[1, 2])
    m2 = nn.ConvTranspose2d(1, 1, 2, stride=2)
    assert m2(fg.randn(1, 1, 3, 3), output_size=[7, 6]).shape == (1, 1, 7, 6)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"conv3d: weight must be 5-d, got shape \(2, 2, 2, 2\)"):
        F.conv3d(fg.randn(1, 2, 3, 3, 3), fg.randn(2, 2, 2, 2))
    with pytest.raises(ValueError, match="conv3d: expected a 4-d \\(unbatched\\) or 5-d \\(batched\\) input"):
        F.conv3d(fg.randn(2, 3, 3), fg.randn(2, 2, 1, 1, 1))
    with pytest.raises(ValueError, match="conv3d: input .* has 2 channels but weight .* expects 3"):
        F.conv3d(fg.randn(1, 2, 3, 3, 3), fg.randn(2, 3, 1, 1, 1))
    with pytest.raises(ValueError, match="conv_transpose1d: output_padding"):
        F.conv_transpose1d(fg.randn(1, 2, 3), fg.randn(2, 2, 2), output_padding=2)
    with pytest.raises(TypeError, match="conv_transpose1d: weight has dtype float64"):
        F.conv_transpose1d(fg.randn(1, 2, 3), fg.randn(2, 2, 2, dtype=fg.float64))
