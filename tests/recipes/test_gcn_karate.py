"""gcn_karate in quick mode: every check passes and the metrics are finite."""

import pytest
from recipe_asserts import assert_passed

from ferrograd.recipes import gcn_karate


def test_quick_cpu(tmp_path):
    result = gcn_karate.run(seed=0, quick=True, out_dir=tmp_path)
    assert_passed(result, "gcn_karate", metrics={"test_acc", "mlp_test_acc", "gain_over_mlp", "chance"})
    assert [c["name"] for c in result["checks"]] == ["test_acc", "gain_over_mlp"]
    m = result["metrics"]
    assert 0.0 <= m["test_acc"] <= 1.0 and 0.0 <= m["mlp_test_acc"] <= 1.0
    assert m["gain_over_mlp"] == pytest.approx(m["test_acc"] - m["mlp_test_acc"])
    # accuracy over the 32 unlabelled members is a multiple of 1/32
    assert (m["test_acc"] * 32) == pytest.approx(round(m["test_acc"] * 32))
    assert [p.endswith("gcn_karate_graph.png") for p in result["plots"]] == [True]
    assert (tmp_path / "gcn_karate_checkpoint.safetensors").exists()
