"""Timing helpers for the comparison scripts: best-of-N, interleaved so that noise hits all peers."""

from __future__ import annotations

import time


def best_seconds(fn, min_time: float = 0.2, rounds: int = 5) -> float:
    """Best per-call time over `rounds` rounds of at least `min_time` seconds each."""
    fn()  # warm-up: first-touch allocation, thread pool start
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t >= min_time / rounds or n > 1 << 20:
            break
        n *= 2
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best


def compare(peers: dict, **kw) -> dict:
    """Best time of each peer, measured round-robin so slow phases of the machine hit all of them."""
    best = {name: float("inf") for name in peers}
    for _ in range(kw.pop("repeats", 3)):
        for name, fn in peers.items():
            best[name] = min(best[name], best_seconds(fn, **kw))
    return best
