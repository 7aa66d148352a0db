"""Ranks, red and black lists, vetoes and their consequences.

RULES.md §1.3 (list criteria), §1.4 (points and escalation), §1.5 (the five
principles) and the optional practices of §2 (vetoes, tiers, mobile flags,
three-colour slips, elimination quota). Every number comes from `Params`.

The pipeline, each step a pure function over a *results* frame with one row per
(round, unit) scored in that round, vectorized over all rounds at once:

``composite_scores`` (`honorcalc.scoring`) → `apply_vetoes` → `rank_units` →
`apply_lists` → `award_points` → `escalate`; then, for one round, the optional
`assign_tiers`, `award_flags`, `issue_slips` and `apply_pass_quota`.

`evaluate_rounds` runs the pipeline on the six tables; `evaluate_round` runs it
on a dataset up to one round's date (points year to date and escalation need
the earlier rounds' lists, computed with the same parameters) and returns a
`RoundResult`, whose `RoundResult.ranking_table` is DESIGN.md's ``ranking.csv``.

Notes
-----
Readings of RULES.md used throughout (each a parameter where RULES.md gives a
number):

* Scores are compared with thresholds and with each other after rounding half
  up (四舍五入) to ``lists.precision`` decimals, "so a unit is never listed on a
  difference no reader of the notice can see" (§1.3). 89.996 → 90.00 is red.
* "90分以上" and "70分以下" include the boundary (§1.3).
* Ranks are competition ranks (1, 2, 2, 4) within the ranking group; the
  bottom rank counts from the worst (1 = lowest score).
* No unit can be on both lists: red needs a rounded score ≥ ``red_min``, black
  one ≤ ``black_max``, and `honorcalc.params.Lists` refuses ``red_min ≤
  black_max``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import InputError, ParamError
from .params import Params
from .scoring import (
    SOURCE_SCORE_COLUMNS,
    _unknown,
    category_scores,
    check_columns,
    composite_scores,
    deduction_points,
    indicator_points,
    order_rounds,
    row_key,
    satisfaction,
    source_scores,
)

__all__ = [
    "RANKING_COLUMNS",
    "TABLES",
    "TIE_COLUMNS",
    "Evaluation",
    "ListOutcome",
    "RoundResult",
    "round_half_up",
    "list_cap",
    "competition_ranks",
    "ListCut",
    "cut_list",
    "apply_vetoes",
    "rank_units",
    "apply_lists",
    "award_points",
    "escalate",
    "assign_tiers",
    "award_flags",
    "issue_slips",
    "apply_pass_quota",
    "evaluate_rounds",
    "evaluate_round",
    "evaluate_until",
    "ranking_table",
]

#: The columns of ``ranking.csv`` (DESIGN.md "Run folder"), in order.
RANKING_COLUMNS = (
    "round_id", "unit_id", "name", "group", "score", "rank", "list", "vetoed",
    "points", "points_ytd", "escalated", *SOURCE_SCORE_COLUMNS,
)

#: The six tables of a dataset, as attributes of `honorcalc.validation.Dataset`.
TABLES = ("units", "indicators", "rounds", "scores", "deductions", "surveys")

#: The columns of every ties table: which list, which tied block, who the policy listed.
TIE_COLUMNS = ["round_id", "ranking_group", "list", "rank", "cap", "score", "units", "policy", "listed"]

# shares × counts are computed in floating point: 0.29 × 100 = 28.999999999999996
# must still give 29, so products are rounded to 9 decimals before floor/ceil
_PRODUCT_DECIMALS = 9


def round_half_up(values, decimals: int):
    """Round half away from zero (四舍五入) to ``decimals`` places, as a notice prints.

    Parameters
    ----------
    values : float, array or Series
    decimals : int

    Returns
    -------
    Same type as ``values`` (NaN stays NaN).

    Notes
    -----
    Binary floating point stores 89.995 as 89.99499999…; the scaled value is
    first rounded to 6 decimals to remove that noise, so the result is what a
    reader of the decimal number expects (89.995 → 90.00), not what ``round``
    gives (89.99).

    Examples
    --------
    >>> float(round_half_up(89.995, 2)), float(round_half_up(89.996, 2)), float(round_half_up(2.675, 2))
    (90.0, 90.0, 2.68)
    """
    scale = 10.0 ** decimals
    x = np.asarray(values, dtype="float64") * scale
    out = np.sign(x) * np.floor(np.round(np.abs(x), 6) + 0.5) / scale
    if isinstance(values, pd.Series):
        return pd.Series(out, index=values.index, name=values.name)
    if np.ndim(values) == 0:
        return np.float64(out)
    return out


def list_cap(kind, n_ranked, params: Params):
    """Most units a list may hold in one ranking group (RULES.md §1.3).

    ``kind`` (comprehensive | special, or a boolean array: True = special) and
    ``n_ranked`` are scalars or arrays that broadcast together; the result is an
    int or an int64 array.

    Comprehensive rounds: ``lists.comprehensive_size`` ("排名前十" / "排名后十").
    Special rounds: ⌊``lists.special_share`` × N⌋ with N the units ranked in the
    group ("原则上不超过总测评单位数的五分之一"): N = 14 → 2, N = 4 → 0.

    Examples
    --------
    >>> p = Params(dataset=".", round="R")
    >>> list_cap("special", 14, p), list_cap("special", 4, p), list_cap("comprehensive", 4, p)
    (2, 0, 10)
    """
    kind = np.asarray(kind)
    special = kind if kind.dtype == bool else kind == "special"
    n = np.asarray(n_ranked, dtype="float64")
    share = np.floor(np.round(params.lists.special_share * n, _PRODUCT_DECIMALS))
    cap = np.where(special, share, params.lists.comprehensive_size)
    return int(cap) if np.ndim(cap) == 0 else cap.astype("int64")


# --------------------------------------------------------------------------- vetoes


def apply_vetoes(
    results: pd.DataFrame, categories: pd.DataFrame, surveys: pd.DataFrame, params: Params
) -> pd.DataFrame:
    """Flag the units a veto (一票否决 / 前置条件) disqualifies (RULES.md §2).

    Parameters
    ----------
    results : DataFrame
        ``round_id``, ``unit_id`` (one row per scored unit and round).
    categories : DataFrame
        The output of `honorcalc.scoring.category_scores`.
    surveys : DataFrame
        The output of `honorcalc.scoring.satisfaction` (may be empty).
    params : Params
        ``veto`` and ``lists.precision``.

    Returns
    -------
    DataFrame
        ``results`` plus ``respondents``, ``satisfied``, ``satisfaction`` (0–1;
        NaN without survey rows), ``prerequisite_score`` (NaN when off or not
        scored), ``veto_reasons`` (tuple of ``"satisfaction"``,
        ``"prerequisite"``), ``vetoed`` and ``excluded`` (vetoed and
        ``veto.action == "exclude"``).

    Notes
    -----
    "群众满意率低于75%将被取消参评资格": satisfaction = Σ satisfied / Σ
    respondents < ``veto.satisfaction_min`` vetoes; a prerequisite category
    score < ``veto.prerequisite_min`` vetoes. Both are strict ("低于"), and both
    are compared at the published precision (satisfaction as a percentage), as
    scores are. A unit without survey rows, or without indicators in the
    prerequisite category, is not vetoed: a veto needs evidence.
    """
    v = params.veto
    p = params.lists.precision
    out = results.copy()
    key = pd.Index(row_key(out))
    at = key.get_indexer(row_key(surveys)) if len(surveys) else np.zeros(0, dtype="int64")
    for col in ("respondents", "satisfied", "satisfaction"):
        values = np.full(len(out), np.nan)
        values[at[at >= 0]] = surveys[col].to_numpy(dtype="float64")[at >= 0]
        out[col] = values
    prerequisite = np.full(len(out), np.nan)
    if v.prerequisite_category is not None:
        pre = categories[categories["category"] == v.prerequisite_category]
        at = key.get_indexer(row_key(pre))
        prerequisite[at[at >= 0]] = pre["score"].to_numpy(dtype="float64")[at >= 0]
    out["prerequisite_score"] = prerequisite
    if v.satisfaction_min is None:
        low_sat = np.zeros(len(out), dtype=bool)
    else:
        low_sat = (round_half_up(out["satisfaction"] * 100.0, p) < v.satisfaction_min * 100.0).to_numpy()
    low_pre = (round_half_up(out["prerequisite_score"], p) < v.prerequisite_min).to_numpy()
    out["veto_reasons"] = [
        tuple(r for r, hit in (("satisfaction", s), ("prerequisite", q)) if hit)
        for s, q in zip(low_sat, low_pre)
    ]
    out["vetoed"] = low_sat | low_pre
    out["excluded"] = out["vetoed"] & (v.action == "exclude")
    return out


# --------------------------------------------------------------------------- ranking and lists


def rank_units(results: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Rank the units of each round within their ranking group (RULES.md §1.1, §1.3).

    Parameters
    ----------
    results : DataFrame
        ``round_id``, ``unit_id``, ``ranking_group``, ``score`` and optionally
        ``excluded`` (units removed before ranking, `apply_vetoes`).
    params : Params
        ``lists.precision``.

    Returns
    -------
    DataFrame
        ``results`` (index reset) plus ``score_rounded``, ``ranked`` (scored and
        not excluded), ``rank`` (competition rank, 1 = best), ``rank_bottom``
        (1 = worst), ``n_ranked`` (units ranked in the group) and ``tie_size``
        (ranked units of the group with the same rounded score); ranks are
        NaN for unranked units.

    Notes
    -----
    Competition ranking ("1224"): tied units share the best rank of the block
    and the next rank skips, so a rank is always 1 + the number of units with a
    strictly better rounded score. Excluded units do not occupy a place, so the
    others' ranks close up (``veto.action: exclude``).
    """
    out = results.reset_index(drop=True)
    score = round_half_up(out["score"].to_numpy(dtype="float64", na_value=np.nan), params.lists.precision)
    excluded = out["excluded"].to_numpy(dtype=bool) if "excluded" in out.columns else False
    ranked = ~np.isnan(score) & ~excluded
    codes = _codes(out, ("round_id", "ranking_group"))
    n_ranked = np.bincount(codes, weights=ranked, minlength=codes.max(initial=-1) + 1)[codes]
    rank, tie_size, _ = competition_ranks(codes, score, ranked)
    out["score_rounded"] = score
    out["ranked"] = ranked
    out["rank"] = rank
    # units strictly below + 1 = N − (last place of the tied block) + 1
    out["rank_bottom"] = n_ranked - (rank + tie_size - 1) + 1
    out["n_ranked"] = n_ranked.astype("int64")
    out["tie_size"] = tie_size
    return out


def _codes(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """Integer code of each row's combination of ``columns`` (a group-by key for numpy)."""
    return pd.factorize(row_key(frame, columns))[0].astype("int64")


def competition_ranks(codes: np.ndarray, values: np.ndarray, ranked: np.ndarray | None = None):
    """Competition ranks ("1224") within groups, for one score vector or a stack of them.

    Parameters
    ----------
    codes : ndarray of int, shape (n,)
        The ranking group of each unit.
    values : ndarray, shape (n,) or (B, n)
        The (rounded) scores; larger is better. A stack is B replicates of the
        same units, each ranked on its own.
    ranked : ndarray of bool, same shape as ``values``, optional
        Which units take a place; all by default.

    Returns
    -------
    rank, tie_size : ndarray, shape of ``values``
        Rank (1 = highest; tied units share the best rank of their block, so a
        rank is 1 + the number of ranked units of the group with a strictly
        better value) and the size of the tied block; NaN where not ranked.
    n_ranked : ndarray, shape of ``values``
        Units ranked in the unit's group (for an unranked unit: the unranked).

    Notes
    -----
    One lexsort per row instead of a group-by per group: rank = start of the
    tied block − start of the group + 1. `rank_units` (a batch of one), the
    stability replicates and the annual ranking all rank with this function.
    """
    one = np.ndim(values) == 1
    values = np.atleast_2d(np.asarray(values, dtype="float64"))
    b, n = values.shape
    ranked = np.ones((b, n), dtype=bool) if ranked is None else np.broadcast_to(np.atleast_2d(ranked), (b, n))
    unranked_code = int(codes.max(initial=0)) + 1
    primary = np.where(ranked, codes[None, :], unranked_code)
    order = np.lexsort((np.where(ranked, -values, 0.0), primary), axis=-1)
    c = np.take_along_axis(primary, order, axis=1)
    v = np.take_along_axis(np.where(ranked, values, 0.0), order, axis=1)
    pos = np.broadcast_to(np.arange(n), (b, n))
    new_group = np.ones((b, n), dtype=bool)
    new_group[:, 1:] = c[:, 1:] != c[:, :-1]
    new_block = new_group.copy()
    new_block[:, 1:] |= v[:, 1:] != v[:, :-1]

    def first(starts):
        return np.maximum.accumulate(np.where(starts, pos, 0), axis=1)

    def last(starts):
        ends = np.ones((b, n), dtype=bool)
        ends[:, :-1] = starts[:, 1:]
        return np.minimum.accumulate(np.where(ends, pos, n - 1)[:, ::-1], axis=1)[:, ::-1]

    group_start, block_start = first(new_group), first(new_block)
    sorted_rank = (block_start - group_start + 1).astype(float)
    sorted_tie = (last(new_block) - block_start + 1).astype(float)
    sorted_n = (last(new_group) - group_start + 1).astype(float)
    rank, tie, n_ranked = (np.empty((b, n)) for _ in range(3))
    for target, source in ((rank, sorted_rank), (tie, sorted_tie), (n_ranked, sorted_n)):
        np.put_along_axis(target, order, source, axis=1)
    rank[~ranked] = np.nan
    tie[~ranked] = np.nan
    return (rank[0], tie[0], n_ranked[0]) if one else (rank, tie, n_ranked)


@dataclass(frozen=True, eq=False)
class ListCut:
    """One list's cut of `cut_list`, for every unit (arrays of one shape).

    Attributes
    ----------
    meets : the rounded score passes the list's threshold.
    in_rank : ranked and within the cap from the list's end.
    straddle : in rank, but its tied block runs past the cap.
    cut_ok : in rank, and the tie policy keeps it (``all_in``, or no straddle).
    on_list : on the list: cut_ok, meets, and not blocked (a veto on the red list).
    """

    meets: np.ndarray
    in_rank: np.ndarray
    straddle: np.ndarray
    cut_ok: np.ndarray
    on_list: np.ndarray


def cut_list(name: str, rounded, rank_from_end, tie_size, cap, ranked, params: Params, blocked=None) -> ListCut:
    """The red or black list's cut (RULES.md §1.3), on arrays of any shape.

    ``name`` is ``"red"`` (``rank_from_end`` = rank, threshold ``lists.red_min``,
    rounded score ≥ it) or ``"black"`` (``rank_from_end`` = rank from the bottom,
    threshold ``lists.black_max``, rounded score ≤ it). ``blocked`` marks units
    that may not be on this list whatever they score (the ``no_red`` veto).
    `apply_lists` (a batch of one) and the stability replicates cut with this
    function; see `apply_lists` for the rule's reading.
    """
    L = params.lists
    with np.errstate(invalid="ignore"):  # NaN scores and ranks of unranked units compare False
        meets = rounded >= L.red_min if name == "red" else rounded <= L.black_max
        in_rank = ranked & (rank_from_end <= cap)
        straddle = in_rank & (rank_from_end + tie_size - 1 > cap)
    cut_ok = in_rank & (~straddle | (L.tie_policy == "all_in"))
    on_list = cut_ok & meets
    if blocked is not None:
        on_list = on_list & ~blocked
    return ListCut(meets, in_rank, straddle, cut_ok, on_list)


@dataclass(frozen=True, eq=False)
class ListOutcome:
    """What `apply_lists` returns.

    Attributes
    ----------
    results : DataFrame
        The ranked results plus ``cap``, ``red_status``, ``black_status`` and ``list``.
    ties : DataFrame
        One row per tie that straddled a cut and was decided by the policy
        (columns `TIE_COLUMNS`).
    status : DataFrame
        One row per (round, ranking group, list): ``round_id``,
        ``ranking_group``, ``list``, ``n_ranked``, ``cap``, ``n_listed``,
        ``reason`` (``listed``, ``no_units``, ``cap_zero``, ``threshold``,
        ``tie_none_in``, ``vetoed``) and ``notice`` ("当期不设红榜" /
        "当期不设黑榜" when the list is empty, else "").
    """

    results: pd.DataFrame
    ties: pd.DataFrame
    status: pd.DataFrame


# status codes, in the order they are checked: the first condition a unit fails
_STATUS_ORDER = ("excluded", "unscored", "threshold", "cap_zero", "rank", "tie_none_in", "vetoed")


def apply_lists(results: pd.DataFrame, params: Params) -> ListOutcome:
    """Put units on the red and black lists (RULES.md §1.3).

    Parameters
    ----------
    results : DataFrame
        The output of `rank_units`, with ``round_kind`` (comprehensive |
        special), ``vetoed`` and ``excluded``.
    params : Params
        ``lists`` and ``veto.action``.

    Returns
    -------
    ListOutcome
        ``results`` gains ``cap`` (see `list_cap`), ``red_status`` and
        ``black_status`` (``listed``, ``listed_tie``, or the first condition
        failed: ``excluded``, ``unscored``, ``threshold``, ``cap_zero``,
        ``rank``, ``tie_none_in``, ``vetoed``) and ``list`` (``"red"``,
        ``"black"`` or ``""``).

    Notes
    -----
    "对测评中综合得分在90分以上且排名前十的单位,纳入综合测评红榜……若排名前十的单位综合得分均不到90分,
    则当期通报不设红榜。" Red: rounded score ≥ ``red_min`` and rank ≤ cap.
    Black: rounded score ≤ ``black_max`` and bottom rank ≤ cap. Special rounds:
    cap = ⌊``special_share`` × N⌋, and a cap of 0 means no list.

    A block of tied units that starts inside the cut and ends outside it is
    decided by ``lists.tie_policy``: ``all_in`` lists the whole block (the list
    may exceed the cap), ``none_in`` none of it; every such decision is a row of
    ``ties``. With ``veto.action == "no_red"`` a vetoed unit keeps its score and
    rank but is not red, and nobody below takes its place, so the red list may
    be shorter than the cap (RULES.md §2).
    """
    L = params.lists
    out = results.copy()
    cap = list_cap(out["round_kind"].to_numpy(), out["n_ranked"].to_numpy(), params)
    out["cap"] = cap
    ranked = out["ranked"].to_numpy(dtype=bool)
    excluded = out["excluded"].to_numpy(dtype=bool)
    score = out["score_rounded"].to_numpy(dtype="float64")
    tie_size = out["tie_size"].to_numpy(dtype="float64", na_value=np.nan)
    no_red = out["vetoed"].to_numpy(dtype=bool) & (params.veto.action == "no_red")
    tie_rows, listed, status = [], {}, {}
    for name, rank_col, blocked in (("red", "rank", no_red), ("black", "rank_bottom", np.zeros(len(out), dtype=bool))):
        rank = out[rank_col].to_numpy(dtype="float64", na_value=np.nan)
        cut = cut_list(name, score, rank, tie_size, cap, ranked, params, blocked)
        status[name] = np.select(
            [~ranked & excluded, ~ranked, ~cut.meets, cap == 0, ~cut.in_rank, ~cut.cut_ok, blocked, cut.straddle],
            [*_STATUS_ORDER, "listed_tie"],
            "listed",
        )
        out[f"{name}_status"] = status[name]
        listed[name] = cut.on_list
        decided_rows = cut.straddle & cut.meets
        if decided_rows.any():
            decided = out[decided_rows].assign(on_list=cut.on_list[decided_rows], rank_used=rank[decided_rows])
            tie_rows.append(_tie_table(decided, name, L.tie_policy))
    if (listed["red"] & listed["black"]).any():
        raise RuntimeError("a unit is on both lists although red_min > black_max")  # a bug, not user error
    out["list"] = np.where(listed["red"], "red", np.where(listed["black"], "black", ""))
    ties = pd.concat(tie_rows, ignore_index=True) if tie_rows else _empty_ties()
    return ListOutcome(out, ties, _list_status(out, status, listed))


_NO_TIES = pd.DataFrame({c: pd.Series(dtype=object) for c in TIE_COLUMNS})


def _empty_ties() -> pd.DataFrame:
    return _NO_TIES.copy()


def _tie_table(decided: pd.DataFrame, name: str, policy: str) -> pd.DataFrame:
    """One row per straddling tie block: who was tied, who the policy listed."""
    rows = []
    for (round_id, group, rank), block in decided.groupby(["round_id", "ranking_group", "rank_used"], sort=True):
        rows.append({
            "round_id": round_id, "ranking_group": group, "list": name, "rank": int(rank),
            "cap": int(block["cap"].iloc[0]), "score": float(block["score_rounded"].iloc[0]),
            "units": tuple(sorted(block["unit_id"])), "policy": policy,
            "listed": tuple(sorted(block.loc[block["on_list"], "unit_id"])),
        })
    return pd.DataFrame(rows, columns=TIE_COLUMNS)


def _list_status(out: pd.DataFrame, status: dict[str, np.ndarray], listed: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per ranking group and list: its size, or why it is empty (当期不设红榜)."""
    # the joined key sorts like the (round_id, ranking_group) pair: \x1f sorts first
    codes = pd.factorize(row_key(out, ("round_id", "ranking_group")), sort=True)[0]
    first = np.unique(codes, return_index=True)[1]
    n = len(first)

    def count(mask) -> np.ndarray:
        return np.bincount(codes, weights=np.asarray(mask, dtype="float64"), minlength=n).astype("int64")

    n_ranked = count(out["ranked"].to_numpy(dtype=bool))
    cap = out["cap"].to_numpy(dtype="int64")[first]
    parts = {k: [] for k in ("list", "n_listed", "reason", "notice")}
    for name, word in (("red", "红榜"), ("black", "黑榜")):
        n_listed = count(listed[name])
        # got past the threshold and the rank cut / also past the tie policy
        qualified = count(np.isin(status[name], ["tie_none_in", "vetoed", "listed", "listed_tie"]))
        past_tie = count(np.isin(status[name], ["vetoed", "listed", "listed_tie"]))
        parts["list"].append(np.full(n, name, dtype=object))
        parts["n_listed"].append(n_listed)
        parts["reason"].append(np.select(
            [n_listed > 0, n_ranked == 0, cap == 0, qualified == 0, past_tie == 0],
            ["listed", "no_units", "cap_zero", "threshold", "tie_none_in"],
            "vetoed",
        ))
        parts["notice"].append(np.where(n_listed > 0, "", f"当期不设{word}"))
    # rows: each group's red then black, groups in key order
    interleave = np.argsort(np.concatenate([np.arange(n), np.arange(n)]), kind="stable")
    both = {k: np.concatenate(v)[interleave] for k, v in parts.items()}
    twice = np.repeat(first, 2)
    return pd.DataFrame({
        "round_id": out["round_id"].to_numpy()[twice],
        "ranking_group": out["ranking_group"].to_numpy()[twice],
        "list": both["list"],
        "n_ranked": np.repeat(n_ranked, 2),
        "cap": np.repeat(cap, 2),
        "n_listed": both["n_listed"],
        "reason": both["reason"],
        "notice": both["notice"],
    })


# --------------------------------------------------------------------------- consequences


def award_points(results: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Annual-assessment points per listing and year to date (RULES.md §1.4).

    Parameters
    ----------
    results : DataFrame
        ``unit_id``, ``round_kind``, ``list``, ``date`` and ``year`` for every
        round of interest.
    params : Params
        ``points``.

    Returns
    -------
    DataFrame
        ``results`` plus ``points`` (this round) and ``points_ytd`` (Σ points of
        the unit over the rounds of the same calendar year dated on or before
        this round).

    Notes
    -----
    "综合测评被红榜通报的,每次加3分;综合测评被黑榜通报的,每次扣3分;专项测评被红榜通报的,每次加1分;
    专项测评被黑榜通报的,每次扣1分。" Rounds on the same date all count in each
    other's year to date: the total is as of that date.
    """
    pts = params.points
    out = results.copy()
    comprehensive = out["round_kind"] == "comprehensive"
    out["points"] = np.select(
        [comprehensive & (out["list"] == "red"), comprehensive & (out["list"] == "black"),
         ~comprehensive & (out["list"] == "red"), ~comprehensive & (out["list"] == "black")],
        [pts.comprehensive_red, pts.comprehensive_black, pts.special_red, pts.special_black],
        0.0,
    ).astype("float64")
    codes = _codes(out, ("unit_id", "year"))
    date = out["date"].to_numpy(dtype="datetime64[ns]")
    order = np.lexsort((date, codes))
    c, d = codes[order], date[order]
    running = pd.Series(out["points"].to_numpy()[order]).groupby(c).cumsum().to_numpy()
    # rounds on one date all get the total as of that date: the running sum at the block's last row
    new_block = np.ones(len(order), dtype=bool)
    new_block[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
    starts = np.flatnonzero(new_block)
    last = np.append(starts[1:], len(order)) - 1
    ytd = np.empty(len(order))
    ytd[order] = running[last[np.cumsum(new_block) - 1]]
    out["points_ytd"] = ytd
    return out


def escalate(results: pd.DataFrame, rounds: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Flag units black-listed for the same work in consecutive rounds of it (RULES.md §1.4).

    Parameters
    ----------
    results : DataFrame
        ``unit_id``, ``work``, ``seq``, ``list``, for every round so far.
    rounds : DataFrame
        The output of `honorcalc.scoring.order_rounds`.
    params : Params
        ``escalation.consecutive``.

    Returns
    -------
    DataFrame
        ``results`` plus ``black_streak`` (consecutive black listings of the
        same work ending at this round), ``escalated`` (streak ≥
        ``consecutive``) and ``escalation_chain`` (the round_ids of the streak,
        oldest first; empty when not escalated).

    Notes
    -----
    "同一单位同一工作连续两次被黑榜通报的,由组织保障工作组启动核查程序,严肃追责问责。"
    The work is the comprehensive evaluation or one special topic; rounds of
    other work in between do not break the chain, a round of the same work in
    which the unit is not black-listed (or not evaluated) does. A streak longer
    than ``consecutive`` stays escalated, so every further consecutive black
    listing triggers the procedure again.
    """
    c = params.escalation.consecutive
    out = results.copy()
    streak = _streaks(
        _codes(out, ("unit_id", "work")), out["seq"].to_numpy(dtype="int64"),
        (out["list"] == "black").to_numpy(dtype=bool),
    )
    out["black_streak"] = streak
    out["escalated"] = streak >= c
    out["escalation_chain"] = _chains(out["work"], out["seq"], streak, out["escalated"], rounds)
    return out


def _streaks(codes: np.ndarray, seq: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """Length of the run of ``hit`` rows with consecutive ``seq`` ending at each row, per code."""
    order = np.lexsort((seq, codes))
    c, q, h = codes[order], seq[order], hit[order]
    pos = np.arange(len(order))
    continues = np.zeros(len(order), dtype=bool)
    continues[1:] = (c[1:] == c[:-1]) & h[1:] & h[:-1] & (q[1:] == q[:-1] + 1)
    run_start = np.maximum.accumulate(np.where(continues, 0, pos)) if len(order) else pos
    streak = np.empty(len(order), dtype="int64")
    streak[order] = np.where(h, pos - run_start + 1, 0)
    return streak


def _chains(work, seq, streak, mask, rounds: pd.DataFrame) -> list[tuple[str, ...]]:
    """The round_ids of each masked row's streak, oldest first; () elsewhere."""
    by_seq = dict(zip(zip(rounds["work"], rounds["seq"]), rounds["round_id"]))
    return [
        tuple(by_seq[(w, q)] for q in range(s - n + 1, s + 1)) if m else ()
        for w, s, n, m in zip(work, seq, streak, mask)
    ]


# --------------------------------------------------------------------------- optional practices


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
        top = np.round(t.shares[0] * n, _PRODUCT_DECIMALS)
        good = np.round(t.shares[1] * n, _PRODUCT_DECIMALS)
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
            ties.append(_tie_table(block[shared], f"{flag}_flag", "shared"))
    flags = pd.concat(frames, ignore_index=True)[["round_id", "ranking_group", "flag", "unit_id"]]
    flags = flags.sort_values(["round_id", "ranking_group", "flag", "unit_id"], kind="stable")
    tie_frame = pd.concat(ties, ignore_index=True) if ties else _empty_ties()
    return flags.reset_index(drop=True), tie_frame


def issue_slips(deductions: pd.DataFrame, results: pd.DataFrame, rounds: pd.DataFrame) -> pd.DataFrame:
    """白黄红三色责任单: colour of each (unit, deduction code) per round (RULES.md §2).

    Parameters
    ----------
    deductions : DataFrame
        The output of `honorcalc.scoring.deduction_points`.
    results : DataFrame
        ``round_id``, ``unit_id``, ``work``, ``seq`` of the evaluated units.
    rounds : DataFrame
        The output of `honorcalc.scoring.order_rounds`.

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
    streak = _streaks(_codes(d, ("unit_id", "code", "work")), d["seq"].to_numpy(),
                      np.ones(len(d), dtype=bool))
    d["streak"] = streak
    d["slip"] = np.select([streak >= 3, streak == 2], ["red", "yellow"], "white")
    d["rounds"] = _chains(d["work"], d["seq"], streak, np.ones(len(d), dtype=bool), rounds)
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
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols}), _empty_ties()
    rows = results.loc[results["round_id"] == round_id, ["year", "date"]]
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols}), _empty_ties()
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
    q["quota"] = np.ceil(np.round(share * q["n_candidates"], _PRODUCT_DECIMALS)).astype("int64")
    inside = q["quota_rank"] <= q["quota"]
    straddle = inside & (q["quota_rank"] + q["tie_size"] - 1 > q["quota"])
    q["passed"] = inside & (~straddle | (params.lists.tie_policy == "all_in"))
    decided = q[straddle].assign(
        round_id=round_id, on_list=q["passed"][straddle],
        rank_used=q["quota_rank"], cap=q["quota"], score_rounded=q["mean_rounded"],
    )
    ties = _tie_table(decided, "pass", params.lists.tie_policy) if len(decided) else _empty_ties()
    return q[cols], ties


# --------------------------------------------------------------------------- whole runs


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Every round of a dataset scored, ranked and listed (`evaluate_rounds`).

    Attributes
    ----------
    rounds : DataFrame
        `honorcalc.scoring.order_rounds` of the rounds evaluated.
    results : DataFrame
        One row per (round, unit scored in it); see `RoundResult.units`.
    ties, list_status : DataFrame
        As in `ListOutcome`, for every round.
    points : DataFrame
        `honorcalc.scoring.indicator_points` (with the indicator's name).
    sources, categories : DataFrame
        `honorcalc.scoring.source_scores` and `category_scores`.
    deductions : DataFrame
        `honorcalc.scoring.deduction_points`, with ``evaluated`` (the unit has a
        score in that round, so the deduction applies) and ``name``.
    surveys : DataFrame
        `honorcalc.scoring.satisfaction`.
    """

    rounds: pd.DataFrame
    results: pd.DataFrame
    ties: pd.DataFrame
    list_status: pd.DataFrame
    points: pd.DataFrame
    sources: pd.DataFrame
    categories: pd.DataFrame
    deductions: pd.DataFrame
    surveys: pd.DataFrame


def _check_inputs(units, indicators, rounds, scores, deductions, surveys, params: Params) -> None:
    for frame, table in zip((units, indicators, rounds, scores, deductions, surveys), TABLES):
        check_columns(frame, table)
    if not isinstance(params, Params):
        raise InputError(f"params: expected honorcalc.params.Params, got {type(params).__name__}")
    dup = units["unit_id"][units["unit_id"].duplicated()]
    if len(dup):
        raise InputError(f"unit_id {dup.iloc[0]!r} appears more than once", file="units", column="unit_id")
    for frame, table in ((scores, "scores"), (deductions, "deductions"), (surveys, "surveys")):
        _unknown(frame["unit_id"], units["unit_id"], "unit_id", table, "unit_id")
        _unknown(frame["round_id"], rounds["round_id"], "round_id", table, "round_id")
    category = params.veto.prerequisite_category
    if category is not None and not indicators["category"].eq(category).any():
        known = ", ".join(sorted(indicators["category"].dropna().astype(str).unique()))
        raise ParamError(
            f"category {category!r} is not an indicator category (categories: {known})",
            parameter="veto.prerequisite_category",
        )


def _ranking_group(units: pd.DataFrame, params: Params) -> pd.Series:
    scope = params.lists.ranking_scope
    if scope == "group":
        return units["group"].astype(str)
    if scope == "kind":
        return units["kind"].astype(str)
    return pd.Series("all", index=units.index, dtype=str)


def evaluate_rounds(
    units: pd.DataFrame,
    indicators: pd.DataFrame,
    rounds: pd.DataFrame,
    scores: pd.DataFrame,
    deductions: pd.DataFrame,
    surveys: pd.DataFrame,
    params: Params,
) -> Evaluation:
    """Score, rank and list every round of a dataset (RULES.md §1, §2).

    Parameters
    ----------
    units, indicators, rounds, scores, deductions, surveys : DataFrame
        The tables of the dataset contract, typed as the loader types them;
        ``deductions`` and ``surveys`` may be empty. Extra columns are ignored.
    params : Params

    Returns
    -------
    Evaluation

    Raises
    ------
    InputError
        A missing column, a duplicated id, a reference to an unknown unit,
        round or indicator.
    ParamError
        ``veto.prerequisite_category`` names no indicator category.

    Notes
    -----
    A unit is evaluated in a round when it has score rows in it; a deduction or
    survey of a unit that was not scored in that round has no score to act on
    and is kept, with ``evaluated`` false, in ``Evaluation.deductions``.
    """
    _check_inputs(units, indicators, rounds, scores, deductions, surveys, params)
    return _evaluate(units, indicators, order_rounds(rounds), scores, deductions, surveys, params)


def _evaluate(units, indicators, ro, scores, deductions, surveys, params: Params) -> Evaluation:
    """`evaluate_rounds` on checked inputs, with the rounds already ordered."""
    points = indicator_points(scores, indicators)
    sources = source_scores(points)
    categories = category_scores(points)
    sat = satisfaction(surveys)
    detail = deduction_points(deductions, params)
    comp = composite_scores(sources, ro, detail, params)

    res = comp.copy()
    at = pd.Index(ro["round_id"]).get_indexer(res["round_id"])
    for col, src in (("round_kind", "kind"), ("topic", "topic"), ("date", "date"), ("year", "year"),
                     ("order", "order")):
        res[col] = ro[src].to_numpy()[at]
    meta = units.assign(ranking_group=_ranking_group(units, params))
    at = pd.Index(meta["unit_id"]).get_indexer(res["unit_id"])
    for col in ("name", "kind", "group", "ranking_group"):
        res[col] = meta[col].to_numpy()[at]
    res = apply_vetoes(res, categories, sat, params)
    res = rank_units(res, params)
    outcome = apply_lists(res, params)
    res = award_points(outcome.results, params)
    res = escalate(res, ro, params)
    by_place = np.lexsort((
        pd.factorize(res["unit_id"], sort=True)[0],
        np.nan_to_num(res["rank"].to_numpy(dtype="float64"), nan=np.inf),
        pd.factorize(res["ranking_group"], sort=True)[0],
        res["order"].to_numpy(),
    ))
    res = res.iloc[by_place].drop(columns="order").reset_index(drop=True)
    for col in ("rank", "rank_bottom", "tie_size"):
        res[col] = res[col].astype("Int64")

    detail["evaluated"] = row_key(detail).isin(row_key(comp)).to_numpy(dtype=bool)
    detail["name"] = detail["unit_id"].map(units.set_index("unit_id")["name"])
    named = points.assign(name=points["indicator_id"].map(indicators.set_index("indicator_id")["name"]))
    return Evaluation(ro, res, outcome.ties, outcome.status, named, sources, categories, detail, sat)


@dataclass(frozen=True, eq=False)
class RoundResult:
    """One round evaluated, with everything needed to explain it (`evaluate_round`).

    Attributes
    ----------
    round_id : str
    round : dict
        ``round_id``, ``kind``, ``topic``, ``date``, ``year``, ``work``, ``seq``.
    params : Params
    units : DataFrame
        One row per unit scored in the round, sorted by (ranking_group, rank,
        unit_id): identity (``unit_id``, ``name``, ``kind``, ``group``,
        ``ranking_group``); scoring (``score_field`` … ``score_public``,
        ``sources_present``, ``sources_missing``, ``weight_sum``, ``weighted``,
        ``deduction``, ``composite_raw``, ``composite``, ``history_n``,
        ``history_mean``, ``history_rounds``, ``blended``, ``score``,
        ``score_rounded``); vetoes (``respondents``, ``satisfied``,
        ``satisfaction``, ``prerequisite_score``, ``veto_reasons``, ``vetoed``,
        ``excluded``); ranking (``ranked``, ``rank``, ``rank_bottom``,
        ``n_ranked``, ``tie_size``, ``cap``); lists (``red_status``,
        ``black_status``, ``list``); consequences (``points``, ``points_ytd``,
        ``black_streak``, ``escalated``, ``escalation_chain``); options
        (``tier``, ``flag``, ``slips``, ``passed``).
    ties : DataFrame
        Every tie a policy decided this round (`TIE_COLUMNS`): lists, flags, quota.
    list_status : DataFrame
        Per ranking group and list: size, cap, or why empty ("当期不设红榜").
    points, sources, categories : DataFrame
        Indicator, source and category scores of the round.
    ratings : DataFrame
        The round's raw score rows (``rater_id``, ``points``, ``visit`` …).
    deductions : DataFrame
        The round's deductions (`honorcalc.scoring.deduction_points`, plus
        ``evaluated`` and the unit's ``name``).
    history : DataFrame
        The units' results in every round of the same work up to this one:
        ``round_id``, ``date``, ``seq``, ``unit_id``, ``composite``, ``score``,
        ``score_rounded``, ``rank``, ``n_ranked``, ``list``, ``vetoed``,
        ``points``, ``escalated`` (RULES.md §1.5.4: always show history).
    ledger : DataFrame
        The points behind ``points_ytd``: ``round_id``, ``date``,
        ``round_kind``, ``topic``, ``unit_id``, ``list``, ``points``.
    flags : DataFrame
        流动红旗/黑旗 holders in every round of the same work up to this one
        (empty when off).
    slips : DataFrame
        Three-colour slips of this round (empty when off).
    pass_quota : DataFrame
        末位淘汰 standing for the year to date (empty when off).
    notes : tuple of str
        Things an auditor should know (ignored deductions, unknown 负面清单 codes,
        units without a weighted score, unscored prerequisites).
    evaluation : Evaluation or None
        Every round up to this one (`evaluate_until`), for analyses that need the
        earlier rounds too (`honorcalc.fairness.fairness_tables`).
    """

    round_id: str
    round: dict
    params: Params
    units: pd.DataFrame
    ties: pd.DataFrame
    list_status: pd.DataFrame
    points: pd.DataFrame
    sources: pd.DataFrame
    categories: pd.DataFrame
    ratings: pd.DataFrame
    deductions: pd.DataFrame
    history: pd.DataFrame
    ledger: pd.DataFrame
    flags: pd.DataFrame
    slips: pd.DataFrame
    pass_quota: pd.DataFrame
    notes: tuple[str, ...] = field(default=())
    evaluation: Evaluation | None = field(default=None, repr=False)

    def ranking_table(self) -> pd.DataFrame:
        """DESIGN.md's ``ranking.csv`` frame; see `ranking_table`."""
        return ranking_table(self)


def _frames(dataset) -> dict[str, pd.DataFrame]:
    missing = [t for t in TABLES if not hasattr(dataset, t)]
    if missing:
        raise InputError(
            f"expected a dataset with tables {', '.join(TABLES)}; "
            f"{type(dataset).__name__} lacks {', '.join(missing)}"
        )
    return {t: getattr(dataset, t) for t in TABLES}


def evaluate_round(dataset, params: Params, round_id: str | None = None) -> RoundResult:
    """Evaluate one round: scores, ranks, lists, vetoes, points, escalation, options.

    Parameters
    ----------
    dataset : object
        Anything with the six table attributes of
        `honorcalc.validation.Dataset` (``units``, ``indicators``, ``rounds``,
        ``scores``, ``deductions``, ``surveys``).
    params : Params
    round_id : str, optional
        Defaults to ``params.round``.

    Returns
    -------
    RoundResult

    Raises
    ------
    InputError
        The round is not in the dataset, or a table breaks the contract (see
        `evaluate_rounds`).

    Notes
    -----
    The rounds dated on or before this round are evaluated with the same
    parameters, because points year to date (RULES.md §1.4) and escalation
    ("连续两次") depend on the earlier rounds' lists and history blending on
    their composites. Later rounds never influence this one.

    Examples
    --------
    >>> result = evaluate_round(dataset, params, "C2026Q1")      # doctest: +SKIP
    >>> result.ranking_table().to_csv("ranking.csv", index=False)  # doctest: +SKIP
    """
    frames = _frames(dataset)
    ev, current = evaluate_until(frames, params, params.round if round_id is None else round_id)
    return _round_result(ev, frames, params, current)


def evaluate_until(frames: dict[str, pd.DataFrame], params: Params, round_id: str) -> tuple[Evaluation, pd.Series]:
    """Every round dated on or before ``round_id``, evaluated; and that round's row.

    ``frames`` are the six tables by name (`TABLES`). Later rounds never
    influence a round, so they are left out; the returned row is the round's
    `honorcalc.scoring.order_rounds` row (``work``, ``seq``, ``year`` …).
    """
    _check_inputs(*(frames[t] for t in TABLES), params)
    ro = order_rounds(frames["rounds"])
    if round_id not in set(ro["round_id"]):
        known = ", ".join(ro["round_id"].head(10))
        more = "" if len(ro) <= 10 else f" … ({len(ro)} rounds)"
        raise InputError(f"round {round_id!r} is not in the dataset (rounds: {known}{more})", file="rounds")
    current = ro[ro["round_id"] == round_id].iloc[0]
    # rounds up to this date are a prefix of every work's sequence, so seq is unchanged
    ro = ro[ro["date"] <= current["date"]]
    keep = ro["round_id"]
    sub = {t: frames[t][frames[t]["round_id"].isin(keep)] for t in ("scores", "deductions", "surveys")}
    return _evaluate(frames["units"], frames["indicators"], ro, params=params, **sub), current


def _round_result(ev: Evaluation, frames: dict, params: Params, current: pd.Series) -> RoundResult:
    round_id, work, seq = current["round_id"], current["work"], int(current["seq"])
    res = ev.results
    this = res["round_id"] == round_id
    units = res[this].copy()
    units["tier"] = assign_tiers(units, params)
    ties = [ev.ties[ev.ties["round_id"] == round_id]]

    same_work = res[(res["work"] == work) & (res["seq"] <= seq) & res["unit_id"].isin(units["unit_id"])]
    flags = pd.DataFrame(columns=["round_id", "ranking_group", "flag", "unit_id"])
    units["flag"] = ""
    if params.flags.enabled:
        flags, flag_ties = award_flags(res[(res["work"] == work) & (res["seq"] <= seq)], params)
        now = flags[flags["round_id"] == round_id].set_index("unit_id")["flag"]
        units["flag"] = units["unit_id"].map(now).fillna("").astype(str)
        ties.append(flag_ties[flag_ties["round_id"] == round_id])

    deductions = ev.deductions[ev.deductions["round_id"] == round_id].reset_index(drop=True)
    slips = pd.DataFrame(columns=["round_id", "unit_id", "code", "work", "streak", "slip", "rounds"])
    units["slips"] = [()] * len(units)
    if params.slips.enabled:
        all_slips = issue_slips(ev.deductions, res, ev.rounds)
        slips = all_slips[all_slips["round_id"] == round_id].reset_index(drop=True)
        held = slips.groupby("unit_id")[["code", "slip"]].apply(lambda f: tuple(zip(f["code"], f["slip"])))
        units["slips"] = [held.get(u, ()) for u in units["unit_id"]]

    quota, quota_ties = apply_pass_quota(res, params, round_id=round_id)
    units["passed"] = units["unit_id"].map(quota.set_index("unit_id")["passed"]) if len(quota) else np.nan
    ties.append(quota_ties)

    in_year = (res["year"] == current["year"]) & (res["date"] <= current["date"])
    ledger = res.loc[in_year & res["unit_id"].isin(units["unit_id"]),
                     ["round_id", "date", "round_kind", "topic", "unit_id", "list", "points"]]
    history = same_work[["round_id", "date", "seq", "unit_id", "composite", "score", "score_rounded", "rank",
                         "n_ranked", "list", "vetoed", "points", "escalated"]]
    scores = frames["scores"]
    ratings = scores[scores["round_id"] == round_id]
    info = {k: current[k] for k in ("round_id", "kind", "topic", "date", "year", "work", "seq")}
    info["topic"] = None if pd.isna(info["topic"]) else str(info["topic"])
    info["seq"], info["year"] = int(info["seq"]), int(info["year"])
    tie_frame = pd.concat([t for t in ties if len(t)], ignore_index=True) if any(len(t) for t in ties) \
        else _empty_ties()
    return RoundResult(
        round_id=round_id,
        round=info,
        params=params,
        units=units.reset_index(drop=True),
        ties=tie_frame,
        list_status=ev.list_status[ev.list_status["round_id"] == round_id].reset_index(drop=True),
        points=ev.points[ev.points["round_id"] == round_id].reset_index(drop=True),
        sources=ev.sources[ev.sources["round_id"] == round_id].reset_index(drop=True),
        categories=ev.categories[ev.categories["round_id"] == round_id].reset_index(drop=True),
        ratings=ratings.reset_index(drop=True),
        deductions=deductions,
        history=history.reset_index(drop=True),
        ledger=ledger.reset_index(drop=True),
        flags=flags.reset_index(drop=True),
        slips=slips,
        pass_quota=quota,
        notes=_notes(units, deductions, params),
        evaluation=ev,
    )


def _notes(units: pd.DataFrame, deductions: pd.DataFrame, params: Params) -> tuple[str, ...]:
    notes = []
    for row in deductions[~deductions["evaluated"]].itertuples(index=False):
        notes.append(f"deduction {row.code} of unit {row.unit_id} not applied: the unit has no scores this round")
    for row in deductions[deductions["negative_list"] == "unknown_code"].itertuples(index=False):
        notes.append(
            f"deduction code {row.code} (unit {row.unit_id}) is not on the negative list; "
            f"the data's {row.points:g} points are used"
        )
    for u in units.loc[units["score"].isna(), "unit_id"]:
        notes.append(f"unit {u} has no score under a source with positive weight and is not ranked")
    if params.veto.prerequisite_category is not None:
        for u in units.loc[units["prerequisite_score"].isna(), "unit_id"]:
            notes.append(
                f"unit {u} has no score in the prerequisite category "
                f"{params.veto.prerequisite_category!r}; the prerequisite veto cannot apply"
            )
    return tuple(notes)


def ranking_table(result: RoundResult) -> pd.DataFrame:
    """The ``ranking.csv`` frame of a round (DESIGN.md "Run folder").

    Returns
    -------
    DataFrame
        `RANKING_COLUMNS`, then one column per optional practice switched on
        (``tier``, ``flag``, ``slips`` as ``code:colour;…``, ``passed``), one
        row per unit scored in the round, sorted
        by (group, rank, unit_id) with unranked units last in their group.
        ``score`` keeps full precision (lists compare it rounded half up to
        ``lists.precision``); ``rank`` is a nullable integer (empty for units
        excluded by a veto); ``list`` is ``red``, ``black`` or empty.
    """
    p = result.params
    optional = [
        column for column, on in (
            ("tier", p.tiers.method != "off"),
            ("flag", p.flags.enabled),
            ("slips", p.slips.enabled),
            ("passed", p.pass_quota.share is not None),
        ) if on
    ]
    t = result.units.loc[:, [*RANKING_COLUMNS, *optional]]
    if "slips" in optional:
        t["slips"] = t["slips"].map(lambda slips: ";".join(f"{code}:{colour}" for code, colour in slips))
    t = t.sort_values(["group", "rank", "unit_id"], kind="stable", na_position="last")
    return t.reset_index(drop=True)
