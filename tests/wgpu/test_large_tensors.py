"""Tensors larger than one storage binding: kernels bind windows of the buffer and split their
work. The device's binding limit is lowered for the test (to 4 KiB), so small arrays play the part
of multi-gigabyte ones."""

import numpy as np
import pytest

from ferrograd.wgpu import runtime
from ferrograd.wgpu.array import GpuArray

LIMIT = 4096  # bytes: 1024 float32


@pytest.fixture
def small_bindings(monkeypatch):
    rt = runtime.get()
    rt.flush()
    monkeypatch.setitem(rt.limits, "max-storage-buffer-binding-size", LIMIT)
    yield rt
    rt.flush()


def _dev(a):
    return GpuArray.from_numpy(np.ascontiguousarray(a))


def test_elementwise_on_arrays_larger_than_a_binding(small_bindings):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 129)).astype(np.float32)  # 18.6 KiB: split into windows
    y = rng.standard_normal(129).astype(np.float32)
    a, b = _dev(x), _dev(y)
    np.testing.assert_allclose((a * b + 1.5).numpy(), x * y + 1.5, rtol=1e-6)
    np.testing.assert_allclose((a.T - 2.0).numpy(), x.T - 2.0)  # transposed view
    np.testing.assert_array_equal(a[5:7].numpy(), x[5:7])  # a small view of a big buffer
    np.testing.assert_allclose((a[::-3, 1::2] * 3).numpy(), x[::-3, 1::2] * 3)
    np.testing.assert_array_equal(a.T.copy().numpy(), x.T.copy())
    np.testing.assert_array_equal(np.where(a > 0, a, 0.0).numpy(), np.where(x > 0, x, 0.0))
    a += 1  # in place
    np.testing.assert_allclose(a.numpy(), x + 1)


def test_a_row_longer_than_a_binding_splits_inside_the_row(small_bindings):
    x = np.arange(3 * 3000, dtype=np.float32).reshape(3, 3000)
    np.testing.assert_array_equal((_dev(x) * 2).numpy(), x * 2)


def test_the_limit_is_real_without_the_split(small_bindings):
    big = _dev(np.zeros(3000, np.float32))
    rt = small_bindings
    with pytest.raises(ValueError, match="max-storage-buffer-binding-size"):
        rt.launch(rt.pipeline("fill"), [big.storage], (12,), runtime.pack(3000, 1.0, fmt="If"))


@pytest.mark.parametrize("m, k, n", [(50, 300, 40), (3, 2000, 5), (70, 9, 1500)])
def test_matmul_splits_rows_columns_and_the_inner_dim(small_bindings, m, k, n):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    got = (_dev(x) @ _dev(y)).numpy()
    np.testing.assert_allclose(got, x @ y, rtol=1e-4, atol=1e-4)


def test_batched_and_transposed_matmul_on_big_buffers(small_bindings):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 40, 33)).astype(np.float32)
    y = rng.standard_normal((3, 40, 21)).astype(np.float32)
    got = (_dev(x).transpose(0, 2, 1) @ _dev(y)).numpy()
    np.testing.assert_allclose(got, x.transpose(0, 2, 1) @ y, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_step_on_a_parameter_larger_than_a_binding(small_bindings, amsgrad):
    import ferrograd as fg
    from ferrograd.wgpu.kernels import adam_step

    rng = np.random.default_rng(3)
    shape = (23, 301)  # 27 KiB, at an offset inside a bigger arena
    w = rng.standard_normal(shape).astype(np.float32)
    p = fg.Tensor(w.copy(), requires_grad=True)
    opt = fg.optim.Adam([p], lr=0.01, amsgrad=amsgrad, weight_decay=0.01)
    arena = GpuArray.from_numpy(np.concatenate([np.zeros(77, np.float32), w.ravel()]))
    dev_p = GpuArray(shape, np.float32, arena.storage, None, 77)
    m, v, vmax = (GpuArray.empty(shape) for _ in range(3))
    for t in range(1, 4):
        g = rng.standard_normal(shape).astype(np.float32) * t
        p.grad = fg.Tensor(g)
        opt.step()
        adam_step(dev_p, GpuArray.from_numpy(g), m, v, vmax if amsgrad else None, t, 0.01,
                  weight_decay=0.01)
        np.testing.assert_allclose(dev_p.numpy(), p._data, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(arena.numpy()[:77], 0)  # the span before the view is untouched


def test_sgd_momentum_step_on_a_parameter_larger_than_a_binding(small_bindings):
    import ferrograd as fg
    from ferrograd.wgpu.kernels import sgd_step

    rng = np.random.default_rng(4)
    w = rng.standard_normal(5000).astype(np.float32)
    p = fg.Tensor(w.copy(), requires_grad=True)
    opt = fg.optim.SGD([p], lr=0.1, momentum=0.9)
    dev_p, buf = _dev(w), GpuArray.empty((5000,))
    for t in range(3):
        g = rng.standard_normal(5000).astype(np.float32)
        p.grad = fg.Tensor(g)
        opt.step()
        sgd_step(dev_p, _dev(g), buf, 0.1, momentum=0.9, first_step=t == 0)
    np.testing.assert_allclose(dev_p.numpy(), p._data, rtol=1e-5, atol=1e-6)


def test_embedding_on_a_table_larger_than_a_binding(small_bindings):
    from ferrograd.wgpu.kernels import embedding_backward, embedding_forward

    rng = np.random.default_rng(5)
    table = rng.standard_normal((300, 24)).astype(np.float32)  # 28 KiB: row blocks of the table
    ids = rng.integers(0, 300, size=(4, 8))  # the gathered rows themselves fit one binding
    ids[0, :3] = [299, 0, 299]  # both ends, and a repeat
    np.testing.assert_array_equal(embedding_forward(_dev(table), ids).numpy(), table[ids])
    np.testing.assert_array_equal(embedding_forward(_dev(table).T.T, _dev(ids.astype(np.int32))).numpy(), table[ids])
    gy = rng.standard_normal((4, 8, 24)).astype(np.float32)
    want = np.zeros_like(table)
    np.add.at(want, ids, gy)
    want[5] = 0
    got = embedding_backward(_dev(gy), ids, 300, padding_idx=5).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_embedding_of_more_ids_than_a_binding_holds(small_bindings):
    from ferrograd.wgpu.kernels import embedding_backward, embedding_forward

    rng = np.random.default_rng(15)
    table = rng.standard_normal((50, 24)).astype(np.float32)  # fits one binding
    ids = rng.integers(0, 50, size=(1500,))  # ids 6 KiB, rows 141 KiB: chunks of ids
    dev_ids = GpuArray.from_numpy(np.concatenate([[7], ids]).astype(np.int32))[1:]  # at an offset
    np.testing.assert_array_equal(embedding_forward(_dev(table), dev_ids).numpy(), table[ids])
    gy = rng.standard_normal((1500, 24)).astype(np.float32)
    want = np.zeros_like(table)
    np.add.at(want, ids, gy)
    np.testing.assert_allclose(embedding_backward(_dev(gy), dev_ids, 50, None).numpy(), want, rtol=1e-4, atol=1e-4)


def test_a_sequence_longer_than_a_binding_names_the_op_and_the_sizes(small_bindings):
    from ferrograd.wgpu import kernels as K

    x, h0 = _dev(np.zeros((1, 3, 2), np.float32)), _dev(np.zeros((1, 1000), np.float32))
    w_ih, w_hh = _dev(np.zeros((1000, 2), np.float32)), _dev(np.zeros((1000, 1000), np.float32))
    with pytest.raises(ValueError, match=r"rnn_forward: one sequence's buffer of 4 steps x 1000 values \(16000 bytes\).*4096"):
        K.rnn_forward(x, h0, w_ih, w_hh)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_recurrent_sequences_larger_than_a_binding_run_in_batch_blocks(small_bindings, cell):
    from ferrograd.wgpu import kernels as K

    rng = np.random.default_rng(11)
    g = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    b, l, i, h = 9, 5, 6, 28 // g
    r = lambda *shape: _dev(rng.standard_normal(shape).astype(np.float32))  # noqa: E731
    x = _dev(rng.standard_normal((l, b, i)).astype(np.float32)).transpose(1, 0, 2)  # strided batch-first view
    h0, c0, w_ih, w_hh, b_ih, b_hh = r(b, h), r(b, h), r(g * h, i), r(g * h, h), r(g * h), r(g * h)
    gy = r(b, l, h)
    rt = small_bindings
    assert b * (l + 1) * g * h * 4 > LIMIT  # the saved gates alone need blocks of the batch
    if cell == "lstm":
        fwd = lambda: tuple(K.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh))  # noqa: E731
        got, want = _both(rt, fwd)
        _close(got, want)
        _, gates, cells, hs = want
        gc = r(b, h)
        _close(*_both(rt, lambda: tuple(K.lstm_backward(x, c0, w_ih, w_hh, gates, cells, hs, gy, gc))))
    elif cell == "gru":
        got, want = _both(rt, lambda: tuple(K.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh)))
        _close(got, want)
        _, gates, hn, hs = want
        _close(*_both(rt, lambda: tuple(K.gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, gy))))
    else:
        got, want = _both(rt, lambda: tuple(K.rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh, True)))
        _close(got, want)
        _close(*_both(rt, lambda: tuple(K.rnn_backward(x, h0, w_ih, w_hh, True, want[1], gy))))


def test_dropout_masks_larger_than_a_binding_are_the_same_stream(small_bindings):
    from ferrograd.wgpu import kernels as K

    rt = small_bindings
    _close(*_both(rt, lambda: K.dropout_mask((7, 1001), 0.3, 42)))
    got, want = _both(rt, lambda: K.random_uint32((5003,), 7))
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_reductions_over_arrays_larger_than_a_binding(small_bindings):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((37, 129)).astype(np.float32)
    a = _dev(x)
    np.testing.assert_allclose(a.sum().numpy(), x.sum(), rtol=1e-4)
    np.testing.assert_allclose(a.sum(axis=0).numpy(), x.sum(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a.T.sum(axis=0, keepdims=True).numpy(), x.T.sum(axis=0, keepdims=True), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(a.max(axis=1).numpy(), x.max(axis=1))
    np.testing.assert_array_equal(a.min().numpy(), x.min())
    np.testing.assert_allclose(a.mean(axis=1).numpy(), x.mean(axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(a.argmax(axis=1).numpy(), x.argmax(axis=1))
    np.testing.assert_allclose(a[3:5].sum().numpy(), x[3:5].sum(), rtol=1e-5)  # a window, no split


def test_row_kernels_on_inputs_larger_than_a_binding(small_bindings):
    from ferrograd.wgpu import kernels as K

    rng = np.random.default_rng(7)
    x = rng.standard_normal((40, 3, 50)).astype(np.float32)  # 24 KiB of rows of 50
    a, gy = _dev(x), _dev(np.ones_like(x))
    small = dict(x=GpuArray.from_numpy(x[:2]), gy=GpuArray.from_numpy(np.ones_like(x[:2])))
    for log in (False, True):
        y = K.softmax_forward(a, log)
        np.testing.assert_allclose(y.numpy()[:2], K.softmax_forward(small["x"], log).numpy(), rtol=1e-6)
        want = x - x.max(-1, keepdims=True)
        want = want - np.log(np.exp(want).sum(-1, keepdims=True)) if log else np.exp(want) / np.exp(want).sum(-1, keepdims=True)
        np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-6)
        dx = K.softmax_backward(y, gy, log)
        np.testing.assert_allclose(dx.numpy()[:2], K.softmax_backward(K.softmax_forward(small["x"], log), small["gy"], log).numpy(),
                                   rtol=1e-5, atol=1e-6)
    w, b = (_dev(rng.standard_normal(50).astype(np.float32)) for _ in range(2))
    y, mean, rstd = K.layer_norm_forward(a, 50, w, b, 1e-5)
    np.testing.assert_allclose(mean.numpy(), x.reshape(-1, 50).mean(-1), rtol=1e-5, atol=1e-6)
    dx, dw, db = K.layer_norm_backward(gy, a, 50, mean, rstd, w, True, True)
    np.testing.assert_allclose(db.numpy(), np.full(50, 120.0), rtol=1e-5)  # sum of ones over 120 rows
    assert dx.shape == x.shape and dw.shape == (50,)
    logits = x.reshape(120, 50)
    t = rng.integers(0, 50, 120).astype(np.int32)
    loss, lse = K.cross_entropy_forward(_dev(logits), _dev(t), None, -100, 0.0)
    ref_lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
    np.testing.assert_allclose(loss.numpy(), ref_lse - logits[np.arange(120), t], rtol=1e-5, atol=1e-5)
    dl = K.cross_entropy_backward(_dev(logits), _dev(t), None, -100, 0.0, lse, _dev(np.ones(120, np.float32)))
    p = np.exp(logits - ref_lse[:, None])
    p[np.arange(120), t] -= 1
    np.testing.assert_allclose(dl.numpy(), p, rtol=1e-4, atol=1e-5)


def test_a_training_step_with_weights_larger_than_a_binding_follows_the_cpu(small_bindings):
    import ferrograd as fg
    from ferrograd import nn
    from ferrograd.nn import functional as F

    rng = np.random.default_rng(8)
    x = rng.standard_normal((16, 40)).astype(np.float32)
    y = rng.integers(0, 300, 16)
    losses = {}
    for device in ("cpu", "wgpu"):
        fg.manual_seed(0)
        model = nn.Sequential(nn.Linear(40, 64), nn.ReLU(), nn.Linear(64, 300))  # weights of 10 and 75 KiB
        model.to(device)
        opt = fg.optim.Adam(model.parameters(), lr=1e-2)
        xt, yt = fg.tensor(x, device=device), fg.tensor(y, device=device)
        curve = []
        for _ in range(3):
            opt.zero_grad()
            loss = F.cross_entropy(model(xt), yt)
            loss.backward()
            opt.step()
            curve.append(loss)
        losses[device] = [float(v.item()) for v in curve]
    np.testing.assert_allclose(losses["wgpu"], losses["cpu"], rtol=1e-4)


def _both(rt, fn):
    """fn() under the lowered binding limit, and again with the device's own (the reference)."""
    got = fn()
    low = rt.limits["max-storage-buffer-binding-size"]
    rt.limits["max-storage-buffer-binding-size"] = 128 << 20
    try:
        want = fn()
    finally:
        rt.limits["max-storage-buffer-binding-size"] = low
    return got, want


def _close(got, want):
    got, want = (got if isinstance(got, tuple) else (got,)), (want if isinstance(want, tuple) else (want,))
    for g, w in zip(got, want):
        if w is None:
            assert g is None
        else:
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-4, atol=1e-5)


def test_conv_and_pooling_on_batches_larger_than_a_binding(small_bindings):
    from ferrograd.wgpu import kernels as K

    rng = np.random.default_rng(9)
    x = _dev(rng.standard_normal((9, 3, 10, 10)).astype(np.float32))  # 10.8 KiB: blocks of samples
    w = _dev(rng.standard_normal((4, 3, 3, 3)).astype(np.float32))
    b = _dev(rng.standard_normal(4).astype(np.float32))
    gy = _dev(rng.standard_normal((9, 4, 10, 10)).astype(np.float32))
    rt = small_bindings
    conv = (1, 1), (1, 1), (1, 1), 1
    _close(*_both(rt, lambda: K.conv2d_forward(x, w, b, *conv, (10, 10))))
    _close(*_both(rt, lambda: K.conv2d_backward_data(gy, w, (10, 10), *conv)))
    _close(*_both(rt, lambda: K.conv2d_backward_weight(x, gy, (3, 3), *conv, True)))
    _close(*_both(rt, lambda: K.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))))
    y, idx = K.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    g5 = _dev(rng.standard_normal((9, 3, 5, 5)).astype(np.float32))
    _close(*_both(rt, lambda: K.max_pool2d_backward(g5, idx, (9, 3, 10, 10), (2, 2), (2, 2), (0, 0))))
    _close(*_both(rt, lambda: K.avg_pool2d_forward(x, (2, 2), (2, 2), (0, 0), True)))
    _close(*_both(rt, lambda: K.avg_pool2d_backward(g5, (9, 3, 10, 10), (2, 2), (2, 2), (0, 0), True)))
    _close(*_both(rt, lambda: K.adaptive_avg_pool2d_forward(x, (3, 3))))
    _close(*_both(rt, lambda: K.adaptive_avg_pool2d_backward(_dev(np.ones((9, 3, 3, 3), np.float32)), (9, 3, 10, 10), (3, 3))))


@pytest.mark.parametrize("masked", ["none", "causal", "float", "bool"])
def test_attention_on_batches_larger_than_a_binding(small_bindings, masked):
    from ferrograd.wgpu import kernels as K

    rng = np.random.default_rng(10)
    q = _dev(rng.standard_normal((6, 2, 24, 8)).astype(np.float32))  # 9 KiB, items of 1.5 KiB
    k = _dev(rng.standard_normal((6, 1, 20, 8)).astype(np.float32))  # broadcast over heads
    v = _dev(rng.standard_normal((6, 2, 20, 8)).astype(np.float32))
    mask = {"float": _dev(rng.standard_normal((6, 2, 24, 20)).astype(np.float32)),
            "bool": _dev((rng.random((6, 2, 24, 20)) > 0.3).astype(np.int32))}.get(masked)
    causal = masked == "causal"
    rt = small_bindings
    _close(*_both(rt, lambda: K.sdpa_forward(q, k, v, mask, causal, 0.3)))
    out, lse = K.sdpa_forward(q, k, v, mask, causal, 0.3)
    dout = _dev(rng.standard_normal((6, 2, 24, 8)).astype(np.float32))
    _close(*_both(rt, lambda: K.sdpa_backward(q, k, v, mask, causal, 0.3, out, lse, dout)))


def test_mixing_layers_on_activations_larger_than_a_binding(small_bindings):
    from ferrograd.wgpu import kernels as K

    rng = np.random.default_rng(12)
    r = lambda *shape: _dev(rng.standard_normal(shape).astype(np.float32))  # noqa: E731
    rt = small_bindings
    x, w1, b1, w2, b2 = r(70, 20), r(30, 20), r(30), r(20, 30), r(20)  # hidden (70, 30): 8.4 KiB
    got, want = _both(rt, lambda: tuple(K.channel_mixing_forward(x, w1, b1, w2, b2)))
    _close(got, want)
    _, hpre, act = want
    gy = r(70, 20)
    _close(*_both(rt, lambda: tuple(K.channel_mixing_backward(x, w1, w2, hpre, act, gy))))
    x, w1, b1, w2, b2 = r(9, 10, 12), r(16, 10), r(16), r(10, 16), r(10)  # hidden (9, 16, 12): 6.9 KiB
    got, want = _both(rt, lambda: tuple(K.token_mixing_forward(x, w1, b1, w2, b2)))
    _close(got, want)
    _, hpre, act = want
    gy = r(9, 10, 12)
    _close(*_both(rt, lambda: tuple(K.token_mixing_backward(x, w1, w2, hpre, act, gy))))


@pytest.mark.parametrize("a, j, k", [(300, 7, 1), (5, 400, 1), (40, 6, 9), (2, 700, 3)])
def test_axis_sums_over_arrays_larger_than_a_binding(small_bindings, a, j, k):
    from ferrograd.wgpu.kernels import _util as u

    x = np.random.default_rng(13).standard_normal((a, j, k)).astype(np.float32)
    out = GpuArray.from_numpy(np.full(j + 3, 7.0, np.float32))
    u.sum_axes(_dev(x), a, j, k, out, out_off=2)
    want = np.full(j + 3, 7.0, np.float32)
    want[2:2 + j] = x.sum(axis=(0, 2))
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-4, atol=1e-4)


def test_gather_and_scatter_on_arrays_larger_than_a_binding(small_bindings):
    rng = np.random.default_rng(14)
    x = rng.standard_normal((60, 41)).astype(np.float32)  # 9.6 KiB: targets in three windows
    rows = rng.integers(-60, 60, 130)
    a = _dev(x)
    np.testing.assert_array_equal(a[rows].numpy(), x[rows])  # result 21 KiB: halved too
    np.testing.assert_array_equal(a[_dev(rows.astype(np.int32)), 3:9].numpy(), x[rows, 3:9])
    np.testing.assert_array_equal(a[::-1][rows[:5], [2, 40, 0, 7, 7]].numpy(), x[::-1][rows[:5], [2, 40, 0, 7, 7]])
    idx = rng.integers(0, 41, (60, 3))
    np.testing.assert_array_equal(np.take_along_axis(a, _dev(idx.astype(np.int32)), 1).numpy(),
                                  np.take_along_axis(x, idx, 1))
    v = rng.standard_normal((130, 41)).astype(np.float32)
    a[rows % 60] = _dev(v)
    want = x.copy()
    want[rows % 60] = v
    # repeated rows: one of the writes wins, as on the CPU backend; rows written once are exact
    once = [r for r in range(60) if (rows % 60 == r).sum() == 1]
    np.testing.assert_array_equal(a.numpy()[once], want[once])
    acc = _dev(np.zeros((60, 41), np.float32))
    np.add.at(acc, rows, _dev(v))
    ref = np.zeros((60, 41), np.float32)
    np.add.at(ref, rows, v)
    np.testing.assert_allclose(acc.numpy(), ref, rtol=1e-5, atol=1e-5)
    np.put_along_axis(acc, idx, 5.0, 1)
    np.put_along_axis(ref, idx, 5.0, 1)
    np.testing.assert_allclose(acc.numpy(), ref, rtol=1e-5, atol=1e-5)  # (atomic adds: any order)
    assert (acc.numpy() == 5.0).sum() >= len(np.unique(idx[:, :, None] + 41 * np.arange(60)[:, None, None]))
