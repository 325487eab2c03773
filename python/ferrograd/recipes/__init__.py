"""`ferrograd.recipes`: every training regime of the course as one readable script.

Each recipe module has `run(seed=0, quick=False, device="cpu", out_dir=None) -> dict` returning
`{"metrics": {...}, "checks": [{"name", "value", "op", "threshold", "ok"}], "seconds": s}`
(plus "plots": the PNG files it wrote into out_dir). Read one top to bottom: data, model, loss,
loop, evaluation, plot.

    fg.recipes.list()                       # the names
    fg.recipes.run("mlp_digits", quick=True)
"""

from __future__ import annotations

import importlib

# The order of the tour: supervised baselines, then transfer, self-supervision, generative
# models, contrastive learning.
NAMES = (
    "mlp_digits", "cnn_digits", "mixer_digits", "rnn_sequence", "transformer_sequence", "gcn_karate",
    "finetune_vision", "finetune_text", "mlm_pretrain", "gpt_pretrain", "autoencoder", "vae", "simclr",
    "metric_learning", "clip_zero_shot",
)


def list() -> "list[str]":  # noqa: A001  (torch.hub-style name: fg.recipes.list())
    """The recipe names, in tour order."""
    return [*NAMES]


def get(name: str):
    """The recipe module `name`."""
    if name not in NAMES:
        import difflib

        close = difflib.get_close_matches(str(name), NAMES, n=2)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"recipes: unknown recipe {name!r}.{hint} `ferrograd run --list` lists them.")
    return importlib.import_module(f"{__name__}.{name}")


def run(name: str, **kwargs) -> dict:
    """Run one recipe: `fg.recipes.run("vae", quick=True, out_dir="out")`."""
    return get(name).run(**kwargs)


__all__ = ["NAMES", "get", "list", "run"]
