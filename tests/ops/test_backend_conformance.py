"""Both backends implement every primitive with the same positional parameters, and agree on
values; the fused kernel families (`_native` and `wgpu.kernels`) are held to the same rule."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from ferrograd import _native
from ferrograd.ops import backend
from ferrograd.ops.backend import PRIMITIVES, CpuBackend, WgpuBackend


def _positional(fn):
    """The names of the parameters a caller may pass by position (what must agree)."""
    params = inspect.signature(fn).parameters.values()
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]


@pytest.mark.parametrize("impl", [CpuBackend, WgpuBackend])
def test_every_primitive_is_implemented(impl):
    missing = [name for name in PRIMITIVES if not callable(getattr(impl, name, None))]
    assert not missing, f"{impl.name} backend lacks {missing}"


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_primitive_signatures_agree(name):
    assert _positional(getattr(CpuBackend, name)) == _positional(getattr(WgpuBackend, name)), name


def test_the_signature_check_can_fail():
    def a(x, axis):
        pass

    def b(x, descending):
        pass

    assert _positional(a) != _positional(b)


def test_of_picks_the_backend_of_an_array():
    assert backend.of(np.zeros(2)) is CpuBackend


def _kernel_families():
    from ferrograd.wgpu import kernels as wk

    names = sorted(n for n in dir(_native) if not n.startswith("_") and callable(getattr(_native, n)))
    return [n for n in names if hasattr(wk, n)]


def test_every_native_kernel_has_a_device_kernel():
    from ferrograd.wgpu import kernels as wk

    names = [n for n in dir(_native) if not n.startswith("_") and callable(getattr(_native, n))]
    missing = [n for n in names if not hasattr(wk, n)]
    assert not missing, f"wgpu.kernels lacks {missing}"


@pytest.mark.parametrize("name", _kernel_families())
def test_fused_kernel_signatures_agree(name):
    """`ops._util.kernels(x)` picks the module by device and calls both alike: the positional
    parameters must mean the same (extra keyword-only ones are allowed)."""
    from ferrograd.wgpu import kernels as wk

    assert _positional(getattr(_native, name)) == _positional(getattr(wk, name)), name


def _cases(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((3, 4)).astype(np.float32)
    idx = rng.integers(0, 4, (3, 2))
    return {
        "unary": ("exp", a),
        "binary": ("multiply", a, b),
        "where": (a > 0, a, b),
        "cast": (a, np.int32),
        "copy": (a.T,),
        "full": ((2, 3), 1.5, np.float32),
        "arange": (0, 5, 1, np.int64),
        "reduce": ("sum", a, (1,), True),
        "arg_reduce": ("argmax", a, 1, False),
        "scan": ("cumsum", a, 1),
        "take_along": (a, idx, 1),
        "index": (a, (slice(1, 3), np.array([0, 2]))),
        "sort": (np.round(a, 1), 1, True),
        "matmul": (a, b.T),
        "reshape": (a, (4, 3)),
        "transpose": (a, (1, 0)),
        "broadcast_to": (a[:1], (3, 4)),
        "concat": ([a, b], 0),
        "stack": ([a, b], 1),
        "flip": (a, (0, 1)),
        "tril": (a, 0),
        "triu": (a, 1),
        "nonzero": (a > 0,),
    }


def _dev(x):
    if isinstance(x, np.ndarray):
        return WgpuBackend.from_host(x)
    if isinstance(x, list):
        return [_dev(v) for v in x]
    return x


def _host(x):
    if isinstance(x, tuple):
        return tuple(_host(v) for v in x)
    return x if isinstance(x, np.ndarray) else x.numpy()


@pytest.mark.parametrize("name", sorted(_cases(np.random.default_rng(0))))
def test_backends_agree_on_values(name):
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    args = _cases(np.random.default_rng(0))[name]
    want = getattr(CpuBackend, name)(*args)
    dev_args = tuple(_dev(a) if not (name == "index" and isinstance(a, tuple)) else a for a in args)
    got = _host(getattr(WgpuBackend, name)(*dev_args))
    want = _host(want)
    if isinstance(want, tuple):
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, err_msg=name)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)


def test_in_place_primitives_agree():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    rng = np.random.default_rng(1)
    idx = np.array([[0, 0], [1, 3], [2, 2]])
    vals = rng.standard_normal((3, 2)).astype(np.float32)
    for name, args in {"put_along": (idx, vals, 1), "add_along": (idx, vals, 1),
                       "index_put": ((np.array([0, 2]),), vals[:2, :1]),
                       "index_add": ((np.array([0, 0, 2]),), np.ones((3, 4), np.float32))}.items():
        host = np.zeros((3, 4), np.float32)
        dev = WgpuBackend.from_host(host)
        getattr(CpuBackend, name)(host, *args)
        getattr(WgpuBackend, name)(dev, *(_dev(a) if isinstance(a, np.ndarray) and name.endswith("along") else a for a in args))
        np.testing.assert_allclose(dev.numpy(), host, rtol=1e-6, err_msg=name)
