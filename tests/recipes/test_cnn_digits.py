"""cnn_digits in quick mode: every check passes and the metrics are finite."""

from recipe_asserts import assert_passed

from ferrograd.recipes import cnn_digits


def test_quick_cpu(tmp_path):
    result = cnn_digits.run(seed=0, quick=True, out_dir=tmp_path)
    assert_passed(result, "cnn_digits", metrics={"test_acc", "test_loss", "chance"})
    assert 0.0 <= result["metrics"]["test_acc"] <= 1.0
    assert [p.endswith("cnn_digits_curves.png") for p in result["plots"]] == [True]
    assert (tmp_path / "cnn_digits_checkpoint.safetensors").exists()
