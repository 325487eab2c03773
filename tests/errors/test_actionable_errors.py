"""Issue 14 point 8: bad input to constructors and forward calls raises a TypeError/ValueError
(RuntimeError for a refused allocation) naming the call and the argument, not an AttributeError,
StopIteration, ZeroDivisionError or MemoryError from inside the library."""

import math

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn, optim
from ferrograd.nn import functional as F

# (call, exception type, words the message must contain: the op/module and the argument)
CASES = {
    "lstm_num_layers_0": (lambda: nn.LSTM(2, 2, num_layers=0), ValueError, ["LSTM", "num_layers"]),
    "lstm_num_layers_float": (lambda: nn.LSTM(2, 2, num_layers=1.0), TypeError, ["LSTM", "num_layers"]),
    "gru_hidden_0": (lambda: nn.GRU(2, 0), ValueError, ["GRU", "hidden_size"]),
    "rnn_hidden_float": (lambda: nn.RNN(2, 2.5), TypeError, ["RNN", "hidden_size"]),
    "lstm_input_negative": (lambda: nn.LSTM(-1, 2), ValueError, ["LSTM", "input_size"]),
    "lstm_dropout_2": (lambda: nn.LSTM(2, 2, dropout=2), ValueError, ["LSTM", "dropout"]),
    "gru_hx_list": (lambda: nn.GRU(2, 2)(fg.zeros(1, 1, 2), [fg.zeros(1, 1, 2)]), TypeError, ["GRU", "hx"]),
    "gru_hx_list_unbatched": (lambda: nn.GRU(2, 2)(fg.zeros(1, 2), [fg.zeros(1, 2)]), TypeError, ["GRU", "hx"]),
    "rnn_hx_ndarray": (lambda: nn.RNN(2, 2)(fg.zeros(1, 1, 2), np.zeros((1, 1, 2))), TypeError, ["RNN", "hx"]),
    "lstm_hx_single": (lambda: nn.LSTM(2, 2)(fg.zeros(1, 1, 2), fg.zeros(1, 1, 2)), ValueError, ["LSTM", "(h0, c0)"]),
    "linear_list": (lambda: nn.Linear(2, 2)([1.0, 2.0]), TypeError, ["linear", "input", "list"]),
    "f_linear_weight_ndarray": (lambda: F.linear(fg.zeros(2), np.zeros((2, 2))), TypeError, ["linear", "weight"]),
    "linear_negative": (lambda: nn.Linear(-1, 2), ValueError, ["Linear", "in_features"]),
    "linear_float": (lambda: nn.Linear(2, 2.5), TypeError, ["Linear", "out_features"]),
    "bilinear_negative": (lambda: nn.Bilinear(2, -2, 2), ValueError, ["Bilinear", "in2_features"]),
    "embedding_negative": (lambda: nn.Embedding(-1, 3), ValueError, ["Embedding", "num_embeddings"]),
    "embedding_dim_float": (lambda: nn.Embedding(3, 2.0), TypeError, ["Embedding", "embedding_dim"]),
    "batchnorm_negative": (lambda: nn.BatchNorm1d(-1), ValueError, ["BatchNorm1d", "num_features"]),
    "batchnorm_list_input": (lambda: nn.BatchNorm1d(2)([[1.0, 2.0]]), TypeError, ["BatchNorm1d", "input"]),
    "layernorm_negative": (lambda: nn.LayerNorm(-1), ValueError, ["LayerNorm", "normalized_shape"]),
    "layernorm_float": (lambda: nn.LayerNorm(2.0), TypeError, ["LayerNorm", "normalized_shape"]),
    "groupnorm_0": (lambda: nn.GroupNorm(0, 4), ValueError, ["GroupNorm", "num_groups"]),
    "conv_kernel_0": (lambda: nn.Conv2d(1, 1, 0), ValueError, ["Conv2d", "kernel_size"]),
    "conv_kernel_float": (lambda: nn.Conv2d(1, 1, 2.5), TypeError, ["Conv2d", "kernel_size"]),
    "conv_kernel_wrong_len": (lambda: nn.Conv2d(1, 1, (3, 3, 3)), ValueError, ["Conv2d", "kernel_size"]),
    "conv_stride_0": (lambda: nn.Conv1d(1, 1, 3, stride=0), ValueError, ["Conv1d", "stride"]),
    "conv_groups_0": (lambda: nn.Conv2d(2, 2, 3, groups=0), ValueError, ["Conv2d", "groups"]),
    "convT_groups_0": (lambda: nn.ConvTranspose2d(2, 2, 3, groups=0), ValueError, ["ConvTranspose2d", "groups"]),
    "conv_in_negative": (lambda: nn.Conv2d(-1, 1, 3), ValueError, ["Conv2d", "in_channels"]),
    "conv_padding_string": (lambda: nn.Conv2d(1, 1, 3, padding="full"), ValueError, ["Conv2d", "padding"]),
    "dropout_p": (lambda: nn.Dropout(1.5), ValueError, ["Dropout", "probability"]),
    "f_dropout_p": (lambda: F.dropout(fg.zeros(3), p=-0.5), ValueError, ["dropout", "probability"]),
    "mha_heads_0": (lambda: nn.MultiheadAttention(4, 0), ValueError, ["MultiheadAttention", "num_heads"]),
    "mha_embed_negative": (lambda: nn.MultiheadAttention(-4, 2), ValueError, ["MultiheadAttention", "embed_dim"]),
    "mha_dropout": (lambda: nn.MultiheadAttention(4, 2, dropout=2.0), ValueError, ["MultiheadAttention", "dropout"]),
    "leaky_relu_slope_str": (lambda: nn.LeakyReLU("a"), TypeError, ["LeakyReLU", "negative_slope"]),
    "softmax_dim_float": (lambda: F.softmax(fg.zeros(2, 2), dim=1.0), TypeError, ["softmax", "dim"]),
    "mean_dim_float": (lambda: fg.zeros(2, 3).mean(1.0), TypeError, ["mean", "dim"]),
    "adam_betas_float": (lambda: optim.Adam([nn.Parameter(fg.zeros(2))], betas=0.9), ValueError, ["Adam", "betas"]),
    "sgd_ndarray": (lambda: optim.SGD([np.zeros(3)], lr=0.1), TypeError, ["SGD", "Tensors", "ndarray"]),
    "zeros_overflow": (lambda: fg.zeros(2**32, 2**32), RuntimeError, ["zeros", "bytes", "73786976294838206464"]),
    "ones_overflow": (lambda: fg.ones((2**40, 2**40)), RuntimeError, ["ones", "bytes"]),
    "empty_too_big": (lambda: fg.empty(2**50), RuntimeError, ["empty", str(2**52), "bytes"]),
    "full_too_big": (lambda: fg.full((2**25, 2**25), 1.0), RuntimeError, ["full", "bytes"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_actionable_error(name):
    call, exc, words = CASES[name]
    with pytest.raises(exc) as e:
        call()
    for w in words:
        assert w in str(e.value), f"{name}: {w!r} not in {str(e.value)!r}"


def test_lstm_takes_hx_as_a_list_like_torch():
    fg.manual_seed(0)
    lstm = nn.LSTM(2, 3)
    x = fg.randn(4, 1, 2)
    h0, c0 = fg.randn(1, 1, 3), fg.randn(1, 1, 3)
    out_t, (h_t, c_t) = lstm(x, (h0, c0))
    out_l, (h_l, c_l) = lstm(x, [h0, c0])
    np.testing.assert_array_equal(out_t.detach().numpy(), out_l.detach().numpy())
    np.testing.assert_array_equal(c_t.detach().numpy(), c_l.detach().numpy())
    # unbatched too
    out_u, _ = lstm(x[:, 0], [h0[:, 0], c0[:, 0]])
    np.testing.assert_allclose(out_u.detach().numpy(), out_t.detach().numpy()[:, 0], rtol=1e-6)


def test_valid_edge_sizes_still_construct():
    assert nn.Linear(0, 3).weight.shape == (3, 0)
    assert nn.Conv2d(0, 1, 3).weight.shape == (1, 0, 3, 3)
    assert nn.Conv2d(1, 1, (1, 3), stride=(1, 2)).kernel_size == (1, 3)
    assert nn.Embedding(np.int64(4), 2).weight.shape == (4, 2)
    assert nn.LayerNorm([2, 3]).weight.shape == (2, 3)
    assert nn.Conv2d(1, 1, 3, padding="same").padding == "same"
    z = fg.zeros(0, 2**40)  # zero bytes: no allocation refused
    assert z.numel() == 0


def test_allocation_check_uses_the_dtype_size():
    from ferrograd.ops._factory import check_alloc

    assert check_alloc((3, 4), np.float64, "zeros") == 96
    assert check_alloc((3, 4), np.int32, "zeros") == 48
    with pytest.raises(RuntimeError, match=r"zeros: storage size calculation overflowed"):
        check_alloc((2**31, 2**31, 2), np.float64, "zeros", host=False)
    assert math.isfinite(check_alloc((2**20,), np.float32, "zeros"))
