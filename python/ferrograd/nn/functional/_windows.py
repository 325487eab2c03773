"""Gather patterns shared by resample.py and pooling.py.

Every resampling op here is "pick input positions along one dim, maybe weight them, sum": an
`index_select` with host-computed positions, a reshape and a weighted sum. Built from registered
Tensor ops, the result is differentiable (index_select's backward is an index_add) and runs on
whatever device the input lives on; only the small position/weight tables are computed in numpy.
"""

from __future__ import annotations

import numpy as np

from ...tensor import Tensor, tensor


def const(like: Tensor, array, dtype=None) -> Tensor:
    """A constant (no grad) tensor from a host array, on `like`'s device."""
    return tensor(np.asarray(array), dtype=dtype, device=like.device)


def is_identity(idx: np.ndarray, w) -> bool:
    """True when taps (idx, w) copy the dim unchanged: one tap per output, position i, weight 1."""
    out = idx.shape[0]
    if w is None:
        return idx.shape[1] == 1 and np.array_equal(idx[:, 0], np.arange(out))
    return bool(np.array_equal(idx[:, 0], np.arange(out)) and np.all(w[:, 0] == 1) and np.all(w[:, 1:] == 0))


def along(x: Tensor, dim: int, idx: np.ndarray, w=None) -> Tensor:
    """out[..., i, ...] = sum_t w[i, t] * x[..., idx[i, t], ...] along `dim` (w None: one tap, no
    weights). idx, w: (out, T) host arrays; idx entries in [0, x.shape[dim])."""
    n_out, taps = idx.shape
    if x.shape[dim] == n_out and is_identity(idx, w):
        return x
    y = x.index_select(dim, const(x, idx.reshape(-1).astype(np.int64)))
    if w is None and taps == 1:
        return y
    shape = tuple(x.shape[:dim]) + (n_out, taps) + tuple(x.shape[dim + 1:])
    y = y.reshape(shape)
    if w is None:
        raise ValueError("along: several taps need weights")
    wt = const(x, np.asarray(w).reshape((n_out, taps) + (1,) * (x.ndim - dim - 1)), dtype=x.dtype)
    return (y * wt).sum(dim + 1)


def windows(x: Tensor, positions) -> Tensor:
    """Sliding (or adaptive) windows of x (N, C, *S): positions[i] is an (o_i, k_i) host array of
    positions along spatial dim i. Returns (N, C, *o, K) with K = prod(k_i), window elements in
    row-major (k_1, k_2, ...) order."""
    nd = len(positions)
    for i, pos in enumerate(positions):
        x = x.index_select(2 + i, const(x, pos.reshape(-1).astype(np.int64)))
    outs = [p.shape[0] for p in positions]
    ks = [p.shape[1] for p in positions]
    split = tuple(x.shape[:2]) + tuple(v for o, k in zip(outs, ks) for v in (o, k))
    x = x.reshape(split)  # (N, C, o1, k1, o2, k2, ...)
    perm = (0, 1) + tuple(2 + 2 * i for i in range(nd)) + tuple(3 + 2 * i for i in range(nd))
    x = x.permute(perm)  # (N, C, o1, o2, ..., k1, k2, ...)
    return x.reshape(tuple(x.shape[:2 + nd]) + (int(np.prod(ks)),))


def flat_positions(positions, sizes) -> np.ndarray:
    """For windows(): the flat index (row-major over the spatial `sizes`) of every window element,
    shape (*o, K); positions here are in the unpadded input's coordinates."""
    nd = len(positions)
    strides = [int(np.prod(sizes[i + 1:])) for i in range(nd)]
    table = np.zeros([p.shape[0] for p in positions] + [p.shape[1] for p in positions], dtype=np.int64)
    for i, (pos, st) in enumerate(zip(positions, strides)):
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = pos.shape
        table = table + (pos * st).reshape(shape)
    return table.reshape([p.shape[0] for p in positions] + [-1])


def adaptive_positions(n_in: int, n_out: int):
    """torch's adaptive pooling windows along one dim: [floor(i*n/o), ceil((i+1)*n/o)). Returns
    (positions (o, K), counts (o,)), short windows padded by repeating their last position."""
    i = np.arange(n_out)
    start = (i * n_in) // n_out
    end = -((-(i + 1) * n_in) // n_out)
    counts = end - start
    k = int(counts.max()) if n_out else 1
    pos = np.minimum(start[:, None] + np.arange(k)[None, :], end[:, None] - 1)
    return pos, counts
