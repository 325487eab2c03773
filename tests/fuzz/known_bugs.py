"""What the reference-comparing fuzz tests leave out, and why: inputs on which the numpy reference is
not torch's answer, and open library bugs this suite found (each with a minimal reproduction, a
strict xfail in test_fuzz_known_bugs.py; none open today, the tables below are where they go). A bug entry leaves out only the draws its predicate matches, so
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


def einsum_three_operands(call):
    eq = call.args[0]
    return not isinstance(eq, str) or eq.count(",") >= 2


# ---- registered ops (test_fuzz_op_reference.py) --------------------------------------------------
# The numpy reference is not torch's answer on these inputs (checked against torch 2.15): fix the
# row's reference in tests/ops, then drop the entry.
OP_REFERENCE_DIFFERS = {
    "cdist": [(lambda c: nonfinite(c) and (c.kwargs.get("compute_mode") == "use_mm_for_euclid_dist"
                                           or c.case == "mm_path"),
               "torch's matmul path gives NaN for ±inf (|a|²+|b|²-2ab), rows_linalg's reference computes directly")],
    "einsum": [(lambda c: nonfinite(c) and einsum_three_operands(c),
                "±inf with three operands: the grouping decides between ±inf and NaN; torch (and ferrograd) "
                "contract left to right, taking 'bll' as a trace first (inf·trace = ±inf), the reference's "
                "np.einsum adds inf·z00 + inf·z11 + ... (NaN when their signs differ)")],
    "cholesky": [(lambda c: bool(c.changes), "the row's call symmetrizes its input, its reference reads the lower "
                                             "triangle: they agree on the row's symmetric samples only")],
    "searchsorted": [(unsorted_sequence(0), "an unsorted sorted_sequence has no defined answer (torch, numpy)")],
    "bucketize": [(unsorted_sequence(1), "unsorted boundaries have no defined answer (torch, numpy)")],
}


OP_BUGS: dict = {}


def _add(table, key, pred, why):
    table.setdefault(key, []).append((pred, why))


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
}

FUNCTIONAL_BUGS: dict = {}


# ---- nn modules (test_fuzz_module_forward.py): predicates on (mutation, numpy inputs, layouts) ---
MODULE_BUGS: dict = {}


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
