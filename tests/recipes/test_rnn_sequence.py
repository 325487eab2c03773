"""rnn_sequence in quick mode: every check passes and the metrics are finite."""

from recipe_asserts import assert_passed

from ferrograd.recipes import rnn_sequence


def test_quick_cpu(tmp_path):
    result = rnn_sequence.run(seed=0, quick=True, out_dir=tmp_path)
    assert_passed(result, "rnn_sequence",
                  metrics={"lstm_test_acc", "gru_test_acc", "lstm_test_loss", "gru_test_loss", "chance"})
    assert [c["name"] for c in result["checks"]] == ["lstm_test_acc", "gru_test_acc"]
    for cell in ("lstm", "gru"):
        assert 0.0 <= result["metrics"][f"{cell}_test_acc"] <= 1.0
    assert [p.endswith("rnn_sequence_test_acc.png") for p in result["plots"]] == [True]
    assert (tmp_path / "rnn_sequence_lstm.safetensors").exists()
    assert (tmp_path / "rnn_sequence_gru.safetensors").exists()
