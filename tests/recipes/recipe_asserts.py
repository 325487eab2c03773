"""What every recipe test checks the same way (imported by the tests through conftest's path)."""

import math


def assert_passed(result, name, device="cpu", metrics=()):
    """`result` is recipe `name`'s run on `device`, with at least the `metrics` named, all finite,
    and at least one check, every one passed."""
    assert result["name"] == name and result["device"] == device
    assert set(result["metrics"]) >= set(metrics), sorted(result["metrics"])
    for key, value in result["metrics"].items():
        assert math.isfinite(value), f"metric {key} = {value}"
    assert result["checks"], "the recipe must make at least one check"
    failed = [c for c in result["checks"] if not c["ok"]]
    assert not failed, f"failed checks: {failed}"

