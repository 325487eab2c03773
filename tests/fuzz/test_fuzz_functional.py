"""Every public nn.functional function called with generated bad and edge-case arguments, on cpu
and wgpu: it returns, or raises an ordinary exception whose message names the function."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import given
from strategies import arguments

import ferrograd.nn.functional as F


def _public():
    out = []
    for name in sorted(dir(F)):
        fn = getattr(F, name)
        if name.startswith("_") or not inspect.isfunction(fn):
            continue
        out.append(name)
    return out


def check_call(name, fn, args):
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001
        if name not in str(e):
            raise AssertionError(f"F.{name}{tuple(type(a).__name__ for a in args)} raised "
                                 f"{type(e).__name__} without naming the function: {str(e)!r}") from e
    except BaseException as e:
        raise AssertionError(f"F.{name} let {type(e).__name__} escape: {e!r}") from e


@pytest.mark.parametrize("name", _public())
@pytest.mark.parametrize("device", ["cpu", "wgpu"])
def test_functional_survives_bad_arguments(name, device):
    if device == "wgpu":
        from ferrograd.wgpu import NoAdapterError, runtime

        try:
            runtime.get()
        except NoAdapterError as e:
            pytest.skip(f"no WebGPU adapter: {e}")
    fn = getattr(F, name)

    @given(arguments(device))
    def run(args):
        check_call(name, fn, args)

    run()
