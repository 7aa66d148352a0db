"""What the annual report notebook shows, as escaped HTML fragments.

The annual counterpart of `honorcalc.report.round_report`: `prepare` evaluates the year once
(`honorcalc.rules.annual.evaluate_year`) and writes the run's tables, then one
function per cell. The appendix and data overview are the round report's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data.contract import Dataset
from ..params import Params
from ..rules.annual import YearResult
from ..runs.folder import check_round, notebook_params
from ..runs.pipeline import evaluate, run_tables
from . import round_report as present
from .round_report import _e, _Html, _section, _table

__all__ = [
    "AnnualView", "build_view", "prepare", "title", "summary", "leaders", "points_over_year", "escalations",
    "quota", "laggards", "standing", "data_overview", "appendix", "LABELS",
]

LABELS = {
    "zh": {
        "annual_report": "{year}年度红黑榜考核报告",
        "annual": "年度考核",
        "counted": "计入 {n} 期通报（综合测评 {c} 期、专项测评 {s} 期）",
        "until": "截至 {round}（{date}）",
        "partial_year": "本年度尚未结束：统计截至 {date}，为年度累计，非全年结果。",
        "listings_red": "红榜上榜次数",
        "listings_black": "黑榜上榜次数",
        "escalation_events": "启动核查次数",
        "escalated_units": "被核查单位",
        "positive": "年度积分为正",
        "negative": "年度积分为负",
        "points_rule": "积分规则：综合测评红榜 {cr:+g}、黑榜 {cb:+g}；专项测评红榜 {sr:+g}、黑榜 {sb:+g}（每次）。",
        "leaders": "各组年度积分前列与末位",
        "top": "积分前列",
        "bottom": "积分末位",
        "top_note": "每组积分最高与最低的 {n} 家（同分并列时全部列出）；积分相同者按全年综合测评平均分排序。",
        "points": "年度积分",
        "comp_red": "综合红榜",
        "comp_black": "综合黑榜",
        "special_red": "专项红榜",
        "special_black": "专项黑榜",
        "mean_comprehensive": "综合测评平均分",
        "tier": "年度档次",
        "escalation_count": "核查次数",
        "fig_points": "各单位年度积分累计走势",
        "escalations_title": "年内启动核查的单位",
        "escalations_note": "同一单位同一工作连续 {n} 次被黑榜通报，启动核查程序（每次触发计一次）。",
        "no_escalations": "本年度无单位启动核查程序。",
        "times": "次数",
        "works": "涉及工作",
        "latest": "最近一次",
        "chain": "连续黑榜通报",
        "all_events": "全部核查记录",
        "quota_title": "末位淘汰",
        "quota_failed": "末位淘汰未通过",
        "quota_note": "每组按年度积分排名，仅前 {share:.0%}（向上取整）通过；积分相同按全年平均得分。",
        "quota_off": "未启用末位淘汰（参数 pass_quota.share 为空）。",
        "laggards_title": "持续后进单位",
        "laggards_note": "区别“偶然一次”与“持续落后”：综合考察近 {n} 期中多次上黑榜或居组内末位 {share:.0%}、"
                         "持续低于组内水平、年内得分下滑和平均差距，对每个单位作一次判断；单独一期失利不足以认定。"
                         "按本市本年各期的实际得分分布检验，认定有把握：在没有持续后进单位的情况下，"
                         "每个单位被误认定的概率不超过 {alpha:.0%}，全部认定中误判的比例控制在 {fdr:.0%} 以内。",
        "rule_listed": "多次垫底",
        "rule_cusum": "持续低于组内水平",
        "rule_decline": "得分下滑",
        "rule_shortfall": "平均差距明显",
        "rule": "依据",
        "rounds_involved": "涉及通报",
        "no_laggards": "未发现持续后进单位。",
        "standing_title": "全部单位年度积分",
        "three_years": "三年累计",
        "three_years_note": "三年累计为 {years} 年积分之和（数据集中有通报的年份）；某年未参评的单位该年记为空。",
        "three_years_missing": "数据集中仅有 {years} 年的通报，三年累计只含这些年份。",
        "year_points": "{year}年积分",
        "tiers_off": "未启用分档（参数 tiers.method 为 off）。",
        "tiers_note": "年度档次按全年综合测评平均分，采用与每期相同的分档规则（{method}）。",
        "tiers_none": "截至本期尚无综合测评，年度档次暂不评定。",
    },
    "en": {
        "annual_report": "Annual assessment {year}: red and black lists",
        "annual": "Annual assessment",
        "counted": "{n} notices counted ({c} comprehensive, {s} special)",
        "until": "up to {round} ({date})",
        "partial_year": "The year is not over: totals up to {date}, not the full year.",
        "listings_red": "Red listings",
        "listings_black": "Black listings",
        "escalation_events": "Escalations",
        "escalated_units": "Units escalated",
        "positive": "Positive points",
        "negative": "Negative points",
        "points_rule": "Points: comprehensive red {cr:+g}, black {cb:+g}; special red {sr:+g}, black {sb:+g} (each time).",
        "leaders": "Top and bottom of each group",
        "top": "Top",
        "bottom": "Bottom",
        "top_note": "The {n} highest and lowest of each group by points (all tied units shown); "
                    "equal points are ordered by the mean comprehensive score.",
        "points": "Points",
        "comp_red": "Comp. red",
        "comp_black": "Comp. black",
        "special_red": "Special red",
        "special_black": "Special black",
        "mean_comprehensive": "Mean comprehensive score",
        "tier": "Tier",
        "escalation_count": "Escalations",
        "fig_points": "Each unit's points over the year",
        "escalations_title": "Units escalated during the year",
        "escalations_note": "Black-listed for the same work in {n} consecutive rounds of it: verification "
                            "(each trigger counted).",
        "no_escalations": "No unit was escalated this year.",
        "times": "Times",
        "works": "Work",
        "latest": "Latest",
        "chain": "Consecutive black listings",
        "all_events": "Every escalation",
        "quota_title": "Elimination quota",
        "quota_failed": "Not passing the quota",
        "quota_note": "Units are ranked by points within their group; only the top {share:.0%} (rounded up) pass; "
                      "equal points are ordered by the mean score.",
        "quota_off": "No elimination quota (pass_quota.share is null).",
        "laggards_title": "Persistent laggards",
        "laggards_note": "Unlucky once or persistently behind: one decision per unit weighs repeated black "
                         "listings or places in the group's bottom {share:.0%} over the last {n} rounds, a "
                         "lasting shortfall below the group, a decline within the year and the mean gap; one "
                         "bad round is never enough. Tested against the city's own score distribution of each "
                         "round: without persistent laggards a unit is called with probability at most "
                         "{alpha:.0%}, and at most {fdr:.0%} of the units called are expected to be false calls.",
        "rule_listed": "repeatedly at the bottom",
        "rule_cusum": "persistently below the group",
        "rule_decline": "declining",
        "rule_shortfall": "large mean gap",
        "rule": "Evidence",
        "rounds_involved": "Rounds",
        "no_laggards": "No persistent laggard found.",
        "standing_title": "Every unit's points",
        "three_years": "3-year total",
        "three_years_note": "The 3-year total sums {years} (the years with notices in the dataset); a unit "
                            "not evaluated in a year has no entry for it.",
        "three_years_missing": "The dataset has notices of {years} only; the 3-year total counts those years.",
        "year_points": "Points {year}",
        "tiers_off": "No tiers (tiers.method is off).",
        "tiers_note": "The annual tier is from the mean comprehensive score, with the rounds' tier rule ({method}).",
        "tiers_none": "No comprehensive round yet this year: no annual tier.",
    },
}


@dataclass(frozen=True)
class AnnualView:
    """Everything an annual report shows, computed once by `prepare`."""

    params: Params
    dataset: Dataset
    result: YearResult
    tables: dict[str, pd.DataFrame]
    run_dir: Path | None

    @property
    def labels(self) -> dict[str, str]:
        return {**present.LABELS[self.params.lang], **LABELS[self.params.lang]}


def build_view(params: Params, dataset: Dataset, run_dir: str | Path | None = None) -> AnnualView:
    """Evaluate the year and compute every table of the annual run."""
    check_round(params, dataset)
    params = params.model_copy(update={"report": "annual"})
    result = evaluate(params, dataset)
    tables = run_tables(params, dataset, result)
    return AnnualView(params=params, dataset=dataset, result=result, tables=tables,
                      run_dir=Path(run_dir) if run_dir else None)


def prepare(params_file=None, parameters: dict | None = None, run_dir: str | None = None) -> AnnualView:
    """Load parameters and data and evaluate the year, for the annual report notebook.

    As `honorcalc.report.round_report.prepare`: the view `honorcalc run` handed over when there
    is one, else computed here (and the tables written to ``run_dir`` if given).
    """
    params = notebook_params(params_file, parameters).model_copy(update={"report": "annual"})
    return present.shown_view(build_view, AnnualView, params, run_dir)


def _signed(value) -> str:
    return "" if pd.isna(value) else f"{float(value):+g}"


def _date(value) -> str:
    return f"{pd.Timestamp(value):%Y-%m-%d}"


def title(view: AnnualView) -> _Html:
    L, r = view.labels, view.result
    kinds = r.rounds["kind"]
    last = r.rounds.iloc[-1]
    counted = L["counted"].format(n=len(r.rounds), c=int((kinds == "comprehensive").sum()),
                                  s=int((kinds == "special").sum()))
    meta = f"{L['annual']} · {counted} · {L['until'].format(round=r.round_id, date=_date(last['date']))}"
    later = view.dataset.rounds
    later = later[(pd.to_datetime(later["date"]).dt.year == r.year) & (later["date"] > last["date"])]
    partial = f"<p class='warn'>{_e(L['partial_year'].format(date=_date(last['date'])))}</p>" if len(later) else ""
    return _Html(present._CSS + _section(
        f"<h1>{_e(view.params.city)}{L['city_sep']}{_e(L['annual_report'].format(year=r.year))}</h1>"
        f"<p class='meta'>{_e(meta)}</p>{partial}"
    ))


def summary(view: AnnualView) -> _Html:
    L, r, p = view.labels, view.result, view.params.points
    s = r.standing
    kpis = [
        (L["units"], len(s)),
        (L["listings_red"], int(s["comprehensive_red"].sum() + s["special_red"].sum())),
        (L["listings_black"], int(s["comprehensive_black"].sum() + s["special_black"].sum())),
        (L["escalation_events"], len(r.escalations)),
        (L["escalated_units"], r.escalations["unit_id"].nunique()),
        (L["positive"], int((s["points"] > 0).sum())),
        (L["negative"], int((s["points"] < 0).sum())),
    ]
    if "passed" in s.columns:
        kpis.append((L["quota_failed"], int((~s["passed"].astype(bool)).sum())))
    boxes = "".join(f"<span class='kpi'><b>{_e(v)}</b>{_e(k)}</span>" for k, v in kpis)
    rule = L["points_rule"].format(cr=p.comprehensive_red, cb=p.comprehensive_black,
                                   sr=p.special_red, sb=p.special_black)
    return _section(f"<h2>{_e(L['summary'])}</h2><div>{boxes}</div><p class='rule'>{_e(rule)}</p>")


def _standing_frame(view: AnnualView, rows: pd.DataFrame, *, rank: bool = True) -> pd.DataFrame:
    L = view.labels
    cols = {}
    if rank:
        cols[L["rank"]] = rows["points_rank"].astype(int)
    cols[L["unit"]] = rows["name"]
    cols[L["points"]] = rows["points"].map(_signed)
    cols[L["comp_red"]] = rows["comprehensive_red"].astype(int)
    cols[L["comp_black"]] = rows["comprehensive_black"].astype(int)
    cols[L["special_red"]] = rows["special_red"].astype(int)
    cols[L["special_black"]] = rows["special_black"].astype(int)
    cols[L["mean_comprehensive"]] = rows["mean_comprehensive"].astype(float)
    if "tier" in rows.columns:
        cols[L["tier"]] = rows["tier"]
    if "passed" in rows.columns:
        cols[L["quota_title"]] = rows["passed"].map(lambda v: L["passed"] if bool(v) else L["not_passed"])
    cols[L["escalation_count"]] = rows["escalations"].map(lambda n: int(n) if n else "")
    return pd.DataFrame(cols)


def _classes(rows: pd.DataFrame) -> list[str]:
    return ["red" if p > 0 else "black" if p < 0 else "" for p in rows["points"]]


def leaders(view: AnnualView, n: int = 3) -> _Html:
    """Each group's top and bottom ``n`` by points: what leadership reads first."""
    L = view.labels
    parts = [f"<h2>{_e(L['leaders'])}</h2><p class='rule'>{_e(L['top_note'].format(n=n))}</p>"]
    for group, g in view.result.standing.groupby("ranking_group", sort=True):
        worst = g["points_rank"].max()
        top = g[g["points_rank"] <= g["points_rank"].nsmallest(n).max()]
        # the bottom n by position, widened to every unit tied with the last of them
        cut = g.iloc[max(len(g) - n, 0)]["points"]
        bottom = g[(g["points"] <= cut) & ~g["unit_id"].isin(top["unit_id"])]
        parts.append(f"<h3>{_e(group)}{L['open']}{_e(L['n_of'].format(n=len(g)))}{L['close']}</h3>")
        parts.append(f"<p><b>{_e(L['top'])}</b></p>" + _table(_standing_frame(view, top), _classes(top)))
        if len(bottom) and worst > 1:
            parts.append(f"<p><b>{_e(L['bottom'])}</b></p>"
                         + _table(_standing_frame(view, bottom), _classes(bottom)))
    return _section("".join(parts))


def points_over_year(view: AnnualView) -> _Html:
    """Each unit's running points through the year, one panel per ranking group."""
    from .figures.annual_figures import plot_points_over_year

    L = view.labels
    return _section(present._figure(L["fig_points"], plot_points_over_year(view.result)))


def _work(L: dict, kind: str, topic) -> str:
    """The work a listing belongs to: the comprehensive evaluation, or the special topic's name."""
    return L["comprehensive"] if kind == "comprehensive" else str(topic)


def escalations(view: AnnualView) -> _Html:
    """Units escalated (核查程序) during the year, most often first, with every trigger."""
    L, r = view.labels, view.result
    note = L["escalations_note"].format(n=view.params.escalation.consecutive)
    head = f"<h2 class='black'>{_e(L['escalations_title'])}</h2><p class='rule'>{_e(note)}</p>"
    e = r.escalations
    if e.empty:
        return _section(head + f"<p class='empty'>{_e(L['no_escalations'])}</p>")
    e = e.assign(work=[_work(L, k, t) for k, t in zip(e["round_kind"], e["topic"])])
    by_unit = e.groupby("unit_id", sort=False).agg(
        name=("name", "first"), group=("ranking_group", "first"), times=("round_id", "size"),
        works=("work", lambda w: L["sep"].join(dict.fromkeys(w))), latest=("date", "max"),
    ).reset_index()
    by_unit = by_unit.sort_values(["times", "latest", "unit_id"], ascending=[False, False, True], kind="stable")
    frame = pd.DataFrame({
        L["unit"]: by_unit["name"], L["group"]: by_unit["group"], L["times"]: by_unit["times"].astype(int),
        L["works"]: by_unit["works"], L["latest"]: by_unit["latest"].map(_date),
    })
    events = pd.DataFrame({
        L["date"]: e["date"].map(_date), L["unit"]: e["name"], L["group"]: e["ranking_group"],
        L["works"]: e["work"], L["chain"]: e["chain"],
    })
    return _section(
        head + _table(frame, ["black"] * len(frame))
        + f"<details><summary>{_e(L['all_events'])}{L['open']}{len(events)}{L['close']}</summary>"
        f"{_table(events)}</details>"
    )


def quota(view: AnnualView) -> _Html:
    """末位淘汰: who does not pass the year, per group."""
    L, s = view.labels, view.result.standing
    share = view.params.pass_quota.share
    if share is None:
        return _section(f"<h2>{_e(L['quota_title'])}</h2><p class='rule'>{_e(L['quota_off'])}</p>")
    failed = s[~s["passed"].astype(bool)]
    parts = [f"<h2>{_e(L['quota_title'])}</h2><p class='rule'>{_e(L['quota_note'].format(share=share))}</p>"]
    counts = s.groupby("ranking_group", sort=True)["passed"].agg(["size", "sum"])
    parts.append(_table(pd.DataFrame({
        L["group"]: counts.index, L["count"]: counts["size"].astype(int),
        L["passed"]: counts["sum"].astype(int), L["not_passed"]: (counts["size"] - counts["sum"]).astype(int),
    })))
    if len(failed):
        frame = _standing_frame(view, failed.assign(points_rank=failed["quota_rank"]))
        frame.insert(0, L["group"], failed["ranking_group"].to_numpy())
        parts.append(f"<details><summary>{_e(L['not_passed'])}{L['open']}{len(failed)}{L['close']}</summary>"
                     f"{_table(frame, _classes(failed))}</details>")
    return _section("".join(parts))


def laggards(view: AnnualView) -> _Html:
    """Persistent laggards (RULES.md §3), one decision per unit, up to the cut-off round."""
    L, fp = view.labels, view.params.fairness
    t = view.tables["laggards.csv"]
    note = L["laggards_note"].format(n=fp.laggard_n, share=fp.bottom_share, alpha=fp.false_alarm_rate,
                                     fdr=fp.laggard_fdr)
    head = f"<h2>{_e(L['laggards_title'])}</h2><p class='rule'>{_e(note)}</p>"
    if t.empty:
        return _section(head + f"<p class='empty'>{_e(L['no_laggards'])}</p>")
    names = {"listed_k_of_n": L["rule_listed"], "cusum": L["rule_cusum"], "mann_kendall": L["rule_decline"],
             "shortfall": L["rule_shortfall"]}
    by_unit = t[t["rule"] == "persistent"].assign(
        rules=lambda f: f["rules"].map(lambda r: L["sep"].join(names.get(x, x) for x in str(r).split(";") if x)))
    group = view.result.standing.set_index("unit_id")["ranking_group"]
    points = view.result.standing.set_index("unit_id")["points"]
    by_unit = by_unit.assign(group=by_unit["unit_id"].map(group), points=by_unit["unit_id"].map(points))
    by_unit = by_unit.sort_values(["q_value", "points", "unit_id"], kind="stable")
    frame = pd.DataFrame({
        L["unit"]: by_unit["name"], L["group"]: by_unit["group"], L["rule"]: by_unit["rules"],
        L["points"]: by_unit["points"].map(_signed),
    })
    return _section(head + _table(frame))


def standing(view: AnnualView) -> _Html:
    """Every unit's year, by group and points rank, with tiers and the three-year total (folded)."""
    L, r = view.labels, view.result
    s = r.standing
    years = r.years_3y
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
    notes = []
    if len(years) < 3:
        notes.append(L["three_years_missing"].format(years=L["sep"].join(map(str, years))))
    else:
        notes.append(L["three_years_note"].format(years=span))
    tiers = view.params.tiers
    if tiers.method == "off":
        notes.append(L["tiers_off"])
    elif s["mean_comprehensive"].isna().all():
        notes.append(L["tiers_none"])
    else:
        notes.append(L["tiers_note"].format(method=tiers.method))
    parts = [f"<h2>{_e(L['standing_title'])}</h2>"] + [f"<p class='rule'>{_e(n)}</p>" for n in notes]
    for group, g in s.groupby("ranking_group", sort=True):
        frame = _standing_frame(view, g)
        for offset, col in ((2, "points_prev2"), (1, "points_prev1")):
            if r.year - offset in years:
                frame[L["year_points"].format(year=r.year - offset)] = g[col].map(_signed).to_numpy()
        if len(years) > 1:
            frame[f"{L['three_years']}{L['open']}{span}{L['close']}"] = g["points_3y"].map(_signed).to_numpy()
        parts.append(f"<details><summary>{_e(group)}{L['open']}{_e(L['n_of'].format(n=len(g)))}{L['close']}</summary>"
                     f"{_table(frame, _classes(g))}</details>")
    return _section("".join(parts))


def data_overview(view: AnnualView) -> _Html:
    return present.data_overview(view)


def appendix(view: AnnualView) -> _Html:
    return present.appendix(view)
