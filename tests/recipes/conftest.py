"""Recipe tests: progress bars off, and recipe_asserts importable (as tests/fuzz does)."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))


@pytest.fixture(autouse=True)
def _no_progress_bars(monkeypatch):
    monkeypatch.setenv("FERROGRAD_NO_PROGRESS", "1")
