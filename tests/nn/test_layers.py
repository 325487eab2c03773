"""Layer behaviour that needs no reference library: modes, freezing, heads, graphs, mixers."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn


def test_dropout_is_identity_in_eval_and_scales_in_training():
    fg.manual_seed(0)
    d = nn.Dropout(0.25)
    x = fg.ones(1000)
    y = d(x).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)} and 0.15 < (y == 0).mean() < 0.35
    d.eval()
    np.testing.assert_array_equal(d(x).numpy(), x.numpy())


def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    emb = nn.Embedding(10, 3, padding_idx=0)
    np.testing.assert_array_equal(emb.weight._data[0], 0)
    emb(fg.tensor([[0, 2, 2]])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[0], 0)
    np.testing.assert_array_equal(emb.weight.grad.numpy()[2], 2)


def test_frozen_backbone_with_batchnorm_in_eval_and_a_new_head():
    fg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3))
    backbone = model[:3]
    nn.utils.freeze(model[0])
    nn.utils.freeze(model[1])
    old = nn.utils.replace_head(model, nn.Linear(64, 5))
    assert isinstance(old, nn.Linear) and old.out_features == 3
    model.train()
    assert not model[1].training and model[4].training
    stats = model[1].running_mean.numpy().copy()
    weights = model[0].weight._data.copy()
    opt = fg.optim.SGD(model.parameters(), lr=0.5)
    out = model(fg.randn(8, 1, 4, 4))
    assert out.shape == (8, 5)
    out.sum().backward()
    opt.step()
    assert model[0].weight.grad is None
    np.testing.assert_array_equal(model[0].weight._data, weights)
    np.testing.assert_array_equal(model[1].running_mean.numpy(), stats)
    assert model[4].weight.grad is not None
    del backbone


def test_gcn_conv_dense_and_edge_list_agree_with_the_formula():
    edges = np.array([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    adj = np.zeros((4, 4), np.float32)
    adj[edges[1], edges[0]] = 1
    x = fg.randn(4, 3)
    conv = nn.GCNConv(3, 2)
    a_hat = adj + np.eye(4)
    d = a_hat.sum(1) ** -0.5
    want = (d[:, None] * a_hat * d[None]) @ (x.numpy() @ conv.lin.weight._data.T) + conv.bias._data
    np.testing.assert_allclose(conv(x, adj=fg.tensor(adj)).detach().numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(conv(x, fg.tensor(edges)).detach().numpy(), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(IndexError, match="GCNConv"):
        conv(x, fg.tensor(np.array([[0, 9], [1, 0]])))
    with pytest.raises(TypeError, match="adj="):  # a dense float adjacency is never read as edge_index
        conv(x, fg.tensor(adj))


def test_mixer_block_matches_its_definition():
    fg.manual_seed(0)
    block = nn.MixerBlock(num_patches=5, dim=6, tokens_mlp_dim=7, channels_mlp_dim=8)
    x = fg.randn(2, 5, 6, dtype=fg.float64)
    block.double()

    def mlp(v, m):
        return nn.functional.linear(nn.functional.gelu(nn.functional.linear(v, m.fc1.weight, m.fc1.bias)),
                                    m.fc2.weight, m.fc2.bias)

    y = x + mlp(block.norm1(x).transpose(1, 2), block.token_mixing).transpose(1, 2)
    y = y + mlp(block.norm2(y), block.channel_mixing)
    np.testing.assert_allclose(block(x).detach().numpy(), y.detach().numpy(), rtol=1e-10, atol=1e-12)
    keys = list(block.state_dict())
    assert keys[:2] == ["norm1.weight", "norm1.bias"] and "token_mixing.fc1.weight" in keys
    with pytest.raises(ValueError, match="MixerBlock"):
        block(fg.randn(2, 6, 5, dtype=fg.float64))


def test_residual_block_shapes_and_gradients():
    block = nn.ResidualBlock(3, 8, stride=2)
    x = fg.randn(2, 3, 8, 8, requires_grad=True)
    y = block(x)
    assert y.shape == (2, 8, 4, 4) and (y.detach().numpy() >= 0).all()
    y.sum().backward()
    assert x.grad.shape == x.shape and block.downsample[0].weight.grad is not None
    assert nn.ResidualBlock(4, 4).downsample is None


def test_rnn_input_errors_name_the_layer():
    with pytest.raises(ValueError, match="LSTM: input has 5 features, expected 3"):
        nn.LSTM(3, 4)(fg.randn(2, 2, 5))
    with pytest.raises(ValueError, match="hidden state of shape"):
        nn.GRU(3, 4)(fg.randn(5, 2, 3), fg.zeros(1, 3, 4))
