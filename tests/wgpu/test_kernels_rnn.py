"""WGSL recurrent sequences (LSTM, GRU, RNN; forward, saved buffers and backward through time)
against `_native` on the same float32 data: odd sizes, strided inputs, absent biases, bad shapes."""

import sys
from pathlib import Path

import numpy as np
import pytest

from ferrograd import _native
from ferrograd.wgpu import kernels as K

sys.path.insert(0, str(Path(__file__).parent))  # the shared helpers, under either pytest import mode
from _fused_helpers import close, dev, dev_permuted, dev_sliced, forbid_dispatch, rand  # noqa: E402

B, L, I, H = 3, 7, 5, 13


def _params(rng, ngates, bias):
    w_ih, w_hh = rand(rng, ngates * H, I, scale=0.4), rand(rng, ngates * H, H, scale=0.4)
    b_ih, b_hh = (rand(rng, ngates * H, scale=0.3), rand(rng, ngates * H, scale=0.3)) if bias else (None, None)
    return w_ih, w_hh, b_ih, b_hh


def _opt(a, strided=False):
    """An optional bias on the device; strided: every other element of a larger buffer."""
    return None if a is None else (dev_sliced(a) if strided else dev(a))


def _x(rng, strided):
    """x (B, L, I) and its device copy: contiguous, or a permuted (B, I, L) buffer."""
    x = rand(rng, B, L, I)
    return x, (dev_permuted(x, (0, 2, 1)) if strided else dev(x))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("strided", [False, True])
def test_lstm_matches_native(bias, strided):
    rng = np.random.default_rng(1)
    x, gx = _x(rng, strided)
    h0, c0 = rand(rng, B, H), rand(rng, B, H)
    w_ih, w_hh, b_ih, b_hh = _params(rng, 4, bias)
    want = _native.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    gw_hh = dev_permuted(w_hh, (1, 0)) if strided else dev(w_hh)
    gh0 = dev_sliced(h0) if strided else dev(h0)
    got = K.lstm_forward(gx, gh0, dev(c0), dev(w_ih), gw_hh, _opt(b_ih, strided), _opt(b_hh))
    assert [g.shape for g in got] == [w.shape for w in want]
    for g, w in zip(got, want):
        close(g, w)
    packed, gates, cells, hs = want
    gy, gc = rand(rng, B, L, H), rand(rng, B, H)
    want_b = _native.lstm_backward(x, c0, w_ih, w_hh, gates, cells, hs, gy, gc)
    gc0 = dev_sliced(c0) if strided else dev(c0)
    got_b = K.lstm_backward(gx, gc0, dev(w_ih), gw_hh, got[1], got[2], got[3], dev(gy), dev(gc))
    assert len(got_b) == 6
    for g, w in zip(got_b, want_b):
        close(g, w, tol=5e-4)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("strided", [False, True])
def test_gru_matches_native(bias, strided):
    rng = np.random.default_rng(2)
    x, gx = _x(rng, strided)
    h0 = rand(rng, B, H)
    w_ih, w_hh, b_ih, b_hh = _params(rng, 3, bias)
    want = _native.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
    gw_ih = dev_permuted(w_ih, (1, 0)) if strided else dev(w_ih)
    got = K.gru_forward(gx, dev(h0), gw_ih, dev(w_hh), _opt(b_ih), _opt(b_hh, strided))
    for g, w in zip(got, want):
        close(g, w)
    _, gates, hn, hs = want
    gy = rand(rng, B, L, H)
    want_b = _native.gru_backward(x, h0, w_ih, w_hh, gates, hn, hs, gy)
    got_b = K.gru_backward(gx, dev(h0), gw_ih, dev(w_hh), got[1], got[2], got[3], dev(gy))
    assert len(got_b) == 6
    for g, w in zip(got_b, want_b):
        close(g, w, tol=5e-4)
    # Without dx and dh0 (data, no initial state): None for those, the weight gradients alike.
    got_w = K.gru_backward(gx, dev(h0), gw_ih, dev(w_hh), got[1], got[2], got[3], dev(gy), False, False)
    assert got_w[0] is None and got_w[1] is None
    for g, w in zip(got_w[2:], want_b[2:]):
        close(g, w, tol=5e-4)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("strided", [False, True])
def test_rnn_matches_native(relu, strided):
    rng = np.random.default_rng(3)
    x, gx = _x(rng, strided)
    h0 = rand(rng, B, H)
    w_ih, w_hh, b_ih, b_hh = _params(rng, 1, True)
    want = _native.rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh, relu)
    got = K.rnn_forward(gx, dev(h0), dev(w_ih), dev(w_hh), dev(b_ih), dev(b_hh), relu)
    for g, w in zip(got, want):
        close(g, w)
    gy = rand(rng, B, L, H)
    want_b = _native.rnn_backward(x, h0, w_ih, w_hh, relu, want[1], gy)
    got_b = K.rnn_backward(gx, dev(h0), dev(w_ih), dev(w_hh), relu, got[1], dev(gy))
    assert len(got_b) == 5
    for g, w in zip(got_b, want_b):
        close(g, w, tol=5e-4)


def test_rnn_without_hh_bias_matches_native():
    rng = np.random.default_rng(4)
    x = rand(rng, B, L, I)
    h0 = rand(rng, B, H)
    w_ih, w_hh, b_ih, _ = _params(rng, 1, True)
    want = _native.rnn_forward(x, h0, w_ih, w_hh, b_ih, None, False)
    got = K.rnn_forward(dev(x), dev(h0), dev(w_ih), dev(w_hh), dev(b_ih), None, False)
    for g, w in zip(got, want):
        close(g, w)


def test_long_sequence_records_without_readback(monkeypatch):
    # 64 steps forward and backward: every step's GEMM and gate kernel is recorded into the
    # shared encoder; a read-back inside the wrappers would fail here.
    from ferrograd.wgpu import runtime

    rng = np.random.default_rng(5)
    b, l, i, h = 2, 64, 3, 4
    x, h0, c0 = rand(rng, b, l, i), rand(rng, b, h), rand(rng, b, h)
    w_ih, w_hh, b_ih, b_hh = rand(rng, 4 * h, i, scale=0.5), rand(rng, 4 * h, h, scale=0.5), rand(rng, 4 * h), rand(rng, 4 * h)
    gy, gc = rand(rng, b, l, h), rand(rng, b, h)
    want = _native.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    want_b = _native.lstm_backward(x, c0, w_ih, w_hh, *want[1:], gy, gc)
    args = [dev(a) for a in (x, h0, c0, w_ih, w_hh, b_ih, b_hh, gy, gc)]
    rt = runtime.get()

    def no_read(*a, **k):
        raise AssertionError("a kernel wrapper read back from the device")

    monkeypatch.setattr(rt, "read", no_read)
    got = K.lstm_forward(*args[:7])
    got_b = K.lstm_backward(args[0], args[2], args[3], args[4], *got[1:], args[7], args[8])
    monkeypatch.undo()
    close(got[0], want[0], tol=5e-4)
    for g, w in zip(got_b, want_b):
        close(g, w, tol=1e-3)


def test_empty_sequence_matches_native():
    rng = np.random.default_rng(6)
    x = np.zeros((2, 0, 3), np.float32)
    h0, c0 = rand(rng, 2, 4), rand(rng, 2, 4)
    w_ih, w_hh = rand(rng, 16, 3), rand(rng, 16, 4)
    want = _native.lstm_forward(x, h0, c0, w_ih, w_hh)
    got = K.lstm_forward(dev(x), dev(h0), dev(c0), dev(w_ih), dev(w_hh))
    close(got[0], want[0])  # packed: just c_n = c0
    gc = rand(rng, 2, 4)
    want_b = _native.lstm_backward(x, c0, w_ih, w_hh, want[1], want[2], want[3], np.zeros((2, 0, 4), np.float32), gc)
    got_b = K.lstm_backward(dev(x), dev(c0), dev(w_ih), dev(w_hh), got[1], got[2], got[3],
                            dev(np.zeros((2, 0, 4))), dev(gc))
    for g, w in zip(got_b, want_b):
        close(g, w)


def test_bad_shapes_raise_before_dispatch(monkeypatch):
    x, h0 = dev(np.zeros((2, 3, 5))), dev(np.zeros((2, 4)))
    forbid_dispatch(monkeypatch)
    with pytest.raises(ValueError, match=r"lstm_forward: weight_ih has shape \(16, 6\), expected \(16, 5\)"):
        K.lstm_forward(x, h0, h0, dev(np.zeros((16, 6))), dev(np.zeros((16, 4))))
    with pytest.raises(ValueError, match=r"gru_forward: weight_hh must be \(3\*H, H\), got shape \(16, 4\)"):
        K.gru_forward(x, h0, dev(np.zeros((12, 5))), dev(np.zeros((16, 4))))
    with pytest.raises(ValueError, match=r"rnn_forward: h0 has shape \(3, 4\), expected \(2, 4\)"):
        K.rnn_forward(x, dev(np.zeros((3, 4))), dev(np.zeros((4, 5))), dev(np.zeros((4, 4))))
    with pytest.raises(ValueError, match=r"rnn_forward: input must be \(B, L, I\), got shape \(3, 5\)"):
        K.rnn_forward(dev(np.zeros((3, 5))), h0, dev(np.zeros((4, 5))), dev(np.zeros((4, 4))))
    with pytest.raises(ValueError, match=r"lstm_forward: bias_hh has shape \(15,\), expected \(16,\)"):
        K.lstm_forward(x, h0, h0, dev(np.zeros((16, 5))), dev(np.zeros((16, 4))), None, dev(np.zeros(15)))
    with pytest.raises(ValueError, match=r"rnn_backward: gy has shape \(2, 3, 3\) \(18 elements\), expected 24"):
        K.rnn_backward(x, h0, dev(np.zeros((4, 5))), dev(np.zeros((4, 4))), False,
                       dev(np.zeros((4, 2, 4))), dev(np.zeros((2, 3, 3))))
    with pytest.raises(ValueError, match="gru_backward: hs must be C-contiguous"):
        K.gru_backward(x, h0, dev(np.zeros((12, 5))), dev(np.zeros((12, 4))), dev(np.zeros((3, 2, 12))),
                       dev(np.zeros((3, 2, 4))), dev_permuted(np.zeros((4, 2, 4)), (2, 1, 0)),
                       dev(np.zeros((2, 3, 4))))
    with pytest.raises(TypeError, match="lstm_forward: input must be a wgpu GpuArray"):
        K.lstm_forward(np.zeros((2, 3, 5), np.float32), h0, h0, dev(np.zeros((16, 5))), dev(np.zeros((16, 4))))
