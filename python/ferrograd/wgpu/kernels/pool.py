"""2-d pooling on GpuArrays with the contracts of `_native`'s max / avg / adaptive-avg pool
forward and backward functions (NCHW; 1-d pooling is the H = 1 case, reshaped by ops.pool).
Kernels in shaders/pool.wgsl read inputs through their strides and return new contiguous arrays.

Deviation: max-pool indices are int32 on the device (no 64-bit integers in WGSL), flat within
each plane like `_native`'s int64 ones; `max_pool2d_backward` takes them as int32. Its gather
assumes each index lies inside its own window, as the forward's indices do."""

from __future__ import annotations

import math

import numpy as np

from .. import runtime
from ..array import GpuArray
from ._layout import batch_blocks, check_float, joined, check_int, dims4, forward_strides, grid_elems, new, pair


def _pool_shape(op, input_shape, kernel, stride, padding) -> dict:
    """Pool2dShape::new's checks and floor-mode output size (ValueError naming `op`)."""
    n, c, h, w = (int(v) for v in input_shape)
    k, s, pd = pair(op, "kernel", kernel), pair(op, "stride", stride), pair(op, "padding", padding)
    bad = 0 in k or 0 in s or 2 * pd[0] > k[0] or 2 * pd[1] > k[1] or h + 2 * pd[0] < k[0] or w + 2 * pd[1] < k[1]
    if bad:
        raise ValueError(f"{op}: kernel {k}, stride {s}, padding {pd} do not fit input {(n, c, h, w)}")
    oh, ow = (h + 2 * pd[0] - k[0]) // s[0] + 1, (w + 2 * pd[1] - k[1]) // s[1] + 1
    return dict(n=n, c=c, h=h, w=w, oh=oh, ow=ow, kh=k[0], kw=k[1], sh=s[0], sw=s[1], ph=pd[0], pw=pd[1])


def _params(s: dict, total: int, src: GpuArray, idx: GpuArray | None = None, include_pad=False) -> bytes:
    """Sizes and the strided views' offsets and strides (negative strides copied away first by
    the callers: the kernels index with u32)."""
    io, ist = (idx.offset, idx.strides) if idx is not None else (0, (0,) * 4)
    return runtime.pack(
        s["n"], s["c"], s["h"], s["w"], s["oh"], s["ow"], s["kh"], s["kw"],
        s["sh"], s["sw"], s["ph"], s["pw"], int(include_pad), total, 0, 0,
        src.offset, *src.strides, io, *ist, 0, 0,
        fmt="I" * 28,
    )


def _input_shape(op, input_shape) -> tuple:
    try:
        shape = tuple(int(v) for v in input_shape)
    except TypeError:
        shape = ()
    if len(shape) != 4 or min(shape) < 0:
        raise ValueError(f"{op}: input_shape must be 4 non-negative sizes, got {input_shape!r}")
    return shape


def _check_grad(op, gy: GpuArray, s: dict) -> None:
    want = (s["n"], s["c"], s["oh"], s["ow"])
    if gy.shape != want:
        raise ValueError(f"{op}: grad_output has shape {gy.shape}, input {(s['n'], s['c'], s['h'], s['w'])} "
                         f"pools to {want}")


def _launch(entry: str, buffers, total: int, params: bytes) -> None:
    if total == 0:
        return
    rt = runtime.get()
    rt.launch(rt.pipeline("pool", entry), buffers, grid_elems(total), params)


def max_pool2d_forward(x: GpuArray, kernel, stride, padding):
    """`(y, indices)`: window maxima (NaN wins) and the flat in-plane index of each (int32)."""
    op = "max_pool2d_forward"
    check_float(op, input=x)
    s = _pool_shape(op, dims4(op, "input", x), kernel, stride, padding)
    shape = (s["n"], s["c"], s["oh"], s["ow"])
    blocks = batch_blocks(op, lambda x: max_pool2d_forward(x, kernel, stride, padding), math.prod(shape[1:]), x=x)
    if blocks is not None:
        return joined(blocks, (0, 0))
    y, idx = new(shape), GpuArray.empty(shape, np.int32)
    x = forward_strides(x)
    _launch("max_fwd", [x.storage, y.storage, idx.storage], y.size, _params(s, y.size, x))
    return y, idx


def max_pool2d_backward(gy: GpuArray, indices: GpuArray, input_shape, kernel, stride, padding) -> GpuArray:
    """The input gradient: each gy element added at its window's argmax."""
    op = "max_pool2d_backward"
    check_float(op, grad_output=gy)
    check_int(op, "indices", indices)
    s = _pool_shape(op, _input_shape(op, input_shape), kernel, stride, padding)
    _check_grad(op, gy, s)
    if indices.shape != gy.shape:
        raise ValueError(f"{op}: indices have shape {indices.shape}, grad_output {gy.shape}")
    blocks = batch_blocks(op, lambda gy, indices: max_pool2d_backward(gy, indices, (gy.shape[0], *input_shape[1:]),
                                                                      kernel, stride, padding),
                          s["c"] * s["h"] * s["w"], gy=gy, indices=indices)
    if blocks is not None:
        return np.concatenate(blocks)
    gx = new((s["n"], s["c"], s["h"], s["w"]))
    gy, indices = forward_strides(gy), forward_strides(indices)
    _launch("max_bwd", [gy.storage, indices.storage, gx.storage], gx.size, _params(s, gx.size, gy, indices))
    return gx


def avg_pool2d_forward(x: GpuArray, kernel, stride, padding, count_include_pad) -> GpuArray:
    op = "avg_pool2d_forward"
    check_float(op, input=x)
    s = _pool_shape(op, dims4(op, "input", x), kernel, stride, padding)
    blocks = batch_blocks(op, lambda x: avg_pool2d_forward(x, kernel, stride, padding, count_include_pad),
                          s["c"] * s["oh"] * s["ow"], x=x)
    if blocks is not None:
        return np.concatenate(blocks)
    y = new((s["n"], s["c"], s["oh"], s["ow"]))
    x = forward_strides(x)
    _launch("avg_fwd", [x.storage, y.storage], y.size, _params(s, y.size, x, include_pad=count_include_pad))
    return y


def avg_pool2d_backward(gy: GpuArray, input_shape, kernel, stride, padding, count_include_pad) -> GpuArray:
    op = "avg_pool2d_backward"
    check_float(op, grad_output=gy)
    s = _pool_shape(op, _input_shape(op, input_shape), kernel, stride, padding)
    _check_grad(op, gy, s)
    blocks = batch_blocks(op, lambda gy: avg_pool2d_backward(gy, (gy.shape[0], *input_shape[1:]), kernel, stride,
                                                             padding, count_include_pad),
                          s["c"] * s["h"] * s["w"], gy=gy)
    if blocks is not None:
        return np.concatenate(blocks)
    gx = new((s["n"], s["c"], s["h"], s["w"]))
    gy = forward_strides(gy)
    _launch("avg_bwd", [gy.storage, gx.storage], gx.size, _params(s, gx.size, gy, include_pad=count_include_pad))
    return gx


def _adaptive_shape(op, input_shape, output_size) -> dict:
    n, c, h, w = input_shape
    oh, ow = pair(op, "output_size", output_size)
    if (0 in (oh, ow, h, w)) and n * c > 0:
        raise ValueError(f"{op}: output size {(oh, ow)} and input {tuple(input_shape)} must be non-empty")
    return dict(n=n, c=c, h=h, w=w, oh=oh, ow=ow, kh=0, kw=0, sh=0, sw=0, ph=0, pw=0)


def adaptive_avg_pool2d_forward(x: GpuArray, output_size) -> GpuArray:
    op = "adaptive_avg_pool2d_forward"
    check_float(op, input=x)
    s = _adaptive_shape(op, dims4(op, "input", x), output_size)
    blocks = batch_blocks(op, lambda x: adaptive_avg_pool2d_forward(x, output_size), s["c"] * s["oh"] * s["ow"], x=x)
    if blocks is not None:
        return np.concatenate(blocks)
    y = new((s["n"], s["c"], s["oh"], s["ow"]))
    x = forward_strides(x)
    _launch("adapt_fwd", [x.storage, y.storage], y.size, _params(s, y.size, x))
    return y


def adaptive_avg_pool2d_backward(gy: GpuArray, input_shape, output_size) -> GpuArray:
    op = "adaptive_avg_pool2d_backward"
    check_float(op, grad_output=gy)
    s = _adaptive_shape(op, _input_shape(op, input_shape), output_size)
    _check_grad(op, gy, s)
    blocks = batch_blocks(op, lambda gy: adaptive_avg_pool2d_backward(gy, (gy.shape[0], *input_shape[1:]), output_size),
                          s["c"] * s["h"] * s["w"], gy=gy)
    if blocks is not None:
        return np.concatenate(blocks)
    gx = new((s["n"], s["c"], s["h"], s["w"]))
    gy = forward_strides(gy)
    _launch("adapt_bwd", [gy.storage, gx.storage], gx.size, _params(s, gx.size, gy))
    return gx
