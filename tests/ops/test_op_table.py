"""Every registered op x {cpu, wgpu} x {float32, float64 on cpu}: forward against the row's numpy
reference (random, empty, broadcast, non-contiguous inputs), float64 gradcheck and gradgradcheck,
the method and in-place forms, and bad arguments. Rows live in rows_*.py (see optable.py)."""

from __future__ import annotations

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.ops.registry import OPS
from ferrograd.testing import gradcheck
from optable import gather_rows

ROWS = gather_rows()
_RNG_SEED = 20261206


def _samples(name):
    return ROWS[name].samples(np.random.default_rng(_RNG_SEED))


def _forward_params():
    out = []
    for name in sorted(ROWS):
        row = ROWS[name]
        for case in _samples(name):
            for device in row.devices:
                for dtype in row.dtypes:
                    if device == "wgpu" and dtype == "float64":
                        continue
                    out.append(pytest.param(name, case, device, dtype, id=f"{name}-{case}-{device}-{dtype}"))
    return out


def _wgpu_ready():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")


def _tensor(a, dtype, device, noncontig=False, requires_grad=False):
    if not isinstance(a, np.ndarray):
        return a
    if a.dtype.kind == "f":
        a = a.astype(dtype)
    if noncontig and a.ndim >= 2:
        t = fg.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2)), device=device).transpose(-1, -2)
        assert not t.is_contiguous() or 1 in a.shape[-2:]
    else:
        t = fg.tensor(a, device=device)
    if requires_grad:
        t.requires_grad_()
    return t


def _args(case, dtype, device, noncontig=False):
    args = tuple(_tensor(a, dtype, device, noncontig) for a in case.args)
    kwargs = {k: _tensor(v, dtype, device, noncontig) for k, v in case.kwargs.items()}
    return args, kwargs


def _ref_args(case, dtype):
    cast = lambda a: a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a  # noqa: E731
    return tuple(cast(a) for a in case.args), {k: cast(v) for k, v in case.kwargs.items()}


def _call(name, row, args, kwargs):
    if row.call is not None:
        return row.call(*args, **kwargs)
    return getattr(fg, name)(*args, **kwargs)


def _to_numpy(out):
    if isinstance(out, fg.Tensor):
        return out.detach().cpu().numpy()
    if isinstance(out, (tuple, list)):
        return tuple(_to_numpy(o) for o in out)
    return out


def _compare(got, want, row, dtype, what):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), f"{what}: {len(want)} outputs expected"
        for i, (g, w) in enumerate(zip(got, want)):
            _compare(g, w, row, dtype, f"{what} output {i}")
        return
    if row.compare is not None:
        row.compare(got, want)
        return
    if type(want) is bool:  # ops that return a Python bool (allclose, equal)
        assert bool(got) == bool(want) and isinstance(got, bool), f"{what}: {got!r} != {want!r}"
        return
    want = np.asarray(want)
    got = np.asarray(got)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    if want.dtype.kind in "biu":
        assert got.dtype.kind == want.dtype.kind, f"{what}: dtype {got.dtype}, expected {want.dtype}"
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    rtol, atol = (row.rtol, row.atol) if dtype == "float64" else (max(row.rtol, 2e-4), max(row.atol, 2e-5))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def test_every_registered_op_has_a_table_row():
    missing = sorted(set(OPS) - set(ROWS))
    assert not missing, f"registered ops without a row in tests/ops/rows_*.py: {missing}"
    extra = sorted(set(ROWS) - set(OPS))
    assert not extra, f"table rows for ops that are not registered: {extra}"


def test_every_row_has_random_empty_and_broadcast_cases():
    for name, row in ROWS.items():
        cases = _samples(name)
        assert "random" in cases, name
        assert "empty" in cases or row.why_no_empty, f"{name}: no empty case (or why_no_empty)"


@pytest.mark.parametrize("name,case,device,dtype", _forward_params())
def test_forward_matches_reference(name, case, device, dtype):
    if device == "wgpu":
        _wgpu_ready()
    row = ROWS[name]
    c = _samples(name)[case]
    want = row.ref(*_ref_args(c, dtype)[0], **_ref_args(c, dtype)[1])
    args, kwargs = _args(c, dtype, device)
    got = _call(name, row, args, kwargs)
    if isinstance(got, fg.Tensor):
        assert got.device == device, f"{name}: result on {got.device}, inputs on {device}"
    _compare(_to_numpy(got), want, row, dtype, f"{name}[{case}] on {device} {dtype}")
    if case == "random" and any(isinstance(a, np.ndarray) and a.ndim >= 2 for a in c.args):
        args, kwargs = _args(c, dtype, device, noncontig=True)
        _compare(_to_numpy(_call(name, row, args, kwargs)), want, row, dtype, f"{name} non-contiguous on {device}")


def _float_inputs(name, row):
    c = _samples(name)["random"]
    picks = row.grad_args
    if picks is None:
        picks = tuple(i for i, a in enumerate(c.args) if isinstance(a, np.ndarray) and a.dtype.kind == "f")
    args = [_tensor(a, "float64", "cpu", requires_grad=i in picks) for i, a in enumerate(c.args)]
    kwargs = {k: _tensor(v, "float64", "cpu") for k, v in c.kwargs.items()}
    return args, kwargs, picks


def _first_float(out):
    if isinstance(out, (tuple, list)):
        out = [o for o in out if isinstance(o, fg.Tensor) and o.dtype.kind == "f"][0]
    return out


@pytest.mark.parametrize("name", sorted(n for n in ROWS if ROWS[n].grad))
def test_gradcheck_float64(name):
    row = ROWS[name]
    args, kwargs, picks = _float_inputs(name, row)
    assert picks, f"{name}: grad=True but no float array argument"

    def fn(*ts):
        return _first_float(_call(name, row, ts, kwargs))

    assert gradcheck(fn, args)


@pytest.mark.parametrize("name", sorted(n for n in ROWS if ROWS[n].grad and ROWS[n].gradgrad))
def test_gradgradcheck_float64(name):
    """Second derivatives: the gradient (made with create_graph=True) is itself gradchecked."""
    row = ROWS[name]
    args, kwargs, picks = _float_inputs(name, row)
    out0 = _first_float(_call(name, row, args, kwargs))
    weights = fg.tensor(np.random.default_rng(1).standard_normal(tuple(out0.shape)))

    def fn(*ts):
        with fg.enable_grad():  # gradcheck evaluates fn under no_grad; the inner gradient needs a graph
            out = _first_float(_call(name, row, ts, kwargs))
            leaves = [ts[i] for i in picks]
            grads = fg.autograd.grad((out * weights).sum(), leaves, create_graph=True, allow_unused=True)
        flat = [(g if g is not None else fg.zeros_like(t)).reshape(-1) for g, t in zip(grads, leaves)]
        return fg.cat(flat)

    assert gradcheck(fn, args)


@pytest.mark.parametrize("name", sorted(n for n in ROWS if OPS.get(n) is not None and OPS[n].method))
def test_method_form_matches_function(name):
    row = ROWS[name]
    if row.call is not None:
        pytest.skip("the row calls the op its own way")
    c = _samples(name)["random"]
    args, kwargs = _args(c, "float64" if "float64" in row.dtypes else row.dtypes[0], "cpu")
    if not isinstance(args[0], fg.Tensor):
        pytest.skip("the first argument is not a tensor")
    want = _to_numpy(getattr(fg, name)(*args, **kwargs)) if OPS[name].function else None
    got = _to_numpy(getattr(args[0], name)(*args[1:], **kwargs))
    if want is not None:
        _compare(got, want, row, "float64", f"{name} method")


@pytest.mark.parametrize("name", sorted(n for n in ROWS if OPS.get(n) is not None and OPS[n].inplace))
@pytest.mark.parametrize("device", ["cpu", "wgpu"])
def test_inplace_variant_writes_into_the_tensor(name, device):
    if device == "wgpu":
        _wgpu_ready()
    row = ROWS[name]
    if device not in row.devices:
        pytest.skip(f"{name} is not run on {device}")
    c = _samples(name)["random"]
    dtype = "float32"
    want = row.ref(*_ref_args(c, dtype)[0], **_ref_args(c, dtype)[1])
    args, kwargs = _args(c, dtype, device)
    target = args[0]
    if np.shape(want) != tuple(target.shape) or np.asarray(want).dtype.kind != np.dtype(target.dtype).kind:
        pytest.skip("the result does not fit the input's shape and dtype")
    alias = target
    before = target._version[0]
    out = getattr(target, name + "_")(*args[1:], **kwargs)
    assert out is target and alias is target
    assert target._version[0] > before
    _compare(_to_numpy(alias), want, row, dtype, f"{name}_ on {device}")


def _bad_params():
    return [pytest.param(name, i, id=f"{name}-{i}") for name in sorted(ROWS) for i in range(len(ROWS[name].bad))]


@pytest.mark.parametrize("name,i", _bad_params())
def test_bad_arguments_raise_a_named_error(name, i):
    row = ROWS[name]
    args, kwargs, exc, text = row.bad[i]
    args = tuple(_tensor(a, "float32", "cpu") for a in args)
    kwargs = {k: _tensor(v, "float32", "cpu") for k, v in kwargs.items()}
    with pytest.raises(exc) as e:
        _call(name, row, args, kwargs)
    assert text in str(e.value), f"{name}: message {str(e.value)!r} lacks {text!r}"
