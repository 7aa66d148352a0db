"""The annual assessment (年度考核): a year's rounds summed up per unit.

"红黑榜通报结果作为各单位全国文明城市创建年度考核的重要指标" (RULES.md §1.4): every
listing of the year carries points, and the year's points are what the annual
assessment receives. `evaluate_year` counts the rounds of one calendar year up
to a cut-off round (``params.round``: the year's last round for the whole
year, an earlier one for the standing so far) with the same rules as the round
reports, so an annual total is always the sum of the points the round reports
published.

Per unit (`YearResult.standing`): listings by kind, the year's points and the
rank they give within the ranking group, the mean comprehensive score, the
annual tier (when ``tiers.method`` is on), the 末位淘汰 standing (when
``pass_quota.share`` is set), the escalations of the year and the points of
the two previous years, with their three-year total, where the dataset
reaches back that far.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.contract import Dataset, dataset_frames, mapped
from ..params import Params
from .evaluate import evaluate_until
from .lists import empty_ties
from .practices import apply_pass_quota, assign_tiers
from .ranking import competition_ranks, round_half_up

__all__ = ["STANDING_COLUMNS", "POINTS_COLUMNS", "ESCALATION_COLUMNS", "YearResult", "evaluate_year", "annual_tables"]

#: The columns of ``annual.csv`` always present, in order; ``tier`` and the quota's
#: ``quota_rank``/``passed`` follow ``mean_comprehensive`` when those practices are on.
STANDING_COLUMNS = (
    "unit_id", "name", "kind", "group", "ranking_group", "rounds", "comprehensive_red",
    "comprehensive_black", "special_red", "special_black", "points", "points_rank", "n_ranked",
    "mean_comprehensive", "escalations", "points_prev2", "points_prev1", "points_3y", "years_3y",
)

#: The columns of ``annual_points.csv``: every unit's result in every round of the year.
POINTS_COLUMNS = (
    "round_id", "date", "round_kind", "topic", "unit_id", "name", "ranking_group", "score",
    "rank", "n_ranked", "list", "points", "points_ytd",
)

#: The columns of ``escalations.csv``: every 核查程序 triggered during the year.
ESCALATION_COLUMNS = (
    "round_id", "date", "round_kind", "topic", "unit_id", "name", "ranking_group", "black_streak",
    "chain",
)


@dataclass(frozen=True, eq=False)
class YearResult:
    """One year evaluated up to a cut-off round (`evaluate_year`).

    Attributes
    ----------
    round_id : str
        The last round counted.
    year : int
        Its calendar year.
    params : Params
    rounds : DataFrame
        The rounds counted, in time order (`honorcalc.rules.scoring.order_rounds`
        rows): the year's rounds dated on or before the cut-off.
    standing : DataFrame
        One row per unit evaluated in the year (`STANDING_COLUMNS`, plus
        ``tier``, ``quota_rank``, ``passed`` when on), sorted by ranking
        group, points rank, mean score and unit id.
    points : DataFrame
        `POINTS_COLUMNS`: each unit's listing, points and running total in each
        round of the year.
    escalations : DataFrame
        `ESCALATION_COLUMNS`: the escalations triggered by the year's rounds.
    years_3y : tuple of int
        The years of the three-year window (this year and the two before) that
        have rounds in the dataset.
    ties : DataFrame
        Ties the 末位淘汰 quota decided (`honorcalc.rules.TIE_COLUMNS`).
    results : DataFrame
        Every round evaluated up to the cut-off, earlier years included
        (`honorcalc.rules.Evaluation.results`), for the laggard analysis.
    """

    round_id: str
    year: int
    params: Params
    rounds: pd.DataFrame
    standing: pd.DataFrame
    points: pd.DataFrame
    escalations: pd.DataFrame
    years_3y: tuple[int, ...]
    ties: pd.DataFrame
    results: pd.DataFrame


def evaluate_year(dataset, params: Params, round_id: str | None = None) -> YearResult:
    """The annual assessment of the cut-off round's calendar year.

    Parameters
    ----------
    dataset : object
        The six tables as attributes (`honorcalc.data.Dataset`).
    params : Params
    round_id : str, optional
        The last round counted; defaults to ``params.round``.

    Returns
    -------
    YearResult

    Raises
    ------
    InputError
        The round is not in the dataset, or a table breaks the contract.

    Notes
    -----
    Every round up to the cut-off is evaluated, earlier years included, with
    the same parameters: a round's lists depend on the rounds before it
    (history blending, escalation "连续两次" across the new year). Points are
    summed per calendar year, as `honorcalc.rules.award_points` does for the
    points year to date, so the year's total of a unit equals its
    ``points_ytd`` in the cut-off round's report.

    Three-year totals count the years of the window that have any round in the
    dataset; a unit not evaluated in one of those years has no points for it
    (NaN), and its total sums the years it was evaluated.
    """
    frames = dataset_frames(dataset)
    round_id = params.round if round_id is None else round_id
    ev, current = evaluate_until(frames, params, round_id, validated=isinstance(dataset, Dataset))
    year = int(current["year"])
    res = ev.results
    in_year = res[res["year"] == year]
    rounds = ev.rounds[ev.rounds["year"] == year].reset_index(drop=True)

    standing = _standing(in_year, params)
    standing, years = _three_years(standing, res, year)
    quota, quota_ties = apply_pass_quota(res, params, round_id=round_id)
    if len(quota):
        standing = standing.merge(quota[["unit_id", "quota_rank", "passed"]], on="unit_id", how="left")
    columns = list(STANDING_COLUMNS)
    tier = _annual_tiers(standing, params)
    if tier is not None:
        standing["tier"] = tier
    at = columns.index("mean_comprehensive") + 1
    columns[at:at] = [c for c in ("tier", "quota_rank", "passed") if c in standing.columns]
    standing = standing[columns]

    points = in_year.assign(score=in_year["score_rounded"])[list(POINTS_COLUMNS)]
    points = points.sort_values(["date", "round_id", "ranking_group", "rank", "unit_id"],
                                kind="stable", na_position="last").reset_index(drop=True)
    esc = in_year[in_year["escalated"].astype(bool)]
    escalations = esc.assign(chain=esc["escalation_chain"].map(" → ".join))[list(ESCALATION_COLUMNS)]
    escalations = escalations.sort_values(["date", "round_id", "unit_id"], kind="stable").reset_index(drop=True)
    return YearResult(
        round_id=round_id, year=year, params=params, rounds=rounds, standing=standing,
        points=points, escalations=escalations, years_3y=years,
        ties=quota_ties if len(quota_ties) else empty_ties(), results=res,
    )


def _standing(in_year: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Listings, points, points rank and mean comprehensive score per unit of the year."""
    comprehensive = in_year["round_kind"] == "comprehensive"
    red, black = in_year["list"] == "red", in_year["list"] == "black"
    counts = in_year.assign(
        comprehensive_red=comprehensive & red, comprehensive_black=comprehensive & black,
        special_red=~comprehensive & red, special_black=~comprehensive & black,
        comp_score=in_year["score"].where(comprehensive),
    )
    # a unit's identity is its latest round's (ranking groups do not change within a year in
    # the contract, but the latest row is the one a reader of the last notice saw)
    last = in_year.sort_values("date", kind="stable").drop_duplicates("unit_id", keep="last")
    out = counts.groupby("unit_id", sort=True).agg(
        rounds=("round_id", "size"),
        comprehensive_red=("comprehensive_red", "sum"), comprehensive_black=("comprehensive_black", "sum"),
        special_red=("special_red", "sum"), special_black=("special_black", "sum"),
        points=("points", "sum"), mean_comprehensive=("comp_score", "mean"),
    ).reset_index()
    out = last[["unit_id", "name", "kind", "group", "ranking_group"]].merge(out, on="unit_id")
    codes = pd.factorize(out["ranking_group"], sort=True)[0]
    rank = competition_ranks(codes, out["points"].to_numpy(dtype="float64"))[0]
    out["points_rank"] = rank.astype("int64")
    out["n_ranked"] = np.bincount(codes)[codes].astype("int64")
    out["mean_comprehensive"] = round_half_up(out["mean_comprehensive"].to_numpy(dtype="float64"),
                                              params.lists.precision)
    esc = in_year[in_year["escalated"].astype(bool)].groupby("unit_id").size()
    out["escalations"] = mapped(out["unit_id"], esc).fillna(0).astype("int64")
    for col in ("comprehensive_red", "comprehensive_black", "special_red", "special_black", "rounds"):
        out[col] = out[col].astype("int64")
    return out.sort_values(
        ["ranking_group", "points_rank", "mean_comprehensive", "unit_id"],
        ascending=[True, True, False, True], kind="stable", na_position="last",
    ).reset_index(drop=True)


def _three_years(standing: pd.DataFrame, results: pd.DataFrame, year: int) -> tuple[pd.DataFrame, tuple[int, ...]]:
    """Points of the two previous years and the three-year total, where the data reach."""
    years = tuple(y for y in (year - 2, year - 1, year) if (results["year"] == y).any())
    out = standing.copy()
    total = out["points"].astype("float64")
    for offset, col in ((2, "points_prev2"), (1, "points_prev1")):
        y = year - offset
        earlier = results[results["year"] == y].groupby("unit_id")["points"].sum()
        out[col] = mapped(out["unit_id"], earlier).astype("float64")  # NaN: not evaluated that year
        total = total + out[col].fillna(0.0)
    out["points_3y"] = total
    out["years_3y"] = "-".join(str(y) for y in (years[0], years[-1])) if len(years) > 1 else str(year)
    return out, years


def _annual_tiers(standing: pd.DataFrame, params: Params) -> pd.Series | None:
    """The year's tier (好/较好/一般) from the mean comprehensive score; None when tiers are off.

    The tiers of RULES.md §2 publish results instead of ranks; for the year the
    result is the mean comprehensive score (the rounds that rank whole-campaign
    performance), tiered with the same ``cuts`` or rank ``shares`` as a round.
    """
    if params.tiers.method == "off":
        return None
    score = standing["mean_comprehensive"].to_numpy(dtype="float64")
    ranked = ~np.isnan(score)
    codes = pd.factorize(standing["ranking_group"], sort=True)[0]
    rank = competition_ranks(codes, score, ranked)[0]
    n_ranked = np.bincount(codes, weights=ranked, minlength=codes.max(initial=-1) + 1)[codes]
    frame = pd.DataFrame({"score_rounded": score, "ranked": ranked, "rank": rank, "n_ranked": n_ranked},
                         index=standing.index)
    return assign_tiers(frame, params)


def annual_tables(result: YearResult) -> dict[str, pd.DataFrame]:
    """The tables of an annual run, keyed by file name (without the laggards: `pipeline`)."""
    return {
        "annual.csv": result.standing,
        "annual_points.csv": result.points,
        "escalations.csv": result.escalations,
        "ties.csv": result.ties,
    }
