"""The kernels' thread pool: the importing thread is one of its workers, so a parallel kernel still
runs in a forked child (whose pool threads were not copied by fork) and from other Python threads."""

import multiprocessing as mp
import sys
import threading

import numpy as np
import pytest

from ferrograd import _native

BIG = 512  # 512³ multiply-adds: far above the size at which one GEMM splits across threads


def _product_sum(q):
    a = np.ones((BIG, BIG), np.float32)
    q.put(float(_native.matmul(a, a)[0, 0]))


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_parallel_kernel_runs_in_a_forked_child():
    a = np.ones((BIG, BIG), np.float32)
    assert _native.matmul(a, a)[0, 0] == BIG  # the parent's pool is up and has run a parallel GEMM
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    child = ctx.Process(target=_product_sum, args=(q,))
    child.start()
    child.join(60)
    if child.is_alive():  # rayon's default pool: the child waits forever for workers fork did not copy
        child.kill()
        pytest.fail("a parallel kernel hung in a forked child")
    assert child.exitcode == 0
    assert q.get(timeout=10) == BIG


def test_parallel_kernels_from_several_python_threads():
    a = np.random.default_rng(0).random((BIG, BIG), dtype=np.float32)
    want = _native.matmul(a, a)
    got = [None] * 3

    def work(i):
        got[i] = _native.matmul(a, a)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    for g in got:
        np.testing.assert_array_equal(g, want)
