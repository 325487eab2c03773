"""conv2d forward, backward-data and backward-weight on GpuArrays, with the contracts of
`_native.conv2d_forward / conv2d_backward_data / conv2d_backward_weight` (ops.conv builds conv1d
and conv_transpose2d from them). Implicit GEMM in shaders/conv.wgsl: no im2col buffer, every
operand read through its strides, outputs new contiguous float32 arrays."""

from __future__ import annotations

import numpy as np

from .. import runtime
from ..array import GpuArray
from ._layout import batch_blocks, check_float, joined, dims4, forward_strides, new, pair

TILE = 64
TARGET_WORKGROUPS = 256  # backward-weight splits its inner dim until it has about this many
MIN_SPLIT = 256  # inner elements per split at least


def _shape(op, x_shape, w_shape, out_size, stride, padding, dilation, groups) -> dict:
    """Every size of one convolution, checked like `Conv2dShape::check` (ValueError)."""
    stride, padding, dilation = pair(op, "stride", stride), pair(op, "padding", padding), pair(op, "dilation", dilation)
    oh, ow = pair(op, "output size", out_size)
    n, c_in, h, w = x_shape
    c_out, cg, kh, kw = w_shape
    groups = int(groups)
    if groups <= 0 or cg * groups != c_in:
        raise ValueError(
            f"{op}: input {tuple(x_shape)} has {c_in} channels, weight {tuple(w_shape)} with groups={groups} "
            f"expects {cg * groups}"
        )
    if c_out % groups:
        raise ValueError(f"{op}: groups {groups} must divide C_out {c_out} (weight {tuple(w_shape)})")
    if 0 in stride or 0 in dilation:
        raise ValueError(f"{op}: stride {stride} and dilation {dilation} must be positive")
    if kh == 0 or kw == 0:
        raise ValueError(f"{op}: kernel {(kh, kw)} must be non-empty (weight {tuple(w_shape)})")
    if groups > runtime.get().max_workgroups:
        raise ValueError(f"{op}: groups={groups} exceeds the device's {runtime.get().max_workgroups} workgroups")
    return dict(n=n, c_in=c_in, h=h, w=w, c_out=c_out, kh=kh, kw=kw, oh=oh, ow=ow,
                sh=stride[0], sw=stride[1], ph=padding[0], pw=padding[1], dh=dilation[0], dw=dilation[1],
                groups=groups)


def _params(s, x=None, w=None, gy=None, col0=0, bias=None, splits=1) -> bytes:
    xo, xs = (x.offset, x.strides) if x is not None else (0, (0,) * 4)
    wo, ws = (w.offset, w.strides) if w is not None else (0, (0,) * 4)
    go, gs = (gy.offset, gy.strides) if gy is not None else (0, (0,) * 4)
    bo, bs = (bias.offset, bias.strides[0]) if bias is not None else (0, 0)
    return runtime.pack(
        s["n"], s["c_in"], s["h"], s["w"], s["c_out"], s["kh"], s["kw"], s["oh"],
        s["ow"], s["sh"], s["sw"], s["ph"], s["pw"], s["dh"], s["dw"], s["groups"],
        xo, *xs, wo, *ws, go, *gs, col0, int(bias is not None), bo, bs, splits,
        fmt="I" * 36,
    )


def _column_launches(ncols: int, rows: int, groups: int):
    """(col0, grid) per launch: columns past the per-dimension workgroup limit split up."""
    limit = runtime.get().max_workgroups
    tiles, row_tiles = -(-ncols // TILE), -(-rows // TILE)
    for start in range(0, tiles, limit):
        yield start * TILE, (min(limit, tiles - start), row_tiles, groups)


def _splits(inner: int, tiles: int, groups: int) -> tuple:
    """(chunk length, chunks) of backward-weight's inner dim: enough workgroups to fill a GPU
    (its output is small), chunks of at least MIN_SPLIT elements, within the grid's z limit."""
    want = min(-(-TARGET_WORKGROUPS // (tiles * groups)), -(-inner // MIN_SPLIT), runtime.get().max_workgroups // groups)
    length = -(-max(inner, 1) // max(want, 1))
    length = -(-length // 16) * 16  # whole 16-deep steps per chunk
    return length, -(-max(inner, 1) // length)


def conv2d_forward(x: GpuArray, w: GpuArray, bias, stride, padding, dilation, groups, out_size) -> GpuArray:
    """y (n, c_out, *out_size) = conv2d(x, w) + bias; `padding` is the top/left padding."""
    op = "conv2d_forward"
    check_float(op, input=x, weight=w, bias=bias)
    s = _shape(op, dims4(op, "input", x), dims4(op, "weight", w), out_size, stride, padding, dilation, groups)
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != s["c_out"]):
        raise ValueError(f"{op}: bias has shape {bias.shape}, expected ({s['c_out']},) for weight {w.shape}")
    blocks = batch_blocks(op, lambda x: conv2d_forward(x, w, bias, stride, padding, dilation, groups, out_size),
                          s["c_out"] * s["oh"] * s["ow"], x=x)
    if blocks is not None:
        return np.concatenate(blocks)
    x, w, bias = forward_strides(x), forward_strides(w), forward_strides(bias)
    y = new((s["n"], s["c_out"], s["oh"], s["ow"]))
    og = s["c_out"] // s["groups"]
    if y.size == 0:  # (an empty inner dim still runs: the tiles then write the bias or zero)
        return y
    rt = runtime.get()
    pipe = rt.pipeline("conv", "fwd")
    b = bias if bias is not None else w  # bound but unread without a bias
    for col0, grid in _column_launches(s["n"] * s["oh"] * s["ow"], og, s["groups"]):
        params = _params(s, x=x, w=w, col0=col0, bias=bias)
        rt.launch(pipe, [x.storage, w.storage, b.storage, y.storage], grid, params)
    return y


def conv2d_backward_data(gy: GpuArray, w: GpuArray, in_size, stride, padding, dilation, groups) -> GpuArray:
    """The input gradient (n, w.shape[1] * groups, *in_size) of a conv2d whose output gradient
    is `gy` (also conv_transpose2d's forward)."""
    op = "conv2d_backward_data"
    check_float(op, grad_output=gy, weight=w)
    g4, w4 = dims4(op, "grad_output", gy), dims4(op, "weight", w)
    if g4[1] != w4[0]:
        raise ValueError(f"{op}: grad_output {g4} has {g4[1]} channels, weight {w4} has {w4[0]}")
    h, wd = pair(op, "input size", in_size)
    s = _shape(op, (g4[0], w4[1] * int(groups), h, wd), w4, g4[2:], stride, padding, dilation, groups)
    blocks = batch_blocks(op, lambda gy: conv2d_backward_data(gy, w, in_size, stride, padding, dilation, groups),
                          s["c_in"] * h * wd, gy=gy)
    if blocks is not None:
        return np.concatenate(blocks)
    gx = new((s["n"], s["c_in"], h, wd))
    gy, w = forward_strides(gy), forward_strides(w)
    if gx.size == 0:
        return gx
    rt = runtime.get()
    pipe = rt.pipeline("conv", "bdata")
    cg = s["c_in"] // s["groups"]
    for col0, grid in _column_launches(s["n"] * h * wd, cg, s["groups"]):
        rt.launch(pipe, [gy.storage, w.storage, gx.storage], grid, _params(s, w=w, gy=gy, col0=col0))
    return gx


def conv2d_backward_weight(x: GpuArray, gy: GpuArray, kernel_size, stride, padding, dilation, groups, with_bias):
    """`(grad_weight, grad_bias or None)`: grad_weight (gy.shape[1], x.shape[1] / groups,
    *kernel_size); grad_bias (gy.shape[1],) when `with_bias`."""
    op = "conv2d_backward_weight"
    check_float(op, input=x, grad_output=gy)
    x4, g4 = dims4(op, "input", x), dims4(op, "grad_output", gy)
    groups = int(groups)
    if g4[0] != x4[0] or groups <= 0 or x4[1] % groups:
        raise ValueError(f"{op}: input {x4} and grad_output {g4} do not match (groups={groups})")
    kh, kw = pair(op, "kernel_size", kernel_size)
    w4 = (g4[1], x4[1] // groups, kh, kw)
    s = _shape(op, x4, w4, g4[2:], stride, padding, dilation, groups)
    blocks = batch_blocks(op, lambda x, gy: conv2d_backward_weight(x, gy, kernel_size, stride, padding, dilation,
                                                                   groups, with_bias), x=x, gy=gy)
    if blocks is not None:  # the weight (and bias) gradients are sums over the items
        return joined(blocks, (None, None))
    gw = new(w4)
    x, gy = forward_strides(x), forward_strides(gy)
    gb = new((g4[1],)) if with_bias else None
    rt = runtime.get()
    og, kdim = s["c_out"] // groups, w4[1] * kh * kw
    if gw.size:  # (no output pixels: the tiles sum nothing and write zeros)
        tiles = -(-kdim // TILE) * -(-og // TILE)
        split_len, splits = _splits(s["n"] * s["oh"] * s["ow"], tiles, groups)
        part = gw if splits == 1 else new((splits, *w4))
        grid = (-(-kdim // TILE), -(-og // TILE), groups * splits)
        params = _params(s, x=x, gy=gy, col0=split_len, splits=splits)
        rt.launch(rt.pipeline("conv", "bweight"), [x.storage, gy.storage, part.storage], grid, params)
        if splits > 1:
            rt.launch(rt.pipeline("conv", "sum_splits"), [part.storage, gw.storage],
                      runtime.grid_1d(-(-gw.size // 256), rt.max_workgroups), params)
    if gb is not None and gb.size:
        grid = runtime.grid_1d(s["c_out"], rt.max_workgroups)
        rt.launch(rt.pipeline("conv", "bias_grad"), [gy.storage, gb.storage], grid, _params(s, gy=gy))
    return gw, gb
