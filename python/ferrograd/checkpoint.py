"""Training checkpoints: model, optimizer, scheduler, step and RNG state in one safetensors file.

Resuming from a checkpoint continues exactly as if training had never stopped: the optimizer's
moments, the schedule position and the library RNG (shuffling, dropout, init) all come back.
Loading is all-or-nothing: the file is read and its checksums verified (io.load), then every part
is checked against the model, optimizer, scheduler and RNG; only then is anything written. Each
error names the file and the part (model / optimizer / scheduler / rng) with its key.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

from . import io, random

_PARTS = ("model", "optimizer", "scheduler", "step", "rng", "extra")


def save_checkpoint(path, model, optimizer=None, scheduler=None, step: int = 0, **extra) -> None:
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "step": int(step),
        "rng": random.get_rng_state(),
        "extra": extra,
    }
    io.save(state, path, metadata={"step": int(step)})


def load_checkpoint(path, model, optimizer=None, scheduler=None) -> dict:
    """Restore everything `save_checkpoint` wrote into the given objects; returns
    `{"step": ..., **extra}`. On any error nothing has been changed."""
    path = os.fspath(path)
    state = io.load(path)  # verifies the file's checksums
    if not isinstance(state, dict) or "model" not in state:
        keys = list(state)[:5] if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"load_checkpoint: {path} holds no training checkpoint (keys: {keys})")
    absent = [k for k in _PARTS if k not in state]
    if absent:
        raise ValueError(f"load_checkpoint: {path} is missing the checkpoint entries {absent}")

    # 1. check every part against its object; nothing is written yet
    with _naming(path, "model"):
        model_plan = _check(model, state["model"])
    opt_plan = None
    if optimizer is not None:
        if state["optimizer"] is None:
            raise ValueError(f"load_checkpoint: {path} was saved without an optimizer state")
        with _naming(path, "optimizer"):
            opt_plan = _check(optimizer, state["optimizer"])
    if scheduler is not None:
        if state["scheduler"] is None:
            raise ValueError(f"load_checkpoint: {path} was saved without a scheduler state")
        with _naming(path, "scheduler"):
            _check_scheduler(scheduler, state["scheduler"])
    with _naming(path, "rng"):
        random.Generator().set_state(state["rng"])  # a scratch generator: checks, changes nothing
    step, extra = state["step"], state["extra"]
    if isinstance(step, bool) or not isinstance(step, int):
        raise ValueError(f"load_checkpoint: {path}: 'step' is {step!r}, expected an int")
    if not isinstance(extra, dict):
        raise ValueError(f"load_checkpoint: {path}: 'extra' is a {type(extra).__name__}, expected a dict")

    # 2. write: each step below only installs what was checked above
    _apply(model, model_plan, state["model"])
    if optimizer is not None:
        _apply(optimizer, opt_plan, state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    random.set_rng_state(state["rng"])
    return {"step": step, **extra}


def _check(obj, part):
    """The checked, converted form of `part` when `obj` can check before writing (ferrograd's
    Module and Optimizer); None for other objects and for subclasses that override
    load_state_dict, which then load in step 2 through their own load_state_dict."""
    cls = type(obj)
    owner = next((c for c in cls.__mro__ if "_check_state_dict" in c.__dict__), None)
    if owner is None or getattr(cls, "load_state_dict", None) is not owner.__dict__.get("load_state_dict"):
        return None
    return obj._check_state_dict(part)


def _apply(obj, plan, part) -> None:
    if plan is None:
        obj.load_state_dict(part)
    else:
        obj._apply_state_dict(plan)


def _check_scheduler(scheduler, saved) -> None:
    """A scheduler loads by updating its attributes: refuse a dict of another kind of scheduler
    (attributes this one lacks) or lists of another length (one lr per param group)."""
    if not isinstance(saved, Mapping):
        raise ValueError(f"expected a dict from {type(scheduler).__name__}.state_dict(), got {type(saved).__name__}")
    own = scheduler.state_dict()
    unexpected = [k for k in saved if k not in own]
    if unexpected:
        raise ValueError(f"{type(scheduler).__name__}.load_state_dict: unexpected keys {unexpected} "
                         f"(saved from another kind of scheduler?)")
    for k, v in saved.items():
        if isinstance(own[k], (list, tuple)) and not (isinstance(v, (list, tuple)) and len(v) == len(own[k])):
            raise ValueError(f"{type(scheduler).__name__}.load_state_dict: key {k!r} is {v!r}, "
                             f"expected {len(own[k])} values like {own[k]!r}")


@contextlib.contextmanager
def _naming(path: str, part: str):
    """Re-raise a check's error with the file and the checkpoint part in front, same type."""
    try:
        yield
    except (ValueError, TypeError, RuntimeError, KeyError, IndexError) as e:
        msg = f"load_checkpoint: {path}: {part}: {e.args[0] if len(e.args) == 1 else e}"
        try:  # KeyError would print the message in quotes: a bare lookup failure is a ValueError here
            err = ValueError(msg) if isinstance(e, LookupError) else type(e)(msg)
        except Exception:
            err = ValueError(msg)
        raise err from e
