"""The recipe machinery: a recipe's result format and checks (mlp_digits, quick), the tour's table,
tour.json and report.html, and the `ferrograd run` / `ferrograd tour` commands."""

import json
import subprocess
import sys

import pytest
from recipe_asserts import assert_passed

import ferrograd as fg
from ferrograd.cli import main
from ferrograd.recipes._common import check
from ferrograd.recipes.tour import run_tour


def test_mlp_digits_quick_passes_its_checks_and_writes_its_plot(tmp_path):
    result = fg.recipes.run("mlp_digits", quick=True, seed=0, out_dir=tmp_path)
    assert set(result) >= {"metrics", "checks", "seconds", "plots"}
    assert_passed(result, "mlp_digits")
    assert result["metrics"]["test_acc"] > result["metrics"]["chance"]
    assert all((tmp_path / p.split("/")[-1]).exists() for p in result["plots"])


def test_check_compares_and_refuses_nan_and_unknown_ops():
    assert check("acc", 0.95, ">=", 0.9)["ok"] and not check("acc", 0.85, ">=", 0.9)["ok"]
    assert not check("loss", float("nan"), "<=", 1.0)["ok"]
    with pytest.raises(ValueError, match="op must be"):
        check("acc", 1.0, "=>", 0.5)


def test_unknown_recipe_suggests_a_name():
    with pytest.raises(ValueError, match="Did you mean 'mlp_digits'"):
        fg.recipes.run("mlp_digit")


def test_tour_writes_json_and_report_and_reports_a_failing_recipe(tmp_path, monkeypatch):
    tour = run_tour(quick=True, out_dir=str(tmp_path), names=["mlp_digits"], log=lambda *a: None)
    assert tour["ok"]
    saved = json.loads((tmp_path / "tour.json").read_text())
    assert [r["name"] for r in saved["results"]] == ["mlp_digits"]
    assert "mlp_digits" in (tmp_path / "report.html").read_text()

    def broken(**_):
        raise RuntimeError("boom")

    monkeypatch.setattr(fg.recipes.get("mlp_digits"), "run", broken)
    tour = run_tour(quick=True, out_dir=str(tmp_path), names=["mlp_digits"], log=lambda *a: None)
    assert not tour["ok"] and "boom" in tour["results"][0]["error"]


def test_cli_run_list_and_run_one(capsys, tmp_path):
    assert main(["run", "--list"]) == 0
    assert "mlp_digits" in capsys.readouterr().out.split()
    assert main(["run", "mlp_digits", "--quick", "--out", str(tmp_path)]) == 0
    assert "test_acc" in capsys.readouterr().out


def test_cli_in_a_fresh_interpreter_lists_every_recipe():
    """As the `ferrograd` console script runs it, in a process without pytest's (or runpy's) modules."""
    script = "import sys; from ferrograd.cli import main; sys.exit(main(['run', '--list']))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == fg.recipes.list() and len(fg.recipes.list()) == 15
