"""WGSL softmax / log_softmax and fused cross-entropy (class indices and probabilities) against
`_native` on the same float32 data: odd class counts (shorter and longer than a workgroup),
weights, ignore_index, label smoothing, strided views, softmax over a moved axis."""

import os
import sys

import numpy as np
import pytest

from ferrograd import _native
from ferrograd.wgpu import runtime
from ferrograd.wgpu.array import GpuArray
from ferrograd.wgpu.kernels import (
    cross_entropy_backward,
    cross_entropy_forward,
    cross_entropy_prob_backward,
    cross_entropy_prob_forward,
    softmax_backward,
    softmax_forward,
)

# wgpu_views.py sits next to this file; pytest's importlib mode puts no test folder on sys.path
sys.path.insert(0, os.path.dirname(__file__))
from wgpu_views import dev, layouts, permuted, sliced, small_grid_limit  # noqa: E402

TOL = dict(rtol=1e-4, atol=1e-5)
SHAPES = [(1,), (3, 7), (2, 5, 300), (9, 1), (4, 3, 2, 33)]


def _rng(seed):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("log", [False, True])
def test_softmax_matches_native(shape, log):
    rng = _rng(1)
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    gy = rng.standard_normal(shape, dtype=np.float32)
    want_y = _native.softmax_forward(x, log)
    want_dx = _native.softmax_backward(want_y, gy, log)
    order = tuple(reversed(range(len(shape))))
    for (name, xv), (_, gv) in zip(layouts(x, order), layouts(gy, order)):
        y = softmax_forward(xv, log)
        np.testing.assert_allclose(y.numpy(), want_y, err_msg=name, **TOL)
        np.testing.assert_allclose(softmax_backward(y, gv, log).numpy(), want_dx, err_msg=name, **TOL)


@pytest.mark.parametrize("log", [False, True])
def test_softmax_over_a_moved_axis_reads_in_place(log):
    """ops.softmax moves `dim` last: that view has two row dims and is read without a copy."""
    x = _rng(2).standard_normal((3, 6, 5), dtype=np.float32)
    moved = np.moveaxis(x, 1, -1)  # (3, 5, 6)
    view = permuted(moved, (0, 2, 1))  # stored as (3, 6, 5): x's own layout
    want = _native.softmax_forward(np.ascontiguousarray(moved), log)
    np.testing.assert_allclose(softmax_forward(view, log).numpy(), want, **TOL)


def test_softmax_non_finite_rows_like_native():
    x = np.array([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf], [1.0, np.nan, 2.0]], np.float32)
    for log in (False, True):
        np.testing.assert_allclose(softmax_forward(dev(x), log).numpy(), _native.softmax_forward(x, log), **TOL)


def _ce_data(rows, classes, seed):
    rng = _rng(seed)
    x = (rng.standard_normal((rows, classes)) * 3).astype(np.float32)
    t = rng.integers(0, classes, rows).astype(np.int64)
    w = rng.uniform(0.2, 2.0, classes).astype(np.float32)
    g = rng.standard_normal(rows, dtype=np.float32)
    return x, t, w, g


@pytest.mark.parametrize("rows, classes", [(1, 1), (7, 5), (3, 300), (20, 10)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.15])
def test_cross_entropy_index_matches_native(rows, classes, weighted, eps):
    x, t, w, g = _ce_data(rows, classes, 3)
    t[::3] = -100  # ignored rows
    w = w if weighted else None
    want_loss, want_lse = _native.cross_entropy_forward(x, t, w, -100, eps)
    want_dx = _native.cross_entropy_backward(x, t, w, -100, eps, want_lse, g)
    wv = None if w is None else dev(w)
    loss, lse = cross_entropy_forward(dev(x), dev(t, np.int32), wv, -100, eps)
    np.testing.assert_allclose(loss.numpy(), want_loss, **TOL)
    np.testing.assert_allclose(lse.numpy(), want_lse, **TOL)
    dx = cross_entropy_backward(dev(x), dev(t, np.int32), wv, -100, eps, lse, dev(g))
    np.testing.assert_allclose(dx.numpy(), want_dx, **TOL)


def test_cross_entropy_index_strided_views_and_a_class_as_ignore_index():
    x, t, w, g = _ce_data(11, 6, 4)
    want_loss, want_lse = _native.cross_entropy_forward(x, t, w, 2, 0.1)  # class 2 is ignored
    want_dx = _native.cross_entropy_backward(x, t, w, 2, 0.1, want_lse, g)
    for (name, xv), (_, tv), (_, gv) in zip(layouts(x, (1, 0)), layouts(t, None, np.int32), layouts(g)):
        loss, lse = cross_entropy_forward(xv, tv, sliced(w), 2, 0.1)
        np.testing.assert_allclose(loss.numpy(), want_loss, err_msg=name, **TOL)
        dx = cross_entropy_backward(xv, tv, sliced(w), 2, 0.1, sliced(want_lse), gv)
        np.testing.assert_allclose(dx.numpy(), want_dx, err_msg=name, **TOL)


def test_cross_entropy_index_out_of_range_target_gives_nan():
    """The CPU kernel raises; the device cannot without a read-back, so the row is NaN."""
    x, t, _, g = _ce_data(4, 5, 5)
    t[1] = 5
    loss, lse = cross_entropy_forward(dev(x), dev(t, np.int32), None, -100, 0.0)
    got = loss.numpy()
    assert np.isnan(got[1]) and np.isfinite(np.delete(got, 1)).all()
    dx = cross_entropy_backward(dev(x), dev(t, np.int32), None, -100, 0.0, lse, dev(g)).numpy()
    assert np.isnan(dx[1]).all() and np.isfinite(np.delete(dx, 1, axis=0)).all()


@pytest.mark.parametrize("rows, classes", [(1, 1), (7, 5), (3, 300)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_cross_entropy_prob_matches_native(rows, classes, weighted, eps):
    x, _, w, g = _ce_data(rows, classes, 6)
    t = _rng(7).dirichlet(np.ones(classes), rows).astype(np.float32)
    w = w if weighted else None
    want_loss, want_lse = _native.cross_entropy_prob_forward(x, t, w, eps)
    want_dx, want_dt = _native.cross_entropy_prob_backward(x, t, w, eps, want_lse, g, True)
    wv = None if w is None else dev(w)
    loss, lse = cross_entropy_prob_forward(dev(x), dev(t), wv, eps)
    np.testing.assert_allclose(loss.numpy(), want_loss, **TOL)
    np.testing.assert_allclose(lse.numpy(), want_lse, **TOL)
    dx, dt = cross_entropy_prob_backward(dev(x), dev(t), wv, eps, lse, dev(g), True)
    np.testing.assert_allclose(dx.numpy(), want_dx, **TOL)
    np.testing.assert_allclose(dt.numpy(), want_dt, **TOL)
    dx2, none = cross_entropy_prob_backward(dev(x), dev(t), wv, eps, lse, dev(g), False)
    assert none is None
    np.testing.assert_allclose(dx2.numpy(), want_dx, **TOL)


def test_cross_entropy_prob_strided_views():
    x, _, w, g = _ce_data(9, 7, 8)
    t = _rng(9).dirichlet(np.ones(7), 9).astype(np.float32)
    want_loss, want_lse = _native.cross_entropy_prob_forward(x, t, w, 0.1)
    want_dx, want_dt = _native.cross_entropy_prob_backward(x, t, w, 0.1, want_lse, g, True)
    for (name, xv), (_, tv) in zip(layouts(x, (1, 0)), layouts(t, (1, 0))):
        loss, lse = cross_entropy_prob_forward(xv, tv, sliced(w), 0.1)
        np.testing.assert_allclose(loss.numpy(), want_loss, err_msg=name, **TOL)
        dx, dt = cross_entropy_prob_backward(xv, tv, sliced(w), 0.1, lse, sliced(g), True)
        np.testing.assert_allclose(dx.numpy(), want_dx, err_msg=name, **TOL)
        np.testing.assert_allclose(dt.numpy(), want_dt, err_msg=name, **TOL)


def test_bad_input_names_the_function_and_shapes():
    x = dev(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"softmax_backward: grad shape \(4, 2\) != output shape \(4, 3\)"):
        softmax_backward(x, dev(np.zeros((4, 2))), False)
    with pytest.raises(ValueError, match=r"softmax_forward: input must have at least 1 dim"):
        softmax_forward(GpuArray.empty(()), False)
    with pytest.raises(ValueError, match=r"cross_entropy_forward: target has shape \(3,\), expected 4"):
        cross_entropy_forward(x, dev(np.zeros(3), np.int32), None, -100, 0.0)
    with pytest.raises(TypeError, match=r"cross_entropy_forward: target must be an integer"):
        cross_entropy_forward(x, dev(np.zeros(4)), None, -100, 0.0)
    with pytest.raises(ValueError, match=r"cross_entropy_backward: weight has shape \(2,\), input \(4, 3\)"):
        cross_entropy_backward(x, dev(np.zeros(4), np.int32), dev(np.ones(2)), -100, 0.0, dev(np.zeros(4)),
                               dev(np.zeros(4)))
    with pytest.raises(ValueError, match=r"cross_entropy_backward: lse has shape \(5,\), expected 4"):
        cross_entropy_backward(x, dev(np.zeros(4), np.int32), None, -100, 0.0, dev(np.zeros(5)), dev(np.zeros(4)))
    with pytest.raises(ValueError, match=r"cross_entropy_prob_forward: target has shape \(4, 2\), input \(4, 3\)"):
        cross_entropy_prob_forward(x, dev(np.zeros((4, 2))), None, 0.0)
    with pytest.raises(ValueError, match=r"cross_entropy_prob_forward: the class dim of input \(4, 0\) is empty"):
        cross_entropy_prob_forward(dev(np.zeros((4, 0))), dev(np.zeros((4, 0))), None, 0.0)


def test_bad_input_raises_before_any_dispatch():
    """Logits that need a copy (three row dims that do not merge), next to a grad of the wrong
    length: the error comes first and nothing is recorded."""
    x = permuted(np.zeros((2, 2, 2, 3)), (3, 2, 1, 0))
    rt = runtime.get()
    rt.flush()
    with pytest.raises(ValueError, match=r"cross_entropy_backward: grad has shape \(5,\), expected 8"):
        cross_entropy_backward(x, dev(np.zeros(8), np.int32), None, -100, 0.0, dev(np.zeros(8)), dev(np.zeros(5)))
    assert rt._pending == 0
    cross_entropy_backward(x, dev(np.zeros(8), np.int32), None, -100, 0.0, dev(np.zeros(8)), dev(np.zeros(8)))
    assert rt._pending > 0


def test_grids_past_the_device_limit_fold(monkeypatch):
    """With 7 workgroups per dimension, 45 rows fold into (x, y) (7 x 7 at most)."""
    x, t, w, g = _ce_data(45, 9, 13)
    want_y = _native.softmax_forward(x, True)
    want_loss, want_lse = _native.cross_entropy_forward(x, t, w, -100, 0.1)
    want_dx = _native.cross_entropy_backward(x, t, w, -100, 0.1, want_lse, g)
    small_grid_limit(monkeypatch)
    np.testing.assert_allclose(softmax_forward(dev(x), True).numpy(), want_y, **TOL)
    loss, lse = cross_entropy_forward(dev(x), dev(t, np.int32), dev(w), -100, 0.1)
    np.testing.assert_allclose(loss.numpy(), want_loss, **TOL)
    dx = cross_entropy_backward(dev(x), dev(t, np.int32), dev(w), -100, 0.1, lse, dev(g))
    np.testing.assert_allclose(dx.numpy(), want_dx, **TOL)
