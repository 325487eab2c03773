"""`random_split`: disjoint random subsets of a dataset, as torch.utils.data.random_split."""

from __future__ import annotations

import math
import numbers
import warnings

from . import _rng
from .dataset import Subset


def _lengths(lengths, n):
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    if not all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in lengths):
        raise TypeError(f"random_split: lengths must be numbers, got {lengths}")
    is_fractions = any(not isinstance(x, numbers.Integral) for x in lengths)
    total = sum(lengths)
    if is_fractions and math.isclose(total, 1) and total <= 1 + 1e-12:
        if any(not 0 <= f <= 1 for f in lengths):
            raise ValueError(f"random_split: fractions must lie in [0, 1], got {lengths}")
        out = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(out)):  # hand the remainder out round-robin, as torch does
            out[i % len(out)] += 1
        for i, k in enumerate(out):
            if k == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0", stacklevel=3)
        return out
    if is_fractions:
        raise ValueError(f"random_split: lengths must be ints summing to {n} or fractions summing to 1, got {lengths}")
    if any(x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative, got {lengths}")
    if total != n:
        raise ValueError(f"random_split: lengths {lengths} sum to {total}, not to the dataset length {n}")
    return [int(x) for x in lengths]


def random_split(dataset, lengths, generator=None):
    """Split `dataset` into `len(lengths)` disjoint `Subset`s that together cover it.

    `lengths` are ints summing to `len(dataset)`, or fractions summing to 1 (floor of each share,
    the remainder handed out one by one from the first split on). `generator` is None
    (ferrograd's generator, seeded by `fg.manual_seed`), an int seed or a numpy Generator.
    """
    n = len(dataset)
    sizes = _lengths(lengths, n)
    perm = _rng.resolve(generator, "random_split").permutation(n)
    out, offset = [], 0
    for k in sizes:
        out.append(Subset(dataset, perm[offset:offset + k].tolist()))
        offset += k
    return out
