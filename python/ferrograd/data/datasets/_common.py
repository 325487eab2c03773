"""Helpers shared by the built-in data sets: optional imports and global-RNG hygiene."""

from __future__ import annotations

import contextlib
import importlib
import random

import numpy as np


def require(module: str, pip_name: str, min_version: str, user: str):
    """Import `module`, or raise ImportError telling how to install the package `user` needs."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f"{user} needs the '{pip_name}' package (>= {min_version}): pip install '{pip_name}>={min_version}'"
        ) from e


@contextlib.contextmanager
def preserved_global_rng():
    """Run a block that seeds numpy's and Python's global RNGs, then put their states back."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
