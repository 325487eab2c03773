"""The native GEMM runs with the GIL released: Python threads keep running during a long product."""

import threading
import time

import numpy as np

from ferrograd import _native


def test_matmul_releases_the_gil():
    a = np.ones((3072, 3072), np.float32)
    _native.matmul(a[:64, :64], a[:64, :64])  # warm up
    stamps, stop = [], threading.Event()

    def spin():
        while not stop.is_set():
            stamps.append(time.perf_counter())

    t = threading.Thread(target=spin)
    t.start()
    time.sleep(0.02)
    try:
        start = time.perf_counter()
        _native.matmul(a, a)
        end = time.perf_counter()
    finally:
        stop.set()
        t.join()
    inside = [s for s in stamps if start <= s <= end]
    gaps = np.diff([start, *inside, end])
    # Holding the GIL for the call would leave one gap as long as the whole call.
    assert gaps.max() < 0.5 * (end - start), (gaps.max(), end - start)
