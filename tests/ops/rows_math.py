"""Table rows: elementwise math (ops/math_ops.py)."""

from __future__ import annotations

import math

import numpy as np
from optable import Case, Row

from scipy import special


def _unary_cases(lo=-2.0, hi=2.0):
    def samples(rng):
        return {
            "random": Case((rng.uniform(lo, hi, (3, 4)),)),
            "empty": Case((np.zeros((0, 3)),)),
            "scalar": Case((np.array(rng.uniform(lo, hi)),)),
        }

    return samples


def _binary_cases(lo=-3.0, hi=3.0, b_lo=None, b_hi=None, avoid_zero=False):
    b_lo = lo if b_lo is None else b_lo
    b_hi = hi if b_hi is None else b_hi

    def b(rng, shape):
        v = rng.uniform(b_lo, b_hi, shape)
        if avoid_zero:
            v = np.where(np.abs(v) < 0.3, 0.7, v)
        return v

    def samples(rng):
        return {
            "random": Case((rng.uniform(lo, hi, (3, 4)), b(rng, (3, 4)))),
            "empty": Case((np.zeros((0, 4)), b(rng, (0, 4)))),
            "broadcast": Case((rng.uniform(lo, hi, (2, 1, 4)), b(rng, (3, 1)))),
            "scalar_other": Case((rng.uniform(lo, hi, (3, 4)), 1.7)),
        }

    return samples


def _sign(a):
    """torch.sign: 0 for NaN (numpy's np.sign gives NaN)."""
    return np.where(np.isnan(a), 0, np.sign(a)).astype(np.sign(a).dtype)


def _xlogy(a, b):
    """torch.xlogy: 0 where a is 0 (even for b = 0 or inf), NaN where b is NaN."""
    with np.errstate(all="ignore"):
        return np.where(np.isnan(b), np.nan, np.where(a == 0, 0, a * np.log(b))).astype(a.dtype)


def _bad_input(op):
    return [((np.zeros(2).tolist(),), {}, TypeError, op)]


def unary(ref, lo=-2.0, hi=2.0, grad=True, **kw):
    return Row(samples=_unary_cases(lo, hi), ref=ref, grad=grad, gradgrad=grad, **kw)


def _int_pairs(rng):
    return {
        "random": Case((rng.integers(-9, 9, (3, 4)), np.where(rng.integers(-4, 4, (3, 4)) == 0, 3, rng.integers(-4, 4, (3, 4))))),
        "empty": Case((np.zeros((0,), np.int64), np.ones((0,), np.int64))),
        "broadcast": Case((rng.integers(-9, 9, (2, 3)), np.array([2, -3, 5]))),
    }


def _bools(rng):
    return {
        "random": Case((rng.random((3, 4)) > 0.5, rng.random((3, 4)) > 0.5)),
        "empty": Case((np.zeros((0,), bool), np.zeros((0,), bool))),
        "broadcast": Case((rng.random((2, 3)) > 0.5, np.array([True, False, True]))),
    }


def _bool1(rng):
    return {"random": Case((rng.random((3, 4)) > 0.5,)), "empty": Case((np.zeros((0,), bool),))}


def _ints(rng):
    return {"random": Case((rng.integers(-9, 9, (3, 4)),)), "empty": Case((np.zeros((0,), np.int64),))}


def _with_specials(rng):
    x = rng.standard_normal((3, 4))
    x[0, 0], x[1, 1], x[2, 2] = np.nan, np.inf, -np.inf
    return {"random": Case((x,)), "empty": Case((np.zeros((0,)),))}


def _nonzero_divisor(rng):
    cases = _binary_cases(avoid_zero=True)(rng)
    # negative integers: Python's floor rule for // and %, C's for fmod
    cases["ints"] = Case((np.array([-7, -6, -5, 5, 6, 7, 0]), np.array([3, 3, -3, -3, 4, -4, 5])))
    return cases


ROWS = {
    "rsqrt": unary(lambda a: 1 / np.sqrt(a), 0.5, 3.0),
    "sin": unary(np.sin),
    "cos": unary(np.cos),
    "tan": unary(np.tan, -1.2, 1.2),
    "asin": unary(np.arcsin, -0.9, 0.9),
    "acos": unary(np.arccos, -0.9, 0.9),
    "atan": unary(np.arctan),
    "sinh": unary(np.sinh),
    "cosh": unary(np.cosh),
    "asinh": unary(np.arcsinh),
    "atanh": unary(np.arctanh, -0.9, 0.9),
    "exp2": unary(np.exp2),
    "expm1": unary(np.expm1),
    "log2": unary(np.log2, 0.2, 3.0),
    "log10": unary(np.log10, 0.2, 3.0),
    "log1p": unary(np.log1p, -0.5, 3.0),
    "reciprocal": unary(lambda a: 1 / a, 0.3, 3.0),
    "square": Row(samples=lambda rng: {**_unary_cases()(rng), "ints": Case((rng.integers(-5, 5, (3, 4)),))}, ref=np.square),
    "erf": unary(lambda a: special.erf(a).astype(a.dtype)),
    "floor": unary(np.floor, grad=False),
    "ceil": unary(np.ceil, grad=False),
    "trunc": unary(np.trunc, grad=False),
    "frac": unary(lambda a: a - np.trunc(a)),
    "round": Row(samples=_unary_cases(-5, 5), ref=np.round, grad=False),
    "sign": Row(samples=_unary_cases(), ref=_sign, grad=False),
    "sgn": Row(samples=_unary_cases(), ref=_sign, grad=False),
    "neg": unary(np.negative),
    "positive": unary(lambda a: a),
    "floor_divide": Row(samples=_nonzero_divisor, ref=lambda a, b: np.floor_divide(a, b).astype(np.result_type(a, b)), grad=False,
                        bad=[((np.array([1, 2]), 0), {}, ZeroDivisionError, "floor_divide")]),
    "remainder": Row(samples=_nonzero_divisor, ref=lambda a, b: np.remainder(a, b).astype(np.result_type(a, b)), grad_args=(0,),
                     bad=[((np.array([1, 2]), 0), {}, ZeroDivisionError, "remainder")]),
    "fmod": Row(samples=_nonzero_divisor, ref=lambda a, b: np.fmod(a, b).astype(np.result_type(a, b)), grad_args=(0,)),
    "atan2": Row(samples=_binary_cases(avoid_zero=True), ref=lambda a, b: np.arctan2(a, b).astype(a.dtype)),
    "lerp": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), 0.3)),
        "empty": Case((np.zeros((0, 2)), np.zeros((0, 2)), 0.5)),
        "broadcast": Case((rng.standard_normal((2, 3)), rng.standard_normal(3), rng.uniform(0, 1, (2, 1)))),
    }, ref=lambda a, b, w: a + w * (b - a)),
    "addcmul": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))), {"value": 0.5}),
        "empty": Case((np.zeros((0,)), np.zeros((0,)), np.zeros((0,)))),
        "broadcast": Case((rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal((2, 1)))),
    }, ref=lambda a, b, c, value=1: a + value * b * c),
    "addcdiv": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.uniform(0.5, 2, (3, 4))), {"value": 0.5}),
        "empty": Case((np.zeros((0,)), np.zeros((0,)), np.ones((0,)))),
        "broadcast": Case((rng.standard_normal((2, 3)), rng.standard_normal(3), rng.uniform(0.5, 2, (2, 1)))),
    }, ref=lambda a, b, c, value=1: a + value * b / c),
    "logaddexp": Row(samples=_binary_cases(), ref=np.logaddexp),
    "xlogy": Row(samples=lambda rng: {
        "random": Case((np.where(rng.random((3, 4)) > 0.7, 0.0, rng.standard_normal((3, 4))), rng.uniform(0.2, 3, (3, 4)))),
        "empty": Case((np.zeros((0,)), np.ones((0,)))),
        "broadcast": Case((rng.standard_normal((2, 3)), rng.uniform(0.2, 3, 3))),
    }, ref=_xlogy),
    "hypot": Row(samples=_binary_cases(avoid_zero=True), ref=lambda a, b: np.hypot(a, b).astype(a.dtype)),
    "clamp_min": Row(samples=lambda rng: {"random": Case((rng.standard_normal((3, 4)), 0.1)), "empty": Case((np.zeros((0,)), 0.0))},
                     ref=lambda a, m: np.maximum(a, m).astype(a.dtype)),
    "clamp_max": Row(samples=lambda rng: {"random": Case((rng.standard_normal((3, 4)), 0.1)), "empty": Case((np.zeros((0,)), 0.0))},
                     ref=lambda a, m: np.minimum(a, m).astype(a.dtype)),
    "fmax": Row(samples=_binary_cases(), ref=np.fmax),
    "fmin": Row(samples=_binary_cases(), ref=np.fmin),
    "logical_and": Row(samples=_bools, ref=np.logical_and, grad=False),
    "logical_or": Row(samples=_bools, ref=np.logical_or, grad=False),
    "logical_xor": Row(samples=_bools, ref=np.logical_xor, grad=False),
    "logical_not": Row(samples=_bool1, ref=np.logical_not, grad=False),
    "bitwise_and": Row(samples=_int_pairs, ref=np.bitwise_and, grad=False,
                       bad=[((np.ones(2), np.ones(2)), {}, TypeError, "bitwise_and")]),
    "bitwise_or": Row(samples=_int_pairs, ref=np.bitwise_or, grad=False),
    "bitwise_xor": Row(samples=_int_pairs, ref=np.bitwise_xor, grad=False),
    "bitwise_not": Row(samples=_ints, ref=np.invert, grad=False,
                       bad=[((np.ones(2),), {}, TypeError, "bitwise_not")]),
    "isnan": Row(samples=_with_specials, ref=np.isnan, grad=False),
    "isinf": Row(samples=_with_specials, ref=np.isinf, grad=False),
    "isfinite": Row(samples=_with_specials, ref=np.isfinite, grad=False),
    "isposinf": Row(samples=_with_specials, ref=np.isposinf, grad=False),
    "isneginf": Row(samples=_with_specials, ref=np.isneginf, grad=False),
    "nan_to_num": Row(samples=_with_specials, ref=lambda a: np.nan_to_num(a), grad=False),
    "isclose": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal((3, 4)), rng.standard_normal((3, 4)) * 1e-9 + 0)),
        "empty": Case((np.zeros((0,)), np.zeros((0,)))),
        "broadcast": Case((np.array([[1.0, 2.0, np.nan]]), np.array([1.0 + 1e-7, 2.1, np.nan]))),
    }, ref=lambda a, b: np.isclose(a, b), grad=False),
    "allclose": Row(samples=lambda rng: {
        "random": Case((np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-7]))),
        "empty": Case((np.zeros((0,)), np.zeros((0,)))),
        "far": Case((np.array([1.0, 2.0]), np.array([1.0, 2.1]))),
    }, ref=lambda a, b: bool(np.allclose(a, b)), grad=False),
    "equal": Row(samples=lambda rng: {
        "random": Case((np.array([1.0, 2.0]), np.array([1.0, 2.0]))),
        "empty": Case((np.zeros((0,)), np.zeros((0,)))),
        "differs": Case((np.array([1.0, 2.0]), np.array([1.0, 2.5]))),
        "shapes": Case((np.array([1.0, 2.0]), np.array([[1.0, 2.0]]))),
    }, ref=lambda a, b: a.shape == b.shape and bool((a == b).all()), grad=False),
}
