"""nn.utils.rnn (PackedSequence, pad/pack/unpack) and LSTM/GRU/RNN over packed sequences: torch's
documented examples, a numpy reference, PyTorch fixtures (tests/fixtures/packed_rnn.npz, made by
tests/fixtures/gen/gen_packed_rnn.py), float64 gradcheck and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn.utils.rnn import (
    PackedSequence,
    invert_permutation,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)
from ferrograd.testing import gradcheck

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODULES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
CASES = {  # as in gen_packed_rnn.py: (num_layers, bidirectional, batch_first, enforce_sorted)
    "uni2_seqfirst_unsorted": (2, False, False, False),
    "bi2_batchfirst_unsorted": (2, True, True, False),
    "bi1_seqfirst_sorted": (1, True, False, True),
    "bi2_equal_lengths": (2, True, True, False),
}


def t(a, grad=False):
    return fg.tensor(np.asarray(a), requires_grad=grad)


def arange_seq(*ns, features=()):
    """Sequences whose values say where they come from: sequence k holds 10*k + step."""
    return [t(np.broadcast_to((10 * k + np.arange(n, dtype=np.float64)).reshape(n, *[1] * len(features)),
                              (n, *features)).copy()) for k, n in enumerate(ns)]


# ---- the packing utilities ------------------------------------------------------------------------
def test_pack_sequence_matches_torch_docstring():
    a, b, c = t([1.0, 2, 3]), t([4.0, 5]), t([6.0])
    p = pack_sequence([a, b, c])
    assert isinstance(p, tuple) and p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    np.testing.assert_array_equal(p.data.numpy(), [1, 4, 6, 2, 5, 3])
    np.testing.assert_array_equal(p.batch_sizes.numpy(), [3, 2, 1])
    assert p.batch_sizes.dtype == np.int64 and p.sorted_indices is None and p.unsorted_indices is None
    assert [s.numpy().tolist() for s in unpack_sequence(p)] == [[1, 2, 3], [4, 5], [6]]


def test_pack_padded_unsorted_matches_torch_docstring():
    seq = t([[1.0, 2, 0], [3, 0, 0], [4, 5, 6]])
    p = pack_padded_sequence(seq, [2, 1, 3], batch_first=True, enforce_sorted=False)
    np.testing.assert_array_equal(p.data.numpy(), [4, 1, 3, 5, 2, 6])
    np.testing.assert_array_equal(p.batch_sizes.numpy(), [3, 2, 1])
    np.testing.assert_array_equal(p.sorted_indices.numpy(), [2, 0, 1])
    np.testing.assert_array_equal(p.unsorted_indices.numpy(), [1, 2, 0])
    padded, lengths = pad_packed_sequence(p, batch_first=True)
    np.testing.assert_array_equal(padded.numpy(), seq.numpy())
    assert lengths.dtype == np.int64 and lengths.numpy().tolist() == [2, 1, 3]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_layout_and_padding_value(batch_first, side):
    seqs = arange_seq(2, 4, 1, features=(3,))
    got = pad_sequence(seqs, batch_first=batch_first, padding_value=-7.0, padding_side=side).numpy()
    want = np.full((3, 4, 3), -7.0)
    for k, s in enumerate(seqs):
        n = s.shape[0]
        if side == "right":
            want[k, :n] = s.numpy()
        else:
            want[k, 4 - n:] = s.numpy()
    np.testing.assert_array_equal(got, want if batch_first else want.transpose(1, 0, 2))


def test_pad_sequence_scalar_features_and_gradient():
    seqs = [t(np.arange(n, dtype=np.float64), True) for n in (3, 1, 2)]
    out = pad_sequence(seqs)  # (T, B)
    assert out.shape == (3, 3)
    (out * t(np.arange(9.0).reshape(3, 3))).sum().backward()
    # sequence b at step i receives weight 3*i + b
    assert [s.grad.numpy().tolist() for s in seqs] == [[0, 3, 6], [1], [2, 5]]


@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_then_pad_round_trip_with_total_length(batch_first):
    rng = np.random.default_rng(0)
    lengths = [3, 5, 1, 5, 2]
    x = rng.standard_normal((5, 5, 2) if batch_first else (5, 5, 2))
    p = pack_padded_sequence(t(x), lengths, batch_first=batch_first, enforce_sorted=False)
    assert p.data.shape == (sum(lengths), 2)
    np.testing.assert_array_equal(p.batch_sizes.numpy(), [5, 4, 3, 2, 2])
    padded, got_len = pad_packed_sequence(p, batch_first=batch_first, padding_value=1.5, total_length=7)
    want = np.full((5, 7, 2), 1.5)
    for b, n in enumerate(lengths):
        want[b, :n] = x[b, :n] if batch_first else x[:n, b]
    np.testing.assert_array_equal(padded.numpy(), want if batch_first else want.transpose(1, 0, 2))
    assert got_len.numpy().tolist() == lengths


def test_packed_data_order_and_gradient_through_pack_and_pad():
    rng = np.random.default_rng(1)
    x = t(rng.standard_normal((4, 3)), True)  # (T, B), sorted lengths 4, 2, 1
    p = pack_padded_sequence(x, fg.tensor([4, 2, 1]))
    xn = x.detach().numpy()
    np.testing.assert_array_equal(p.data.detach().numpy(), [xn[0, 0], xn[0, 1], xn[0, 2], xn[1, 0], xn[1, 1],
                                                   xn[2, 0], xn[3, 0]])
    padded, _ = pad_packed_sequence(p)
    gy = rng.standard_normal((4, 3))
    (padded * t(gy)).sum().backward()
    keep = np.arange(4)[:, None] < np.array([4, 2, 1])[None]
    np.testing.assert_array_equal(x.grad.numpy(), np.where(keep, gy, 0.0))


def test_unpad_and_unpack_give_original_sequences():
    seqs = arange_seq(2, 5, 3, features=(2,))
    for bf in (False, True):
        back = unpad_sequence(pad_sequence(seqs, batch_first=bf), fg.tensor([2, 5, 3]), batch_first=bf)
        for a, b in zip(back, seqs):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    back = unpack_sequence(pack_sequence(seqs, enforce_sorted=False))
    for a, b in zip(back, seqs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_packed_sequence_construction_and_to():
    p = PackedSequence(t([1.0, 2.0, 3.0]), [2, 1], [1, 0])
    np.testing.assert_array_equal(p.unsorted_indices.numpy(), [1, 0])
    q = PackedSequence((p.data, p.batch_sizes))
    assert q.sorted_indices is None
    d = p.to(np.float32)
    assert d.data.dtype == np.float32 and d.batch_sizes is p.batch_sizes
    assert p.to(np.float64) is p
    data, batch_sizes, *_ = p  # a namedtuple unpacks
    assert batch_sizes.numpy().tolist() == [2, 1]
    np.testing.assert_array_equal(invert_permutation(fg.tensor([2, 0, 1])).numpy(), [1, 2, 0])
    assert invert_permutation(None) is None


def test_gradcheck_pack_pad_round_trip():
    rng = np.random.default_rng(2)
    seqs = [t(rng.standard_normal((n, 2)), True) for n in (2, 3, 1)]

    def fn(*s):
        p = pack_sequence(list(s), enforce_sorted=False)
        padded, _ = pad_packed_sequence(p, batch_first=True, padding_value=0.5)
        return padded * padded

    assert gradcheck(fn, seqs)


def test_bad_input_raises_clear_errors():
    x = t(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="pack_padded_sequence: `lengths` must be sorted in decreasing order"):
        pack_padded_sequence(x, [1, 3, 2])
    with pytest.raises(ValueError, match="pack_padded_sequence: every length must be > 0"):
        pack_padded_sequence(x, [3, 2, 0])
    with pytest.raises(ValueError, match="pack_padded_sequence: expected 3 lengths"):
        pack_padded_sequence(x, [3, 2])
    with pytest.raises(ValueError, match="exceeds the 4 steps"):
        pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(TypeError, match="pack_padded_sequence: input must be a Tensor"):
        pack_padded_sequence(np.zeros((4, 3)), [3, 2, 1])
    with pytest.raises(ValueError, match="pad_packed_sequence: Expected total_length to be at least"):
        pad_packed_sequence(pack_padded_sequence(x, [3, 2, 1]), total_length=2)
    with pytest.raises(ValueError, match="pad_sequence: received an empty list"):
        pad_sequence([])
    with pytest.raises(ValueError, match=r"pad_sequence: sequences\[1\] has shape \(2, 4\)"):
        pad_sequence([t(np.zeros((3, 3))), t(np.zeros((2, 4)))])
    with pytest.raises(ValueError, match="padding_side must be 'right' or 'left'"):
        pad_sequence([x], padding_side="middle")
    with pytest.raises(TypeError, match="pad_packed_sequence: sequence must be a PackedSequence"):
        pad_packed_sequence(x)
    with pytest.raises(ValueError, match=r"LSTM: packed data must be \(sum of lengths, 5\)"):
        nn.LSTM(5, 2)(pack_sequence([t(np.zeros((2, 3)))]))


# ---- recurrent modules over packed sequences: PyTorch fixtures ----------------------------------
def _load_case(d, pre, kind):
    layers, bi, bf, enforce = CASES[pre[len(kind) + 1:-1]]
    m = MODULES[kind](3, 4, num_layers=layers, bidirectional=bi, batch_first=bf).double()
    m.load_state_dict({k[len(pre) + 2:]: d[k] for k in d.files if k.startswith(pre + "p_")})
    return m, bf, enforce


def _run_case(m, kind, x, lengths, bf, enforce, h0=None, c0=None):
    packed = pack_padded_sequence(x, lengths, batch_first=bf, enforce_sorted=enforce)
    hx = (h0, c0) if kind == "lstm" and h0 is not None else h0
    out, hn = m(packed, hx)
    assert isinstance(out, PackedSequence)
    assert out.batch_sizes is packed.batch_sizes and out.sorted_indices is packed.sorted_indices
    padded, got_len = pad_packed_sequence(out, batch_first=bf)
    assert got_len.numpy().tolist() == list(lengths)
    return padded, (list(hn) if kind == "lstm" else [hn])


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kind", list(MODULES))
def test_packed_rnn_matches_pytorch(kind, case):
    d = np.load(FIXTURES / "packed_rnn.npz")
    pre = f"{kind}_{case}_"
    m, bf, enforce = _load_case(d, pre, kind)
    x = t(d[pre + "x"], True)
    h0 = t(d[pre + "h0"], True) if pre + "h0" in d else None
    c0 = t(d[pre + "c0"], True) if pre + "c0" in d else None
    padded, finals = _run_case(m, kind, x, d[pre + "lengths"].tolist(), bf, enforce, h0, c0)
    np.testing.assert_allclose(padded.detach().numpy(), d[pre + "out"], rtol=1e-10, atol=1e-12)
    names = ["h", "c"][: len(finals)]
    for f, nm in zip(finals, names):
        np.testing.assert_allclose(f.detach().numpy(), d[pre + nm + "n"], rtol=1e-10, atol=1e-12, err_msg=nm)
    loss = (padded * t(d[pre + "gy"])).sum()
    for f, nm in zip(finals, names):
        loss = loss + (f * t(d[pre + "g" + nm + "n"])).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), d[pre + "gx"], rtol=1e-9, atol=1e-11)
    for s, nm in ((h0, "h"), (c0, "c")):
        if s is not None:
            np.testing.assert_allclose(s.grad.numpy(), d[pre + "g" + nm + "0"], rtol=1e-9, atol=1e-11)
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), d[pre + "g_" + name], rtol=1e-9, atol=1e-11, err_msg=name)


@pytest.mark.parametrize("kind", list(MODULES))
def test_packed_output_equals_per_sequence_runs(kind):
    """Each sequence alone through the unpacked module gives its slice of the packed result."""
    rng = np.random.default_rng(3)
    fg.manual_seed(0)
    m = MODULES[kind](3, 5, num_layers=2, bidirectional=True).double()
    seqs = [t(rng.standard_normal((n, 3))) for n in (4, 1, 6, 4)]
    with fg.no_grad():
        out, hn = m(pack_sequence(seqs, enforce_sorted=False))
        padded, _ = pad_packed_sequence(out)
    finals = list(hn) if kind == "lstm" else [hn]
    for b, s in enumerate(seqs):
        with fg.no_grad():
            o, h = m(s)  # unbatched (L, I)
        n = s.shape[0]
        np.testing.assert_allclose(padded.numpy()[:n, b], o.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(padded.numpy()[n:, b], 0.0)
        for f, g in zip(finals, list(h) if kind == "lstm" else [h]):
            np.testing.assert_allclose(f.numpy()[:, b], g.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", list(MODULES))
def test_gradcheck_packed_bidirectional(kind):
    rng = np.random.default_rng(4)
    fg.manual_seed(1)
    m = MODULES[kind](2, 3, num_layers=2, bidirectional=True).double()
    x = t(rng.standard_normal((3, 3, 2)), True)  # (T, B, I), lengths 2, 3, 1 unsorted
    h0 = t(rng.standard_normal((4, 3, 3)) * 0.5, True)
    c0 = t(rng.standard_normal((4, 3, 3)) * 0.5, True)
    w_ih = m.weight_ih_l1_reverse
    w_hh = m.weight_hh_l0

    def fn(x, h0, c0, w_ih, w_hh):
        out, hn = m(pack_padded_sequence(x, [2, 3, 1], enforce_sorted=False), (h0, c0) if kind == "lstm" else h0)
        padded, _ = pad_packed_sequence(out)
        parts = [padded.reshape(-1)] + [f.reshape(-1) for f in (hn if kind == "lstm" else (hn,))]
        return fg.cat(parts)

    assert gradcheck(fn, [x, h0, c0 if kind == "lstm" else None, w_ih, w_hh])


def test_packed_dropout_between_layers_only_in_training():
    fg.manual_seed(2)
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    p = pack_sequence([fg.randn(3, 3), fg.randn(2, 3)])
    out = lambda: m(p)[0].data.detach().numpy()  # noqa: E731
    m.eval()
    a = out()
    np.testing.assert_array_equal(a, out())
    m.train()
    assert not np.allclose(a, out())


# ---- wgpu (float32) -------------------------------------------------------------------------------
@pytest.fixture
def wgpu():
    """Opened at the first wgpu test, not at collection (see tests/wgpu/conftest.py)."""
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")


def test_wgpu_pack_pad_gather_and_gradient(wgpu):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 2)).astype(np.float32)
    gy = rng.standard_normal((3, 5, 2)).astype(np.float32)
    res = {}
    for device in ("cpu", "wgpu"):
        xt = fg.tensor(x, device=device, requires_grad=True)
        p = pack_padded_sequence(xt, [2, 4, 1], enforce_sorted=False)
        padded, _ = pad_packed_sequence(p, batch_first=True, padding_value=2.0, total_length=5)
        assert p.data.device == device and padded.device == device
        (padded * fg.tensor(gy, device=device)).sum().backward()
        res[device] = padded.detach().numpy(), xt.grad.numpy()
    for c, w in zip(res["cpu"], res["wgpu"]):
        np.testing.assert_allclose(w, c, rtol=1e-6, atol=1e-6)
    seqs = [fg.tensor(x[:n, 0], device="wgpu") for n in (2, 4)]
    np.testing.assert_allclose(pad_sequence(seqs, batch_first=True, padding_side="left").numpy(),
                               pad_sequence([s.cpu() for s in seqs], batch_first=True, padding_side="left").numpy())


@pytest.mark.parametrize("case", ["uni2_seqfirst_unsorted", "bi2_batchfirst_unsorted"])
@pytest.mark.parametrize("kind", list(MODULES))
def test_wgpu_packed_rnn_matches_pytorch(wgpu, kind, case):
    d = np.load(FIXTURES / "packed_rnn.npz")
    pre = f"{kind}_{case}_"
    m, bf, enforce = _load_case(d, pre, kind)
    m = m.float().to("wgpu")
    f32 = lambda k: fg.tensor(d[pre + k].astype(np.float32), device="wgpu", requires_grad=True)  # noqa: E731
    x = f32("x")
    h0, c0 = f32("h0"), (f32("c0") if kind == "lstm" else None)
    padded, finals = _run_case(m, kind, x, d[pre + "lengths"].tolist(), bf, enforce, h0, c0)
    assert padded.device == "wgpu"
    np.testing.assert_allclose(padded.detach().numpy(), d[pre + "out"], rtol=2e-4, atol=2e-5)
    names = ["h", "c"][: len(finals)]
    for f, nm in zip(finals, names):
        np.testing.assert_allclose(f.detach().numpy(), d[pre + nm + "n"], rtol=2e-4, atol=2e-5, err_msg=nm)
    loss = (padded * fg.tensor(d[pre + "gy"].astype(np.float32), device="wgpu")).sum()
    for f, nm in zip(finals, names):
        loss = loss + (f * fg.tensor(d[pre + "g" + nm + "n"].astype(np.float32), device="wgpu")).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), d[pre + "gx"], rtol=5e-4, atol=5e-5)
    np.testing.assert_allclose(h0.grad.numpy(), d[pre + "gh0"], rtol=5e-4, atol=5e-5)
    for name, p in m.named_parameters():
        assert p.grad.device == "wgpu"
        np.testing.assert_allclose(p.grad.numpy(), d[pre + "g_" + name], rtol=5e-4, atol=5e-5, err_msg=name)
