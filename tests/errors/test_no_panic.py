"""Issue 14.1: no Rust panic reaches Python. A `PanicException` derives from BaseException,
so `except Exception` misses it; every bad size must come back as an ordinary exception that
names the op. Also: array arguments in Fortran order are refused, not read in the wrong order."""

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.nn.functional as F
from ferrograd import _native


def _raises_named(fn, *names):
    """fn() raises an Exception (not a BaseException-only panic) whose message names an op."""
    try:
        fn()
    except Exception as e:  # a PanicException would escape this clause and fail the test
        msg = str(e)
        assert any(n in msg for n in names), f"{type(e).__name__}: {msg!r} names none of {names}"
        return e
    pytest.fail("no exception raised")


@pytest.mark.parametrize(
    "call, names",
    [
        (lambda: F.adaptive_avg_pool2d(fg.randn(1, 1, 4, 4), 2**40), ("adaptive_avg_pool2d",)),
        (lambda: F.adaptive_avg_pool2d(fg.randn(1, 1, 4, 4), (2**62, 3)), ("adaptive_avg_pool2d",)),
        (lambda: F.conv2d(fg.randn(1, 1, 4, 4), fg.randn(1, 1, 3, 3), padding=2**40), ("conv2d",)),
        (lambda: F.conv2d(fg.randn(1, 1, 4, 4), fg.randn(1, 1, 3, 3), padding=2**62), ("conv2d",)),
        (lambda: F.conv2d(fg.randn(1, 1, 4, 4), fg.randn(1, 1, 3, 3), dilation=2**62), ("conv2d",)),
        (lambda: F.conv1d(fg.randn(1, 1, 4), fg.randn(1, 1, 3), padding=2**62), ("conv1d",)),
        (lambda: F.conv_transpose2d(fg.randn(1, 1, 4, 4), fg.randn(1, 1, 3, 3), dilation=2**62),
         ("conv_transpose2d",)),
        (lambda: F.max_pool2d(fg.randn(1, 1, 4, 4), 2, padding=2**62), ("max_pool2d",)),
    ],
)
def test_huge_sizes_raise_a_normal_exception(call, names):
    e = _raises_named(call, *names)
    assert isinstance(e, (ValueError, OverflowError, MemoryError)), repr(e)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: _native.adaptive_avg_pool2d_forward(np.zeros((1, 1, 4, 4), np.float32), (2**40, 2**40)),
         "adaptive_avg_pool2d"),
        (lambda: _native.adaptive_avg_pool2d_backward(np.zeros((1, 1, 2, 2), np.float32), (1, 1, 4, 4),
                                                      (2**40, 2**40)), "adaptive_avg_pool2d"),
        (lambda: _native.conv2d_forward(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), None, (1, 1),
                                        (0, 0), (1, 1), 1, (2**40, 2**40)), "conv2d"),
        (lambda: _native.conv2d_backward_data(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)),
                                              (2**62, 2**62), (1, 1), (0, 0), (1, 1), 1), "conv2d"),
        (lambda: _native.avg_pool2d_backward(np.zeros((1, 1, 2, 2)), (2**62, 2**62, 4, 4), (2, 2),
                                             (2, 2), (0, 0), True), "pool2d"),
    ],
)
def test_native_bindings_never_panic(call, name):
    _raises_named(call, name)


def test_fortran_ordered_arguments_are_refused():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    args = (None, (1, 1), (0, 0), (1, 1), 1, (3, 3))
    ref = _native.conv2d_forward(x, w, *args)
    # A strided (here Fortran-ordered) input is read through its strides: same values.
    np.testing.assert_allclose(_native.conv2d_forward(np.asfortranarray(x), w, *args), ref, rtol=1e-12)
    # A Fortran-ordered weight used to be read as if C-ordered (values off by up to 11.7).
    e = _raises_named(lambda: _native.conv2d_forward(x, np.asfortranarray(w), *args), "conv2d")
    assert "C-contiguous" in str(e)


def test_fortran_ordered_gradients_are_refused():
    gy = np.asfortranarray(np.random.default_rng(1).standard_normal((1, 1, 2, 3)))
    _raises_named(lambda: _native.avg_pool2d_backward(gy, (1, 1, 4, 6), (2, 2), (2, 2), (0, 0), True),
                  "avg_pool2d_backward")
