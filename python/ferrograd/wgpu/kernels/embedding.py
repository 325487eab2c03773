"""`embedding_forward` / `embedding_backward` on the device with `_native`'s contract: a row
gather from a (num_embeddings, dim) float32 table, and its scatter-add gradient (repeated ids
accumulate, the padding row gets nothing).

Ids: a host (numpy) integer array is range-checked here — an out-of-range id raises ValueError
as in `_native` — then uploaded as int32. A device (GpuArray int32) array is used as it is: it is
never read back to be checked (that would stall the queue), and the kernels give an
out-of-range id a zero row (forward) or drop it (backward) instead of touching memory outside
the table.
"""

from __future__ import annotations

import numpy as np

from .. import runtime
from ..array import GpuArray
from ._util import check_type

GROUP = 256


def embedding_forward(weight: GpuArray, ids) -> GpuArray:
    """`weight[ids]`: a new contiguous array of shape ids.shape + (dim,)."""
    op = "embedding"
    check_type(op, "weight", weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-d, got shape {weight.shape}")
    rows, dim = weight.shape
    dev_ids = _device_ids(op, ids, rows)
    out = GpuArray.empty((*dev_ids.shape, dim))
    total = out.size
    if total == 0:
        return out
    rt = runtime.get()
    rs, cs = weight.strides
    for (ids_bind, ids_off), (o_bind, o_off), count in _id_chunks(dev_ids, out, dim):
        grid = runtime.grid_1d(-(-count * dim // GROUP), rt.max_workgroups)
        for r0, r1 in _row_blocks(weight.storage, rows, dim, rs, cs):
            w_bind, base = rt.window(weight.storage, weight.offset + r0 * rs,
                                     weight.offset + (r1 - 1) * rs + (dim - 1) * cs + 1)
            params = runtime.pack(count * dim, dim, rows, ids_off, weight.offset + r0 * rs - base, rs, cs, r0,
                                  r1, o_off, 0, 0, fmt="I" * 12)
            rt.launch(rt.pipeline("embedding_forward"), [w_bind, ids_bind, o_bind], grid, params)
    return out


def _id_chunks(ids: GpuArray, rows_of_dim: GpuArray, dim: int):
    """((ids binding, offset), (binding, offset) of their rows in `rows_of_dim`, count) for chunks
    of whole ids: one chunk when both buffers fit one binding, else chunks whose windows do."""
    rt = runtime.get()
    n = ids.size
    fits = ids.storage.nbytes <= rt.max_binding and rows_of_dim.storage.nbytes <= rt.max_binding
    per = n if fits else max(1, (rt.max_binding - rt.storage_align) // 4 // max(dim, 1))
    for t0 in range(0, n, per):
        t1 = min(n, t0 + per)
        ids_bind, ids_base = rt.window(ids.storage, ids.offset + t0, ids.offset + t1)
        r_lo = rows_of_dim.offset + t0 * dim
        r_bind, r_base = rt.window(rows_of_dim.storage, r_lo, r_lo + (t1 - t0) * dim)
        yield (ids_bind, ids.offset + t0 - ids_base), (r_bind, r_lo - r_base), t1 - t0


def _row_blocks(storage, rows: int, dim: int, rs: int, cs: int):
    """Row ranges of a (rows, dim) table, strides (rs, cs) >= 0, each spanning at most one binding
    (the whole table when its buffer fits one)."""
    rt = runtime.get()
    if storage.nbytes <= rt.max_binding:
        yield 0, rows
        return
    room = (rt.max_binding - rt.storage_align) // 4 - (dim - 1) * cs - 1
    per = rows if rs == 0 else max(1, room // rs + 1)
    for r0 in range(0, rows, per):
        yield r0, min(rows, r0 + per)


def embedding_backward(gy: GpuArray, ids, num_embeddings: int, padding_idx: int | None) -> GpuArray:
    """Gradient of the table, (num_embeddings, dim): row r sums the rows of `gy`
    (ids.shape + (dim,)) whose id is r; rows never looked up and `padding_idx` stay zero."""
    op = "embedding_backward"
    check_type(op, "grad", gy)
    if gy.ndim == 0:
        raise ValueError("embedding_backward: grad is 0-d")
    if not gy.is_contiguous:
        raise ValueError(f"embedding_backward: grad must be contiguous, got strides {gy.strides} for shape {gy.shape}")
    dim = gy.shape[-1]
    dev_ids = _device_ids(op, ids, num_embeddings)
    if gy.size != dev_ids.size * dim:
        raise ValueError(
            f"embedding_backward: gradient holds {gy.size} elements (shape {gy.shape}), "
            f"expected {dev_ids.size * dim} for ids of shape {dev_ids.shape} and dim {dim}"
        )
    out = GpuArray.empty((num_embeddings, dim))
    if out.size == 0:
        return out
    rt = runtime.get()
    out.fill(0.0)
    total = gy.size
    if total == 0:
        return out
    pad = padding_idx if padding_idx is not None and 0 <= padding_idx < 2**31 else -1
    for (ids_bind, ids_off), (g_bind, g_off), count in _id_chunks(dev_ids, gy, dim):
        grid = runtime.grid_1d(-(-count * dim // GROUP), rt.max_workgroups)
        for r0, r1 in _row_blocks(out.storage, num_embeddings, dim, dim, 1):
            d_bind, base = rt.window(out.storage, r0 * dim, r1 * dim)
            params = runtime.pack(count * dim, dim, num_embeddings, ids_off, g_off, pad, r0, r1,
                                  r0 * dim - base, 0, 0, 0, fmt="IIIIIiIIIIII")
            rt.launch(rt.pipeline("embedding_backward"), [g_bind, ids_bind, d_bind], grid, params)
    return out


def _device_ids(op: str, ids, rows: int) -> GpuArray:
    """ids as a contiguous int32 GpuArray; host ids are range-checked first (ValueError)."""
    if isinstance(ids, GpuArray):
        if ids.stored_dtype != np.int32:  # int64 tensors live on the device as int32
            raise TypeError(f"{op}: device ids must be int32 or int64, got {ids.dtype}")
        if not ids.is_contiguous:
            raise ValueError(f"{op}: ids must be contiguous, got strides {ids.strides} for shape {ids.shape}")
        return ids
    host = np.asarray(ids)
    if not np.issubdtype(host.dtype, np.integer):
        raise TypeError(f"{op}: ids must be integers, got {host.dtype}")
    bad = np.flatnonzero((host < 0) | (host >= rows))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"embedding: index {host.reshape(-1)[i]} at position {i} is out of range for {rows} embeddings")
    return GpuArray.from_numpy(host.astype(np.int32))
