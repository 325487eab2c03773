"""pytest-benchmark suites: ferrograd next to numpy and PyTorch, same shapes, dtypes and threads.

Run (timings; one table per group, see benches/RESULTS.md "pytest benchmarks"):
    pytest benches/ --benchmark-only [--threads N] [--benchmark-json out.json]
Smoke mode (CI: every case runs once, no timing):
    pytest benches/ --benchmark-disable -q

Every test takes the `lib` fixture (indirect parametrisation: "ferrograd", "numpy", "torch"; a
torch case skips when torch is not installed) and times one call through the `bench` fixture,
which records the library, case and threads in the JSON (extra_info) for benches/results_table.py.
"""

from __future__ import annotations

import os

import pytest

_THREADS: int | None = None  # --threads, None: each library's default
_NUMPY_LIMIT = None  # threadpoolctl's limiter; kept alive for the whole session


def pytest_addoption(parser):
    parser.addoption("--threads", type=int, default=None,
                     help="threads for every library (ferrograd: RAYON_NUM_THREADS; torch.set_num_threads; "
                          "numpy's BLAS via threadpoolctl). Default: each library's own default.")


def pytest_configure(config):
    global _THREADS, _NUMPY_LIMIT
    if not config.pluginmanager.hasplugin("benchmark"):
        raise pytest.UsageError("benches/ needs pytest-benchmark: pip install '.[bench]'")
    _THREADS = config.getoption("--threads")
    if _THREADS is None:
        return
    if _THREADS < 1:
        raise pytest.UsageError(f"--threads must be >= 1, got {_THREADS}")
    n = str(_THREADS)
    # Before any library starts its pool: rayon reads RAYON_NUM_THREADS when ferrograd's first parallel
    # kernel runs (the test modules import ferrograd only after this hook); OpenMP/BLAS read theirs at load.
    for var in ("RAYON_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = n
    try:  # numpy may already be loaded (its BLAS pool started): limit it at run time
        from threadpoolctl import threadpool_limits

        _NUMPY_LIMIT = threadpool_limits(limits=_THREADS)
    except ImportError:
        pass


def threads_label() -> str:
    return str(_THREADS) if _THREADS is not None else "default"


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["threads"] = threads_label()
    machine_info["rayon_num_threads"] = os.environ.get("RAYON_NUM_THREADS", "default")
    try:
        from threadpoolctl import threadpool_info

        machine_info["numpy_threadpools"] = [f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info()]
    except ImportError:
        pass
    import sys

    if "torch" in sys.modules:
        machine_info["torch"] = f"{sys.modules['torch'].__version__} ({sys.modules['torch'].get_num_threads()} threads)"


_TORCH_READY = False


@pytest.fixture
def lib(request):
    """The library of this case (parametrise with indirect=True); torch skips when absent."""
    global _TORCH_READY
    name = request.param
    if name not in ("ferrograd", "compiled", "numpy", "torch"):
        raise ValueError(f"benches: lib must be 'ferrograd', 'compiled' (ferrograd under fg.compile), 'numpy' "
                         f"or 'torch', got {name!r}")
    if name == "torch":
        torch = pytest.importorskip("torch")
        if not _TORCH_READY:
            if _THREADS is not None:
                torch.set_num_threads(_THREADS)
            torch.manual_seed(0)
            _TORCH_READY = True
    return name


def _case_name(node, lib_name: str, group: str | None) -> str:
    """'test_matmul[torch-256x256x256]' -> 'matmul 256x256x256' (the row of the results table); the
    test's name is left out where it only repeats the group ('test_train_step[torch-mlp_adam]' -> 'mlp_adam')."""
    base = node.originalname.removeprefix("test_")
    spec = getattr(node, "callspec", None)
    ids = [p for p in spec.id.split("-") if p != lib_name] if spec is not None else []
    if base == group and ids:
        base = ""
    return " ".join([base, *ids]).strip()


@pytest.fixture
def bench(benchmark, lib, request):
    """bench(fn) times fn(); bench(fn, rounds=3) for heavy cases (fixed rounds, one warm-up, one call each).

    Smoke mode (--benchmark-disable) calls fn once either way.
    """
    benchmark.extra_info.update(lib=lib, case=_case_name(request.node, lib, benchmark.group), threads=threads_label())

    def run(fn, rounds: int | None = None):
        if rounds is None:
            return benchmark(fn)
        return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)

    return run
