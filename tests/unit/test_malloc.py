"""The glibc malloc tuning applied at import, and its opt-out."""

import sys

import pytest

from ferrograd import _malloc


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
@pytest.mark.parametrize("value", [None, "1"])
def test_tuning_applies_on_glibc_by_default(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("FERROGRAD_MALLOC_TUNING", raising=False)
    else:
        monkeypatch.setenv("FERROGRAD_MALLOC_TUNING", value)
    assert _malloc.tune() is True


def test_zero_turns_it_off(monkeypatch):
    monkeypatch.setenv("FERROGRAD_MALLOC_TUNING", "0")
    assert _malloc.tune() is False
