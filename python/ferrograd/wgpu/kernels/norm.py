"""Layer norm forward and backward on GpuArrays with the contracts of `_native.layer_norm_forward`
/ `layer_norm_backward`: rows of `cols` trailing elements, optional flat weight and bias. Inputs
are read through their strides where the rows and columns allow it (else copied once); outputs
are new contiguous float32 arrays. Kernels in shaders/norm.wgsl."""

from __future__ import annotations

from .. import runtime
from ..array import GpuArray
from ._layout import check_float, grid_rows, joined, matrix, new, row_blocks, vector

WB_COLS = 16  # columns per workgroup of the dweight / dbias kernel


def _rows(op: str, x: GpuArray, cols) -> tuple:
    cols = int(cols)
    if cols <= 0:
        raise ValueError(f"{op}: normalized size (cols) is {cols}, input {x.shape}")
    if x.size % cols:
        raise ValueError(f"{op}: input {x.shape} ({x.size} elements) is not rows of {cols}")
    return x.size // cols, cols


def _check_len(op: str, name: str, a, n: int) -> None:
    if a is not None and a.size != n:
        raise ValueError(f"{op}: {name} has shape {a.shape}, expected {n} elements")


def _vec(a):
    """(array, offset, stride) of an optional vector; (None, 0, 0) when absent. Call only after
    every check: a view that is not one strided run is copied (a dispatch)."""
    return (None, 0, 0) if a is None else vector(a)


def _params(rows, cols, eps=0.0, x=(0, 1, 0, 0, 1), g=(0, 1, 0, 0, 1), w=None, b=None, m=(0, 0), r=(0, 0)) -> bytes:
    w_arr, w_off, w_s = w if w is not None else (None, 0, 0)
    b_arr, b_off, b_s = b if b is not None else (None, 0, 0)
    return runtime.pack(
        rows, cols, int(w_arr is not None), int(b_arr is not None),
        *x[:4], x[4], *g, w_off, w_s, b_off, b_s, *m, *r, float(eps), 0,
        fmt="I" * 22 + "fI",
    )


def layer_norm_forward(x: GpuArray, cols, weight, bias, eps):
    """`(y, mean, rstd)`: y = (x - mean) * rstd * weight + bias per row (biased variance);
    mean and rstd = 1 / sqrt(var + eps) have one entry per row."""
    op = "layer_norm_forward"
    check_float(op, input=x, weight=weight, bias=bias)
    rows, cols = _rows(op, x, cols)
    _check_len(op, "weight", weight, cols)
    _check_len(op, "bias", bias, cols)
    blocks = row_blocks(op, cols, lambda x: layer_norm_forward(x, cols, weight, bias, eps), x=(x, cols))
    if blocks is not None:
        y, mean, rstd = joined(blocks, (0, 0, 0))
        return y.reshape(x.shape), mean, rstd
    w, b = _vec(weight), _vec(bias)
    y, mean, rstd = new(x.shape), new((rows,)), new((rows,))
    if rows == 0:
        return y, mean, rstd
    xa, *xv = matrix(x, cols)
    wa = w[0] if w[0] is not None else xa  # bound but unread when absent
    ba = b[0] if b[0] is not None else xa
    rt = runtime.get()
    params = _params(rows, cols, eps, x=xv, w=w if w[0] is not None else None, b=b if b[0] is not None else None)
    rt.launch(rt.pipeline("norm", "fwd"), [xa.storage, wa.storage, ba.storage, y.storage, mean.storage, rstd.storage],
              grid_rows(rows), params)
    return y, mean, rstd


def layer_norm_backward(gy: GpuArray, x: GpuArray, cols, mean: GpuArray, rstd: GpuArray, weight,
                        need_weight_grad, need_bias_grad):
    """`(dx, dweight or None, dbias or None)` of `layer_norm_forward`."""
    op = "layer_norm_backward"
    check_float(op, grad=gy, input=x, mean=mean, rstd=rstd, weight=weight)
    rows, cols = _rows(op, x, cols)
    if gy.size != x.size:
        raise ValueError(f"{op}: grad has shape {gy.shape}, input {x.shape}")
    _check_len(op, "mean", mean, rows)
    _check_len(op, "rstd", rstd, rows)
    _check_len(op, "weight", weight, cols)
    blocks = row_blocks(op, cols, lambda gy, x, mean, rstd: layer_norm_backward(
        gy, x, cols, mean, rstd, weight, need_weight_grad, need_bias_grad), gy=(gy, cols), x=(x, cols),
        mean=(mean, 1), rstd=(rstd, 1))
    if blocks is not None:
        dx, dw, db = joined(blocks, (0, None, None))
        return dx.reshape(x.shape), dw, db
    m, r, w = _vec(mean), _vec(rstd), _vec(weight)
    dx = new(x.shape)
    dw = new((cols,)) if need_weight_grad or need_bias_grad else None
    db = new((cols,)) if need_weight_grad or need_bias_grad else None
    ga, *gv = matrix(gy, cols)
    xa, *xv = matrix(x, cols)
    rt = runtime.get()
    params = _params(rows, cols, x=xv, g=gv, w=w if w[0] is not None else None, m=m[1:], r=r[1:])
    if rows:
        wa = w[0] if w[0] is not None else xa
        rt.launch(rt.pipeline("norm", "bwd_dx"),
                  [ga.storage, xa.storage, m[0].storage, r[0].storage, wa.storage, dx.storage], grid_rows(rows), params)
    if dw is not None:
        # One kernel makes both sums; the one nobody asked for is dropped.
        ma, ra = (m[0], r[0]) if rows else (xa, xa)
        rt.launch(rt.pipeline("norm", "bwd_wb"), [ga.storage, xa.storage, ma.storage, ra.storage, dw.storage, db.storage],
                  grid_rows(-(-cols // WB_COLS)), params)
    return dx, dw if need_weight_grad else None, db if need_bias_grad else None
