"""`Optimizer`: param groups with their own hyper-parameters, like `torch.optim.Optimizer`.

Subclasses write one rule, `_update(p, grad, group, state)`, applied in place to each parameter
that has a gradient; frozen parameters (requires_grad False) and ones without a grad are skipped.
"""

from __future__ import annotations

import copy

import numpy as np


class Optimizer:
    def __init__(self, params, defaults: dict):
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        self.defaults = defaults
        self.param_groups = []
        self.state = {}
        for group in params if isinstance(params[0], dict) else [{"params": params}]:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        params = group["params"]
        params = [params] if hasattr(params, "data") else list(params)
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown hyper-parameters {sorted(unknown)} in a param group")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{type(self).__name__}: a parameter appears in more than one param group")
        self.param_groups.append({**self.defaults, **group, "params": params})

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.requires_grad and p.grad is not None:
                    self._update(p, p.grad.data, group, self.state.setdefault(id(p), {}))
        return loss

    def _update(self, p, grad: np.ndarray, group: dict, state: dict) -> None:
        raise NotImplementedError

    # ---- checkpoints: parameters are named by their position across groups, as in PyTorch ----
    def _all_params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict:
        index = {id(p): i for i, p in enumerate(self._all_params())}
        groups, start = [], 0
        for g in self.param_groups:
            hyper = {k: v for k, v in g.items() if k != "params"}
            groups.append({**hyper, "params": list(range(start, start + len(g["params"])))})
            start += len(g["params"])
        state = {index[k]: copy.deepcopy(v) for k, v in self.state.items() if k in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: {len(groups)} param groups saved, {len(self.param_groups)} here"
            )
        for i, (saved, own) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: group {i} saved {len(saved['params'])} params, has {len(own['params'])}"
                )
        params = self._all_params()
        self.state = {}
        for key, value in state_dict["state"].items():
            p = params[int(key)]
            self.state[id(p)] = {k: _restore(v, p.dtype, str(p.device)) for k, v in value.items()}
        for saved, own in zip(groups, self.param_groups):
            own.update({k: v for k, v in saved.items() if k != "params"})


def _restore(value, dtype, device="cpu"):
    """A saved state entry as this optimizer keeps it: arrays (also from loaded Tensors) are copied
    onto the parameter's device."""
    array = getattr(value, "data", value)
    if isinstance(array, np.ndarray):
        if array.ndim and device == "wgpu":
            from ..wgpu.array import GpuArray

            return GpuArray.from_numpy(np.array(array, dtype=dtype))
        return np.array(array, dtype=dtype) if array.ndim else array.item()
    if hasattr(array, "astype") and hasattr(array, "storage"):  # a GpuArray
        if device == "cpu":
            return np.array(array.numpy(), dtype=dtype) if array.ndim else array.item()
        return array.astype(dtype)
    return copy.deepcopy(value)


def native_ok(param, grad) -> bool:
    """Whether a fused Rust step can update the numpy `param` in place from `grad`: float32 or
    float64, one dtype and shape, param C-contiguous (grad is made so: a Linear weight's gradient
    is a transposed view, and one copy is cheaper than the dozen passes of the numpy rule)."""
    return (
        type(param) is np.ndarray and type(grad) is np.ndarray
        and param.dtype == grad.dtype and param.dtype in (np.float32, np.float64)
        and param.shape == grad.shape and param.flags.c_contiguous
    )


def fused_ok(param, grad) -> bool:
    """Whether a fused WGSL step can update `param` in place: both on the wgpu device, float32,
    contiguous, in different buffers (WebGPU cannot bind one buffer as read-only and writable)."""
    if type(param) is np.ndarray:
        return False
    from ..wgpu.array import GpuArray

    return (
        isinstance(param, GpuArray) and isinstance(grad, GpuArray)
        and param.dtype == grad.dtype == np.float32
        and param.is_contiguous and grad.is_contiguous
        and param.shape == grad.shape and param.storage is not grad.storage
    )
