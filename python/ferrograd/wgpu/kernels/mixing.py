"""MLP-Mixer mixing on GpuArrays with `_native`'s contract: `token_mixing_*` (the MLP across the
token axis of x (B, S, C)) and `channel_mixing_*` (the MLP on the last axis of x (N, C));
Linear(n -> D) -> exact GELU -> Linear(D -> n), torch Linear weights (out, in).

The GEMMs are `matmul` on strided views: token mixing is the broadcast batched product
`w1 (D, S) @ x[b] (S, C)`, so x is never transposed or copied. Bias + GELU, GELU' and bias sums
are the only WGSL of their own. Forward returns [y, hpre, act]; backward [dx, dw1, db1, dw2, db2].
"""

from __future__ import annotations

from .. import runtime
from ..array import GpuArray
from . import _util as u
from .matmul import matmul


def _check_mlp(op: str, n_in: int, w1, b1, w2, b2) -> int:
    if w1.ndim != 2 or w1.shape[1] != n_in:
        raise ValueError(f"{op}: w1 has shape {w1.shape}, expected (D, {n_in})")
    d = w1.shape[0]
    u.expect_shape(op, "w2", w2, (n_in, d))
    u.expect_shape(op, "b1", b1, (d,))
    u.expect_shape(op, "b2", b2, (n_in,))
    return d


def _args(op: str, x, w1, b1, w2, b2, rank: int, want: str):
    x = u.check(op, "input", x)
    if x.ndim != rank:
        raise ValueError(f"{op}: input has shape {x.shape}, expected {want}")
    w1, w2 = u.check(op, "w1", w1), u.check(op, "w2", w2)
    b1, b2 = u.check(op, "b1", b1, optional=True), u.check(op, "b2", b2, optional=True)
    return x, w1, b1, w2, b2


def _bias(bias: GpuArray | None) -> tuple:
    """(binding, offset, stride, length) of an optional bias vector."""
    if bias is None:
        return u.dummy(), 0, 0, 1
    binding, off = runtime.bind(bias)
    return binding, off, bias.strides[0], max(bias.shape[0], 1)


def _bias_gelu(h: GpuArray, bias: GpuArray | None, cols: int, per_row: bool) -> GpuArray:
    """In place h += bias (per row mod len(bias), or per column); returns gelu(h). h contiguous;
    launches over windows of it when it is larger than one binding."""
    act = GpuArray.empty(h.shape)
    b_bind, b_off, b_st, nb = _bias(bias)
    pipe = u.pipeline("mix_bias_gelu", "gelu")
    for start, count, (h_bind, a_bind), (h_off, a_off) in u.flat_windows([h, act], h.size):
        params = runtime.pack(count, max(cols, 1), int(per_row), nb, int(bias is not None), b_off, b_st, start,
                              h_off, a_off, fmt="I" * 10)
        runtime.get().launch(pipe, [h_bind, a_bind, b_bind], u.groups(count), params)
    return act


def _add_bias(y: GpuArray, bias: GpuArray | None, cols: int, per_row: bool) -> None:
    if bias is None:
        return
    b_bind, b_off, b_st, nb = _bias(bias)
    for start, count, (y_bind,), (y_off,) in u.flat_windows([y], y.size):
        params = runtime.pack(count, max(cols, 1), int(per_row), nb, b_off, b_st, start, y_off, fmt="I" * 8)
        runtime.get().launch(u.pipeline("mix_add_bias"), [y_bind, b_bind], u.groups(count), params)


def _gelu_grad(dh: GpuArray, hpre: GpuArray) -> None:
    """dh *= gelu'(hpre), both contiguous."""
    for _, count, binds, offs in u.flat_windows([dh, hpre], dh.size):
        params = runtime.pack(count, *offs, fmt="III")
        runtime.get().launch(u.pipeline("mix_gelu_grad", "gelu"), binds, u.groups(count), params)


def _batch_sum(prod: GpuArray, out_shape: tuple) -> GpuArray:
    """Sum of a contiguous (B, ...) product over its batch axis: the per-batch weight gradients."""
    out = GpuArray.empty(out_shape)
    n = out.size
    u.sum_axes(prod, prod.shape[0], n, 1, out)
    return out


def _saved(op: str, x_shape_hd: tuple, hpre, act, gy, y_shape: tuple) -> None:
    for what, a, want in (("hpre", hpre, x_shape_hd), ("act", act, x_shape_hd), ("gy", gy, y_shape)):
        u.check(op, what, a)
        u.expect_shape(op, what, a, want)
        u.expect_contiguous(op, what, a)


# ---- channel mixing: x (N, C) ------------------------------------------------------------------


def channel_mixing_forward(x, w1, b1, w2, b2):
    """`[y, hpre, act]`: hpre = x @ w1ᵀ + b1 (N, D); act = gelu(hpre); y = act @ w2ᵀ + b2 (N, C)."""
    op = "channel_mixing"
    x, w1, b1, w2, b2 = _args(op, x, w1, b1, w2, b2, 2, "(N, C)")
    _check_mlp(op, x.shape[1], w1, b1, w2, b2)
    hpre = matmul(x, u.t(w1))
    act = _bias_gelu(hpre, b1, hpre.shape[1], per_row=False)
    y = matmul(act, u.t(w2))
    _add_bias(y, b2, y.shape[1], per_row=False)
    return [y, hpre, act]


def channel_mixing_backward(x, w1, w2, hpre, act, gy):
    """`[dx, dw1, db1, dw2, db2]` from the forward's saved hpre, act and gy (N, C) contiguous."""
    op = "channel_mixing backward"
    x, w1, _, w2, _ = _args(op, x, w1, None, w2, None, 2, "(N, C)")
    n, c = x.shape
    d = _check_mlp(op, c, w1, None, w2, None)
    _saved(op, (n, d), hpre, act, gy, (n, c))
    db2 = GpuArray.empty((c,))
    u.sum_axes(gy, n, c, 1, db2)
    dw2 = matmul(u.t(gy), act)  # (C, D)
    dh = matmul(gy, w2)  # (N, D)
    _gelu_grad(dh, hpre)
    db1 = GpuArray.empty((d,))
    u.sum_axes(dh, n, d, 1, db1)
    dw1 = matmul(u.t(dh), x)  # (D, C)
    dx = matmul(dh, w1)  # (N, C)
    return [dx, dw1, db1, dw2, db2]


# ---- token mixing: x (B, S, C), the MLP runs over S ----------------------------------------------


def token_mixing_forward(x, w1, b1, w2, b2):
    """`[y, hpre, act]`: hpre[b] = w1 (D, S) @ x[b] + b1[:, None] (B, D, C); act = gelu(hpre);
    y[b] = w2 (S, D) @ act[b] + b2[:, None] (B, S, C)."""
    op = "token_mixing"
    x, w1, b1, w2, b2 = _args(op, x, w1, b1, w2, b2, 3, "(B, S, C)")
    bn, s, c = x.shape
    d = _check_mlp(op, s, w1, b1, w2, b2)
    hpre = matmul(w1, x)  # w1 broadcast over the batch; x read through its strides
    act = _bias_gelu(hpre, b1, c, per_row=True)
    y = matmul(w2, act)
    _add_bias(y, b2, c, per_row=True)
    return [y, hpre, act]


def token_mixing_backward(x, w1, w2, hpre, act, gy):
    """`[dx, dw1, db1, dw2, db2]`; hpre, act (B, D, C) and gy (B, S, C) contiguous."""
    op = "token_mixing backward"
    x, w1, _, w2, _ = _args(op, x, w1, None, w2, None, 3, "(B, S, C)")
    bn, s, c = x.shape
    d = _check_mlp(op, s, w1, None, w2, None)
    _saved(op, (bn, d, c), hpre, act, gy, (bn, s, c))
    db2 = GpuArray.empty((s,))
    u.sum_axes(gy, bn, s, c, db2)
    dw2 = _batch_sum(matmul(gy, u.t(act)), (s, d))  # Σ_b gy[b] @ act[b]ᵀ
    dh = matmul(u.t(w2), gy)  # (B, D, C)
    _gelu_grad(dh, hpre)
    db1 = GpuArray.empty((d,))
    u.sum_axes(dh, bn, d, c, db1)
    dw1 = _batch_sum(matmul(dh, u.t(x)), (d, s))  # Σ_b dh[b] @ x[b]ᵀ
    dx = matmul(u.t(w1), dh)  # (B, S, C)
    return [dx, dw1, db1, dw2, db2]
