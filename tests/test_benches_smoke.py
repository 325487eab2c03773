"""The pytest-benchmark suites in benches/ keep working: run them all once in smoke mode
(`--benchmark-disable`: each case calls its function once, nothing is timed) in a subprocess, so
their own conftest and --threads option do not mix with this test session's.

Needs pytest-benchmark (the `bench` extra); PyTorch cases skip themselves when torch is absent.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_benches_run_in_smoke_mode():
    pytest.importorskip("pytest_benchmark", reason="benches/ needs pytest-benchmark (pip install '.[bench]')")
    cmd = [sys.executable, "-m", "pytest", "benches/", "--benchmark-disable", "-q", "-p", "no:cacheprovider"]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-40:])
    # rc 0: every case ran or skipped itself (pytest exits 5 when nothing was collected, 1 on a failure)
    assert res.returncode == 0, f"`{' '.join(cmd[2:])}` exited with {res.returncode}:\n{tail}"
