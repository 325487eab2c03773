"""The glibc malloc tuning applied at import, and its opt-out."""

import sys

import pytest

from ferrograd import _malloc


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_tuning_applies_on_glibc():
    assert _malloc.tune() is True


def test_opt_out(monkeypatch):
    monkeypatch.setenv("FERROGRAD_MALLOC_TUNING", "0")
    assert _malloc.tune() is False
