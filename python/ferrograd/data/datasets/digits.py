"""scikit-learn's handwritten digits (UCI optdigits test set), shipped with scikit-learn."""

from __future__ import annotations

import functools

import numpy as np

from ...tensor import Tensor
from ._common import require
from .labeled import LabeledData


@functools.lru_cache(maxsize=1)
def _raw():
    datasets = require("sklearn.datasets", "scikit-learn", "1.4", "load_digits")
    bunch = datasets.load_digits()
    return np.asarray(bunch.images), np.asarray(bunch.target), str(bunch.DESCR)


def load_digits() -> LabeledData:
    """1797 8x8 grey images of the digits 0-9, no download.

    Returns a `LabeledData` with
      x: (1797, 1, 8, 8) float32 in [0, 1] (the 0..16 pixel counts divided by 16),
      y: (1797,) int64 in 0..9, classes: ['0', ..., '9'].
    `data.split(test_fraction=0.2, seed=0)` gives seeded, stratified (train, test) TensorDatasets.
    """
    images, target, descr = _raw()
    x = (images.astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    y = target.astype(np.int64)
    return LabeledData(
        x=Tensor._wrap(np.ascontiguousarray(x)),
        y=Tensor._wrap(y.copy()),
        classes=[str(d) for d in range(10)],
        info={"source": "sklearn.datasets.load_digits", "description": descr},
    )
