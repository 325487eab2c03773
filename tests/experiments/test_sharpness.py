"""The sharpness experiment in quick mode: every claim holds (full-batch GD's λ_max ≥ 5× small-batch
SGD's at the same training loss, ...), and the result has the shape the experiments share."""

import json
import math

import numpy as np

import ferrograd as fg
from ferrograd.experiments import sharpness


def test_quick_run_checks_and_structure(tmp_path):
    res = sharpness.run(seed=0, quick=True, out_dir=tmp_path)

    failed = [c for c in res["checks"] if not c["ok"]]
    assert not failed, "failed checks: " + "; ".join(
        f"{c['name']} = {c['value']:.4g} (wanted {c['op']} {c['threshold']})" for c in failed)
    names = {c["name"] for c in res["checks"]}
    assert "lambda_max full_batch / small_batch" in names

    m = res["metrics"]
    assert all(math.isfinite(v) for v in m.values()), m
    assert m["lambda_ratio"] == m["full_batch_lambda_max"] / m["small_batch_lambda_max"]
    assert m["lambda_ratio"] >= 5
    assert m["small_batch_steps"] > 0 and m["full_batch_steps"] > 0
    assert m["n_train"] == 512  # quick mode's subset

    # the shared result shape: parts with x and equally long curves, the main part at top level
    parts = res["parts"]
    assert set(parts) == {"landscape", "power_iteration", "training_small_batch", "training_full_batch"}
    for name, part in parts.items():
        assert isinstance(part["x_label"], str) and part["x"], name
        for curve, ys in part["curves"].items():
            assert len(ys) == len(part["x"]), (name, curve)
            assert all(isinstance(v, float) and math.isfinite(v) for v in ys), (name, curve)
    assert res["x"] == parts["landscape"]["x"] and res["curves"] == parts["landscape"]["curves"]
    json.dumps(res)  # plain Python values only

    # the landscape slice passes through each solution at α = 0 and rises on both sides
    x = np.array(parts["landscape"]["x"])
    zero = int(np.argmin(np.abs(x)))
    for key in ("small_batch", "full_batch"):
        ys = parts["landscape"]["curves"][f"{key}_train_loss"]
        assert abs(ys[zero] - m[f"{key}_train_loss"]) < 1e-5
        assert ys[0] > ys[zero] and ys[-1] > ys[zero]
    # training ends at the target loss; power iteration's last estimate is the reported λ_max
    for key in ("small_batch", "full_batch"):
        losses = parts[f"training_{key}"]["curves"]["train_loss"]
        assert losses[-1] <= sharpness.TARGET_LOSS < losses[0]
        assert parts["power_iteration"]["curves"][key][-1] == m[f"{key}_lambda_max"]

    assert res["plots"] == [str(tmp_path / "sharpness_curves.png")]
    assert (tmp_path / "sharpness_curves.png").stat().st_size > 10_000


def test_both_optimisers_start_from_the_same_weights():
    a, b = sharpness.make_mlp(3), sharpness.make_mlp(3)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert sum(p.numel() for p in a.parameters()) == 64 * 64 * 3 + 64 * 3 + 64 * 10 + 10


def test_registered_as_an_experiment():
    assert "sharpness" in fg.experiments.list()
    assert fg.experiments.get("sharpness") is sharpness
