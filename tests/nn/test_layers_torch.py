"""Layers against PyTorch itself on random configurations (skipped where torch is not installed)."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn

torch = pytest.importorskip("torch")


def _copy_weights(ours, theirs):
    state = {k: torch.from_numpy(np.ascontiguousarray(v.numpy())) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state)


def _compare(ours, theirs, *inputs, rtol=1e-4, atol=1e-5, train=False):
    _copy_weights(ours, theirs)
    ours.train(train)
    theirs.train(train)
    fx = [fg.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    tx = [torch.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    fo, to = ours(*fx), theirs(*tx)
    fo, to = (fo[0], to[0]) if isinstance(fo, tuple) else (fo, to)
    np.testing.assert_allclose(fo.detach().numpy(), to.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(1).standard_normal(fo.shape).astype(np.float32)
    fo.backward(fg.tensor(g))
    to.backward(torch.tensor(g))
    for a, b in zip(fx, tx):
        if a.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)
    theirs_grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_grads[name].grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_stacked_recurrent_layers(cls, bidirectional):
    kw = dict(input_size=5, hidden_size=6, num_layers=2, bidirectional=bidirectional)
    _compare(getattr(nn, cls)(**kw), getattr(torch.nn, cls)(**kw), _x(7, 3, 5))


def test_lstm_initial_and_final_state():
    ours, theirs = nn.LSTM(4, 3, batch_first=True), torch.nn.LSTM(4, 3, batch_first=True)
    _copy_weights(ours, theirs)
    x, h0, c0 = _x(2, 5, 4), _x(1, 2, 3, seed=1), _x(1, 2, 3, seed=2)
    _, (h, c) = ours(fg.tensor(x), (fg.tensor(h0), fg.tensor(c0)))
    _, (th, tc) = theirs(torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)))
    np.testing.assert_allclose(h.detach().numpy(), th.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c.detach().numpy(), tc.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_conv_and_pool_layers():
    _compare(nn.Conv2d(3, 8, 3, stride=2, padding=1), torch.nn.Conv2d(3, 8, 3, stride=2, padding=1), _x(2, 3, 9, 9))
    _compare(nn.Conv1d(4, 6, 3, padding="same"), torch.nn.Conv1d(4, 6, 3, padding="same"), _x(2, 4, 11))
    _compare(nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1),
             torch.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1), _x(2, 4, 5, 5))


def test_norm_layers_train_and_eval():
    for train in (True, False):
        _compare(nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3), _x(4, 3, 5, 5), train=train)
    _compare(nn.GroupNorm(2, 6), torch.nn.GroupNorm(2, 6), _x(3, 6, 4))
    _compare(nn.LayerNorm((4, 5)), torch.nn.LayerNorm((4, 5)), _x(3, 4, 5))


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_decoder_layer_with_masks(norm_first):
    kw = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True, norm_first=norm_first)
    ours, theirs = nn.TransformerDecoderLayer(**kw), torch.nn.TransformerDecoderLayer(**kw)
    _copy_weights(ours, theirs)
    tgt, mem = _x(2, 5, 8), _x(2, 7, 8, seed=3)
    mask = np.triu(np.full((5, 5), -np.inf, np.float32), 1)
    pad = np.zeros((2, 7), bool)
    pad[1, -2:] = True
    fo = ours(fg.tensor(tgt), fg.tensor(mem), tgt_mask=fg.tensor(mask), memory_key_padding_mask=fg.tensor(pad))
    to = theirs(torch.tensor(tgt), torch.tensor(mem), tgt_mask=torch.tensor(mask),
                memory_key_padding_mask=torch.tensor(pad))
    np.testing.assert_allclose(fo.detach().numpy(), to.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_mha_weights_and_key_padding():
    ours, theirs = nn.MultiheadAttention(8, 2), torch.nn.MultiheadAttention(8, 2)
    _copy_weights(ours, theirs)
    q, kv = _x(4, 2, 8), _x(6, 2, 8, seed=5)
    pad = np.zeros((2, 6), bool)
    pad[0, 0] = True
    fo, fw = ours(fg.tensor(q), fg.tensor(kv), fg.tensor(kv), key_padding_mask=fg.tensor(pad))
    to, tw = theirs(torch.tensor(q), torch.tensor(kv), torch.tensor(kv), key_padding_mask=torch.tensor(pad))
    np.testing.assert_allclose(fo.detach().numpy(), to.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fw.detach().numpy(), tw.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_embedding_bilinear_and_transformer_encoder_stack():
    ours, theirs = nn.Bilinear(3, 4, 5), torch.nn.Bilinear(3, 4, 5)
    _compare(ours, theirs, _x(6, 3), _x(6, 4, seed=2))
    layer_kw = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer_kw), 2, norm=nn.LayerNorm(8))
    tenc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(**layer_kw), 2, norm=torch.nn.LayerNorm(8),
                                       enable_nested_tensor=False)
    assert list(enc.state_dict()) == list(tenc.state_dict())
    _compare(enc, tenc, _x(2, 5, 8))
