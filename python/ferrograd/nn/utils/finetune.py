"""Fine-tuning helpers: freeze a backbone (keeping its batch norms in eval mode) and swap a head."""

from __future__ import annotations

from ..module import Module
from ..normalization import _BatchNorm


def freeze(module: Module, batchnorm_eval: bool = True) -> Module:
    """Stop gradients to every parameter of `module`; with `batchnorm_eval`, its batch norms stay in
    eval mode (running statistics frozen) even when the whole model is put back in train mode."""
    module.requires_grad_(False)
    if batchnorm_eval:
        for m in module.modules():
            if isinstance(m, _BatchNorm):
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
