"""Min time per call of one training step of benches/test_bench_train_step.py, for A/B runs of two
builds (PYTHONPATH=<build A's python/> then B's, alternating) without pytest:

    python benches/step_time.py compiled transformer digits_cnn mnist1d_gru
    python benches/step_time.py torch transformer

LIB is ferrograd (eager), compiled (fg.compile) or torch; each step runs for 2 s after 5 warm-up calls.
"""
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from test_bench_train_step import build  # noqa: E402


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    lib = argv[0]
    for case in argv[1:]:
        step = build(lib, case)
        for _ in range(5):
            step()
        best, t0 = float("inf"), time.perf_counter()
        while time.perf_counter() - t0 < 2.0:
            t = time.perf_counter()
            step()
            best = min(best, time.perf_counter() - t)
        print(f"{lib} {case} {best * 1e3:.3f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
