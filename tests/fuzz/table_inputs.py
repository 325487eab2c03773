"""Edge-case inputs drawn from the op table's own rows (tests/ops), and the check that a call which
succeeds gives the row's numpy reference.

A row's samples say which arguments an op takes and which values are valid; the strategy starts
from one of them (drawn with a fresh seed) and bends it the way users do: NaN / ±inf / ±0.0 in
the values, an axis cut to length 0 or 1 (empty, broadcast), a 0-d input, an int or bool dtype,
and a non-contiguous layout (transposed, strided, negative stride). The numpy reference, run on
the same bent arguments, is the oracle: when both it and the op succeed, the results must agree
with the table's tolerances (float32 ones on wgpu), NaN where the reference has NaN and nowhere
else. When the reference refuses the arguments the op may do as it likes, short of a panic or an
error that does not name it (test_fuzz_ops.py checks that part on wilder arguments).
"""

from __future__ import annotations

import math
import pathlib
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

import ferrograd as fg

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "ops"))

from optable import Case, gather_rows  # noqa: E402  (tests/ops: the rows and their references)
from test_op_table import _call, _compare, _ref_args, _to_numpy  # noqa: E402  (the table's own checks)

ROWS = gather_rows()

FLOAT_SPECIALS = [math.nan, math.inf, -math.inf, -0.0, 0.0]

# Mutations of one array argument. "keep" is listed several times: most examples stay valid, so
# that the reference comparison (not only the error path) runs often.
_MUTATIONS = ["keep", "keep", "keep", "specials", "specials", "empty", "broadcast", "scalar", "dtype"]
_LAYOUTS = ["contiguous", "contiguous", "transposed", "strided", "flipped"]


@dataclass
class TableCall:
    """One drawn call: numpy arguments (the reference's view), layouts, and what was changed."""

    name: str
    case: str
    dtype: str  # the float dtype under test
    device: str
    args: list
    kwargs: dict
    layouts: dict = field(default_factory=dict)  # position (int) or keyword (str) -> layout
    changes: list = field(default_factory=list)  # human-readable, for the failure message
    dtype_changed: bool = False

    def __repr__(self):
        return (f"{self.name} [{self.case}] on {self.device} {self.dtype}, changes={self.changes}, "
                f"layouts={self.layouts}, args={_short(self.args)}, kwargs={_short(self.kwargs)}")


def _short(obj):
    if isinstance(obj, np.ndarray):
        return f"array({obj.dtype}, {obj.shape}, {np.array2string(obj.reshape(-1)[:6], precision=3)})"
    if isinstance(obj, (list, tuple)):
        return [_short(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _short(v) for k, v in obj.items()}
    return obj


def _mutate(draw, a, where, call):
    """One array argument, bent by one drawn mutation (numpy in, numpy out)."""
    how = draw(st.sampled_from(_MUTATIONS))
    if how == "keep":
        return a
    if how == "specials" and a.size:
        if a.dtype.kind == "f":
            a = a.copy()
            flat = a.reshape(-1)
            for i in draw(st.lists(st.integers(0, a.size - 1), min_size=1, max_size=min(a.size, 4))):
                flat[i] = draw(st.sampled_from(FLOAT_SPECIALS))
            call.changes.append(f"{where}: specials")
        return a
    if how == "empty" and a.ndim:
        axis = draw(st.integers(0, a.ndim - 1))
        call.changes.append(f"{where}: axis {axis} cut to 0")
        return np.take(a, np.arange(0), axis=axis)
    if how == "broadcast" and a.ndim:
        axis = draw(st.integers(0, a.ndim - 1))
        call.changes.append(f"{where}: axis {axis} cut to 1")
        return np.take(a, np.arange(min(1, a.shape[axis])), axis=axis)
    if how == "scalar" and a.size:
        call.changes.append(f"{where}: 0-d")
        return a.reshape(-1)[:1].reshape(())
    if how == "dtype":
        to = draw(st.sampled_from(["int64", "int32", "bool", "float"]))
        if to == "float" and a.dtype.kind != "f":
            out = a.astype(np.float64)
        elif to == "bool":
            out = a != 0 if a.dtype.kind != "f" else a > 0
        elif to.startswith("int") and a.dtype.kind != "b":
            out = np.clip(np.round(np.nan_to_num(a * (3 if a.dtype.kind == "f" else 1))), -99, 99).astype(to)
        else:
            return a
        call.changes.append(f"{where}: {a.dtype} -> {out.dtype}")
        call.dtype_changed = True
        return out
    return a


@st.composite
def table_calls(draw, name, device, rows=None):
    """A call of `name` built from one of its row's samples (see the module doc); `rows`: the op
    table (default) or another dict of Rows (functional_rows.py)."""
    row = (ROWS if rows is None else rows)[name]
    cases = row.samples(np.random.default_rng(draw(st.integers(0, 2**32 - 1))))
    case = draw(st.sampled_from(sorted(cases)))
    dtypes = [d for d in row.dtypes if not (device == "wgpu" and d == "float64")]
    call = TableCall(name, case, draw(st.sampled_from(dtypes)), device, list(cases[case].args),
                     dict(cases[case].kwargs))
    call.row = row  # (not a field: hypothesis prints the fields of a failing call)
    for i, a in enumerate(call.args):
        if isinstance(a, np.ndarray):
            call.args[i] = _mutate(draw, a, f"arg {i}", call)
            call.layouts[i] = draw(st.sampled_from(_LAYOUTS))
    for k, v in call.kwargs.items():
        if isinstance(v, np.ndarray) and k != "like":  # `like` only carries the dtype and device
            call.kwargs[k] = _mutate(draw, v, k, call)
            call.layouts[k] = draw(st.sampled_from(_LAYOUTS))
    return call


def _tensor(a, dtype, device, layout):
    """Like the table's own `_tensor`, with three non-contiguous layouts of the same values."""
    if not isinstance(a, np.ndarray):
        return a
    if a.dtype.kind == "f":
        a = a.astype(dtype)
    if layout == "transposed" and a.ndim >= 2:
        return fg.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2)), device=device).transpose(-1, -2)
    if layout == "strided" and a.ndim >= 1:
        return fg.tensor(np.repeat(a, 2, axis=-1), device=device)[..., ::2]
    if layout == "flipped" and a.ndim >= 1:
        return fg.tensor(np.ascontiguousarray(a[::-1]), device=device)[::-1]
    return fg.tensor(a, device=device)


def reference(call: TableCall):
    """(True, the row's numpy answer) for the drawn arguments, (False, None) when numpy refuses
    them."""
    args, kwargs = _ref_args(Case(tuple(call.args), call.kwargs), call.dtype)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return True, call.row.ref(*args, **kwargs)
    except Exception:  # noqa: BLE001  (numpy refuses: nothing to compare with)
        return False, None


def run(call: TableCall):
    """fg.<name> on tensors made from the drawn arguments (kwargs `like` as the table makes it)."""
    row = call.row
    args = tuple(_tensor(a, call.dtype, call.device, call.layouts.get(i)) for i, a in enumerate(call.args))
    kwargs = {k: _tensor(v, call.dtype, call.device, call.layouts.get(k)) for k, v in call.kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _call(call.name, row, args, kwargs)


def _kind(x):
    if isinstance(x, tuple):
        return tuple(_kind(o) for o in x)
    return np.asarray(x).dtype.kind if isinstance(x, (np.ndarray, np.generic)) else type(x).__name__


def _has_half(x):
    if isinstance(x, tuple):
        return any(_has_half(o) for o in x)
    return isinstance(x, (np.ndarray, np.generic)) and x.dtype == np.float16


def _beyond_int32(x):
    if isinstance(x, tuple):
        return any(_beyond_int32(o) for o in x)
    x = np.asarray(x)
    return x.dtype.kind in "iu" and x.size > 0 and (x.min() < -(2**31) or x.max() > 2**31 - 1)


def compare(call: TableCall, got, want):
    """The table's comparison (shapes, integer results exactly, floats with its tolerances and
    NaN where the reference has NaN). After a dtype change numpy and torch may promote to
    different kinds (numpy: int in, int out for erf's reference; torch: float): then only a
    result of the same kind is compared."""
    got = _to_numpy(got)
    if call.dtype_changed and (_kind(got) != _kind(want) or _has_half(want)):
        return  # (numpy computes bool and int8 inputs in float16: its precision, not ours)
    if call.device == "wgpu" and _beyond_int32(want):
        return  # device integers are int32 and wrap, as documented (wgpu/array.py)
    tol_dtype = "float32" if call.dtype_changed else call.dtype
    _compare(got, want, call.row, tol_dtype, repr(call))


def check(call: TableCall, names=(), skip_comparison=lambda call: None):
    """Run the drawn call: a refusal must be an ordinary exception naming one of `names` (when
    given); a result must match the reference when numpy accepts the arguments too, unless
    `skip_comparison(call)` gives a reason not to compare."""
    ok, want = reference(call)
    try:
        got = run(call)
    except AssertionError:  # a row's own call checks something (an in-place op returns self, ...)
        raise
    except Exception as e:  # noqa: BLE001  (refusing is fine, if it says who refused)
        if names and not any(n in str(e) for n in names):
            raise AssertionError(f"{call!r} raised {type(e).__name__} without naming the op: {e}") from e
        if ok and not call.changes and not skip_comparison(call):  # a row's own sample, only laid out otherwise
            raise AssertionError(f"{call!r} refused a valid call: {type(e).__name__}: {e}") from e
        return
    except BaseException as e:
        raise AssertionError(f"{call!r} let {type(e).__name__} escape: {e!r}") from e
    if ok and not skip_comparison(call):
        compare(call, got, want)
