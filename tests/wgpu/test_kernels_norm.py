"""WGSL layer norm forward and backward against `_native` on the same float32 data: odd row
lengths (shorter and longer than a workgroup), with and without weight / bias, strided views."""

import os
import sys

import numpy as np
import pytest

from ferrograd import _native
from ferrograd.wgpu import runtime
from ferrograd.wgpu.kernels import layer_norm_backward, layer_norm_forward

# wgpu_views.py sits next to this file; pytest's importlib mode puts no test folder on sys.path
sys.path.insert(0, os.path.dirname(__file__))
from wgpu_views import dev, layouts, permuted, sliced, small_grid_limit  # noqa: E402

TOL = dict(rtol=1e-4, atol=1e-5)

# (shape, cols): one row, rows longer than 256 threads, normalizing over two trailing dims.
CASES = [((1, 7), 7), ((5, 3, 33), 33), ((4, 301), 301), ((3, 5, 6), 30), ((70, 1), 1)]


def _data(shape, cols, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 1.5).astype(np.float32)
    w, b = rng.standard_normal(cols, dtype=np.float32), rng.standard_normal(cols, dtype=np.float32)
    gy = rng.standard_normal(shape, dtype=np.float32)
    return x, w, b, gy


@pytest.mark.parametrize("shape, cols", CASES)
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_forward_and_backward_match_native(shape, cols, affine):
    x, w, b, gy = _data(shape, cols, 1)
    w = w if affine in ("both", "weight") else None
    b = b if affine in ("both", "bias") else None
    eps = 1e-5
    want = _native.layer_norm_forward(x, cols, w, b, eps)
    got = layer_norm_forward(dev(x), cols, None if w is None else dev(w), None if b is None else dev(b), eps)
    for g, e, name in zip(got, want, ("y", "mean", "rstd")):
        assert g.shape == e.shape, name
        np.testing.assert_allclose(g.numpy(), e, err_msg=name, **TOL)
    need_w, need_b = w is not None, b is not None
    want_d = _native.layer_norm_backward(gy, x, cols, want[1], want[2], w, need_w, need_b)
    got_d = layer_norm_backward(dev(gy), dev(x), cols, got[1], got[2], None if w is None else dev(w), need_w, need_b)
    for g, e, name in zip(got_d, want_d, ("dx", "dweight", "dbias")):
        if e is None:
            assert g is None, name
        else:
            np.testing.assert_allclose(g.numpy(), e, err_msg=name, **TOL)


@pytest.mark.parametrize("shape, cols, order", [((6, 37), 37, (1, 0)), ((3, 5, 9), 9, (1, 0, 2)), ((4, 3, 5), 15, (2, 1, 0))])
def test_strided_views(shape, cols, order):
    """Transposed and sliced inputs: read through their strides or, when the rows or columns
    do not form one strided run (the last case), copied first."""
    x, w, b, gy = _data(shape, cols, 2)
    want = _native.layer_norm_forward(x, cols, w, b, 1e-3)
    want_d = _native.layer_norm_backward(gy, x, cols, want[1], want[2], w, True, True)
    for (name, xv), (_, gv) in zip(layouts(x, order), layouts(gy, order)):
        y, mean, rstd = layer_norm_forward(xv, cols, sliced(w), sliced(b), 1e-3)
        np.testing.assert_allclose(y.numpy(), want[0], err_msg=name, **TOL)
        dx, dw, db = layer_norm_backward(gv, xv, cols, mean, rstd, sliced(w), True, True)
        for g, e in zip((dx, dw, db), want_d):
            np.testing.assert_allclose(g.numpy(), e, err_msg=name, **TOL)


def test_only_the_requested_parameter_grads_come_back():
    x, w, b, gy = _data((3, 10), 10, 3)
    y, mean, rstd = layer_norm_forward(dev(x), 10, dev(w), dev(b), 1e-5)
    want = _native.layer_norm_backward(gy, x, 10, mean.numpy(), rstd.numpy(), w, False, True)
    dx, dw, db = layer_norm_backward(dev(gy), dev(x), 10, mean, rstd, dev(w), False, True)
    assert dw is None and want[1] is None
    np.testing.assert_allclose(db.numpy(), want[2], **TOL)
    np.testing.assert_allclose(dx.numpy(), want[0], **TOL)


def test_no_rows():
    y, mean, rstd = layer_norm_forward(dev(np.zeros((0, 4))), 4, None, None, 1e-5)
    assert y.shape == (0, 4) and mean.shape == (0,) and rstd.shape == (0,)
    dx, dw, db = layer_norm_backward(dev(np.zeros((0, 4))), dev(np.zeros((0, 4))), 4, mean, rstd, None, True, True)
    assert dx.shape == (0, 4)
    np.testing.assert_array_equal(dw.numpy(), np.zeros(4))
    np.testing.assert_array_equal(db.numpy(), np.zeros(4))


def test_bad_input_names_the_function_and_shapes():
    x = dev(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"layer_norm_forward: input \(3, 5\).*rows of 4"):
        layer_norm_forward(x, 4, None, None, 1e-5)
    with pytest.raises(ValueError, match=r"layer_norm_forward: weight has shape \(4,\), expected 5"):
        layer_norm_forward(x, 5, dev(np.zeros(4)), None, 1e-5)
    with pytest.raises(ValueError, match=r"layer_norm_forward: normalized size \(cols\) is 0"):
        layer_norm_forward(x, 0, None, None, 1e-5)
    m = dev(np.zeros(3))
    with pytest.raises(ValueError, match=r"layer_norm_backward: grad has shape \(3, 4\), input \(3, 5\)"):
        layer_norm_backward(dev(np.zeros((3, 4))), x, 5, m, m, None, False, False)
    with pytest.raises(ValueError, match=r"layer_norm_backward: mean has shape \(2,\), expected 3"):
        layer_norm_backward(x, x, 5, dev(np.zeros(2)), m, None, False, False)
    with pytest.raises(TypeError, match="layer_norm_forward: input must be float32"):
        layer_norm_forward(dev(np.zeros((3, 5)), np.int32), 5, None, None, 1e-5)


def test_bad_input_raises_before_any_dispatch():
    """A mean view that needs a copy (not one strided run), next to a weight of the wrong
    length: the error comes first and nothing is recorded."""
    x = dev(np.zeros((6, 5)))
    mean = permuted(np.zeros((2, 3)), (1, 0))
    rt = runtime.get()
    rt.flush()
    with pytest.raises(ValueError, match=r"layer_norm_backward: weight has shape \(4,\), expected 5"):
        layer_norm_backward(x, x, 5, mean, mean, dev(np.zeros(4)), True, True)
    assert rt._pending == 0
    layer_norm_backward(x, x, 5, mean, mean, None, False, False)  # the same call, valid, records work
    assert rt._pending > 0


def test_grids_past_the_device_limit_fold(monkeypatch):
    """With 7 workgroups per dimension: 45 rows and 130 columns (9 column groups) fold."""
    x, w, b, gy = _data((45, 130), 130, 12)
    want = _native.layer_norm_forward(x, 130, w, b, 1e-5)
    want_d = _native.layer_norm_backward(gy, x, 130, want[1], want[2], w, True, True)
    small_grid_limit(monkeypatch)
    y, mean, rstd = layer_norm_forward(dev(x), 130, dev(w), dev(b), 1e-5)
    np.testing.assert_allclose(y.numpy(), want[0], **TOL)
    for g, e in zip(layer_norm_backward(dev(gy), dev(x), 130, mean, rstd, dev(w), True, True), want_d):
        np.testing.assert_allclose(g.numpy(), e, **TOL)
