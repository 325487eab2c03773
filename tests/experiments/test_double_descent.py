"""double_descent in quick mode: every check holds, the result has the contract's structure and
the PNG is written; the min-norm least-squares helper against its closed forms."""

import json
import math

import numpy as np
import pytest

from ferrograd.experiments import _random_features as rf
from ferrograd.experiments import double_descent


def _failed(res):
    return [f"{c['name']} = {c['value']:.4g} (want {c['op']} {c['threshold']:.4g})" for c in res["checks"] if not c["ok"]]


def test_quick_checks_and_structure(tmp_path):
    res = double_descent.run(seed=0, quick=True, out_dir=tmp_path)
    assert res["checks"] and all(c["ok"] for c in res["checks"]), f"failed checks: {_failed(res)}"
    assert set(res["parts"]) == {"random_features"}
    part = res["parts"]["random_features"]
    assert res["x"] == part["x"] and res["curves"] == part["curves"] and res["x_label"] == part["x_label"]
    assert set(part["curves"]) == {"test_mse", "train_mse", "test_error"}
    assert all(len(v) == len(part["x"]) for v in part["curves"].values())
    assert double_descent.N_TRAIN in part["x"] and part["x"] == sorted(part["x"])
    assert all(math.isfinite(v) for v in res["metrics"].values())
    json.dumps(res)  # plain Python values only
    assert res["plots"] == [str(tmp_path / "double_descent_curves.png")]
    assert (tmp_path / "double_descent_curves.png").stat().st_size > 0


def test_full_run_mlp_sweeps_show_the_noise_peak(tmp_path):
    """The full run adds the MLP width sweeps on MNIST-1D (15 % and 0 % label noise): the claims
    that the noisy curve peaks inside the sweep, above both ends, and above the clean curve's peak.
    About a minute on two cores."""
    res = double_descent.run(seed=1, quick=False, out_dir=tmp_path)
    assert all(c["ok"] for c in res["checks"]), f"failed checks: {_failed(res)}"
    assert {"random_features", "mlp_noisy", "mlp_clean"} <= set(res["parts"]), sorted(res["parts"])
    assert any(c["name"].startswith("mlp_noisy") for c in res["checks"])


def test_min_norm_lstsq_closed_forms():
    rng = np.random.default_rng(0)
    # over-parametrised: the interpolator of smallest norm is phi^T (phi phi^T)^-1 y
    phi, y = rng.normal(size=(5, 12)), rng.normal(size=(5, 2))
    beta = rf.min_norm_lstsq(phi, y)
    np.testing.assert_allclose(phi @ beta, y, atol=1e-10)
    np.testing.assert_allclose(beta, phi.T @ np.linalg.solve(phi @ phi.T, y), atol=1e-10)
    # under-parametrised: the normal equations
    phi, y = rng.normal(size=(12, 5)), rng.normal(size=12)
    np.testing.assert_allclose(rf.min_norm_lstsq(phi, y), np.linalg.solve(phi.T @ phi, phi.T @ y), atol=1e-10)
    with pytest.raises(ValueError, match="min_norm_lstsq"):
        rf.min_norm_lstsq(phi, y[:3])


def test_fit_predict_dual_path_matches_lstsq():
    # the (n, n) solve used far past the threshold is the same estimator as lstsq
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(20, 6)), rng.normal(size=(20, 3))
    p = rf.fit_predict(x, y, [x[:4]], 60, np.random.default_rng(5))[0]
    w = np.random.default_rng(5).standard_normal((6, 60))
    ref = rf.relu_features(x[:4], w) @ np.linalg.lstsq(rf.relu_features(x, w), y, rcond=None)[0]
    np.testing.assert_allclose(p, ref, atol=1e-8)


def test_relu_features_and_grid():
    x, w = np.array([[1.0, -2.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(rf.relu_features(x, w), [[1 / np.sqrt(2), 0.0]])
    with pytest.raises(ValueError, match="relu_features"):
        rf.relu_features(x, w[:1])
    grid = rf.feature_grid(100, 0.05, 16, 7)
    assert grid[0] == 5 and grid[-1] == 1600 and 100 in grid
