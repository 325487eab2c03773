"""wgpu tests run on whatever adapter exists (llvmpipe in CI); skipped, with the reason, only
when there is none."""

import pytest

from ferrograd import wgpu as fgw


def pytest_collection_modifyitems(config, items):
    if fgw.is_available():
        return
    from ferrograd.wgpu import runtime

    try:
        runtime.get()
    except fgw.NoAdapterError as e:
        reason = str(e)
    skip = pytest.mark.skip(reason=f"no WebGPU adapter: {reason}")
    for item in items:
        if "tests/wgpu" in str(item.fspath):
            item.add_marker(skip)
