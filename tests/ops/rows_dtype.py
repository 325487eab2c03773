"""Table rows: dtype and device conversions and dtype queries (ops/dtype_ops.py).

The rows call the ops/dtype_ops functions directly (tensor.py still defines some of these
methods by hand), so they test these implementations."""

from __future__ import annotations

import numpy as np
from optable import Case, Row

from ferrograd.ops import dtype_ops as D
from ferrograd.ops.registry import OPS


def _x(rng):
    return {
        "random": Case((rng.standard_normal((3, 4)) * 3,)),
        "empty": Case((np.zeros((0, 2)),)),
        "ints": Case((rng.integers(-5, 5, (2, 3)),)),
        "bools": Case((rng.random(4) > 0.5,)),
    }


def _cast_row(name, dt):
    fn = OPS[name].fn
    return Row(samples=_x, ref=lambda a: a.astype(dt), grad=False, call=fn,
               devices=("cpu",) if dt == np.float64 else ("cpu", "wgpu"),
               bad=[(([1.0],), {}, TypeError, name)])


class _Raises:
    """A `call` for rows whose op always raises: the forward check expects the error."""

    def __init__(self, fn, exc):
        self.fn, self.exc = fn, exc

    def __call__(self, *a, **k):
        try:
            self.fn(*a, **k)
        except self.exc as e:
            return str(e)
        raise AssertionError(f"{self.fn.__name__} did not raise")


def _raises_row(name, what):
    return Row(samples=_x, ref=lambda a: what, grad=False, call=_Raises(OPS[name].fn, TypeError),
               compare=lambda got, want: _contains(got, want))  # the forward check is the bad-argument check


def _contains(got, want):
    assert want in got, f"{got!r} lacks {want!r}"


def _type_name(a):
    return {np.float32: "torch.FloatTensor", np.float64: "torch.DoubleTensor", np.int64: "torch.LongTensor",
            np.int32: "torch.IntTensor", np.bool_: "torch.BoolTensor"}[a.dtype.type]


def _type_call(x, *a, **k):
    if a and isinstance(a[0], str) and x.device != "cpu":  # keep the device: 'torch.wgpu.IntTensor'
        a = (a[0].replace("torch.", f"torch.{x.device}."),) + a[1:]
    out = D.type_(x, *a, **k)
    if isinstance(out, str) and x.device != "cpu":  # the device is part of the name: check and drop it
        assert out.startswith(f"torch.{x.device}."), out
        out = out.replace(f"torch.{x.device}.", "torch.")
    return out


def _eq(got, want):
    assert got == want, f"{got!r} != {want!r}"


ROWS = {
    "to": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal((3, 4)),), {"copy": True}),
        "device": Case((rng.standard_normal((3, 4)), "cpu")),
        "empty": Case((np.zeros((0, 2)), np.dtype(np.int64))),
        "dtype_kw": Case((rng.standard_normal(3),), {"dtype": np.int32}),
        "other": Case((rng.standard_normal((2, 2)), rng.integers(0, 3, 2))),  # other's dtype (and device)
        "python_type": Case((rng.standard_normal(3) * 4, int)),
        "copy": Case((rng.standard_normal(3),), {"copy": True}),
    }, ref=lambda a, *rest, dtype=None, copy=False: a.astype(
        dtype or next((r.dtype if isinstance(r, np.ndarray) else np.dtype(r) for r in rest
                       if not isinstance(r, str)), a.dtype)),
        call=D.to, devices=("cpu",), bad=[
        ((np.zeros(2), "cuda"), {}, ValueError, "cuda"),
        ((np.zeros(2), 3.5), {}, TypeError, "to"),
        ((np.zeros(2), np.dtype(np.float16)), {}, TypeError, "float16"),
    ]),
    "type": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal((2, 2)),)),
        "empty": Case((np.zeros(0),)),
        "ints": Case((rng.integers(0, 3, 2),)),
        "cast": Case((rng.standard_normal(3) * 3, np.dtype(np.int64))),
        "string": Case((rng.standard_normal(3) * 3, "torch.IntTensor")),
    }, ref=lambda a, *d: _type_name(a) if not d else a.astype(
        {"torch.IntTensor": np.int32}.get(d[0], d[0]) if isinstance(d[0], str) else d[0]),
        grad=False, call=_type_call,
        compare=lambda got, want: _eq(got, want) if isinstance(want, str) else np.testing.assert_array_equal(got, want),
        bad=[((np.zeros(2), "torch.HalfTensor"), {}, TypeError, "float16"),
             ((np.zeros(2), "torch.Nope"), {}, ValueError, "type")]),
    "type_as": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal((2, 3)) * 3, rng.integers(0, 3, 2))),
        "empty": Case((np.zeros(0), rng.standard_normal(2))),
        "float": Case((rng.integers(0, 3, 3), rng.standard_normal(2))),
    }, ref=lambda a, b: a.astype(b.dtype), grad=False, call=D.type_as,
        bad=[((np.zeros(2), 3), {}, TypeError, "type_as")]),
    "float": _cast_row("float", np.float32),
    "double": _cast_row("double", np.float64),
    "int": _cast_row("int", np.int32),
    "long": _cast_row("long", np.int64),
    "bool": _cast_row("bool", np.bool_),
    "half": _raises_row("half", "float16"),
    "bfloat16": _raises_row("bfloat16", "bfloat16"),
    "short": _raises_row("short", "int16"),
    "char": _raises_row("char", "int8"),
    "byte": _raises_row("byte", "uint8"),
    "is_floating_point": Row(samples=_x, ref=lambda a: a.dtype.kind == "f", grad=False,
                             bad=[(([1.0],), {}, TypeError, "is_floating_point")]),
    "is_complex": Row(samples=_x, ref=lambda a: False, grad=False, bad=[(([1.0],), {}, TypeError, "is_complex")]),
    "element_size": Row(samples=_x, ref=lambda a: a.dtype.itemsize, grad=False, call=D.element_size,
                        bad=[(([1.0],), {}, TypeError, "element_size")]),
    "numel": Row(samples=_x, ref=lambda a: a.size, grad=False, call=D.numel,
                 bad=[(([1.0],), {}, TypeError, "numel")]),
    "is_tensor": Row(samples=lambda rng: {
        "random": Case((rng.standard_normal(3),)),
        "empty": Case((np.zeros(0),)),
        "list": Case(([1.0],)),
        "number": Case((3,)),
    }, ref=lambda a: isinstance(a, np.ndarray), grad=False),
}
