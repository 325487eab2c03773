"""What every recipe reports the same way: checks against thresholds, the result dict, where
plots go, progress bars, seeding. Nothing here trains anything."""

from __future__ import annotations

import operator
import os
import time

import numpy as np
from tqdm import tqdm

from ..distributed.data_parallel import is_main_process

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


def check(name: str, value: float, op: str, threshold: float) -> dict:
    """One claim a recipe makes, e.g. check("test_acc", 0.93, ">=", 0.9)."""
    if op not in _OPS:
        raise ValueError(f"check: op must be one of {sorted(_OPS)}, got {op!r}")
    value = float(value)
    return {"name": name, "value": value, "op": op, "threshold": float(threshold),
            "ok": bool(np.isfinite(value) and _OPS[op](value, threshold))}


class Recipe:
    """The bookkeeping of one run: a clock, seeds, the output folder and the plots written.

        r = Recipe("vae", seed, out_dir)
        ...
        return r.finish(metrics, checks)
    """

    def __init__(self, name: str, seed: int = 0, out_dir=None, device: str = "cpu"):
        import ferrograd as fg

        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"{name}: seed must be an int, got {seed!r}")
        if device not in ("cpu", "wgpu"):
            raise ValueError(f"{name}: device must be 'cpu' or 'wgpu', got {device!r}")
        self.name, self.seed, self.device = name, int(seed), device
        self.out_dir = None if out_dir is None else os.fspath(out_dir)
        if self.out_dir is not None:
            os.makedirs(self.out_dir, exist_ok=True)
        self.plots: list[str] = []
        self.started = time.perf_counter()
        fg.manual_seed(self.seed)
        self.rng = np.random.default_rng(self.seed)

    def progress(self, iterable=None, desc: str = "", total=None):
        """A tqdm bar for a training loop (on stderr; hidden when FERROGRAD_NO_PROGRESS is set)."""
        return tqdm(iterable, desc=f"{self.name}: {desc}" if desc else self.name, total=total, leave=False,
                    dynamic_ncols=True, disable=bool(os.environ.get("FERROGRAD_NO_PROGRESS")))

    def save_figure(self, fig, filename: str) -> str | None:
        """Save a matplotlib figure as out_dir/<recipe>_<filename> (nothing without out_dir)."""
        import matplotlib.pyplot as plt

        path = None
        if self.out_dir is not None and is_main_process():  # under mpiexec, rank 0 writes
            path = os.path.join(self.out_dir, f"{self.name}_{filename}")
            fig.savefig(path, dpi=100, bbox_inches="tight")
            self.plots.append(path)
        plt.close(fig)
        return path

    def checkpoint_path(self, filename: str = "model.safetensors") -> str | None:
        return None if self.out_dir is None else os.path.join(self.out_dir, f"{self.name}_{filename}")

    def save_checkpoint(self, filename: str, model, *args, **kwargs) -> str | None:
        """fg.save_checkpoint(out_dir/<recipe>_<filename>, model, ...) (nothing without out_dir)."""
        import ferrograd as fg

        path = self.checkpoint_path(filename)
        if path is not None and is_main_process():
            fg.save_checkpoint(path, model, *args, **kwargs)
        return path

    def finish(self, metrics: dict, checks: list[dict]) -> dict:
        return {"name": self.name, "seed": self.seed, "device": self.device,
                "metrics": {k: float(v) for k, v in metrics.items()}, "checks": checks,
                "plots": self.plots, "seconds": time.perf_counter() - self.started}


def plot_history(ax, history, accuracy: bool = True) -> None:
    """Per-epoch curves of a training.fit history: train and test loss (and test accuracy)."""
    epoch = range(1, len(history) + 1)
    ax.plot(epoch, [h["train_loss"] for h in history], marker="o", label="train loss")
    ax.plot(epoch, [h["val_loss"] for h in history], marker="o", label="test loss")
    if accuracy:
        ax.plot(epoch, [h["val_acc"] for h in history], marker="o", label="test accuracy")
    ax.set_xlabel("epoch")
    ax.legend()


def figure(*args, **kwargs):
    """A matplotlib figure on the file-only backend (recipes never open windows)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)
