"""Layers loaded with PyTorch state dicts reproduce PyTorch's outputs and gradients
(reference values computed by PyTorch 2.13 and stored in tests/fixtures)."""

from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _load(name):
    return dict(np.load(FIXTURES / f"{name}.npz"))


def _check_module(module, ref, out_key="out", call=lambda module, x: module(x)):
    params = {k[2:]: v for k, v in ref.items() if k.startswith("p_")}
    assert {k: v.shape for k, v in module.state_dict().items()} == {k: v.shape for k, v in params.items()}
    module.load_state_dict(params)
    x = fg.tensor(ref["x"], requires_grad=True)
    out = call(module, x)
    out = out[0] if isinstance(out, tuple) else out
    np.testing.assert_allclose(out.detach().numpy(), ref[out_key], rtol=1e-5, atol=1e-6)
    out.backward(fg.tensor(ref["gy"]))
    np.testing.assert_allclose(x.grad.numpy(), ref["gx"], rtol=1e-4, atol=1e-6)
    grads = dict(module.named_parameters())
    for key in (k for k in ref if k.startswith("g_")):
        np.testing.assert_allclose(grads[key[2:]].grad.numpy(), ref[key], rtol=1e-4, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("name, make", [
    ("lstm_basic", lambda: nn.LSTM(3, 4, batch_first=True)),
    ("gru_basic", lambda: nn.GRU(3, 4, batch_first=True)),
    ("rnn_tanh_basic", lambda: nn.RNN(3, 4, batch_first=True)),
])
def test_recurrent_layers_match_pytorch(name, make):
    _check_module(make(), _load(name))


def test_multihead_attention_matches_pytorch():
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    _check_module(mha, _load("multihead_attention"), call=lambda m, x: m(x, x, x))


def test_transformer_encoder_layer_matches_pytorch():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True, activation="gelu")
    _check_module(layer, _load("transformer_encoder_layer"))


def test_batchnorm1d_matches_pytorch_including_running_stats():
    ref = _load("batchnorm1d")
    bn = nn.BatchNorm1d(4)
    x = fg.tensor(ref["x"], requires_grad=True)
    y = bn(x)
    np.testing.assert_allclose(y.detach().numpy(), ref["y"], rtol=1e-5, atol=1e-6)
    y.backward(fg.tensor(ref["gy"]))
    np.testing.assert_allclose(x.grad.numpy(), ref["gx"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bn.weight.grad.numpy(), ref["gw"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.bias.grad.numpy(), ref["gb"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_mean.numpy(), ref["running_mean"], rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), ref["running_var"], rtol=1e-5)
    assert bn.num_batches_tracked.item() == 1
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
