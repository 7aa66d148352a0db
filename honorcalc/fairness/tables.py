"""The fairness tables of a round run, assembled from the analyses."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..data.contract import dataset_frames, mapped, require_round, text_ids
from ..data.read import release_freed_memory
from ..errors import InputError
from ..params import Params
from ..rules.evaluate import Evaluation, evaluate_rounds
from ..rules.scoring import order_rounds
from .base import FINAL_SCORES_NOTE, check_params, in_two_lanes, with_rater
from .final_scores import final_score_rows
from .groups import group_fairness
from .laggards import (
    CALIBRATION_COLUMNS,
    EVIDENCE_COLUMNS,
    LAGGARD_COLUMNS,
    flag_laggards,
    sort_rules,
    year_window,
)
from .memory import check_memory, fairness_sizes, fit_together, memory_needs
from .ranks import funnel_limits
from .raters import (
    RATER_COLUMNS,
    RELIABILITY_COLUMNS,
    rater_consistency,
    rater_separation,
    rater_severity,
)
from .stability import list_stability, weight_sensitivity
from .variance import COMPONENTS, variance_components
from .visits import visit_gap

__all__ = ["FAIRNESS_TABLES", "FUNNEL_COLUMNS", "fairness_tables"]

#: The files `fairness_tables` returns, in order.
FAIRNESS_TABLES = (
    "raters.csv", "reliability.csv", "laggards.csv", "laggard_units.csv", "laggard_calibration.csv",
    "stability.csv", "weights.csv", "funnel.csv", "groups.csv", "visits.csv",
)

#: ``funnel.csv``: each ranked unit's score against its precision, with overdispersed limits.
FUNNEL_COLUMNS = (
    "round_id", "unit_id", "name", "ranking_group", "score", "se", "precision", "target", "tau2", "z",
    "z_adjusted", "level_inner", "lower_inner", "upper_inner", "status_inner", "level_outer", "lower_outer",
    "upper_outer", "status_outer", "note",
)


def fairness_tables(dataset, params: Params, evaluation: Evaluation | None = None) -> dict[str, pd.DataFrame]:
    """The fairness tables of the report round, keyed by file name (`FAIRNESS_TABLES`).

    Parameters
    ----------
    dataset : object
        The six tables as attributes (`honorcalc.data.Dataset`).
    params : Params
        ``round`` is the report round.
    evaluation : Evaluation, optional
        `honorcalc.rules.evaluate_rounds` of the dataset (at least every round up to
        the report round's date), to avoid evaluating twice; computed when not given.

    Returns
    -------
    dict of str to DataFrame
        ``raters.csv`` (`rater_severity`); ``reliability.csv`` (scope ``source``: the
        G-study of `variance_components` with its bootstrap intervals, Φ and the
        raters needed for ``phi_target``; then `rater_consistency`; then scope
        ``raters``: `rater_separation`; then, where scores name no rater, scope
        ``final_scores``: `honorcalc.fairness.final_scores.final_score_rows`, the
        questions such scores cannot answer, with the reason); ``laggards.csv`` (the units
        `flag_laggards` calls, then the ``open_visit`` rows of `visit_gap`);
        ``laggard_units.csv`` (every unit's laggard evidence, p and q values and
        status) and ``laggard_calibration.csv`` (the null's achieved rates);
        ``stability.csv`` (`list_stability`); ``weights.csv``
        (`weight_sensitivity`); ``funnel.csv`` (`FUNNEL_COLUMNS`, from
        `honorcalc.fairness.ranks.funnel_limits` on the scores and their
        measurement errors); ``groups.csv`` (`group_fairness`) and ``visits.csv``
        (`visit_gap` for every unit with open and covert visits), each with a fixed
        column order and a deterministic row order.

    Raises
    ------
    InputError
        The report round is not in the dataset or the evaluation; a table breaks the
        contract.
    ParamError
        A simulation would not fit in the memory at hand (`honorcalc.fairness.memory`):
        the message names its parameter and a value of it that fits.

    Notes
    -----
    Raters, reliability, stability, weights, funnel and groups are about the report
    round; laggards and the open/covert gap look at the rounds of its calendar year up
    to it. The seeds used are in each table's ``seed`` column.

    Final scores (no 评分人 recorded, rater ``final:<source>``) are not taken for a
    rater's: agreement, severity and the open/covert gap run on the rows that name a
    rater; a pseudo-rater is listed in ``raters.csv`` as 'not_estimable' with the
    reason; a G-study of final scores only gives no unit share; and a unit none of
    whose error is known has no rank interval (`list_stability`).

    Examples
    --------
    The demo city's report round (about 1 s):

    >>> from honorcalc.data import load_dataset                       # doctest: +SKIP
    >>> tables = fairness_tables(load_dataset("data/demo"),
    ...                          Params(dataset="data/demo", round="C2026Q2"))  # doctest: +SKIP
    >>> tables["raters.csv"].query("flagged")[["rater_id", "severity", "status"]]  # doctest: +SKIP
      rater_id  severity   status
    12     R05  1.412812    harsh
    16     R09 -1.171579  lenient
    """
    check_params(params)
    frames = dataset_frames(dataset)
    round_id = params.round
    ordered = order_rounds(frames["rounds"])
    require_round(ordered, round_id)
    date = ordered.loc[ordered["round_id"] == round_id, "date"].iloc[0]
    upto = set(ordered.loc[ordered["date"] <= date, "round_id"])
    if evaluation is None:
        sub = {t: f[f["round_id"].isin(upto)] if "round_id" in f.columns else f for t, f in frames.items()}
        evaluation = evaluate_rounds(sub["units"], sub["indicators"], sub["rounds"], sub["scores"],
                                     sub["deductions"], sub["surveys"], params,
                                     responsibility=sub["responsibility"])
    results = getattr(evaluation, "results", None)
    if not isinstance(results, pd.DataFrame) or round_id not in set(results["round_id"].unique()):
        raise InputError(f"the evaluation given has no results for round {round_id!r}")
    results = results[results["round_id"].isin(upto)]
    scores, indicators = frames["scores"], frames["indicators"]
    this = scores[scores["round_id"] == round_id]
    # every simulation sized from the data before any runs: what would not fit is refused, naming its parameter
    sizes = fairness_sizes(results, params, round_id, scores=this, indicators=indicators, units=frames["units"])
    needs = memory_needs(sizes, params)
    check_memory(needs)
    window = year_window(results, round_id)
    in_window = scores["round_id"].isin(window["round_id"].unique()).to_numpy(dtype=bool)
    # the whole year up to the report round is most often every round: then no copy of the scores
    in_window = scores if in_window.all() else scores[in_window]
    blended = params.history.weight > 0 and params.history.rounds > 0
    # two analyses at once only where every simulation's memory fits at the same time
    concurrent = (os.cpu_count() or 1) > 1 and fit_together(needs)

    # Two lanes, each needing no result of the other: about a third of a province's time. The
    # open/covert gap (the year's field rows: the most memory) meets the laggards (the results
    # only), not the stability analysis, which follows it in its lane.
    d = in_two_lanes([
        ("gap", lambda d: _releasing(visit_gap(in_window, indicators, params))),
        ("lag", lambda d: flag_laggards(results, params, round_id)),
        ("raters", lambda d: rater_severity(this, indicators, params)),
        ("g", lambda d: variance_components(this, indicators, params)),
        ("final", lambda d: final_score_rows(this, round_id, in_window)),
        ("consistency", lambda d: rater_consistency(this, indicators, params)),
        ("separation", lambda d: rater_separation(d["raters"], this, params)),
        # the G-study of the round serves the stability analysis too, unless history blends in
        # earlier rounds, whose own G-studies it then needs
        ("stability", lambda d: list_stability(scores, indicators, results, params, round_id,
                                               components=None if blended else d["g"])),
        ("weights", lambda d: weight_sensitivity(scores, indicators, results, params, round_id)),
        ("groups", lambda d: group_fairness(frames["units"], results[results["round_id"] == round_id], this,
                                            d["raters"], params)),
    ], side={"lag", "raters", "final", "consistency", "separation", "groups"}, concurrent=concurrent)
    raters, stability, weights, groups = d["raters"], d["stability"], d["weights"], d["groups"]
    parts = [_g_study_rows(d["g"], _final_sources(this)), d["consistency"], d["separation"]]
    reliability = pd.concat(parts, ignore_index=True)
    final = d["final"]
    if len(final):
        reliability = pd.concat([reliability, final], ignore_index=True) if len(reliability) else final

    lag, gap = d["lag"], d["gap"]
    laggards = lag.table
    flagged = gap[gap["flagged"].astype(bool)]
    if len(flagged):
        names = window.drop_duplicates("unit_id").set_index("unit_id")["name"]
        visits = pd.DataFrame({
            "round_id": round_id, "unit_id": flagged["unit_id"].to_numpy(),
            "name": mapped(flagged["unit_id"], names).to_numpy(), "rule": "open_visit",
            "measure": "covert minus open beyond the city's (points of 100)", "evidence": flagged["excess"].to_numpy(),
            "threshold": -params.fairness.visit_gap_min, "p_value": flagged["p_value"].to_numpy(),
            "ci_low": flagged["ci_low"].to_numpy(), "ci_high": flagged["ci_high"].to_numpy(),
            "rounds": flagged["rounds"].to_numpy(), "n_rounds": flagged["n_rounds"].to_numpy(),
            "false_alarm_rate": np.nan, "seed": "", "q_value": flagged["q_value"].to_numpy(),
            "fdr": 1 - params.fairness.confidence_level, "rules": "open_visit",
        })
        laggards = sort_rules(pd.concat([laggards, visits], ignore_index=True))
    funnel = _funnel(stability, results[results["round_id"] == round_id], params)
    return {
        "raters.csv": raters[list(RATER_COLUMNS)],
        "reliability.csv": reliability[list(RELIABILITY_COLUMNS)],
        "laggards.csv": laggards[list(LAGGARD_COLUMNS)],
        "laggard_units.csv": lag.evidence[list(EVIDENCE_COLUMNS)],
        "laggard_calibration.csv": lag.calibration[list(CALIBRATION_COLUMNS)],
        "stability.csv": stability,
        "weights.csv": weights,
        "funnel.csv": funnel,
        "groups.csv": groups,
        "visits.csv": gap.sort_values("unit_id", kind="stable").reset_index(drop=True),
    }


def _releasing(result):
    """``result``, once the memory freed making it is given back (`release_freed_memory`)."""
    release_freed_memory()
    return result


def _final_sources(scores: pd.DataFrame) -> set:
    """The (round_id, source) pairs whose every score is a final score, with no rater recorded."""
    if scores.empty:
        return set()
    final = pd.Series(~with_rater(scores), index=scores.index)
    # grouped by the columns themselves: ids held as codes are not written out row by row
    whole = final.groupby([text_ids(scores["round_id"]), text_ids(scores["source"])], observed=True).all()
    return set(whole.index[whole.to_numpy()])


def _g_study_rows(g: pd.DataFrame, final: set = frozenset()) -> pd.DataFrame:
    """``reliability.csv`` rows of the G-study: each component, the unit share, Φ and the raters needed.

    For a source of final scores only (``final``: its (round_id, source) pairs) the
    unit's variance holds the inspection team's lasting impression of the unit and
    the residual holds the rater error, so the unit's share is not given.
    """
    rows = []
    for row in g.to_dict("records"):
        only_final = (row["round_id"], row["source"]) in final
        note = "; ".join(filter(None, [
            f"Method I G-study on points of 100; {row['raters_per_cell']:.2f} raters per unit × indicator",
            f"status {row['status']}", row["note"],
            f"{FINAL_SCORES_NOTE}: the unit's variance holds the raters' lasting impression of it and the residual "
            "holds their error, so the unit's share is not given" if only_final else ""]))
        if only_final:
            row = {**row, "share_unit": np.nan}
        base = {"round_id": row["round_id"], "scope": "source", "key": row["source"],
                "ci_level": row["ci_level"] if row["n_bootstrap"] > 0 else np.nan, "p_value": np.nan,
                "n_units": row["n_units"], "n_raters": row["n_raters"], "seed": row["seed"]}
        for stat in (*(f"var_{c}" for c in (*COMPONENTS, "residual")), "share_unit", "phi", "raters_needed"):
            low, high = (row.get(f"{stat}_low", np.nan), row.get(f"{stat}_high", np.nan))
            extra = f"; D-study {row['d_study']} for Φ ≥ target" if stat == "raters_needed" else ""
            rows.append({**base, "statistic": stat.replace("var_", "variance_"), "value": row[stat],
                         "ci_low": low, "ci_high": high, "note": note + extra})
    return pd.DataFrame(rows, columns=list(RELIABILITY_COLUMNS))


def _funnel(stability: pd.DataFrame, results: pd.DataFrame, params: Params) -> pd.DataFrame:
    """``funnel.csv``: the ranked units whose score carries a measured error, against their group's centre."""
    fp = params.fairness
    groups = results.set_index("unit_id")["ranking_group"]
    # a source whose error is unknown leaves the se short; the overdispersion τ² of the limits
    # takes up variation the se does not explain, which is why the funnel keeps those units
    s = stability[stability["rank"].notna() & (stability["se"] > 0)]
    s = s.assign(ranking_group=mapped(s["unit_id"], groups)).sort_values(["ranking_group", "unit_id"], kind="stable")
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FUNNEL_COLUMNS})
    levels = sorted(fp.funnel_levels)
    inner, outer = levels[0], levels[-1]
    res = funnel_limits(s["score"].to_numpy(dtype=float), s["se"].to_numpy(dtype=float), level=tuple(levels),
                        winsor=fp.funnel_winsor, groups=s["ranking_group"].astype(str).to_numpy())
    table = res.table
    name = {lv: f"{100 * lv:.10g}" for lv in levels}
    out = pd.DataFrame({
        "round_id": s["round_id"].to_numpy(), "unit_id": s["unit_id"].to_numpy(), "name": s["name"].to_numpy(),
        "ranking_group": s["ranking_group"].to_numpy(),
        **{c: table[c].to_numpy() for c in ("score", "se", "precision", "target", "tau2", "z", "z_adjusted")},
        "level_inner": inner, "lower_inner": table[f"lower_{name[inner]}"].to_numpy(),
        "upper_inner": table[f"upper_{name[inner]}"].to_numpy(), "status_inner": table[f"status_{name[inner]}"].to_numpy(),
        "level_outer": outer, "lower_outer": table[f"lower_{name[outer]}"].to_numpy(),
        "upper_outer": table[f"upper_{name[outer]}"].to_numpy(), "status_outer": table[f"status_{name[outer]}"].to_numpy(),
        "note": table["note"].to_numpy(),
    })
    return out[list(FUNNEL_COLUMNS)].reset_index(drop=True)
