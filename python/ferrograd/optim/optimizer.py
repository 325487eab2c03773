"""`Optimizer`: param groups with their own hyper-parameters, like `torch.optim.Optimizer`.

Subclasses write one rule, `_update(p, grad, group, state)`, applied in place to each parameter
that has a gradient; frozen parameters (requires_grad False) and ones without a grad are skipped.
`grad` is the raw gradient array and `p._data` the raw parameter array: a numpy ndarray on the
cpu, a GpuArray on wgpu. Rules are written with numpy ufuncs and in-place operators, which both
implement, so one rule serves every device; state arrays are made with `np.zeros_like` /
`np.full_like` / `np.copy` (arrays of the parameter's shape, also for 0-dim parameters) and only
ever updated in place.

Param groups carry PyTorch's keys for each optimizer (`foreach`, `capturable`, `differentiable`,
`fused` included), so code written for `torch.optim` reads and sets them as it does there.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np


class Optimizer:
    # State entries that are numbers (step counts, NAdam's running product), not arrays of the
    # parameter's shape: load_state_dict keeps them as Python numbers.
    _scalar_state = ("step",)

    def __init__(self, params, defaults: dict):
        name = type(self).__name__
        if hasattr(params, "_data") or isinstance(params, (set, frozenset)):
            # torch refuses these too: a Tensor iterates over its rows, a set has no order to save.
            raise TypeError(f"{name}: params must be an ordered iterable of Tensors or dicts, "
                            f"got {type(params).__name__}")
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        _check_flags(name, defaults)
        self.defaults = defaults
        self.param_groups = []
        self.state = {}
        for group in params if isinstance(params[0], dict) else [{"params": params}]:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add a group; keys it leaves out take the optimizer's defaults. Extra keys (a group
        name, an lr scale a scheduler reads) are kept, as torch keeps them."""
        name = type(self).__name__
        if not isinstance(group, dict):
            raise TypeError(f"{name}.add_param_group: a param group must be a dict, got {type(group).__name__}")
        params = group["params"]
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}.add_param_group: params must be an ordered iterable, got a set")
        params = [params] if hasattr(params, "_data") else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: a parameter appears in more than one param group")
        self.param_groups.append({**self.defaults, **group, "params": params})

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad._data[...] = 0

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.requires_grad and p.grad is not None:
                    self._update(p, p.grad._data, group, self.state.setdefault(id(p), {}))
        return loss

    def _update(self, p, grad, group: dict, state: dict) -> None:
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
        # A parameter that never needed state (SGD without momentum) has no entry, as in torch.
        state = {index[k]: copy.deepcopy(v) for k, v in self.state.items() if k in index and v}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        name = type(self).__name__
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: {len(groups)} param groups saved, {len(self.param_groups)} here")
        for i, (saved, own) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: group {i} saved {len(saved['params'])} params, has {len(own['params'])}"
                )
        params = self._all_params()
        self.state = {}
        for key, value in state_dict["state"].items():
            p = params[int(key)]
            self.state[id(p)] = {k: _restore(v, p, k in self._scalar_state) for k, v in value.items()}
        for saved, own in zip(groups, self.param_groups):
            own.update({k: v for k, v in saved.items() if k != "params"})


def _restore(value, p, scalar: bool):
    """A saved state entry as this optimizer keeps it: a number for scalar entries ('step'),
    otherwise an array of p's dtype on p's device (also from a loaded Tensor or a 0-dim array)."""
    array = getattr(value, "_data", value)  # a Tensor (e.g. from fg.load) -> its array
    if scalar:
        return array.item() if hasattr(array, "item") else copy.deepcopy(array)
    if hasattr(array, "storage") and hasattr(array, "astype"):  # a GpuArray
        array = array.numpy()
    if not isinstance(array, np.ndarray):
        if isinstance(array, (bool, str, type(None))):
            return copy.deepcopy(array)
        array = np.asarray(array)
    if str(p.device) == "wgpu":
        from ..wgpu.array import GpuArray

        return GpuArray.from_numpy(np.asarray(array, dtype=p.dtype))
    return np.array(array, dtype=p.dtype)


# ---- constructor checks: ValueError naming the optimizer and the argument, as torch's --------
def require_nonnegative(opt: str, **values) -> None:
    """Each value >= 0 (NaN refused too, as torch's `not 0.0 <= x`)."""
    for arg, v in values.items():
        v = _real(opt, arg, v)
        if not 0.0 <= v:
            raise ValueError(f"{opt}: invalid {arg} value {v!r}, expected {arg} >= 0")


def require_betas(opt: str, betas) -> None:
    """Two coefficients, each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{opt}: betas must be a pair (beta1, beta2), got {betas!r}")
    for i, b in enumerate(betas):
        b = _real(opt, f"betas[{i}]", b)
        if not 0.0 <= b < 1.0:
            raise ValueError(f"{opt}: invalid beta parameter at index {i}: betas[{i}]={b!r}, "
                             f"expected 0 <= betas[{i}] < 1")


def _real(opt: str, arg: str, v):
    """v as a number to compare: a real number, or a one-element Tensor (torch takes a Tensor lr)."""
    if hasattr(v, "_data") and v.numel() == 1:
        return float(v)
    if not isinstance(v, numbers.Real) or isinstance(v, bool):
        raise TypeError(f"{opt}: {arg} must be a real number, got {type(v).__name__} {v!r}")
    return v


def _check_flags(opt: str, defaults: dict) -> None:
    """torch's implementation switches. `foreach` and `capturable` choose how torch batches or
    graphs its kernels and change no result, so any value is taken; `fused=False` keeps the
    ufunc rule (no Rust / WGSL fused step), as a check against the fused kernels. A step that
    autograd can differentiate through (`differentiable=True`) does not exist here."""
    if defaults.get("differentiable"):
        raise NotImplementedError(f"{opt}: differentiable=True is not supported "
                                  "(optimizer steps are not recorded by autograd)")
    if defaults.get("fused") and defaults.get("foreach"):
        raise RuntimeError(f"{opt}: `fused` and `foreach` cannot be `True` together")


def maybe_negate(grad, group: dict):
    """`maximize`: ascend, i.e. descend on the negated gradient (a new array; grad is not touched)."""
    return np.negative(grad) if group.get("maximize") else grad


def hyper(group: dict, *keys):
    """Group hyper-parameters as Python floats: a numpy float64 scalar would turn float32 arrays
    into float64 ones under NumPy 2's promotion rules."""
    return tuple(float(group[k]) for k in keys)


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
