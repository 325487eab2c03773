"""Flipped views (negative strides) into the wgpu kernels (issue 14): every op that reaches a
device kernel through `wgpu.kernels` (matmul and its family, linear, bilinear, embedding, mixing,
the recurrent sequences, attention, norms, softmax, losses, conv, pooling) gives on a flipped view
what it gives on a contiguous copy, forward and backward. The kernels index with u32 strides;
wgpu/kernels/_entry.py copies such operands (or zeroes the stride of a length-1 dim) first."""

from __future__ import annotations

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from ferrograd import nn

TOL = 2e-5


def _leaves(arrays, flip):
    """(leaf tensors, the arguments): a float array becomes a leaf holding it reversed along dim 0
    and is passed as leaf[::-1] (a negative stride) when `flip`, else a plain contiguous leaf."""
    leaves, args = [], []
    for a in arrays:
        if not isinstance(a, np.ndarray):
            leaves.append(None)
            args.append(a)
            continue
        grad = a.dtype.kind == "f"
        if flip and a.ndim:
            leaf = fg.tensor(np.ascontiguousarray(a[::-1]), device="wgpu", requires_grad=grad)
            args.append(leaf[::-1])
        else:
            leaf = fg.tensor(a, device="wgpu", requires_grad=grad)
            args.append(leaf)
        leaves.append(leaf if grad else None)
    return leaves, args


def _grads(leaves, flip):
    out = []
    for leaf in leaves:
        if leaf is None or leaf.grad is None:
            out.append(None)
            continue
        g = leaf.grad.cpu().numpy()
        out.append(g[::-1] if flip and g.ndim else g)
    return out


def _outputs(y):
    ys = y if isinstance(y, (tuple, list)) else (y,)
    flat = []
    for o in ys:
        flat.extend(_outputs(o) if isinstance(o, (tuple, list)) else [o])
    return flat


def check_flipped(fn, *arrays, grad=True):
    """fn on flipped views == fn on contiguous tensors (outputs, and every input's gradient)."""
    results = []
    for flip in (False, True):
        leaves, args = _leaves(arrays, flip)
        outs = [o for o in _outputs(fn(*args)) if o is not None]
        if grad:
            loss = sum(((o * fg.tensor(np.linspace(-1, 1, max(o.numel(), 1), dtype=np.float32).reshape(o.shape),
                                       device="wgpu")).sum() for o in outs if o.dtype == fg.float32))
            loss.backward()
        results.append(([o.detach().cpu().numpy() for o in outs], _grads(leaves, flip) if grad else []))
    (want, want_g), (got, got_g) = results
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=TOL, atol=TOL)
    for g, w in zip(got_g, want_g):
        assert (g is None) == (w is None)
        if w is not None:
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)


rng = np.random.default_rng(0)


def r(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


MATMUL_FAMILY = {
    "matmul": (fg.matmul, (r(3, 4), r(4, 5))),
    "matmul_batched": (fg.matmul, (r(2, 3, 4), r(4, 2))),
    "mm": (fg.mm, (r(3, 4), r(4, 2))),
    "bmm": (fg.bmm, (r(2, 3, 4), r(2, 4, 5))),
    "mv": (fg.mv, (r(3, 4), r(4))),
    "dot": (fg.dot, (r(5), r(5))),
    "addmm": (fg.addmm, (r(3, 2), r(3, 4), r(4, 2))),
    "baddbmm": (fg.baddbmm, (r(2, 3, 2), r(2, 3, 4), r(2, 4, 2))),
    "addbmm": (fg.addbmm, (r(3, 2), r(2, 3, 4), r(2, 4, 2))),
    "addmv": (fg.addmv, (r(3), r(3, 4), r(4))),
    "einsum": (lambda a, b: fg.einsum("bij,jk->bik", a, b), (r(2, 3, 4), r(4, 2))),
    "tensordot": (lambda a, b: fg.tensordot(a, b, dims=([1], [0])), (r(3, 4), r(4, 5))),
    "cdist_mm": (lambda a, b: fg.cdist(a, b, compute_mode="use_mm_for_euclid_dist"), (r(3, 4), r(5, 4))),
    "linear": (F.linear, (r(3, 4), r(5, 4), r(5))),
    "bilinear": (F.bilinear, (r(3, 4), r(3, 2), r(5, 4, 2), r(5))),
}


@pytest.mark.parametrize("name", sorted(MATMUL_FAMILY))
def test_matmul_family_on_flipped_views(name):
    fn, arrays = MATMUL_FAMILY[name]
    check_flipped(fn, *arrays)


def test_linear_flipped_along_the_feature_dim():
    """A flip inside a row (the inner dim), not only across rows."""
    x, w = r(3, 4), r(5, 4)
    want = F.linear(fg.tensor(x, device="wgpu"), fg.tensor(w, device="wgpu")).cpu().numpy()
    xf = fg.tensor(np.ascontiguousarray(x[:, ::-1]), device="wgpu")[:, ::-1]
    wf = fg.tensor(np.ascontiguousarray(w[:, ::-1]), device="wgpu")[:, ::-1]
    np.testing.assert_allclose(F.linear(xf, wf).cpu().numpy(), want, rtol=TOL, atol=TOL)


def test_embedding_flipped_table_and_ids():
    table, ids = r(5, 3), np.array([[0, 4, 2], [1, 1, 3]], np.int64)
    check_flipped(lambda w, i: F.embedding(i, w), table, ids)
    # a table flipped along its length-1 dim: stride -3 on a dim never stepped (no copy needed)
    one = fg.tensor(np.arange(3, dtype=np.float32).reshape(1, 3), device="wgpu")[::-1]
    out = F.embedding(fg.tensor(np.zeros(2, np.int64), device="wgpu"), one)
    np.testing.assert_array_equal(out.cpu().numpy(), [[0, 1, 2], [0, 1, 2]])


@pytest.mark.parametrize("fn", [F.channel_mixing, F.token_mixing], ids=["channel", "token"])
def test_mixing_on_flipped_views(fn):
    b, t, c, d = 2, 3, 4, 5
    n = t if fn is F.token_mixing else c
    check_flipped(fn, r(b, t, c), r(d, n), r(d), r(n, d), r(n))


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn", "rnn_relu"])
def test_recurrent_sequences_on_flipped_views(kind):
    b, length, i, h = 2, 4, 3, 5
    g = {"lstm": 4, "gru": 3, "rnn": 1, "rnn_relu": 1}[kind]
    weights = (r(g * h, i, scale=0.5), r(g * h, h, scale=0.5), r(g * h), r(g * h))
    if kind == "lstm":
        check_flipped(F.lstm_sequence, r(b, length, i), r(b, h), r(b, h), *weights)
    elif kind == "gru":
        check_flipped(F.gru_sequence, r(b, length, i), r(b, h), *weights)
    else:
        nl = "relu" if kind == "rnn_relu" else "tanh"
        check_flipped(lambda *a: F.rnn_sequence(*a, nonlinearity=nl), r(b, length, i), r(b, h), *weights)


def test_sequence_flipped_in_time():
    """x[:, ::-1] (the time dim, a negative stride inside the batch) into lstm_sequence."""
    x, h0, c0 = r(2, 4, 3), r(2, 5), r(2, 5)
    w = (r(20, 3, scale=0.5), r(20, 5, scale=0.5), r(20), r(20))
    dev = [fg.tensor(a, device="wgpu") for a in (h0, c0, *w)]
    want = F.lstm_sequence(fg.tensor(np.ascontiguousarray(x[:, ::-1]), device="wgpu"), *dev)[0].cpu().numpy()
    got = F.lstm_sequence(fg.tensor(x, device="wgpu")[:, ::-1], *dev)[0].cpu().numpy()
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("masked", [False, True])
def test_sdpa_on_flipped_views(masked):
    q, k, v = r(2, 2, 3, 4), r(2, 2, 5, 4), r(2, 2, 5, 3)
    if masked:
        mask = rng.standard_normal((3, 5)).astype(np.float32)
        check_flipped(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), q, k, v, mask)
    else:
        check_flipped(F.scaled_dot_product_attention, q, k, v)
    # flipped along the sequence dim (dim 2), as in the fuzz reproduction
    ones = fg.tensor(np.ones((1, 1, 2, 2), np.float32), device="wgpu")[:, :, ::-1]
    np.testing.assert_allclose(F.scaled_dot_product_attention(ones, ones, ones).cpu().numpy(), np.ones((1, 1, 2, 2)))


ROW_KERNELS = {
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b), (r(3, 4), r(4), r(4))),
    "softmax": (lambda x: F.softmax(x, -1), (r(3, 4),)),
    "log_softmax": (lambda x: F.log_softmax(x, 0), (r(3, 4),)),
    "cross_entropy": (lambda x, t: F.cross_entropy(x, t), (r(3, 4), np.array([3, 0, 1], np.int64))),
    "cross_entropy_probs": (lambda x, t: F.cross_entropy(x, t), (r(3, 4), np.full((3, 4), 0.25, np.float32))),
    "gelu": (F.gelu, (r(3, 4),)),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, padding=1), (r(2, 3, 5, 4), r(4, 3, 3, 3), r(4))),
    "conv_transpose2d": (lambda x, w: F.conv_transpose2d(x, w, stride=2), (r(2, 3, 3, 4), r(3, 2, 3, 3))),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), (r(2, 3, 4, 4),)),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), (r(2, 3, 4, 4),)),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, 3), (r(2, 3, 5, 4),)),
}


@pytest.mark.parametrize("name", sorted(ROW_KERNELS))
def test_other_kernels_on_flipped_views(name):
    fn, arrays = ROW_KERNELS[name]
    check_flipped(fn, *arrays)


@pytest.mark.parametrize("make", [lambda: nn.LSTM(3, 4, batch_first=True), lambda: nn.GRU(3, 4, batch_first=True),
                                  lambda: nn.MultiheadAttention(3, 1, batch_first=True),
                                  lambda: nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True)],
                         ids=["LSTM", "GRU", "MultiheadAttention", "TransformerEncoderLayer"])
def test_modules_on_flipped_input(make):
    fg.manual_seed(0)
    m = make().to("wgpu")
    width = 4 if isinstance(m, nn.TransformerEncoderLayer) else 3
    x = r(2, 5, width)
    call = (lambda t: m(t, t, t)) if isinstance(m, nn.MultiheadAttention) else m
    want = [o.detach().cpu().numpy() for o in _outputs(call(fg.tensor(np.ascontiguousarray(x[::-1]), device="wgpu")))]
    flipped = fg.tensor(x, device="wgpu")[::-1]
    got = [o.detach().cpu().numpy() for o in _outputs(call(flipped))]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
