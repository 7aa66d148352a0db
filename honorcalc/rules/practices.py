"""The optional practices of RULES.md §2: tiers, mobile flags, three-colour slips, elimination quota.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..params import Params
from .consequences import black_streaks, escalation_chains
from .lists import empty_ties, tie_table
from .ranking import PRODUCT_DECIMALS, group_codes, round_half_up
from .scoring import (
    row_key,
)

__all__ = ['assign_tiers', 'award_flags', 'issue_slips', 'apply_pass_quota']


def assign_tiers(results: pd.DataFrame, params: Params) -> pd.Series:
    """Tier 好 / 较好 / 一般 of each unit (RULES.md §2), or NaN when ``tiers.method`` is off.

    Returns
    -------
    Series
        Aligned with ``results``: "好", "较好", "一般"; NaN for unranked units
        (excluded by a veto, or unscored) and when the method is ``off``.

    Notes
    -----
    ``cuts``: rounded score ≥ ``cuts[0]`` is 好, ≥ ``cuts[1]`` 较好, else 一般.
    ``shares`` (cumulative): rank ≤ ``shares[0]`` × N is 好, rank ≤ ``shares[1]``
    × N 较好, else 一般, with N the units ranked in the group; tied units share
    a rank and therefore a tier.
    """
    t = params.tiers
    out = pd.Series(np.nan, index=results.index, dtype=object)
    if t.method == "off":
        return out
    ranked = results["ranked"].astype(bool)
    if t.method == "cuts":
        s = results["score_rounded"]
        tier = np.select([s >= t.cuts[0], s >= t.cuts[1]], ["好", "较好"], "一般")
    else:
        n, rank = results["n_ranked"].astype("float64"), results["rank"].astype("float64")
        top = np.round(t.shares[0] * n, PRODUCT_DECIMALS)
        good = np.round(t.shares[1] * n, PRODUCT_DECIMALS)
        tier = np.select([rank <= top, rank <= good], ["好", "较好"], "一般")
    out[ranked] = tier[ranked.to_numpy()]
    return out


def award_flags(results: pd.DataFrame, params: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """流动红旗 / 流动黑旗 of each ranking group in each round (RULES.md §2).

    Returns
    -------
    flags : DataFrame
        ``round_id``, ``ranking_group``, ``flag`` (``"red"`` | ``"black"``),
        ``unit_id``; one row per holder.
    ties : DataFrame
        A row (`TIE_COLUMNS`, list ``red_flag`` / ``black_flag``, policy
        ``shared``) for every flag held by several tied units.

    Notes
    -----
    The red flag goes to the rank-1 units, the black flag to the bottom-rank-1
    units. Tied units share a flag. A group whose ranked units all have the
    same rounded score has no best or worst unit and gets no flags (this also
    keeps one unit from holding both). A vetoed unit (``no_red``) cannot hold
    the red flag and, as for the red list, nobody below takes it.
    """
    r = results[results["ranked"].astype(bool)]
    keys = ["round_id", "ranking_group"]
    spread = r.groupby(keys, sort=False)["score_rounded"].transform("nunique") >= 2
    no_red = r["vetoed"] & (params.veto.action == "no_red")
    frames, ties = [], []
    for flag, top in (("red", spread & (r["rank"] == 1)), ("black", spread & (r["rank_bottom"] == 1))):
        holders = top & ~no_red if flag == "red" else top
        frames.append(r.loc[holders, keys + ["unit_id"]].assign(flag=flag))
        block = r[top].assign(on_list=holders[top], rank_used=1)
        shared = block.groupby(keys)["unit_id"].transform("size") > 1
        if shared.any():
            ties.append(tie_table(block[shared], f"{flag}_flag", "shared"))
    flags = pd.concat(frames, ignore_index=True)[["round_id", "ranking_group", "flag", "unit_id"]]
    flags = flags.sort_values(["round_id", "ranking_group", "flag", "unit_id"], kind="stable")
    tie_frame = pd.concat(ties, ignore_index=True) if ties else empty_ties()
    return flags.reset_index(drop=True), tie_frame


def issue_slips(deductions: pd.DataFrame, results: pd.DataFrame, rounds: pd.DataFrame) -> pd.DataFrame:
    """白黄红三色责任单: colour of each (unit, deduction code) per round (RULES.md §2).

    Parameters
    ----------
    deductions : DataFrame
        The output of `honorcalc.rules.scoring.deduction_points`.
    results : DataFrame
        ``round_id``, ``unit_id``, ``work``, ``seq`` of the evaluated units.
    rounds : DataFrame
        The output of `honorcalc.rules.scoring.order_rounds`.

    Returns
    -------
    DataFrame
        ``round_id``, ``unit_id``, ``code``, ``work``, ``streak``, ``slip``
        (``"white"`` | ``"yellow"`` | ``"red"``) and ``rounds`` (the round_ids of
        the streak, oldest first).

    Notes
    -----
    A counted deduction code on a unit is a white slip (交办); the same unit and
    code again in the next round of the same work is yellow (警醒); a third
    consecutive round or more is red (移交). Rows of either role count, and
    only for rounds in which the unit was evaluated.
    """
    d = deductions.loc[deductions["counted"].astype(bool), ["round_id", "unit_id", "code"]]
    d = d.drop_duplicates().reset_index(drop=True)
    where = results.set_index(row_key(results))
    key = row_key(d)
    d = d[key.isin(where.index).to_numpy()].reset_index(drop=True)
    key = row_key(d)
    d["work"] = key.map(where["work"]).astype(str)
    d["seq"] = key.map(where["seq"]).astype("int64")
    streak = black_streaks(group_codes(d, ("unit_id", "code", "work")), d["seq"].to_numpy(),
                      np.ones(len(d), dtype=bool))
    d["streak"] = streak
    d["slip"] = np.select([streak >= 3, streak == 2], ["red", "yellow"], "white")
    d["rounds"] = escalation_chains(d["work"], d["seq"], streak, np.ones(len(d), dtype=bool), rounds)
    d = d.sort_values(["round_id", "unit_id", "code"], kind="stable", ignore_index=True)
    return d[["round_id", "unit_id", "code", "work", "streak", "slip", "rounds"]]


def apply_pass_quota(
    results: pd.DataFrame, params: Params, *, round_id: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """末位淘汰: which units pass the year (RULES.md §2, "only a fixed share of candidates pass").

    Parameters
    ----------
    results : DataFrame
        Results of every round so far (``round_id``, ``unit_id``,
        ``ranking_group``, ``points``, ``score``, ``year``, ``date``).
    params : Params
        ``pass_quota.share``, ``lists.tie_policy``, ``lists.precision``.
    round_id : str
        The round reported: the year is its calendar year, counted up to its date.

    Returns
    -------
    quota : DataFrame
        One row per unit evaluated in the year up to that date: ``unit_id``,
        ``ranking_group``, ``points_ytd``, ``mean_score`` (mean score over its
        rounds), ``n_rounds``, ``quota_rank``, ``n_candidates``, ``quota``
        (⌈share × N⌉), ``passed``. Empty when the quota is off.
    ties : DataFrame
        The tie straddling the quota, if any (list ``pass``).

    Notes
    -----
    Candidates are ranked within their ranking group by points year to date,
    then by mean score rounded to ``lists.precision``; units equal on both
    share a competition rank. The top ⌈share × N⌉ pass (rounding up, so a
    share never fails a unit that a fraction would let through). A tie
    straddling the quota is decided by ``lists.tie_policy``, as for the lists,
    and recorded.
    """
    share = params.pass_quota.share
    cols = ["unit_id", "ranking_group", "points_ytd", "mean_score", "n_rounds", "quota_rank",
            "n_candidates", "quota", "passed"]
    if share is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols}), empty_ties()
    rows = results.loc[results["round_id"] == round_id, ["year", "date"]]
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols}), empty_ties()
    current = rows.iloc[0]
    y = results[(results["year"] == current["year"]) & (results["date"] <= current["date"])]
    q = y.groupby(["ranking_group", "unit_id"], sort=True).agg(
        points_ytd=("points", "sum"), mean_score=("score", "mean"), n_rounds=("round_id", "size"),
    ).reset_index()
    q["mean_rounded"] = round_half_up(q["mean_score"], params.lists.precision).fillna(-np.inf)
    q = q.sort_values(["ranking_group", "points_ytd", "mean_rounded", "unit_id"],
                      ascending=[True, False, False, True], kind="stable").reset_index(drop=True)
    q["position"] = q.groupby("ranking_group").cumcount() + 1
    block = q.groupby(["ranking_group", "points_ytd", "mean_rounded"], sort=False)["position"]
    q["quota_rank"] = block.transform("min").astype("int64")
    q["tie_size"] = block.transform("size")
    q["n_candidates"] = q.groupby("ranking_group")["unit_id"].transform("size").astype("int64")
    q["quota"] = np.ceil(np.round(share * q["n_candidates"], PRODUCT_DECIMALS)).astype("int64")
    inside = q["quota_rank"] <= q["quota"]
    straddle = inside & (q["quota_rank"] + q["tie_size"] - 1 > q["quota"])
    q["passed"] = inside & (~straddle | (params.lists.tie_policy == "all_in"))
    decided = q[straddle].assign(
        round_id=round_id, on_list=q["passed"][straddle],
        rank_used=q["quota_rank"], cap=q["quota"], score_rounded=q["mean_rounded"],
    )
    ties = tie_table(decided, "pass", params.lists.tie_policy) if len(decided) else empty_ties()
    return q[cols], ties
