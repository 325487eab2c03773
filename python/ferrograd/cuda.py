"""`fg.cuda`: torch.cuda's everyday names for a library without CUDA, so `import ferrograd as torch`
programs that probe for a GPU take their CPU path (ferrograd's GPU is device='wgpu').

Queries answer "no CUDA" (is_available() is False, device_count() is 0); seeding and sync calls
are no-ops that accept torch's arguments; asking for a CUDA device raises a RuntimeError that
points at 'wgpu'.
"""

from __future__ import annotations

import numbers

__all__ = ["current_device", "device_count", "empty_cache", "get_device_name", "is_available",
           "is_initialized", "manual_seed", "manual_seed_all", "seed", "seed_all", "set_device",
           "synchronize"]

_NO_CUDA = "ferrograd has no CUDA; use device='wgpu' for a GPU"


def _no_cuda(fn: str):
    return RuntimeError(f"cuda.{fn}: {_NO_CUDA}")


def is_available() -> bool:
    return False


def is_initialized() -> bool:
    return False


def device_count() -> int:
    return 0


def _check_seed(seed, fn):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"cuda.{fn}: seed must be an int, got {type(seed).__name__}")


def manual_seed(seed) -> None:
    """Seeds nothing (there is no CUDA generator); torch code calls it next to fg.manual_seed."""
    _check_seed(seed, "manual_seed")


def manual_seed_all(seed) -> None:
    _check_seed(seed, "manual_seed_all")


def seed() -> None:
    pass


def seed_all() -> None:
    pass


def synchronize(device=None) -> None:
    """Nothing to wait for: there are no CUDA streams."""


def empty_cache() -> None:
    pass


def current_device() -> int:
    raise _no_cuda("current_device")


def set_device(device) -> None:
    raise _no_cuda("set_device")


def get_device_name(device=None) -> str:
    raise _no_cuda("get_device_name")


def get_device_properties(device=None):
    raise _no_cuda("get_device_properties")


def memory_allocated(device=None) -> int:
    return 0


def max_memory_allocated(device=None) -> int:
    return 0


def reset_peak_memory_stats(device=None) -> None:
    pass
