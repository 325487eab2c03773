"""cnn_digits in quick mode: every check passes and the metrics are finite."""

import math


from ferrograd.recipes import cnn_digits


def _assert_ok(result, device):
    assert result["name"] == "cnn_digits" and result["device"] == device
    assert set(result["metrics"]) >= {"test_acc", "test_loss", "chance"}
    assert all(math.isfinite(v) for v in result["metrics"].values()), result["metrics"]
    assert result["checks"] and all(c["ok"] for c in result["checks"]), result["checks"]
    assert 0.0 <= result["metrics"]["test_acc"] <= 1.0


def test_quick_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("FERROGRAD_NO_PROGRESS", "1")
    result = cnn_digits.run(seed=0, quick=True, out_dir=tmp_path)
    _assert_ok(result, "cpu")
    assert [p.endswith("cnn_digits_curves.png") for p in result["plots"]] == [True]
    assert (tmp_path / "cnn_digits_checkpoint.safetensors").exists()
