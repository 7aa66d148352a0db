"""Speed of honorcalc.fairness on the workloads the report runs.

Run ``.venv/bin/python benchmarks/bench_fairness.py`` (plain ``pytest`` does not collect
this folder: its testpaths is ``tests``). Each benchmark prints one line with its best
wall time over ``--repeat`` runs:

* the whole fairness analysis (`fairness_tables`, given the evaluation) of a simulated
  city of 160 units and 8 comprehensive rounds, against its budget of 2 s, and of the
  largest city of the province generator (600 units, 28 rounds);
* the stability Monte Carlo, 1,000 replicates of the 160-unit city (every round
  replicated at once; measurement errors drawn from each round's G-study);
* `fairness_tables` on the demo city's report round (``params/demo.yaml``: C2026Q2),
  and on its last round, C2026Q4 (the laggard rules then see a whole year), each
  followed by `severity_adjusted_lists` with the raters it found; alone, as a caller
  with only the dataset runs them (three evaluations of the rounds), and given the
  round's evaluation, as a report that has it can (one evaluation: the adjusted
  scores');
* the variance components of one round's field scores by Method I, and, with
  ``--mixedlm``, the same G-study by statsmodels' MixedLM (REML, crossed variance
  components without the unit × indicator facet, which makes it slower still): the
  measurement behind `honorcalc.fairness.variance_components` using Method I.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from timing import best_time

from honorcalc.datasets.demo import make_demo_city
from honorcalc.fairness import (
    fairness_tables,
    list_replicates,
    severity_adjusted_lists,
    variance_components,
)
from honorcalc.params import Params
from honorcalc.rules.evaluate import evaluate_round, evaluate_rounds

SEED = 20240601


def report(name: str, seconds: float, detail: str = "") -> None:
    print(f"{name:<64} {seconds:8.3f} s  {detail}")


def simulated_city(n_units: int = 160, n_rounds: int = 8, seed: int = SEED) -> dict[str, pd.DataFrame]:
    """A city of ``n_units`` units in four ranking groups and ``n_rounds`` quarterly rounds.

    Twenty 5-point indicators: fifteen scored by two or three of a unit's three field
    inspectors (from 14), five by one rater of each other source.
    """
    rng = np.random.default_rng(seed)
    units = pd.DataFrame({
        "unit_id": [f"U{k:03d}" for k in range(n_units)],
        "name": [f"单位{k}" for k in range(n_units)],
        "kind": np.where(np.arange(n_units) < n_units // 4, "industry", "territorial"),
        "group": np.array(["市直部门", "县区", "街道", "社区"])[np.arange(n_units) * 4 // n_units],
        "size": rng.lognormal(8, 1, n_units).round(),
    })
    indicators = pd.DataFrame({
        "indicator_id": [f"I{k:02d}" for k in range(20)], "name": [f"指标{k}" for k in range(20)],
        "category": [f"C{k // 4}" for k in range(20)], "max_points": 5.0, "topic": np.nan,
    })
    dates = pd.date_range("2025-03-31", periods=n_rounds, freq="QE")
    rounds = pd.DataFrame({"round_id": [f"C{d.year}Q{d.quarter}" for d in dates], "kind": "comprehensive",
                           "topic": np.nan, "date": dates})
    quality = rng.normal(0.83, 0.06, n_units)
    severity = rng.normal(0, 0.02, 14)
    rows = []
    for r in rounds["round_id"]:
        level = quality + rng.normal(0, 0.03, n_units)
        for u in range(n_units):
            team = rng.choice(14, 3, replace=False)
            for i in range(15):
                for k in team[rng.random(3) < 0.85]:
                    rows.append((r, u, i, f"R{k + 1:02d}", "field", level[u] + severity[k]))
            for i, source in zip(range(15, 20), ("daily", "feedback", "leader", "public", "daily")):
                rows.append((r, u, i, f"{source[0].upper()}01", source, level[u]))
    s = pd.DataFrame(rows, columns=["round_id", "unit", "ind", "rater_id", "source", "share"])
    s = s.drop_duplicates(["round_id", "unit", "ind", "rater_id", "source"])
    share = s["share"].to_numpy() + rng.normal(0, 0.06, len(s))
    scores = pd.DataFrame({
        "round_id": s["round_id"].to_numpy(), "unit_id": units["unit_id"].to_numpy()[s["unit"]],
        "indicator_id": indicators["indicator_id"].to_numpy()[s["ind"]], "rater_id": s["rater_id"].to_numpy(),
        "source": s["source"].to_numpy(), "points": np.round(np.clip(share, 0, 1) * 10) / 2, "visit": np.nan,
    })
    empty_deductions = pd.DataFrame({c: pd.Series(dtype=object) for c in
                                     ("round_id", "unit_id", "code", "points", "role", "verified", "note")})
    empty_surveys = pd.DataFrame({c: pd.Series(dtype=object) for c in
                                  ("round_id", "unit_id", "respondents", "satisfied")})
    return {"units": units, "indicators": indicators, "rounds": rounds, "scores": scores,
            "deductions": empty_deductions, "surveys": empty_surveys}


class _Dataset:
    def __init__(self, tables):
        for name, frame in tables.items():
            setattr(self, name, frame)


#: What the whole fairness analysis of the 160-unit, 8-round city may take.
BUDGET = 2.0


def bench_city(repeat: int) -> None:
    city = simulated_city()
    params = Params(dataset=".", round="C2026Q4", seed=SEED)
    ev = evaluate_rounds(*(city[t] for t in ("units", "indicators", "rounds", "scores", "deductions",
                                             "surveys")), params)
    seconds, _ = best_time(lambda: fairness_tables(_Dataset(city), params, ev), repeat)
    report("fairness_tables, 160 units × 8 rounds, given the evaluation", seconds,
           f"{seconds / BUDGET:.2f}× the {BUDGET:g} s budget")
    from honorcalc.datasets.province import city_sizes, make_city

    sizes = city_sizes()
    big = int(np.argmax(sizes))
    tables = make_city(big, int(sizes[big]))
    last = tables["rounds"].sort_values("date")["round_id"].iloc[-1]
    params = Params(dataset=".", round=str(last), seed=SEED)
    ev = evaluate_rounds(*(tables[t] for t in ("units", "indicators", "rounds", "scores", "deductions",
                                               "surveys")), params)
    seconds, _ = best_time(lambda: fairness_tables(_Dataset(tables), params, ev), repeat)
    report(f"fairness_tables, province's largest city ({sizes[big]} units), last round", seconds,
           f"{len(tables['scores']):,} score rows")


def bench_stability(repeat: int) -> None:
    city = simulated_city()
    params = Params(dataset=".", round="C2026Q4", seed=SEED)
    ev = evaluate_rounds(*(city[t] for t in ("units", "indicators", "rounds", "scores", "deductions",
                                             "surveys")), params)
    round_ids = list(city["rounds"]["round_id"])
    seconds, rep = best_time(lambda: list_replicates(city["scores"], city["indicators"], ev.results, params,
                                                     1000, round_ids=round_ids), repeat)
    report("stability: 1,000 replicates × (160 units × 8 rounds)", seconds,
           f"{len(city['scores']):,} score rows; {rep.rank.shape[1]} unit-rounds")


def bench_tables(repeat: int) -> None:
    demo = _Dataset(make_demo_city())
    for round_id in ("C2026Q2", "C2026Q4"):
        params = Params(dataset=".", round=round_id, seed=20260630)
        seconds, tables = best_time(lambda: fairness_tables(demo, params), repeat)
        rows = ", ".join(f"{name} {len(frame)}" for name, frame in tables.items())
        report(f"fairness_tables on the demo city, {round_id}", seconds, rows)
        raters = tables["raters.csv"]
        seconds, side = best_time(lambda: severity_adjusted_lists(demo, params, raters), repeat)
        report(f"severity_adjusted_lists on the demo city, {round_id}", seconds,
               f"{int(side['changed'].sum())} units change list")
        evaluation = evaluate_round(demo, params).evaluation

        def given_evaluation():
            tables = fairness_tables(demo, params, evaluation)
            return severity_adjusted_lists(demo, params, tables["raters.csv"], evaluation=evaluation)

        seconds, _ = best_time(given_evaluation, repeat)
        report(f"both, given the round's evaluation, {round_id}", seconds)


def bench_variance(repeat: int, mixedlm: bool) -> None:
    demo = make_demo_city()
    scores = demo["scores"]
    field = scores[(scores["round_id"] == "C2026Q2") & (scores["source"] == "field")]
    params = Params(dataset=".", round="C2026Q2")
    seconds, g = best_time(lambda: variance_components(field, demo["indicators"], params), repeat)
    row = g.iloc[0]
    report("variance components, Method I (demo C2026Q2 field)", seconds,
           f"unit {row.var_unit:.1f}, rater {row.var_rater:.1f}, indicator {row.var_indicator:.1f}, "
           f"unit×indicator {row.var_unit_x_indicator:.1f}, residual {row.var_residual:.1f}")
    if not mixedlm:
        return
    import statsmodels.api as sm

    data = field.merge(demo["indicators"][["indicator_id", "max_points"]], on="indicator_id")
    data = data.assign(pct=data["points"] / data["max_points"] * 100, one=1)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sm.MixedLM.from_formula(
            "pct ~ 1", groups="one", data=data,
            vc_formula={"unit": "0 + C(unit_id)", "rater": "0 + C(rater_id)",
                        "indicator": "0 + C(indicator_id)"})
        fit = model.fit(reml=True)
    seconds = time.perf_counter() - start
    vc = dict(zip(model.exog_vc.names, fit.vcomp))
    report("variance components, statsmodels MixedLM REML (no unit×indicator)", seconds,
           f"unit {vc['unit']:.1f}, rater {vc['rater']:.1f}, indicator {vc['indicator']:.1f}, "
           f"residual {fit.scale:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per benchmark; the best is reported")
    parser.add_argument("--mixedlm", action="store_true", help="also time statsmodels MixedLM (about 20 s)")
    args = parser.parse_args()
    bench_city(args.repeat)
    bench_stability(args.repeat)
    bench_tables(args.repeat)
    bench_variance(args.repeat, args.mixedlm)


if __name__ == "__main__":
    main()
