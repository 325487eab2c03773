"""Memory settings for tensor-sized buffers: glibc's malloc tuning, and 64-byte-aligned numpy data.

By default glibc serves every block above its (adaptive) mmap threshold with a fresh mmap and gives
freed heap tops back to the kernel, so each training step's multi-megabyte activations and
gradients are new pages that the kernel must zero on first touch: 25–30 % of an LSTM step on this
project's machine (`clear_page_erms` in perf). Keeping blocks up to 32 MiB on the heap and letting
it hold 256 MiB of free space makes later steps reuse warm memory, as PyTorch's caching allocator
does. On by default (a resnet18 train step 81 -> 63 ms); FERROGRAD_MALLOC_TUNING=0 turns it off.
It is process-wide: every library in the process allocates this way (PyTorch's convolutions get
faster with it too, so speed comparisons run PyTorch in its own process), and up to 256 MiB of
freed memory stays with the process instead of going back to the kernel.

`align_numpy()` makes numpy start every new array's data on a 64-byte boundary (a cache line, one
AVX-512 register), as PyTorch's CPU allocator does, through numpy's memory-handler hook (NEP 49;
the handler is `_native._use_aligned_allocator`). With malloc's 16-byte alignment each 64-byte
load or store of a kernel straddles two lines: an elementwise pass over L2-resident data ran
20-35 % slower misaligned, the small models' captured steps 1-3 % (benches/RESULTS.md). numpy
keeps the handler in a context variable, so it covers the importing thread's context; threads
started later allocate as numpy does by default (still correct, only unaligned).
FERROGRAD_ALIGNED_ALLOC=0 turns it off.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
SETTINGS = ((M_MMAP_THRESHOLD, 32 << 20), (M_TRIM_THRESHOLD, 256 << 20), (M_TOP_PAD, 64 << 20))
ALIGNED_HANDLER = "ferrograd_aligned64"  # the name numpy reports for the aligned handler


def tune() -> bool:
    """Apply SETTINGS on Linux/glibc unless FERROGRAD_MALLOC_TUNING=0; True when applied."""
    if os.environ.get("FERROGRAD_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another libc: nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in SETTINGS)


def align_numpy() -> bool:
    """Install the 64-byte-aligned numpy memory handler unless FERROGRAD_ALIGNED_ALLOC=0; True when
    installed (the hook exists from numpy 1.22; ferrograd needs 1.26)."""
    if os.environ.get("FERROGRAD_ALIGNED_ALLOC", "1") == "0":
        return False
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    from . import _native

    _native._use_aligned_allocator()
    return multiarray.get_handler_name() == ALIGNED_HANDLER
