"""MNIST-1D (Greydanus, 2020): 1-D signals of the ten digits, generated locally by `mnist1d`."""

from __future__ import annotations

import numbers

import numpy as np

from ...tensor import Tensor
from ._common import preserved_global_rng, require
from .labeled import LabeledData


def load_mnist1d(num_samples: int = 5000, seed: int = 42, train_split: float = 0.8) -> LabeledData:
    """Generate MNIST-1D with `mnist1d.data.make_dataset` (no download).

    `num_samples // 10` signals per digit are made (so N = 10 * (num_samples // 10)), shuffled
    and standardised by mnist1d itself; the defaults (5000, seed 42) give the published set.
    Returns a `LabeledData` with
      x: (N, 40) float32, y: (N,) int64 in 0..9, classes ['0', ..., '9'],
      info['train_size']: mnist1d's own split point (the first `train_split` of the samples
      are its training set: `TensorDataset(x[:k], y[:k])`), info['t']: the 40 sample positions.
    mnist1d seeds numpy's and Python's global RNGs; their states are restored afterwards.
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) or num_samples < 10:
        raise ValueError(f"load_mnist1d: num_samples must be an int >= 10, got {num_samples!r}")
    if not 0.0 < float(train_split) <= 1.0:
        raise ValueError(f"load_mnist1d: train_split must lie in (0, 1], got {train_split!r}")
    data_mod = require("mnist1d.data", "mnist1d", "0.0.2", "load_mnist1d")
    args = data_mod.get_dataset_args()
    args.num_samples = int(num_samples)
    args.seed = int(seed)
    args.train_split = float(train_split)
    with preserved_global_rng():
        d = data_mod.make_dataset(args)
    x = np.concatenate([d["x"], d["x_test"]]).astype(np.float32)
    y = np.concatenate([d["y"], d["y_test"]]).astype(np.int64)
    return LabeledData(
        x=Tensor._wrap(np.ascontiguousarray(x)),
        y=Tensor._wrap(y),
        classes=[str(k) for k in range(10)],
        info={"source": "mnist1d.data.make_dataset", "train_size": int(len(d["y"])),
              "t": np.asarray(d["t"], dtype=np.float32), "seed": int(seed)},
    )
