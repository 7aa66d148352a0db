"""A province's year at full scale: load → validate → score and rank, with time and memory.

Run ``.venv/bin/python benchmarks/bench_scale.py`` (plain ``pytest`` does not collect
this folder). The province (`honorcalc.datasets.province`: 16 cities of 150-600 units, about
9.7 million score rows, one Parquet dataset directory per city) is generated once
and cached under ``--cache`` (default ``$TMPDIR/honorcalc-bench``), keyed by seed.

For every city, and so for every round of every city, the stages run as a report
would run them:

- ``load``: `honorcalc.data.read_raw_tables` (Parquet → text cells);
- ``validate``: `honorcalc.data.validate.validate_tables` (the dataset contract);
- ``score+rank``: `honorcalc.rules.evaluate_rounds` (scores, composites, ranks,
  lists of every round; the fairness tables are not included).

Each stage prints its wall and CPU seconds summed over the cities (CPU time tells
the stage's own cost when other work shares the machine; it can exceed wall time
where Arrow uses several threads) and the peak RSS (``resource.getrusage``) after
it; the total line compares the wall time and peak RSS with the targets of the
robustness issue: under 30 s and under 4 GB on a 2-core machine. ``--jobs 2``
runs the cities in two worker processes, as ``honorcalc batch`` would (the stage
lines then sum the workers' times, the total is the wall time, and the peak RSS
is the largest process's). ``--one-frame`` also validates the whole province's
scores as one table (city prefixed to the unit ids), the worst case of one
ten-million-row file.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gc
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from timing import cached_province, gib, peak_rss

TARGET_SECONDS = 30.0
TARGET_BYTES = 4 << 30




def province(cache: Path, seed: int) -> tuple[Path, dict]:
    """The cached province for this seed and this version of the generator, made if absent."""
    from honorcalc.datasets.province import write_province

    return cached_province(cache, seed, write_province, "province")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "honorcalc-bench")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--cities", type=int, default=16, help="run only the first N cities")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (cities split between them)")
    parser.add_argument("--one-frame", action="store_true",
                        help="also validate all cities' scores as one table")
    args = parser.parse_args(argv)

    root, info = province(args.cache, args.seed)
    cities = info["cities"][: args.cities]
    rows = sum(c["score_rows"] for c in cities)
    units = sum(c["units"] for c in cities)
    print(f"province: {len(cities)} cities, {units} units, {rows:,} score rows "
          f"(cache {root}); {os.cpu_count()} CPUs")

    start = time.perf_counter()
    if args.jobs == 1:
        results = [run_cities(root, cities)]
    else:
        shares = [cities[k::args.jobs] for k in range(args.jobs)]
        with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
            results = list(pool.map(run_cities, [root] * args.jobs, shares))
    total = time.perf_counter() - start

    for stage in STAGES:
        wall = sum(r["wall"][stage] for r in results)
        cpu = sum(r["cpu"][stage] for r in results)
        peak = max(r["peak"][stage] for r in results)
        print(f"{stage:<12} {wall:8.2f} s wall {cpu:8.2f} s CPU   peak RSS {gib(peak)}"
              f"   ({rows / wall / 1e6:5.2f} M rows/s)")
    peak = max(max(r["peak"].values()) for r in results)
    rounds = sum(r["rounds"] for r in results)
    listed = sum(r["listed"] for r in results)
    ok = total < TARGET_SECONDS and peak < TARGET_BYTES
    print(f"{'total':<12} {total:8.2f} s wall ({args.jobs} process{'es' if args.jobs > 1 else ''})"
          f"   peak RSS {gib(peak)}   targets < {TARGET_SECONDS:.0f} s, < {gib(TARGET_BYTES)}: "
          f"{'met' if ok else 'MISSED'}   ({rounds} rounds, {listed} listings)")

    if args.one_frame:
        one_frame(root, cities)
    return 0 if ok else 1


STAGES = ("load", "validate", "score+rank")


def run_cities(root: Path, cities: list[dict]) -> dict:
    """Every stage for these cities, one after the other; seconds and peak RSS per stage."""
    import warnings

    from honorcalc.data.read import read_raw_tables
    from honorcalc.data.validate import validate_tables
    from honorcalc.params import Params
    from honorcalc.rules.evaluate import evaluate_rounds

    wall = dict.fromkeys(STAGES, 0.0)
    cpu = dict.fromkeys(STAGES, 0.0)
    peaks = dict.fromkeys(STAGES, 0)
    rounds = listed = 0

    def timed(stage, func, *a):
        w, c = time.perf_counter(), time.process_time()
        out = func(*a)
        wall[stage] += time.perf_counter() - w
        cpu[stage] += time.process_time() - c
        peaks[stage] = max(peaks[stage], peak_rss())
        return out

    def evaluate(dataset, params):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return evaluate_rounds(dataset.units, dataset.indicators, dataset.rounds,
                                   dataset.scores, dataset.deductions, dataset.surveys, params)

    for city in cities:
        directory = root / city["dir"]
        tables, files, formats = timed("load", read_raw_tables, directory)
        dataset = timed("validate", partial(validate_tables, files=files, formats=formats), tables)
        del tables
        params = Params(dataset=str(directory), round=str(dataset.rounds["round_id"].iloc[0]))
        evaluation = timed("score+rank", evaluate, dataset, params)
        rounds += len(evaluation.rounds)
        listed += int(evaluation.results["list"].isin(["red", "black"]).sum())
        del dataset, evaluation
        gc.collect()
    return {"wall": wall, "cpu": cpu, "peak": peaks, "rounds": rounds, "listed": listed}


def one_frame(root: Path, cities: list[dict]) -> None:
    """Validate the province's scores as one table of ~10M rows (the cities' units merged)."""
    import pandas as pd

    from honorcalc.data.read import read_raw_tables
    from honorcalc.data.validate import validate_tables

    parts: dict[str, list] = {t: [] for t in ("units", "indicators", "rounds", "scores")}
    for city in cities:
        tables, _, _ = read_raw_tables(root / city["dir"])
        for table in ("units", "scores"):
            frame = tables[table]
            frame["unit_id"] = city["city_id"] + "-" + frame["unit_id"]
            parts[table].append(frame)
        if not parts["indicators"]:
            parts["indicators"].append(tables["indicators"])
            parts["rounds"].append(tables["rounds"])
    merged = {t: pd.concat(p, ignore_index=True) for t, p in parts.items()}
    del parts
    gc.collect()
    start = time.perf_counter()
    dataset = validate_tables(merged)
    seconds = time.perf_counter() - start
    print(f"{'validate as one frame':<21} {seconds:8.2f} s wall   peak RSS {gib(peak_rss())}"
          f"   ({len(dataset.scores):,} score rows in one table)")


if __name__ == "__main__":
    sys.exit(main())
