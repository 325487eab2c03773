"""nn.functional functions as op-table rows (tests/ops/optable.py's Row and Case), so that the same
edge-case strategy and check as the registered ops (table_inputs.py) run on them.

Each row draws a small valid configuration from its rng (sizes 0-4, groups, strides, paddings,
reductions, ...) and names the numpy reference the tests already use: ferrograd.reference.*
(activation, softmax, conv, pool, norm, loss, attention, embedding, mixing), the reference tables
of tests/nn/test_activation_modules.py and tests/nn/test_loss_modules.py, and tests/nn/test_rnn.py's
run/reference pair. Only linear and bilinear have their one-line formula here (their tests write
it inline too).

nn.functional functions with no numpy reference in the tests, so fuzzed for errors only (in
test_fuzz_functional.py): adaptive_avg_pool1d, adaptive_max_pool1d/2d(_with_indices),
alpha_dropout, channel_shuffle, conv3d, conv_transpose1d, dropout*, embedding_bag,
feature_alpha_dropout, fold, gumbel_softmax, instance_norm, interpolate, local_response_norm,
lp_pool1d/2d, max_pool*_with_indices, max_unpool1d/2d, multi_margin_loss, multilabel_margin_loss,
multilabel_soft_margin_loss, native_channel_shuffle, pad, pixel_shuffle, pixel_unshuffle,
rms_norm, triplet_margin_with_distance_loss, unfold, upsample*.
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

import ferrograd.nn.functional as F
from ferrograd.reference import activation as ract
from ferrograd.reference import attention as ratt
from ferrograd.reference import conv as rconv
from ferrograd.reference import embedding as remb
from ferrograd.reference import loss as rloss
from ferrograd.reference import mixing as rmix
from ferrograd.reference import norm as rnorm
from ferrograd.reference import pool as rpool
from ferrograd.reference import softmax as rsoft

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "ops"))
sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "nn"))

from optable import Case, Row  # noqa: E402
from test_activation_modules import REFERENCE as ACTIVATIONS  # noqa: E402
from test_loss_modules import POINTWISE, _reduce  # noqa: E402
from test_loss_modules import Y as POINTWISE_Y  # noqa: E402  (mse_loss_weight's weights are |Y|)
from test_rnn import reference as rnn_reference  # noqa: E402
from test_rnn import run as rnn_run  # noqa: E402

CPU64 = dict(devices=("cpu",), dtypes=("float64",))  # rows whose fixed tensors are cpu float64


def _shape(rng, lo=0, hi=4, ndim=None):
    n = int(rng.integers(0, 4)) if ndim is None else ndim
    return tuple(int(s) for s in rng.integers(lo, hi + 1, n))


def _x(rng, *shape):
    return rng.standard_normal(shape)


def _i(rng, n):
    return int(rng.integers(1, n + 1))


# ---- elementwise activations --------------------------------------------------------------------
def _any_x(rng):
    return {"random": Case((_x(rng, *_shape(rng, 1)),)), "empty": Case((_x(rng, 0, 3),)),
            "scalar": Case((_x(rng),))}


def _activation(fn, ref, samples=_any_x, **kw):
    return Row(samples=samples, ref=ref, call=fn, grad=False, **kw)


def _fixed(shape_of):
    """Samples for the activation-table entries whose reference assumes a layout."""
    def samples(rng):
        return {"random": Case((_x(rng, *shape_of(rng, 1)),)), "empty": Case((_x(rng, *shape_of(rng, 0)),))}
    return samples


_ACT_SHAPES = {
    "prelu": lambda rng, lo: (int(rng.integers(lo, 4)), 4, 2),  # 4 channels in dim 1, as the table's weight
    "glu": lambda rng, lo: (6, int(rng.integers(lo, 4)), 2),  # halves of dim 0
    "softmin": lambda rng, lo: (int(rng.integers(lo, 4)), int(rng.integers(1, 5))),  # dim=1
}

ROWS = {
    "relu": _activation(F.relu, ract.relu),
    "leaky_relu": _activation(lambda x: F.leaky_relu(x, 0.2), lambda x: ract.leaky_relu(x, 0.2)),
    "gelu": _activation(F.gelu, ract.gelu),
    "gelu_tanh": _activation(lambda x: F.gelu(x, approximate="tanh"), lambda x: ract.gelu(x, "tanh")),
    "silu": _activation(F.silu, ract.silu),
    "sigmoid": _activation(F.sigmoid, ract.sigmoid),
    "tanh": _activation(F.tanh, ract.tanh),
}
for _name, (_fn, _ref) in ACTIVATIONS.items():
    ROWS[_name] = _activation(_fn, _ref, _fixed(_ACT_SHAPES[_name]) if _name in _ACT_SHAPES else _any_x,
                              **({"devices": ("cpu",)} if _name == "prelu" else {}))  # prelu's weight is on cpu


# ---- softmax ------------------------------------------------------------------------------------
def _softmax_samples(rng):
    s = _shape(rng, 1, 4, int(rng.integers(1, 4)))
    return {"random": Case((_x(rng, *s), int(rng.integers(-len(s), len(s))))),
            "empty": Case((_x(rng, 0, 3), 1)), "scalar": Case((_x(rng), 0))}


ROWS["softmax"] = Row(samples=_softmax_samples, ref=rsoft.softmax, call=F.softmax, grad=False)
ROWS["log_softmax"] = Row(samples=_softmax_samples, ref=rsoft.log_softmax, call=F.log_softmax, grad=False)


# ---- linear, bilinear -----------------------------------------------------------------------------
def _linear_samples(rng):
    i, o = _i(rng, 4), _i(rng, 4)
    lead = _shape(rng, 0, 3, int(rng.integers(0, 3)))
    return {"random": Case((_x(rng, *lead, i), _x(rng, o, i), _x(rng, o))),
            "no_bias": Case((_x(rng, 3, i), _x(rng, o, i))),
            "empty": Case((_x(rng, 0, i), _x(rng, o, i), _x(rng, o)))}


def _linear_ref(x, w, b=None):
    return np.asarray(x, np.float64) @ np.asarray(w, np.float64).T + (0 if b is None else b)


def _bilinear_samples(rng):
    i1, i2, o, n = _i(rng, 3), _i(rng, 3), _i(rng, 3), int(rng.integers(0, 4))
    return {"random": Case((_x(rng, n, i1), _x(rng, n, i2), _x(rng, o, i1, i2), _x(rng, o))),
            "empty": Case((_x(rng, 0, i1), _x(rng, 0, i2), _x(rng, o, i1, i2)))}


def _bilinear_ref(a, b, w, bias=None):
    return np.einsum("...i,oij,...j->...o", a, w, b) + (0 if bias is None else bias)


ROWS["linear"] = Row(samples=_linear_samples, ref=_linear_ref, call=F.linear, grad=False)
ROWS["bilinear"] = Row(samples=_bilinear_samples, ref=_bilinear_ref, call=F.bilinear, grad=False)


# ---- convolutions -------------------------------------------------------------------------------
def _conv_case(rng, nd, transposed=False, empty=False):
    g = int(rng.integers(1, 3))
    cg, og = _i(rng, 2), _i(rng, 2)
    k = tuple(_i(rng, 3) for _ in range(nd))
    stride, dil = _i(rng, 2), _i(rng, 2)
    pad = int(rng.integers(0, 2))
    n = 0 if empty else _i(rng, 2)
    sizes = tuple(dil * (kk - 1) + 1 + int(rng.integers(0, 3)) for kk in k)
    x = _x(rng, n, g * cg, *sizes)
    if transposed:
        w = _x(rng, g * cg, og, *k)
        out_pad = int(rng.integers(0, max(stride, dil)))
        if min((n_ - 1) * stride + dil * (kk - 1) + out_pad + 1 for n_, kk in zip(sizes, k)) <= 2 * pad:
            pad = 0  # (torch refuses an empty output)
        return Case((x, w, _x(rng, g * og), stride, pad, out_pad, g, dil))
    w = _x(rng, g * og, cg, *k)
    if rng.random() < 0.25:
        return Case((x, w, _x(rng, g * og)),
                    {"padding": "same" if stride == 1 else "valid", "dilation": dil, "groups": g})
    return Case((x, w, _x(rng, g * og) if rng.random() < 0.7 else None, stride, pad, dil, g))


def _conv_samples(nd, transposed=False):
    def samples(rng):
        return {"random": _conv_case(rng, nd, transposed), "other": _conv_case(rng, nd, transposed),
                "empty": _conv_case(rng, nd, transposed, empty=True)}
    return samples


ROWS["conv1d"] = Row(samples=_conv_samples(1), ref=rconv.conv1d, call=F.conv1d, grad=False, rtol=1e-4, atol=1e-5)
ROWS["conv2d"] = Row(samples=_conv_samples(2), ref=rconv.conv2d, call=F.conv2d, grad=False, rtol=1e-4, atol=1e-5)
ROWS["conv_transpose2d"] = Row(samples=_conv_samples(2, True), ref=rconv.conv_transpose2d, call=F.conv_transpose2d,
                               grad=False, rtol=1e-4, atol=1e-5)


# ---- pooling ------------------------------------------------------------------------------------
def _pool_case(rng, nd, empty=False):
    k = _i(rng, 3)
    stride = None if rng.random() < 0.3 else _i(rng, 3)
    pad = int(rng.integers(0, k // 2 + 1))  # torch: padding at most half the kernel
    sizes = tuple(k + int(rng.integers(0, 3)) for _ in range(nd))
    return Case((_x(rng, 0 if empty else _i(rng, 2), _i(rng, 3), *sizes), k, stride, pad))


def _pool_samples(nd):
    def samples(rng):
        return {"random": _pool_case(rng, nd), "other": _pool_case(rng, nd), "empty": _pool_case(rng, nd, True)}
    return samples


def _adaptive_samples(rng):
    return {"random": Case((_x(rng, _i(rng, 2), _i(rng, 3), _i(rng, 5), _i(rng, 5)), (_i(rng, 3), _i(rng, 3)))),
            "empty": Case((_x(rng, 0, 2, 3, 3), 2))}


def _avg_call(fn):
    return lambda x, k, s=None, p=0, count_include_pad=True: fn(x, k, s, p, count_include_pad=count_include_pad)


ROWS["max_pool1d"] = Row(samples=_pool_samples(1), ref=rpool.max_pool1d, call=F.max_pool1d, grad=False)
ROWS["max_pool2d"] = Row(samples=_pool_samples(2), ref=rpool.max_pool2d, call=F.max_pool2d, grad=False)
ROWS["avg_pool1d"] = Row(samples=_pool_samples(1), ref=rpool.avg_pool1d, call=_avg_call(F.avg_pool1d), grad=False)
ROWS["avg_pool2d"] = Row(samples=_pool_samples(2), ref=rpool.avg_pool2d, call=_avg_call(F.avg_pool2d), grad=False)
ROWS["adaptive_avg_pool2d"] = Row(samples=_adaptive_samples, ref=rpool.adaptive_avg_pool2d,
                                  call=F.adaptive_avg_pool2d, grad=False)


# ---- normalization ------------------------------------------------------------------------------
def _layer_norm_samples(rng):
    s = _shape(rng, 1, 4, int(rng.integers(1, 4)))
    k = int(rng.integers(1, len(s) + 1))
    ns = s[len(s) - k:]
    return {"random": Case((_x(rng, *s), ns, _x(rng, *ns), _x(rng, *ns))),
            "plain": Case((_x(rng, *s), ns)),
            "empty": Case((_x(rng, 0, *ns), ns, _x(rng, *ns), _x(rng, *ns)))}


def _batch_norm_samples(rng):
    c = _i(rng, 3)
    s = (_i(rng, 3), c) + _shape(rng, 1, 3, int(rng.integers(0, 3)))
    stats = (_x(rng, c), np.abs(_x(rng, c)) + 0.5)
    return {"random": Case((_x(rng, *s), *stats, _x(rng, c), _x(rng, c)), {"training": bool(rng.random() < 0.5)}),
            "eval": Case((_x(rng, *s), *stats)),
            "empty": Case((_x(rng, 0, c), *stats))}


def _batch_norm_call(x, rm, rv, w=None, b=None, **kw):
    return F.batch_norm(x, rm, rv, w, b, **kw), rm, rv  # running stats are updated in place


def _group_norm_samples(rng):
    g, cg = _i(rng, 2), _i(rng, 2)
    s = (int(rng.integers(0, 3)), g * cg) + _shape(rng, 1, 3, int(rng.integers(0, 3)))
    return {"random": Case((_x(rng, *s), g, _x(rng, g * cg), _x(rng, g * cg))), "plain": Case((_x(rng, *s), g)),
            "empty": Case((_x(rng, 0, g * cg), g))}


def _normalize_samples(rng):
    s = _shape(rng, 1, 4, int(rng.integers(1, 4)))
    return {"random": Case((_x(rng, *s), float(rng.choice([1.0, 2.0, 3.0])), int(rng.integers(-len(s), len(s))))),
            "empty": Case((_x(rng, 0, 3), 2.0, 1))}


ROWS["layer_norm"] = Row(samples=_layer_norm_samples, ref=rnorm.layer_norm, call=F.layer_norm, grad=False,
                         rtol=1e-4, atol=1e-5)
ROWS["batch_norm"] = Row(samples=_batch_norm_samples, ref=rnorm.batch_norm, call=_batch_norm_call, grad=False,
                         rtol=1e-4, atol=1e-5)
ROWS["group_norm"] = Row(samples=_group_norm_samples, ref=rnorm.group_norm, call=F.group_norm, grad=False,
                         rtol=1e-4, atol=1e-5)
ROWS["normalize"] = Row(samples=_normalize_samples, ref=rnorm.normalize, call=F.normalize, grad=False)


# ---- losses -------------------------------------------------------------------------------------
_REDUCTIONS = ["none", "mean", "sum"]


def _classes(rng, empty=False):
    n, c = (0 if empty else _i(rng, 3)), _i(rng, 4)
    extra = _shape(rng, 1, 2, int(rng.integers(0, 2)))
    return n, c, extra


def _ce_samples(rng):
    n, c, extra = _classes(rng)
    x = _x(rng, n, c, *extra)
    t = rng.integers(0, c, (n, *extra))
    t[rng.random(t.shape) < 0.2] = -100  # ignored
    probs = rsoft.softmax(_x(rng, n, c, *extra), 1)
    red = str(rng.choice(_REDUCTIONS))
    return {"random": Case((x, t), {"reduction": red, "label_smoothing": float(rng.choice([0.0, 0.1]))}),
            "weighted": Case((x, t, np.abs(_x(rng, c)) + 0.1), {"reduction": red}),
            "probs": Case((x, probs), {"reduction": red, "label_smoothing": float(rng.choice([0.0, 0.2]))}),
            "unbatched": Case((_x(rng, c), np.array(int(rng.integers(0, c))))),
            "empty": Case((_x(rng, 0, c), np.zeros(0, np.int64)), {"reduction": red})}


def _nll_samples(rng):
    n, c, extra = _classes(rng)
    x = rsoft.log_softmax(_x(rng, n, c, *extra), 1)
    t = rng.integers(0, c, (n, *extra))
    red = str(rng.choice(_REDUCTIONS))
    return {"random": Case((x, t), {"reduction": red}),
            "weighted": Case((x, t, np.abs(_x(rng, c)) + 0.1), {"reduction": red, "ignore_index": 0}),
            "empty": Case((_x(rng, 0, c), np.zeros(0, np.int64)), {"reduction": red})}


def _pair_samples(lo=None, hi=None, target=None):
    def samples(rng):
        s = _shape(rng, 1, 4)
        x = _x(rng, *s) if lo is None else rng.uniform(lo, hi, s)
        t = _x(rng, *s) if target is None else target(rng, s)
        red = str(rng.choice(_REDUCTIONS))
        return {"random": Case((x, t), {"reduction": red}),
                "empty": Case((np.full((0, 2), 0.5), np.zeros((0, 2))), {"reduction": red})}
    return samples


def _kl_samples(rng):
    s = (_i(rng, 3), _i(rng, 4))
    logp, q = rsoft.log_softmax(_x(rng, *s), 1), rsoft.softmax(_x(rng, *s), 1)
    red = str(rng.choice(_REDUCTIONS + ["batchmean"]))
    return {"random": Case((logp, q), {"reduction": red}),
            "log_target": Case((logp, np.log(q)), {"reduction": red, "log_target": True}),
            "empty": Case((np.zeros((0, 3)), np.zeros((0, 3))), {"reduction": "sum"})}


def _vectors_samples(rng):
    n, d = int(rng.integers(0, 4)), _i(rng, 4)
    return {"random": Case((_x(rng, n, d), _x(rng, n, d))), "empty": Case((_x(rng, 0, d), _x(rng, 0, d)))}


def _cosine_samples(rng):
    s = _shape(rng, 1, 4, int(rng.integers(1, 4)))
    return {"random": Case((_x(rng, *s), _x(rng, *s), int(rng.integers(-len(s), len(s))))),
            "empty": Case((_x(rng, 0, 3), _x(rng, 0, 3), 1))}


def _pairwise_samples(rng):
    n, d = int(rng.integers(0, 4)), _i(rng, 4)
    return {"random": Case((_x(rng, n, d), _x(rng, n, d)), {"p": float(rng.choice([1.0, 2.0, 3.0])),
                                                              "keepdim": bool(rng.random() < 0.5)}),
            "empty": Case((_x(rng, 0, d), _x(rng, 0, d)))}


def _triplet_samples(rng):
    n, d = _i(rng, 3), _i(rng, 4)
    return {"random": Case((_x(rng, n, d), _x(rng, n, d), _x(rng, n, d)),
                           {"margin": 0.5, "p": float(rng.choice([1.0, 2.0])), "swap": bool(rng.random() < 0.5),
                            "reduction": str(rng.choice(_REDUCTIONS))}),
            "empty": Case((_x(rng, 0, d), _x(rng, 0, d), _x(rng, 0, d)), {"reduction": "sum"})}


def _cosine_embedding_samples(rng):
    n, d = _i(rng, 3), _i(rng, 4)
    y = np.where(rng.random(n) < 0.5, -1, 1)
    red = str(rng.choice(_REDUCTIONS))
    return {"random": Case((_x(rng, n, d), _x(rng, n, d), y), {"margin": 0.2, "reduction": red}),
            "empty": Case((_x(rng, 0, d), _x(rng, 0, d), np.zeros(0, np.int64)), {"reduction": "sum"})}


ROWS["cross_entropy"] = Row(samples=_ce_samples, ref=rloss.cross_entropy, call=F.cross_entropy, grad=False,
                            rtol=1e-4, atol=1e-5)
ROWS["nll_loss"] = Row(samples=_nll_samples, ref=rloss.nll_loss, call=F.nll_loss, grad=False)
ROWS["mse_loss"] = Row(samples=_pair_samples(), ref=rloss.mse_loss, call=F.mse_loss, grad=False)
ROWS["l1_loss"] = Row(samples=_pair_samples(), ref=rloss.l1_loss, call=F.l1_loss, grad=False)
ROWS["binary_cross_entropy"] = Row(samples=_pair_samples(0.05, 0.95, lambda rng, s: rng.uniform(0, 1, s)),
                                   ref=rloss.binary_cross_entropy, call=F.binary_cross_entropy, grad=False)
ROWS["binary_cross_entropy_with_logits"] = Row(
    samples=_pair_samples(target=lambda rng, s: rng.uniform(0, 1, s)), ref=rloss.binary_cross_entropy_with_logits,
    call=F.binary_cross_entropy_with_logits, grad=False)
ROWS["kl_div"] = Row(samples=_kl_samples, ref=rloss.kl_div, call=F.kl_div, grad=False)
ROWS["cosine_similarity"] = Row(samples=_cosine_samples, ref=rloss.cosine_similarity, call=F.cosine_similarity,
                                grad=False, rtol=1e-4, atol=1e-5)
ROWS["pairwise_distance"] = Row(samples=_pairwise_samples, ref=rloss.pairwise_distance, call=F.pairwise_distance,
                                grad=False)
ROWS["triplet_margin_loss"] = Row(samples=_triplet_samples, ref=rloss.triplet_margin_loss,
                                  call=F.triplet_margin_loss, grad=False)
ROWS["cosine_embedding_loss"] = Row(samples=_cosine_embedding_samples, ref=rloss.cosine_embedding_loss,
                                    call=F.cosine_embedding_loss, grad=False, rtol=1e-4, atol=1e-5)


def _pointwise_loss_row(name):
    """tests/nn/test_loss_modules.py's table: (x, y) of its (4, 5) shape, its fixed float64 targets."""
    fn, want = POINTWISE[name]

    def samples(rng):
        return {"random": Case((_x(rng, 4, 5), _x(rng, 4, 5), str(rng.choice(_REDUCTIONS))))}

    def ref(x, y, reduction):
        if name == "mse_loss_weight" and reduction == "mean":
            w = np.abs(POINTWISE_Y)
            return (want(x, y)).sum() / w.sum()
        return _reduce(want(x, y), reduction)

    return Row(samples=samples, ref=ref, call=fn, grad=False, why_no_empty="the table's targets are (4, 5)",
               **CPU64)


for _name in POINTWISE:
    ROWS[_name if _name not in ROWS else _name + "_table"] = _pointwise_loss_row(_name)


# ---- attention, embedding, one_hot ----------------------------------------------------------------
def _sdpa_samples(rng):
    b, h, l, s, e, ev = int(rng.integers(0, 3)), _i(rng, 2), _i(rng, 4), _i(rng, 4), _i(rng, 4), _i(rng, 3)
    q, k, v = _x(rng, b, h, l, e), _x(rng, b, h, s, e), _x(rng, b, h, s, ev)
    return {"random": Case((q, k, v)),
            "causal": Case((q, k, v), {"is_causal": True}),
            "bool_mask": Case((q, k, v, rng.random((l, s)) < 0.7)),
            "float_mask": Case((q, k, v, _x(rng, l, s)), {"scale": 0.5}),
            "empty": Case((_x(rng, 2, 0, l, e), _x(rng, 2, 0, s, e), _x(rng, 2, 0, s, ev)))}


def _embedding_samples(rng):
    n, d = _i(rng, 4), _i(rng, 3)
    return {"random": Case((rng.integers(0, n, _shape(rng, 0, 3)), _x(rng, n, d))),
            "empty": Case((np.zeros((0, 2), np.int64), _x(rng, n, d)))}


def _one_hot_samples(rng):
    n = _i(rng, 4)
    return {"random": Case((rng.integers(0, n, _shape(rng, 1, 3)), n + int(rng.integers(0, 2)))),
            "inferred": Case((rng.integers(0, n, _shape(rng, 1, 3, 1)),)),
            "empty": Case((np.zeros((0,), np.int64), 3))}


ROWS["scaled_dot_product_attention"] = Row(samples=_sdpa_samples, ref=ratt.sdpa,
                                           call=F.scaled_dot_product_attention, grad=False, rtol=1e-4, atol=1e-5)
ROWS["embedding"] = Row(samples=_embedding_samples, ref=remb.embedding, call=F.embedding, grad=False)
ROWS["one_hot"] = Row(samples=_one_hot_samples, ref=remb.one_hot, call=F.one_hot, grad=False)


# ---- recurrent sequences, mixing ------------------------------------------------------------------
_GATES = {"lstm": 4, "gru": 3, "rnn": 1, "rnn_relu": 1}


def _rnn_row(kind):
    def samples(rng):
        b, length, i, h, g = int(rng.integers(0, 3)), int(rng.integers(0, 4)), _i(rng, 3), _i(rng, 3), _GATES[kind]
        w = (_x(rng, g * h, i) * 0.5, _x(rng, g * h, h) * 0.5, _x(rng, g * h), _x(rng, g * h))
        c0 = _x(rng, b, h) if kind == "lstm" else None
        return {"random": Case((_x(rng, b, length, i), _x(rng, b, h), c0, *w)),
                "no_state": Case((_x(rng, max(b, 1), length, i), None, None, *w)),
                "empty": Case((_x(rng, 0, 2, i), _x(rng, 0, h), _x(rng, 0, h) if kind == "lstm" else None, *w))}

    def drop_none(out):
        return tuple(o for o in out if o is not None)

    return Row(samples=samples, ref=lambda *a: drop_none(rnn_reference(kind, *a)),
               call=lambda *a: drop_none(rnn_run(kind, *a)), grad=False, rtol=1e-4, atol=1e-5)


for _kind in _GATES:
    ROWS[f"{_kind}_sequence"] = _rnn_row(_kind)


def _mixing_samples(token):
    def samples(rng):
        b, t, c, d = int(rng.integers(0, 3)), _i(rng, 4), _i(rng, 4), _i(rng, 4)
        n = t if token else c
        ws = (_x(rng, d, n), _x(rng, d), _x(rng, n, d), _x(rng, n))
        return {"random": Case((_x(rng, b, t, c), *ws)), "no_bias": Case((_x(rng, b, t, c), ws[0], None, ws[2], None)),
                "empty": Case((_x(rng, 0, t, c), *ws))}
    return samples


ROWS["channel_mixing"] = Row(samples=_mixing_samples(False), ref=rmix.channel_mixing, call=F.channel_mixing,
                             grad=False, rtol=1e-4, atol=1e-5)
ROWS["token_mixing"] = Row(samples=_mixing_samples(True), ref=rmix.token_mixing, call=F.token_mixing,
                           grad=False, rtol=1e-4, atol=1e-5)
