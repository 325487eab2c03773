"""Every registered op (they all have an op-table row), on cpu and wgpu: edge-case inputs drawn from
the row's own samples (table_inputs.py); a call that succeeds must give the row's numpy reference
(the op table's comparison and tolerances; float32 ones on wgpu; NaN exactly where the reference
has NaN), a row's own sample laid out non-contiguously must succeed, and a call that fails must
raise an ordinary exception naming the op. known_bugs.py lists what is left out, and why."""

from __future__ import annotations

import pytest
from hypothesis import given
from known_bugs import OP_BUGS, OP_REFERENCE_DIFFERS, skip_reason
from table_inputs import ROWS, check, table_calls

from ferrograd.ops.registry import OPS


def _names(name):
    info = OPS.get(name)
    return (name, *info.aliases) if info is not None else (name,)


def _wgpu():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")


def skip_comparison(call):
    return skip_reason(call, OP_REFERENCE_DIFFERS, OP_BUGS)


@pytest.mark.parametrize("name,device", [pytest.param(n, d, id=f"{d}-{n}") for n in sorted(ROWS)
                                         for d in ("cpu", "wgpu") if d in ROWS[n].devices])
def test_op_matches_numpy_reference_on_edge_cases(name, device):
    if device == "wgpu":
        _wgpu()
    # (a row's own `call` may run other ops first, whose errors name those ops: names are checked
    # for rows called as fg.<name>; test_fuzz_ops.py checks every op's errors on wilder arguments)
    names = () if ROWS[name].call is not None else _names(name)

    @given(table_calls(name, device))
    def run(call):
        check(call, names, skip_comparison)

    run()
