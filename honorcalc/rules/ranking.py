"""The one rank-and-cut: rounding half up, competition ranks and the cut of a list (RULES.md §1.3).

Every list of honorcalc goes through `competition_ranks` and `cut_list`: the round's lists,
the stability replicates, the annual ranking, the rank sets and the counterfactuals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..params import Params
from .scoring import (
    row_key,
)

__all__ = ['round_half_up', 'list_cap', 'rank_units', 'Rankings', 'rankings', 'competition_ranks', 'ListCut', 'cut_list', 'PRODUCT_DECIMALS', 'group_codes']


# shares × counts are computed in floating point: 0.29 × 100 = 28.999999999999996
# must still give 29, so products are rounded to 9 decimals before floor/ceil
PRODUCT_DECIMALS = 9


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
    share = np.floor(np.round(params.lists.special_share * n, PRODUCT_DECIMALS))
    cap = np.where(special, share, params.lists.comprehensive_size)
    return int(cap) if np.ndim(cap) == 0 else cap.astype("int64")


def rank_units(results: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Rank the units of each round within their ranking group (RULES.md §1.1, §1.3, §2).

    Parameters
    ----------
    results : DataFrame
        ``round_id``, ``unit_id``, ``ranking_group``, ``score`` and optionally
        ``excluded`` (vetoed units taken out of the red ranking, `apply_vetoes`).
    params : Params
        ``lists.precision``.

    Returns
    -------
    DataFrame
        ``results`` (index reset) plus ``score_rounded``; the red ranking:
        ``ranked`` (scored and not excluded), ``rank`` (competition rank, 1 =
        best), ``n_ranked`` (units ranked in the group) and ``tie_size`` (ranked
        units of the group with the same rounded score); the bottom ranking, of
        every scored unit: ``rank_bottom`` (1 = worst), ``n_ranked_bottom`` and
        ``tie_size_bottom``. Ranks are NaN for units outside the ranking.

    Notes
    -----
    Competition ranking ("1224"): tied units share the best rank of the block
    and the next rank skips, so a rank is always 1 + the number of units with a
    strictly better rounded score. A veto withholds honours and never shields a
    unit from the black list: an excluded unit (``veto.action: exclude``) takes
    no place in the red ranking, so the others' red ranks close up, but keeps
    its place in the bottom ranking (`rankings`).
    """
    out = results.reset_index(drop=True)
    score = round_half_up(out["score"].to_numpy(dtype="float64", na_value=np.nan), params.lists.precision)
    excluded = out["excluded"].to_numpy(dtype=bool) if "excluded" in out.columns else np.zeros(len(out), dtype=bool)
    r = rankings(group_codes(out, ("round_id", "ranking_group")), score, excluded)
    out["score_rounded"] = score
    out["ranked"] = r.ranked
    out["rank"] = r.rank
    out["rank_bottom"] = r.rank_bottom
    out["n_ranked"] = r.n_ranked.astype("int64")
    out["tie_size"] = r.tie_size
    out["n_ranked_bottom"] = r.n_ranked_bottom.astype("int64")
    out["tie_size_bottom"] = r.tie_size_bottom
    return out


@dataclass(frozen=True, eq=False)
class Rankings:
    """The red and the bottom ranking of `rankings`, for every unit (arrays of one shape).

    Attributes
    ----------
    ranked, rank, tie_size, n_ranked :
        The red ranking (1 = best): scored units that no veto excluded.
    scored, rank_bottom, tie_size_bottom, n_ranked_bottom :
        The bottom ranking (1 = worst): every scored unit.
    """

    ranked: np.ndarray
    rank: np.ndarray
    tie_size: np.ndarray
    n_ranked: np.ndarray
    scored: np.ndarray
    rank_bottom: np.ndarray
    tie_size_bottom: np.ndarray
    n_ranked_bottom: np.ndarray


def rankings(codes: np.ndarray, rounded, excluded=None) -> Rankings:
    """The red and the bottom ranking of units within groups, for one score vector or a stack of them.

    Parameters
    ----------
    codes : ndarray of int, shape (n,)
        The ranking group of each unit.
    rounded : ndarray, shape (n,) or (B, n)
        The rounded scores (NaN: not scored, in neither ranking).
    excluded : ndarray of bool, broadcastable to ``rounded``, optional
        Units a veto takes out of the red ranking (``veto.action: exclude``).

    Returns
    -------
    Rankings

    Notes
    -----
    The bottom ranking is the ranking of every scored unit read from its end:
    a unit's bottom rank is 1 + the number of units with a strictly lower
    score. Both rankings are `competition_ranks`; without exclusions the red
    ranking is the same ranking read from the top.
    """
    rounded = np.asarray(rounded, dtype="float64")
    scored = ~np.isnan(rounded)
    excluded = np.zeros(rounded.shape, dtype=bool) if excluded is None else np.broadcast_to(excluded, rounded.shape)
    full, tie_full, _ = competition_ranks(codes, rounded, scored)
    n_full = _group_counts(codes, scored)
    if excluded.any():
        ranked = scored & ~excluded
        rank, tie, _ = competition_ranks(codes, rounded, ranked)
        n_ranked = _group_counts(codes, ranked)
    else:
        ranked, rank, tie, n_ranked = scored, full, tie_full, n_full
    # units strictly below + 1 = N − (last place of the tied block) + 1
    bottom = n_full - (full + tie_full - 1) + 1
    return Rankings(ranked, rank, tie, n_ranked, scored, bottom, tie_full, n_full)


def _group_counts(codes: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """For each unit, how many units of its group ``mask`` holds (in its own row of a stack)."""
    mask = np.asarray(mask)
    k = int(codes.max(initial=-1)) + 1
    if mask.ndim == 1:
        return np.bincount(codes, weights=mask, minlength=k)[codes]
    b = mask.shape[0]
    flat = (np.arange(b)[:, None] * k + codes[None, :]).ravel()
    counts = np.bincount(flat, weights=mask.ravel().astype("float64"), minlength=b * k).reshape(b, k)
    return counts[:, codes]


def group_codes(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
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
