"""The op table: one Row per registered op (like PyTorch's OpInfo). Families add their rows in
rows_<family>.py; `ROWS` gathers them. A Row says how to build sample inputs and what the answer
is (a numpy reference), and the harness in test_op_table.py checks every op on every device and
dtype against it: random, empty, broadcast and non-contiguous inputs, float64 gradcheck (and
gradgradcheck), the in-place variant, and bad arguments.

A sample is `Case(args, kwargs)`: numpy arrays among `args` become tensors (of the dtype under
test when they are float, as they are otherwise), everything else is passed as it is.
"""

from __future__ import annotations

import importlib
import pathlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class Case:
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass
class Row:
    samples: Callable  # rng -> {"random": Case, "empty": Case, "broadcast": Case, ...}
    ref: Callable  # (*numpy args, **kwargs) -> numpy result (a tuple for several outputs)
    grad: bool = True  # float64 gradcheck w.r.t. the float array arguments
    gradgrad: bool = True  # second derivatives through create_graph (only with grad)
    devices: tuple = ("cpu", "wgpu")
    dtypes: tuple = ("float32", "float64")  # float64 runs on cpu only
    rtol: float = 1e-5
    atol: float = 1e-6
    # (args, kwargs, exception type, text the message must contain) per bad call
    bad: list = field(default_factory=list)
    call: Callable | None = None  # how to call the op when fg.<name>(*args) does not fit
    inplace_arg: int = 0  # which argument an in-place variant writes into
    why_no_empty: str = ""  # filled when an empty input makes no sense for the op
    grad_args: tuple | None = None  # indices of the float arrays to differentiate (default: all)
    compare: Callable | None = None  # (got numpy, want numpy) -> None, for outputs ref cannot pin


def gather_rows() -> dict:
    """Every ROWS of the rows_*.py files beside this one (conftest.py puts this folder on sys.path)."""
    rows = {}
    here = str(pathlib.Path(__file__).parent)
    for info in pkgutil.iter_modules([here]):
        if info.name.startswith("rows_"):
            mod = importlib.import_module(info.name)
            for name, row in mod.ROWS.items():
                if name in rows:
                    raise ValueError(f"op table: {name} has two rows ({info.name})")
                rows[name] = row
    return rows
