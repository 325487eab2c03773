"""The glibc malloc tuning applied at import, and its opt-out."""

import sys

import pytest

from ferrograd import _malloc


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
@pytest.mark.parametrize("value", [None, "1"])
def test_tuning_applies_on_glibc_by_default(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("FERROGRAD_MALLOC_TUNING", raising=False)
    else:
        monkeypatch.setenv("FERROGRAD_MALLOC_TUNING", value)
    assert _malloc.tune() is True


def test_zero_turns_it_off(monkeypatch):
    monkeypatch.setenv("FERROGRAD_MALLOC_TUNING", "0")
    assert _malloc.tune() is False


# ---- 64-byte-aligned numpy data (_malloc.align_numpy, installed at import) ----------------------

import subprocess  # noqa: E402
import threading  # noqa: E402

import numpy as np  # noqa: E402

import ferrograd as fg  # noqa: E402

try:
    from numpy._core import multiarray
except ImportError:  # numpy 1.x
    from numpy.core import multiarray


def _offset(a) -> int:
    return a.__array_interface__["data"][0] % 64


def test_import_installs_the_aligned_handler():
    assert multiarray.get_handler_name() == _malloc.ALIGNED_HANDLER
    assert _malloc.align_numpy() is True  # installing again is harmless


@pytest.mark.parametrize("n", [0, 1, 3, 17, 255, 4096, 100_003, 3_000_001])
def test_new_arrays_start_on_a_cache_line(n):
    r = np.random.default_rng(n)
    x = r.standard_normal(n).astype(np.float32)
    made = [np.empty(n, np.float32), np.zeros(n), np.ones((n, 1), np.int64), x + x, np.exp(x), x.copy()]
    if n:
        t = fg.tensor(x)
        made += [(t * 2)._data, fg.nn.functional.gelu(t)._data, fg.nn.functional.relu(t)._data]
    for a in made:
        assert _offset(a) == 0, (n, a.dtype, a.shape)
        assert multiarray.get_handler_name(a) == _malloc.ALIGNED_HANDLER


@pytest.mark.parametrize("n", [1, 1000, 1 << 20, 5 << 20])
def test_zeros_and_calloc_are_zero(n):
    z = np.zeros(n, np.float64)
    assert not z.any() and _offset(z) == 0


def test_resize_keeps_the_data_through_realloc():
    # ndarray.resize reallocates in place: growth, then shrinking, must keep the leading elements
    # (the handler moves them when the new block's 64-byte boundary lies elsewhere).
    a = np.arange(1000, dtype=np.float64)
    for size in (1001, 4096, 100_000, 3_000_000, 999, 10, 2_000_000):
        keep = min(a.size, size)
        head = a[:keep].copy()
        a.resize(size, refcheck=False)
        assert _offset(a) == 0
        np.testing.assert_array_equal(a[:keep], head)
        a[keep:] = np.arange(keep, size)
    b = np.fromiter((i * i for i in range(50_000)), dtype=np.int64)  # grows by realloc
    np.testing.assert_array_equal(b, np.arange(50_000, dtype=np.int64) ** 2)


def test_other_threads_allocate_with_numpys_handler_and_free_anywhere():
    # numpy keeps the handler in a context variable: a new thread starts with numpy's default.
    # Arrays remember their handler, so freeing them in this thread is still correct.
    made = {}

    def work():
        made["name"] = multiarray.get_handler_name()
        made["a"] = np.arange(10_000, dtype=np.float32)

    th = threading.Thread(target=work)
    th.start()
    th.join()
    assert made["name"] == "default_allocator"
    a = made.pop("a")
    assert multiarray.get_handler_name(a) == "default_allocator"
    np.testing.assert_array_equal(a + 1, np.arange(1, 10_001, dtype=np.float32))
    del a


def test_zero_keeps_numpys_own_handler():
    code = ("import ferrograd, numpy as np\n"
            "try:\n    from numpy._core import multiarray\n"
            "except ImportError:\n    from numpy.core import multiarray\n"
            "print(multiarray.get_handler_name())")
    env = {**__import__("os").environ, "FERROGRAD_ALIGNED_ALLOC": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "default_allocator"
