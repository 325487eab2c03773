"""The wgpu (WebGPU) backend: WGSL kernels on any GPU with Vulkan, Metal or Direct3D 12."""

from __future__ import annotations

from .runtime import KernelError, NoAdapterError, is_available


def adapter_info() -> dict:
    """Vendor, device, backend, features and limits of the adapter in use."""
    from . import runtime

    return runtime.get().info


def synchronize() -> None:
    """Submit recorded work and wait for the device to finish it."""
    from . import runtime

    runtime.get().synchronize()


__all__ = ["KernelError", "NoAdapterError", "adapter_info", "is_available", "synchronize"]
