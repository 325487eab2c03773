"""wgpu tests run on whatever adapter exists (llvmpipe in CI); skipped, with the reason, only
when there is none. The adapter is opened at the first wgpu test, not at collection: Mesa's
llvmpipe loads its own LLVM, which must not be in the process before other suites import torch
(triton's LLVM clashes with it)."""

import pytest

from ferrograd.wgpu import NoAdapterError, runtime


def pytest_runtest_setup(item):
    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
