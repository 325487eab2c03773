"""`Optimizer`: param groups with their own hyper-parameters, like `torch.optim.Optimizer`."""

from __future__ import annotations


class Optimizer:
    def __init__(self, params, defaults: dict):
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups = []
        for g in groups:
            group = {**defaults, **g, "params": list(g["params"])}
            self.param_groups.append(group)
        self.state = {}

    def zero_grad(self, set_to_none: bool = True):
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def _params_with_grad(self, group):
        """Parameters that take a step: frozen ones and ones without a gradient are skipped."""
        return [p for p in group["params"] if p.requires_grad and p.grad is not None]
