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


_FROM_A_THREAD = """
import threading, numpy as np, ferrograd as fg
m = fg.nn.LSTM(8, 32, batch_first=True)
x = fg.tensor(np.random.rand(16, 20, 8).astype(np.float32))
def work():
    out, _ = m(x)
    out.sum().backward()  # its weight gradients split rows across rayon tasks
t = threading.Thread(target=work)
t.start()
t.join(30)
print("hung" if t.is_alive() else "done", flush=True)
import os; os._exit(0)
"""


@pytest.mark.parametrize("threads", ["1", "2"])
def test_kernels_from_another_thread_while_the_importer_waits(threads):
    # With one thread in all, the importing thread must not be the pool's only worker: a kernel
    # from another thread would wait for it while it waits in join().
    import os
    import subprocess

    env = dict(os.environ, RAYON_NUM_THREADS=threads)
    run = subprocess.run([sys.executable, "-c", _FROM_A_THREAD], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.stdout.strip() == "done", (run.stdout, run.stderr[-2000:])


# ---- the warm window: after each kernel the pool's other threads keep looking for work for ~1 ms
# (FG_POOL_SPIN_US), then sleep. These run in a subprocess with 2 threads, whatever the suite's.

_SPIN_THEN_IDLE = """
import time, numpy as np
from ferrograd import _native
a = np.random.default_rng(0).random((512, 512), dtype=np.float32)
want = a.astype(np.float64) @ a.astype(np.float64)
for i in range(200):  # parallel kernels, with gaps inside and outside the window
    got = _native.matmul(a, a)
    assert np.allclose(got, want, rtol=1e-4), i
    if i % 20 == 0:
        time.sleep(0.003)
time.sleep(0.05)  # the window has passed: nothing may keep a core busy now
t0, c0 = time.perf_counter(), time.process_time()
time.sleep(0.3)
print(f"idle cpu {(time.process_time() - c0) / (time.perf_counter() - t0):.3f}", flush=True)
"""


@pytest.mark.parametrize("spin_us", [None, "0", "50000"])
def test_pool_threads_stop_spinning_after_the_window(spin_us):
    import os
    import subprocess

    env = dict(os.environ, RAYON_NUM_THREADS="2")
    env.pop("FG_POOL_SPIN_US", None)
    if spin_us is not None:
        env["FG_POOL_SPIN_US"] = spin_us
    run = subprocess.run([sys.executable, "-c", _SPIN_THEN_IDLE], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    idle = float(run.stdout.split()[-1])
    assert idle < 0.2, f"a pool thread kept a core busy while the process slept ({idle:.2f} of a core)"


def _many_kernels(q):
    a = np.ones((BIG, BIG), np.float32)
    total = 0.0
    for _ in range(50):  # each call would start a warm window in the parent; the child has no workers
        total += float(_native.matmul(a, a)[0, 0])
    q.put(total)


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_many_kernels_in_a_forked_child_after_the_parent_warmed_its_pool():
    a = np.ones((BIG, BIG), np.float32)
    _native.matmul(a, a)  # the parent's window is open when it forks
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    child = ctx.Process(target=_many_kernels, args=(q,))
    child.start()
    child.join(120)
    if child.is_alive():
        child.kill()
        pytest.fail("parallel kernels hung in a forked child")
    assert child.exitcode == 0
    assert q.get(timeout=10) == 50 * BIG


# ---- one thread in all: each calling thread runs its kernels itself (no hand-off to a pool
# thread and back, two context switches per call), so no pool thread is ever started.

_ONE_THREAD = """
import os, threading, numpy as np, ferrograd as fg
from ferrograd import _native
def threads():
    return len(os.listdir("/proc/self/task"))
rng = np.random.default_rng(0)
before = threads()
w = rng.standard_normal(100_000).astype(np.float32)  # above one task: the step uses par_chunks
g, m, v = rng.standard_normal(100_000).astype(np.float32), np.zeros_like(w), np.zeros_like(w)
_native.adam_step(w, g, m, v, None, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0, True)
gru = fg.nn.GRU(4, 32, batch_first=True)  # one rayon task per time step, both ways
x = fg.tensor(rng.standard_normal((8, 12, 4)).astype(np.float32))
out, _ = gru(x)
out.sum().backward()
a = rng.random((512, 512), dtype=np.float32)
got = [None]
def other():  # another Python thread gets a pool of its own
    got[0] = _native.matmul(a, a)
t = threading.Thread(target=other)
t.start(); t.join(60)
assert np.allclose(got[0], a.astype(np.float64) @ a.astype(np.float64), rtol=1e-4)
print("threads", before, threads(), flush=True)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/task")
@pytest.mark.parametrize("caller", [None, "0"])
def test_one_thread_runs_kernels_on_the_calling_thread(caller):
    import os
    import subprocess

    env = dict(os.environ, RAYON_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env.pop("FG_POOL_CALLER", None)
    if caller is not None:
        env["FG_POOL_CALLER"] = caller  # rayon's own pool: its worker thread shows up
    run = subprocess.run([sys.executable, "-c", _ONE_THREAD], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    before, after = map(int, run.stdout.split()[-2:])
    if caller is None:
        assert after == before, f"a pool thread was started ({before} -> {after} threads)"
    else:
        assert after == before + 1
