"""NaN and ±inf through the wgpu kernels (issue 14, "NaN in, NaN out"), against numpy references
that give torch's answers on these inputs (checked against torch 2.15 when written).

llvmpipe drops NaN in min / max / clamp / select and folds NaN != y to false, so each kernel tests
NaN by bits; these tests pin that down on every special value: NaN, ±inf, ±0 and a few finite
values, in every pair for the binary ops."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F

NAN, INF = math.nan, math.inf
SPECIALS = np.array([NAN, INF, -INF, -0.0, 0.0, 0.7, -0.7, 1.0, -1.0, 1.5, -1.5, 2.0, -2.0, 3.0, -0.5, 0.5],
                    np.float32)
A, B = (g.ravel() for g in np.meshgrid(SPECIALS, SPECIALS, indexing="ij"))


def dev(a):
    a = np.asarray(a)
    return fg.tensor(a.astype(np.float32) if a.dtype == np.float64 else a, device="wgpu")


def same(got, want, rtol=1e-5, atol=1e-6):
    """Values within tolerance, NaN exactly where `want` has NaN, infinities with their sign."""
    got = got.detach().cpu().numpy() if isinstance(got, fg.Tensor) else np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want.astype(got.dtype), rtol=rtol, atol=atol, equal_nan=True)


def _np(fn, *args):
    with np.errstate(all="ignore"):
        return fn(*args)


# ---- elementwise --------------------------------------------------------------------------------
@pytest.mark.parametrize("name,ref", [("asin", np.arcsin), ("acos", np.arccos), ("atan", np.arctan)])
def test_inverse_trig_specials(name, ref):
    """NaN stays NaN, |x| > 1 (and ±inf) gives NaN for asin / acos (llvmpipe gave 0 and numbers)."""
    same(getattr(fg, name)(dev(SPECIALS)), _np(ref, SPECIALS))


@pytest.mark.parametrize("name,ref", [
    ("atan2", np.arctan2),  # NaN, and atan2(±0, ±0) = ±0 / ±π (llvmpipe: ±3π/4)
    ("div", np.divide),
    ("floor_divide", np.floor_divide),  # -0.7 // inf = -1, inf // 1.5 = NaN
    ("fmod", np.fmod),  # fmod(x, ±inf) = x
    ("remainder", np.remainder),  # remainder(-0.7, inf) = inf
    ("pow", np.power),  # C99 pow: pow(-inf, 0.5) = inf, pow(1, NaN) = 1, pow(NaN, 0) = 1
])
def test_binary_specials_every_pair(name, ref):
    same(getattr(fg, name)(dev(A), dev(B)), _np(ref, A, B))


@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_div_rounding_modes_specials(mode):
    want = _np(np.floor_divide, A, B) if mode == "floor" else _np(lambda a, b: np.trunc(a / b), A, B)
    same(fg.div(dev(A), dev(B), rounding_mode=mode), want)


def test_floor_divide_and_remainder_agree_with_numpy_on_finite_values():
    """Exact, as numpy: where a rounded a / b sits next to an integer (fmod(-0.3, 0.1) is -7.45e-9,
    so -0.3 // 0.1 is -4), for quotients beyond 2^24 and for subnormals."""
    rng = np.random.default_rng(0)
    a = (rng.standard_normal(4000) * 10.0 ** rng.integers(-6, 7, 4000)).astype(np.float32)
    b = (rng.standard_normal(4000) * 10.0 ** rng.integers(-6, 7, 4000)).astype(np.float32)
    a[:12] = [0.3, -0.3, 7.0, -7.0, 1e30, -1e30, 6.0, -6.0, 3e-45, -7e-44, 1e-40, 5.0]
    b[:12] = [0.1, 0.1, 3.5, 3.5, 3.0, 7.0, 0.2, 0.2, 1e-45, 3e-45, 7e-45, 1e-44]
    same(fg.floor_divide(dev(a), dev(b)), _np(np.floor_divide, a, b), rtol=0, atol=0)
    same(fg.remainder(dev(a), dev(b)), _np(np.remainder, a, b), rtol=0, atol=0)
    same(fg.fmod(dev(a), dev(b)), _np(np.fmod, a, b), rtol=0, atol=0)


def test_scalar_exponent_pow_specials():
    """A Python exponent as numpy's: C99 pow, except that 0.5 is sqrt (so (-inf) ** 0.5 is NaN and
    (-0) ** 0.5 is -0, as torch.pow with a number; a tensor exponent 0.5 gives inf and 0)."""
    for e in (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, INF, -INF, NAN):
        same(fg.pow(dev(SPECIALS), e), _np(np.power, SPECIALS, np.float32(e)))
    same(fg.pow(dev([-INF, -0.0]), dev([0.5, 0.5])), [INF, 0.0])


def test_comparisons_with_nan():
    """NaN != y is True (llvmpipe folded it to False); the ordered comparisons are False."""
    a, b = dev(A), dev(B)
    for got, want in ((a != b, A != B), (a == b, A == B), (a < b, A < B), (a <= b, A <= B), (a > b, A > B),
                      (a >= b, A >= B), (a.ne(a), A != A)):
        same(got, want)


def test_truthiness_nan_is_true():
    """bool, logical ops, where and the truth reductions count NaN as nonzero (-0.0 as zero)."""
    x = dev(SPECIALS)
    truth = SPECIALS != 0
    same(x.bool(), truth)
    same(fg.logical_not(x), ~truth)
    same(fg.logical_and(dev(A), dev(B)), np.logical_and(A, B))
    same(fg.logical_or(dev(A), dev(B)), np.logical_or(A, B))
    same(fg.logical_xor(dev(A), dev(B)), np.logical_xor(A, B))
    same(fg.where(x, 1.0, 0.0), truth.astype(np.float32))
    same(fg.where(x.bool(), 1.0, 0.0), truth.astype(np.float32))
    z = np.array([[NAN, 0.0, -0.0], [0.0, -0.0, 0.0], [1.0, NAN, INF], [-INF, 0.0, 2.0]], np.float32)
    for dim in (None, 0, 1):
        kw = {} if dim is None else {"dim": dim}
        same(fg.count_nonzero(dev(z), **kw), np.count_nonzero(z, axis=dim))
        same(fg.any(dev(z), **kw), np.any(z, axis=dim))
        same(fg.all(dev(z), **kw), np.all(z, axis=dim))
    same(fg.nonzero(dev(z)), np.argwhere(z))
    same(fg.argwhere(dev(z)), np.argwhere(z))
    same(fg.all(dev([NAN])), np.array(True))


# ---- reductions ---------------------------------------------------------------------------------
X = np.array([[1.0, NAN, 2.0, 2.0, -1.0], [-INF, 3.0, INF, 0.0, 5.0], [NAN, NAN, 1.0, -1.0, 0.0],
              [0.0, -0.0, 5.0, 5.0, -INF]], np.float32)


@pytest.mark.parametrize("dim", [0, 1])
def test_max_min_along_dim_nan_wins(dim):
    """The values are NaN and the index is the first NaN's, as numpy's argmax and torch.max."""
    x = dev(X)
    for op, pick in (("max", np.argmax), ("min", np.argmin)):
        values, indices = getattr(fg, op)(x, dim)
        same(indices, pick(X, axis=dim))
        same(values, np.take_along_axis(X, np.expand_dims(pick(X, axis=dim), dim), dim).squeeze(dim))
    same(fg.argmax(x, dim), np.argmax(X, axis=dim))
    same(fg.argmin(x, dim), np.argmin(X, axis=dim))
    same(fg.amax(x, dim), np.max(X, axis=dim))
    same(fg.amin(x, dim), np.min(X, axis=dim))
    lo, hi = fg.aminmax(x, dim=dim)
    same(lo, np.min(X, axis=dim))
    same(hi, np.max(X, axis=dim))


def test_argmax_whole_tensor_and_infinities():
    same(fg.argmax(dev(X)), np.argmax(X))
    same(fg.argmin(dev(X)), np.argmin(X))
    same(fg.argmax(dev([1.0, INF, INF, -INF])), np.array(1))
    same(fg.argmin(dev([1.0, -INF, INF, -INF])), np.array(1))
    same(fg.argmax(dev([-INF, -INF])), np.array(0))
    long_row = np.zeros((3, 5000), np.float32)
    long_row[0, 4321], long_row[0, 4400], long_row[1, 17] = NAN, NAN, INF
    same(fg.argmax(dev(long_row), 1), np.argmax(long_row, axis=1))
    same(fg.argmin(dev(long_row), 1), np.argmin(long_row, axis=1))


def test_mode_with_one_nan_per_row():
    """(torch groups several NaNs in a row as one value; ferrograd does so on neither device.)"""
    x = np.array([[1.0, NAN, 2.0, 2.0], [NAN, 3.0, 0.5, 4.0], [1.0, -INF, NAN, 0.0]], np.float32)
    values, indices = fg.mode(dev(x), 1)
    same(values, [2.0, 0.5, -INF])
    same(indices, np.array([3, 2, 1]))


@pytest.mark.parametrize("p", [0, 1, 2, 3, INF, -INF])
def test_norm_nan_inf(p):
    ref = (lambda a, ax: np.count_nonzero(a, axis=ax).astype(np.float32)) if p == 0 else (
        lambda a, ax: np.linalg.norm(a.astype(np.float64), ord=p, axis=ax) if ax is not None
        else np.linalg.norm(a.reshape(-1).astype(np.float64), ord=p))
    same(fg.norm(dev(X), p), _np(ref, X, None), rtol=1e-5)
    same(fg.norm(dev(X), p, dim=1), _np(ref, X, 1), rtol=1e-5)


@pytest.mark.parametrize("p", [0.0, 1.0, 2.0, 3.0])
def test_cdist_nan_inf(p):
    x1 = np.array([[0.0, NAN, 1.0], [1.0, 2.0, INF], [1.0, 2.0, 3.0]], np.float32)
    x2 = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]], np.float32)
    d = np.abs(x1[:, None, :] - x2[None, :, :])
    want = (d != 0).sum(-1) if p == 0 else _np(lambda: (d ** p).sum(-1) ** (1 / p))
    same(fg.cdist(dev(x1), dev(x2), p=p, compute_mode="donot_use_mm_for_euclid_dist"), want.astype(np.float32))


@pytest.mark.parametrize("reduce,include_self", list(itertools.product(["amax", "amin", "prod", "sum"], [True, False])))
def test_scatter_reduce_keeps_nan(reduce, include_self):
    base = np.array([0.0, 5.0, -1.0, 7.0, NAN], np.float32)
    index = np.array([0, 1, 0, 1, 2, 2, 4], np.int64)
    src = np.array([NAN, 1.0, 2.0, -INF, 3.0, NAN, 1.0], np.float32)
    fold = {"amax": np.fmax, "amin": np.fmin, "prod": np.multiply, "sum": np.add}[reduce]
    want = base.copy()
    for k in range(len(base)):
        vals = list(src[index == k])
        if not vals:
            continue
        acc = base[k] if include_self else vals.pop(0)
        for v in vals:
            acc = np.nan if (np.isnan(acc) or np.isnan(v)) else fold(acc, v)
        want[k] = acc
    got = fg.scatter_reduce(dev(base), 0, dev(index), dev(src), reduce, include_self=include_self)
    same(got, want)


# ---- pooling and transposed convolution ---------------------------------------------------------
P = np.array([[[[NAN, 1.0, 2.0, 3.0], [0.5, -1.0, NAN, 4.0], [1.0, 1.0, 1.0, INF]]]], np.float32)


def _windows_max(x, starts, ends):
    """Max and flat in-plane argmax over 2-d windows [start, end) per output, NaN winning (the
    first NaN), as torch."""
    h, w = x.shape[-2:]
    oh, ow = len(starts[0]), len(starts[1])
    values = np.zeros(x.shape[:-2] + (oh, ow), np.float32)
    indices = np.zeros(values.shape, np.int64)
    for lead in np.ndindex(x.shape[:-2]):
        for i, j in np.ndindex(oh, ow):
            ys, xs = range(starts[0][i], ends[0][i]), range(starts[1][j], ends[1][j])
            flat = [(x[lead][y, c], y * w + c) for y in ys for c in xs]
            nan = [k for v, k in flat if np.isnan(v)]
            best = nan[0] if nan else max(flat, key=lambda t: (t[0], -t[1]))[1]
            values[lead][i, j], indices[lead][i, j] = x[lead].reshape(-1)[best], best
    return values, indices


def _adaptive(n, o):
    return [i * n // o for i in range(o)], [-(-(i + 1) * n // o) for i in range(o)]


@pytest.mark.parametrize("out", [(1, 1), (2, 2), (2, 3), (3, 4)])
def test_adaptive_max_pool2d_nan(out):
    (s0, e0), (s1, e1) = _adaptive(3, out[0]), _adaptive(4, out[1])
    values, indices = _windows_max(P, (s0, s1), (e0, e1))
    got, got_idx = F.adaptive_max_pool2d(dev(P), out, return_indices=True)
    same(got, values)
    same(got_idx, indices)


@pytest.mark.parametrize("out", [1, 2, 3])
def test_adaptive_max_pool1d_nan(out):
    x = P[0, 0]  # unbatched: (C=3, L=4)
    s, e = _adaptive(4, out)
    values, indices = _windows_max(x[:, None, :], ([0], s), ([1], e))
    got, got_idx = F.adaptive_max_pool1d(dev(x), out, return_indices=True)
    same(got, values[:, 0])
    same(got_idx, indices[:, 0])


def test_max_pool2d_with_indices_nan():
    values, indices = _windows_max(P, ([0, 1], [0, 1, 2]), ([2, 3], [2, 3, 4]))
    got, got_idx = F.max_pool2d(dev(P), 2, 1, return_indices=True)
    same(got, values)
    same(got_idx, indices)
    same(F.max_pool2d(dev(P), 2, 1), values)


def _conv_transpose_ref(x, w, stride, padding, dilation):
    """conv_transpose2d (groups = 1) as torch's col2im: each input pixel times each tap, added at
    the pixel that tap writes; a product is formed only where it lands."""
    n, c, h, wd = x.shape
    _, o, kh, kw = w.shape
    oh = (h - 1) * stride - 2 * padding + dilation * (kh - 1) + 1
    ow = (wd - 1) * stride - 2 * padding + dilation * (kw - 1) + 1
    y = np.zeros((n, o, oh, ow), np.float64)
    with np.errstate(all="ignore"):
        for b, ci, iy, ix, ki, kj in np.ndindex(n, c, h, wd, kh, kw):
            oy, ox = iy * stride - padding + ki * dilation, ix * stride - padding + kj * dilation
            if 0 <= oy < oh and 0 <= ox < ow:
                y[b, :, oy, ox] += x[b, ci, iy, ix] * w[ci, :, ki, kj].astype(np.float64)
    return y.astype(np.float32)


@pytest.mark.parametrize("stride,padding,dilation", [(2, 0, 1), (3, 0, 1), (1, 1, 1), (2, 1, 2), (1, 0, 2)])
def test_conv_transpose2d_nonfinite_weight_reaches_only_its_taps(stride, padding, dilation):
    rng = np.random.default_rng(stride * 10 + padding + dilation)
    x = rng.standard_normal((2, 3, 3, 4)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 2)).astype(np.float32)
    w[0, 1, 0, 0], w[2, 0, 2, 1] = NAN, INF
    got = F.conv_transpose2d(dev(x), dev(w), stride=stride, padding=padding, dilation=dilation)
    same(got, _conv_transpose_ref(x, w, stride, padding, dilation), rtol=1e-4, atol=1e-4)


def test_conv2d_input_gradient_nan_weight_as_cpu():
    """conv2d's input gradient runs the same kernel (bdata): a NaN weight reaches only the input
    pixels its tap read."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 7, 6)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    w[1, 0, 0, 2] = NAN
    grads = []
    for device in ("cpu", "wgpu"):
        xt = fg.tensor(x, device=device, requires_grad=True)
        F.conv2d(xt, fg.tensor(w, device=device), stride=2, padding=1).sum().backward()
        grads.append(xt.grad.cpu().numpy())
    assert 0 < np.isnan(grads[0]).sum() < grads[0].size
    same(grads[1], grads[0], rtol=1e-4, atol=1e-5)


def test_conv_transpose2d_finite_weights_unchanged():
    """The masked product is taken only for tiles with a non-finite weight; finite weights keep the
    fast path and its results (many channels: several tiles)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 20, 5, 5)).astype(np.float32)
    w = rng.standard_normal((20, 70, 3, 3)).astype(np.float32)
    want = F.conv_transpose2d(fg.tensor(x), fg.tensor(w), stride=2, padding=1).numpy()
    same(F.conv_transpose2d(dev(x), dev(w), stride=2, padding=1), want, rtol=1e-4, atol=1e-4)
    w[5, 65, 1, 1] = NAN
    want = F.conv_transpose2d(fg.tensor(x), fg.tensor(w), stride=2, padding=1).numpy()
    same(F.conv_transpose2d(dev(x), dev(w), stride=2, padding=1), want, rtol=1e-4, atol=1e-4)
