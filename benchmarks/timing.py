"""What every benchmark here measures with: the best wall time of repeated calls."""

from __future__ import annotations

import time


def best_time(func, repeat: int):
    """Smallest wall time of ``repeat`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result
