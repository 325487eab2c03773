"""Fixtures for the whole suite: the devices a test runs on. wgpu is skipped, with the reason,
where no WebGPU adapter exists; the adapter opens at the first wgpu test, not at collection (see
tests/wgpu/conftest.py)."""

import pytest


def _skip_without_adapter():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")


@pytest.fixture(params=["cpu", "wgpu"])
def device(request):
    """The test runs once on cpu and once on wgpu."""
    if request.param == "wgpu":
        _skip_without_adapter()
    return request.param


@pytest.fixture
def wgpu_device():
    """"wgpu", for tests of the device path alone."""
    _skip_without_adapter()
    return "wgpu"
