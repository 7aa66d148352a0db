"""What every benchmark here measures with: the best wall time of repeated calls, the peak
resident memory, and the province generated once and cached."""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time
from pathlib import Path


def best_time(func, repeat: int):
    """Smallest wall time of ``repeat`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_rss() -> int:
    """Peak resident set size of this process, in bytes (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def gib(n: int) -> str:
    return f"{n / (1 << 30):.2f} GiB"


def cached_province(cache: Path, seed: int, write, name: str) -> tuple[Path, dict]:
    """The province ``write`` (a writer of `honorcalc.datasets.province`) makes for this seed and
    this version of the generator, cached under ``cache / name-seed-version``; made if absent."""
    import honorcalc.datasets.province

    version = hashlib.sha256(Path(honorcalc.datasets.province.__file__).read_bytes()).hexdigest()[:8]
    root = cache / f"{name}-{seed}-{version}"
    info_path = root / "province.json"  # written last: its presence means a complete province
    if info_path.exists():
        return root, json.loads(info_path.read_text(encoding="utf-8"))
    start = time.perf_counter()
    info = write(root, seed=seed)
    if not info_path.exists():
        info_path.write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{'generate':<24} {time.perf_counter() - start:8.2f} s wall (cached for the next runs)", flush=True)
    return root, info
