"""Shared fixtures for the unit suite."""

import numpy as np
import pytest

import ferrograd as fg


@pytest.fixture
def rng():
    """A fresh, seeded numpy generator per test, so every failure reproduces."""
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """A test that leaks `no_grad` state would silently break the tests after it."""
    yield
    leaked = not fg.is_grad_enabled()
    fg.set_grad_enabled(True)
    assert not leaked, "a test left gradient recording disabled"
