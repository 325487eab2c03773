"""Layer-wise learning-rate decay (as BEiT / timm's `param_groups_layer_decay`): the top group
learns at the full rate, each group below at `layer_decay` times the one above; biases and norm
weights (1-d parameters) get no weight decay."""

from __future__ import annotations


def param_groups_layer_decay(model, lr: float | None = None, weight_decay: float = 0.0,
                             layer_decay: float = 0.75, no_weight_decay: tuple = ()) -> list[dict]:
    """Parameter groups for an optimizer: `[{"params", "lr_scale", "weight_decay", ("lr"), "name"}]`.

    Groups come from `model.layer_groups()` (bottom → top; otherwise the direct children). Frozen
    parameters (requires_grad=False) are left out. With `lr`, each group's "lr" is lr * lr_scale;
    without it the optimizer's lr applies to every group unless a scheduler reads lr_scale."""
    from ..models._base import parameter_groups

    if not 0.0 < float(layer_decay) <= 1.0:
        raise ValueError(f"param_groups_layer_decay: layer_decay must be in (0, 1], got {layer_decay!r}")
    if weight_decay < 0.0:
        raise ValueError(f"param_groups_layer_decay: weight_decay must be >= 0, got {weight_decay!r}")
    groups = parameter_groups(model)
    names = {id(p): n for n, p in model.named_parameters()}
    out = []
    top = len(groups) - 1
    for depth, (group_name, params) in enumerate(groups):
        scale = float(layer_decay) ** (top - depth)
        decay, no_decay = [], []
        for p in params:
            if not p.requires_grad:
                continue
            name = names.get(id(p), "")
            skip = p.ndim <= 1 or name.endswith(".bias") or any(k in name for k in no_weight_decay)
            (no_decay if skip else decay).append(p)
        for params_, wd, suffix in ((decay, weight_decay, ""), (no_decay, 0.0, "_no_decay")):
            if params_:
                group = {"params": params_, "lr_scale": scale, "weight_decay": wd, "name": group_name + suffix}
                if lr is not None:
                    group["lr"] = lr * scale
                out.append(group)
    return out
