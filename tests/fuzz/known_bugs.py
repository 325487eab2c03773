"""What the reference-comparing fuzz tests leave out, and why: inputs on which the numpy reference is
not torch's answer, and library bugs this suite found (each with a minimal reproduction, a strict
xfail in test_fuzz_known_bugs.py). A bug entry leaves out only the draws its predicate matches, so
the rest of the op stays covered. When a bug is fixed, its reproduction XPASSes (and fails, being
strict): delete the xfail there and the entry here.
"""

from __future__ import annotations

import numpy as np


# ---- predicates on a drawn call (table_inputs.TableCall) -----------------------------------------
def _arrays(call):
    return [a for a in (*call.args, *call.kwargs.values()) if isinstance(a, np.ndarray)]


def _floats(call):
    return [a for a in _arrays(call) if a.dtype.kind == "f"]


def nonfinite(call):
    return any(not np.isfinite(a).all() for a in _floats(call))


def nan_and_posinf(call):
    return any(np.isnan(a).any() and np.isposinf(a).any() for a in _floats(call))


def outside_unit(call):
    return any((~(np.abs(a.astype(np.float64)) <= 1)).any() for a in _arrays(call) if a.dtype.kind in "fiu")


def flipped(call):
    return "flipped" in call.layouts.values()


def _is_int_dtype(v):
    if isinstance(v, np.dtype):
        return v.kind in "iub"
    if isinstance(v, type):
        return v in (int, bool) or issubclass(v, np.generic) and np.dtype(v).kind in "iub"
    return isinstance(v, str) and any(k in v for k in ("Long", "Int", "Short", "Char", "Byte", "Bool", "int"))


_CASTS = {"long", "int", "short", "char", "byte", "bool", "as_tensor", "asarray", "tensor", "new_tensor", "type",
          "type_as", "to"}


def nonfinite_to_int(call):
    """NaN or ±inf converted to an integer dtype: undefined in C, so numpy, torch and the device
    each give their own number."""
    values = (*call.args, *call.kwargs.values())
    return nonfinite(call) and (call.name in _CASTS or any(_is_int_dtype(v) for v in values))


def _unsorted(a):
    return a.ndim > 0 and not np.array_equal(np.sort(a, axis=-1), a, equal_nan=True)


def unsorted_sequence(index):
    """The sorted-sequence argument is no longer sorted (a NaN or inf put in its middle)."""
    return lambda call: isinstance(call.args[index], np.ndarray) and _unsorted(call.args[index])


def _gather_0d(call):
    a = call.args[0]
    return isinstance(a, np.ndarray) and a.ndim == 0 and _arrays(call)[-1].ndim > 0


# ---- registered ops (test_fuzz_op_reference.py) --------------------------------------------------
# The numpy reference is not torch's answer on these inputs (checked against torch 2.15): fix the
# row's reference in tests/ops, then drop the entry.
OP_REFERENCE_DIFFERS = {
    "sort": [(nan_and_posinf, "descending: torch puts NaN before +inf; rows_sort._order gives both key -inf")],
    "argsort": [(nan_and_posinf, "as sort")],
    "topk": [(nan_and_posinf, "as sort")],
    "cdist": [(lambda c: nonfinite(c) and (c.kwargs.get("compute_mode") == "use_mm_for_euclid_dist"
                                           or c.case == "mm_path"),
               "torch's matmul path gives NaN for ±inf (|a|²+|b|²-2ab), rows_linalg's reference computes directly")],
    "cholesky": [(lambda c: bool(c.changes), "the row's call symmetrizes its input, its reference reads the lower "
                                             "triangle: they agree on the row's symmetric samples only")],
    "searchsorted": [(unsorted_sequence(0), "an unsorted sorted_sequence has no defined answer (torch, numpy)")],
    "bucketize": [(unsorted_sequence(1), "unsorted boundaries have no defined answer (torch, numpy)")],
    "gather": [(_gather_0d, "0-d input, n-d index: torch gives an index-shaped result, rows_index._gather_ref "
                            "the 0-d input")],
}

_WGPU_NAN = "wgpu (llvmpipe): NaN/inf taken for another value in the WGSL kernel (test_wgpu_nan_inf_*)"
_FLIP = "wgpu: a negative-stride operand fails in the kernel (test_wgpu_negative_strides_*)"
_MATMUL_FAMILY = ("addbmm", "addmm", "addmv", "baddbmm", "bmm", "cdist", "cross", "dot", "einsum", "matmul", "mm",
                  "mv", "tensordot", "vdot")

OP_BUGS: dict = {}


def _add(table, key, pred, why):
    table.setdefault(key, []).append((pred, why))


for _d in ("cpu", "wgpu"):
    _add(OP_BUGS, ("cross", _d), nonfinite, "NaN/inf in one component spreads to all three (test_cross_nan)")
    _add(OP_BUGS, ("einsum", _d), nonfinite, "a diagonal ('ii->i') takes NaN/inf from off the diagonal "
                                             "(test_einsum_diagonal_nan)")
    _add(OP_BUGS, ("isclose", _d), nonfinite, "a finite value is close to ±inf (test_isclose_inf)")
    _add(OP_BUGS, ("allclose", _d), nonfinite, "as isclose (test_isclose_inf)")
    _add(OP_BUGS, ("logaddexp", _d), nonfinite, "logaddexp(x, inf) is NaN, not inf (test_logaddexp_inf)")
    _add(OP_BUGS, ("hypot", _d), nonfinite, "hypot(nan, inf) is NaN, not inf (test_hypot_inf_nan)")
    _add(OP_BUGS, ("xlogy", _d), nonfinite, "xlogy(0, inf) is NaN, not 0 (test_xlogy_zero_inf)")
for _op in ("acos", "asin", "atan", "atan2", "bool", "all", "any", "count_nonzero", "nonzero", "argwhere", "argmax",
            "argmin", "max", "min", "amax", "amin", "aminmax", "mode", "div", "floor_divide", "fmod", "remainder",
            "sign", "sgn", "cdist", "pow", "norm", "scatter_reduce"):
    _add(OP_BUGS, (_op, "wgpu"), nonfinite, _WGPU_NAN)
for _op in ("asin", "acos"):
    _add(OP_BUGS, (_op, "wgpu"), outside_unit, "wgpu: |x| > 1 gives a number, not NaN (test_wgpu_nan_inf_asin_acos)")
for _op in _MATMUL_FAMILY:
    _add(OP_BUGS, (_op, "wgpu"), flipped, _FLIP)


# ---- nn.functional (test_fuzz_functional_reference.py) -------------------------------------------
FUNCTIONAL_REFERENCE_DIFFERS = {
    "binary_cross_entropy_with_logits": [(nonfinite, "an infinite target: torch's (1-t)x + softplus(-x) gives ±inf "
                                                     "where the reference's t·logσ + (1-t)·log(1-σ) is inf-inf")],
    "cross_entropy": [(nonfinite, "-inf logits: the reference's smoothing term is 0·inf = NaN even at "
                                  "label_smoothing=0, torch leaves the term out")],
    "softmin": [(nonfinite, "softmin(-inf): torch (and ferrograd) give NaN for the whole row, the table's "
                            "exp(-x)/sum form NaN at the -inf only")],
    "bilinear": [(nonfinite, "±inf: the sum's order decides between ±inf and NaN; torch contracts input1 with "
                             "the weight first (as ferrograd on wgpu), the reference's einsum differently")],
    "kl_div": [(nonfinite, "a -inf target: torch's xlogy(t, t) - t·x is NaN, the reference's where(t > 0, ...) "
                           "is not")],
    "scaled_dot_product_attention": [(lambda c: c.args[0].shape[-1] == 0,
                                      "no features (E = 0): torch averages v (scale 1/√0 times a 0 score), the "
                                      "reference's 0·inf gives NaN")],
    # tests/nn/test_activation_modules.py's threshold and hardshrink references map NaN to the fill
    # value; torch keeps NaN (ferrograd follows the reference: test_activations_keep_nan)
    "threshold": [(nonfinite, "the table's reference maps NaN to `value`, torch keeps NaN")],
    "hardshrink": [(nonfinite, "the table's reference maps NaN to 0, torch keeps NaN")],
}

_NAN_ACT = "NaN comes out as a bound or 0 where torch keeps NaN (test_activations_keep_nan)"
FUNCTIONAL_BUGS: dict = {}
for _d in ("cpu", "wgpu"):
    for _name in ("hardsigmoid", "hardtanh", "relu6", "softshrink"):
        _add(FUNCTIONAL_BUGS, (_name, _d), nonfinite, _NAN_ACT)
    _add(FUNCTIONAL_BUGS, ("nll_loss", _d), nonfinite, "NaN at an ignored target's class gives a NaN loss "
                                                       "(test_nll_loss_ignored_target_nan)")
    _add(FUNCTIONAL_BUGS, ("scaled_dot_product_attention", _d), lambda c: nonfinite(c) and c.kwargs.get("is_causal"),
         "is_causal: NaN in a key the causal mask hides does not reach the output (test_sdpa_causal_masked_nan)")
_add(FUNCTIONAL_BUGS, ("conv_transpose2d", "wgpu"), nonfinite,
     "a NaN weight reaches every output pixel, not only the ones its tap writes (test_wgpu_conv_transpose_nan)")
for _name in ("linear", "bilinear", "embedding", "channel_mixing", "token_mixing", "lstm_sequence", "gru_sequence",
              "rnn_sequence", "rnn_relu_sequence", "scaled_dot_product_attention"):
    _add(FUNCTIONAL_BUGS, (_name, "wgpu"), flipped, _FLIP)


# ---- nn modules (test_fuzz_module_forward.py): predicates on (mutation, numpy inputs, layouts) ---
MODULE_BUGS: dict = {}
for _d in ("cpu", "wgpu"):
    for _name in ("Hardshrink", "Hardsigmoid", "Hardtanh", "ReLU6", "Softshrink", "Threshold"):
        _add(MODULE_BUGS, (_name, _d), lambda how, xs, lay: how == "nan", _NAN_ACT)
    _add(MODULE_BUGS, ("Unflatten", _d), lambda how, xs, lay: how in ("extra_dim", "drop_dim", "wrong_feature"),
         "errors name reshape, not Unflatten (test_unflatten_layer_errors)")
for _name in ("AdaptiveMaxPool1d", "AdaptiveMaxPool2d"):
    _add(MODULE_BUGS, (_name, "wgpu"), lambda how, xs, lay: how == "nan",
         "wgpu: adaptive max pooling skips NaN (test_wgpu_nan_inf_adaptive_max_pool)")
for _name in ("Linear", "LazyLinear", "Bilinear", "Sequential", "GCNConv", "GRUCell", "LSTMCell", "RNNCell", "GRU",
              "LSTM", "RNN", "MultiheadAttention", "Transformer", "TransformerDecoder", "TransformerDecoderLayer",
              "TransformerEncoder", "TransformerEncoderLayer", "MixerBlock"):
    _add(MODULE_BUGS, (_name, "wgpu"), lambda how, xs, lay: "flipped" in lay, _FLIP)


def skip_reason(call, differs: dict, bugs: dict):
    """Why this call's result is not compared with the reference (None: it is)."""
    for pred, why in (*differs.get(call.name, ()), *bugs.get((call.name, call.device), ())):
        if pred(call):
            return why
    if nonfinite_to_int(call):
        return nonfinite_to_int.__doc__
    return None


def module_skip_reason(name, device, how, xs, layouts):
    for pred, why in MODULE_BUGS.get((name, device), ()):
        if pred(how, xs, layouts):
            return why
    return None
