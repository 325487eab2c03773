"""Shared fixtures for the ferrograd.data suite."""

import pytest

import ferrograd as fg


@pytest.fixture(autouse=True)
def _library_rng_restored():
    """Tests here call fg.manual_seed; give the library generator back as it was."""
    state = fg.get_rng_state()
    yield
    fg.set_rng_state(state)
