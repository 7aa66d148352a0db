"""Points for the annual assessment and escalation of repeat black-listing (RULES.md §1.4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..params import Params
from .ranking import group_codes

__all__ = ['award_points', 'escalate', 'black_streaks', 'escalation_chains']


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
    codes = group_codes(out, ("unit_id", "year"))
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
        The output of `honorcalc.rules.scoring.order_rounds`.
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
    streak = black_streaks(
        group_codes(out, ("unit_id", "work")), out["seq"].to_numpy(dtype="int64"),
        (out["list"] == "black").to_numpy(dtype=bool),
    )
    out["black_streak"] = streak
    out["escalated"] = streak >= c
    out["escalation_chain"] = escalation_chains(out["work"], out["seq"], streak, out["escalated"], rounds)
    return out


def black_streaks(codes: np.ndarray, seq: np.ndarray, hit: np.ndarray) -> np.ndarray:
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


def escalation_chains(work, seq, streak, mask, rounds: pd.DataFrame) -> list[tuple[str, ...]]:
    """The round_ids of each masked row's streak, oldest first; () elsewhere."""
    by_seq = dict(zip(zip(rounds["work"], rounds["seq"]), rounds["round_id"]))
    return [
        tuple(by_seq[(w, q)] for q in range(s - n + 1, s + 1)) if m else ()
        for w, s, n, m in zip(work, seq, streak, mask)
    ]
