"""A province in one report: the whole computation of ``honorcalc run`` on ~10 M score rows, against a floor.

Run ``.venv/bin/python benchmarks/bench_province.py`` (plain ``pytest`` does not collect
this folder). The province (`honorcalc.datasets.province.write_province_dataset`: 16 cities,
about 5,600 units and 9.7 million score rows, 28 rounds, as ONE Parquet dataset) is
generated once and cached under ``--cache`` (default ``$TMPDIR/honorcalc-bench``),
keyed by seed and generator version.

Each measurement runs in a process of its own, so that each has its own peak RSS:

- ``floor``: what any program must do with these data: pyarrow reads the Parquet
  tables into pandas, checks the ranges (points within 0..max points, satisfied ≤
  respondents) and the ids (unique unit ids, every score's unit, round and indicator
  known), and computes the mean points per unit and source;
- ``load``: `honorcalc.data.load_dataset` (read as text, validate, type);
- ``evaluate``: `honorcalc.runs.pipeline.evaluate` (every round up to the report round
  scored, ranked and listed);
- ``tables``: `honorcalc.runs.pipeline.run_tables` given that evaluation (the fairness
  tables and the severity-adjusted lists), with its parts timed:
  ``fairness_tables`` and ``severity_adjusted_lists``.

The report round is the year's last (all 28 rounds evaluated). Each line prints wall
seconds, the ratio to the floor and the process's peak RSS; the total line sums
load + evaluate + tables and compares it with the targets: ≤ 8× the floor and a peak
under 2.5 GB. ``--profile`` prints the top functions of the computation by
cumulative time (cProfile); ``--hashes FILE`` writes the sha256 of every table of
`run_tables` (`honorcalc.data.write.table_bytes`) as JSON, to compare two versions
of the code byte for byte; ``--run`` also times a whole ``honorcalc run`` (the
notebook executed and exported to HTML) in a subprocess.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from timing import cached_province, gib, peak_rss

TARGET_RATIO = 8.0
TARGET_BYTES = int(2.5 * (1 << 30))
STAGES = ("floor", "load", "evaluate", "tables")




class RssSampler:
    """The largest RSS seen while each named part runs (sampled every 20 ms from /proc).

    ``label`` is the stage running; ``inner`` a part of it running (its peak counts for both).
    """

    def __init__(self):
        self.label, self.inner, self.peaks = None, None, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def _rss(self) -> int:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * self._page
        except OSError:
            return 0

    def _run(self):
        while not self._stop.wait(0.02):
            rss = self._rss()
            for label in (self.label, self.inner):
                if label is not None:
                    self.peaks[label] = max(self.peaks.get(label, 0), rss)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def province(cache: Path, seed: int) -> tuple[Path, dict]:
    """The cached province for this seed and this version of the generator, made if absent."""
    from honorcalc.datasets.province import write_province_dataset

    return cached_province(cache, seed, write_province_dataset, "province-one")


def floor(root: Path) -> dict:
    """Read the Parquet tables plainly, check ranges and ids, mean points per unit and source."""
    import pandas as pd

    t = {name: pd.read_parquet(root / f"{name}.parquet")
         for name in ("units", "indicators", "rounds", "scores", "deductions", "surveys")}
    units, scores = t["units"], t["scores"]
    if units["unit_id"].duplicated().any() or t["indicators"]["indicator_id"].duplicated().any():
        raise SystemExit("floor: duplicated ids")
    for column, table, key in (("unit_id", "units", "unit_id"), ("round_id", "rounds", "round_id"),
                               ("indicator_id", "indicators", "indicator_id")):
        if not scores[column].isin(t[table][key]).all():
            raise SystemExit(f"floor: unknown {column} in scores")
    for table in ("deductions", "surveys"):
        if not t[table]["unit_id"].isin(units["unit_id"]).all():
            raise SystemExit(f"floor: unknown unit_id in {table}")
    top = scores["indicator_id"].map(t["indicators"].set_index("indicator_id")["max_points"])
    if not ((scores["points"] >= 0) & (scores["points"] <= top)).all():
        raise SystemExit("floor: points out of range")
    surveys = t["surveys"]
    if not ((surveys["satisfied"] >= 0) & (surveys["satisfied"] <= surveys["respondents"])).all():
        raise SystemExit("floor: satisfied out of range")
    means = scores.groupby(["unit_id", "source"], observed=True)["points"].mean()
    return {"means": len(means)}


def computation(root: Path, profile: bool, hashes: Path | None) -> dict:
    """load_dataset → evaluate → run_tables, each part timed, RSS sampled per part."""
    import cProfile
    import pstats
    import warnings

    from honorcalc import fairness
    from honorcalc.data import load_dataset
    from honorcalc.params import Params
    from honorcalc.runs import pipeline

    wall: dict[str, float] = {}
    parts = ("fairness_tables", "severity_adjusted_lists")
    originals = {name: getattr(fairness, name) for name in parts}

    def timed_part(name):
        func = originals[name]

        def wrapper(*a, **k):
            start = time.perf_counter()
            sampler.inner = name
            try:
                return func(*a, **k)
            finally:
                sampler.inner = None
                wall[name] = wall.get(name, 0.0) + time.perf_counter() - start
        return wrapper

    for name in parts:  # the pipeline imports them from the package when it runs
        setattr(fairness, name, timed_part(name))
    profiler = cProfile.Profile() if profile else None
    with RssSampler() as sampler, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if profiler:
            profiler.enable()
        for stage in ("load", "evaluate", "tables"):
            sampler.label = stage
            start = time.perf_counter()
            if stage == "load":
                dataset = load_dataset(root)
                rounds = dataset.rounds.sort_values("date", kind="stable")
                params = Params(dataset=str(root), round=str(rounds["round_id"].iloc[-1]))
            elif stage == "evaluate":
                result = pipeline.evaluate(params, dataset)
            else:
                tables = pipeline.run_tables(params, dataset, result)
            wall[stage] = time.perf_counter() - start
        sampler.label = None
        if profiler:
            profiler.disable()
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(25)
    if hashes:
        from honorcalc.data.write import table_bytes

        digest = {name: hashlib.sha256(table_bytes(frame)).hexdigest() for name, frame in tables.items()}
        hashes.write_text(json.dumps(digest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return {"wall": wall, "peaks": sampler.peaks, "peak": peak_rss(), "tables": len(tables)}


def stage_process(root: Path, stage: str, extra: list[str]) -> dict:
    """One measurement in its own Python process; its JSON result."""
    out = subprocess.run([sys.executable, __file__, "--stage", stage, "--root", str(root), *extra],
                         stdout=subprocess.PIPE, check=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def whole_run(root: Path, round_id: str) -> tuple[float, int]:
    """Seconds of ``honorcalc run`` (tables, notebook, HTML) on the province, and the peak RSS of the
    largest of its processes (the command, or the notebook's kernel), from a process of its own."""
    import shutil

    with tempfile.TemporaryDirectory() as tmp:
        params = Path(tmp) / "province.yaml"
        params.write_text(f"dataset: {root}\nround: {round_id}\n", encoding="utf-8")
        exe = shutil.which("honorcalc", path=str(Path(sys.executable).parent)) or "honorcalc"
        # a fresh parent, so that the largest child it waited for is the run's command or its kernel
        code = ("import json, resource, subprocess, sys, time; start = time.perf_counter(); "
                "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
                "print(json.dumps([time.perf_counter() - start, "
                "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))")
        out = subprocess.run([sys.executable, "-c", code, exe, "run", str(params), "--out", f"{tmp}/reports"],
                             check=True, stdout=subprocess.PIPE, text=True)
        seconds, peak = json.loads(out.stdout.strip().splitlines()[-1])
        return seconds, peak if sys.platform == "darwin" else peak * 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "honorcalc-bench")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", action="store_true", help="cProfile the computation (to stderr)")
    parser.add_argument("--hashes", type=Path, help="write each run table's sha256 to this JSON file")
    parser.add_argument("--run", action="store_true", help="also time a whole `honorcalc run`")
    parser.add_argument("--stage", choices=("floor", "computation"), help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.stage == "floor":
        start = time.perf_counter()
        floor(args.root)
        print(json.dumps({"wall": time.perf_counter() - start, "peak": peak_rss()}))
        return 0
    if args.stage == "computation":
        print(json.dumps(computation(args.root, args.profile, args.hashes)))
        return 0

    root, info = province(args.cache, args.seed)
    print(f"province as one dataset: {len(info['cities'])} cities, {info['units']:,} units, "
          f"{info['score_rows']:,} score rows ({root}); {os.cpu_count()} CPUs", flush=True)
    base = stage_process(root, "floor", [])
    print(f"{'floor (pandas)':<24} {base['wall']:8.2f} s   1.0×   peak RSS {gib(base['peak'])}", flush=True)
    extra = (["--profile"] if args.profile else []) + (["--hashes", str(args.hashes)] if args.hashes else [])
    comp = stage_process(root, "computation", extra)
    wall, peaks = comp["wall"], comp["peaks"]
    for name in ("load", "evaluate", "tables", "fairness_tables", "severity_adjusted_lists"):
        indent = "  " if name not in ("load", "evaluate", "tables") else ""
        print(f"{indent + name:<24} {wall.get(name, 0.0):8.2f} s {wall.get(name, 0.0) / base['wall']:5.1f}×"
              f"   peak RSS {gib(peaks.get(name, 0))}", flush=True)
    total = wall["load"] + wall["evaluate"] + wall["tables"]
    ratio = total / base["wall"]
    ok = ratio <= TARGET_RATIO and comp["peak"] < TARGET_BYTES
    print(f"{'total':<24} {total:8.2f} s {ratio:5.1f}×   peak RSS {gib(comp['peak'])}   "
          f"targets ≤ {TARGET_RATIO:.0f}× the floor, < {gib(TARGET_BYTES)}: {'met' if ok else 'MISSED'}",
          flush=True)
    if args.run:
        import pandas as pd

        rounds = pd.read_parquet(root / "rounds.parquet").sort_values("date", kind="stable")
        seconds, run_peak = whole_run(root, str(rounds["round_id"].iloc[-1]))
        print(f"{'honorcalc run':<24} {seconds:8.2f} s {seconds / base['wall']:5.1f}×   peak RSS {gib(run_peak)} "
              "(its largest process; notebook and HTML too)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
