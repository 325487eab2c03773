"""MLP-Mixer token/channel mixing: numpy reference, gradcheck, strides, bad input, torch (optional)."""

from __future__ import annotations

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.nn import functional as F
from ferrograd.reference import mixing as ref
from ferrograd.testing import gradcheck


def t(a, grad=False, dtype=None):
    a = np.asarray(a)
    return fg.Tensor(a.astype(dtype) if dtype else a, requires_grad=grad)


def weights(n, d, rng, dtype=np.float64, bias=True):
    w1 = (rng.standard_normal((d, n)) / np.sqrt(n)).astype(dtype)
    w2 = (rng.standard_normal((n, d)) / np.sqrt(d)).astype(dtype)
    b1 = rng.standard_normal(d).astype(dtype) if bias else None
    b2 = rng.standard_normal(n).astype(dtype) if bias else None
    return w1, b1, w2, b2


def wrap(ws, grad=False):
    return [None if a is None else t(a, grad) for a in ws]


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_token_mixing_matches_reference(dtype, tol):
    rng = np.random.default_rng(0)
    for b, s, c, d in [(1, 1, 1, 1), (2, 7, 5, 3), (3, 13, 9, 17), (2, 33, 65, 20)]:
        for bias in (True, False):
            x = rng.standard_normal((b, s, c)).astype(dtype) * 2
            ws = weights(s, d, rng, dtype, bias)
            got = F.token_mixing(t(x), *wrap(ws))
            assert got.dtype == dtype and got.shape == (b, s, c)
            np.testing.assert_allclose(got.numpy(), ref.token_mixing(x, *ws), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_channel_mixing_matches_reference(dtype, tol):
    rng = np.random.default_rng(1)
    for shape, d in [((1, 1), 1), ((2, 7, 5), 3), ((3, 4, 9), 17), ((130, 33), 70), ((11,), 4)]:
        for bias in (True, False):
            x = rng.standard_normal(shape).astype(dtype) * 2
            ws = weights(shape[-1], d, rng, dtype, bias)
            got = F.channel_mixing(t(x), *wrap(ws))
            assert got.dtype == dtype and got.shape == shape
            np.testing.assert_allclose(got.numpy(), ref.channel_mixing(x, *ws), rtol=tol, atol=tol)


def test_gelu_is_exact_erf_gelu_in_float32():
    # channel_mixing with identity-like weights exposes the activation: y = gelu(x) for w1 = w2 = I.
    x = np.linspace(-5.5, 6, 2001).astype(np.float32).reshape(-1, 1)
    one = np.ones((1, 1), np.float32)
    y = F.channel_mixing(t(x), t(one), None, t(one), None).numpy()
    want = ref.gelu(x.astype(np.float64))
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=2e-7)
    tail = x[:, 0] < -3  # the lower tail keeps its relative accuracy (no 1 + erf cancellation)
    np.testing.assert_allclose(y[tail], want[tail], rtol=2e-5, atol=1e-30)


@pytest.mark.parametrize("fn", ["token", "channel"])
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_every_input(fn, bias):
    rng = np.random.default_rng(2)
    b, s, c, d = 2, 5, 3, 4
    x = t(rng.standard_normal((b, s, c)), True)
    n = s if fn == "token" else c
    ws = wrap(weights(n, d, rng, bias=bias), True)
    f = F.token_mixing if fn == "token" else F.channel_mixing
    assert gradcheck(f, [x, *ws])


@pytest.mark.parametrize("fn", ["token", "channel"])
def test_float32_gradients_match_float64(fn):
    rng = np.random.default_rng(3)
    b, s, c, d = 3, 9, 6, 7
    xs = rng.standard_normal((b, s, c))
    ws = weights(s if fn == "token" else c, d, rng)
    gy = rng.standard_normal((b, s, c))
    f = F.token_mixing if fn == "token" else F.channel_mixing
    grads = []
    for dt in (np.float32, np.float64):
        x = t(xs, True, dt)
        w = [t(a, True, dt) for a in ws]
        f(x, *w).backward(gy.astype(dt))
        grads.append([x.grad.numpy()] + [a.grad.numpy() for a in w])
    for g32, g64 in zip(*grads):
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fn", ["token", "channel"])
def test_non_contiguous_inputs(fn):
    rng = np.random.default_rng(4)
    b, s, c, d = 3, 6, 5, 4
    x_nc = rng.standard_normal((c, 2 * s, b)).transpose(2, 1, 0)[:, ::2]
    n = s if fn == "token" else c
    w1_nc = rng.standard_normal((n, d)).T
    w2_nc = rng.standard_normal((2 * n, d))[::2]
    b1_nc = rng.standard_normal(3 * d)[::3]
    args_nc = [x_nc, w1_nc, b1_nc, w2_nc, None]
    args_c = [None if a is None else np.ascontiguousarray(a) for a in args_nc]
    assert not x_nc.flags.c_contiguous and not w1_nc.flags.c_contiguous
    gy = rng.standard_normal((b, s, c))
    f = F.token_mixing if fn == "token" else F.channel_mixing
    res = []
    for args in (args_nc, args_c):
        ts = wrap(args, True)
        y = f(*ts)
        y.backward(gy)
        res.append([y.detach().numpy()] + [a.grad.numpy() for a in ts if a is not None])
    for a, c_ in zip(*res):
        np.testing.assert_allclose(a, c_, rtol=1e-12, atol=1e-12)


def test_bad_input_raises_value_error_naming_the_function():
    rng = np.random.default_rng(5)
    x = t(rng.standard_normal((2, 6, 5)))
    tw = wrap(weights(6, 4, rng))
    cw = wrap(weights(5, 4, rng))
    F.token_mixing(x, *tw)
    F.channel_mixing(x, *cw)
    with pytest.raises(ValueError, match=r"token_mixing: w1 has shape \(4, 5\), expected \(hidden, 6\)"):
        F.token_mixing(x, *cw)
    with pytest.raises(ValueError, match=r"channel_mixing: w1 has shape \(4, 6\), expected \(hidden, 5\)"):
        F.channel_mixing(x, *tw)
    with pytest.raises(ValueError, match=r"token_mixing: x must be \(B, tokens, channels\), got \(6, 5\)"):
        F.token_mixing(t(np.zeros((6, 5))), *tw)
    with pytest.raises(ValueError, match=r"token_mixing: w2 has shape"):
        F.token_mixing(x, tw[0], tw[1], t(np.zeros((6, 3))), tw[3])
    with pytest.raises(ValueError, match=r"channel_mixing: b1 has shape \(3,\), expected \(4,\)"):
        F.channel_mixing(x, cw[0], t(np.zeros(3)), cw[2], cw[3])
    with pytest.raises(ValueError, match=r"channel_mixing: b2 has shape"):
        F.channel_mixing(x, cw[0], cw[1], cw[2], t(np.zeros(4)))
    with pytest.raises(TypeError, match="token_mixing"):
        F.token_mixing(x.float(), *tw)


def test_against_torch_mixer_mlps():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    b, s, c, dt, dc = 2, 9, 6, 5, 11
    tok1, tok2 = torch.nn.Linear(s, dt).double(), torch.nn.Linear(dt, s).double()
    ch1, ch2 = torch.nn.Linear(c, dc).double(), torch.nn.Linear(dc, c).double()
    x = torch.randn(b, s, c, dtype=torch.float64, requires_grad=True)
    gelu = torch.nn.functional.gelu
    y = tok2(gelu(tok1(x.transpose(1, 2)))).transpose(1, 2)
    y = ch2(gelu(ch1(y)))
    gy = torch.randn_like(y)
    y.backward(gy)
    mods = [tok1, tok2, ch1, ch2]
    p = [[t(m.weight.detach().numpy(), True), t(m.bias.detach().numpy(), True)] for m in mods]
    fx = t(x.detach().numpy(), True)
    fy = F.token_mixing(fx, p[0][0], p[0][1], p[1][0], p[1][1])
    fy = F.channel_mixing(fy, p[2][0], p[2][1], p[3][0], p[3][1])
    fy.backward(gy.numpy())
    np.testing.assert_allclose(fy.detach().numpy(), y.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fx.grad.numpy(), x.grad.numpy(), rtol=1e-10, atol=1e-12)
    for m, (w, bb) in zip(mods, p):
        np.testing.assert_allclose(w.grad.numpy(), m.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(bb.grad.numpy(), m.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_empty_dims():
    rng = np.random.default_rng(6)
    for b, s, c, d in [(0, 3, 4, 5), (2, 3, 0, 5), (2, 3, 4, 0)]:
        x = t(rng.standard_normal((b, s, c)), True)
        tw = wrap(weights(s, d, rng), True)
        y = F.token_mixing(x, *tw)
        y.sum().backward()
        np.testing.assert_allclose(y.detach().numpy(), ref.token_mixing(x.detach().numpy(), *[a.detach().numpy() for a in tw]), atol=1e-12)
        assert x.grad.shape == x.shape and all(a.grad.shape == a.shape for a in tw)
        x = t(rng.standard_normal((b, s, c)), True)
        cw = wrap(weights(c, d, rng), True)
        y = F.channel_mixing(x, *cw)
        y.sum().backward()
        np.testing.assert_allclose(y.detach().numpy(), ref.channel_mixing(x.detach().numpy(), *[a.detach().numpy() for a in cw]), atol=1e-12)
        assert x.grad.shape == x.shape and all(np.isfinite(a.grad.numpy()).all() for a in cw)
