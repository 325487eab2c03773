"""`ferrograd demo`: the digits MLP demo learns, reproducibly."""

from ferrograd import cli, demo


def test_demo_learns_digits():
    history = demo.run(epochs=4, quiet=True)
    assert len(history) == 4
    assert history[-1] > 0.9, history
    assert history[-1] > history[0] - 0.02


def test_demo_is_reproducible_with_a_seed():
    assert demo.run(epochs=1, quiet=True, seed=3) == demo.run(epochs=1, quiet=True, seed=3)


def test_cli_runs_the_demo(capsys):
    assert cli.main(["demo", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "epoch  1" in out and "final test accuracy" in out
