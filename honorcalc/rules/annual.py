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

from ..data.contract import dataset_frames
from ..params import Params
from .evaluate import evaluate_until
from .lists import empty_ties
from .practices import apply_pass_quota, assign_tiers
from .ranking import competition_ranks, round_half_up

__all__ = ["STANDING_COLUMNS", "POINTS_COLUMNS", "ESCALATION_COLUMNS", "YearResult", "evaluate_year", "annual_tables",
           "explain_year"]

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
    ev, current = evaluate_until(frames, params, round_id)
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
    out["escalations"] = out["unit_id"].map(esc).fillna(0).astype("int64")
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
        out[col] = out["unit_id"].map(earlier).astype("float64")  # NaN: not evaluated that year
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


_WORDS = {
    "zh": {
        "head": "单位 {unit} {name}（排名组：{group}）— {year} 年度考核，截至 {round}（{date}）",
        "points": "年度积分 {points:+g}（组内第 {rank} / {n} 名）；综合测评 红榜 {cr} 次、黑榜 {cb} 次；"
                  "专项测评 红榜 {sr} 次、黑榜 {sb} 次",
        "mean": "综合测评平均分 {mean}",
        "tier": "年度档次 {tier}",
        "quota": "末位淘汰：{passed}（组内第 {rank} 名）",
        "passed": "通过", "not_passed": "未通过",
        "listings": "计分明细（每次上榜）：",
        "none": "  本年度未上榜",
        "line": "  {date} {round} {work}  {list}  {points:+g}  累计 {ytd:+g}",
        "red": "红榜", "black": "黑榜", "comprehensive": "综合测评", "special": "专项测评·{topic}",
        "escalations": "启动核查 {n} 次：",
        "escalation": "  {date} {round} {work}：连续黑榜 {chain}",
        "three": "三年累计（{years}）：{total:+g}；{parts}",
        "year_points": "{year} 年 {points}",
        "not_evaluated": "未参评",
    },
    "en": {
        "head": "Unit {unit} {name} (ranking group: {group}) — annual assessment {year}, up to {round} ({date})",
        "points": "Points {points:+g} (rank {rank} of {n} in the group); comprehensive: red {cr}, black {cb}; "
                  "special: red {sr}, black {sb}",
        "mean": "mean comprehensive score {mean}",
        "tier": "tier {tier}",
        "quota": "elimination quota: {passed} (rank {rank} in the group)",
        "passed": "passed", "not_passed": "not passed",
        "listings": "Points, listing by listing:",
        "none": "  not listed this year",
        "line": "  {date} {round} {work}  {list}  {points:+g}  total {ytd:+g}",
        "red": "red", "black": "black", "comprehensive": "comprehensive", "special": "special: {topic}",
        "escalations": "Escalated {n} times:",
        "escalation": "  {date} {round} {work}: black-listed in {chain}",
        "three": "3-year total ({years}): {total:+g}; {parts}",
        "year_points": "{year}: {points}",
        "not_evaluated": "not evaluated",
    },
}


def explain_year(result: YearResult, unit_id: str, *, lang: str = "zh", as_json: bool = False) -> str:
    """One unit's year: its points, outcome, every listing that scored and every escalation.

    Raises
    ------
    InputError
        The unit was not evaluated in the year, or ``lang`` is unknown.
    """
    import difflib
    import json

    from ..errors import InputError

    if lang not in _WORDS:
        raise InputError(f"lang ({lang!r}) not recognized; must be 'zh' or 'en'")
    s = result.standing
    if unit_id not in set(s["unit_id"]):
        near = difflib.get_close_matches(unit_id, s["unit_id"].tolist(), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise InputError(f"unit {unit_id!r} was not evaluated in {result.year} up to {result.round_id}{hint}")
    row = s[s["unit_id"] == unit_id].iloc[0]
    scored = result.points[(result.points["unit_id"] == unit_id) & (result.points["points"] != 0)]
    esc = result.escalations[result.escalations["unit_id"] == unit_id]
    if as_json:
        return json.dumps({
            "year": result.year, "round_id": result.round_id, "standing": _plain_record(row),
            "listings": [_plain_record(r) for _, r in scored.iterrows()],
            "escalations": [_plain_record(r) for _, r in esc.iterrows()],
        }, ensure_ascii=False, indent=2, allow_nan=False)
    W = _WORDS[lang]

    def work(kind, topic) -> str:
        return W["comprehensive"] if kind == "comprehensive" else W["special"].format(topic=topic)

    last = result.rounds.iloc[-1]
    lines = [
        W["head"].format(unit=unit_id, name=row["name"], group=row["ranking_group"], year=result.year,
                         round=result.round_id, date=f"{last['date']:%Y-%m-%d}"),
        W["points"].format(points=row["points"], rank=row["points_rank"], n=row["n_ranked"],
                           cr=row["comprehensive_red"], cb=row["comprehensive_black"],
                           sr=row["special_red"], sb=row["special_black"]),
    ]
    extra = [W["mean"].format(mean="—" if pd.isna(row["mean_comprehensive"]) else f"{row['mean_comprehensive']:.2f}")]
    if "tier" in row.index and isinstance(row["tier"], str):
        extra.append(W["tier"].format(tier=row["tier"]))
    if "passed" in row.index and not pd.isna(row["passed"]):
        extra.append(W["quota"].format(passed=W["passed"] if row["passed"] else W["not_passed"],
                                       rank=int(row["quota_rank"])))
    lines.append("；".join(extra) if lang == "zh" else "; ".join(extra))
    lines.append(W["listings"])
    lines += [W["line"].format(date=f"{r.date:%Y-%m-%d}", round=r.round_id, work=work(r.round_kind, r.topic),
                               list=W.get(r.list, r.list), points=r.points, ytd=r.points_ytd)
              for r in scored.itertuples(index=False)] or [W["none"]]
    if len(esc):
        lines.append(W["escalations"].format(n=len(esc)))
        lines += [W["escalation"].format(date=f"{e.date:%Y-%m-%d}", round=e.round_id,
                                         work=work(e.round_kind, e.topic), chain=e.chain)
                  for e in esc.itertuples(index=False)]
    if len(result.years_3y) > 1:
        parts = []
        for offset, col in ((2, "points_prev2"), (1, "points_prev1"), (0, "points")):
            y = result.year - offset
            if y in result.years_3y:
                v = row[col]
                parts.append(W["year_points"].format(year=y, points=W["not_evaluated"] if pd.isna(v) else f"{v:+g}"))
        lines.append(W["three"].format(years=row["years_3y"], total=row["points_3y"],
                                       parts=("，" if lang == "zh" else ", ").join(parts)))
    return "\n".join(lines)


def _plain_record(row: pd.Series) -> dict:
    """A row as JSON-ready values: Python numbers and booleans, ISO dates, None for missing."""
    out = {}
    for key, value in row.items():
        if isinstance(value, pd.Timestamp):
            value = value.date().isoformat()
        elif not isinstance(value, str) and pd.isna(value):
            value = None
        elif hasattr(value, "item"):
            value = value.item()  # a NumPy scalar
        out[key] = value
    return out
