"""nn.functional functions with a numpy reference in the tests (functional_rows.py lists them, and
those without one), on cpu and wgpu: a small valid configuration drawn per example, bent by the
op-table strategy (NaN/±inf/±0.0, empty and broadcast axes, int/bool dtypes, non-contiguous
layouts); a call that succeeds must give the reference (float32 tolerances on wgpu, NaN exactly
where the reference has NaN), a drawn configuration laid out non-contiguously must succeed.
known_bugs.py lists what is left out, and why."""

from __future__ import annotations

import pytest
from functional_rows import ROWS
from hypothesis import given
from known_bugs import FUNCTIONAL_BUGS, FUNCTIONAL_REFERENCE_DIFFERS, skip_reason
from table_inputs import check, table_calls


def _wgpu():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")


def skip_comparison(call):
    return skip_reason(call, FUNCTIONAL_REFERENCE_DIFFERS, FUNCTIONAL_BUGS)


@pytest.mark.parametrize("name,device", [pytest.param(n, d, id=f"{d}-{n}") for n in sorted(ROWS)
                                         for d in ("cpu", "wgpu") if d in ROWS[n].devices])
def test_functional_matches_numpy_reference_on_edge_cases(name, device):
    if device == "wgpu":
        _wgpu()

    @given(table_calls(name, device, ROWS))
    def run(call):
        check(call, (), skip_comparison)  # (errors naming the function: test_fuzz_functional.py)

    run()
