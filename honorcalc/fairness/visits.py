"""Do open visits score higher than covert ones? (RULES.md §2 明查/暗访)"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..params import Params
from .base import (
    check_params,
    rescaled,
    t_interval,
)
from .raters import fit_severity

__all__ = ["visit_gap"]


def visit_gap(scores: pd.DataFrame, indicators: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Covert-minus-open difference of each unit's field points (RULES.md §2 明查/暗访).

    Parameters
    ----------
    scores : DataFrame
        Score rows with ``visit`` (open | covert); `fairness_tables` passes the
        rounds of the report round's year up to it.
    indicators : DataFrame
        ``indicator_id``, ``category``, ``max_points``.
    params : Params
        ``fairness.visit_gap_min``, ``fairness.confidence_level``.

    Returns
    -------
    DataFrame
        One row per unit with at least one round in which an indicator was scored on
        both an open and a covert visit, sorted by unit_id: ``unit_id``,
        ``n_rounds`` (rounds with such pairs), ``n_pairs`` (round × indicator
        pairs), ``gap`` (covert − open, points of 100; negative = open visits score
        higher), ``se``, ``ci_low``, ``ci_high``, ``flagged`` (the interval lies below
        0 and gap ≤ -``visit_gap_min``), ``rounds`` (round_ids, ';'-joined), and
        ``city_gap`` with ``city_ci_low`` / ``city_ci_high``: the city-wide covert −
        open effect of the severity model and its interval (the same on every row;
        NaN when no unit × indicator had both visit types), against which a unit's
        own gap can be read.

    Notes
    -----
    Paired, not Welch: an open and a covert visit to the same unit in the same round
    and on the same indicator see the same state of the unit, so their difference
    d_ti = ȳ_covert - ȳ_open removes the unit's round-to-round variation. The
    differences of one round share its raters (a covert inspector's halo touches
    every indicator), so they are averaged within the round first,
    d_t = mean_i d_ti, and the gap is the mean of the d_t with a t interval on
    n_rounds - 1 degrees of freedom: the round is the independent replicate.

    Before pairing, every field rater's severity (`rater_severity`'s model, fitted on
    the same rows) is added back to the points, so that a harsh covert inspector does
    not make a unit look as if it performed for open visits. That model carries the
    visit effect as a term of its own, so that when covert inspectors are other
    people than open ones a city-wide open-visit advantage stays in the gap instead
    of being booked as the covert inspectors' severity and removed with it (the
    convention that makes the two separable: each visit type's inspectors are on
    average fair; see `rater_severity`).
    """
    check_params(params)
    fp = params.fairness
    cols = ["unit_id", "n_rounds", "n_pairs", "gap", "se", "ci_low", "ci_high", "flagged", "rounds", "city_gap",
            "city_ci_low", "city_ci_high"]
    if "visit" not in scores.columns:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    s = rescaled(scores, indicators)
    s = s[(s["source"] == "field") & s["visit"].isin(["open", "covert"])].reset_index(drop=True)
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    fit = fit_severity(s, min_units=fp.severity_min_units)
    severity = pd.Series(np.nan_to_num(fit.severity), index=fit.raters)
    city_low, city_high = t_interval(fit.visit_effect, fit.visit_se, fit.visit_df, fp.confidence_level)
    adjusted = pd.Series(s["pct"] + s["rater_id"].astype(str).map(severity).to_numpy())
    # The mean of each (unit, round, indicator) and visit, by pandas' group mean as the pivot
    # table this replaces, but on integer keys (the string keys were most of the time). The
    # keys sort as the ids do; 2 × cell + 1 is the covert visit, 2 × cell the open one.
    unit, units = pd.factorize(s["unit_id"], sort=True)
    rnd, round_ids = pd.factorize(s["round_id"], sort=True)
    ind = pd.factorize(s["indicator_id"], sort=True)[0]
    # ids typed from their values, as the pivot table's index was
    units, round_ids = pd.Index(units.to_numpy(), name="unit_id"), pd.Index(round_ids.to_numpy())
    keep = (unit >= 0) & (rnd >= 0) & (ind >= 0)
    n_rounds, n_ind = len(round_ids), int(ind.max(initial=-1)) + 1
    cell = (unit.astype(np.int64) * n_rounds + rnd) * n_ind + ind
    means = adjusted[keep].groupby(cell[keep] * 2 + (s["visit"] == "covert").to_numpy()[keep]).mean()
    key = means.index.to_numpy()
    visit = {v: pd.Series(means.to_numpy()[key % 2 == v], index=key[key % 2 == v] // 2) for v in (0, 1)}
    d = (visit[1] - visit[0]).dropna()  # covert - open, where a cell had both
    per_round = d.groupby(d.index // n_ind).agg(["mean", "size"])
    unit_round = per_round.index.to_numpy()  # unit × rounds + round
    g = per_round.groupby(unit_round // n_rounds)
    out = pd.DataFrame({
        "n_rounds": g.size(),
        "n_pairs": g["size"].sum(),
        "gap": g["mean"].mean(),
        "se": g["mean"].std(ddof=1) / np.sqrt(g.size()),
        "rounds": joined(round_ids.to_numpy()[unit_round % n_rounds], unit_round // n_rounds),
    })
    if out.empty:
        out["rounds"] = out["rounds"].astype(round_ids.dtype)
    out.index = units.take(out.index)
    out = out.reset_index()
    out["ci_low"], out["ci_high"] = t_interval(out["gap"].to_numpy(), out["se"].to_numpy(),
                                        out["n_rounds"].to_numpy() - 1, fp.confidence_level)
    out.loc[out["n_rounds"] < 2, ["se", "ci_low", "ci_high"]] = np.nan
    out["flagged"] = ((out["ci_high"] < 0) & (out["gap"] <= -fp.visit_gap_min)).astype(bool)
    out["city_gap"], out["city_ci_low"], out["city_ci_high"] = fit.visit_effect, city_low, city_high
    out["n_rounds"] = out["n_rounds"].astype("int64")
    out["n_pairs"] = out["n_pairs"].astype("int64")
    return out[cols]


def joined(values: np.ndarray, group: np.ndarray) -> list[str]:
    """``values`` joined with ';' per run of equal ``group`` (sorted), in order."""
    starts = np.flatnonzero(np.diff(group, prepend=-1) != 0)
    return [";".join(values[a:b]) for a, b in zip(starts, np.append(starts[1:], len(values)))]
