"""GpuArray against numpy: ufuncs with broadcasting over strided operands, reductions, views,
indexing (gather / scatter / add.at), casts, in-place ops, and no implicit host copies."""

import numpy as np
import pytest
from scipy.special import erf

from ferrograd.wgpu.array import GpuArray

RTOL = ATOL = 2e-5


def dev(a):
    return GpuArray.from_numpy(np.asarray(a))


def check(got, want, tol=RTOL):
    assert isinstance(got, GpuArray)
    host = got.numpy()
    assert host.shape == np.shape(want), (host.shape, np.shape(want))
    assert host.dtype == np.asarray(want).dtype, (host.dtype, np.asarray(want).dtype)
    np.testing.assert_allclose(host, want, rtol=tol, atol=tol)


def rand(rng, shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, shape).astype(np.float32)


BROADCAST = [((7,), (7,)), ((3, 1, 5), (4, 1)), ((2, 3, 1, 5, 1, 3), (1, 4, 1, 2, 3)), ((1,), (3, 5)), ((), (2, 3))]


@pytest.mark.parametrize("sa, sb", BROADCAST)
@pytest.mark.parametrize("op", [np.add, np.subtract, np.multiply, np.divide, np.maximum, np.minimum, np.power])
def test_binary_ufuncs_broadcast(op, sa, sb):
    rng = np.random.default_rng(len(sa) * 10 + len(sb))
    a = rand(rng, sa, 0.5, 2.0) if op is np.power else rand(rng, sa)
    b = rand(rng, sb)
    check(op(dev(a), dev(b)), op(a, b), 1e-4)


@pytest.mark.parametrize("op", [np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal])
def test_comparisons_give_bool(op):
    rng = np.random.default_rng(0)
    a, b = rng.integers(-2, 3, (5, 3)).astype(np.float32), rng.integers(-2, 3, (3,)).astype(np.float32)
    check(op(dev(a), dev(b)), op(a, b))
    check(op(dev(a), 0.5), op(a, 0.5))


@pytest.mark.parametrize("op", [np.exp, np.log, np.sqrt, np.tanh, np.abs, np.sign, np.negative, np.log1p,
                                np.expm1, np.square, np.floor, erf])
def test_unary_ufuncs(op):
    rng = np.random.default_rng(1)
    a = rand(rng, (3, 7, 5))
    if op in (np.log, np.sqrt, np.log1p):
        a = np.abs(a) + 0.1
    check(op(dev(a)), op(a), 1e-5)


def test_power_of_negative_base_with_integer_exponent():
    a = np.array([-2.0, -0.5, 0.0, 1.5], np.float32)
    check(dev(a) ** 3, a**3, 1e-5)
    check(dev(a) ** 2.0, a**2, 1e-6)


def test_scalars_are_weak_and_ints_promote_like_numpy():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    check(dev(a) * 2, a * 2)
    check(dev(a) * 0.5, (a * 0.5).astype(np.float32))  # float64 results live as float32
    check(dev(a) / 4, (a / 4).astype(np.float32))
    check(dev(np.float32([1, 2])) * np.float64(3), np.float32([3, 6]))
    ids = np.array([3, -1, 7], np.int64)
    check(dev(ids) + 1, ids + 1)


def test_strided_inputs_and_outputs():
    rng = np.random.default_rng(2)
    a = rand(rng, (6, 5, 4))
    g = dev(a)
    view = g.transpose(2, 0, 1)[::2, 1:, ::-1]
    check(view * 2, a.transpose(2, 0, 1)[::2, 1:, ::-1] * 2)
    out = dev(np.zeros((4, 6), np.float32))
    np.add(g[:, 0, :].T, 1.0, out=out)
    check(out, a[:, 0, :].T + 1)


def test_in_place_operators_and_aliasing():
    rng = np.random.default_rng(3)
    a = rand(rng, (5, 4))
    g = dev(a)
    g += 1
    g *= g  # same buffer as input and output
    want = (a + 1) * (a + 1)
    check(g, want)
    g[1:] = g[:-1]  # overlapping views: computed through a temporary
    want[1:] = want[:-1].copy()
    check(g, want)


@pytest.mark.parametrize("axis", [None, 0, 1, 2, (0, 2), (1, 2), -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(axis, keepdims):
    rng = np.random.default_rng(4)
    a = rand(rng, (3, 67, 5))
    g = dev(a)
    for name in ("sum", "mean", "max", "min"):
        check(getattr(g, name)(axis=axis, keepdims=keepdims), np.asarray(getattr(a, name)(axis=axis, keepdims=keepdims)), 1e-4)
    check(np.var(g, axis=axis, keepdims=keepdims, ddof=1), np.asarray(np.var(a, axis=axis, keepdims=keepdims, ddof=1)), 1e-4)


def test_reductions_of_views_bools_and_ints():
    rng = np.random.default_rng(5)
    a = rand(rng, (9, 300))
    g = dev(a)
    check(g.T[::3].sum(axis=0), a.T[::3].sum(axis=0), 1e-4)
    check((g > 0).sum(axis=1), (a > 0).sum(axis=1))
    check((g > 0).any(axis=0), (a > 0).any(axis=0))
    check((g > -5).all(), np.asarray((a > -5).all()))
    i = rng.integers(-9, 9, (4, 5)).astype(np.int64)
    check(dev(i).sum(axis=0), i.sum(axis=0))
    check(dev(i).max(), np.asarray(i.max()))


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_argmax_argmin_first_index_on_ties(axis):
    a = np.array([[1, 3, 3, 0], [2, 2, -1, 2], [0, 0, 0, 0]], np.float32)
    check(np.argmax(dev(a), axis=axis), np.asarray(np.argmax(a, axis=axis)))
    check(np.argmin(dev(a), axis=axis), np.asarray(np.argmin(a, axis=axis)))


def test_basic_indexing_is_a_view():
    rng = np.random.default_rng(6)
    a = rand(rng, (4, 5, 6))
    g = dev(a)
    for key in [1, (slice(1, None), 2), (Ellipsis, -1), (None, slice(None, None, -2), 0, None), (slice(None), slice(4, 1, -1))]:
        v = g[key]
        assert v.storage is g.storage
        check(v, a[key])


def test_integer_array_indexing_gathers():
    rng = np.random.default_rng(7)
    a = rand(rng, (5, 6, 7))
    g = dev(a)
    i = np.array([[0, 4], [-1, 2]])
    j = np.array([1, 5])
    for key in [i, (slice(None), j), (i, slice(1, 3), j), (i, j), (0, slice(None), j), (slice(None), j, 2)]:
        check(g[key], a[key])
    check(g[dev(np.array([2, 0, 2], np.int64))], a[[2, 0, 2]])
    check(g[[1, 3]], a[[1, 3]])
    mask = a[:, 0, 0] > 0
    check(g[mask], a[mask])


def test_index_errors_name_the_axis():
    g = dev(np.zeros((3, 4), np.float32))
    with pytest.raises(IndexError, match="out of bounds for axis 1 with size 4"):
        g[:, np.array([0, 4])]
    with pytest.raises(IndexError, match="too many indices"):
        g[0, 0, 0]


def test_setitem_scatter_and_add_at_accumulate_repeats():
    z = np.zeros((4, 5), np.float32)
    g = dev(z)
    g[1, 2:4] = 3.0
    g[np.array([0, 3]), np.array([1, 1])] = np.float32([5.0, 6.0])
    z[1, 2:4] = 3.0
    z[[0, 3], [1, 1]] = [5.0, 6.0]
    check(g, z)
    rows, cols = np.array([0, 0, 2, 0]), np.array([1, 1, 4, 1])
    vals = np.float32([1.0, 2.0, 3.0, 4.0])
    np.add.at(z, (rows, cols), vals)
    np.add.at(g, (rows, dev(cols.astype(np.int64))), dev(vals))
    check(g, z)


def test_take_and_put_along_axis():
    rng = np.random.default_rng(8)
    a = rand(rng, (3, 7, 4))
    idx = np.expand_dims(np.argmax(a, axis=1), 1)
    gidx = np.expand_dims(np.argmax(dev(a), axis=1), 1)
    check(np.take_along_axis(dev(a), gidx, axis=1), np.take_along_axis(a, idx, axis=1))
    z = np.zeros_like(a)
    gz = dev(z)
    np.put_along_axis(z, idx, 1.5, axis=1)
    np.put_along_axis(gz, gidx, 1.5, axis=1)
    check(gz, z)


def test_casts():
    a = np.array([-1.7, -0.2, 0.0, 0.6, 2.5], np.float32)
    g = dev(a)
    check(g.astype(np.int32), a.astype(np.int32))
    check(g.astype(np.int64), a.astype(np.int64))
    check(g.astype(bool), a.astype(bool))
    check((g > 0).astype(np.float32), (a > 0).astype(np.float32))
    check(dev(np.array([True, False])).astype(np.int64), np.array([1, 0], np.int64))


def test_shape_functions():
    rng = np.random.default_rng(9)
    a, b = rand(rng, (2, 3, 5)), rand(rng, (2, 1, 5))
    g, h = dev(a), dev(b)
    check(np.concatenate([g, h], axis=1), np.concatenate([a, b], axis=1))
    check(np.stack([g, g * 2], axis=-1), np.stack([a, a * 2], axis=-1))
    for got, want in zip(np.split(g, [1, 2], axis=1), np.split(a, [1, 2], axis=1)):
        check(got, want)
    check(g.transpose(2, 0, 1).reshape(5, 6), a.transpose(2, 0, 1).reshape(5, 6))
    check(np.broadcast_to(h, (4, 2, 3, 5)), np.broadcast_to(b, (4, 2, 3, 5)))
    check(np.moveaxis(g, 0, -1), np.moveaxis(a, 0, -1))
    check(np.where(g > 0, g, h), np.where(a > 0, a, b))
    check(np.clip(g, -0.5, 0.5), np.clip(a, -0.5, 0.5))
    check(np.take(g, 1, axis=2), np.take(a, 1, axis=2))
    check(np.zeros_like(g), np.zeros_like(a))
    check(np.full_like(g, 3.0), np.full_like(a, 3.0))


def test_matmul_with_1d_operands():
    rng = np.random.default_rng(10)
    a, b, v = rand(rng, (2, 3, 4)), rand(rng, (4, 5)), rand(rng, (4,))
    check(dev(a) @ dev(b), a @ b, 1e-4)
    check(dev(a) @ dev(v), a @ v, 1e-4)
    check(dev(v) @ dev(b), v @ b, 1e-4)


def test_no_implicit_host_copies():
    g = dev(np.ones((2, 2), np.float32))
    with pytest.raises(TypeError, match="implicitly"):
        np.asarray(g)
    with pytest.raises(TypeError, match="item"):
        bool(g.sum() > 0)
    with pytest.raises(TypeError, match="numpy.median is not implemented"):
        np.median(g)


def test_dtypes_outside_the_device_are_refused():
    with pytest.raises(TypeError, match="float64 is not supported on the wgpu device"):
        dev(np.zeros(3))
    with pytest.raises(OverflowError, match="int32 range"):
        dev(np.array([2**40]))
    assert dev(np.array([2**31 - 1, -(2**31)])).numpy().tolist() == [2**31 - 1, -(2**31)]


def test_unsupported_numpy_arguments_raise_instead_of_being_ignored():
    g = dev(np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match="where"):
        np.sum(g, where=np.ones((2, 3), bool))
    with pytest.raises(TypeError, match="initial"):
        g.max(initial=0.0)


def test_transpose_and_reshape_take_any_sequence():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    g = dev(a)
    check(g.transpose(np.array([2, 0, 1])), a.transpose(np.array([2, 0, 1])))
    check(g.transpose(None), a.transpose(None))
    check(g.reshape(np.array([4, 6])), a.reshape(np.array([4, 6])))
    check(dev(np.float32(2.0)).transpose(np.array([], int)), np.float32(2.0).reshape(()))


def test_nan_and_inf_propagate_like_numpy():
    a = np.array([np.nan, np.inf, -np.inf, 0.0, -1.0, 2.0], np.float32)
    g = dev(a)
    with np.errstate(all="ignore"):
        for got, want in [(np.maximum(g, 0.0), np.maximum(a, 0.0)), (np.minimum(g, 0.5), np.minimum(a, 0.5)),
                          (np.clip(g, -0.5, 0.5), np.clip(a, -0.5, 0.5)), (np.tanh(g), np.tanh(a)),
                          (np.isnan(g), np.isnan(a)), (np.isinf(g), np.isinf(a)), (np.isfinite(g), np.isfinite(a)),
                          (g.max(keepdims=True), a.max(keepdims=True)), (g[1:].min(keepdims=True), a[1:].min(keepdims=True))]:
            check(got, want, 1e-6)


@pytest.mark.parametrize("shape, axis", [((70001,), None), ((3, 40000), 1), ((20000, 3), 0), ((500, 3, 20), (0, 2))])
def test_long_reductions_run_in_two_passes(shape, axis):
    from ferrograd.wgpu import reduce

    rng = np.random.default_rng(11)
    a = rng.uniform(-1, 1, shape).astype(np.float32)
    g = dev(a)
    r = int(np.prod([shape[d] for d in ((axis,) if isinstance(axis, int) else axis or range(len(shape)))]))
    assert r > reduce.SPLIT_AT  # the split path
    check(g.sum(axis=axis), np.asarray(a.sum(axis=axis, dtype=np.float64)).astype(np.float32), 1e-3)
    check(g.max(axis=axis), np.asarray(a.max(axis=axis)))
    check(g.min(axis=axis, keepdims=True), a.min(axis=axis, keepdims=True))
    check((g > 0).sum(axis=axis), np.asarray((a > 0).sum(axis=axis)))
    check(g.argmax(axis=axis if isinstance(axis, int) or axis is None else None),
          np.asarray(a.argmax(axis=axis if isinstance(axis, int) or axis is None else None)))


@pytest.mark.parametrize("op, lo, hi", [(np.log, 0.999, 1.001), (np.log, 1e-30, 1e30), (np.log1p, -1e-6, 1e-6),
                                        (np.log1p, -0.99, 5.0), (np.expm1, -1e-4, 1e-4), (np.expm1, -20, 20),
                                        (np.tanh, -1e-4, 1e-4), (np.tanh, -25, 25), (np.exp, -87, 88),
                                        (np.power, 0.5, 3.0), (erf, -1e-5, 1e-5), (erf, 0.01, 6.0)])
def test_transcendentals_have_small_relative_error(op, lo, hi):
    # Vulkan allows the builtin log an absolute (not relative) error near 1, exp 3 + 2|x| ulp,
    # and some drivers approximate tanh coarsely; the kernels use their own forms so float32
    # results stay within a few ulp (normal range), as numpy's do.
    x = np.geomspace(lo, hi, 4001) if lo > 0 else np.linspace(lo, hi, 4001)
    x = x.astype(np.float32)
    want = op(x.astype(np.float64), 2.7) if op is np.power else op(x.astype(np.float64))
    got = (op(dev(x), 2.7) if op is np.power else op(dev(x))).numpy().astype(np.float64)
    rel = np.abs(got - want) / np.maximum(np.abs(want), 1e-38)
    assert rel.max() < 2e-6, (x[rel.argmax()], got[rel.argmax()], want[rel.argmax()])


@pytest.mark.parametrize("shape, view, new, is_view", [
    ((4, 6), lambda a: a, (2, 2, 3, 2), True),
    ((4, 6), lambda a: a[:, ::2], (12,), True),  # even positions: one flat stride of 2
    ((4, 6), lambda a: a[:, 1:4], (12,), False),
    ((4, 6), lambda a: a[::2], (2, 3, 2), True),
    ((2, 3, 4), lambda a: a.transpose(1, 0, 2), (3, 8), False),
    ((2, 3, 4), lambda a: a.transpose(1, 0, 2), (3, 2, 2, 2), True),
    ((5, 1, 3), lambda a: a[:, :, 1:], (5, 2, 1), True),
])
def test_reshape_is_a_view_whenever_the_strides_allow(shape, view, new, is_view):
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    g = view(dev(a))
    r = g.reshape(new)
    assert (r.storage is g.storage) == is_view
    check(r, view(a).reshape(new))
