"""Fused, in-place optimizer steps on GpuArrays: one dispatch per parameter, with exactly the
update rules of `optim/sgd.py` and `optim/adam.py` (same operations, same order, float32).

The caller keeps the optimizer state (momentum buffer, moments, step count) as GpuArrays of the
parameter's shape. On the first step the kernels never read the state's old contents, so state
can start as `GpuArray.empty(param.shape)` — no zero fill needed.
"""

from __future__ import annotations

import math

import numpy as np

from .. import runtime
from ..array import GpuArray
from ._util import flat_windows

GROUP = 256  # threads per workgroup in the optimizer shaders


def sgd_step(
    param: GpuArray,
    grad: GpuArray,
    momentum_buffer: GpuArray | None,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    maximize: bool = False,
    first_step: bool = False,
) -> None:
    """One SGD step on `param` (and `momentum_buffer` when momentum != 0), in place.

    `first_step`: the momentum buffer is new (optim/sgd.py's `g.copy()` branch); its contents are
    ignored and it is set to the (decayed) gradient."""
    if momentum:
        _check("sgd_step", param, grad, momentum_buffer=momentum_buffer)
    else:
        _check("sgd_step", param, grad)
    n = param.size
    if n == 0:
        return
    rt = runtime.get()
    if not momentum:
        for _, count, binds, (po, go) in flat_windows([param, grad], n):
            params = runtime.pack(count, po, go, int(maximize), lr, weight_decay, 0, 0, fmt="IIIIffII")
            rt.launch(rt.pipeline("sgd"), binds, runtime.grid_1d(-(-count // GROUP), rt.max_workgroups), params)
        return
    for _, count, binds, (po, go, mo) in flat_windows([param, grad, momentum_buffer], n):
        params = runtime.pack(
            count, po, go, mo,
            lr, momentum, 1.0 - dampening, weight_decay,
            int(nesterov), int(maximize), int(first_step), 0,
            fmt="IIIIffffIIII",
        )
        rt.launch(rt.pipeline("sgd_momentum"), binds, runtime.grid_1d(-(-count // GROUP), rt.max_workgroups), params)


def adam_step(
    param: GpuArray,
    grad: GpuArray,
    exp_avg: GpuArray,
    exp_avg_sq: GpuArray,
    max_exp_avg_sq: GpuArray | None,
    step: int,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled: bool = False,
    *,
    maximize: bool = False,
) -> None:
    """One Adam (decoupled=False) or AdamW (decoupled=True) step, in place; AMSGrad when
    `max_exp_avg_sq` is given. The positional arguments are `_native.adam_step`'s, in its order.

    `step` is the 1-based number of this update (optim/adam.py's state["step"] after its
    increment); at step 1 the state arrays' old contents are ignored (taken as zero)."""
    if step < 1:
        raise ValueError(f"adam_step: step counts from 1, got {step}")
    amsgrad = max_exp_avg_sq is not None
    states = dict(exp_avg=exp_avg, exp_avg_sq=exp_avg_sq)
    if amsgrad:
        states["max_exp_avg_sq"] = max_exp_avg_sq
    _check("adam_step", param, grad, **states)
    n = param.size
    if n == 0:
        return
    # The scalars optim/adam.py computes in float64 on the host, computed the same way here.
    step_size = lr / (1 - beta1**step)
    bc2_sqrt = math.sqrt(1 - beta2**step)
    rt = runtime.get()
    arrays = [param, grad, exp_avg, exp_avg_sq] + ([max_exp_avg_sq] if amsgrad else [])
    for _, count, binds, offs in flat_windows(arrays, n):
        po, go, mo, vo = offs[:4]
        params = runtime.pack(
            count, po, go, mo,
            vo, int(maximize), int(step == 1), int(decoupled),
            beta1, 1 - beta1, beta2, 1 - beta2,
            step_size, bc2_sqrt, eps, weight_decay,
            1 - lr * weight_decay, offs[4] if amsgrad else 0, 0, 0,
            fmt="IIIIIIII" + "f" * 9 + "III",
        )
        grid = runtime.grid_1d(-(-count // GROUP), rt.max_workgroups)
        rt.launch(rt.pipeline("adam_amsgrad" if amsgrad else "adam"), binds, grid, params)


def _check(op: str, param: GpuArray, grad: GpuArray, **states) -> None:
    """Every array float32, contiguous (from any offset), of the parameter's shape, and the
    gradient in a buffer of its own: WebGPU forbids binding one buffer writable and read-only
    in one dispatch. (State arrays may share one arena buffer with the parameter.)"""
    arrays = (("param", param), ("grad", grad), *states.items())
    for name, a in arrays:
        if not isinstance(a, GpuArray):
            raise TypeError(f"{op}: {name} must be a GpuArray, got {type(a).__name__}")
        if a.dtype != np.float32:
            raise TypeError(f"{op}: {name} must be float32, got {a.dtype}")
        if a.shape != param.shape:
            raise ValueError(f"{op}: {name} has shape {a.shape}, expected the parameter's {param.shape}")
        if not a.is_contiguous:
            raise ValueError(f"{op}: {name} must be contiguous, got strides {a.strides} for shape {a.shape}")
    for name, a in arrays:
        if name != "grad" and a.storage is grad.storage:
            raise ValueError(f"{op}: grad shares a buffer with {name}; the gradient needs its own buffer")


def adam_step_many(
    params: list,
    grads: list,
    exp_avgs: list,
    exp_avg_sqs: list,
    max_exp_avg_sqs: list | None,
    steps: list,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled: bool = False,
    *,
    maximize: bool = False,
) -> None:
    """`adam_step` for each parameter of a list (`_native.adam_step_many`'s arguments, in its
    order): one dispatch per parameter, and an error names the parameter's index."""
    n = len(params)
    lens = [len(grads), len(exp_avgs), len(exp_avg_sqs), len(steps),
            n if max_exp_avg_sqs is None else len(max_exp_avg_sqs)]
    if any(length != n for length in lens):
        raise ValueError(f"adam_step_many: {n} params but grads, exp_avgs, exp_avg_sqs, steps, "
                         f"max_exp_avg_sqs have {lens}")
    for i in range(n):
        vmax = None if max_exp_avg_sqs is None else max_exp_avg_sqs[i]
        try:
            adam_step(params[i], grads[i], exp_avgs[i], exp_avg_sqs[i], vmax, int(steps[i]), lr, beta1, beta2,
                      eps, weight_decay, decoupled, maximize=maximize)
        except (TypeError, ValueError) as e:
            raise type(e)(f"adam_step_many: parameter {i}: {e}") from e


def sum_of_squares(arrays: list) -> float:
    """Σ x² over all the arrays (`_native.sum_of_squares` on the device): summed on the device in
    float32, one read-back."""
    total = None
    for i, a in enumerate(arrays):
        if getattr(a, "dtype", None) not in (np.float32, np.float64):
            raise TypeError(f"sum_of_squares: array {i} must be a float32 or float64 array, got {type(a).__name__}")
        if a.size:
            part = (a * a).sum()
            total = part if total is None else total + part
    return 0.0 if total is None else float(total.item())
