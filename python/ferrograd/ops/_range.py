"""One range check for index arrays on every device.

On cpu the check is numpy on the host. On wgpu the indices live in a device buffer: the check
reduces them there (`any(out of range)`) and reads back that single bool — one small readback
per call, the price of raising instead of silently reading zeros (the wgpu kernels clamp or
skip out-of-range ids). Only on the error path is the whole index array read to name a value."""

from __future__ import annotations

import contextlib

import numpy as np


class OutOfRangeError(IndexError, ValueError):
    """An index or class target out of range: an IndexError as in torch, and a ValueError, which
    embedding and the losses raised for it before."""


_DEVICE_CHECKS = [True]


@contextlib.contextmanager
def unchecked_device_indices():
    """Skip the range checks of device index arrays (no readback) inside the block, for a
    training loop that must not synchronise; out-of-range device ids then read zeros."""
    before = _DEVICE_CHECKS[0]
    _DEVICE_CHECKS[0] = False
    try:
        yield
    finally:
        _DEVICE_CHECKS[0] = before


def first_out_of_range(idx, lo: int, hi: int, ignore: int | None = None):
    """The first value of `idx` outside [lo, hi) (skipping `ignore`), or None when all are in range."""
    if type(idx) is not np.ndarray and not _DEVICE_CHECKS[0]:
        return None
    if idx.size == 0:
        return None
    bad = (idx < lo) | (idx >= hi)
    if ignore is not None:
        bad = bad & (idx != ignore)
    if type(idx) is np.ndarray:
        if not bad.any():
            return None
        return int(idx[bad].flat[0])
    if not bool(bad.any().item()):  # the one readback on the device
        return None
    host, mask = idx.numpy(), bad.numpy()
    return int(host[mask].flat[0])


def check_key_ranges(op: str, key, shape: tuple) -> None:
    """Integer index arrays inside an indexing key (a raw key: arrays, slices, ints, None, ...)
    must lie in [-n, n) of the dim they index. Only device arrays are checked here (numpy checks
    host keys itself); each costs one small readback."""
    items = key if isinstance(key, tuple) else (key,)
    used = sum(1 if not hasattr(k, "ndim") or k.dtype.kind != "b" else max(k.ndim, 1)
               for k in items if k is not None and k is not Ellipsis)
    d = 0
    for k in items:
        if k is None:
            continue
        if k is Ellipsis:
            d += max(len(shape) - used, 0)
            continue
        if hasattr(k, "ndim") and k.dtype.kind == "b":
            d += max(k.ndim, 1)
            continue
        if type(k) is not np.ndarray and hasattr(k, "ndim") and k.dtype.kind in "iu" and d < len(shape):
            n = shape[d]
            bad = first_out_of_range(k, -n, n)
            if bad is not None:
                raise IndexError(f"{op}: index {bad} is out of bounds for dimension {d} with size {n}")
        d += 1
