"""WGSL MLP-Mixer mixing (token and channel, forward and backward) against `_native` on the same
float32 data: odd sizes, strided inputs, absent biases, bad shapes."""

import sys
from pathlib import Path

import numpy as np
import pytest

from ferrograd import _native
from ferrograd.wgpu import kernels as K

sys.path.insert(0, str(Path(__file__).parent))  # the shared helpers, under either pytest import mode
from _fused_helpers import close, dev, dev_permuted, dev_sliced, forbid_dispatch, rand  # noqa: E402


def _weights(rng, n_in, d, bias):
    w1, w2 = rand(rng, d, n_in, scale=0.3), rand(rng, n_in, d, scale=0.3)
    b1, b2 = (rand(rng, d), rand(rng, n_in)) if bias else (None, None)
    return w1, b1, w2, b2


def _opt(a):
    return None if a is None else dev(a)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("layout", ["contiguous", "permuted", "sliced"])
def test_token_mixing_matches_native(bias, layout):
    rng = np.random.default_rng(7)
    b, s, c, d = 3, 13, 5, 24
    x = rand(rng, b, s, c)
    w1, b1, w2, b2 = _weights(rng, s, d, bias)
    gx = {"contiguous": dev, "permuted": lambda a: dev_permuted(a, (0, 2, 1)), "sliced": dev_sliced}[layout](x)
    assert layout == "contiguous" or not gx.is_contiguous
    y, hpre, act = _native.token_mixing_forward(x, w1, b1, w2, b2)
    gy_out = K.token_mixing_forward(gx, dev(w1), _opt(b1), dev(w2), _opt(b2))
    for got, want in zip(gy_out, (y, hpre, act)):
        close(got, want)
    gy = rand(rng, b, s, c)
    want = _native.token_mixing_backward(x, w1, w2, hpre, act, gy)
    got = K.token_mixing_backward(gx, dev(w1), dev(w2), gy_out[1], gy_out[2], dev(gy))
    assert len(got) == 5
    for g, w in zip(got, want):
        close(g, w, tol=5e-4)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("layout", ["contiguous", "permuted"])
def test_channel_mixing_matches_native(bias, layout):
    rng = np.random.default_rng(8)
    n, c, d = 37, 13, 24
    x = rand(rng, n, c)
    w1, b1, w2, b2 = _weights(rng, c, d, bias)
    gx = dev(x) if layout == "contiguous" else dev_permuted(x, (1, 0))
    y, hpre, act = _native.channel_mixing_forward(x, w1, b1, w2, b2)
    out = K.channel_mixing_forward(gx, dev_permuted(w1, (1, 0)), _opt(b1), dev(w2), _opt(b2))
    for got, want in zip(out, (y, hpre, act)):
        close(got, want)
    gy = rand(rng, n, c)
    want = _native.channel_mixing_backward(x, w1, w2, hpre, act, gy)
    got = K.channel_mixing_backward(gx, dev(w1), dev(w2), out[1], out[2], dev(gy))
    for g, w in zip(got, want):
        close(g, w, tol=5e-4)


def test_gelu_tails_match_native():
    # Large |pre-activations| exercise the erfc-based Φ in both tails.
    rng = np.random.default_rng(9)
    x = rand(rng, 6, 4, scale=6.0)
    w1, b1, w2, b2 = _weights(rng, 4, 5, True)
    w1 *= 10
    want = _native.channel_mixing_forward(x, w1, b1, w2, b2)
    for got, w in zip(K.channel_mixing_forward(dev(x), dev(w1), dev(b1), dev(w2), dev(b2)), want):
        close(got, w, tol=1e-3)


def test_bad_shapes_raise_before_dispatch(monkeypatch):
    x = dev(np.zeros((2, 5, 3)))
    forbid_dispatch(monkeypatch)
    with pytest.raises(ValueError, match=r"token_mixing: w1 has shape \(4, 6\), expected \(D, 5\)"):
        K.token_mixing_forward(x, dev(np.zeros((4, 6))), None, dev(np.zeros((5, 4))), None)
    with pytest.raises(ValueError, match=r"token_mixing: input has shape \(5, 3\)"):
        K.token_mixing_forward(dev(np.zeros((5, 3))), dev(np.zeros((4, 5))), None, dev(np.zeros((5, 4))), None)
    with pytest.raises(ValueError, match=r"channel_mixing: w2 has shape \(3, 3\), expected \(3, 4\)"):
        K.channel_mixing_forward(dev(np.zeros((2, 3))), dev(np.zeros((4, 3))), None, dev(np.zeros((3, 3))), None)
    with pytest.raises(ValueError, match=r"channel_mixing backward: gy has shape \(2, 2\)"):
        K.channel_mixing_backward(dev(np.zeros((2, 3))), dev(np.zeros((4, 3))), dev(np.zeros((3, 4))),
                                  dev(np.zeros((2, 4))), dev(np.zeros((2, 4))), dev(np.zeros((2, 2))))
    with pytest.raises(TypeError, match="token_mixing: input"):
        K.token_mixing_forward(np.zeros((2, 5, 3), np.float32), dev(np.zeros((4, 5))), None, dev(np.zeros((5, 4))), None)
