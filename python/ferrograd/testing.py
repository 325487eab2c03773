"""Test helpers: `gradcheck` compares autograd gradients with central finite differences."""

from __future__ import annotations

import numpy as np

from .autograd import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    pass


def gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0) -> bool:
    """Check autograd's gradient of `fn` at float64 `inputs` against central differences.

    A random upstream gradient is pushed back, so every output element is tested. Raises
    `GradcheckError` with the worst mismatch; returns True when all gradients agree.
    """
    inputs = list(inputs)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {t.dtype}; gradcheck needs float64 inputs")
    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    weights = rng.standard_normal(out.shape)

    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    if out.requires_grad:
        (out * Tensor(weights)).sum().backward()

    def objective():
        with no_grad():
            return float((fn(*inputs)._data * weights).sum())

    for i, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        if not t._data.flags.c_contiguous:
            t._data = np.ascontiguousarray(t._data)
        numeric = np.zeros(t.shape)
        flat = t._data.reshape(-1)  # a view: perturbing it perturbs the input
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = objective()
            flat[j] = orig - eps
            minus = objective()
            flat[j] = orig
            numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        analytic = np.zeros(t.shape) if t.grad is None else t.grad._data
        bad = ~np.isclose(analytic, numeric, atol=atol, rtol=rtol)
        if bad.any():
            k = np.argmax(np.abs(analytic - numeric))
            raise GradcheckError(
                f"gradcheck: input {i} (shape {t.shape}): {int(bad.sum())} of {t._data.size} gradient "
                f"elements differ; worst at flat index {k}: autograd {analytic.reshape(-1)[k]!r}, "
                f"finite differences {numeric.reshape(-1)[k]!r}"
            )
    return True


# ---- torch.testing.assert_close ----------------------------------------------------------------
import cmath  # noqa: E402
import collections.abc as _abc  # noqa: E402
import math  # noqa: E402
import numbers  # noqa: E402

from . import dtypes as _dtypes  # noqa: E402

# torch's default (rtol, atol) per dtype; other dtypes (ints, bool) compare exactly.
_DTYPE_PRECISIONS = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
                     np.dtype(np.float64): (1e-7, 1e-7)}
# A Python number compares with the tolerances of the dtype torch maps its type to.
_NUMBER_DTYPES = {int: np.dtype(np.int64), float: np.dtype(np.float64), complex: np.dtype(np.complex64)}


class _Mismatch(Exception):
    """A failed comparison: the exception type to raise, its message, and where (the item path)."""

    def __init__(self, type_, msg, id_=()):
        super().__init__(msg)
        self.type, self.msg, self.id = type_, msg, id_

    def error(self, msg=None):
        if isinstance(msg, str):
            return self.type(msg)
        text = self.msg
        if self.id:
            text += "\n\nThe failure occurred for item " + "".join(str([k]) for k in self.id)
        return self.type(msg(text) if msg else text)


def _dtype_str(dt) -> str:
    return f"ferrograd.{'bool' if np.dtype(dt) == np.bool_ else np.dtype(dt).name}"


def _tolerances(dts, rtol, atol, id_):
    if (rtol is None) != (atol is None):
        raise _Mismatch(ValueError, "Both 'rtol' and 'atol' must be either specified or omitted, "
                        f"but got no {'rtol' if rtol is None else 'atol'}.", id_)
    if rtol is not None:
        return rtol, atol
    pairs = [_DTYPE_PRECISIONS.get(np.dtype(d), (0.0, 0.0)) for d in dts]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _make_mismatch_msg(identifier, extra, abs_diff, abs_idx, atol, rel_diff, rel_idx, rtol):
    equality = rtol == 0 and atol == 0

    def diff_msg(kind, diff, idx, tol):
        m = f"{kind.title()} difference: {diff}" if idx is None else f"Greatest {kind} difference: {diff} at index {idx}"
        return m + ("" if equality else f" (up to {tol} allowed)") + "\n"

    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n"
    if extra:
        msg += extra.strip() + "\n"
    msg += diff_msg("absolute", abs_diff, abs_idx, atol) + diff_msg("relative", rel_diff, rel_idx, rtol)
    return msg.strip()


def _scalar_mismatch_msg(actual, expected, rtol, atol):
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _make_mismatch_msg("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None, atol,
                              rel_diff, None, rtol)


def _is_number(x) -> bool:
    return isinstance(x, (numbers.Number, np.number)) and not isinstance(x, (bool, np.bool_))


def _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype, id_):
    if isinstance(actual, np.number):
        actual = actual.item()
    if isinstance(expected, np.number):
        expected = expected.item()
    dts = [_NUMBER_DTYPES.get(type(v), np.dtype(np.float64)) for v in (actual, expected)]
    rtol, atol = _tolerances(dts, rtol, atol, id_)
    if check_dtype and type(actual) is not type(expected):
        raise _Mismatch(AssertionError, f"The (d)types do not match: {type(actual)} != {type(expected)}.", id_)
    if actual == expected:
        return
    if equal_nan and cmath.isnan(actual) and cmath.isnan(expected):
        return
    abs_diff = abs(actual - expected)
    if cmath.isfinite(abs_diff) and abs_diff <= atol + rtol * abs(expected):
        return
    raise _Mismatch(AssertionError, _scalar_mismatch_msg(actual, expected, rtol, atol), id_)


def _host_array(t) -> np.ndarray:
    data = t._data if isinstance(t, Tensor) else t
    return data if isinstance(data, np.ndarray) else np.asarray(data.numpy())


def _compare_tensors(actual, expected, rtol, atol, equal_nan, check_device, check_dtype, id_):
    def attr_error(name, a, e):
        raise _Mismatch(AssertionError, f"The values for attribute '{name}' do not match: {a} != {e}.", id_)

    if tuple(actual.shape) != tuple(expected.shape):
        from .size import Size

        attr_error("shape", repr(Size(actual.shape)), repr(Size(expected.shape)))
    if isinstance(actual, Tensor) and check_device and str(actual.device) != str(expected.device):
        attr_error("device", actual.device, expected.device)
    if check_dtype and actual.dtype != expected.dtype:
        attr_error("dtype", _dtype_str(actual.dtype), _dtype_str(expected.dtype))
    a, e = _host_array(actual), _host_array(expected)
    rtol, atol = _tolerances((a.dtype, e.dtype), rtol, atol, id_)
    if a.dtype != e.dtype:  # compared in a common dtype (a float side wins, as torch.promote_types)
        common = _dtypes.promote(a.dtype, e.dtype)
        a, e = a.astype(common), e.astype(common)
    if a.size == 0:
        return
    floating = a.dtype.kind in "fc"
    with np.errstate(all="ignore"):
        if floating:
            matches = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
        else:
            ai, ei = a.astype(np.int64), e.astype(np.int64)
            matches = np.abs(ai - ei) <= atol + rtol * np.abs(ei)
    if matches.all():
        return
    if a.ndim == 0:
        raise _Mismatch(AssertionError, _scalar_mismatch_msg(a.item(), e.item(), rtol, atol), id_)
    raise _Mismatch(AssertionError, _tensor_mismatch_msg(a, e, matches, rtol, atol), id_)


def _tensor_mismatch_msg(a, e, matches, rtol, atol):
    n = matches.size
    bad = n - int(matches.sum())
    extra = f"Mismatched elements: {bad} / {n} ({bad / n:.1%})"
    af, ef, mf = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    with np.errstate(all="ignore"):
        if a.dtype.kind not in "fc":
            af, ef = af.astype(np.int64), ef.astype(np.int64)
            abs_diff = np.abs(af - ef)
            # int / int divides in the default float dtype in torch
            rel_diff = abs_diff.astype(_dtypes.default_float()) / np.abs(ef).astype(_dtypes.default_float())
        else:
            abs_diff = np.abs(af - ef)
            rel_diff = abs_diff / np.abs(ef)
    abs_diff[mf] = 0
    rel_diff[mf] = 0
    ia, ir = _argmax_nan(abs_diff), _argmax_nan(rel_diff)
    unravel = lambda k: tuple(int(i) for i in np.unravel_index(k, matches.shape))  # noqa: E731
    return _make_mismatch_msg("Tensor-likes", extra, abs_diff[ia].item(), unravel(ia), atol,
                              rel_diff[ir].item(), unravel(ir), rtol)


def _argmax_nan(x) -> int:
    """The index torch.max reports: the first NaN if any, else the first maximum."""
    nan = np.isnan(x) if x.dtype.kind == "f" else None
    if nan is not None and nan.any():
        return int(np.argmax(nan))
    return int(np.argmax(x))


def _no_pair(actual, expected, id_):
    return _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} "
                     f"and {type(expected)}.", id_)


def _compare(actual, expected, id_, opts):
    if actual is None or expected is None:
        if not (actual is None and expected is None):
            raise _Mismatch(AssertionError, f"None mismatch: {actual} is not {expected}", id_)
        return
    if isinstance(actual, (bool, np.bool_)) and isinstance(expected, (bool, np.bool_)):
        if bool(actual) is not bool(expected):
            raise _Mismatch(AssertionError, f"Booleans mismatch: {actual} is not {expected}", id_)
        return
    tensor_like = (Tensor, np.ndarray)
    if isinstance(actual, tensor_like) or isinstance(expected, tensor_like):
        same_kind = (isinstance(actual, Tensor) and isinstance(expected, Tensor)) or (
            isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray))
        if not same_kind:
            raise _no_pair(actual, expected, id_)
        _compare_tensors(actual, expected, opts["rtol"], opts["atol"], opts["equal_nan"], opts["check_device"],
                         opts["check_dtype"], id_)
        return
    if isinstance(actual, (numbers.Number, np.number)) and isinstance(expected, (numbers.Number, np.number)):
        _compare_numbers(actual, expected, opts["rtol"], opts["atol"], opts["equal_nan"], opts["check_dtype"], id_)
        return
    if isinstance(actual, _abc.Mapping) and isinstance(expected, _abc.Mapping):
        ak, ek = set(actual.keys()), set(expected.keys())
        if ak != ek:
            raise _Mismatch(AssertionError, "The keys of the mappings do not match:\n"
                            f"Missing keys in the actual mapping: {sorted(ek - ak)}\n"
                            f"Additional keys in the actual mapping: {sorted(ak - ek)}", id_)
        try:
            keys = sorted(ak)
        except TypeError:
            keys = list(actual.keys())
        for k in keys:
            _compare(actual[k], expected[k], id_ + (k,), opts)
        return
    seq = lambda x: isinstance(x, _abc.Sequence) and not isinstance(x, str)  # noqa: E731
    if seq(actual) and seq(expected):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", id_)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, id_ + (i,), opts)
        return
    raise _no_pair(actual, expected, id_)


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """torch.testing.assert_close: `actual` and `expected` (tensors, numpy arrays, numbers, bools,
    None, or sequences / mappings of them, compared element by element) are close when
    |actual - expected| <= atol + rtol * |expected| everywhere. Unset tolerances come from the
    dtypes: float32 (1.3e-6, 1e-5), float64 (1e-7, 1e-7), integers and bools exact (the looser of
    the two inputs'). Shapes must match; devices and dtypes too unless check_device /
    check_dtype is False (then values are compared in a common dtype). A mismatch raises
    AssertionError with torch's message; `msg` replaces it (a string) or edits it (a callable)."""
    opts = dict(rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=check_device, check_dtype=check_dtype)
    try:
        _compare(actual, expected, (), opts)
    except _Mismatch as m:
        raise m.error(msg) from None


# ---- torch.testing.make_tensor -----------------------------------------------------------------
def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False, memory_format=None):
    """torch.testing.make_tensor: a tensor of `shape` filled at random from [low, high) (floats
    default [-9, 9), integers [-9, 10), bools both values), drawn from ferrograd's default
    generator (fg.manual_seed makes it reproducible). `noncontiguous` returns a strided view;
    `exclude_zero` replaces zeros by the dtype's smallest positive normal (1 for integers)."""
    from . import random as _random
    from .typeinfo import finfo, iinfo

    op = "make_tensor"
    if len(shape) == 1 and isinstance(shape[0], _abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise TypeError(f"{op}: shape must be non-negative ints, got {shape!r}")
    dt = _dtypes.check_dtype(dtype, op)
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually exclusive, "
                         f"but got noncontiguous={noncontiguous} and memory_format={memory_format}")
    if requires_grad and dt.kind != "f":
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, "
                         f"but got dtype={_dtype_str(dt)}")

    def bounds(lo_incl, hi_excl, d_low, d_high):
        lo = d_low if low is None else low
        hi = d_high if high is None else high
        if any(isinstance(v, float) and math.isnan(v) for v in (lo, hi)):
            raise ValueError(f"`low` and `high` cannot be NaN, but got low={lo} and high={hi}")
        if lo == hi and dt.kind == "f":
            pass  # torch (deprecated) fills with the constant
        elif lo >= hi:
            raise ValueError(f"`low` must be less than `high`, but got {lo} >= {hi}")
        elif hi < lo_incl or lo >= hi_excl:
            raise ValueError(f"The value interval specified by `low` and `high` is [{lo}, {hi}), "
                             f"but {_dtype_str(dt)} only supports [{lo_incl}, {hi_excl})")
        lo, hi = min(max(lo, lo_incl), hi_excl), min(max(hi, lo_incl), hi_excl)
        if dt.kind != "f":
            return math.ceil(lo), math.ceil(hi)
        return lo, hi

    rng = _random.generator()
    full = shape[:-1] + (shape[-1] * 2,) if noncontiguous and shape and shape[-1] > 1 else shape
    if dt == np.bool_:
        lo, hi = bounds(0, 2, 0, 2)
        arr = rng.integers(lo, hi, size=full).astype(np.bool_)
    elif dt.kind in "iu":
        info = iinfo(dt)
        lo, hi = bounds(info.min, info.max + (1 if dt != np.int64 else 0), -9, 10)
        arr = rng.integers(lo, hi, size=full, dtype=np.int64).astype(dt)
    else:
        info = finfo(dt)
        lo, hi = bounds(info.min, info.max, -9, 9)
        arr = (rng.random(size=full) * (hi - lo) + lo).astype(dt) if lo != hi else np.full(full, lo, dt)
    arr = np.array(arr, dtype=dt)  # a 0-d draw comes back as a numpy scalar
    if exclude_zero:
        arr[arr == 0] = 1 if dt.kind in "iub" else finfo(dt).tiny
    if full != shape:
        arr = arr[..., ::2]  # every other element of a doubled last dim: a non-contiguous view
    t = Tensor(arr)
    if str(device) != "cpu":
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t
