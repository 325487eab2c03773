"""experiments._hessian against answers computed another way: the explicit Hessian of a tiny
float64 model (column by column from finite differences of gradients) and its eigvalsh, closed
forms for quadratics, and the contracts of ε-sharpness and the landscape slices."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.experiments import _hessian as H
from ferrograd.nn import functional as F


def tiny_model(seed=0):
    """A 3 → 4 → 2 tanh MLP on 8 fixed samples with cross-entropy, in float64 (26 parameters)."""
    fg.manual_seed(seed)
    model = fg.nn.Sequential(fg.nn.Linear(3, 4), fg.nn.Tanh(), fg.nn.Linear(4, 2)).to(fg.float64)
    rng = np.random.default_rng(seed)
    x = fg.tensor(rng.standard_normal((8, 3)))
    y = fg.tensor(rng.integers(0, 2, 8))
    params = list(model.parameters())
    return model, params, lambda: F.cross_entropy(model(x), y)


def flat_params(params):
    return np.concatenate([p.detach().numpy().reshape(-1) for p in params])


def unflatten(params, vec):
    out, k = [], 0
    for p in params:
        m = p.numel()
        out.append(fg.tensor(vec[k:k + m].reshape(tuple(p.shape))))
        k += m
    return out


def hessian_by_hvp(loss_fn, params):
    hv = H.HessianVectorProduct(loss_fn, params)
    n = sum(p.numel() for p in params)
    cols = [flat_params(hv(unflatten(params, e))) for e in np.eye(n)]
    return np.stack(cols, axis=1)


def hessian_by_finite_differences(loss_fn, params, eps=1e-5):
    """Central differences of autograd's first-order gradient, one weight at a time."""
    def grad():
        return flat_params(fg.autograd.grad(loss_fn(), params))

    cols = []
    for p in params:
        flat = p._data.reshape(-1)  # a view: perturbing it perturbs the weight
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = grad()
            flat[j] = orig - eps
            minus = grad()
            flat[j] = orig
            cols.append((plus - minus) / (2 * eps))
    return np.stack(cols, axis=1)


def test_hvp_columns_equal_the_finite_difference_hessian():
    _, params, loss_fn = tiny_model()
    h_ad = hessian_by_hvp(loss_fn, params)
    h_fd = hessian_by_finite_differences(loss_fn, params)
    assert h_ad.shape == (26, 26)
    np.testing.assert_allclose(h_ad, h_fd, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(h_ad, h_ad.T, atol=1e-12)
    assert np.abs(h_ad).max() > 1e-2  # not trivially zero


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_power_iteration_matches_eigvalsh_of_the_explicit_hessian(seed):
    _, params, loss_fn = tiny_model(seed)
    eig = np.linalg.eigvalsh(hessian_by_finite_differences(loss_fn, params))
    by_size = eig[np.argsort(-np.abs(eig))]
    assert abs(by_size[1]) < 0.9 * abs(by_size[0])  # a gap, so power iteration converges
    before = flat_params(params)
    pi = H.top_eigenvalue(loss_fn, params, iters=2000, tol=1e-12, seed=seed)
    assert pi.eigenvalue == pytest.approx(by_size[0], rel=1e-5)
    assert pi.history[-1] == pi.eigenvalue
    # the eigenvector: unit norm and H v = λ v
    v = flat_params(pi.eigenvector)
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(flat_params(H.hvp(loss_fn, params, pi.eigenvector)), pi.eigenvalue * v, atol=1e-5)
    np.testing.assert_array_equal(flat_params(params), before)  # weights untouched


def test_power_iteration_on_least_squares_is_the_top_eigenvalue_of_2xtx_over_n():
    rng = np.random.default_rng(3)
    xn = rng.standard_normal((40, 5)) * np.array([3.0, 1.0, 1.0, 0.5, 0.1])
    x, y = fg.tensor(xn), fg.tensor(rng.standard_normal(40))
    w = fg.zeros(5, dtype=fg.float64, requires_grad=True)
    b = fg.zeros(1, dtype=fg.float64, requires_grad=True)
    pi = H.top_eigenvalue(lambda: ((x @ w + b - y) ** 2).mean(), [w, b], iters=500, tol=1e-13)
    xa = np.hstack([xn, np.ones((40, 1))])
    assert pi.eigenvalue == pytest.approx(np.linalg.eigvalsh(2 * xa.T @ xa / 40)[-1], rel=1e-8)


def test_hvp_of_a_linear_loss_is_zero():
    w = fg.ones(3, dtype=fg.float64, requires_grad=True)
    out = H.hvp(lambda: (w * 2.0).sum(), [w], [fg.ones(3, dtype=fg.float64)])
    np.testing.assert_array_equal(out[0].numpy(), np.zeros(3))


def test_epsilon_sharpness_is_zero_at_zero_and_nonnegative():
    _, params, loss_fn = tiny_model()
    before = flat_params(params)
    assert H.epsilon_sharpness(loss_fn, params, epsilon=0.0) == 0.0
    values = [H.epsilon_sharpness(loss_fn, params, epsilon=e, steps=5, seed=s)
              for e in (1e-4, 1e-3, 1e-2, 1e-1) for s in (0, 1)]
    assert all(v >= 0 for v in values), values
    assert max(values) > 0
    np.testing.assert_array_equal(flat_params(params), before)  # the weights are put back


def test_epsilon_sharpness_of_a_quadratic_at_its_minimum_is_the_box_corner():
    # L(w) = ½ Σ a_i w_i², minimum at w = 0, box |y_i| ≤ ε: the max is ½ ε² Σ a_i at a corner.
    a = fg.tensor(np.array([1.0, 2.0, 3.0, 4.0]))
    w = fg.zeros(4, dtype=fg.float64, requires_grad=True)
    got = H.epsilon_sharpness(lambda: 0.5 * (a * w * w).sum(), [w], epsilon=0.1, steps=4)
    assert got == pytest.approx(100 * 0.5 * 0.01 * 10.0 / (1 + 0.0), rel=1e-12)
    # away from zero the box grows with |w|: half-width ε(|w_i| + 1)
    w2 = fg.tensor(np.full(4, 2.0), requires_grad=True)
    base = 0.5 * 4.0 * 10.0
    worst = 0.5 * (2.0 + 0.1 * 3.0) ** 2 * 10.0
    got = H.epsilon_sharpness(lambda: 0.5 * (a * w2 * w2).sum(), [w2], epsilon=0.1, steps=6)
    assert got == pytest.approx(100 * (worst - base) / (1 + base), rel=1e-12)


def test_filter_normalized_direction_matches_each_filters_norm():
    model = fg.nn.Sequential(fg.nn.Linear(5, 7), fg.nn.ReLU(), fg.nn.Conv2d(1, 3, 3))
    params = list(model.parameters())
    d = H.filter_normalized_direction(params, seed=4)
    for p, di in zip(params, d):
        assert tuple(di.shape) == tuple(p.shape)
        w, dn = p.detach().numpy(), di.numpy()
        if w.ndim == 1:
            np.testing.assert_array_equal(dn, 0)
        else:
            axes = tuple(range(1, w.ndim))
            np.testing.assert_allclose(np.sqrt((dn * dn).sum(axes)), np.sqrt((w * w).sum(axes)), rtol=1e-5)
    again = H.filter_normalized_direction(params, seed=4)
    np.testing.assert_array_equal(flat_params(d), flat_params(again))


def test_loss_along_evaluates_the_slice_and_restores_the_weights():
    w = fg.tensor(np.array([1.0, -2.0]), requires_grad=True)
    d = [fg.tensor(np.array([0.5, 1.0]))]
    got = H.loss_along(lambda: (w * w).sum(), [w], d, [-1.0, 0.0, 2.0])
    expect = [float(((np.array([1.0, -2.0]) + a * np.array([0.5, 1.0])) ** 2).sum()) for a in (-1.0, 0.0, 2.0)]
    assert got == pytest.approx(expect, rel=1e-12)
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, -2.0])


def test_bad_input_names_the_function_and_argument():
    w = fg.ones(2, dtype=fg.float64, requires_grad=True)
    f = lambda: (w * w).sum()  # noqa: E731
    with pytest.raises(ValueError, match="epsilon_sharpness: epsilon"):
        H.epsilon_sharpness(f, [w], epsilon=-1.0)
    with pytest.raises(ValueError, match="epsilon_sharpness: steps"):
        H.epsilon_sharpness(f, [w], steps=0)
    with pytest.raises(ValueError, match="top_eigenvalue: iters"):
        H.top_eigenvalue(f, [w], iters=0)
    with pytest.raises(ValueError, match=r"top_eigenvalue: params\[0\].*does not require grad"):
        H.top_eigenvalue(f, [fg.ones(2)])
    with pytest.raises(ValueError, match="top_eigenvalue: params is empty"):
        H.top_eigenvalue(f, [])
    with pytest.raises(ValueError, match="loss_fn must return a scalar"):
        H.top_eigenvalue(lambda: w * w, [w])
    with pytest.raises(ValueError, match="HessianVectorProduct: vectors must match"):
        H.HessianVectorProduct(f, [w])([fg.ones(3)])
    with pytest.raises(ValueError, match="loss_along: direction must match"):
        H.loss_along(f, [w], [fg.ones(3)], [0.0])
