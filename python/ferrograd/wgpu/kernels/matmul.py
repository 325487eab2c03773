"""`matmul` on GpuArrays with `_native.matmul`'s contract: rank >= 2, batch dims broadcast,
float32; returns a new contiguous array. Strided operands are read in place (no copies)."""

from __future__ import annotations

import numpy as np

from .. import runtime
from ..array import GpuArray

TILE = 64


def matmul(a: GpuArray, b: GpuArray, bias: GpuArray | None = None, *, out: GpuArray | None = None,
           accumulate: bool = False) -> GpuArray:
    """`a @ b`, plus `bias` (1-D, one element per column) on every row when given."""
    if bias is not None:
        n = b.shape[-1] if b.ndim >= 2 else None
        if out is not None:
            raise TypeError("matmul: bias cannot be combined with out=")
        if bias.ndim != 1 or bias.shape[0] != n:
            raise ValueError(f"matmul: bias must be 1-D with {n} elements (the product's columns), "
                             f"got shape {bias.shape}")
        return matmul(a, b) + bias
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul: operands need rank >= 2, got shapes {a.shape} and {b.shape}")
    if a.dtype != np.float32 or b.dtype != np.float32:
        raise TypeError(f"matmul: wgpu operands must be float32, got {a.dtype} and {b.dtype}")
    (m, k), (k2, n) = a.shape[-2:], b.shape[-2:]
    if k != k2:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match (inner sizes {k} and {k2})")
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dims of {a.shape} and {b.shape} do not broadcast") from None
    shape = (*batch, m, n)
    if out is None:
        out = GpuArray.empty(shape)
    elif out.shape != shape or not out.is_contiguous:
        raise ValueError(f"matmul: out has shape {out.shape}, expected contiguous {shape}")
    if out.size == 0:
        return out
    rt = runtime.get()
    big = any(x.storage.nbytes > rt.max_binding for x in (a, b, out))
    # Batches run as grid z; batch dims that are not one flat stride run as several launches.
    for a_off, b_off, c_off, a_bs, b_bs, count in _batch_runs(a, b, batch, m * n):
        if big:  # one matrix at a time, in blocks whose operands fit one binding each
            for z in range(count):
                _blocks(rt, a, b, out, (a_off + z * a_bs, m, k, *a.strides[-2:]),
                        (b_off + z * b_bs, k, n, *b.strides[-2:]), out.offset + c_off + z * m * n, n, accumulate)
            continue
        grid = (-(-n // TILE), -(-m // TILE), count)
        params = runtime.pack(
            m, n, k, int(accumulate),
            a_off, a_bs, a.strides[-2], a.strides[-1],
            b_off, b_bs, b.strides[-2], b.strides[-1],
            out.offset + c_off, m * n, n, 0,
            fmt="I" * 16,
        )
        pipe = _pipeline(rt, m, n, k, (a_off, a_bs, *a.strides[-2:]), (b_off, b_bs, *b.strides[-2:]))
        rt.launch(pipe, [a.storage, b.storage, out.storage], grid, params)
    return out


def _loads(base: int, batch_stride: int, si: int, sk: int, ni: int, k: int) -> str:
    """Which tile load an operand gets (element (i, k) at base + i * si + k * sk): vec4 along k or
    along i where it is contiguous that way and 16-byte aligned, else scalar (also when it is
    empty: a vec4 binding holds at least one vec4)."""
    if base % 4 == 0 and batch_stride % 4 == 0 and ni > 0 and k > 0:
        if sk == 1 and si % 4 == 0 and k % 4 == 0:
            return "vec4_k"
        if si == 1 and sk % 4 == 0 and ni % 4 == 0:
            return "vec4_i"
    return "scalar"


def _pipeline(rt, m: int, n: int, k: int, a: tuple, b: tuple):
    """The matmul pipeline with the tile loads that operands a, b ((offset, batch stride, row
    stride, col stride) in elements) allow."""
    (a_off, a_bs, a_rs, a_cs), (b_off, b_bs, b_rs, b_cs) = a, b
    la, lb = _loads(a_off, a_bs, a_rs, a_cs, m, k), _loads(b_off, b_bs, b_cs, b_rs, n, k)

    def source():
        def load(x, binding, variant):
            text = runtime.load_shader(f"matmul_load_{variant}")
            return text.replace("$X", x).replace("$S", x + "s").replace("$B", str(binding))

        return "\n".join([load("A", 0, la), load("B", 1, lb), runtime.load_shader("matmul")])

    return rt.pipeline(f"matmul:{la}:{lb}", source=source)


def _span(off, rows, cols, rs, cs) -> tuple[int, int]:
    return runtime.span(off, (rows, cols), (rs, cs))


def _blocks(rt, a, b, out, av, bv, c_off, c_rs, accumulate) -> None:
    """C block (+)= A block @ B block, halving rows, columns or the inner dim until the part of
    every buffer a launch touches fits one binding (views: (offset, rows, cols, row stride,
    col stride) in elements)."""
    (ao, m, k, ars, acs), (bo, _, n, brs, bcs) = av, bv
    cv = (c_off, m, n, c_rs, 1)
    fits = [rt.fits_one_binding(*_span(*view)) for view in (av, bv, cv)]
    if all(fits):
        binds = []
        offs = []
        for x, view in ((a, av), (b, bv), (out, cv)):
            binding, base = rt.window(x.storage, *_span(*view))
            binds.append(binding)
            offs.append(view[0] - base)
        params = runtime.pack(m, n, k, int(accumulate), offs[0], 0, ars, acs, offs[1], 0, brs, bcs,
                              offs[2], 0, c_rs, 0, fmt="I" * 16)
        pipe = _pipeline(rt, m, n, k, (offs[0], 0, ars, acs), (offs[1], 0, brs, bcs))
        rt.launch(pipe, binds, (-(-n // TILE), -(-m // TILE), 1), params)
        return
    if (not fits[0] or not fits[2]) and m > 1:  # rows of A and C
        h = m // 2
        _blocks(rt, a, b, out, (ao, h, k, ars, acs), bv, c_off, c_rs, accumulate)
        _blocks(rt, a, b, out, (ao + h * ars, m - h, k, ars, acs), bv, c_off + h * c_rs, c_rs, accumulate)
    elif (not fits[1] or not fits[2]) and n > 1:  # columns of B and C
        h = n // 2
        _blocks(rt, a, b, out, av, (bo, k, h, brs, bcs), c_off, c_rs, accumulate)
        _blocks(rt, a, b, out, av, (bo + h * bcs, k, n - h, brs, bcs), c_off + h, c_rs, accumulate)
    else:  # the inner dim: the second half adds onto the first
        h = k // 2
        _blocks(rt, a, b, out, (ao, m, h, ars, acs), (bo, h, n, brs, bcs), c_off, c_rs, accumulate)
        _blocks(rt, a, b, out, (ao + h * acs, m, k - h, ars, acs), (bo + h * brs, k - h, n, brs, bcs),
                c_off, c_rs, True)


def _batch_strides(x: GpuArray, batch: tuple) -> list:
    """x's element stride along each broadcast batch dim (0 where x is broadcast)."""
    lead = len(batch) - (x.ndim - 2)
    return [0 if i < lead or x.shape[i - lead] == 1 else x.strides[i - lead] for i in range(len(batch))]


def _batch_runs(a: GpuArray, b: GpuArray, batch: tuple, mn: int):
    """(a_off, b_off, c_off, a_batch_stride, b_batch_stride, count) runs: the last batch dim goes
    to grid z (capped at the device limit); the dims before it are looped here."""
    if not batch:
        yield a.offset, b.offset, 0, 0, 0, 1
        return
    sa, sb = _batch_strides(a, batch), _batch_strides(b, batch)
    limit = runtime.get().max_workgroups
    inner = batch[-1]
    for outer in np.ndindex(*batch[:-1]):
        ao = a.offset + sum(i * s for i, s in zip(outer, sa))
        bo = b.offset + sum(i * s for i, s in zip(outer, sb))
        co = int(np.ravel_multi_index(outer, batch[:-1])) * inner * mn if outer else 0
        for start in range(0, inner, limit):
            count = min(limit, inner - start)
            yield ao + start * sa[-1], bo + start * sb[-1], co + start * mn, sa[-1], sb[-1], count


def linear_backward(x: GpuArray, weight: GpuArray, grad: GpuArray, need_x: bool = True, need_weight: bool = True,
                    need_bias: bool = True):
    """A Linear layer's backward from 2-D x (rows, in), weight (out, in) and grad (rows, out), as
    `_native.linear_backward`: `(grad @ weight, grad.T @ x, grad.sum(0))`, None where not needed."""
    if x.ndim != 2 or weight.ndim != 2 or grad.ndim != 2:
        raise ValueError("linear_backward: x, weight and grad must be 2-D (rows, in), (out, in), (rows, out), "
                         f"got shapes {x.shape}, {weight.shape} and {grad.shape}")
    gx = matmul(grad, weight) if need_x else None
    gw = matmul(grad.T, x) if need_weight else None
    gb = grad.sum(axis=0) if need_bias else None
    return gx, gw, gb
