"""Training checkpoints: model, optimizer, scheduler, step and RNG state in one safetensors file.

Resuming from a checkpoint continues exactly as if training had never stopped: the optimizer's
moments, the schedule position and the library RNG (shuffling, dropout, init) all come back.
"""

from __future__ import annotations

from . import io, random


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
    `{"step": ..., **extra}`."""
    state = io.load(path)
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"load_checkpoint: {path} holds no training checkpoint (keys: {list(state)[:5]})")
    model.load_state_dict(state["model"])
    if optimizer is not None:
        if state["optimizer"] is None:
            raise ValueError(f"load_checkpoint: {path} was saved without an optimizer state")
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        if state["scheduler"] is None:
            raise ValueError(f"load_checkpoint: {path} was saved without a scheduler state")
        scheduler.load_state_dict(state["scheduler"])
    random.set_rng_state(state["rng"])
    return {"step": state["step"], **state["extra"]}
