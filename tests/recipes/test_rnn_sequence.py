"""rnn_sequence in quick mode: every check passes and the metrics are finite."""

import math


from ferrograd.recipes import rnn_sequence


def _assert_ok(result, device):
    assert result["name"] == "rnn_sequence" and result["device"] == device
    assert set(result["metrics"]) >= {"lstm_test_acc", "gru_test_acc", "lstm_test_loss", "gru_test_loss", "chance"}
    assert all(math.isfinite(v) for v in result["metrics"].values()), result["metrics"]
    assert [c["name"] for c in result["checks"]] == ["lstm_test_acc", "gru_test_acc"]
    assert all(c["ok"] for c in result["checks"]), result["checks"]
    for cell in ("lstm", "gru"):
        assert 0.0 <= result["metrics"][f"{cell}_test_acc"] <= 1.0


def test_quick_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("FERROGRAD_NO_PROGRESS", "1")
    result = rnn_sequence.run(seed=0, quick=True, out_dir=tmp_path)
    _assert_ok(result, "cpu")
    assert [p.endswith("rnn_sequence_test_acc.png") for p in result["plots"]] == [True]
    assert (tmp_path / "rnn_sequence_lstm.safetensors").exists()
    assert (tmp_path / "rnn_sequence_gru.safetensors").exists()
