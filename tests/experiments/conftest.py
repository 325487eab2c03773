"""Experiment tests: progress bars off (as tests/recipes/conftest.py)."""

import pytest


@pytest.fixture(autouse=True)
def _no_progress_bars(monkeypatch):
    monkeypatch.setenv("FERROGRAD_NO_PROGRESS", "1")
