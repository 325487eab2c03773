"""Every registered op (fg.<name>) called with generated bad and edge-case arguments, on cpu and
wgpu: it returns, or raises an ordinary exception whose message names the op. A Rust panic
(pyo3's PanicException is a BaseException), a crash or an anonymous error fails the test."""

from __future__ import annotations

import pytest
from hypothesis import given
from strategies import arguments

import ferrograd as fg
from ferrograd.ops.registry import OPS

# Ops whose whole job is to draw or to build from sizes: fuzzed through their own strategies elsewhere.
SKIP = set()


def _names(info):
    return (info.name, *info.aliases)


def check_call(name, fn, args):
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001  (any ordinary exception is allowed, if it says where)
        text = str(e)
        if not any(n in text for n in _names(OPS[name])):
            raise AssertionError(f"fg.{name}{tuple(type(a).__name__ for a in args)} raised "
                                 f"{type(e).__name__} without naming the op: {text!r}") from e
    except BaseException as e:  # a PanicException or other non-Exception escaping the library
        raise AssertionError(f"fg.{name} let {type(e).__name__} escape: {e!r}") from e


def _wgpu():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")


@pytest.mark.parametrize("name", sorted(n for n in OPS if OPS[n].function and n not in SKIP))
@pytest.mark.parametrize("device", ["cpu", "wgpu"])
def test_registered_op_survives_bad_arguments(name, device):
    if device == "wgpu":
        _wgpu()
    fn = getattr(fg, name)

    @given(arguments(device))
    def run(args):
        check_call(name, fn, args)

    run()
