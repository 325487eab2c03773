"""wgpu tests run on whatever adapter exists (llvmpipe in CI); skipped, with the reason, only
when there is none.

The adapter is opened lazily, by the first wgpu test, not at collection: llvmpipe loads its own
LLVM, and opening it before other tests import torch (whose triton loads another LLVM) crashes
the process."""

import pytest

from ferrograd import wgpu as fgw


@pytest.fixture(autouse=True)
def _need_adapter():
    if not fgw.is_available():
        from ferrograd.wgpu import runtime

        try:
            runtime.get()
        except fgw.NoAdapterError as e:
            pytest.skip(f"no WebGPU adapter: {e}")
