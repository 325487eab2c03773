"""`ferrograd experiment` and the experiments in the tour: listing, unknown names, one quick run
from the command line, and a tour that runs a recipe and an experiment into one table."""

import json
import subprocess
import sys

import pytest

import ferrograd as fg
from ferrograd.cli import main
from ferrograd.recipes.tour import run_tour


def test_experiment_list_in_a_fresh_interpreter():
    script = "import sys; from ferrograd.cli import main; sys.exit(main(['experiment', '--list']))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["bias_variance", "double_descent", "sharpness"] == fg.experiments.list()


def test_unknown_experiment_suggests_a_name():
    with pytest.raises(ValueError, match="Did you mean 'sharpness'"):
        fg.experiments.run("sharpnes")


def test_cli_runs_one_quick_experiment_and_writes_its_plot(capsys, tmp_path):
    assert main(["experiment", "sharpness", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "sharpness" in out and "lambda" in out.lower()
    assert list(tmp_path.glob("sharpness_*.png"))


def test_tour_runs_recipes_then_experiments_into_one_report(tmp_path):
    tour = run_tour(quick=True, out_dir=str(tmp_path), names=["mlp_digits"], experiment_names=["sharpness"],
                    log=lambda *a: None)
    assert tour["ok"], [r.get("error") or [c for c in r["checks"] if not c["ok"]] for r in tour["results"]]
    saved = json.loads((tmp_path / "tour.json").read_text())
    assert [r["name"] for r in saved["results"]] == ["mlp_digits", "sharpness"]
    assert "sharpness_" in (tmp_path / "report.html").read_text()


def test_a_tour_of_named_recipes_runs_no_experiment(tmp_path, monkeypatch):
    monkeypatch.setattr(fg.experiments, "get", lambda name: pytest.fail(f"ran experiment {name}"))
    assert [r["name"] for r in run_tour(quick=True, out_dir=str(tmp_path), names=["mlp_digits"],
                                        log=lambda *a: None)["results"]] == ["mlp_digits"]
