"""The glibc malloc tuning applied at import, and its opt-out."""

import sys

import pytest

from ferrograd import _malloc


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_tuning_applies_on_glibc_when_asked(monkeypatch):
    monkeypatch.setenv("FERROGRAD_MALLOC_TUNING", "1")
    assert _malloc.tune() is True


def test_off_by_default(monkeypatch):
    monkeypatch.delenv("FERROGRAD_MALLOC_TUNING", raising=False)
    assert _malloc.tune() is False
