"""The fairness tables of a round run, assembled from the analyses."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..params import Params
from ..rules import Evaluation, _frames, evaluate_rounds
from ..scoring import (
    order_rounds,
)
from .base import (
    check_params,
)
from .groups import group_fairness
from .laggards import LAGGARD_COLUMNS, flag_laggards, sort_rules, year_window
from .raters import (
    RATER_COLUMNS,
    RELIABILITY_COLUMNS,
    rater_consistency,
    rater_severity,
)
from .stability import list_stability
from .variance import COMPONENTS, variance_components
from .visits import visit_gap

__all__ = ["fairness_tables"]



def fairness_tables(dataset, params: Params, evaluation: Evaluation | None = None) -> dict[str, pd.DataFrame]:
    """The fairness tables of the report round, keyed by file name.

    Parameters
    ----------
    dataset : object
        The six tables as attributes (`honorcalc.validation.Dataset`).
    params : Params
        ``round`` is the report round.
    evaluation : Evaluation, optional
        `honorcalc.rules.evaluate_rounds` of the dataset (at least every round up to
        the report round's date), to avoid evaluating twice; computed when not given.

    Returns
    -------
    dict of str to DataFrame
        ``raters.csv`` (`rater_severity`), ``reliability.csv`` (the G-study rows of
        `variance_components`, scope ``source``, then `rater_consistency`),
        ``laggards.csv`` (`flag_laggards` rows, then the ``open_visit`` rows of
        `visit_gap`), ``stability.csv`` (`list_stability`) and ``groups.csv``
        (`group_fairness`) and ``visits.csv`` (`visit_gap` for every unit with open
        and covert visits), each with a fixed column order and a deterministic row
        order.

    Raises
    ------
    InputError
        The report round is not in the dataset or the evaluation; a table breaks the
        contract.

    Notes
    -----
    Raters, reliability, stability and groups are about the report round; laggards
    and the open/covert gap look at the rounds of its calendar year up to it. The
    seeds used are in each table's ``seed`` column.

    Examples
    --------
    The demo city's report round (about 1 s):

    >>> from honorcalc.io import load_dataset                       # doctest: +SKIP
    >>> tables = fairness_tables(load_dataset("data/demo"),
    ...                          Params(dataset="data/demo", round="C2026Q2"))  # doctest: +SKIP
    >>> tables["raters.csv"].query("flagged")[["rater_id", "severity", "direction"]]  # doctest: +SKIP
      rater_id  severity direction
    12     R05  1.412812     harsh
    16     R09 -1.171579   lenient
    >>> fairness_findings(tables)[0]                                  # doctest: +SKIP
    '评分人 R05 平均比共识低 1.4 分（按满分10分的指标计，95%置信区间 1.3–1.5），评分明显偏严。'
    """
    check_params(params)
    frames = _frames(dataset)
    round_id = params.round
    ordered = order_rounds(frames["rounds"])
    if round_id not in set(ordered["round_id"]):
        raise InputError(f"round {round_id!r} is not in the dataset", file="rounds")
    date = ordered.loc[ordered["round_id"] == round_id, "date"].iloc[0]
    upto = set(ordered.loc[ordered["date"] <= date, "round_id"])
    if evaluation is None:
        sub = {t: f[f["round_id"].isin(upto)] if "round_id" in f.columns else f for t, f in frames.items()}
        evaluation = evaluate_rounds(sub["units"], sub["indicators"], sub["rounds"], sub["scores"],
                                     sub["deductions"], sub["surveys"], params)
    results = getattr(evaluation, "results", None)
    if not isinstance(results, pd.DataFrame) or round_id not in set(results["round_id"].unique()):
        raise InputError(f"the evaluation given has no results for round {round_id!r}")
    results = results[results["round_id"].isin(upto)]
    scores, indicators = frames["scores"], frames["indicators"]
    this = scores[scores["round_id"] == round_id]

    raters = rater_severity(this, indicators, params)

    g = variance_components(this, indicators, params)
    g_rows = []
    for row in g.itertuples(index=False):
        for stat in (*(f"var_{c}" for c in (*COMPONENTS, "residual")), "share_unit", "phi"):
            g_rows.append({"round_id": row.round_id, "scope": "source", "key": row.source,
                           "statistic": stat.replace("var_", "variance_"), "value": getattr(row, stat),
                           "ci_low": np.nan, "ci_high": np.nan, "ci_level": np.nan, "p_value": np.nan,
                           "n_units": row.n_units, "n_raters": row.n_raters,
                           "note": "; ".join(filter(None, [
                               f"Method I G-study on points of 100; {row.raters_per_cell:.2f} raters per "
                               f"unit × indicator", row.note])),
                           "seed": ""})
    reliability = pd.concat([pd.DataFrame(g_rows, columns=list(RELIABILITY_COLUMNS)),
                             rater_consistency(this, indicators, params)], ignore_index=True)

    window = year_window(results, round_id)
    laggards = flag_laggards(results, params, round_id).table
    gap = visit_gap(scores[scores["round_id"].isin(window["round_id"].unique())], indicators, params)
    flagged = gap[gap["flagged"].astype(bool)]
    if len(flagged):
        names = window.drop_duplicates("unit_id").set_index("unit_id")["name"]
        visits = pd.DataFrame({
            "round_id": round_id, "unit_id": flagged["unit_id"].to_numpy(),
            "name": flagged["unit_id"].map(names).to_numpy(), "rule": "open_visit",
            "measure": "covert minus open (points of 100)", "evidence": flagged["gap"].to_numpy(),
            "threshold": -params.fairness.visit_gap_min, "p_value": np.nan,
            "ci_low": flagged["ci_low"].to_numpy(), "ci_high": flagged["ci_high"].to_numpy(),
            "rounds": flagged["rounds"].to_numpy(), "n_rounds": flagged["n_rounds"].to_numpy(),
            "false_alarm_rate": np.nan, "seed": "",
        })
        laggards = sort_rules(pd.concat([laggards, visits], ignore_index=True))

    stability = list_stability(scores, indicators, results, params, round_id)
    groups = group_fairness(frames["units"], results[results["round_id"] == round_id], this, raters, params)
    return {
        "raters.csv": raters[list(RATER_COLUMNS)],
        "reliability.csv": reliability[list(RELIABILITY_COLUMNS)],
        "laggards.csv": laggards[list(LAGGARD_COLUMNS)],
        "stability.csv": stability,
        "groups.csv": groups,
        "visits.csv": gap.sort_values("unit_id", kind="stable").reset_index(drop=True),
    }
