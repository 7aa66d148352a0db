"""The red and black lists of every round (RULES.md §1.3): thresholds, caps, ties and vetoes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..params import Params
from .ranking import cut_list, list_cap
from .scoring import (
    row_key,
)

__all__ = ['TIE_COLUMNS', 'ListOutcome', 'apply_lists', 'empty_ties', 'tie_table']


#: The columns of every ties table: which list, which tied block, who the policy listed.
TIE_COLUMNS = ["round_id", "ranking_group", "list", "rank", "cap", "score", "units", "policy", "listed"]


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
        ``tie_none_in``, ``vetoed``). A list with ``n_listed`` 0 is "not set this
        round" (当期不设红榜 / 当期不设黑榜); the words are the reports'.
    """

    results: pd.DataFrame
    ties: pd.DataFrame
    status: pd.DataFrame


# status codes, in the order they are checked: the first condition a unit fails
_STATUS_ORDER = ("excluded", "unscored", "threshold", "cap_zero", "rank", "tie_none_in", "vetoed")


def apply_lists(results: pd.DataFrame, params: Params) -> ListOutcome:
    """Put units on the red and black lists (RULES.md §1.3, §2).

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
        ``results`` gains ``cap`` and ``cap_bottom`` (the red and the black
        list's cap, see `list_cap`, each from the units of its own ranking),
        ``red_status`` and ``black_status`` (``listed``, ``listed_tie``, or the
        first condition failed: ``excluded``, ``unscored``, ``threshold``,
        ``cap_zero``, ``rank``, ``tie_none_in``, ``vetoed``), ``list``
        (``"red"``, ``"black"`` or ``""``) and ``veto_withheld`` (vetoed, and
        red in the ranking of every scored unit: the veto took a red listing
        away).

    Notes
    -----
    "对测评中综合得分在90分以上且排名前十的单位,纳入综合测评红榜……若排名前十的单位综合得分均不到90分,
    则当期通报不设红榜。" Red: rounded score ≥ ``red_min`` and rank ≤ cap.
    Black: rounded score ≤ ``black_max`` and bottom rank ≤ cap. Special rounds:
    cap = ⌊``special_share`` × N⌋, and a cap of 0 means no list.

    A block of tied units that starts inside the cut and ends outside it is
    decided by ``lists.tie_policy``: ``all_in`` lists the whole block (the list
    may exceed the cap), ``none_in`` none of it; every such decision is a row of
    ``ties``.

    A veto (一票否决) withholds honours; it never shields a unit from the black
    list. With ``veto.action == "no_red"`` a vetoed unit keeps its score and
    rank but is not red, and nobody below takes its place, so the red list may
    be shorter than the cap. With ``exclude`` it takes no place in the red
    ranking, so the others' red ranks close up (RULES.md §2). Under both, the
    black list is cut from the bottom ranking of every scored unit, vetoed or
    not (`honorcalc.rules.ranking.rankings`): the black list is the same under
    either action.
    """
    L = params.lists
    out = results.copy()
    kind = out["round_kind"].to_numpy()
    score = out["score_rounded"].to_numpy(dtype="float64")
    scored = ~np.isnan(score)
    vetoed = out["vetoed"].to_numpy(dtype=bool)
    caps = {"red": list_cap(kind, out["n_ranked"].to_numpy(), params),
            "black": list_cap(kind, out["n_ranked_bottom"].to_numpy(), params)}
    out["cap"], out["cap_bottom"] = caps["red"], caps["black"]
    rankings = {
        # (rank from the list's end, tied block, who takes a place, who is out by a veto, who may not be listed)
        "red": ("rank", "tie_size", out["ranked"].to_numpy(dtype=bool), out["excluded"].to_numpy(dtype=bool),
                vetoed & (params.veto.action == "no_red")),
        "black": ("rank_bottom", "tie_size_bottom", scored, np.zeros(len(out), dtype=bool),
                  np.zeros(len(out), dtype=bool)),
    }
    tie_rows, listed, status = [], {}, {}
    for name, (rank_col, tie_col, ranked, excluded, blocked) in rankings.items():
        rank = out[rank_col].to_numpy(dtype="float64", na_value=np.nan)
        tie_size = out[tie_col].to_numpy(dtype="float64", na_value=np.nan)
        cap = caps[name]
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
            tie_rows.append(tie_table(decided, name, L.tie_policy))
    if (listed["red"] & listed["black"]).any():
        raise RuntimeError("a unit is on both lists although red_min > black_max")  # a bug, not user error
    out["list"] = np.where(listed["red"], "red", np.where(listed["black"], "black", ""))
    out["veto_withheld"] = vetoed & _red_without_vetoes(out, score, scored, caps["black"], params)
    ties = pd.concat(tie_rows, ignore_index=True) if tie_rows else empty_ties()
    return ListOutcome(out, ties, _list_status(out, status, listed, {"red": rankings["red"][2], "black": scored},
                                               caps))


def _red_without_vetoes(out: pd.DataFrame, score, scored, cap, params: Params) -> np.ndarray:
    """Red in the ranking of every scored unit, no veto blocking: the red list as it would be without vetoes."""
    n = out["n_ranked_bottom"].to_numpy(dtype="float64")
    bottom = out["rank_bottom"].to_numpy(dtype="float64", na_value=np.nan)
    tie = out["tie_size_bottom"].to_numpy(dtype="float64", na_value=np.nan)
    # the same ranking read from the top: units strictly above + 1 = N − (last place of the block from below) + 1
    top = n - (bottom + tie - 1) + 1
    return cut_list("red", score, top, tie, cap, scored, params).on_list


_NO_TIES = pd.DataFrame({c: pd.Series(dtype=object) for c in TIE_COLUMNS})


def empty_ties() -> pd.DataFrame:
    return _NO_TIES.copy()


def tie_table(decided: pd.DataFrame, name: str, policy: str) -> pd.DataFrame:
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


def _list_status(out: pd.DataFrame, status: dict[str, np.ndarray], listed: dict[str, np.ndarray],
                 ranked: dict[str, np.ndarray], caps: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per ranking group and list: its size, or why it is empty (当期不设红榜)."""
    # the joined key sorts like the (round_id, ranking_group) pair: \x1f sorts first
    codes = pd.factorize(row_key(out, ("round_id", "ranking_group")), sort=True)[0]
    first = np.unique(codes, return_index=True)[1]
    n = len(first)

    def count(mask) -> np.ndarray:
        return np.bincount(codes, weights=np.asarray(mask, dtype="float64"), minlength=n).astype("int64")

    parts = {k: [] for k in ("list", "n_ranked", "cap", "n_listed", "reason")}
    for name in ("red", "black"):
        n_ranked = count(ranked[name])
        cap = np.asarray(caps[name], dtype="int64")[first]
        n_listed = count(listed[name])
        # got past the threshold and the rank cut / also past the tie policy
        qualified = count(np.isin(status[name], ["tie_none_in", "vetoed", "listed", "listed_tie"]))
        past_tie = count(np.isin(status[name], ["vetoed", "listed", "listed_tie"]))
        parts["list"].append(np.full(n, name, dtype=object))
        parts["n_ranked"].append(n_ranked)
        parts["cap"].append(cap)
        parts["n_listed"].append(n_listed)
        parts["reason"].append(np.select(
            [n_listed > 0, n_ranked == 0, cap == 0, qualified == 0, past_tie == 0],
            ["listed", "no_units", "cap_zero", "threshold", "tie_none_in"],
            "vetoed",
        ))
    # rows: each group's red then black, groups in key order
    interleave = np.argsort(np.concatenate([np.arange(n), np.arange(n)]), kind="stable")
    both = {k: np.concatenate(v)[interleave] for k, v in parts.items()}
    twice = np.repeat(first, 2)
    return pd.DataFrame({
        "round_id": out["round_id"].to_numpy()[twice],
        "ranking_group": out["ranking_group"].to_numpy()[twice],
        "list": both["list"],
        "n_ranked": both["n_ranked"],
        "cap": both["cap"],
        "n_listed": both["n_listed"],
        "reason": both["reason"],
    })
