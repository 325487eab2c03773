"""softmax / log_softmax and fused cross-entropy on GpuArrays, with the contracts of `_native`'s
`softmax_forward / softmax_backward` (last axis), `cross_entropy_forward / _backward` (class
indices) and `cross_entropy_prob_forward / _backward` (class probabilities). Kernels in
shaders/softmax.wgsl and shaders/cross_entropy.wgsl read their inputs through strides (softmax
over a moved axis needs no copy) and return new contiguous float32 arrays.

Deviations forced by the device: class indices are int32 (no 64-bit integers in WGSL), and an
index outside [0, C) that is not ignore_index gives a NaN loss / gradient row instead of a
ValueError (checking it would need a read-back)."""

from __future__ import annotations

import math

import numpy as np

from .. import runtime
from ..array import GpuArray
from ._layout import check_float, check_int, grid_rows, joined, matrix, new, row_blocks, vector

I32 = (-(2**31), 2**31 - 1)


def _last(op: str, x: GpuArray) -> int:
    if x.ndim == 0:
        raise ValueError(f"{op}: input must have at least 1 dim, got shape {x.shape}")
    return x.shape[-1]


def softmax_forward(x: GpuArray, log) -> GpuArray:
    """softmax (log_softmax when `log`) over the last axis; same shape, contiguous."""
    op = "softmax_forward"
    check_float(op, input=x)
    cols = _last(op, x)
    blocks = row_blocks(op, cols, lambda x: softmax_forward(x, log), x=(x, cols))
    if blocks is not None:
        return np.concatenate(blocks).reshape(x.shape)
    y = new(x.shape)
    if y.size == 0:
        return y
    xa, *xv = matrix(x, cols)
    rt = runtime.get()
    params = runtime.pack(y.size // cols, cols, int(bool(log)), 0, *xv, 0, 1, 0, 0, 1, 0, 0, fmt="I" * 16)
    rt.launch(rt.pipeline("softmax", "fwd"), [xa.storage, y.storage], grid_rows(y.size // cols), params)
    return y


def softmax_backward(y: GpuArray, gy: GpuArray, log) -> GpuArray:
    """Gradient of softmax (log_softmax when `log`) from its output `y` and upstream `gy`."""
    op = "softmax_backward"
    check_float(op, output=y, grad=gy)
    if y.shape != gy.shape:
        raise ValueError(f"{op}: grad shape {gy.shape} != output shape {y.shape}")
    cols = _last(op, y)
    blocks = row_blocks(op, cols, lambda y, gy: softmax_backward(y, gy, log), y=(y, cols), gy=(gy, cols))
    if blocks is not None:
        return np.concatenate(blocks).reshape(y.shape)
    dx = new(y.shape)
    if dx.size == 0:
        return dx
    ya, *yv = matrix(y, cols)
    ga, *gv = matrix(gy, cols)
    rt = runtime.get()
    params = runtime.pack(dx.size // cols, cols, int(bool(log)), 0, *yv, *gv, 0, 0, fmt="I" * 16)
    rt.launch(rt.pipeline("softmax", "bwd"), [ya.storage, ga.storage, dx.storage], grid_rows(dx.size // cols), params)
    return dx


# ---- cross-entropy ------------------------------------------------------------------------------

def _ce_rows(op: str, x: GpuArray, weight) -> tuple:
    """(rows, classes) of the logits; checks the weight's length."""
    classes = _last(op, x)
    if classes == 0:
        raise ValueError(f"{op}: the class dim of input {x.shape} is empty")
    if weight is not None and weight.size != classes:
        raise ValueError(f"{op}: weight has shape {weight.shape}, input {x.shape} has {classes} classes")
    return math.prod(x.shape[:-1]), classes


def _check_len(op: str, name: str, a: GpuArray, rows: int, what: str) -> None:
    if a.size != rows:
        raise ValueError(f"{op}: {name} has shape {a.shape}, expected {rows} elements ({what})")


def _ce_params(rows, classes, x, t=(0, 1, 0, 0, 1), w=None, lse=(None, 0, 0), g=(None, 0, 0), eps=0.0,
               ignore_index=None, want_dt=False) -> bytes:
    has_ignore = ignore_index is not None and I32[0] <= int(ignore_index) <= I32[1]
    return runtime.pack(
        rows, classes, int(w is not None), int(ignore_index) if has_ignore else 0,
        *x, *t, w[1] if w else 0, w[2] if w else 0,
        lse[1], lse[2], g[1], g[2],
        float(eps), int(want_dt), int(has_ignore), 0,
        fmt="IIIi" + "I" * 16 + "fIII",
    )


def _launch(entry: str, buffers, rows: int, params: bytes) -> None:
    if rows == 0:
        return
    rt = runtime.get()
    rt.launch(rt.pipeline("cross_entropy", entry), buffers, grid_rows(rows), params)


def _check_index_target(op: str, target, rows: int) -> None:
    check_int(op, "target", target)
    _check_len(op, "target", target, rows, "one class index per row of the input")


def _index_view(target) -> tuple:
    """(array, (off, n1, s0, s1, cs)): the kernels read index t of row r at off + r * s0."""
    ta, t_off, t_s = vector(target)
    return ta, (t_off, 1, t_s, 0, 1)


def cross_entropy_forward(x: GpuArray, target: GpuArray, weight, ignore_index, label_smoothing):
    """`(loss, lse)` per row of (..., C) logits against int32 class indices (torch semantics
    before reduction; 0 where target == ignore_index)."""
    op = "cross_entropy_forward"
    check_float(op, input=x, weight=weight)
    rows, classes = _ce_rows(op, x, weight)
    _check_index_target(op, target, rows)
    blocks = row_blocks(op, classes, lambda x, target: cross_entropy_forward(x, target, weight, ignore_index,
                                                                              label_smoothing),
                        x=(x, classes), target=(target, 1))
    if blocks is not None:
        return joined(blocks, (0, 0))
    # Views only after every check: a view that is not one strided run is copied (a dispatch).
    ta, tv = _index_view(target)
    w = vector(weight) if weight is not None else None
    loss, lse = new((rows,)), new((rows,))
    xa, *xv = matrix(x, classes)
    wa = w[0] if w else xa  # bound but unread without a weight
    params = _ce_params(rows, classes, xv, tv, w, eps=label_smoothing, ignore_index=ignore_index)
    _launch("index_fwd", [xa.storage, ta.storage, wa.storage, loss.storage, lse.storage], rows, params)
    return loss, lse


def cross_entropy_backward(x: GpuArray, target: GpuArray, weight, ignore_index, label_smoothing,
                           lse: GpuArray, g: GpuArray) -> GpuArray:
    """Gradient w.r.t. the logits of `cross_entropy_forward`'s per-row losses, given their
    upstream gradient `g` (reduction already folded in)."""
    op = "cross_entropy_backward"
    check_float(op, input=x, weight=weight, lse=lse, grad=g)
    rows, classes = _ce_rows(op, x, weight)
    _check_index_target(op, target, rows)
    _check_len(op, "lse", lse, rows, "one per row of the input")
    _check_len(op, "grad", g, rows, "one per row of the input")
    blocks = row_blocks(op, classes, lambda x, target, lse, g: cross_entropy_backward(
        x, target, weight, ignore_index, label_smoothing, lse, g), x=(x, classes), target=(target, 1), lse=(lse, 1),
        g=(g, 1))
    if blocks is not None:
        return np.concatenate(blocks).reshape(x.shape)
    ta, tv = _index_view(target)
    w = vector(weight) if weight is not None else None
    lv, gv = vector(lse), vector(g)
    dx = new(x.shape)
    xa, *xv = matrix(x, classes)
    wa = w[0] if w else xa
    params = _ce_params(rows, classes, xv, tv, w, lv, gv, label_smoothing, ignore_index)
    _launch("index_bwd", [xa.storage, ta.storage, wa.storage, lv[0].storage, gv[0].storage, dx.storage], rows, params)
    return dx


def _check_prob_target(op: str, target, x: GpuArray) -> None:
    check_float(op, target=target)
    if target.size != x.size:
        raise ValueError(f"{op}: target has shape {target.shape}, input {x.shape} (class probabilities "
                         f"need one per logit)")


def cross_entropy_prob_forward(x: GpuArray, target: GpuArray, weight, label_smoothing):
    """`(loss, lse)` per row of (..., C) logits against class probabilities of the same shape."""
    op = "cross_entropy_prob_forward"
    check_float(op, input=x, weight=weight)
    rows, classes = _ce_rows(op, x, weight)
    _check_prob_target(op, target, x)
    ta, *tv = matrix(target, classes)
    w = vector(weight) if weight is not None else None
    loss, lse = new((rows,)), new((rows,))
    xa, *xv = matrix(x, classes)
    wa = w[0] if w else xa
    params = _ce_params(rows, classes, xv, tv, w, eps=label_smoothing)
    _launch("prob_fwd", [xa.storage, ta.storage, wa.storage, loss.storage, lse.storage], rows, params)
    return loss, lse


def cross_entropy_prob_backward(x: GpuArray, target: GpuArray, weight, label_smoothing, lse: GpuArray, g: GpuArray,
                                need_target_grad):
    """`(dx, dtarget or None)` of `cross_entropy_prob_forward`'s per-row losses."""
    op = "cross_entropy_prob_backward"
    check_float(op, input=x, weight=weight, lse=lse, grad=g)
    rows, classes = _ce_rows(op, x, weight)
    _check_prob_target(op, target, x)
    _check_len(op, "lse", lse, rows, "one per row of the input")
    _check_len(op, "grad", g, rows, "one per row of the input")
    ta, *tv = matrix(target, classes)
    w = vector(weight) if weight is not None else None
    lv, gv = vector(lse), vector(g)
    dx = new(x.shape)
    # Without a target gradient the kernel writes none; a small scratch fills its binding.
    dt = new(x.shape) if need_target_grad else GpuArray.empty((1,), np.float32)
    xa, *xv = matrix(x, classes)
    wa = w[0] if w else xa
    params = _ce_params(rows, classes, xv, tv, w, lv, gv, label_smoothing, want_dt=need_target_grad)
    buffers = [xa.storage, ta.storage, wa.storage, lv[0].storage, gv[0].storage, dx.storage, dt.storage]
    _launch("prob_bwd", buffers, rows, params)
    return dx, dt if need_target_grad else None
