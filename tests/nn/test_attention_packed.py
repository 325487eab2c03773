"""Self-attention on one packed in-projection (`_native.sdpa_packed_*`, `SDPAPacked`, and
MultiheadAttention's self-attention path that uses them): against the per-head kernels on the
split projections (bit for bit: the same kernels run on strided views), against PyTorch's
MultiheadAttention, float64 gradcheck, masks, empty shapes, strided gradients, bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import _native, nn
from ferrograd.ops.attention import SDPAPacked
from ferrograd.testing import gradcheck


def split_heads(qkv, heads):
    """q, k, v as (B, heads, L, D) views of the packed (B, L, 3E) array."""
    b, l, e3 = qkv.shape
    x = qkv.reshape(b, l, 3, heads, e3 // 3 // heads)
    return [x[:, :, i].transpose(0, 2, 1, 3) for i in range(3)]


def packed_reference(qkv, heads, mask, scale, gout):
    """(out (B, L, E), lse, dqkv) from the per-head kernels on the split projection."""
    b, l, e3 = qkv.shape
    q, k, v = split_heads(qkv, heads)
    out, lse = _native.sdpa_forward(q, k, v, mask, False, scale)
    g = gout.reshape(b, l, heads, e3 // 3 // heads).transpose(0, 2, 1, 3)
    grads = _native.sdpa_backward(q, k, v, mask, False, scale, out, lse, g)
    dqkv = np.stack([t.transpose(0, 2, 1, 3) for t in grads], axis=2).reshape(b, l, e3)
    return out.transpose(0, 2, 1, 3).reshape(b, l, e3 // 3), lse, dqkv


SHAPES = [(128, 10, 4, 16), (3, 7, 2, 5), (2, 40, 3, 8), (13, 17, 2, 32), (1, 1, 1, 1),
          (0, 4, 2, 3), (2, 0, 2, 3), (2, 3, 2, 0)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("b, l, h, d", SHAPES)
@pytest.mark.parametrize("masked", [False, True])
def test_kernels_equal_the_per_head_kernels(b, l, h, d, dtype, masked):
    rng = np.random.default_rng(b * 1000 + l * 10 + h)
    qkv = rng.standard_normal((b, l, 3 * h * d)).astype(dtype)
    mask = None
    if masked:
        m = np.where(rng.random((l, l)) < 0.3, -np.inf, 0.0).astype(dtype)
        m[:, :1] = 0.0  # every row sees a key
        mask = np.broadcast_to(m, (b, h, l, l))
    gout = rng.standard_normal((b, l, h * d)).astype(dtype)
    gout = gout[:, ::-1]  # a strided gradient (time reversed)
    want_out, want_lse, want_d = packed_reference(qkv, h, mask, 0.3, gout)
    out, lse = _native.sdpa_packed_forward(qkv, h, mask, 0.3)
    dqkv = _native.sdpa_packed_backward(qkv, h, mask, 0.3, out, lse, gout)
    assert out.shape == (b, l, h * d) and dqkv.shape == qkv.shape and lse.shape == (b, h, l)
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(lse, want_lse)
    np.testing.assert_array_equal(dqkv, want_d)


def test_kernels_equal_the_per_head_kernels_on_two_threads():
    """Big enough to run its chunks of batches in parallel: the same bits as one thread."""
    code = (
        "import numpy as np, sys; sys.path.insert(0, %r)\n"
        "from test_attention_packed import packed_reference\n"
        "from ferrograd import _native\n"
        "rng = np.random.default_rng(3)\n"
        "qkv = rng.standard_normal((200, 12, 3 * 4 * 16)).astype(np.float32)\n"
        "g = rng.standard_normal((200, 12, 64)).astype(np.float32)\n"
        "o, lse, d = packed_reference(qkv, 4, None, 0.25, g)\n"
        "po, pl = _native.sdpa_packed_forward(qkv, 4, None, 0.25)\n"
        "pd = _native.sdpa_packed_backward(qkv, 4, None, 0.25, po, pl, g)\n"
        "assert np.array_equal(o, po) and np.array_equal(lse, pl) and np.array_equal(d, pd)\n"
    ) % os.path.dirname(__file__)
    env = dict(os.environ, RAYON_NUM_THREADS="2")
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_op_gradcheck_float64_with_mask():
    rng = np.random.default_rng(0)
    qkv = fg.tensor(rng.standard_normal((2, 5, 12)), requires_grad=True)  # 2 heads of 2
    mask = np.where(np.triu(np.ones((5, 5), bool), 1), -np.inf, 0.0)
    assert gradcheck(lambda t: SDPAPacked.apply(t, 2, mask, 0.7), (qkv,))
    assert gradcheck(lambda t: SDPAPacked.apply(t, 3, None, 0.5), (fg.tensor(rng.standard_normal((3, 4, 9)),
                                                                              requires_grad=True),))


def test_fully_masked_row_gives_zero_and_nan_where_v_is_not_finite():
    """As the per-head op (and torch): a row that sees no key outputs 0 · v."""
    qkv = np.random.default_rng(1).standard_normal((1, 3, 6)).astype(np.float32)
    mask = np.zeros((3, 3), np.float32)
    mask[1] = -np.inf
    out = SDPAPacked.apply(fg.tensor(qkv), 1, mask, 1.0).numpy()
    assert np.all(out[0, 1] == 0) and np.all(np.isfinite(out))
    qkv[0, 2, 4] = np.inf  # value column 0 of key 2
    out = SDPAPacked.apply(fg.tensor(qkv), 1, mask, 1.0).numpy()
    assert np.isnan(out[0, 1, 0]) and out[0, 1, 1] == 0


@pytest.mark.parametrize("call, match", [
    (lambda x: _native.sdpa_packed_forward(x, 0, None, 1.0), "heads >= 1"),
    (lambda x: _native.sdpa_packed_forward(x, 5, None, 1.0), r"3 \* heads \* head_dim"),
    (lambda x: _native.sdpa_packed_forward(x[0], 2, None, 1.0), r"\(batch, len"),
    (lambda x: _native.sdpa_packed_forward(x[:, :, ::2], 1, None, 1.0), "C-contiguous"),
    (lambda x: _native.sdpa_packed_forward(x, 2, np.zeros((2, 2, 4, 3), np.float32), 1.0), "attn_mask"),
    (lambda x: _native.sdpa_packed_forward(x.astype(np.int32), 2, None, 1.0), "float32 or float64"),
    (lambda x: _native.sdpa_packed_backward(x, 2, None, 1.0, np.zeros((2, 4, 5), np.float32),
                                            np.zeros((2, 2, 4), np.float32), np.zeros((2, 4, 6), np.float32)), "out"),
    (lambda x: _native.sdpa_packed_backward(x, 2, None, 1.0, np.zeros((2, 4, 6), np.float32),
                                            np.zeros((2, 2, 4), np.float32), np.zeros((2, 4, 7), np.float32)),
     "grad_out"),
])
def test_bad_input_names_the_argument(call, match):
    x = np.zeros((2, 4, 18), np.float32)  # 2 heads of 3
    with pytest.raises((ValueError, TypeError), match=match):
        call(x)


# ---- MultiheadAttention's self-attention path ---------------------------------------------------
def _count_packed(monkeypatch):
    calls = []
    apply = SDPAPacked.apply
    monkeypatch.setattr(SDPAPacked, "apply", lambda *a: calls.append(1) or apply(*a))
    return calls


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("mask_kind", [None, "causal", "bool", "float3d", "padding"])
def test_mha_self_attention_matches_torch(monkeypatch, batch_first, mask_kind):
    torch = pytest.importorskip("torch")
    calls = _count_packed(monkeypatch)
    ours, theirs = nn.MultiheadAttention(8, 2, batch_first=batch_first), torch.nn.MultiheadAttention(
        8, 2, batch_first=batch_first)
    ours.load_state_dict({k: fg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 5, 8) if batch_first else (5, 3, 8)).astype(np.float32)
    kw, tkw = {}, {}
    if mask_kind == "causal":
        m = np.triu(np.ones((5, 5), bool), 1)
        kw, tkw = dict(attn_mask=m, is_causal=True), dict(attn_mask=torch.tensor(m), is_causal=True)
    elif mask_kind == "bool":
        m = rng.random((5, 5)) < 0.3
        np.fill_diagonal(m, False)
        kw, tkw = dict(attn_mask=m), dict(attn_mask=torch.tensor(m))
    elif mask_kind == "float3d":
        m = rng.standard_normal((3 * 2, 5, 5)).astype(np.float32)
        kw, tkw = dict(attn_mask=m), dict(attn_mask=torch.tensor(m))
    elif mask_kind == "padding":
        m = np.zeros((3, 5), bool)
        m[0, -2:] = True
        kw, tkw = dict(key_padding_mask=m), dict(key_padding_mask=torch.tensor(m))
    tx = fg.tensor(x, requires_grad=True)
    out, w = ours(tx, tx, tx, need_weights=False, **kw)
    assert w is None and calls, "the packed path runs for self-attention without weights"
    tt = torch.tensor(x, requires_grad=True)
    tout, _ = theirs(tt, tt, tt, need_weights=False, **tkw)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(fg.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(tx.grad.numpy(), tt.grad.numpy(), rtol=1e-4, atol=1e-5)
    ours_w, theirs_w = ours.in_proj_weight.grad.numpy(), theirs.in_proj_weight.grad.numpy()
    np.testing.assert_allclose(ours_w, theirs_w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.in_proj_bias.grad.numpy(), theirs.in_proj_bias.grad.numpy(), rtol=1e-4, atol=1e-5)


def _masks(kind, rng, b, h, l):
    if kind == "causal":
        return dict(attn_mask=np.triu(np.ones((l, l), bool), 1), is_causal=True)
    if kind == "bool":
        m = rng.random((l, l)) < 0.3
        np.fill_diagonal(m, False)
        return dict(attn_mask=m)
    if kind == "float3d":
        return dict(attn_mask=rng.standard_normal((b * h, l, l)))
    if kind == "padding":
        m = np.zeros((b, l), bool)
        m[0, -2:] = True
        return dict(key_padding_mask=m)
    return {}


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("mask_kind", [None, "causal", "bool", "float3d", "padding"])
def test_mha_packed_path_equals_the_per_head_path(monkeypatch, batch_first, mask_kind):
    """The same module through the packed path (self-attention) and the split one (key a copy
    of query, which the PyTorch fixtures check): equal outputs and gradients."""
    calls = _count_packed(monkeypatch)
    fg.manual_seed(0)
    mha = nn.MultiheadAttention(6, 3, batch_first=batch_first, dtype=fg.float64)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, 6) if batch_first else (5, 2, 6))
    kw = _masks(mask_kind, rng, 2, 3, 5)
    g = rng.standard_normal(x.shape)
    results = []
    for packed in (True, False):
        a = fg.tensor(x, requires_grad=True)
        k = a if packed else fg.tensor(x.copy(), requires_grad=True)
        out, _ = mha(a, k, a, need_weights=False, **kw)
        out.backward(fg.tensor(g))
        grad_x = a.grad.numpy() + (0 if packed else k.grad.numpy())
        results.append((out.detach().numpy(), grad_x, mha.in_proj_weight.grad.numpy(), mha.in_proj_bias.grad.numpy()))
        mha.zero_grad()
    assert len(calls) == 1
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def test_mha_packed_path_passes_gradcheck():
    fg.manual_seed(0)
    mha = nn.MultiheadAttention(6, 3, batch_first=True, dtype=fg.float64)
    t = fg.tensor(np.random.default_rng(2).standard_normal((2, 4, 6)), requires_grad=True)
    mask = np.triu(np.ones((4, 4), bool), 1)
    assert gradcheck(lambda t: mha(t, t, t, need_weights=False, attn_mask=mask)[0], (t,))


def test_mha_keeps_the_split_path_for_weights_and_dropout(monkeypatch):
    calls = _count_packed(monkeypatch)
    mha = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = fg.randn(2, 3, 8)
    _, w = mha(x, x, x)  # need_weights=True by default: the weights are computed
    assert w is not None and w.shape == (2, 3, 3)
    mha(x, x, x, need_weights=False)  # training with dropout
    assert not calls
    mha.eval()
    mha(x, x, x, need_weights=False)
    assert calls
