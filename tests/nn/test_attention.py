"""scaled_dot_product_attention: fused kernel vs numpy reference, PyTorch fixtures, composite
fallback, gradcheck, strided inputs, masks, fully masked rows, dropout, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from ferrograd.ops._util import unbroadcast
from ferrograd.ops.attention import sdpa_composite
from ferrograd.reference import attention as ref
from ferrograd.testing import gradcheck

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
sdpa = F.scaled_dot_product_attention


def leaf(a):
    return fg.tensor(a, requires_grad=True)


def run(q, k, v, gout, **kw):
    """Output and (dq, dk, dv) of the ferrograd op for numpy inputs."""
    tq, tk, tv = leaf(q), leaf(k), leaf(v)
    out = sdpa(tq, tk, tv, **kw)
    out.backward(gout)
    return out.detach().numpy(), (tq.grad.numpy(), tk.grad.numpy(), tv.grad.numpy())


def check(q, k, v, rng, dtype, mask=None, is_causal=False, scale=None):
    q, k, v = (x.astype(dtype) for x in (q, k, v))
    m = mask if mask is None or mask.dtype == bool else mask.astype(dtype)
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    gout = rng.standard_normal(batch + (q.shape[-2], v.shape[-1])).astype(dtype)
    out, grads = run(q, k, v, gout, attn_mask=m, is_causal=is_causal, scale=scale)
    want = ref.sdpa(q, k, v, m, is_causal, scale)
    wgrads = ref.sdpa_backward(q, k, v, gout, m, is_causal, scale)
    tol = dict(rtol=1e-9, atol=1e-11) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
    assert out.dtype == dtype and out.shape == want.shape
    np.testing.assert_allclose(out, want, **tol)
    for name, g, w, x in zip("qkv", grads, wgrads, (q, k, v)):
        w = unbroadcast(w, x.shape)
        assert g.shape == x.shape, name
        np.testing.assert_allclose(g, w, err_msg=f"d{name}", **tol)


# ---- PyTorch fixtures ------------------------------------------------------------------------
@pytest.mark.parametrize("name,causal", [("sdpa_basic", False), ("sdpa_causal_basic", True)])
def test_matches_pytorch_fixture(name, causal):
    d = np.load(FIXTURES / f"{name}.npz")
    out, (gq, gk, gv) = run(d["q"], d["k"], d["v"], d["gy"], is_causal=causal)
    np.testing.assert_allclose(out, d["y"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gq, d["gq"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gk, d["gk"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gv, d["gv"], rtol=1e-5, atol=1e-6)


# ---- numpy reference on random shapes ----------------------------------------------------------
# L and S cross the kernel's block sizes (64 query rows, 128/256 keys) without being multiples.
SHAPES = [(1, 1, 1, 1, 1, 1), (2, 3, 5, 7, 4, 3), (1, 2, 65, 129, 16, 8), (2, 1, 130, 67, 9, 17), (1, 1, 200, 300, 32, 5)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("causal", [False, True])
def test_random_shapes_match_reference(shape, causal, dtype):
    B, H, L, S, E, Ev = shape
    rng = np.random.default_rng(hash((shape, causal)) % 2**32)
    q, k, v = rng.standard_normal((B, H, L, E)), rng.standard_normal((B, H, S, E)), rng.standard_normal((B, H, S, Ev))
    check(q, k, v, rng, dtype, is_causal=causal)


@pytest.mark.parametrize("mask_shape", ["LS", "B1LS", "1H1S", "BHLS", "S", "1L1"])
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_masks_broadcast(mask_shape, kind):
    B, H, L, S, E, Ev = 2, 3, 70, 133, 8, 6
    rng = np.random.default_rng(len(mask_shape) + (kind == "bool"))
    dims = {"B": B, "H": H, "L": L, "S": S, "1": 1}
    shape = tuple(dims[c] for c in mask_shape)
    if kind == "bool":
        mask = rng.random(shape) < 0.7
        if shape[-1] == S:
            mask[..., 0] = True  # no fully masked rows here (tested separately)
    else:
        mask = rng.standard_normal(shape) * 2
    q, k, v = rng.standard_normal((B, H, L, E)), rng.standard_normal((B, H, S, E)), rng.standard_normal((B, H, S, Ev))
    for dtype in (np.float64, np.float32):
        check(q, k, v, rng, dtype, mask=mask)


def test_scale_and_broadcast_batch_dims():
    rng = np.random.default_rng(5)
    # key/value shared across heads (size-1 dim) and a 3-d query: gradients sum over the broadcast.
    q = rng.standard_normal((2, 4, 9, 6))
    k = rng.standard_normal((2, 1, 11, 6))
    v = rng.standard_normal((11, 3))
    check(q, k, v, rng, np.float64, scale=0.37)
    check(q[0, 0], k[0, 0], v, rng, np.float64, is_causal=True)  # plain 2-d inputs


def test_causal_is_top_left_aligned():
    rng = np.random.default_rng(3)
    q, k, v = rng.standard_normal((1, 1, 3, 4)), rng.standard_normal((1, 1, 5, 4)), rng.standard_normal((1, 1, 5, 2))
    out = sdpa(fg.tensor(q), fg.tensor(k), fg.tensor(v), is_causal=True).numpy()
    mask = np.tril(np.ones((3, 5), bool))
    np.testing.assert_allclose(out, ref.sdpa(q, k, v, attn_mask=mask), rtol=1e-6)
    # Row 0 sees key 0 only.
    np.testing.assert_allclose(out[0, 0, 0], v[0, 0, 0], rtol=1e-6)


# ---- the composite fallback is the gradient oracle of the fused backward ----------------------------
@pytest.mark.parametrize("causal", [False, True])
def test_fused_matches_composite(causal):
    rng = np.random.default_rng(11)
    q, k, v = rng.standard_normal((2, 2, 67, 12)), rng.standard_normal((2, 2, 140, 12)), rng.standard_normal((2, 2, 140, 7))
    mask = None if causal else np.where(rng.random((67, 140)) < 0.8, 0.0, -np.inf)
    gout = rng.standard_normal((2, 2, 67, 7))
    out, grads = run(q, k, v, gout, attn_mask=mask, is_causal=causal)
    tq, tk, tv = leaf(q), leaf(k), leaf(v)
    c = sdpa_composite(tq, tk, tv, mask, 0.0, causal, 1 / np.sqrt(12))
    c.backward(gout)
    np.testing.assert_allclose(out, c.detach().numpy(), rtol=1e-10, atol=1e-12)
    for g, t in zip(grads, (tq, tk, tv)):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-9, atol=1e-11)


# ---- gradcheck -----------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"mask": "bool"}, {"mask": "float"}])
def test_gradcheck_qkv(kw):
    rng = np.random.default_rng(7)
    q, k, v = (leaf(rng.standard_normal(s)) for s in [(1, 2, 4, 3), (1, 2, 5, 3), (1, 2, 5, 2)])
    mask = None
    if kw.get("mask") == "bool":
        mask = fg.tensor(rng.random((4, 5)) < 0.6)
        mask._data[:, 1] = True
    elif kw.get("mask") == "float":
        mask = fg.tensor(rng.standard_normal((2, 1, 5)))
    causal = kw.get("is_causal", False)
    assert gradcheck(lambda a, b, c: sdpa(a, b, c, attn_mask=mask, is_causal=causal), [q, k, v])


def test_gradcheck_float_mask_requires_grad():
    rng = np.random.default_rng(8)
    q, k, v = (leaf(rng.standard_normal(s)) for s in [(2, 1, 3, 3), (2, 1, 4, 3), (2, 1, 4, 2)])
    mask = leaf(rng.standard_normal((1, 3, 4)))
    assert gradcheck(lambda a, b, c, m: sdpa(a, b, c, attn_mask=m), [q, k, v, mask])


# ---- strided inputs ------------------------------------------------------------------------
def test_non_contiguous_inputs_match_contiguous():
    rng = np.random.default_rng(9)
    B, L, S, H, E = 2, 70, 45, 3, 8
    # (B, L, H, E) projections viewed as (B, H, L, E): strided, not copied.
    qb, kb, vb = rng.standard_normal((B, L, H, E)), rng.standard_normal((B, S, H, E)), rng.standard_normal((B, S, H, 2 * E))
    vb = vb[..., ::2]  # a sliced last dim too
    gout = rng.standard_normal((B, H, L, E))
    for dtype in (np.float64, np.float32):
        tq, tk, tv = (leaf(x.astype(dtype)) for x in (qb, kb, vb))
        out = sdpa(tq.transpose(1, 2), tk.transpose(1, 2), tv.transpose(1, 2), is_causal=True)
        out.backward(gout.astype(dtype))
        cq, ck, cv = (np.ascontiguousarray(x.astype(dtype).transpose(0, 2, 1, 3)) for x in (qb, kb, vb))
        want, wgrads = run(cq, ck, cv, gout.astype(dtype), is_causal=True)
        np.testing.assert_array_equal(out.detach().numpy(), want)
        for t, w in zip((tq, tk, tv), wgrads):
            np.testing.assert_array_equal(t.grad.numpy().transpose(0, 2, 1, 3), w)


def test_transposed_float_mask():
    rng = np.random.default_rng(10)
    q, k, v = rng.standard_normal((1, 2, 20, 4)), rng.standard_normal((1, 2, 30, 4)), rng.standard_normal((1, 2, 30, 3))
    mask_t = rng.standard_normal((30, 20))
    check(q, k, v, rng, np.float64, mask=mask_t.T)


# ---- fully masked rows ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_fully_masked_rows_give_zero(kind):
    """PyTorch 2.15 returns 0 (not NaN) for a query row whose every key is masked, and no gradient."""
    rng = np.random.default_rng(12)
    q, k, v = rng.standard_normal((1, 2, 5, 4)), rng.standard_normal((1, 2, 300, 4)), rng.standard_normal((1, 2, 300, 3))
    keep = rng.random((5, 300)) < 0.5
    keep[2] = False
    mask = keep if kind == "bool" else np.where(keep, 0.0, -np.inf)
    gout = rng.standard_normal((1, 2, 5, 3))
    for dtype in (np.float64, np.float32):
        out, (gq, gk, gv) = run(*(x.astype(dtype) for x in (q, k, v)), gout.astype(dtype),
                                attn_mask=mask if kind == "bool" else mask.astype(dtype))
        assert np.isfinite(out).all() and np.isfinite(gq).all() and np.isfinite(gk).all() and np.isfinite(gv).all()
        np.testing.assert_array_equal(out[:, :, 2], 0)
        np.testing.assert_array_equal(gq[:, :, 2], 0)
        np.testing.assert_allclose(out, ref.sdpa(q, k, v, mask), rtol=2e-4, atol=1e-5)


def test_fully_masked_rows_follow_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in [(2, 2, 6, 4), (2, 2, 9, 4), (2, 2, 9, 5)])
    mask = rng.random((2, 1, 6, 9)) < 0.5
    mask[0, 0, 1] = False
    gout = rng.standard_normal((2, 2, 6, 5)).astype(np.float32)
    out, grads = run(q, k, v, gout, attn_mask=mask)
    xs = [torch.tensor(x, requires_grad=True) for x in (q, k, v)]
    y = torch.nn.functional.scaled_dot_product_attention(*xs, attn_mask=torch.tensor(mask))
    y.backward(torch.tensor(gout))
    np.testing.assert_allclose(out, y.detach().numpy(), rtol=1e-5, atol=1e-6)
    for g, x in zip(grads, xs):
        np.testing.assert_allclose(g, x.grad.numpy(), rtol=1e-4, atol=1e-5)


# ---- dropout -----------------------------------------------------------------------------
def test_dropout_is_seeded_and_scaled():
    rng = np.random.default_rng(14)
    q, k, v = rng.standard_normal((2, 2, 7, 4)), rng.standard_normal((2, 2, 9, 4)), rng.standard_normal((2, 2, 9, 3))
    fg.manual_seed(123)
    out = sdpa(fg.tensor(q), fg.tensor(k), fg.tensor(v), dropout_p=0.3).numpy()
    fg.manual_seed(123)
    again = sdpa(fg.tensor(q), fg.tensor(k), fg.tensor(v), dropout_p=0.3).numpy()
    np.testing.assert_array_equal(out, again)
    fg.manual_seed(123)
    keep = fg.random.generator().random((2, 2, 7, 9)) >= 0.3
    s = q @ k.swapaxes(-1, -2) / 2.0
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(out, (p * keep / 0.7) @ v, rtol=1e-10)
    zero = sdpa(fg.tensor(q), fg.tensor(k), fg.tensor(v), dropout_p=1.0).numpy()
    np.testing.assert_array_equal(zero, 0)


def test_dropout_gradcheck():
    rng = np.random.default_rng(15)
    q, k, v = (leaf(rng.standard_normal(s)) for s in [(1, 2, 4, 3), (1, 2, 5, 3), (1, 2, 5, 2)])

    def fn(a, b, c):
        fg.manual_seed(5)
        return sdpa(a, b, c, dropout_p=0.4, is_causal=True)

    assert gradcheck(fn, [q, k, v])


# ---- grouped-query attention -----------------------------------------------------------------
def test_enable_gqa_matches_repeated_heads():
    rng = np.random.default_rng(16)
    q, k, v = rng.standard_normal((2, 6, 5, 4)), rng.standard_normal((2, 2, 7, 4)), rng.standard_normal((2, 2, 7, 3))
    mask = rng.standard_normal((6, 5, 7))
    out = sdpa(fg.tensor(q), fg.tensor(k), fg.tensor(v), attn_mask=mask, enable_gqa=True).numpy()
    want = ref.sdpa(q, np.repeat(k, 3, axis=1), np.repeat(v, 3, axis=1), attn_mask=mask)
    np.testing.assert_allclose(out, want, rtol=1e-10)


# ---- torch directly, when installed ----------------------------------------------------------
@pytest.mark.parametrize("case", ["plain", "causal_LgtS", "bool_mask", "float_mask"])
def test_against_torch(case):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(17)
    L, S = (90, 33) if case == "causal_LgtS" else (33, 90)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in [(2, 3, L, 16), (2, 3, S, 16), (2, 3, S, 8)])
    mask = None
    if case == "bool_mask":
        mask = rng.random((1, 3, 1, S)) < 0.6
    elif case == "float_mask":
        mask = rng.standard_normal((L, S)).astype(np.float32)
    causal = case == "causal_LgtS"
    gout = rng.standard_normal((2, 3, L, 8)).astype(np.float32)
    out, grads = run(q, k, v, gout, attn_mask=mask, is_causal=causal)
    xs = [torch.tensor(x, requires_grad=True) for x in (q, k, v)]
    y = torch.nn.functional.scaled_dot_product_attention(
        *xs, attn_mask=None if mask is None else torch.tensor(mask), is_causal=causal
    )
    y.backward(torch.tensor(gout))
    np.testing.assert_allclose(out, y.detach().numpy(), rtol=1e-4, atol=1e-5)
    for g, x in zip(grads, xs):
        np.testing.assert_allclose(g, x.grad.numpy(), rtol=1e-4, atol=1e-5)


# ---- bad input -----------------------------------------------------------------------------
def _t(*shape, dtype=np.float32):
    return fg.tensor(np.zeros(shape, dtype))


@pytest.mark.parametrize(
    "args,kw,match",
    [
        ((_t(2, 3, 4), _t(2, 5, 3), _t(2, 5, 4)), {}, r"query and key .*4 and 3"),
        ((_t(2, 3, 4), _t(2, 5, 4), _t(2, 6, 4)), {}, r"key and value .*5 and 6"),
        ((_t(4), _t(5, 4), _t(5, 4)), {}, r"at least 2 dims"),
        ((_t(2, 3, 4), _t(3, 5, 4), _t(3, 5, 4)), {}, r"batch\) dims do not broadcast"),
        ((_t(2, 3, 4), _t(2, 5, 4), _t(2, 5, 4)), {"attn_mask": np.ones((3, 4), bool)}, r"attn_mask of shape \(3, 4\)"),
        ((_t(2, 3, 4), _t(2, 5, 4), _t(2, 5, 4)), {"attn_mask": np.ones((3, 3, 5), bool)}, r"does not broadcast"),
        ((_t(2, 3, 4), _t(2, 5, 4), _t(2, 5, 4)), {"attn_mask": np.ones((3, 5), bool), "is_causal": True}, r"is_causal"),
        ((_t(2, 3, 4), _t(2, 5, 4), _t(2, 5, 4)), {"dropout_p": 1.5}, r"dropout_p"),
    ],
)
def test_bad_input_raises_value_error(args, kw, match):
    with pytest.raises(ValueError, match="scaled_dot_product_attention") as e:
        sdpa(*args, **kw)
    assert e.match(match)


def test_bad_dtypes_raise_type_error():
    with pytest.raises(TypeError, match="scaled_dot_product_attention"):
        sdpa(_t(2, 3, 4), _t(2, 5, 4, dtype=np.float64), _t(2, 5, 4))
    with pytest.raises(TypeError, match="scaled_dot_product_attention"):
        sdpa(_t(2, 3, 4), _t(2, 5, 4), _t(2, 5, 4), attn_mask=np.zeros((3, 5), np.float64))
    with pytest.raises(TypeError, match="scaled_dot_product_attention"):
        sdpa(np.zeros((3, 4)), _t(5, 4), _t(5, 4))


def test_native_rejects_bad_shapes_without_panic():
    from ferrograd import _native

    a = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match="scaled_dot_product_attention"):
        _native.sdpa_forward(a, np.zeros((2, 5, 3), np.float32), np.zeros((2, 5, 4), np.float32), None, False, 1.0)
    with pytest.raises(ValueError, match="scaled_dot_product_attention"):
        _native.sdpa_forward(a, a, a, np.zeros((2, 3, 2), np.float32), False, 1.0)
    with pytest.raises(ValueError, match="scaled_dot_product_attention"):
        _native.sdpa_forward(a, a, a, np.zeros((2, 3, 3), np.float32), True, 1.0)
    out, lse = _native.sdpa_forward(a, a, a, None, False, 1.0)
    with pytest.raises(ValueError, match="scaled_dot_product_attention"):
        _native.sdpa_backward(a, a, a, None, False, 1.0, out, np.ascontiguousarray(lse[:, :2]), out)
    with pytest.raises(TypeError, match="scaled_dot_product_attention"):
        _native.sdpa_forward(a, a.astype(np.float64), a, None, False, 1.0)


# ---- degenerate sizes ------------------------------------------------------------------------
@pytest.mark.parametrize("causal", [False, True])
def test_empty_dims(causal):
    rng = np.random.default_rng(18)
    # E = 0: every score is 0, so attention averages the visible values.
    q, k, v = np.zeros((2, 5, 0)), np.zeros((2, 7, 0)), rng.standard_normal((2, 7, 3))
    g = rng.standard_normal((2, 5, 3))
    out, (gq, gk, gv) = run(q, k, v, g, is_causal=causal, scale=1.0)
    np.testing.assert_allclose(out, ref.sdpa(q, k, v, is_causal=causal, scale=1.0), rtol=1e-12)
    np.testing.assert_allclose(gv, ref.sdpa_backward(q, k, v, g, is_causal=causal, scale=1.0)[2], rtol=1e-12)
    assert gq.shape == (2, 5, 0) and gk.shape == (2, 7, 0)
    # S = 0: nothing to attend to gives 0; L = 0 and Ev = 0 give empty outputs.
    out, grads = run(rng.standard_normal((2, 5, 4)), np.zeros((2, 0, 4)), np.zeros((2, 0, 3)), np.ones((2, 5, 3)))
    np.testing.assert_array_equal(out, 0)
    np.testing.assert_array_equal(grads[0], 0)
    out, _ = run(np.zeros((2, 0, 4)), np.ones((2, 3, 4)), np.ones((2, 3, 3)), np.zeros((2, 0, 3)), is_causal=causal)
    assert out.shape == (2, 0, 3)
    out, grads = run(np.ones((2, 4, 4)), np.ones((2, 3, 4)), np.ones((2, 3, 0)), np.zeros((2, 4, 0)), is_causal=causal)
    assert out.shape == (2, 4, 0)
    np.testing.assert_array_equal(grads[0], 0)


def test_negative_strides_and_broadcast_views():
    rng = np.random.default_rng(19)
    q, k, v = rng.standard_normal((2, 3, 66, 8)), rng.standard_normal((2, 3, 140, 8)), rng.standard_normal((2, 3, 140, 5))
    gout = rng.standard_normal((2, 3, 66, 5))
    flipped = [x[:, ::-1, ::-1] for x in (q, k, v)]  # negative strides on heads and sequence
    out, grads = run(*flipped, gout)
    want, wgrads = run(*(np.ascontiguousarray(x) for x in flipped), gout)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-14)
    for g, w in zip(grads, wgrads):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
    # Key/value expanded over heads: zero-stride views reach the kernel; gradients sum over heads.
    tq, tk1, tv1 = leaf(q), leaf(k[:, :1]), leaf(v[:, :1])
    out = sdpa(tq, tk1.expand(k.shape), tv1.expand(v.shape), is_causal=True)
    out.backward(gout)
    ke, ve = np.broadcast_to(k[:, :1], k.shape), np.broadcast_to(v[:, :1], v.shape)
    np.testing.assert_allclose(out.detach().numpy(), ref.sdpa(q, ke, ve, is_causal=True), rtol=1e-10)
    wq, wk, wv = ref.sdpa_backward(q, ke, ve, gout, is_causal=True)
    np.testing.assert_allclose(tq.grad.numpy(), wq, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tk1.grad.numpy(), wk.sum(1, keepdims=True), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tv1.grad.numpy(), wv.sum(1, keepdims=True), rtol=1e-9, atol=1e-12)


def test_strided_upstream_gradient():
    rng = np.random.default_rng(20)
    q, k, v = rng.standard_normal((2, 2, 70, 6)), rng.standard_normal((2, 2, 90, 6)), rng.standard_normal((2, 2, 90, 5))
    g = rng.standard_normal((2, 2, 5, 70))
    tq, tk, tv = leaf(q), leaf(k), leaf(v)
    sdpa(tq, tk, tv).transpose(-1, -2).backward(g)  # the kernel sees a transposed dout
    for got, want in zip((tq, tk, tv), ref.sdpa_backward(q, k, v, g.swapaxes(-1, -2))):
        np.testing.assert_allclose(got.grad.numpy(), want, rtol=1e-9, atol=1e-12)
