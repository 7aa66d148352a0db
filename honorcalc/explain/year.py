"""Why a unit stands where it stands in the year: its listings, points and escalations, in words (zh/en)."""

from __future__ import annotations

import json

import pandas as pd

from ..errors import InputError
from ..rules.annual import YearResult
from .values import inert_json, inert_text

__all__ = ["explain_year"]


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
        return inert_json(json.dumps({
            "year": result.year, "round_id": result.round_id, "standing": _plain_record(row),
            "listings": [_plain_record(r) for _, r in scored.iterrows()],
            "escalations": [_plain_record(r) for _, r in esc.iterrows()],
        }, ensure_ascii=False, indent=2, allow_nan=False))
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
    return inert_text("\n".join(lines))


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
