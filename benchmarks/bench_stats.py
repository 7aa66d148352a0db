"""Speed of honorcalc.stats against its peers, both timed in the same run.

Run ``.venv/bin/python benchmarks/bench_stats.py`` (plain ``pytest`` does not collect
this folder: its testpaths is ``tests``). Each benchmark prints one line: our time, the
peer's time, their ratio, and the largest difference between the two results, so a
speed-up never hides a wrong answer. Timings are the best of ``--repeat`` runs; the
krippendorff package runs once on continuous data, where one call takes most of a minute.

The krippendorff package (0.9) builds an n_units × V × V coincidence tensor (V distinct
values), about 14 GB for 300 × 5 continuous ratings. It runs under an address-space
limit of 85% of the memory available, so a machine too small for it prints a
``MemoryError`` line instead of swapping.
"""

from __future__ import annotations

import argparse
import resource
import warnings

import numpy as np
import pandas as pd
from timing import best_time

from honorcalc.stats.agreement import icc, krippendorff_alpha

SEED = 20240601


def report(name: str, ours: float, peer: float | None, peer_name: str, diff: float | None) -> None:
    if peer is None:
        print(f"{name:<48} honorcalc {ours * 1e3:10.2f} ms | {peer_name} failed (see above)")
        return
    print(
        f"{name:<48} honorcalc {ours * 1e3:10.2f} ms | {peer_name} {peer * 1e3:12.2f} ms"
        f" | ratio {peer / ours:10.1f}x | max |diff| {diff:.1e}"
    )


def _meminfo_bytes(key: str, path: str) -> int | None:
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def run_memory_capped(func):
    """Run ``func`` with the address space capped near the memory actually available."""
    available = _meminfo_bytes("MemAvailable", "/proc/meminfo")
    in_use = _meminfo_bytes("VmSize", "/proc/self/status")
    if available is None or in_use is None:
        return func()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = in_use + int(0.85 * available)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        return func()
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def bench_alpha_interval(rng, repeat: int) -> None:
    import krippendorff

    n_raters, n_units = 5, 300
    data = rng.normal(70, 10, size=(n_raters, n_units))
    data[rng.random(data.shape) < 0.10] = np.nan
    name = "alpha interval, 300 units x 5 raters, 10% NaN"
    ours, res = best_time(lambda: krippendorff_alpha(data, level_of_measurement="interval"), repeat)
    try:
        peer, ref = best_time(
            lambda: run_memory_capped(
                lambda: krippendorff.alpha(data, level_of_measurement="interval")
            ),
            1,
        )
    except MemoryError:
        values = np.unique(data[~np.isnan(data)]).size
        print(f"krippendorff.alpha: MemoryError (n_units x V x V tensor, V = {values})")
        report(name, ours, None, "krippendorff", None)
        return
    report(name, ours, peer, "krippendorff", abs(res.alpha - ref))


def bench_alpha_ordinal(rng, repeat: int) -> None:
    import krippendorff

    data = rng.integers(0, 101, size=(5, 300)).astype(float)
    data[rng.random(data.shape) < 0.10] = np.nan
    name = "alpha ordinal, 300 x 5, scores 0-100, 10% NaN"
    ours, res = best_time(lambda: krippendorff_alpha(data, level_of_measurement="ordinal"), repeat)
    peer, ref = best_time(lambda: krippendorff.alpha(data, level_of_measurement="ordinal"), repeat)
    report(name, ours, peer, "krippendorff", abs(res.alpha - ref))


def bench_icc_stack(rng, repeat: int) -> None:
    import pingouin

    n_matrices, n_units, n_raters = 200, 300, 5
    stack = (
        rng.normal(0, 1, size=(n_matrices, n_units, 1))
        + rng.normal(0, 0.3, size=(n_matrices, 1, n_raters))
        + rng.normal(0, 0.7, size=(n_matrices, n_units, n_raters))
    )
    # pingouin takes long format; the reshaping is done before its clock starts
    longs = [
        pd.DataFrame(m).rename_axis("unit").reset_index()
        .melt(id_vars="unit", var_name="rater", value_name="score")
        for m in stack
    ]
    name = "ICC, 200 matrices of 300 units x 5 raters"
    ours, res = best_time(lambda: icc(stack).table, repeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer, refs = best_time(
            lambda: [
                pingouin.intraclass_corr(m, targets="unit", raters="rater", ratings="score")
                for m in longs
            ],
            max(1, repeat // 3),
        )
    ref_icc = np.concatenate([r["ICC"].to_numpy() for r in refs])
    report(name, ours, peer, "pingouin    ", float(np.max(np.abs(res["ICC"].to_numpy() - ref_icc))))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (best kept)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(SEED)
    bench_alpha_interval(rng, args.repeat)
    bench_alpha_ordinal(rng, args.repeat)
    bench_icc_stack(rng, args.repeat)


if __name__ == "__main__":
    main()
