"""Fused recurrent sequences (LSTM, GRU, plain RNN) on GpuArrays with `_native`'s contract: the
same arguments, results and saved buffers (time-major `gates` (L, B, G*H), `hs` (L+1, B, H) with
hs[0] = h0, LSTM `cells` (L, B, H), GRU `hn` (L, B, H)); PyTorch gate orders i,f,g,o and r,z,n.

Forward: one `matmul` for all input projections (x read time-major through its strides), then
per step the recurrent GEMM (accumulated into a view of the gates buffer where the cell allows)
and one fused gate kernel. Backward through time: per step one GEMM for dh and one fused kernel;
then one GEMM each for dW_hh, dW_ih and dx over all steps. Nothing is read back: a sequence
records all of its dispatches.

Sequences whose (L+1, B, G*H) buffers are larger than one storage binding run in blocks of the
batch (sequences are independent): inputs cut along their batch axis, results joined along it and
weight gradients summed.
"""

from __future__ import annotations

import numpy as np

from .. import runtime
from ..array import GpuArray
from . import _util as u
from ._layout import batch_blocks, joined
from .matmul import matmul


def _dims(op: str, ngates: int, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, h0_name="h0"):
    """Checks x (B, L, I), w_ih (G*H, I), w_hh (G*H, H), h0 (B, H), biases (G*H). Returns x (a
    contiguous copy when it runs backwards, as a bidirectional layer's reversed view does: the
    kernels index forwards) and (B, L, I, H)."""
    if isinstance(x, GpuArray) and any(st < 0 for st in x.strides):
        x = u.contiguous(x)
    x = u.check(op, "input", x)
    h0, w_ih, w_hh = u.check(op, h0_name, h0), u.check(op, "weight_ih", w_ih), u.check(op, "weight_hh", w_hh)
    b_ih, b_hh = u.check(op, "bias_ih", b_ih, optional=True), u.check(op, "bias_hh", b_hh, optional=True)
    if x.ndim != 3:
        raise ValueError(f"{op}: input must be (B, L, I), got shape {x.shape}")
    if w_hh.ndim != 2 or w_hh.shape[0] % ngates:
        raise ValueError(f"{op}: weight_hh must be ({ngates}*H, H), got shape {w_hh.shape}")
    b, l, i = x.shape
    h = w_hh.shape[0] // ngates
    u.expect_shape(op, "weight_hh", w_hh, (ngates * h, h))
    u.expect_shape(op, "weight_ih", w_ih, (ngates * h, i))
    u.expect_shape(op, h0_name, h0, (b, h))
    u.expect_shape(op, "bias_ih", b_ih, (ngates * h,))
    u.expect_shape(op, "bias_hh", b_hh, (ngates * h,))
    return x, (b, l, i, h)


def _saved(op: str, **arrays):
    """Saved buffers and upstream gradients: float32, contiguous, of the expected element count
    (like `_native`, which takes them as flat C-contiguous buffers). Returns them in order."""
    out = []
    for what, (a, n) in arrays.items():
        u.check(op, what, a)
        if a.size != n:
            raise ValueError(f"{op}: {what} has shape {a.shape} ({a.size} elements), expected {n} elements")
        u.expect_contiguous(op, what, a)
        out.append(a)
    return out


def _bias_args(b_ih, b_hh):
    """Bindings and (has, offset, stride) parameters of the optional biases."""
    bufs, params = [], []
    for bias in (b_ih, b_hh):
        if bias is None:
            bufs.append(u.dummy())
            params.append((0, 0, 0))
        else:
            bufs.append(bias.storage)
            params.append((1, bias.offset, bias.strides[0]))
    return bufs, params


def _projections(x: GpuArray, w_ih: GpuArray) -> GpuArray:
    """(L, B, G*H) = x time-major (L, B, I), read in place through permuted strides, @ W_ihᵀ."""
    return matmul(u.permute(x, 1, 0, 2), u.t(w_ih))


def _state(first: GpuArray, l: int) -> GpuArray:
    """A (L+1, B, H) buffer whose slot 0 is a contiguous copy of `first` (h0 or c0)."""
    b, h = first.shape
    buf = GpuArray.empty((l + 1, b, h))
    u.copy_to(first, u.view(buf, (b, h), (h, 1)))
    return buf


def _step(a: GpuArray, t: int) -> GpuArray:
    """Slot t of a contiguous (T, B, n) buffer as a (B, n) view."""
    _, b, n = a.shape
    return u.view(a, (b, n), (n, 1), t * b * n)


def _flat(a: GpuArray, rows: int) -> GpuArray:
    """The first `rows` rows of a contiguous buffer seen as (rows, last dim)."""
    n = a.shape[-1]
    return u.view(a, (rows, n), (n, 1))


def _weight_grads(x, dg, hs, l, b):
    """dW_hh = dGᵀ @ hs[0:L], and the time-major contiguous x (L*B, I) for dW_ih."""
    xt = u.copy_to(u.permute(x, 1, 0, 2), GpuArray.empty((l, b, x.shape[2])))
    dw_hh = matmul(u.t(_flat(dg, l * b)), _flat(hs, l * b))
    return xt, dw_hh


def _in_blocks(op: str, b: int, l: int, width: int, run, out_axes, axes=None, **inputs):
    """`batch_blocks` for a sequence whose (L+1, B, width) work buffers would not fit one binding:
    `run` per block of batch items (inputs cut along their batch axis, 0 unless `axes` says
    otherwise), results `joined` along `out_axes` (None: weight gradients, summed). None when
    the whole batch fits; ValueError when one sequence alone does not."""
    rt = runtime.get()
    item = (l + 1) * width
    if b and 4 * item > rt.max_binding - rt.storage_align:
        raise ValueError(
            f"{op}: one sequence's buffer of {l + 1} steps x {width} values ({4 * item} bytes) exceeds the "
            f"device's max-storage-buffer-binding-size {rt.max_binding} bytes"
        )
    blocks = batch_blocks(op, run, item, axes, **inputs)
    return None if blocks is None else joined(blocks, out_axes)


def _launch(name: str, bufs, n: int, params: bytes) -> None:
    runtime.get().launch(u.pipeline(name, "rnn_act"), bufs, u.groups(n), params)


def _zeros(shape) -> GpuArray:
    return u.fill(GpuArray.empty(shape), 0.0)


# ---- LSTM ----------------------------------------------------------------------------------------


def lstm_forward(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
    """`[packed (out (B, L, H) then c_n (B, H), flat), gates (L, B, 4H), cells (L, B, H), hs]`."""
    op = "lstm_forward"
    x, (b, l, i, h) = _dims(op, 4, x, h0, w_ih, w_hh, b_ih, b_hh)
    u.check(op, "c0", c0)
    u.expect_shape(op, "c0", c0, (b, h))
    split = _in_blocks(op, b, l, 4 * h,
                       lambda x, h0, c0: _lstm_unpacked(*lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh), l, h),
                       (0, 0, 1, 1, 1), x=x, h0=h0, c0=c0)
    if split is not None:
        out, c_n, gates, cells, hs = split
        return [np.concatenate([out.reshape(-1), c_n.reshape(-1)]), gates, cells, hs]
    bh = b * h
    gates = _projections(x, w_ih)
    hs = _state(h0, l)
    cst = _state(c0, l)  # cst[0] = c0, cst[t + 1] = c_t: the kernel reads and writes one binding
    packed = GpuArray.empty((b * l * h + bh,))
    bias_bufs, ((hb, bo, bs), (hb2, bo2, bs2)) = _bias_args(b_ih, b_hh)
    pipe_bufs = [gates.storage, cst.storage, hs.storage, packed.storage, *bias_bufs]
    for t in range(l if bh else 0):
        matmul(_step(hs, t), u.t(w_hh), out=_step(gates, t), accumulate=True)
        _launch("lstm_fwd_step", pipe_bufs, bh, runtime.pack(b, h, l, t, hb, bo, bs, hb2, bo2, bs2, fmt="I" * 10))
    # c_n: the last cell state (c0 when the sequence is empty).
    runtime.get().copy(cst.storage, l * bh * 4, packed.storage, b * l * h * 4, bh * 4)
    cells = u.view(cst, (l, b, h), (bh, h, 1), bh)
    return [packed, gates, cells, hs]


def _lstm_unpacked(packed, gates, cells, hs, l: int, h: int):
    """lstm_forward's results with the packed one as views of out (B, L, H) and c_n (B, H)."""
    b = hs.shape[1]
    return [u.view(packed, (b, l, h), (l * h, h, 1)), u.view(packed, (b, h), (h, 1), b * l * h), gates, cells, hs]


def lstm_backward(x, c0, w_ih, w_hh, gates, cells, hs, gy, gc_n):
    """`[dx (B, L, I), dh0, dc0 (B, H), dw_ih (4H, I), dw_hh (4H, H), db (4H)]`."""
    op = "lstm_backward"
    x, (b, l, i, h) = _dims(op, 4, x, c0, w_ih, w_hh, h0_name="c0")
    bh, g4 = b * h, 4 * h
    gates, cells, hs, gy, gc_n = _saved(
        op, gates=(gates, l * b * g4), cells=(cells, l * bh), hs=(hs, (l + 1) * bh), gy=(gy, b * l * h), gc_n=(gc_n, bh)
    )
    split = _in_blocks(op, b, l, g4,
                       lambda x, c0, gates, cells, hs, gy, gc_n: lstm_backward(x, c0, w_ih, w_hh, gates, cells, hs, gy,
                                                                              gc_n),
                       (0, 0, 0, None, None, None), dict(gates=1, cells=1, hs=1), x=x, c0=c0,
                       gates=gates.reshape(l, b, g4), cells=cells.reshape(l, b, h), hs=hs.reshape(l + 1, b, h),
                       gy=gy.reshape(b, l, h), gc_n=gc_n.reshape(b, h))
    if split is not None:
        return split
    dg = GpuArray.empty((l, b, g4))
    dc = u.copy_to(u.view(gc_n, (b, h), (h, 1)), GpuArray.empty((b, h)))
    dh = _zeros((b, h))
    c0c = u.contiguous(c0)
    for t in reversed(range(l if bh else 0)):
        if t + 1 < l:
            matmul(_step(dg, t + 1), w_hh, out=dh)
        cprev, cp_off = (cells.storage, cells.offset + (t - 1) * bh) if t else (c0c.storage, c0c.offset)
        params = runtime.pack(b, h, l, t, gates.offset, cells.offset + t * bh, cp_off, gy.offset, fmt="I" * 8)
        bufs = [gates.storage, cells.storage, cprev, gy.storage, dh.storage, dc.storage, dg.storage]
        _launch("lstm_bwd_step", bufs, bh, params)
    dh0 = matmul(_step(dg, 0), w_hh) if l else _zeros((b, h))
    xt, dw_hh = _weight_grads(x, dg, hs, l, b)
    dw_ih = matmul(u.t(_flat(dg, l * b)), _flat(xt, l * b))
    dx = matmul(u.permute(dg, 1, 0, 2), w_ih)  # batch-first straight from the time-major dG
    db = GpuArray.empty((g4,))
    u.sum_axes(dg, l * b, g4, 1, db)
    return [dx, dh0, dc, dw_ih, dw_hh, db]


# ---- GRU -----------------------------------------------------------------------------------------


def gru_forward(x, h0, w_ih, w_hh, b_ih=None, b_hh=None):
    """`[out (B, L, H), gates (L, B, 3H), hn (L, B, H), hs (L+1, B, H)]`."""
    op = "gru_forward"
    x, (b, l, i, h) = _dims(op, 3, x, h0, w_ih, w_hh, b_ih, b_hh)
    split = _in_blocks(op, b, l, 3 * h, lambda x, h0: gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh), (0, 1, 1, 1),
                       x=x, h0=h0)
    if split is not None:
        return split
    bh = b * h
    gates = _projections(x, w_ih)
    hs = _state(h0, l)
    hn = GpuArray.empty((l, b, h))
    out = GpuArray.empty((b, l, h))
    hp = GpuArray.empty((b, 3 * h))  # h W_hhᵀ of one step: r and z add it, n scales its part by r
    bias_bufs, ((hb, bo, bs), (hb2, bo2, bs2)) = _bias_args(b_ih, b_hh)
    bufs = [gates.storage, hp.storage, hn.storage, hs.storage, out.storage, *bias_bufs]
    for t in range(l if bh else 0):
        matmul(_step(hs, t), u.t(w_hh), out=hp)
        _launch("gru_fwd_step", bufs, bh, runtime.pack(b, h, l, t, hb, bo, bs, hb2, bo2, bs2, fmt="I" * 10))
    return [out, gates, hn, hs]


def gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, gy, need_dx=True, need_dh0=True):
    """`[dx (B, L, I), dh0 (B, H), dw_ih (3H, I), dw_hh (3H, H), db_ih (3H), db_hh (3H)]`, dx and dh0
    None where not needed (their products skipped, except in a batch split into blocks)."""
    op = "gru_backward"
    x, (b, l, i, h) = _dims(op, 3, x, h0, w_ih, w_hh)
    bh, g3 = b * h, 3 * h
    gates, hn, hs, gy = _saved(op, gates=(gates, l * b * g3), hn=(hn, l * bh), hs=(hs, (l + 1) * bh), gy=(gy, b * l * h))
    split = _in_blocks(op, b, l, g3,
                       lambda x, h0, gates, hn, hs, gy: gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, gy),
                       (0, 0, None, None, None, None), dict(gates=1, hn=1, hs=1), x=x, h0=h0,
                       gates=gates.reshape(l, b, g3), hn=hn.reshape(l, b, h), hs=hs.reshape(l + 1, b, h),
                       gy=gy.reshape(b, l, h))
    if split is not None:
        return [split[0] if need_dx else None, split[1] if need_dh0 else None, *split[2:]]
    da = GpuArray.empty((l, b, g3))  # recurrent pre-activation gradients [r, z, hn]
    dan = GpuArray.empty((l, b, h))  # the input-side n pre-activation
    dh = _zeros((b, h))
    bufs = [gates.storage, hn.storage, hs.storage, gy.storage, dh.storage, da.storage, dan.storage]
    for t in reversed(range(l if bh else 0)):
        if t + 1 < l:
            matmul(_step(da, t + 1), w_hh, out=dh, accumulate=True)
        params = runtime.pack(b, h, l, t, gates.offset, hn.offset, hs.offset, gy.offset, fmt="I" * 8)
        _launch("gru_bwd_step", bufs, bh, params)
    if l and need_dh0:
        matmul(_step(da, 0), w_hh, out=dh, accumulate=True)
    xt, dw_hh = _weight_grads(x, da, hs, l, b)
    rows = l * b
    dam, danm, xm = _flat(da, rows), _flat(dan, rows), _flat(xt, rows)
    dw_ih = GpuArray.empty((g3, i))
    matmul(u.t(u.view(dam, (rows, 2 * h), (g3, 1))), xm, out=u.view(dw_ih, (2 * h, i), (i, 1)))
    matmul(u.t(danm), xm, out=u.view(dw_ih, (h, i), (i, 1), 2 * h * i))
    dx = None
    if need_dx:  # dA[r, z] @ W_ih[r, z] + dAn @ W_ih[n], batch-first from time-major views
        dx = matmul(u.view(da, (b, l, 2 * h), (g3, b * g3, 1)), u.rows(w_ih, 0, 2 * h))
        matmul(u.permute(dan, 1, 0, 2), u.rows(w_ih, 2 * h, g3), out=dx, accumulate=True)
    db_hh, db_ih = GpuArray.empty((g3,)), GpuArray.empty((g3,))
    u.sum_axes(da, rows, g3, 1, db_hh)
    u.sum_axes(dan, rows, h, 1, db_ih, out_off=2 * h)
    runtime.get().copy(db_hh.storage, 0, db_ih.storage, 0, 2 * h * 4)  # r, z: both biases alike
    return [dx, dh if need_dh0 else None, dw_ih, dw_hh, db_ih, db_hh]


# ---- plain RNN -----------------------------------------------------------------------------------


def rnn_forward(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, relu=False):
    """`[out (B, L, H), hs (L+1, B, H)]`; h' = tanh (or relu)(W_ih x + b_ih + W_hh h + b_hh)."""
    op = "rnn_forward"
    x, (b, l, i, h) = _dims(op, 1, x, h0, w_ih, w_hh, b_ih, b_hh)
    split = _in_blocks(op, b, l, h, lambda x, h0: rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh, relu), (0, 1),
                       x=x, h0=h0)
    if split is not None:
        return split
    bh = b * h
    pre = _projections(x, w_ih)
    hs = _state(h0, l)
    out = GpuArray.empty((b, l, h))
    bias_bufs, ((hb, bo, bs), (hb2, bo2, bs2)) = _bias_args(b_ih, b_hh)
    bufs = [pre.storage, hs.storage, out.storage, *bias_bufs]
    for t in range(l if bh else 0):
        matmul(_step(hs, t), u.t(w_hh), out=_step(pre, t), accumulate=True)
        params = runtime.pack(b, h, l, t, hb, bo, bs, hb2, bo2, bs2, int(bool(relu)), fmt="I" * 11)
        _launch("rnn_fwd_step", bufs, bh, params)
    return [out, hs]


def rnn_backward(x, h0, w_ih, w_hh, relu, hs, gy):
    """`[dx (B, L, I), dh0 (B, H), dw_ih (H, I), dw_hh (H, H), db (H)]`."""
    op = "rnn_backward"
    x, (b, l, i, h) = _dims(op, 1, x, h0, w_ih, w_hh)
    bh = b * h
    hs, gy = _saved(op, hs=(hs, (l + 1) * bh), gy=(gy, b * l * h))
    split = _in_blocks(op, b, l, h, lambda x, h0, hs, gy: rnn_backward(x, h0, w_ih, w_hh, relu, hs, gy),
                       (0, 0, None, None, None), dict(hs=1), x=x, h0=h0, hs=hs.reshape(l + 1, b, h),
                       gy=gy.reshape(b, l, h))
    if split is not None:
        return split
    da = GpuArray.empty((l, b, h))
    dh = _zeros((b, h))
    bufs = [hs.storage, gy.storage, dh.storage, da.storage]
    for t in reversed(range(l if bh else 0)):
        if t + 1 < l:
            matmul(_step(da, t + 1), w_hh, out=dh)
        _launch("rnn_bwd_step", bufs, bh, runtime.pack(b, h, l, t, hs.offset, gy.offset, int(bool(relu)), fmt="I" * 7))
    dh0 = matmul(_step(da, 0), w_hh) if l else _zeros((b, h))
    xt, dw_hh = _weight_grads(x, da, hs, l, b)
    dw_ih = matmul(u.t(_flat(da, l * b)), _flat(xt, l * b))
    dx = matmul(u.permute(da, 1, 0, 2), w_ih)
    db = GpuArray.empty((h,))
    u.sum_axes(da, l * b, h, 1, db)
    return [dx, dh0, dw_ih, dw_hh, db]
