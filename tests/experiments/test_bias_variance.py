"""bias_variance in quick mode: every check holds, the result has the contract's structure and
the PNG is written; the bias/variance estimator on cases computed by hand."""

import json
import math

import numpy as np
import pytest

from ferrograd.experiments import bias_variance
from ferrograd.experiments._random_features import bias_variance as estimate


def _failed(res):
    return [f"{c['name']} = {c['value']:.4g} (want {c['op']} {c['threshold']:.4g})" for c in res["checks"] if not c["ok"]]


def test_quick_checks_and_structure(tmp_path):
    res = bias_variance.run(seed=0, quick=True, out_dir=tmp_path)
    assert res["checks"] and all(c["ok"] for c in res["checks"]), f"failed checks: {_failed(res)}"
    assert set(res["parts"]) == {"polynomial", "random_features"}
    poly = res["parts"]["polynomial"]
    assert poly["x"] == list(range(13))
    assert set(poly["curves"]) == {"bias2", "variance", "noise", "risk", "measured_risk"}
    for part in res["parts"].values():
        assert all(len(v) == len(part["x"]) for v in part["curves"].values())
    # risk = bias² + variance + noise, as the estimator defines it
    np.testing.assert_allclose(poly["curves"]["risk"], np.add(np.add(poly["curves"]["bias2"], poly["curves"]["variance"]),
                                                               poly["curves"]["noise"]), rtol=1e-12)
    assert res["x"] == res["parts"]["random_features"]["x"]
    assert all(math.isfinite(v) for v in res["metrics"].values())
    json.dumps(res)
    assert res["plots"] == [str(tmp_path / "bias_variance_curves.png")]
    assert (tmp_path / "bias_variance_curves.png").stat().st_size > 0


def test_estimator_by_hand():
    # two models predict 1 and 3 where the target is 0: mean 2, spread ±1.
    # risk = (1 + 9) / 2 = 5; variance = 2/1 * 1 = 2 (the T/(T-1) correction); bias² = 5 - 2 = 3 = 2² - 2/2
    out = estimate(np.array([[1.0], [3.0]]), np.array([0.0]))
    assert out == pytest.approx({"bias2": 3.0, "variance": 2.0, "risk": 5.0})
    # outputs (trailing dims) are summed, test points averaged
    preds = np.array([[[1.0, 0.0], [0.0, 0.0]], [[3.0, 0.0], [0.0, 0.0]]])
    out = estimate(preds, np.zeros((2, 2)))
    assert out == pytest.approx({"bias2": 1.5, "variance": 1.0, "risk": 2.5})
    with pytest.raises(ValueError, match="bias_variance"):
        estimate(np.ones((1, 3)), np.ones(3))


def test_estimator_is_unbiased():
    # f_t = mu + noise of variance s² around a target 0: bias² -> mu², variance -> s²
    rng = np.random.default_rng(0)
    mu, s = 0.7, 0.5
    preds = mu + s * rng.standard_normal((4, 200000))
    out = estimate(preds, np.zeros(200000))
    assert out["variance"] == pytest.approx(s ** 2, rel=0.01)
    assert out["bias2"] == pytest.approx(mu ** 2, rel=0.01)
