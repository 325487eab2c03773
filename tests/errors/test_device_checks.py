"""Issue 14 point 5: wgpu checks what cpu checks. Out-of-range indices raise IndexError naming the
op on both devices (on wgpu after one small readback); tensors from two devices are refused;
device int64 arithmetic wraps at 32 bits, as the README's GPU section documents."""

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F


@pytest.fixture
def wgpu():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    return "wgpu"


def t(values, device, dtype=None):
    return fg.tensor(values, dtype=dtype).to(device)


# (op name the message must hold, call(device)) with one bad index each
BAD_INDEX = [
    ("embedding", lambda d: F.embedding(t([1, 5], d), fg.randn(5, 3).to(d))),
    ("embedding", lambda d: F.embedding(t([-1], d), fg.randn(5, 3).to(d))),
    ("embedding", lambda d: fg.nn.Embedding(5, 3).to(d)(t(7, d))),
    ("embedding_bag", lambda d: F.embedding_bag(t([[0, 9]], d), fg.randn(5, 3).to(d))),
    ("cross_entropy", lambda d: F.cross_entropy(fg.randn(4, 3).to(d), t([0, 1, 3, 2], d))),
    ("cross_entropy", lambda d: F.cross_entropy(fg.randn(4, 3).to(d), t([0, -2, 1, 2], d))),
    ("nll_loss", lambda d: F.nll_loss(fg.randn(4, 3).to(d), t([0, 1, 2, 7], d))),
    ("multi_margin_loss", lambda d: F.multi_margin_loss(fg.randn(4, 3).to(d), t([0, 1, 2, 7], d))),
    ("gather", lambda d: fg.randn(3, 4).to(d).gather(1, t([[0, 9]], d))),
    ("scatter", lambda d: fg.randn(3, 4).to(d).scatter(1, t([[0, 9]], d), 1.0)),
    ("scatter_add", lambda d: fg.randn(3, 4).to(d).scatter_add(1, t([[4, 0]], d), fg.ones(1, 2).to(d))),
    ("index_select", lambda d: fg.randn(3, 4).to(d).index_select(0, t([3], d))),
    ("index_add", lambda d: fg.randn(3, 4).to(d).index_add(0, t([7], d), fg.ones(1, 4).to(d))),
    ("take", lambda d: fg.randn(3, 4).to(d).take(t([12], d))),
    ("index", lambda d: fg.randn(3, 4).to(d)[t([0, 3], d)]),
    ("index", lambda d: fg.randn(3, 4).to(d)[:, t([-5], d)]),
    ("index_put", lambda d: fg.randn(3, 4).to(d).index_put((t([5], d),), fg.tensor(1.0).to(d))),
    ("setitem", lambda d: _setitem(fg.zeros(3, 4).to(d), t([0, 3], d), 1.0)),
    ("setitem", lambda d: _setitem(fg.zeros(3, 4).to(d), (slice(None), t([-5], d)), 1.0)),
    ("setitem", lambda d: _setitem((fg.zeros(3, 4, requires_grad=True) * 1).to(d), t([9], d), fg.ones(4).to(d))),
]


def _setitem(target, key, value):
    target[key] = value


@pytest.mark.parametrize("op, call", BAD_INDEX, ids=[f"{op}-{i}" for i, (op, _) in enumerate(BAD_INDEX)])
def test_out_of_range_index_raises_index_error_naming_the_op(device, op, call):
    with pytest.raises(IndexError) as info:
        call(device)
    assert str(info.value).startswith(f"{op}:"), str(info.value)


def test_in_range_and_ignored_indices_still_run_and_agree_with_cpu(wgpu):
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    target = [0, -100, 2, 1]  # ignore_index is not a range error
    want = F.cross_entropy(fg.tensor(x), fg.tensor(target)).item()
    got = F.cross_entropy(fg.tensor(x).to(wgpu), t(target, wgpu)).item()
    assert abs(got - want) < 1e-5
    w = fg.randn(5, 3)
    ids = [[0, 4], [4, 1]]
    np.testing.assert_allclose(F.embedding(t(ids, wgpu), w.to(wgpu)).numpy(), w.numpy()[np.array(ids)], rtol=1e-6)
    a = fg.randn(3, 4)
    np.testing.assert_allclose(a.to(wgpu)[t([-3, 2], wgpu)].numpy(), a.numpy()[[-3, 2]], rtol=1e-6)
    np.testing.assert_allclose(a.to(wgpu).gather(1, t([[3, 0]], wgpu)).numpy(), a.numpy()[[0], [3, 0]][None],
                               rtol=1e-6)


# ---- two devices -----------------------------------------------------------------------------------
def test_where_refuses_a_cpu_condition_with_wgpu_values(wgpu):
    a, b = fg.randn(3).to(wgpu), fg.randn(3).to(wgpu)
    with pytest.raises(ValueError, match="where: condition is on cpu"):
        fg.where(fg.tensor([True, False, True]), a, b)
    with pytest.raises(ValueError, match="where: condition is on cpu"):
        a.where(fg.tensor([True, False, True]), b)
    with pytest.raises(ValueError, match="where: condition is on wgpu"):
        fg.where(fg.tensor([True, False, True]).to(wgpu), a.cpu(), b.cpu())
    with pytest.raises(ValueError, match="where"):
        fg.where(fg.tensor([True, False, True]).to(wgpu), a, b.cpu())


def test_where_on_one_device_and_a_0d_cpu_condition_run(wgpu):
    a, b = fg.randn(3), fg.randn(3)
    cond = np.array([True, False, True])
    got = fg.where(fg.tensor(cond).to(wgpu), a.to(wgpu), b.to(wgpu)).numpy()
    np.testing.assert_array_equal(got, np.where(cond, a.numpy(), b.numpy()))
    # a 0-d cpu tensor passes as a scalar, as torch's cpu scalars beside device tensors
    np.testing.assert_array_equal(fg.where(fg.tensor(False), a.to(wgpu), b.to(wgpu)).numpy(), b.numpy())


def test_ops_refuse_tensors_from_two_devices(wgpu):
    a = fg.randn(3, 4).to(wgpu)
    calls = [
        ("gather", lambda: fg.randn(3, 4).gather(1, t([[0, 1]], wgpu))),
        ("embedding", lambda: F.embedding(t([0, 1], "cpu"), fg.randn(5, 3).to(wgpu))),
        ("cross_entropy", lambda: F.cross_entropy(fg.randn(2, 3).to(wgpu), t([0, 1], "cpu"))),
        ("device", lambda: a + fg.randn(3, 4)),
        ("device", lambda: a @ fg.randn(4, 2)),
    ]
    for op, call in calls:
        with pytest.raises(ValueError, match=op):
            call()


def test_function_apply_refuses_a_host_array_beside_wgpu_tensors(wgpu):
    from ferrograd.ops import arith

    a = fg.randn(3).to(wgpu)
    with pytest.raises(ValueError, match="Add: expected all tensors on one device"):
        arith.Add.apply(a, np.ones(3, np.float32))
    with pytest.raises(ValueError, match="Add: expected all tensors on one device"):
        arith.Add.apply(a.cpu(), a._data)


def test_host_index_keys_still_index_wgpu_tensors(wgpu):
    # torch takes cpu indices for cuda tensors; the device indexer uploads them (and range-checks)
    a = fg.randn(3, 4)
    g = a.to(wgpu)
    for key in ([2, 0], np.array([2, 0]), fg.tensor([2, 0]), np.array([True, False, True])):
        np.testing.assert_array_equal(g[key].numpy(), a.numpy()[np.asarray(key.numpy() if hasattr(key, "numpy") else key)])
    np.testing.assert_array_equal(g.index_select(0, fg.tensor([1])).numpy(), a.numpy()[[1]])
    with pytest.raises(IndexError, match="index"):
        g[fg.tensor([0, 3])]
    with pytest.raises(IndexError, match="index_select"):
        g.index_select(0, fg.tensor([3]))


def test_optimizer_refuses_a_cpu_grad_on_a_wgpu_param(wgpu):
    p = fg.nn.Parameter(fg.randn(2, 3).to(wgpu))
    before = p.detach().numpy().copy()
    opt = fg.optim.Adam([p], lr=0.1)
    p.grad = fg.randn(2, 3)
    with pytest.raises((ValueError, RuntimeError), match="device"):
        opt.step()
    np.testing.assert_array_equal(p.detach().numpy(), before)


# ---- int32 on the device: documented wrap-around --------------------------------------------------
def test_device_int64_arithmetic_wraps_at_32_bits_as_documented(wgpu):
    big = 2**31 - 1
    x = fg.tensor([big, 2**30], dtype=fg.int64).to(wgpu)
    wrap = lambda v: (v + 2**31) % 2**32 - 2**31  # two's complement int32
    assert (x + 1).tolist() == [wrap(big + 1), wrap(2**30 + 1)]
    assert (x * 2).tolist() == [wrap(big * 2), wrap(2**31)]
    assert x.sum().item() == wrap(big + 2**30)
    assert x.cpu().sum().item() == big + 2**30  # the cpu keeps 64 bits
    with pytest.raises(OverflowError):
        fg.tensor([2**40]).to(wgpu)


def test_readme_documents_the_wrap_and_the_readback():
    import pathlib

    text = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    gpu = text.split('## GPU: the "wgpu" device', 1)[1].split("\n## ", 1)[0]
    assert "wraps" in gpu and "readback" in gpu


def test_unchecked_device_indices_skips_the_readback(wgpu):
    from ferrograd.ops._range import unchecked_device_indices
    from ferrograd.wgpu import runtime

    w, ids = fg.randn(5, 3).to(wgpu), t([0, 4], wgpu)
    reads = runtime.get().reads
    F.embedding(ids, w)
    assert runtime.get().reads == reads + 1  # the one bool of the range check
    with unchecked_device_indices():
        F.embedding(ids, w)
    assert runtime.get().reads == reads + 1
    with pytest.raises(IndexError, match="embedding"):  # checks are back after the block
        F.embedding(t([5], wgpu), w)
