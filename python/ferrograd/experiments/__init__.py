"""`ferrograd.experiments`: why deep networks generalise, as experiments to run, look at and vary.

Each module has `run(seed=0, quick=False, out_dir=None) -> dict` holding its curves
(`"x"`, `"x_label"`, `"curves": {name: [...]}` of the main part; every part under `"parts"`),
`"metrics"` (named scalars), `"checks"` (the claims it makes, as the recipes' checks), `"plots"`
and `"seconds"`. The PNGs carry the lecture's labels.

    fg.experiments.list()
    fg.experiments.run("double_descent", quick=True, out_dir="out")
"""

from __future__ import annotations

import importlib

NAMES = ("bias_variance", "double_descent", "sharpness")


def list() -> "list[str]":  # noqa: A001  (as fg.recipes.list())
    """The experiment names."""
    return [*NAMES]


def get(name: str):
    """The experiment module `name`."""
    if name not in NAMES:
        import difflib

        close = difflib.get_close_matches(str(name), NAMES, n=2)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"experiments: unknown experiment {name!r}.{hint} "
                         "`ferrograd experiment --list` lists them.")
    return importlib.import_module(f"{__name__}.{name}")


def run(name: str, **kwargs) -> dict:
    """Run one experiment: `fg.experiments.run("sharpness", quick=True, out_dir="out")`."""
    return get(name).run(**kwargs)


__all__ = ["NAMES", "get", "list", "run"]
