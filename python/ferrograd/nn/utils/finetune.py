"""Fine-tuning helpers: freeze a backbone (keeping its batch norms in eval mode) and swap a head."""

from __future__ import annotations

from ..module import Module
from ..normalization import _BatchNorm


def freeze(module: Module, unlocked_groups: int = 0, batchnorm_eval: bool = True) -> Module:
    """Stop gradients to the parameters of `module`, keeping the top `unlocked_groups` parameter
    groups trainable (groups run bottom → top: a zoo model's `layer_groups()`, otherwise the direct
    children; open_clip's `lock_image_tower(unlocked_groups=...)` counts the same way). With
    `batchnorm_eval`, the frozen batch norms stay in eval mode (running statistics frozen) even
    when the whole model is put back in train mode."""
    from ...models._base import parameter_groups

    if not isinstance(module, Module):
        raise TypeError(f"freeze: expected an nn.Module, got {type(module).__name__}")
    groups = parameter_groups(module)
    if not isinstance(unlocked_groups, int) or isinstance(unlocked_groups, bool) or unlocked_groups < 0:
        raise ValueError(f"freeze: unlocked_groups must be an int >= 0 (how many top groups stay trainable), "
                         f"got {unlocked_groups!r}")
    module.requires_grad_(False)
    keep = groups[len(groups) - unlocked_groups:] if unlocked_groups else []
    trainable = {id(p) for _, params in keep for p in params}
    for p in module.parameters():
        if id(p) in trainable:
            p.requires_grad_(True)
    if batchnorm_eval:
        for m in module.modules():
            if isinstance(m, _BatchNorm) and not any(id(p) in trainable for p in m.parameters()):
                object.__setattr__(m, "keep_eval", True)
                object.__setattr__(m, "training", False)
    return module


def unfreeze(module: Module) -> Module:
    module.requires_grad_(True)
    for m in module.modules():
        m.__dict__.pop("keep_eval", None)
    return module


def replace_head(model: Module, new_head: Module, name: str | None = None) -> Module:
    """Put `new_head` in place of the child named `name` (default: the last child); returns the old one."""
    children = list(model.named_children())
    if not children:
        raise ValueError(f"replace_head: {type(model).__name__} has no child modules")
    name = name or children[-1][0]
    if name not in model._modules:
        raise ValueError(f"replace_head: {type(model).__name__} has no child {name!r} (children: {[n for n, _ in children]})")
    old = model._modules[name]
    model._modules[name] = new_head
    return old
