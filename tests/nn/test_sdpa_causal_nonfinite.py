"""scaled_dot_product_attention with is_causal on NaN/±inf inputs, on cpu and wgpu, against the
numpy reference (ferrograd.reference.attention: torch's math path, softmax(q kᵀ·scale + mask) v,
whose −inf mask is added, so a NaN or +inf score a row may not see, or 0 · a non-finite value,
still makes the output NaN; checked against torch 2.15 for these cases). The fused kernels skip
the key blocks a query block cannot see: sizes here span several 16-key tiles so that those
blocks are involved."""

from __future__ import annotations

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from ferrograd.reference.attention import sdpa as sdpa_ref

NAN, INF = np.nan, np.inf


def _check(q, k, v, device, rtol=1e-4, **kw):
    got = F.scaled_dot_product_attention(*(fg.tensor(a, device=device) for a in (q, k, v)), **kw).cpu().numpy()
    with np.errstate(all="ignore"):
        want = sdpa_ref(q, k, v, **kw)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-5, equal_nan=True)


def _qkv(rng, L, S, E=3, Ev=2, B=2):
    return tuple(rng.standard_normal(s).astype(np.float32) for s in ((B, L, E), (B, S, E), (B, S, Ev)))


# (what, where: (batch, row, col), value); rows near the end are hidden from most queries
CASES = [
    ("k", (0, 39, 0), NAN),  # a NaN key only the last row sees: every row NaN
    ("k", (1, 37, 1), INF),  # +inf or NaN scores where q·k's sign says so
    ("k", (0, 38, 2), -INF),
    ("v", (0, 39, 1), NAN),  # 0 · NaN: that column of every row NaN
    ("v", (1, 20, 0), -INF),
    ("q", (0, 3, 0), INF),  # huge scores against hidden keys
    ("q", (1, 0, 2), NAN),
]


@pytest.mark.parametrize("what,where,value", CASES)
@pytest.mark.parametrize("L,S", [(40, 40), (14, 40), (40, 23)])
def test_causal_nonfinite_matches_reference(device, what, where, value, L, S):
    q, k, v = _qkv(np.random.default_rng(0), L, S)
    a = {"q": q, "k": k, "v": v}[what]
    b, r, c = where
    a[b, min(r, a.shape[1] - 1), c] = value
    _check(q, k, v, device, is_causal=True)


@pytest.mark.parametrize("scale", [0.0, -0.5, 2.0])
def test_causal_nonfinite_scales(device, scale):
    q, k, v = _qkv(np.random.default_rng(1), 26, 43)
    k[0, 42, 0], k[1, 30, 1] = -INF, INF
    _check(q, k, v, device, is_causal=True, scale=scale)


def test_causal_finite_overflow_is_nan_as_torch(device):
    """Finite q and k whose product overflows float32 in a key row 2 may not see: +inf + −inf
    makes row 2 NaN, as torch 2.15 gives on these arrays (the float64 reference does not
    overflow: it agrees elsewhere)."""
    q, k, v = _qkv(np.random.default_rng(2), 40, 40)
    q[0, 2] = 3e19
    k[0, 35] = 3e19
    got = F.scaled_dot_product_attention(*(fg.tensor(a, device=device) for a in (q, k, v)),
                                         is_causal=True).cpu().numpy()
    assert np.argwhere(np.isnan(got)).tolist() == [[0, 2, 0], [0, 2, 1]]
    want = sdpa_ref(q, k, v, is_causal=True)
    keep = ~np.isnan(got)
    np.testing.assert_allclose(got[keep], want[keep], rtol=1e-4, atol=1e-5)


def test_row_that_sees_no_key_times_nonfinite_value(device):
    """A row whose every score is −inf outputs 0 · v: NaN in a column with a non-finite value
    (torch too), 0 elsewhere."""
    q = np.array([[[0.5, 0.5], [1.0, -1.0]]], np.float32)
    k = np.array([[[1.0, -INF], [0.3, 0.2]]], np.float32)
    v = np.array([[[1.0, -INF, 2.0], [0.5, 0.5, 0.5]]], np.float32)
    got = F.scaled_dot_product_attention(*(fg.tensor(a, device=device) for a in (q, k, v)),
                                         is_causal=True).cpu().numpy()
    np.testing.assert_array_equal(got[0, 0], [0.0, NAN, 0.0])


def test_causal_random_specials(device):
    """Random shapes and specials (NaN, ±inf, 0) in q, k and v."""
    device
    rng = np.random.default_rng(3)
    for _ in range(40):
        L, S, E, Ev = (int(rng.integers(1, n)) for n in (45, 45, 5, 4))
        q, k, v = _qkv(rng, L, S, E, Ev)
        for a in (q, k, v):
            flat = a.reshape(-1)
            flat[rng.integers(flat.size, size=2)] = rng.choice([NAN, INF, -INF, 0.0], size=2)
        _check(q, k, v, device, rtol=1e-3, is_causal=True)


def test_causal_finite_keeps_the_causal_kernel_gradients():
    """Finite inputs take the causal kernel (not the explicit mask); gradients match the
    reference's."""
    from ferrograd.reference.attention import sdpa_backward

    rng = np.random.default_rng(4)
    q, k, v = (fg.tensor(a.astype(np.float64), requires_grad=True) for a in _qkv(rng, 20, 20))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    g = rng.standard_normal(out.shape)
    out.backward(fg.tensor(g))
    for got, want in zip((q.grad, k.grad, v.grad), sdpa_backward(q.detach().numpy(), k.detach().numpy(),
                                                                  v.detach().numpy(), g, is_causal=True)):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-9, atol=1e-12)
