"""nn.utils: clip_grad_norm_ returning the 0-d norm tensor (torch >= 1.x), get_total_norm,
clip_grads_with_norm_, clip_grad_value_ with foreach, parameters_to_vector and
vector_to_parameters."""

import math

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
    parameters_to_vector,
    vector_to_parameters,
)


def _params(grads, dtype=np.float32):
    ps = []
    for g in grads:
        p = nn.Parameter(fg.zeros(*np.shape(g), dtype=dtype))
        p.grad = fg.tensor(np.asarray(g, dtype), dtype=dtype)
        ps.append(p)
    return ps


GRADS = [[[3.0, -4.0], [1.0, 0.0]], [12.0, -2.5, 0.5]]


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, math.inf, 0.0, "inf"])
def test_clip_grad_norm_returns_a_0d_tensor_and_scales_jointly(norm_type):
    flat = np.concatenate([np.ravel(g) for g in GRADS])
    p = float(norm_type)
    if p == math.inf:
        want = np.abs(flat).max()
    elif p == 0:
        want = np.count_nonzero(flat)  # torch's 0-"norm": the number of non-zeros
    else:
        want = (np.abs(flat) ** p).sum() ** (1 / p)
    ps = _params(GRADS)
    total = clip_grad_norm_(ps, max_norm=2.0, norm_type=norm_type, foreach=None)
    assert isinstance(total, fg.Tensor) and total.shape == () and total.dtype == np.float32 and total.device == "cpu"
    assert float(total) == pytest.approx(want, rel=1e-6)
    coef = min(2.0 / (want + 1e-6), 1.0)
    for prm, g in zip(ps, GRADS):
        np.testing.assert_allclose(prm.grad.numpy(), np.float32(g) * coef, rtol=1e-6)


def test_clip_grad_norm_small_grads_unchanged_and_edge_cases():
    ps = _params([[0.3, 0.4]])
    total = clip_grad_norm_(ps[0], max_norm=1.0, foreach=True)  # a single tensor is accepted
    assert float(total) == pytest.approx(0.5) and ps[0].grad.tolist() == pytest.approx([0.3, 0.4])
    empty = clip_grad_norm_([nn.Parameter(fg.zeros(2))], 1.0)  # no grads: a 0 norm
    assert empty.shape == () and float(empty) == 0.0
    ps64 = _params([[3.0, 4.0]], np.float64)
    assert clip_grad_norm_(ps64, 1.0).dtype == np.float64  # the gradients' dtype, as torch
    gen = (p for p in _params(GRADS))  # a generator is read once and still clipped
    assert float(clip_grad_norm_(gen, 1.0)) > 1.0


def test_clip_grad_norm_nonfinite():
    ps = _params([[1.0, np.inf]])
    with pytest.raises(RuntimeError, match="clip_grad_norm_.*total norm of order 2.0 .* is inf"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    total = clip_grad_norm_(ps, 1.0)  # torch scales by max_norm / inf = 0 (inf * 0 = nan)
    assert math.isinf(float(total))
    assert ps[0].grad.numpy()[0] == 0.0 and math.isnan(ps[0].grad.numpy()[1])
    ps = _params([[1.0, np.nan]])
    assert math.isnan(float(clip_grad_norm_(ps, 1.0)))
    assert np.isnan(ps[0].grad.numpy()).all()
    with pytest.raises(ValueError, match="get_total_norm: norm_type must be a number"):
        clip_grad_norm_(_params([[1.0]]), 1.0, norm_type="fro")


def test_get_total_norm_and_clip_grads_with_norm():
    ps = _params(GRADS)
    total = get_total_norm([p.grad for p in ps], 2.0)
    flat = np.concatenate([np.ravel(g) for g in GRADS])
    assert float(total) == pytest.approx(np.linalg.norm(flat), rel=1e-6)
    clip_grads_with_norm_(ps, 1.0, total)
    assert float(get_total_norm([p.grad for p in ps])) == pytest.approx(1.0, rel=1e-5)
    clip_grads_with_norm_(ps, 1.0, 100.0)  # a plain number works too
    assert float(get_total_norm([p.grad for p in ps])) == pytest.approx(0.01, rel=1e-4)


def test_clip_grad_value_with_foreach():
    ps = _params(GRADS)
    assert clip_grad_value_(ps, 1.5, foreach=False) is None
    np.testing.assert_array_equal(ps[0].grad.numpy(), [[1.5, -1.5], [1.0, 0.0]])
    np.testing.assert_array_equal(ps[1].grad.numpy(), [1.5, -1.5, 0.5])


def test_parameters_to_vector_and_back():
    m = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = parameters_to_vector(m.parameters())
    want = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert vec.shape == (11,)
    np.testing.assert_array_equal(vec.detach().numpy(), want)
    (vec * fg.arange(11, dtype=fg.float32)).sum().backward()  # differentiable, as torch's
    np.testing.assert_array_equal(np.concatenate([p.grad.numpy().ravel() for p in m.parameters()]), np.arange(11))

    new = fg.arange(11, dtype=fg.float32) / 10
    vector_to_parameters(new, m.parameters())
    np.testing.assert_allclose(m[0].weight.detach().numpy(), np.arange(6).reshape(2, 3) / 10, rtol=1e-6)
    np.testing.assert_allclose(m[1].bias.detach().numpy(), [1.0], rtol=1e-6)
    assert m[0].weight.shape == (2, 3) and isinstance(m[0].weight, nn.Parameter)
    new._data[0] = 7.0  # the parameters are views of vec, as in torch
    assert m[0].weight.detach().numpy()[0, 0] == 7.0
    y = m(fg.ones(1, 3))  # and still train
    y.sum().backward()
    assert m[0].weight.grad.shape == (2, 3)


def test_convert_parameters_bad_arguments():
    m = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="vector_to_parameters: expected vec to be a Tensor, got list"):
        vector_to_parameters([1.0] * 8, m.parameters())
    with pytest.raises(ValueError, match="vector_to_parameters: vec has 5 elements but the parameters need 8"):
        vector_to_parameters(fg.zeros(5), m.parameters())
    with pytest.raises(ValueError, match="vector_to_parameters: vec must be 1-d"):
        vector_to_parameters(fg.zeros(2, 4), m.parameters())
    with pytest.raises(ValueError, match="parameters_to_vector: got no parameters"):
        parameters_to_vector([])
    with pytest.raises(TypeError, match="parameters_to_vector: parameter 0 is a ndarray"):
        parameters_to_vector([np.zeros(3)])


def test_clip_grad_norm_2_is_the_float64_norm_on_every_layout():
    # The 2-norm of C-contiguous float gradients is one native pass in float64; other layouts go
    # through numpy. Both give the float64 norm of all the gradients.
    rng = np.random.default_rng(3)
    for dtype in (np.float32, np.float64):
        grads = [rng.standard_normal(s).astype(dtype) * 1e3 for s in [(384, 128), (7,), (1,), (0,), (33, 5)]]
        want = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads))
        got = get_total_norm([fg.tensor(g) for g in grads]).item()
        assert abs(got - want) <= 1e-6 * want
        transposed = [fg.tensor(np.ascontiguousarray(g.T).T) for g in grads]  # Fortran-ordered
        assert abs(get_total_norm(transposed).item() - want) <= 1e-6 * want
    # Squares past float32's range stay finite (the sum is float64), as torch's norm does.
    big = get_total_norm([fg.tensor(np.array([3e20, 4e20], np.float32))]).item()
    assert math.isclose(big, 5e20, rel_tol=1e-6)


def test_native_sum_of_squares_arguments():
    from ferrograd import _native

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert _native.sum_of_squares([a, a.astype(np.float64)]) == 2 * 55.0
    assert _native.sum_of_squares([]) == 0.0
    with pytest.raises(ValueError, match="sum_of_squares: array 1: .*C-contiguous"):
        _native.sum_of_squares([a, a.T])
    with pytest.raises(TypeError, match="sum_of_squares: array 0"):
        _native.sum_of_squares([np.arange(3)])
