"""Where the randomness of ferrograd.data comes from.

Every random choice (shuffling, splits, augmentations) takes a `generator` argument that is
one of: None (ferrograd's library generator, seeded by `fg.manual_seed`), an int seed, a
`ferrograd.Generator` (its stream advances with each draw, as torch's does), or a
`numpy.random.Generator`; the last two are used as they are.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import random as _random


def resolve(generator, op: str) -> np.random.Generator:
    """The numpy Generator to draw from for `generator` (None, an int seed, an fg.Generator or a
    numpy Generator)."""
    if generator is None:
        return _random.generator()  # looked up at each call: fg.manual_seed replaces it
    if isinstance(generator, (np.random.Generator, _random.Generator)):
        return _random.numpy_generator(generator, op)
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"{op}: generator must be None, an int seed, a ferrograd.Generator or a "
                    f"numpy.random.Generator, got {type(generator).__name__}")


class Source:
    """A lazily resolved generator that keeps its state across calls.

    An int seed becomes one Generator at construction, so successive draws (epochs, samples)
    differ but the whole sequence repeats for the same seed. None defers to ferrograd's library
    generator at every draw, so `fg.manual_seed` taken after construction still applies.
    """

    __slots__ = ("_fixed",)

    def __init__(self, generator, op: str):
        self._fixed = None if generator is None else resolve(generator, op)

    def get(self) -> np.random.Generator:
        return self._fixed if self._fixed is not None else _random.generator()
