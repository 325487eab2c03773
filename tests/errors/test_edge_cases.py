"""Issue 14 point 4: edge cases give PyTorch's answer. The expected shapes, dtypes and errors were
read from torch 2.x (CPU) by hand; values are checked against a numpy reference."""

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from ferrograd import nn


# ---- embedding with a 0-d index: (dim,), not (1, dim) ------------------------------------------
def test_embedding_0d_index_gives_one_row():
    w = fg.randn(5, 3, requires_grad=True)
    out = F.embedding(fg.tensor(2), w)
    assert tuple(out.shape) == (3,)
    np.testing.assert_array_equal(out.detach().numpy(), w.detach().numpy()[2])
    out.sum().backward()
    want = np.zeros((5, 3), np.float32)
    want[2] = 1
    np.testing.assert_array_equal(w.grad.numpy(), want)


def test_nn_embedding_0d_index():
    emb = nn.Embedding(5, 3)
    assert tuple(emb(fg.tensor(4)).shape) == (3,)
    assert tuple(emb(fg.tensor([4])).shape) == (1, 3)


# ---- GCNConv: edge_index and a dense adjacency never mixed up -----------------------------------
def _gcn_reference(adj, x, conv):
    a_hat = adj + np.eye(adj.shape[0])
    d = a_hat.sum(1) ** -0.5
    return (d[:, None] * a_hat * d[None]) @ (x @ conv.lin.weight.detach().numpy().T) + conv.bias.detach().numpy()


def test_gcn_two_node_edge_index_is_an_edge_list():
    # On a 2-node graph a (2, E=2) integer edge_index has the shape of a dense adjacency; it was
    # once read as one. It is always an edge list (a dense adjacency goes through adj=).
    conv = nn.GCNConv(3, 2)
    x = fg.randn(2, 3)
    edges = np.array([[0, 0], [1, 1]])  # edges 0->1 twice: as a matrix it would be [[0, 0], [1, 1]]
    adj = np.zeros((2, 2))
    np.add.at(adj, (edges[1], edges[0]), 1)  # A[target, source]
    want = _gcn_reference(adj, x.numpy(), conv)
    got = conv(x, fg.tensor(edges)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    wrong = _gcn_reference(edges.astype(float), x.numpy(), conv)  # the dense misreading
    assert not np.allclose(got, wrong)


def test_gcn_dense_adjacency_through_adj_keyword():
    conv = nn.GCNConv(3, 2)
    x = fg.randn(4, 3)
    adj = (np.random.default_rng(0).random((4, 4)) < 0.5).astype(np.float32)
    np.testing.assert_allclose(conv(x, adj=fg.tensor(adj)).detach().numpy(), _gcn_reference(adj, x.numpy(), conv),
                               rtol=1e-5, atol=1e-6)


def test_gcn_edge_weight():
    conv = nn.GCNConv(3, 2)
    x = fg.randn(3, 3)
    edges = np.array([[0, 1, 2], [1, 2, 0]])
    w = np.array([0.5, 2.0, 1.5], np.float32)
    adj = np.zeros((3, 3))
    adj[edges[1], edges[0]] = w
    got = conv(x, fg.tensor(edges), fg.tensor(w)).detach().numpy()
    np.testing.assert_allclose(got, _gcn_reference(adj, x.numpy(), conv), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call, exc, match", [
    (lambda c, x: c(x, fg.tensor(np.ones((4, 4), np.float32))), TypeError, "adj="),   # dense float as edge_index
    (lambda c, x: c(x, fg.tensor(np.ones((4, 4), np.int64))), ValueError, r"\(2, E\)"),  # dense int as edge_index
    (lambda c, x: c(x), TypeError, "exactly one"),
    (lambda c, x: c(x, fg.tensor([[0, 1], [1, 0]]), adj=fg.eye(4)), TypeError, "exactly one"),
    (lambda c, x: c(x, fg.tensor([[0, 4], [1, 0]])), IndexError, "node ids"),
    (lambda c, x: c(x, fg.tensor([[0, 1], [1, 0]]), fg.ones(3)), ValueError, "edge_weight"),
    (lambda c, x: c(x, adj=fg.eye(3)), ValueError, "adj"),
])
def test_gcn_bad_graphs_raise_naming_gcnconv(call, exc, match):
    with pytest.raises(exc, match=match) as info:
        call(nn.GCNConv(3, 2), fg.randn(4, 3))
    assert "GCNConv" in str(info.value)


# ---- pooling an input with an empty spatial dim raises, as torch --------------------------------
EMPTY_POOLS = [
    ("max_pool1d", lambda: F.max_pool1d(fg.randn(1, 1, 0), 1)),
    ("max_pool2d", lambda: F.max_pool2d(fg.randn(1, 1, 0, 4), 2)),
    ("max_pool2d", lambda: F.max_pool2d(fg.randn(1, 1, 0, 4), 2, padding=1)),
    ("avg_pool1d", lambda: F.avg_pool1d(fg.randn(1, 1, 0), 2, padding=1)),
    ("avg_pool2d", lambda: F.avg_pool2d(fg.randn(1, 1, 4, 0), 2, padding=1)),
    ("adaptive_avg_pool2d", lambda: F.adaptive_avg_pool2d(fg.randn(1, 1, 0, 4), 2)),
    ("adaptive_max_pool2d", lambda: F.adaptive_max_pool2d(fg.randn(1, 1, 0, 4), 2)),
    ("adaptive_avg_pool1d", lambda: F.adaptive_avg_pool1d(fg.randn(1, 1, 0), 2)),
    ("max_pool2d", lambda: F.max_pool2d(fg.randn(1, 0, 4, 4), 2)),  # empty channels: torch raises too
]


@pytest.mark.parametrize("op, call", EMPTY_POOLS)
def test_pooling_an_empty_spatial_dim_raises(op, call):
    with pytest.raises(ValueError, match=op):
        call()


def test_lp_pool_empty_raises():
    with pytest.raises(ValueError, match="lp_pool2d"):
        F.lp_pool2d(fg.randn(1, 1, 0, 4), 2, 2)
    with pytest.raises(ValueError, match="lp_pool1d"):
        F.lp_pool1d(fg.randn(1, 1, 0), 2, 1)
    assert tuple(F.lp_pool2d(fg.randn(0, 1, 4, 4), 2, 2).shape) == (0, 1, 2, 2)


def test_pooling_an_empty_batch_is_allowed():
    # torch: an empty batch (N == 0) is fine and gives an empty result of the pooled shape
    assert tuple(F.max_pool2d(fg.randn(0, 1, 4, 4), 2).shape) == (0, 1, 2, 2)
    assert tuple(F.avg_pool2d(fg.randn(0, 1, 4, 4), 2).shape) == (0, 1, 2, 2)


# ---- bool ** bool has a supported dtype ---------------------------------------------------------
def test_bool_pow_bool_is_bool():
    a_np = np.array([True, False, True, False])
    b_np = np.array([True, True, False, False])
    a, b = fg.tensor(a_np), fg.tensor(b_np)
    out = a ** b
    assert out.dtype == fg.bool
    np.testing.assert_array_equal(out.numpy(), np.power(a_np.astype(int), b_np.astype(int)).astype(bool))
    np.testing.assert_array_equal(fg.pow(a, b).numpy(), out.numpy())
    # torch: t ** True is t (bool), t ** False all True
    assert (a ** True).dtype == fg.bool and (a ** True).tolist() == a_np.tolist()
    assert (a ** False).tolist() == [True] * 4
    assert (True ** a).tolist() == [True] * 4 and (False ** a).tolist() == (~a_np).tolist()


def test_bool_pow_int_is_int64_and_float_is_float32():
    a = fg.tensor([True, False])
    assert (a ** 2).dtype == fg.int64 and (a ** 2).tolist() == [1, 0]
    assert (2 ** a).dtype == fg.int64 and (2 ** a).tolist() == [2, 1]
    assert (a ** 2.5).dtype == fg.float32


# ---- reductions over dim 0 / -1 of a 0-d tensor -------------------------------------------------
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_over_dim_of_a_0d_tensor(dim, keepdim):
    s = fg.tensor(3.0)
    for name in ("max", "min"):
        values, indices = getattr(s, name)(dim=dim, keepdim=keepdim)
        assert tuple(values.shape) == () and values.item() == 3.0
        assert tuple(indices.shape) == () and indices.item() == 0 and indices.dtype == fg.int64
        v2, i2 = getattr(fg, name)(s, dim, keepdim)
        assert v2.item() == 3.0 and i2.item() == 0
    for name in ("argmax", "argmin"):
        r = getattr(s, name)(dim=dim, keepdim=keepdim)
        assert tuple(r.shape) == () and r.item() == 0 and r.dtype == fg.int64
    assert s.amax(dim=dim).item() == 3.0 and s.amin(dim=dim).item() == 3.0


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_0d_reduction_dim_out_of_range(name):
    with pytest.raises(IndexError, match="out of range"):
        getattr(fg.tensor(3.0), name)(dim=1)


# ---- t[[]] ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("key, shape", [
    ([], (0, 4)),
    (([],), (0, 4)),
    ((slice(None), []), (3, 0)),
    (([], []), (0,)),
])
def test_empty_list_index(key, shape):
    t = fg.randn(3, 4, requires_grad=True)
    out = t[key]
    assert tuple(out.shape) == shape and out.dtype == fg.float32
    assert tuple(t.detach().numpy()[tuple(np.asarray(k, np.int64) if isinstance(k, list) else k
                                          for k in (key if isinstance(key, tuple) else (key,)))].shape) == shape
    out.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.zeros((3, 4), np.float32))


def test_empty_list_index_of_a_vector_and_a_scalar():
    assert tuple(fg.randn(3)[[]].shape) == (0,)
    with pytest.raises(IndexError, match="index"):
        fg.tensor(1.0)[[]]  # torch: too many indices for tensor of dimension 0
