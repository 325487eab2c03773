"""Scans, sorting and data-dependent selection on GpuArrays against numpy: cumsum / cumprod,
sort / argsort / topk / searchsorted, flip / roll / repeat / tile / diag / diagonal / tril /
triu, nonzero / argwhere / unique / bincount. Random, empty, 0-d and 1-d inputs, strided views
(transposed, sliced, reversed), several dtypes, ties (stability), NaNs, rows long enough for the
multi-pass paths, and buffers larger than one storage binding (the limit lowered to 4 KiB)."""

import os
import sys

import numpy as np
import pytest

from ferrograd.wgpu import runtime, scan, sort
from ferrograd.wgpu.array import GpuArray

# wgpu_views.py sits next to this file; pytest's importlib mode puts no test folder on sys.path
sys.path.insert(0, os.path.dirname(__file__))
from wgpu_views import flipped, permuted, sliced, small_grid_limit  # noqa: E402

DTYPES = [np.float32, np.int32, np.int64, np.bool_]
LIMIT = 4096  # bytes: the lowered storage-binding size of the large-tensor tests


def dev(a, dtype=None):
    return GpuArray.from_numpy(np.asarray(a) if dtype is None else np.asarray(a, dtype))


def views(a):
    """(name, GpuArray, the same values in numpy): contiguous and strided layouts of a (2-D+)."""
    dt = a.dtype
    order = tuple(reversed(range(a.ndim)))
    yield "contiguous", dev(a), a
    yield "transposed", permuted(a, order, dt), a
    yield "sliced", sliced(a, dt), a
    yield "reversed", flipped(a, a.ndim - 1, dt), a


def sample(rng, shape, dtype, special=True):
    """Values with many ties; floats also hold NaN, +-inf and -0.0 when `special`."""
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    a = rng.integers(-4, 5, shape).astype(dt)
    if dt.kind == "f" and special and a.size >= 8:
        flat = a.reshape(-1)
        spots = rng.choice(flat.size, 6, replace=False)
        flat[spots] = [np.nan, -np.inf, np.inf, -0.0, np.nan, 0.0]
    return a


def same(got, want):
    """Equal values, NaNs in the same places, same dtype and shape."""
    assert isinstance(got, GpuArray), type(got)
    host = got.numpy()
    want = np.asarray(want)
    assert host.shape == want.shape, (host.shape, want.shape)
    assert host.dtype == want.dtype, (host.dtype, want.dtype)
    np.testing.assert_array_equal(host, want)


def close(got, want, n):
    host = got.numpy()
    assert host.shape == want.shape and host.dtype == want.dtype, (host.shape, host.dtype, want.shape, want.dtype)
    np.testing.assert_allclose(host, want, rtol=1e-5, atol=1e-6 * max(1, n) ** 0.5 * (np.abs(want).max(initial=1)))


@pytest.fixture
def small_bindings(monkeypatch):
    rt = runtime.get()
    rt.flush()
    monkeypatch.setitem(rt.limits, "max-storage-buffer-binding-size", LIMIT)
    yield rt
    rt.flush()


# ---- cumsum / cumprod ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_cumsum_and_cumprod_along_every_axis_of_strided_views(dtype):
    rng = np.random.default_rng(0)
    x = sample(rng, (6, 45), dtype, special=False)  # rows of 45 (a workgroup each) and of 6 (a thread each)
    for name, g, a in views(x):
        for axis in (0, 1, -1, None):
            same(np.cumsum(g, axis=axis), np.cumsum(a, axis=axis))
    small = rng.choice([-1, 1, 1, 1, 2], (3, 4, 5)).astype(dtype)  # products within int32
    for axis in (0, 1, 2, None):
        same(np.cumprod(dev(small), axis=axis), np.cumprod(small, axis=axis))
        same(np.cumprod(permuted(small, (2, 0, 1), small.dtype), axis=axis), np.cumprod(small, axis=axis))


def test_float_cumsum_and_cumprod_agree_to_rounding_and_propagate_nan():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3000)).astype(np.float32)
    for axis in (0, 1):
        want = np.cumsum(x.astype(np.float64), axis=axis).astype(np.float32)
        close(np.cumsum(dev(x), axis=axis), want, x.shape[axis])
    p = rng.uniform(0.9, 1.1, (5, 300)).astype(np.float32)
    close(np.cumprod(dev(p), axis=1), np.cumprod(p.astype(np.float64), axis=1).astype(np.float32), 300)
    x[1, 100] = np.nan
    got = np.cumsum(dev(x), axis=1).numpy()
    assert np.isnan(got[1, 100:]).all() and not np.isnan(got[1, :100]).any() and not np.isnan(got[0]).any()


def test_scan_dtypes_out_and_methods():
    b = np.array([[True, False, True], [True, True, False]])
    same(np.cumsum(dev(b), axis=1), np.cumsum(b, axis=1))  # bool -> int64
    i = np.arange(6, dtype=np.int32).reshape(2, 3)
    same(np.cumsum(dev(i)), np.cumsum(i))  # int32 -> int64
    same(np.cumsum(dev(i), axis=0, dtype=np.float32), np.cumsum(i, axis=0, dtype=np.float32))
    out = GpuArray.empty((2, 3), np.int64)
    assert np.cumprod(dev(i) + 1, axis=1, out=out) is out
    same(out, np.cumprod(i + 1, axis=1))
    same(dev(i).cumsum(axis=1), i.cumsum(axis=1))
    same(np.cumulative_sum(dev(i), axis=1, include_initial=True), np.cumulative_sum(i, axis=1, include_initial=True))
    w = np.array([1, -2, 3], np.int64)
    same(np.cumsum(dev(w)), np.cumsum(w))


def test_scan_empty_0d_and_1d():
    for shape, axis in [((0,), 0), ((0, 5), 0), ((5, 0), 1), ((3, 0, 2), 2), ((0, 3), None)]:
        a = np.ones(shape, np.float32)
        same(np.cumsum(dev(a), axis=axis), np.cumsum(a, axis=axis))
    z = np.array(2.5, np.float32)
    for axis in (None, 0, -1):
        same(np.cumsum(dev(z), axis=axis), np.cumsum(z, axis=axis))
    one = np.array([3], np.int32)
    same(np.cumprod(dev(one)), np.cumprod(one))
    with pytest.raises(np.exceptions.AxisError, match="cumsum"):
        np.cumsum(dev(np.ones((2, 3), np.float32)), axis=2)


def test_cumsum_over_a_reversed_view():
    x = np.arange(40, dtype=np.float32).reshape(4, 10)
    g = dev(x)
    same(np.cumsum(np.flip(g, 1), axis=1), np.cumsum(x[:, ::-1], axis=1))
    same(np.cumsum(g[::-1, ::-2], axis=0), np.cumsum(x[::-1, ::-2], axis=0))


@pytest.mark.parametrize("block", [300, 40])
def test_long_rows_take_the_multi_pass_scan(monkeypatch, block):
    # block 300: rows of 5000 are 17 blocks; block 40: 125 blocks, whose totals scan in blocks again.
    monkeypatch.setattr(scan, "BLOCK", block)
    rng = np.random.default_rng(2)
    i = rng.integers(-100, 100, (3, 5000)).astype(np.int32)
    same(np.cumsum(dev(i), axis=1), np.cumsum(i, axis=1))
    same(np.cumsum(dev(i.T.copy()).T, axis=1), np.cumsum(i, axis=1))  # strided rows
    f = rng.standard_normal(5000).astype(np.float32)
    close(np.cumsum(dev(f)), np.cumsum(f.astype(np.float64)).astype(np.float32), 5000)
    p = np.where(rng.random(5000) < 0.002, -1, 1).astype(np.int64)
    same(np.cumprod(dev(p)), np.cumprod(p))


def test_a_row_longer_than_one_default_block():
    x = np.random.default_rng(3).integers(-9, 9, 20000).astype(np.int32)
    same(np.cumsum(dev(x)), np.cumsum(x))


# ---- sort / argsort --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES + [np.uint32])
def test_sort_and_argsort_are_stable_like_numpy(dtype):
    rng = np.random.default_rng(4)
    x = sample(rng, (7, 33), dtype)
    for name, g, a in views(x):
        for axis in (0, 1, None):
            same(np.argsort(g, axis=axis), np.argsort(a, axis=axis, kind="stable"))
            same(np.sort(g, axis=axis), np.sort(a, axis=axis, kind="stable"))


def test_sort_keeps_nan_last_and_zero_signs_in_order():
    x = np.array([np.nan, 0.0, -np.inf, -0.0, 1.0, np.nan, np.inf, -0.0, -1.0], np.float32)
    v, i = sort.sort(dev(x))
    same(i, np.argsort(x, kind="stable"))
    assert np.array_equal(np.signbit(v.numpy()), np.signbit(np.sort(x, kind="stable")))


def _descending_reference(a, axis):
    """Stable descending order: by dense rank of the value (NaN one value, the largest)."""
    rank = np.unique(a, return_inverse=True)[1].reshape(a.shape)
    return np.argsort(-rank, axis=axis, kind="stable")


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_descending_sort_is_stable_with_nan_first(dtype):
    rng = np.random.default_rng(5)
    x = sample(rng, (5, 40), dtype)
    for axis in (0, 1):
        v, i = sort.sort(dev(x), axis, descending=True)
        want = _descending_reference(x, axis)
        same(i, want)
        same(v, np.take_along_axis(x, want, axis))


@pytest.mark.parametrize("tile", [64, None])
def test_long_rows_take_the_multi_pass_merge(monkeypatch, tile):
    # tile 64: rows of 1000 are 16 sorted tiles and four merge passes; None: the device's tile
    # (2048 on most adapters) and a row of 5000.
    monkeypatch.setattr(sort, "TILE", tile)
    rng = np.random.default_rng(6)
    n = 1000 if tile else 5000
    x = sample(rng, (3, n), np.float32)
    x[1] = rng.standard_normal(n).astype(np.float32)
    same(np.argsort(dev(x), axis=1), np.argsort(x, axis=1, kind="stable"))
    same(np.sort(flipped(x, 1, np.float32), axis=1), np.sort(x, axis=1))
    v, i = sort.sort(permuted(x, (1, 0), np.float32), 1, descending=True)
    same(i, _descending_reference(x, 1))
    if tile:
        y = sample(rng, (n, 2), np.int32)
        same(np.argsort(dev(y), axis=0), np.argsort(y, axis=0, kind="stable"))


def test_sort_empty_0d_1d_and_in_place():
    for shape, axis in [((0,), 0), ((4, 0), 1), ((0, 4), 1), ((0, 4), 0), ((3,), 0), ((1,), 0), ((2, 1), 1)]:
        a = np.arange(np.prod(shape), dtype=np.float32)[::-1].reshape(shape)
        same(np.sort(dev(a), axis=axis), np.sort(a, axis=axis))
        same(np.argsort(dev(a), axis=axis), np.argsort(a, axis=axis, kind="stable"))
    z = np.array(3.0, np.float32)
    same(np.sort(dev(z), axis=None), np.sort(z, axis=None))
    same(np.argsort(dev(z)), np.argsort(z))
    with pytest.raises(np.exceptions.AxisError):
        np.sort(dev(z))
    v, i = sort.sort(dev(z), 0)  # torch.sort of a 0-d tensor: 0-d results
    assert v.shape == () and i.shape == () and v.item() == 3.0 and i.item() == 0
    x = np.array([[3, 1, 2], [0, -1, 5]], np.int32)
    g = dev(x)
    g.sort(axis=1)
    x.sort(axis=1)
    same(g, x)
    with pytest.raises(TypeError, match="order"):
        np.sort(dev(x), order="f")


def test_topk_largest_and_smallest():
    rng = np.random.default_rng(7)
    x = sample(rng, (6, 50), np.float32)
    g = dev(x)
    for k in (0, 1, 7, 50):
        v, i = sort.topk(g, k, axis=1)
        want = _descending_reference(x, 1)[:, :k]
        same(i, want)
        same(v, np.take_along_axis(x, want, 1))
        assert v.is_contiguous and i.is_contiguous
        v, i = sort.topk(g, k, axis=0, largest=False) if k <= 6 else (None, None)
        if v is not None:
            want = np.argsort(x, axis=0, kind="stable")[:k]
            same(i, want)
    with pytest.raises(ValueError, match=r"topk: k must be an int in \[0, 50\]"):
        sort.topk(g, 51)


def test_sort_folds_grids_over_the_workgroup_limit(monkeypatch):
    small_grid_limit(monkeypatch, 7)
    rng = np.random.default_rng(8)
    x = sample(rng, (40, 45), np.int32)  # 40 workgroups: a 7 x 6 grid
    same(np.argsort(dev(x), axis=1), np.argsort(x, axis=1, kind="stable"))
    same(np.cumsum(dev(x), axis=1), np.cumsum(x, axis=1))
    same(np.cumsum(dev(x[:, :9]), axis=1), np.cumsum(x[:, :9], axis=1))


def test_sort_topk_and_searchsorted_match_torch():
    f = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "sort_torch.npz"))
    x = dev(f["x"])
    for dim in (0, 1):
        for order in ("asc", "desc"):
            v, i = sort.sort(x, dim, descending=order == "desc", stable=True)
            same(i, f[f"sort_d{dim}_{order}_indices"])
            same(v, f[f"sort_d{dim}_{order}_values"])
    for name, largest in (("topk", True), ("bottomk", False)):
        v, i = sort.topk(dev(f["u"]), 6, 1, largest=largest)
        same(i, f[f"{name}_indices"])
        same(v, f[f"{name}_values"])
    for side in ("left", "right"):
        same(sort.searchsorted(dev(f["seq"]), dev(f["vals"]), side=side), f[f"searchsorted_{side}"])


# ---- searchsorted ----------------------------------------------------------------------------
def test_searchsorted_sides_nan_sorter_and_batches():
    a = np.array([-np.inf, -1.0, 0.0, 0.0, 2.5, 7.0, np.nan], np.float32)
    v = np.array([[np.nan, -0.0, 0.0, 2.5], [-5.0, 100.0, -np.inf, 7.0]], np.float32)
    for side in ("left", "right"):
        same(np.searchsorted(dev(a), dev(v), side=side), np.searchsorted(a, v, side=side))
        same(np.searchsorted(dev(a), v, side=side), np.searchsorted(a, v, side=side))  # host values
    ints = np.array([1, 3, 3, 9], np.int64)
    same(np.searchsorted(dev(ints), dev(np.array([3.5, 3.0, 0.0], np.float32))), np.searchsorted(ints, [3.5, 3.0, 0.0]))
    same(dev(ints).searchsorted(3, side="right"), np.asarray(np.searchsorted(ints, 3, side="right")))
    rng = np.random.default_rng(9)
    u = rng.integers(0, 20, 30).astype(np.float32)
    order = np.argsort(u, kind="stable")
    q = rng.integers(-2, 22, 17).astype(np.float32)
    same(np.searchsorted(dev(u), dev(q), sorter=order), np.searchsorted(u, q, sorter=order))
    seq = np.sort(rng.integers(0, 9, (2, 3, 8)), axis=-1).astype(np.int32)
    vals = rng.integers(-1, 10, (2, 3, 5)).astype(np.int32)
    got = sort.searchsorted(dev(seq), dev(vals), side="right")
    want = np.stack([np.searchsorted(s, w, side="right") for s, w in zip(seq.reshape(-1, 8), vals.reshape(-1, 5))])
    same(got, want.reshape(2, 3, 5))
    same(np.searchsorted(dev(np.zeros(0, np.float32)), dev(q)), np.zeros(17, np.int64))
    with pytest.raises(ValueError, match="side"):
        np.searchsorted(dev(a), dev(v), side="middle")


# ---- flip / roll / repeat / tile / diag / tril -----------------------------------------------
def test_flip_is_a_negative_stride_view():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    g = dev(x)
    for axis in (None, 0, 2, -1, (0, 2)):
        f = np.flip(g, axis)
        assert f.storage is g.storage
        same(f, np.flip(x, axis))
    same(np.fliplr(g), np.fliplr(x))
    same(np.flipud(g), np.flipud(x))
    same(np.flip(g, 1) * 2, np.flip(x, 1) * 2)


def test_roll():
    x = np.arange(30, dtype=np.int64).reshape(5, 6)
    g = dev(x)
    for shift, axis in [(2, None), (-7, None), (1, 0), (-2, 1), (13, 1), ((1, -2), (0, 1)), ((1, 2), (1, 1)), (0, 0),
                        (3, -1)]:
        same(np.roll(g, shift, axis), np.roll(x, shift, axis))
    same(np.roll(g.T, 2, 0), np.roll(x.T, 2, 0))
    same(np.roll(dev(np.zeros((0, 3), np.float32)), 1, 0), np.zeros((0, 3), np.float32))


def test_repeat_with_int_host_and_device_repeats():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    g = dev(x)
    for reps, axis in [(2, None), (3, 0), (2, 1), (0, 1), ([1, 0, 2], 0), (np.array([2, 1, 0, 3]), 1), ([3], 0)]:
        same(np.repeat(g, reps, axis), np.repeat(x, reps, axis))
    r = np.array([2, 0, 1])
    same(np.repeat(g, dev(r), 0), np.repeat(x, r, 0))
    same(g.T.repeat(2, axis=1), x.T.repeat(2, axis=1))
    b = np.array([True, False])
    same(np.repeat(dev(b), 3), np.repeat(b, 3))
    with pytest.raises(ValueError, match="repeat"):
        np.repeat(g, [1, 2], 0)


def test_tile():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    g = dev(x)
    for reps in [2, (2, 1), (1, 3), (2, 1, 2), (0, 2), (1, 1)]:
        same(np.tile(g, reps), np.tile(x, reps))
    same(np.tile(g.T, (2, 2)), np.tile(x.T, (2, 2)))
    v = np.array([1.5, 2.5], np.float32)
    same(np.tile(dev(v), (3, 2)), np.tile(v, (3, 2)))


def test_diag_and_diagonal():
    x = np.arange(20, dtype=np.float32).reshape(4, 5)
    g = dev(x)
    for k in (0, 1, 4, 5, -1, -3, -4):
        same(np.diag(g, k), np.diag(x, k))
        same(np.diagonal(g, k), np.diagonal(x, k))
    v = np.array([1, 2, 3], np.int64)
    for k in (0, 2, -1):
        same(np.diag(dev(v), k), np.diag(v, k))
    b = np.arange(2 * 3 * 4, dtype=np.int32).reshape(2, 3, 4)
    for off, a1, a2 in [(0, 1, 2), (1, 2, 1), (-1, 0, 2)]:
        same(np.diagonal(dev(b), off, a1, a2), np.diagonal(b, off, a1, a2))
    same(g.T.diagonal(1), x.T.diagonal(1))
    d = np.diagonal(g)  # a view that writes through
    d[...] = 0
    want = x.copy()
    np.fill_diagonal(want, 0)
    same(g, want)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_tril_and_triu_batched(dtype):
    rng = np.random.default_rng(10)
    x = sample(rng, (2, 4, 5), dtype, special=False)
    for k in (0, 1, -2, 7, -7):
        same(np.tril(dev(x), k), np.tril(x, k))
        same(np.triu(permuted(x, (0, 2, 1), x.dtype), k), np.triu(x, k))
    v = sample(rng, (4,), dtype, special=False)
    same(np.tril(dev(v)), np.tril(v))


# ---- nonzero / argwhere / unique / bincount --------------------------------------------------
def test_nonzero_argwhere_flatnonzero_with_one_readback():
    rng = np.random.default_rng(11)
    rt = runtime.get()
    for shape in [(17,), (4, 9), (3, 4, 5)]:
        x = (rng.random(shape) < 0.3) * rng.integers(1, 5, shape)
        x = x.astype(np.float32)
        for name, g, a in views(x) if x.ndim > 1 else [("1-d", dev(x), x)]:
            rt.flush()
            before = rt.reads
            got = np.nonzero(g)
            assert rt.reads - before == 1  # the count
            assert len(got) == x.ndim
            for c, w in zip(got, np.nonzero(a)):
                same(c, w)
            same(np.argwhere(g), np.argwhere(a))
            same(np.flatnonzero(g), np.flatnonzero(a))
            same(np.count_nonzero(g, axis=0), np.count_nonzero(a, axis=0))
    b = np.array([[True, False], [False, False]])
    same(np.argwhere(dev(b)), np.argwhere(b))
    for z in (np.zeros((3, 4), np.int32), np.zeros((0, 2), np.float32)):
        for c, w in zip(np.nonzero(dev(z)), np.nonzero(z)):
            same(c, w)
        same(np.argwhere(dev(z)), np.argwhere(z))
    same(np.argwhere(dev(np.array(2.0, np.float32))), np.argwhere(np.array(2.0)))
    with pytest.raises(ValueError, match="0d"):
        np.nonzero(dev(np.array(1.0, np.float32)))


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.bool_])
def test_unique_with_index_inverse_and_counts(dtype):
    rng = np.random.default_rng(12)
    x = sample(rng, (6, 7), dtype)
    for name, g, a in views(x):
        got = np.unique(g, return_index=True, return_inverse=True, return_counts=True)
        want = np.unique(a, return_index=True, return_inverse=True, return_counts=True)
        for gg, w in zip(got, want):
            same(gg, w)
        same(np.unique(g), np.unique(a))
    if dtype == np.float32:
        got = np.unique(dev(x), return_counts=True, equal_nan=False)
        for gg, w in zip(got, np.unique(x, return_counts=True, equal_nan=False)):
            same(gg, w)


def test_unique_empty_single_and_errors():
    e = np.zeros((0, 3), np.float32)
    for gg, w in zip(np.unique(dev(e), return_index=True, return_inverse=True, return_counts=True),
                     np.unique(e, return_index=True, return_inverse=True, return_counts=True)):
        same(gg, w)
    one = np.array([5], np.int32)
    same(np.unique(dev(one)), np.unique(one))
    with pytest.raises(TypeError, match="unique: axis"):
        np.unique(dev(np.ones((2, 2), np.float32)), axis=0)


def test_bincount():
    rng = np.random.default_rng(13)
    x = rng.integers(0, 10, 200)
    same(np.bincount(dev(x)), np.bincount(x))
    same(np.bincount(dev(x.astype(np.int32)), minlength=15), np.bincount(x, minlength=15))
    w = rng.standard_normal(200).astype(np.float32)
    got = np.bincount(dev(x), weights=dev(w)).numpy()
    np.testing.assert_allclose(got, np.bincount(x, weights=w), rtol=1e-5, atol=1e-5)
    same(np.bincount(dev(np.zeros(0, np.int64)), minlength=3), np.bincount(np.zeros(0, np.int64), minlength=3))
    b = np.array([True, False, True])
    same(np.bincount(dev(b)), np.bincount(b))
    with pytest.raises(ValueError, match="negative"):
        np.bincount(dev(np.array([1, -1])))
    with pytest.raises(ValueError, match="1-D"):
        np.bincount(dev(np.ones((2, 2), np.int64)))


# ---- buffers larger than one storage binding -------------------------------------------------
def test_scans_split_across_rows_of_arrays_larger_than_a_binding(small_bindings):
    rng = np.random.default_rng(14)
    x = rng.integers(-50, 50, (37, 129)).astype(np.int32)  # 18.6 KiB
    g = dev(x)
    same(np.cumsum(g, axis=1), np.cumsum(x, axis=1))
    same(np.cumsum(g, axis=0), np.cumsum(x, axis=0))  # rows strided across the buffer: compact copies
    same(np.cumsum(g.T, axis=1), np.cumsum(x.T, axis=1))
    same(np.cumsum(g[::-1, 3:], axis=1), np.cumsum(x[::-1, 3:], axis=1))
    same(np.cumsum(g), np.cumsum(x))  # one row of 4773: chunks of a row, each started from the last
    same(np.cumprod(np.sign(g.T) + (g.T == 0), axis=None), np.cumprod(np.sign(x.T) + (x.T == 0), axis=None))


def test_sorts_split_across_rows_of_arrays_larger_than_a_binding(small_bindings, monkeypatch):
    rng = np.random.default_rng(15)
    x = sample(rng, (37, 129), np.float32)
    g = dev(x)
    same(np.argsort(g, axis=1), np.argsort(x, axis=1, kind="stable"))
    same(np.sort(g, axis=0), np.sort(x, axis=0))
    monkeypatch.setattr(sort, "TILE", 32)  # the multi-pass merge, its work buffers split too
    same(np.argsort(g, axis=1), np.argsort(x, axis=1, kind="stable"))
    v, i = sort.sort(g.T, 0, descending=True)
    same(i, _descending_reference(x.T, 0))
    with pytest.raises(ValueError, match=r"sort: one row of 4773 elements .*4096"):
        np.sort(g, axis=None)
    s = np.sort(x[0, :100])
    q = rng.standard_normal(3000).astype(np.float32)
    same(np.searchsorted(dev(s), dev(q)), np.searchsorted(s, q))


def test_selection_on_arrays_larger_than_a_binding(small_bindings):
    rng = np.random.default_rng(16)
    x = ((rng.random((40, 100)) < 0.4) * rng.integers(-3, 4, (40, 100))).astype(np.int32)
    g = dev(x)
    for c, w in zip(np.nonzero(g), np.nonzero(x)):
        same(c, w)
    row = x[3]
    got = np.unique(dev(row), return_inverse=True, return_counts=True)
    for gg, w in zip(got, np.unique(row, return_inverse=True, return_counts=True)):
        same(gg, w)
