"""Minimal reproductions of the library bugs the fuzz suite found, kept as regression tests: the
expected values are torch 2.15's. A new bug goes here as a strict xfail (with an entry in
known_bugs.py that keeps the fuzz tests off its inputs); fixing it makes the test XPASS, which fails
(strict): then drop the xfail here and the entry there."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from ferrograd import nn

NAN, INF = math.nan, math.inf


def t(values, device="cpu"):
    return fg.tensor(np.asarray(values, np.float32), device=device)


def same(got, want):
    np.testing.assert_allclose(got.detach().cpu().numpy(), np.asarray(want, np.float32), rtol=1e-5, atol=1e-6,
                               equal_nan=True)


# ---- cpu and wgpu -------------------------------------------------------------------------------
def test_cross_nan(device):
    same(fg.cross(t([[1, 2, 3]], device), t([[NAN, 1, 2]], device), dim=-1), [[1, NAN, NAN]])


def test_einsum_diagonal_nan(device):
    same(fg.einsum("ii->i", t([[1, NAN], [1, 2]], device)), [1, 2])


def test_isclose_inf(device):
    assert fg.isclose(t([1.0, INF], device), t([INF, INF], device)).tolist() == [False, True]
    assert fg.allclose(t([1.0], device), t([INF], device)) is False


def test_logaddexp_inf(device):
    same(fg.logaddexp(t([0.5, INF, -INF], device), t([INF, INF, -INF], device)), [INF, INF, -INF])


def test_hypot_inf_nan(device):
    same(fg.hypot(t([NAN, INF], device), t([INF, NAN], device)), [INF, INF])


def test_xlogy_zero_inf(device):
    same(fg.xlogy(t([0.0, 0.0], device), t([INF, NAN], device)), [0.0, NAN])


def test_activations_keep_nan(device):
    x = t([NAN], device)
    for fn in (F.hardsigmoid, F.hardtanh, F.relu6, F.softshrink, F.hardshrink, lambda a: F.threshold(a, 0.1, 20.0)):
        same(fn(x), [NAN])


def test_nll_loss_ignored_target_nan(device):
    x = t([[NAN, -1.0], [-2.0, -0.5]], device)
    target = fg.tensor(np.array([0, 1]), device=device)
    same(F.nll_loss(x, target, ignore_index=0), 0.5)


def test_sdpa_causal_masked_nan(device):
    q = t([[[[0.1, -0.5], [0.4, 1.3]]]], device)
    k = t([[[[-0.9, -0.5], [NAN, -1.0]]]], device)
    v = t([[[[0.8], [0.3]]]], device)
    same(F.scaled_dot_product_attention(q, k, v, is_causal=True), [[[[NAN], [NAN]]]])


def test_unflatten_layer_errors():
    layer = nn.Unflatten(1, (2, 3))
    for x in (fg.zeros(2, 1, 6), fg.tensor(1.0)):
        with pytest.raises((ValueError, IndexError, RuntimeError)) as e:
            layer(x)
        assert "nflatten" in str(e.value)


def test_sign_nan_is_zero_as_torch(device):
    same(fg.sign(t([NAN, -2.0, INF], device)), [0.0, -1.0, 1.0])
    same(fg.sgn(t([NAN], device)), [0.0])


# ---- wgpu (llvmpipe) ----------------------------------------------------------------------------
def test_wgpu_nan_inf_unary(wgpu_device):
    for fn in (fg.acos, fg.asin):
        same(fn(t([NAN, 2.0], "wgpu")), [NAN, NAN])
    same(fg.atan(t([NAN], "wgpu")), [NAN])
    same(fg.atan2(t([0.5], "wgpu"), t([NAN], "wgpu")), [NAN])
    same(fg.pow(t([-INF, -INF], "wgpu"), t([-0.5, 1.5], "wgpu")), [0.0, INF])


def test_wgpu_nan_inf_truthiness(wgpu_device):
    x = t([NAN, 0.0], "wgpu")
    assert x.bool().tolist() == [True, False]
    assert fg.count_nonzero(x).item() == 1
    assert fg.any(x).item() is True and fg.all(t([NAN], "wgpu")).item() is True
    assert fg.nonzero(x).cpu().numpy().ravel().tolist() == [0]
    assert fg.norm(x, 0).item() == 1.0


def test_wgpu_nan_inf_reductions(wgpu_device):
    x = t([[1.0, NAN, 2.0]], "wgpu")
    same(fg.max(x, 1).values, [NAN])
    assert fg.argmax(x, 1).tolist() == [1] and fg.argmin(x, 1).tolist() == [1]
    same(fg.scatter_reduce(t([0.0], "wgpu"), 0, fg.tensor(np.array([0, 0]), device="wgpu"), t([NAN, 1.0], "wgpu"),
                           "amax"), [NAN])
    same(F.adaptive_max_pool1d(t([[[NAN, 1.0, 2.0, 3.0]]], "wgpu"), 2), [[[NAN, 3.0]]])


def test_wgpu_nan_inf_division(wgpu_device):
    same(fg.floor_divide(t([-0.7, INF], "wgpu"), t([INF, 1.5], "wgpu")), [-1.0, NAN])
    same(fg.fmod(t([0.7], "wgpu"), t([INF], "wgpu")), [0.7])
    same(fg.remainder(t([-0.7], "wgpu"), t([INF], "wgpu")), [INF])


def test_wgpu_conv_transpose_nan(wgpu_device):
    x = t(np.ones((1, 1, 2, 2)), "wgpu")
    w = np.ones((1, 1, 2, 2), np.float32)
    w[0, 0, 0, 0] = NAN
    y = F.conv_transpose2d(x, t(w, "wgpu"), stride=2).cpu().numpy()
    assert np.isnan(y).sum() == 4  # the four pixels tap (0, 0) writes, as on cpu and in torch


def test_wgpu_negative_strides_matmul(wgpu_device):
    x = fg.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), device=wgpu_device)[::-1]
    w = t(np.ones((2, 3)), "wgpu")
    same(F.linear(x, w), [[12, 12], [3, 3]])


def test_wgpu_negative_strides_embedding(wgpu_device):
    table = fg.tensor(np.arange(3, dtype=np.float32).reshape(1, 3), device=wgpu_device)[::-1]
    same(F.embedding(fg.tensor(np.zeros(2, np.int64), device="wgpu"), table), [[0, 1, 2], [0, 1, 2]])


def test_wgpu_negative_strides_fused(wgpu_device):
    q = fg.tensor(np.ones((1, 1, 2, 2), np.float32), device=wgpu_device)[:, :, ::-1]
    same(F.scaled_dot_product_attention(q, q, q), np.ones((1, 1, 2, 2)))


def test_hardsigmoid_gradient_at_nan_and_bounds(device):
    """torch: g/6 strictly inside (-3, 3), 0 elsewhere — NaN and the bounds included."""
    x = t([NAN, -3, 3, 0.3, -5, 7, INF, -INF], device).requires_grad_()
    y = F.hardsigmoid(x)
    y.sum().backward()
    same(y, [NAN, 0, 1, 0.55, 0, 1, 1, 0])
    same(x.grad, [0, 0, 0, 1 / 6, 0, 0, 0, 0])
