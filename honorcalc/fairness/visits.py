"""Do open visits score higher than covert ones? (RULES.md §2 明查/暗访)"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..data.contract import text_ids
from ..params import Params
from .base import (
    CELL,
    check_params,
    dense_codes,
    rescaled,
    sorted_ids,
    t_interval,
    with_rater,
)
from .raters import fit_severity, fit_severity_coded

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
        higher), ``se``, ``ci_low``, ``ci_high``, ``flagged`` (see Notes),
        ``rounds`` (round_ids, ';'-joined), ``city_gap`` with ``city_ci_low`` /
        ``city_ci_high``: the city-wide covert − open effect of the severity model
        and its interval (the same on every row; NaN when no unit × indicator had
        both visit types), ``excess`` (gap − city_gap: the unit's own advantage on
        open visits beyond the city's), ``p_value`` (one-sided t test that the
        excess is below 0), ``q_value`` (Benjamini–Hochberg
        across the units tested) and ``status``: 'beyond_min' (flagged), 'real'
        (a real excess whose estimate reaches ``visit_gap_min`` but whose interval
        does not: the size is not certain), 'real_small' (real, below the minimum)
        or 'none'.

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

    *Flag.* A unit is flagged when its open-visit advantage beyond the city's own
    is real and large enough to matter: the one-sided p-value of H0: excess ≥ 0
    (t on n_rounds − 1 df) has a Benjamini–Hochberg q-value ≤ 1 −
    ``confidence_level`` across the units tested (Benjamini & Hochberg, 1995), and
    the whole ``confidence_level`` interval of the excess lies beyond
    −``visit_gap_min`` (a unit whose true excess is smaller is flagged with
    probability at most (1 − ``confidence_level``)/2). A city-wide advantage is a
    finding about the city, reported as ``city_gap``, and not an accusation of every
    unit.

    References
    ----------
    .. [1] Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate:
           a practical and powerful approach to multiple testing. Journal of the Royal
           Statistical Society B, 57(1), 289-300.
    """
    check_params(params)
    fp = params.fairness
    cols = ["unit_id", "n_rounds", "n_pairs", "gap", "se", "ci_low", "ci_high", "flagged", "rounds", "city_gap",
            "city_ci_low", "city_ci_high", "excess", "p_value", "q_value", "status"]
    if "visit" not in scores.columns:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    # a final score has one visit type or none: it pairs with nothing (`honorcalc.fairness.final_scores`);
    # only the field rows of a visit are taken, and only the columns used
    paired = (with_rater(scores) & (scores["source"] == "field").to_numpy(dtype=bool)
              & scores["visit"].isin(["open", "covert"]).to_numpy(dtype=bool))
    s = rescaled(scores.loc[paired, [*CELL, "rater_id", "visit", "points"]], indicators)
    s = s[[*CELL, "rater_id", "visit", "pct"]]
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    unit, units = pd.factorize(text_ids(s["unit_id"]), sort=True)
    rnd, round_ids = pd.factorize(text_ids(s["round_id"]), sort=True)
    ind, indicator_ids = pd.factorize(text_ids(s["indicator_id"]), sort=True)
    # fit.raters are the sorted ids of s["rater_id"], so these codes index the fit's arrays
    raters, rater = sorted_ids(s["rater_id"])
    fit_cells = _fit_cells(s, [(rnd, round_ids), (unit, units), (ind, indicator_ids)])
    # the cells of the gap (unit, round, indicator) and their visit, made before the fit so that the
    # round and indicator codes are let go while it runs: the keys sort as the ids do; 2 × cell + 1 is
    # the covert visit, 2 × cell the open one
    keep = (unit >= 0) & (rnd >= 0) & (ind >= 0)
    n_rounds, n_ind = len(round_ids), int(ind.max(initial=-1)) + 1
    cell = (unit.astype(np.int64) * n_rounds + rnd) * n_ind + ind
    visit_key = cell[keep] * 2 + (s["visit"] == "covert").to_numpy()[keep]
    del cell, rnd, ind
    if fit_cells is None:
        fit = fit_severity(s, min_units=fp.severity_min_units)
    else:
        fit = fit_severity_coded(s, *fit_cells, raters, rater, np.asarray(unit, dtype=np.int64),
                                 min_units=fp.severity_min_units)
    city_low, city_high = t_interval(fit.visit_effect, fit.visit_se, fit.visit_df, fp.confidence_level)
    adjusted = s["pct"].to_numpy() + np.nan_to_num(fit.severity)[rater]
    # ids typed from their values, as the pivot table's index was
    units, round_ids = pd.Index(units.to_numpy(), name="unit_id"), pd.Index(round_ids.to_numpy())
    # The mean of each (unit, round, indicator) and visit over its non-missing points, as the
    # pivot table this replaces, on integer keys.
    key, group = dense_codes(visit_key, 2 * len(units) * n_rounds * n_ind)
    del visit_key
    value = adjusted[keep]
    known = ~np.isnan(value)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (np.bincount(group[known], weights=value[known], minlength=len(key))
                 / np.bincount(group[known], minlength=len(key)))
    visit = {v: pd.Series(means[key % 2 == v], index=key[key % 2 == v] // 2) for v in (0, 1)}
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
    out["city_gap"], out["city_ci_low"], out["city_ci_high"] = fit.visit_effect, city_low, city_high
    # a unit is accused only of an open-visit advantage beyond the city's own, of at least
    # visit_gap_min, and real with the false-discovery rate controlled across the units tested
    city = float(fit.visit_effect) if np.isfinite(fit.visit_effect) else 0.0
    out["excess"] = out["gap"] - city
    with np.errstate(invalid="ignore", divide="ignore"):
        t_stat = out["excess"].to_numpy() / out["se"].to_numpy()
        p_value = sps.t.cdf(t_stat, np.maximum(out["n_rounds"].to_numpy() - 1, 1))
    testable = np.isfinite(p_value)
    q_value = np.full(len(out), np.nan)
    if testable.any():
        q_value[testable] = sps.false_discovery_control(p_value[testable], method="bh")
    out["p_value"], out["q_value"] = np.where(testable, p_value, np.nan), q_value
    with np.errstate(invalid="ignore"):
        # the excess's interval, not its estimate, must clear the minimum that matters
        excess_high = out["ci_high"].to_numpy() - city
        real = q_value <= 1 - fp.confidence_level
        out["flagged"] = (real & (excess_high < -fp.visit_gap_min)).astype(bool)
        large = out["excess"].to_numpy() <= -fp.visit_gap_min
    out["status"] = np.select([out["flagged"].to_numpy(dtype=bool), real & large, real], ["beyond_min", "real",
                              "real_small"], "none")
    out["n_rounds"] = out["n_rounds"].astype("int64")
    out["n_pairs"] = out["n_pairs"].astype("int64")
    return out[cols]


def _fit_cells(s: pd.DataFrame, ids) -> tuple[np.ndarray, int] | None:
    """The cells (round, unit, indicator) of `fit_severity` for the field rows ``s`` (one source),
    from the codes of their ids already made; None when `fit_severity` must make its own.

    ``ids`` holds ``pd.factorize(..., sort=True)`` of round_id, unit_id and indicator_id.
    With one source, string ids (or categoricals of them, as `text_ids` gives), none missing
    and none holding a character at or below U+001F, `cell_codes` numbers the cells in this
    very order, so the codes give the same fit without factorizing the ids again.
    """
    plain = all(pd.api.types.is_string_dtype(s[column]) or isinstance(s[column].dtype, pd.CategoricalDtype)
                for column in CELL)
    plain = plain and all((code >= 0).all() and all(min(u, default="\x7f") > "\x1f" for u in uniques)
                          for code, uniques in ids)
    if not plain:
        return None
    key = np.zeros(len(s), dtype=np.int64)
    for code, uniques in ids:
        key = key * len(uniques) + code
    size = int(np.prod([len(uniques) for _, uniques in ids], dtype=np.int64))
    cell = dense_codes(key, size)[1]
    return cell, int(cell.max(initial=-1)) + 1


def joined(values: np.ndarray, group: np.ndarray) -> list[str]:
    """``values`` joined with ';' per run of equal ``group`` (sorted), in order."""
    starts = np.flatnonzero(np.diff(group, prepend=-1) != 0)
    return [";".join(values[a:b]) for a, b in zip(starts, np.append(starts[1:], len(values)))]
