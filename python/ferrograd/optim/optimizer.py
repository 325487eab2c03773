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
from collections.abc import Mapping
import numbers
import warnings

import numpy as np

from ..autograd import replay_whole_in_subclass, replayed_whole


class Optimizer:
    def __init_subclass__(cls, **kwargs):
        # fg.compile replays an optimizer's step and zero_grad as whole calls (their Python state,
        # such as the step count, moves on every call), whichever subclass defines them.
        super().__init_subclass__(**kwargs)
        replay_whole_in_subclass(cls, "step", "zero_grad")

    # State entries that are numbers (step counts, NAdam's running product), not arrays of the
    # parameter's shape: load_state_dict keeps them as Python numbers.
    _scalar_state = ("step",)

    def __init__(self, params, defaults: dict):
        name = type(self).__name__
        if hasattr(params, "_data") or isinstance(params, (set, frozenset, dict, str, bytes)):
            # torch refuses these too: a Tensor iterates over its rows, a set has no order to save.
            raise TypeError(f"{name}: params must be an ordered iterable of Tensors or dicts, "
                            f"got {type(params).__name__}")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Tensors or dicts (e.g. model.parameters()), "
                            f"got {type(params).__name__}") from None
        if not params:
            # Also what a generator already used up by another optimizer gives.
            raise ValueError(f"{name}: got an empty parameter list (a generator such as model.parameters() "
                             "can be iterated only once: pass list(model.parameters()) to reuse it)")
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
        if "params" not in group:
            raise KeyError(f"{name}.add_param_group: a param group needs a 'params' key, got keys {list(group)}")
        params = group["params"]
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}.add_param_group: params must be an ordered iterable, got a set")
        try:
            params = [params] if hasattr(params, "_data") else list(params)
        except TypeError:
            raise TypeError(f"{name}: a param group's params must be a Tensor or an iterable of Tensors, "
                            f"got {type(params).__name__}") from None
        _check_params(name, params, len(self.param_groups))
        if len({id(p) for p in params}) != len(params):
            # torch warns too (and says it will become an error): each step would update it twice.
            warnings.warn(f"{name}: a param group holds the same parameter more than once", UserWarning,
                          stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: a parameter appears in more than one param group")
        merged = {**self.defaults, **group, "params": params}
        # Values a group sets itself pass the constructor's checks too (torch checks only the
        # defaults; a negative or NaN lr in one group would silently diverge).
        _check_group(f"{name} (param group {len(self.param_groups)})", group, merged)
        self.param_groups.append(merged)

    @replayed_whole
    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad._data[...] = 0

    @replayed_whole
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            todo = [(p, _checked_grad(self, p, i, group)) for i, p in enumerate(group["params"])
                    if p.requires_grad and p.grad is not None]
            self._update_group(group, todo)
        return loss

    def _update_group(self, group: dict, todo: list) -> None:
        """Updates the (parameter, gradient array) pairs of one param group; an optimizer with a
        multi-tensor step overrides this."""
        for p, grad in todo:
            self._update(p, grad, group, self.state.setdefault(id(p), {}))

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
        """Restore a state_dict(): every entry is checked against this optimizer (group and
        parameter counts, hyper-parameter kinds, each state array's shape and dtype) and converted
        before anything is replaced, so a failed load leaves the optimizer as it was."""
        self._apply_state_dict(self._check_state_dict(state_dict))

    def _check_state_dict(self, state_dict):
        """(new state, new group hyper-parameters), ready to install; raises naming the group,
        parameter and key on any mismatch and changes nothing (load_checkpoint checks the model,
        the optimizer and the rest this way before it touches any of them)."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{name}: expected a dict from state_dict(), got {type(state_dict).__name__}")
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise ValueError(f"{name}: the state dict has no {key!r} entry (keys: {list(state_dict)[:8]})")
        groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(groups, (list, tuple)) or not all(isinstance(g, Mapping) for g in groups):
            raise TypeError(f"{name}: 'param_groups' must be a list of dicts, got {type(groups).__name__}")
        if not isinstance(saved_state, Mapping):
            raise TypeError(f"{name}: 'state' must be a dict, got {type(saved_state).__name__}")
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}: {len(groups)} param groups saved, {len(self.param_groups)} here")
        index = {}  # saved parameter id -> parameter here, by position across groups (as torch maps them)
        for i, (saved, own) in enumerate(zip(groups, self.param_groups)):
            ids = saved.get("params")
            if not isinstance(ids, (list, tuple)):
                raise ValueError(f"{name}: param_groups[{i}] has no 'params' list")
            if len(ids) != len(own["params"]):
                raise ValueError(f"{name}: group {i} saved {len(ids)} params, has {len(own['params'])}")
            for pid, p in zip(ids, own["params"]):
                if isinstance(pid, bool) or not isinstance(pid, (int, str)):
                    raise ValueError(f"{name}: param_groups[{i}]['params'] holds {pid!r}, expected integer ids")
                if _param_id(pid) in index:
                    raise ValueError(f"{name}: parameter id {pid!r} appears twice in the saved param groups")
                index[_param_id(pid)] = p
            for k, v in saved.items():
                if k != "params" and k in own and not _same_kind(own[k], v):
                    raise ValueError(f"{name}: param_groups[{i}][{k!r}] is {v!r} in the state dict, "
                                     f"expected a value like {own[k]!r}")
        new_state = {}
        for key, entry in saved_state.items():
            p = index.get(_param_id(key)) if isinstance(key, (int, str)) and not isinstance(key, bool) else None
            if p is None:
                raise ValueError(f"{name}: state[{key!r}] names no parameter of the saved param groups "
                                 f"(ids: {sorted(index, key=str)[:8]}...)")
            if not isinstance(entry, Mapping):
                raise TypeError(f"{name}: state[{key!r}] must be a dict, got {type(entry).__name__}")
            new_state[id(p)] = {k: _restore(v, p, k in self._scalar_state, f"{name}: state[{key!r}][{k!r}]")
                                for k, v in entry.items()}
        hypers = [{k: v for k, v in saved.items() if k != "params"} for saved in groups]
        return new_state, hypers

    def _apply_state_dict(self, checked) -> None:
        """Install what _check_state_dict prepared (plain assignments: cannot fail half-way)."""
        new_state, hypers = checked
        self.state = new_state
        for own, hyper in zip(self.param_groups, hypers):
            own.update(hyper)


def _param_id(pid):
    """Saved parameter ids are ints; a JSON round trip elsewhere may have made them strings."""
    return int(pid) if isinstance(pid, str) and pid.lstrip("-").isdigit() else pid


def _is_number(v) -> bool:
    if hasattr(v, "_data"):  # a one-element Tensor (torch takes a Tensor lr)
        return v.numel() == 1
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _same_kind(own, saved) -> bool:
    """Whether a saved hyper-parameter can stand where this group has `own`: a number for a
    number, a pair for a pair (betas), a bool for a bool; None and other kinds are not checked."""
    if isinstance(own, bool):  # a flag; torch leaves some unset (None)
        return saved is None or isinstance(saved, (bool, np.bool_))
    if _is_number(own):
        return _is_number(saved)
    if isinstance(own, (tuple, list)):
        return isinstance(saved, (tuple, list)) and len(saved) == len(own)
    return True


def _restore(value, p, scalar: bool, where: str = "load_state_dict"):
    """A saved state entry as this optimizer keeps it: a number for scalar entries ('step'),
    otherwise an array of p's shape, in p's dtype, on p's device (also from a loaded Tensor or a
    0-dim array). Raises naming `where` when the entry cannot be that."""
    array = getattr(value, "_data", value)  # a Tensor (e.g. from fg.load) -> its array
    if hasattr(array, "storage") and hasattr(array, "astype"):  # a GpuArray
        array = array.numpy()
    if scalar:
        if isinstance(array, np.ndarray) and array.size == 1 and array.dtype.kind in "biuf":
            return array.item()
        if _is_number(array):
            return array.item() if hasattr(array, "item") else array
        raise ValueError(f"{where} must be a number, got {str(value)[:60]!r}")
    if isinstance(array, (bool, str, type(None))):
        return copy.deepcopy(array)
    try:
        array = np.asarray(array)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{where} is not an array: {e}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{where} has dtype {array.dtype}, expected a numeric array like the parameter's {p.dtype}")
    if array.shape != tuple(p.shape):
        raise ValueError(f"{where} has shape {array.shape}, but its parameter has shape {tuple(p.shape)}")
    if str(p.device) == "wgpu":
        from ..wgpu.array import GpuArray

        return GpuArray.from_numpy(np.asarray(array, dtype=p.dtype))
    return np.array(array, dtype=p.dtype)


def _checked_grad(opt, p, index: int, group: dict):
    """p's raw gradient array, refused (RuntimeError naming the parameter) when its shape, dtype or
    device is not p's: numpy would broadcast a (1,) gradient over a (2, 3) parameter silently."""
    grad = getattr(p.grad, "_data", None)
    w = p._data
    if grad is None:
        raise TypeError(f"{type(opt).__name__}.step: parameter {index} of param group "
                        f"{_group_index(opt, group)} has a .grad that is not a Tensor "
                        f"({type(p.grad).__name__})")
    if grad.shape != w.shape or grad.dtype != w.dtype or (type(grad) is np.ndarray) != (type(w) is np.ndarray):
        raise RuntimeError(
            f"{type(opt).__name__}.step: parameter {index} of param group {_group_index(opt, group)} "
            f"(shape {tuple(w.shape)}, dtype {np.dtype(w.dtype).name}, device {p.device}) has a gradient of "
            f"shape {tuple(grad.shape)}, dtype {np.dtype(grad.dtype).name}, device {p.grad.device}; "
            "a gradient must match its parameter's shape, dtype and device")
    return grad


def _group_index(opt, group) -> int:
    return next(i for i, g in enumerate(opt.param_groups) if g is group)


def _check_params(opt: str, params: list, group_index: int) -> None:
    """Every entry a leaf Tensor, as torch requires (an ndarray or a number would fail at step())."""
    for i, p in enumerate(params):
        if not hasattr(p, "_data") or not hasattr(p, "requires_grad"):
            kind = type(p).__name__ if type(p).__module__ == "builtins" else f"{type(p).__module__}.{type(p).__name__}"
            raise TypeError(f"{opt}: can only optimize Tensors, but param {i} of param group {group_index} is "
                            f"{kind}; wrap arrays as fg.nn.Parameter(fg.tensor(...))")
        if not getattr(p, "is_leaf", True):
            raise ValueError(f"{opt}: can't optimize a non-leaf Tensor (param {i} of param group {group_index}, "
                             f"shape {tuple(p.shape)}); optimize the leaf it was computed from, or "
                             ".detach().requires_grad_() it")


_NONNEGATIVE = ("lr", "eps", "weight_decay", "momentum", "lr_decay", "initial_accumulator_value",
                "momentum_decay", "alpha")


def _check_group(opt: str, group: dict, merged: dict) -> None:
    """The constructor checks, on the hyper-parameters a param group sets itself."""
    require_nonnegative(opt, **{k: group[k] for k in _NONNEGATIVE if k in group})
    if "betas" in group:
        require_betas(opt, group["betas"])
    if "rho" in group:
        rho = _real(opt, "rho", group["rho"])
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"{opt}: invalid rho value {rho!r}, expected 0 <= rho <= 1")
    if ("nesterov" in group or "momentum" in group or "dampening" in group) and merged.get("nesterov"):
        if not merged.get("momentum", 0) > 0 or merged.get("dampening", 0) != 0:
            raise ValueError(f"{opt}: nesterov needs momentum > 0 and dampening 0, got "
                             f"momentum={merged.get('momentum')!r}, dampening={merged.get('dampening')!r}")


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
