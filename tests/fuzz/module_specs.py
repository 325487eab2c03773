"""Every public nn module class with a small valid configuration (sizes 1-4) and the inputs its
forward takes, for test_fuzz_module_forward.py.

`make(nn)` builds the module from a namespace with torch.nn's names, so the same table builds
torch's layer where one exists (gen_nan_propagation.py below used it to learn which layers pass
NaN through in torch). Input shapes use "B" for the batch (or node / bag) dimension.

Huge sizes stay out of the constructors: a layer count of 2**40 builds layers until memory runs
out (as in torch), which no fuzz run can wait for. Bad constructor arguments:
test_fuzz_modules_optim.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class In:
    shape: tuple  # ints and "B"
    kind: str = "f"  # f: normal floats; i: ints in [0, high); prob: (0, 1); pos: > 0; pm1: ±1.0;
    #                  01: 0.0/1.0; unpool: a max pool's window-start indices; edges: (2, E) node ids < B
    high: int = 0


@dataclass
class Spec:
    make: object  # nn namespace -> module
    inputs: list
    calls: tuple = ()  # the functional ops the layer runs (their errors may name them, not the layer)
    kwargs: dict = field(default_factory=dict)  # forward keyword arguments


def f(*shape):
    return In(shape)


def i(high, *shape):
    return In(shape, "i", high)


def k(kind, *shape):
    return In(shape, kind)


_X = f("B", 3)
_PAIR = [f("B", 3), f("B", 3)]
_SEQ = f(2, "B", 3)  # (L, B, H_in) sequence-first
_TRANSFORMER = ("MultiheadAttention", "LayerNorm", "Linear", "TransformerEncoderLayer", "TransformerDecoderLayer",
                "multi_head_attention_forward", "scaled_dot_product_attention", "linear", "layer_norm")


def _tel(nn):
    return nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0)


def _tdl(nn):
    return nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0)


SPECS = {
    "AdaptiveAvgPool1d": Spec(lambda nn: nn.AdaptiveAvgPool1d(2), [f("B", 3, 5)], ("adaptive_avg_pool1d",)),
    "AdaptiveAvgPool2d": Spec(lambda nn: nn.AdaptiveAvgPool2d(2), [f("B", 3, 5, 4)], ("adaptive_avg_pool2d",)),
    "AdaptiveMaxPool1d": Spec(lambda nn: nn.AdaptiveMaxPool1d(2), [f("B", 3, 5)], ("adaptive_max_pool1d",)),
    "AdaptiveMaxPool2d": Spec(lambda nn: nn.AdaptiveMaxPool2d(2), [f("B", 3, 5, 4)], ("adaptive_max_pool2d",)),
    "AlphaDropout": Spec(lambda nn: nn.AlphaDropout(0.5), [f("B", 4)], ("alpha_dropout",)),
    "AvgPool1d": Spec(lambda nn: nn.AvgPool1d(2), [f("B", 3, 5)], ("avg_pool1d",)),
    "AvgPool2d": Spec(lambda nn: nn.AvgPool2d(2), [f("B", 3, 4, 4)], ("avg_pool2d",)),
    "BCELoss": Spec(lambda nn: nn.BCELoss(), [k("prob", "B", 3), k("prob", "B", 3)], ("binary_cross_entropy",)),
    "BCEWithLogitsLoss": Spec(lambda nn: nn.BCEWithLogitsLoss(), [f("B", 3), k("prob", "B", 3)],
                              ("binary_cross_entropy_with_logits",)),
    "BatchNorm1d": Spec(lambda nn: nn.BatchNorm1d(3), [f("B", 3)], ("batch_norm",)),
    "BatchNorm2d": Spec(lambda nn: nn.BatchNorm2d(3), [f("B", 3, 2, 2)], ("batch_norm",)),
    "BatchNorm3d": Spec(lambda nn: nn.BatchNorm3d(3), [f("B", 3, 2, 2, 2)], ("batch_norm",)),
    "Bilinear": Spec(lambda nn: nn.Bilinear(2, 3, 4), [f("B", 2), f("B", 3)], ("bilinear",)),
    "CELU": Spec(lambda nn: nn.CELU(), [_X], ("celu",)),
    "ChannelShuffle": Spec(lambda nn: nn.ChannelShuffle(2), [f("B", 4, 2, 2)], ("channel_shuffle",)),
    "CircularPad1d": Spec(lambda nn: nn.CircularPad1d(1), [f("B", 2, 3)], ("pad",)),
    "CircularPad2d": Spec(lambda nn: nn.CircularPad2d(1), [f("B", 2, 3, 3)], ("pad",)),
    "CircularPad3d": Spec(lambda nn: nn.CircularPad3d(1), [f("B", 2, 3, 3, 3)], ("pad",)),
    "ConstantPad1d": Spec(lambda nn: nn.ConstantPad1d(1, 0.5), [f("B", 2, 3)], ("pad",)),
    "ConstantPad2d": Spec(lambda nn: nn.ConstantPad2d(1, 0.5), [f("B", 2, 3, 3)], ("pad",)),
    "ConstantPad3d": Spec(lambda nn: nn.ConstantPad3d(1, 0.5), [f("B", 2, 3, 3, 3)], ("pad",)),
    "Conv1d": Spec(lambda nn: nn.Conv1d(2, 3, 2), [f("B", 2, 5)], ("conv1d",)),
    "Conv2d": Spec(lambda nn: nn.Conv2d(2, 3, 2, padding=1), [f("B", 2, 4, 4)], ("conv2d",)),
    "Conv3d": Spec(lambda nn: nn.Conv3d(2, 3, 2), [f("B", 2, 3, 3, 3)], ("conv3d",)),
    "ConvTranspose1d": Spec(lambda nn: nn.ConvTranspose1d(2, 3, 2), [f("B", 2, 4)], ("conv_transpose1d",)),
    "ConvTranspose2d": Spec(lambda nn: nn.ConvTranspose2d(2, 3, 2, stride=2), [f("B", 2, 3, 3)],
                            ("conv_transpose2d",)),
    "CosineEmbeddingLoss": Spec(lambda nn: nn.CosineEmbeddingLoss(), [*_PAIR, k("pm1", "B")],
                                ("cosine_embedding_loss",)),
    "CosineSimilarity": Spec(lambda nn: nn.CosineSimilarity(), _PAIR, ("cosine_similarity",)),
    "CrossEntropyLoss": Spec(lambda nn: nn.CrossEntropyLoss(), [f("B", 4), i(4, "B")], ("cross_entropy",)),
    "Dropout": Spec(lambda nn: nn.Dropout(), [_X], ("dropout",)),
    "Dropout1d": Spec(lambda nn: nn.Dropout1d(), [f("B", 2, 3)], ("dropout1d",)),
    "Dropout2d": Spec(lambda nn: nn.Dropout2d(), [f("B", 2, 3, 3)], ("dropout2d",)),
    "Dropout3d": Spec(lambda nn: nn.Dropout3d(), [f("B", 2, 2, 2, 2)], ("dropout3d",)),
    "ELU": Spec(lambda nn: nn.ELU(), [_X], ("elu",)),
    "Embedding": Spec(lambda nn: nn.Embedding(5, 3), [i(5, "B", 4)], ("embedding",)),
    "EmbeddingBag": Spec(lambda nn: nn.EmbeddingBag(5, 3), [i(5, "B", 4)], ("embedding_bag",)),
    "FeatureAlphaDropout": Spec(lambda nn: nn.FeatureAlphaDropout(), [f("B", 2, 3, 3)], ("feature_alpha_dropout",)),
    "Flatten": Spec(lambda nn: nn.Flatten(), [f("B", 2, 3)], ("flatten",)),
    "Fold": Spec(lambda nn: nn.Fold((3, 3), 2), [f("B", 4, 4)], ("fold",)),
    "GCNConv": Spec(lambda nn: nn.GCNConv(3, 2), [f("B", 3), In((2, 4), "edges")], ("gcn_conv",)),
    "GELU": Spec(lambda nn: nn.GELU(), [_X], ("gelu",)),
    "GLU": Spec(lambda nn: nn.GLU(), [f("B", 4)], ("glu",)),
    "GRU": Spec(lambda nn: nn.GRU(3, 4), [_SEQ], ("gru", "gru_sequence")),
    "GRUCell": Spec(lambda nn: nn.GRUCell(3, 4), [_X], ("gru_cell",)),
    "GaussianNLLLoss": Spec(lambda nn: nn.GaussianNLLLoss(), [*_PAIR, k("pos", "B", 3)], ("gaussian_nll_loss",)),
    "GroupNorm": Spec(lambda nn: nn.GroupNorm(2, 4), [f("B", 4, 3)], ("group_norm",)),
    "Hardshrink": Spec(lambda nn: nn.Hardshrink(), [_X], ("hardshrink",)),
    "Hardsigmoid": Spec(lambda nn: nn.Hardsigmoid(), [_X], ("hardsigmoid",)),
    "Hardswish": Spec(lambda nn: nn.Hardswish(), [_X], ("hardswish",)),
    "Hardtanh": Spec(lambda nn: nn.Hardtanh(), [_X], ("hardtanh",)),
    "HingeEmbeddingLoss": Spec(lambda nn: nn.HingeEmbeddingLoss(), [f("B", 3), k("pm1", "B", 3)],
                               ("hinge_embedding_loss",)),
    "HuberLoss": Spec(lambda nn: nn.HuberLoss(), _PAIR, ("huber_loss",)),
    "Identity": Spec(lambda nn: nn.Identity(), [_X]),
    "InstanceNorm1d": Spec(lambda nn: nn.InstanceNorm1d(3), [f("B", 3, 4)], ("instance_norm",)),
    "InstanceNorm2d": Spec(lambda nn: nn.InstanceNorm2d(3), [f("B", 3, 3, 3)], ("instance_norm",)),
    "InstanceNorm3d": Spec(lambda nn: nn.InstanceNorm3d(3), [f("B", 3, 2, 2, 2)], ("instance_norm",)),
    "KLDivLoss": Spec(lambda nn: nn.KLDivLoss(reduction="batchmean"), [f("B", 3), k("prob", "B", 3)], ("kl_div",)),
    "L1Loss": Spec(lambda nn: nn.L1Loss(), _PAIR, ("l1_loss",)),
    "LPPool1d": Spec(lambda nn: nn.LPPool1d(2, 2), [f("B", 3, 4)], ("lp_pool1d",)),
    "LPPool2d": Spec(lambda nn: nn.LPPool2d(2, 2), [f("B", 3, 4, 4)], ("lp_pool2d",)),
    "LSTM": Spec(lambda nn: nn.LSTM(3, 4), [_SEQ], ("lstm", "lstm_sequence")),
    "LSTMCell": Spec(lambda nn: nn.LSTMCell(3, 4), [_X], ("lstm_cell",)),
    "LayerNorm": Spec(lambda nn: nn.LayerNorm(3), [_X], ("layer_norm",)),
    "LazyLinear": Spec(lambda nn: nn.LazyLinear(2), [_X], ("linear",)),
    "LeakyReLU": Spec(lambda nn: nn.LeakyReLU(), [_X], ("leaky_relu",)),
    "Linear": Spec(lambda nn: nn.Linear(3, 2), [_X], ("linear",)),
    "LocalResponseNorm": Spec(lambda nn: nn.LocalResponseNorm(2), [f("B", 3, 4)], ("local_response_norm",)),
    "LogSigmoid": Spec(lambda nn: nn.LogSigmoid(), [_X], ("logsigmoid",)),
    "LogSoftmax": Spec(lambda nn: nn.LogSoftmax(dim=1), [_X], ("log_softmax",)),
    "MSELoss": Spec(lambda nn: nn.MSELoss(), _PAIR, ("mse_loss",)),
    "MarginRankingLoss": Spec(lambda nn: nn.MarginRankingLoss(), [f("B"), f("B"), k("pm1", "B")],
                              ("margin_ranking_loss",)),
    "MaxPool1d": Spec(lambda nn: nn.MaxPool1d(2), [f("B", 3, 4)], ("max_pool1d",)),
    "MaxPool2d": Spec(lambda nn: nn.MaxPool2d(2), [f("B", 3, 4, 4)], ("max_pool2d",)),
    "MaxUnpool1d": Spec(lambda nn: nn.MaxUnpool1d(2), [f("B", 3, 2), k("unpool", "B", 3, 2)], ("max_unpool1d",)),
    "MaxUnpool2d": Spec(lambda nn: nn.MaxUnpool2d(2), [f("B", 3, 2, 2), k("unpool", "B", 3, 2, 2)],
                        ("max_unpool2d",)),
    "Mish": Spec(lambda nn: nn.Mish(), [_X], ("mish",)),
    "MixerBlock": Spec(lambda nn: nn.MixerBlock(3, 4, 5, 6), [f("B", 3, 4)],
                       ("LayerNorm", "token_mixing", "channel_mixing", "layer_norm")),
    "ModuleDict": Spec(lambda nn: nn.ModuleDict({"a": nn.ReLU()}), [_X]),  # no forward, as in torch
    "ModuleList": Spec(lambda nn: nn.ModuleList([nn.ReLU()]), [_X]),
    "MultiLabelMarginLoss": Spec(lambda nn: nn.MultiLabelMarginLoss(), [f("B", 3), i(3, "B", 3)],
                                 ("multilabel_margin_loss",)),
    "MultiLabelSoftMarginLoss": Spec(lambda nn: nn.MultiLabelSoftMarginLoss(), [f("B", 3), k("01", "B", 3)],
                                     ("multilabel_soft_margin_loss",)),
    "MultiMarginLoss": Spec(lambda nn: nn.MultiMarginLoss(), [f("B", 3), i(3, "B")], ("multi_margin_loss",)),
    "MultiheadAttention": Spec(lambda nn: nn.MultiheadAttention(4, 2), [f(2, "B", 4), f(3, "B", 4), f(3, "B", 4)],
                               ("multi_head_attention_forward", "scaled_dot_product_attention", "linear")),
    "NLLLoss": Spec(lambda nn: nn.NLLLoss(), [f("B", 3), i(3, "B")], ("nll_loss",)),
    "PReLU": Spec(lambda nn: nn.PReLU(), [_X], ("prelu",)),
    "PairwiseDistance": Spec(lambda nn: nn.PairwiseDistance(), _PAIR, ("pairwise_distance",)),
    "ParameterDict": Spec(lambda nn: nn.ParameterDict(), [_X]),
    "ParameterList": Spec(lambda nn: nn.ParameterList(), [_X]),
    "PixelShuffle": Spec(lambda nn: nn.PixelShuffle(2), [f("B", 4, 2, 2)], ("pixel_shuffle",)),
    "PixelUnshuffle": Spec(lambda nn: nn.PixelUnshuffle(2), [f("B", 1, 4, 4)], ("pixel_unshuffle",)),
    "PoissonNLLLoss": Spec(lambda nn: nn.PoissonNLLLoss(), [f("B", 3), k("pos", "B", 3)], ("poisson_nll_loss",)),
    "RMSNorm": Spec(lambda nn: nn.RMSNorm(3), [_X], ("rms_norm",)),
    "RNN": Spec(lambda nn: nn.RNN(3, 4), [_SEQ], ("rnn", "rnn_sequence")),
    "RNNCell": Spec(lambda nn: nn.RNNCell(3, 4), [_X], ("rnn_cell",)),
    "RNNCellBase": Spec(lambda nn: nn.RNNCellBase(3, 4, True, 1), [_X]),  # no forward, as in torch
    "RReLU": Spec(lambda nn: nn.RReLU(), [_X], ("rrelu",)),
    "ReLU": Spec(lambda nn: nn.ReLU(), [_X], ("relu",)),
    "ReLU6": Spec(lambda nn: nn.ReLU6(), [_X], ("relu6", "hardtanh")),
    "ReflectionPad1d": Spec(lambda nn: nn.ReflectionPad1d(1), [f("B", 2, 3)], ("pad",)),
    "ReflectionPad2d": Spec(lambda nn: nn.ReflectionPad2d(1), [f("B", 2, 3, 3)], ("pad",)),
    "ReflectionPad3d": Spec(lambda nn: nn.ReflectionPad3d(1), [f("B", 2, 3, 3, 3)], ("pad",)),
    "ReplicationPad1d": Spec(lambda nn: nn.ReplicationPad1d(1), [f("B", 2, 3)], ("pad",)),
    "ReplicationPad2d": Spec(lambda nn: nn.ReplicationPad2d(1), [f("B", 2, 3, 3)], ("pad",)),
    "ReplicationPad3d": Spec(lambda nn: nn.ReplicationPad3d(1), [f("B", 2, 3, 3, 3)], ("pad",)),
    "ResidualBlock": Spec(lambda nn: nn.ResidualBlock(2, 3), [f("B", 2, 4, 4)],
                          ("Conv2d", "BatchNorm2d", "conv2d", "batch_norm")),
    "SELU": Spec(lambda nn: nn.SELU(), [_X], ("selu",)),
    "Sequential": Spec(lambda nn: nn.Sequential(nn.Linear(3, 2), nn.ReLU()), [_X],
                       ("Linear", "ReLU", "linear", "relu")),
    "SiLU": Spec(lambda nn: nn.SiLU(), [_X], ("silu",)),
    "Sigmoid": Spec(lambda nn: nn.Sigmoid(), [_X], ("sigmoid",)),
    "SmoothL1Loss": Spec(lambda nn: nn.SmoothL1Loss(), _PAIR, ("smooth_l1_loss",)),
    "SoftMarginLoss": Spec(lambda nn: nn.SoftMarginLoss(), [f("B", 3), k("pm1", "B", 3)], ("soft_margin_loss",)),
    "Softmax": Spec(lambda nn: nn.Softmax(dim=1), [_X], ("softmax",)),
    "Softmax2d": Spec(lambda nn: nn.Softmax2d(), [f("B", 3, 2, 2)], ("softmax",)),
    "Softmin": Spec(lambda nn: nn.Softmin(dim=1), [_X], ("softmin",)),
    "Softplus": Spec(lambda nn: nn.Softplus(), [_X], ("softplus",)),
    "Softshrink": Spec(lambda nn: nn.Softshrink(), [_X], ("softshrink",)),
    "Softsign": Spec(lambda nn: nn.Softsign(), [_X], ("softsign",)),
    "SyncBatchNorm": Spec(lambda nn: nn.SyncBatchNorm(3), [f("B", 3, 2)], ("batch_norm",)),
    "Tanh": Spec(lambda nn: nn.Tanh(), [_X], ("tanh",)),
    "Tanhshrink": Spec(lambda nn: nn.Tanhshrink(), [_X], ("tanhshrink",)),
    "Threshold": Spec(lambda nn: nn.Threshold(0.1, 20.0), [_X], ("threshold",)),
    "Transformer": Spec(lambda nn: nn.Transformer(4, 2, 1, 1, 8, dropout=0.0), [f(3, "B", 4), f(2, "B", 4)],
                        _TRANSFORMER),
    "TransformerDecoder": Spec(lambda nn: nn.TransformerDecoder(_tdl(nn), 1), [f(2, "B", 4), f(3, "B", 4)],
                               _TRANSFORMER),
    "TransformerDecoderLayer": Spec(_tdl, [f(2, "B", 4), f(3, "B", 4)],
                                    _TRANSFORMER),
    "TransformerEncoder": Spec(lambda nn: nn.TransformerEncoder(_tel(nn), 1, enable_nested_tensor=False),
                               [f(3, "B", 4)],
                               _TRANSFORMER),
    "TransformerEncoderLayer": Spec(_tel, [f(3, "B", 4)], _TRANSFORMER),
    "TripletMarginLoss": Spec(lambda nn: nn.TripletMarginLoss(), [*_PAIR, _X], ("triplet_margin_loss",)),
    "TripletMarginWithDistanceLoss": Spec(lambda nn: nn.TripletMarginWithDistanceLoss(), [*_PAIR, _X],
                                          ("triplet_margin_with_distance_loss", "pairwise_distance")),
    "Unflatten": Spec(lambda nn: nn.Unflatten(1, (2, 3)), [f("B", 6)], ("unflatten",)),
    "Unfold": Spec(lambda nn: nn.Unfold(2), [f("B", 2, 3, 3)], ("unfold",)),
    "Upsample": Spec(lambda nn: nn.Upsample(scale_factor=2), [f("B", 2, 3)], ("interpolate", "upsample")),
    "UpsamplingBilinear2d": Spec(lambda nn: nn.UpsamplingBilinear2d(scale_factor=2), [f("B", 2, 3, 3)],
                                 ("interpolate", "upsample_bilinear")),
    "UpsamplingNearest2d": Spec(lambda nn: nn.UpsamplingNearest2d(scale_factor=2), [f("B", 2, 3, 3)],
                                ("interpolate", "upsample_nearest")),
    "ZeroPad1d": Spec(lambda nn: nn.ZeroPad1d(1), [f("B", 2, 3)], ("pad",)),
    "ZeroPad2d": Spec(lambda nn: nn.ZeroPad2d(1), [f("B", 2, 3, 3)], ("pad",)),
    "ZeroPad3d": Spec(lambda nn: nn.ZeroPad3d(1), [f("B", 2, 3, 3, 3)], ("pad",)),
}

# Layers without a forward (containers, the cell base class): calling them raises, as in torch.
NO_FORWARD = {"ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "RNNCellBase"}

# Layers for which torch 2.15 gives some NaN in the output when the first element of the first
# float input is NaN, with the configuration above (tests/fuzz/gen/gen_nan_propagation.py prints
# this list). Not in it: BCELoss (refuses NaN), NLLLoss, MultiMarginLoss, MultiLabelMarginLoss
# (the NaN may sit where the target does not look), Embedding, EmbeddingBag (no float input).
# Layers torch lacks, by construction: MixerBlock (layer norm, MLPs), ResidualBlock (convs),
# GCNConv (every node aggregates itself).
NAN_PROPAGATES = {
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AlphaDropout", "AvgPool1d",
    "AvgPool2d", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "Bilinear", "CELU",
    "ChannelShuffle", "CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d",
    "ConstantPad3d", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "CosineEmbeddingLoss",
    "CosineSimilarity", "CrossEntropyLoss", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "ELU",
    "FeatureAlphaDropout", "Flatten", "Fold", "GELU", "GLU", "GRU", "GRUCell", "GaussianNLLLoss", "GroupNorm",
    "Hardshrink", "Hardsigmoid", "Hardswish", "Hardtanh", "HingeEmbeddingLoss", "HuberLoss", "Identity",
    "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "KLDivLoss", "L1Loss", "LPPool1d", "LPPool2d", "LSTM",
    "LSTMCell", "LayerNorm", "LazyLinear", "LeakyReLU", "Linear", "LocalResponseNorm", "LogSigmoid", "LogSoftmax",
    "MSELoss", "MarginRankingLoss", "MaxPool1d", "MaxPool2d", "MaxUnpool1d", "MaxUnpool2d", "Mish",
    "MultiLabelSoftMarginLoss", "MultiheadAttention", "PReLU", "PairwiseDistance", "PixelShuffle", "PixelUnshuffle",
    "PoissonNLLLoss", "RMSNorm", "RNN", "RNNCell", "RReLU", "ReLU", "ReLU6", "ReflectionPad1d", "ReflectionPad2d",
    "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "SELU", "Sequential", "SiLU",
    "Sigmoid", "SmoothL1Loss", "SoftMarginLoss", "Softmax", "Softmax2d", "Softmin", "Softplus", "Softshrink",
    "Softsign", "SyncBatchNorm", "Tanh", "Tanhshrink", "Threshold", "Transformer", "TransformerDecoder",
    "TransformerDecoderLayer", "TransformerEncoder", "TransformerEncoderLayer", "TripletMarginLoss",
    "TripletMarginWithDistanceLoss", "Unflatten", "Unfold", "Upsample", "UpsamplingBilinear2d",
    "UpsamplingNearest2d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
    "MixerBlock", "ResidualBlock", "GCNConv",
}


def values(rng, spec_in: In, batch: int):
    """numpy values for one input of the given batch size (see In.kind)."""
    shape = tuple(batch if s == "B" else s for s in spec_in.shape)
    kind = spec_in.kind
    if kind == "f":
        return rng.standard_normal(shape)
    if kind == "i":
        return rng.integers(0, spec_in.high, shape)
    if kind == "prob":
        return rng.uniform(0.05, 0.95, shape)
    if kind == "pos":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "pm1":
        return np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    if kind == "01":
        return (rng.random(shape) < 0.5).astype(np.float64)
    if kind == "unpool":  # window starts of a kernel-2, stride-2 max pool over the last 1 or 2 dims
        if len(shape) == 3:
            return np.broadcast_to(2 * np.arange(shape[-1]), shape).copy()
        h, w = shape[-2:]
        grid = (2 * np.arange(h))[:, None] * (2 * w) + 2 * np.arange(w)[None, :]
        return np.broadcast_to(grid, shape).copy()
    if kind == "edges":  # (2, E) node ids of a graph with `batch` nodes
        return rng.integers(0, batch, shape) if batch else np.zeros((2, 0), np.int64)
    raise ValueError(kind)
