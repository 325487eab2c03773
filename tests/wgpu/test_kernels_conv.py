"""WGSL conv2d (forward, backward-data, backward-weight) against `_native` on the same float32
data: odd sizes that fill no tile, strides, paddings, dilations, groups, strided views."""

import os
import sys

import numpy as np
import pytest

from ferrograd import _native
from ferrograd.wgpu.kernels import conv2d_backward_data, conv2d_backward_weight, conv2d_forward
from ferrograd.wgpu.kernels.conv import _splits

# wgpu_views.py sits next to this file; pytest's importlib mode puts no test folder on sys.path
sys.path.insert(0, os.path.dirname(__file__))
from wgpu_views import dev, flipped, layouts, permuted, sliced, small_grid_limit  # noqa: E402

TOL = dict(rtol=1e-4, atol=1e-4)

# (n, c_in, h, w, c_out, kh, kw, stride, padding, dilation, groups)
CASES = [
    (2, 3, 7, 9, 5, 3, 2, (1, 1), (0, 0), (1, 1), 1),
    (3, 6, 11, 10, 4, 3, 3, (2, 3), (1, 2), (2, 1), 2),
    (1, 4, 5, 6, 4, 3, 3, (1, 1), (1, 1), (1, 1), 4),  # depthwise
    (2, 5, 9, 8, 70, 1, 1, (1, 1), (0, 0), (1, 1), 1),  # pointwise; c_out past one 64-row tile
    (1, 67, 6, 7, 3, 2, 3, (3, 2), (1, 1), (1, 2), 1),  # 402 taps; backward-data rows past one tile
    (4, 2, 13, 12, 6, 5, 4, (2, 2), (2, 1), (1, 1), 2),  # N*P past one 64-column tile
    (2, 3, 20, 19, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1),  # backward-weight splits N*P = 760
    (2, 4, 1, 17, 6, 1, 3, (1, 2), (0, 1), (1, 2), 2),  # conv1d as H = 1
]


def _out_size(h, w, kh, kw, stride, pad, dil):
    return tuple((i + 2 * p - d * (k - 1) - 1) // s + 1 for i, k, s, p, d in zip((h, w), (kh, kw), stride, pad, dil))


def _data(case, seed):
    n, ci, h, w, co, kh, kw, stride, pad, dil, g = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, ci, h, w), dtype=np.float32)
    wt = rng.standard_normal((co, ci // g, kh, kw), dtype=np.float32)
    b = rng.standard_normal(co, dtype=np.float32)
    out = _out_size(h, w, kh, kw, stride, pad, dil)
    gy = rng.standard_normal((n, co, *out), dtype=np.float32)
    return x, wt, b, gy, out


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_forward_matches_native(case, with_bias):
    x, wt, b, _, out = _data(case, 1)
    stride, pad, dil, g = case[7:]
    bias = b if with_bias else None
    want = _native.conv2d_forward(x, wt, bias, stride, pad, dil, g, out)
    got = conv2d_forward(dev(x), dev(wt), None if bias is None else dev(bias), stride, pad, dil, g, out)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, **TOL)


@pytest.mark.parametrize("case", CASES)
def test_backward_data_matches_native(case):
    x, wt, _, gy, _ = _data(case, 2)
    stride, pad, dil, g = case[7:]
    want = _native.conv2d_backward_data(gy, wt, x.shape[2:], stride, pad, dil, g)
    got = conv2d_backward_data(dev(gy), dev(wt), x.shape[2:], stride, pad, dil, g)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, **TOL)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_backward_weight_matches_native(case, with_bias):
    x, wt, _, gy, _ = _data(case, 3)
    stride, pad, dil, g = case[7:]
    want_w, want_b = _native.conv2d_backward_weight(x, gy, wt.shape[2:], stride, pad, dil, g, with_bias)
    got_w, got_b = conv2d_backward_weight(dev(x), dev(gy), wt.shape[2:], stride, pad, dil, g, with_bias)
    np.testing.assert_allclose(got_w.numpy(), want_w, **TOL)
    if with_bias:
        np.testing.assert_allclose(got_b.numpy(), want_b, **TOL)
    else:
        assert got_b is None and want_b is None


def test_backward_weight_split_covers_the_inner_dim_once():
    """The last case's inner dim is split: the chunks (whole 16-steps) cover it exactly once."""
    length, splits = _splits(760, 1, 1)
    assert splits > 1 and length % 16 == 0
    assert (splits - 1) * length < 760 <= splits * length


@pytest.mark.parametrize("case", CASES[1:3])
def test_strided_views_are_read_in_place(case):
    x, wt, b, gy, out = _data(case, 4)
    stride, pad, dil, g = case[7:]
    want_y = _native.conv2d_forward(x, wt, b, stride, pad, dil, g, out)
    want_gx = _native.conv2d_backward_data(gy, wt, x.shape[2:], stride, pad, dil, g)
    want_gw, want_gb = _native.conv2d_backward_weight(x, gy, wt.shape[2:], stride, pad, dil, g, True)
    wviews = [permuted(wt, (2, 3, 0, 1)), sliced(wt)]
    for (name, xv), (_, gyv), wv in zip(layouts(x, (0, 2, 3, 1)), layouts(gy, (1, 0, 3, 2)), wviews + [dev(wt)]):
        assert name == "contiguous" or not xv.is_contiguous
        np.testing.assert_allclose(conv2d_forward(xv, wv, sliced(b), stride, pad, dil, g, out).numpy(), want_y, **TOL)
        np.testing.assert_allclose(conv2d_backward_data(gyv, wv, x.shape[2:], stride, pad, dil, g).numpy(), want_gx, **TOL)
        gw, gb = conv2d_backward_weight(xv, gyv, wt.shape[2:], stride, pad, dil, g, True)
        np.testing.assert_allclose(gw.numpy(), want_gw, **TOL)
        np.testing.assert_allclose(gb.numpy(), want_gb, **TOL)


def test_negative_strides_are_copied_first():
    x, wt, b, gy, out = _data(CASES[1], 6)
    stride, pad, dil, g = CASES[1][7:]
    want = _native.conv2d_forward(x, wt, b, stride, pad, dil, g, out)
    got = conv2d_forward(flipped(x, 3), flipped(wt, 0), flipped(b, 0), stride, pad, dil, g, out)
    np.testing.assert_allclose(got.numpy(), want, **TOL)
    want_gw, _ = _native.conv2d_backward_weight(x, gy, wt.shape[2:], stride, pad, dil, g, False)
    got_gw, _ = conv2d_backward_weight(flipped(x, 2), flipped(gy, 1), wt.shape[2:], stride, pad, dil, g, False)
    np.testing.assert_allclose(got_gw.numpy(), want_gw, **TOL)
    want_gx = _native.conv2d_backward_data(gy, wt, x.shape[2:], stride, pad, dil, g)
    got_gx = conv2d_backward_data(flipped(gy, 2), flipped(wt, 3), x.shape[2:], stride, pad, dil, g)
    np.testing.assert_allclose(got_gx.numpy(), want_gx, **TOL)


@pytest.mark.parametrize("groups", [1, 2])
def test_transposed_conv_uses_as_in_ops(groups):
    """conv_transpose2d (x (N, C_in, H, W), w (C_in, C_out/g, kh, kw)) as ops.conv runs it:
    forward = backward-data with output padding in its size; input gradient = forward at the
    transposed input's size; weight gradient = backward-weight with the roles swapped."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 5, 4), dtype=np.float32)
    wt = rng.standard_normal((4, 6 // groups, 3, 2), dtype=np.float32)
    args = ((2, 3), (1, 0), (1, 2), groups)
    out = (11, 12)  # the formula's (10, 11) plus output padding (1, 1)
    want_y = _native.conv2d_backward_data(x, wt, out, *args)
    y = conv2d_backward_data(dev(x), dev(wt), out, *args)
    np.testing.assert_allclose(y.numpy(), want_y, **TOL)
    g = rng.standard_normal(want_y.shape, dtype=np.float32)
    want_gx = _native.conv2d_forward(g, wt, None, *args, x.shape[2:])
    np.testing.assert_allclose(conv2d_forward(dev(g), dev(wt), None, *args, x.shape[2:]).numpy(), want_gx, **TOL)
    want_gw, _ = _native.conv2d_backward_weight(g, x, wt.shape[2:], *args, False)
    got_gw, _ = conv2d_backward_weight(dev(g), dev(x), wt.shape[2:], *args, False)
    np.testing.assert_allclose(got_gw.numpy(), want_gw, **TOL)


def test_empty_batch_gives_empty_outputs_and_zero_weight_grad():
    x, gy = np.zeros((0, 2, 5, 5), np.float32), np.zeros((0, 3, 3, 3), np.float32)
    wt = np.ones((3, 2, 3, 3), np.float32)
    assert conv2d_forward(dev(x), dev(wt), None, (1, 1), (0, 0), (1, 1), 1, (3, 3)).shape == (0, 3, 3, 3)
    gw, gb = conv2d_backward_weight(dev(x), dev(gy), (3, 3), (1, 1), (0, 0), (1, 1), 1, True)
    np.testing.assert_array_equal(gw.numpy(), np.zeros((3, 2, 3, 3)))
    np.testing.assert_array_equal(gb.numpy(), np.zeros(3))


def test_bad_input_names_the_function_and_shapes():
    x, wt = dev(np.zeros((1, 4, 5, 5))), dev(np.zeros((2, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d_forward.*\(1, 4, 5, 5\).*\(2, 3, 3, 3\)"):
        conv2d_forward(x, wt, None, (1, 1), (0, 0), (1, 1), 1, (3, 3))
    with pytest.raises(ValueError, match=r"conv2d_forward: input must be 4-d.*\(4, 5, 5\)"):
        conv2d_forward(dev(np.zeros((4, 5, 5))), wt, None, (1, 1), (0, 0), (1, 1), 1, (3, 3))
    with pytest.raises(ValueError, match=r"conv2d_forward: bias has shape \(3,\)"):
        conv2d_forward(dev(np.zeros((1, 3, 5, 5))), wt, dev(np.zeros(3)), (1, 1), (0, 0), (1, 1), 1, (3, 3))
    with pytest.raises(ValueError, match=r"conv2d_forward: stride \(0, 1\)"):
        conv2d_forward(dev(np.zeros((1, 3, 5, 5))), wt, None, (0, 1), (0, 0), (1, 1), 1, (3, 3))
    with pytest.raises(ValueError, match=r"conv2d_backward_data: grad_output \(1, 3, 3, 3\).*weight \(2, 3, 3, 3\)"):
        conv2d_backward_data(dev(np.zeros((1, 3, 3, 3))), wt, (5, 5), (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match=r"conv2d_backward_weight: input \(1, 4, 5, 5\).*\(2, 2, 3, 3\).*groups=3"):
        conv2d_backward_weight(x, dev(np.zeros((2, 2, 3, 3))), (3, 3), (1, 1), (0, 0), (1, 1), 3, False)
    with pytest.raises(TypeError, match="conv2d_forward: input must be float32"):
        conv2d_forward(dev(np.zeros((1, 3, 5, 5)), np.int32), wt, None, (1, 1), (0, 0), (1, 1), 1, (3, 3))


def test_grids_past_the_device_limit_split_into_launches(monkeypatch):
    """With 7 workgroups per dimension: forward and backward-data run their columns as several
    launches, backward-weight caps its splits at 7 / groups."""
    case = CASES[-1]
    x, wt, b, gy, out = _data(case, 7)
    stride, pad, dil, g = case[7:]
    want_y = _native.conv2d_forward(x, wt, b, stride, pad, dil, g, out)
    want_gx = _native.conv2d_backward_data(gy, wt, x.shape[2:], stride, pad, dil, g)
    want_gw, want_gb = _native.conv2d_backward_weight(x, gy, wt.shape[2:], stride, pad, dil, g, True)
    small_grid_limit(monkeypatch)
    np.testing.assert_allclose(conv2d_forward(dev(x), dev(wt), dev(b), stride, pad, dil, g, out).numpy(), want_y, **TOL)
    got_gx = conv2d_backward_data(dev(gy), dev(wt), x.shape[2:], stride, pad, dil, g)
    np.testing.assert_allclose(got_gx.numpy(), want_gx, **TOL)
    gw, gb = conv2d_backward_weight(dev(x), dev(gy), wt.shape[2:], stride, pad, dil, g, True)
    np.testing.assert_allclose(gw.numpy(), want_gw, **TOL)
    np.testing.assert_allclose(gb.numpy(), want_gb, **TOL)
