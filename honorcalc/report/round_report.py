"""What the report notebook shows, as escaped HTML fragments.

The notebook stays thin: it calls `prepare` once, then one function here per
cell. Every string that comes from data goes through `html.escape`, so a unit
named ``<script>`` is shown as text. Labels are Chinese by default (``lang: en``
switches them).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data.contract import TABLES, Dataset
from ..data.read import load_dataset
from ..data.write import write_tables
from ..params import Params, params_to_yaml
from ..rules.evaluate import RoundResult, evaluate_round
from ..runs.folder import check_round, notebook_params
from ..runs.manifest import input_sha256, params_sha256
from ..runs.pipeline import run_tables
from .execute import HANDOFF

__all__ = [
    "RoundView", "build_view", "handed_over", "prepare", "title", "summary", "red_list", "black_list", "vetoes", "ties",
    "practices", "distribution", "evidence", "fairness", "group_rankings", "data_overview", "appendix", "LABELS",
]

LABELS = {
    "zh": {
        "report": "红黑榜测评通报",
        "report_special": "“{topic}”专项测评红黑榜通报",
        "city_sep": "",
        "sep": "、",
        "open": "（",
        "close": "）",
        "colon": "：",
        "cap_note": "专项测评榜单原则上不超过参评单位数的 {share}（向下取整）：",
        "cap_group": "{group} {n} 家，至多 {cap} 家",
        "comprehensive": "综合测评",
        "special": "专项测评",
        "topic": "专项",
        "date": "测评日期",
        "summary": "概况",
        "units": "参评单位",
        "groups": "排名分组",
        "scores": "评分记录",
        "raters": "评分人",
        "sources": "证据来源",
        "group": "分组",
        "kind": "类别",
        "count": "单位数",
        "data": "数据概况",
        "table": "数据表",
        "rows": "行数",
        "file": "文件",
        "appendix": "附录：参数与数据",
        "fairness_methods": "公平性分析的方法与数值",
        "fairness_methods_note": "正文每条结论所依据的统计量、区间和检验（置信水平、错误发现率控制等参数见下方运行参数 fairness 部分；数据见运行目录中的 raters.csv、reliability.csv、laggards.csv、laggard_units.csv、laggard_calibration.csv、stability.csv、weights.csv、funnel.csv、groups.csv、visits.csv）：",
        "params": "本次运行参数",
        "notices": "数据读取提示",
        "params_hash": "参数 sha256（与运行清单 manifest.json 一致）",
        "none": "无",
        "industry": "按行业",
        "territorial": "按属地",
        "field": "实地考察测评",
        "daily": "日常动态",
        "feedback": "上级部门反馈",
        "leader": "市级领导督导",
        "public": "群众监督举报",
        "red": "红榜",
        "black": "黑榜",
        "red_n": "红榜单位",
        "black_n": "黑榜单位",
        "escalations": "启动核查",
        "vetoes": "一票否决",
        "rank": "排名",
        "unit": "单位",
        "score": "综合得分",
        "round_points": "本期加减分",
        "ytd": "年度累计",
        "escalated": "核查程序",
        "escalated_yes": "连续上榜，启动核查",
        "no_red": "当期不设红榜",
        "no_black": "当期不设黑榜",
        "red_rule": "综合得分 ≥ {red} 分且排名前 {n} 名",
        "black_rule": "综合得分 ≤ {black} 分且排名后 {n} 名",
        "red_rule_special": "综合得分 ≥ {red} 分且排名前 ⌊N×{share}⌋ 名",
        "black_rule_special": "综合得分 ≤ {black} 分且排名后 ⌊N×{share}⌋ 名",
        "rankings": "分组排名",
        "list": "榜单",
        "vetoed": "否决",
        "veto_note": "以下单位得分达到红榜条件但被一票否决，保留排名，不递补：",
        "ties": "并列处理",
        "tie_note": "{group}{list}第 {rank} 名并列（{units}），按规则“{policy}”处理。",
        "all_in": "并列单位全部入榜",
        "none_in": "并列单位均不入榜",
        "audit_notes": "审计提示",
        "n_of": "{n} 家",
        "fig_distribution": "各组得分分布与红黑榜分数线",
        "fig_intervals": "各单位得分及其不确定区间（按组排序，上榜单位突出显示）",
        "fig_funnel": "各单位得分是否超出同组正常波动范围",
        "fig_heatmap": "上榜单位分类得分（颜色表示相对本单位平均的强弱）",
        "fig_history": "上榜单位历次得分",
        "fig_severity": "评分人宽严程度",
        "fig_visits": "明查与暗访得分差",
        "evidence": "得分依据",
        "fairness": "公平性分析",
        "fairness_note": "评分是否公正、名单是否稳健。每条结论注明把握程度：“有把握”指在规定的置信水平下成立；“证据不足，无法判断”指数据不足以得出结论；“现有数据无法回答”指数据的采集方式无法回答该问题。所依据的方法与数值见附录。",
        "adjusted": "若校正评分人宽严偏差，名单将有 {n} 处变化（仅供参考，不改变本期通报）：",
        "adjusted_none": "即使校正评分人宽严偏差，名单也不会变化。",
        "before": "校正前",
        "after": "校正后",
        "practices": "其他通报方式",
        "tiers": "好 / 较好 / 一般 分档",
        "flags": "流动红旗 / 流动黑旗",
        "flag_red": "流动红旗",
        "flag_black": "流动黑旗",
        "holder": "本期持有单位",
        "previous": "上期持有单位",
        "slips": "三色责任单",
        "slip_white": "白单（交办）",
        "slip_yellow": "黄单（警醒）",
        "slip_red": "红单（移交）",
        "code": "问题代码",
        "colour": "责任单",
        "streak": "连续次数",
        "quota": "末位淘汰（年度累计）",
        "quota_rule": "每组仅前 {share:.0%} 通过：",
        "passed": "通过",
        "not_passed": "未通过",
        "veto_satisfaction": "群众满意率 {value:.0%}，低于 {min:.0%}",
        "veto_prerequisite": "前置条件“{category}”{value:.2f} 分，低于 {min:g} 分",
    },
    "en": {
        "report": "Red and black list report",
        "report_special": "Special evaluation '{topic}': red and black lists",
        "city_sep": " ",
        "sep": ", ",
        "open": " (",
        "close": ")",
        "colon": ": ",
        "cap_note": "A special round's list holds at most {share} of the units evaluated (rounded down): ",
        "cap_group": "{group} {n} units, at most {cap}",
        "comprehensive": "Comprehensive evaluation",
        "special": "Special evaluation",
        "topic": "Topic",
        "date": "Date",
        "summary": "Summary",
        "units": "Units evaluated",
        "groups": "Ranking groups",
        "scores": "Score records",
        "raters": "Raters",
        "sources": "Evidence sources",
        "group": "Group",
        "kind": "Kind",
        "count": "Units",
        "data": "Data overview",
        "table": "Table",
        "rows": "Rows",
        "file": "File",
        "appendix": "Appendix: parameters and data",
        "fairness_methods": "Fairness analysis: methods and numbers",
        "fairness_methods_note": "The statistics, intervals and tests behind each finding of the report (confidence level, false-discovery rates and the other settings are in the parameters below, under fairness; data in the run folder: raters.csv, reliability.csv, laggards.csv, laggard_units.csv, laggard_calibration.csv, stability.csv, weights.csv, funnel.csv, groups.csv, visits.csv):",
        "params": "Parameters of this run",
        "notices": "Notices from reading the data",
        "params_hash": "Parameters' sha256 (as in the run's manifest.json)",
        "none": "none",
        "industry": "by industry",
        "territorial": "by territory",
        "field": "field inspection",
        "daily": "day-to-day monitoring",
        "feedback": "higher-authority feedback",
        "leader": "city leaders' supervision",
        "public": "public supervision",
        "red": "Red list",
        "black": "Black list",
        "red_n": "Red-listed",
        "black_n": "Black-listed",
        "escalations": "Escalated",
        "vetoes": "Vetoed",
        "rank": "Rank",
        "unit": "Unit",
        "score": "Score",
        "round_points": "Points this round",
        "ytd": "Points year to date",
        "escalated": "Verification",
        "escalated_yes": "consecutive listing: verification",
        "no_red": "no red list this round",
        "no_black": "no black list this round",
        "red_rule": "score ≥ {red} and within the top {n}",
        "black_rule": "score ≤ {black} and within the bottom {n}",
        "red_rule_special": "score ≥ {red} and within the top ⌊N×{share}⌋",
        "black_rule_special": "score ≤ {black} and within the bottom ⌊N×{share}⌋",
        "rankings": "Rankings by group",
        "list": "List",
        "vetoed": "Vetoed",
        "veto_note": "These units met the red-list conditions but were vetoed; they keep their rank and nobody moves up:",
        "ties": "Ties at the cut",
        "tie_note": "{group} {list}: tie at rank {rank} ({units}), resolved by '{policy}'.",
        "all_in": "all tied units in",
        "none_in": "no tied unit in",
        "audit_notes": "Notes for auditors",
        "n_of": "{n}",
        "fig_distribution": "Scores by group with the list thresholds",
        "fig_intervals": "Each unit's score with its uncertainty (listed units highlighted)",
        "fig_funnel": "Is any unit's score beyond its group's normal spread?",
        "fig_heatmap": "Category scores of listed units (colour: relative to the unit's own average)",
        "fig_history": "Listed units' scores over the rounds",
        "fig_severity": "Rater severity",
        "fig_visits": "Open versus covert visits",
        "evidence": "Evidence",
        "fairness": "Fairness analysis",
        "fairness_note": "Are the scores fair and the lists robust? Each finding says how sure it is: \"with confidence\" holds at the run's confidence level; \"the evidence is not enough to tell\" means the data allow either answer; \"these data cannot answer\" means the way the data were collected cannot settle the question. The methods and numbers are in the appendix.",
        "adjusted": "Correcting for harsh and lenient raters would change the lists in {n} places (for reference; the notice stands):",
        "adjusted_none": "Correcting for harsh and lenient raters would not change the lists.",
        "before": "as scored",
        "after": "rater-adjusted",
        "practices": "Other forms of notice",
        "tiers": "Tiers (good / fairly good / fair)",
        "flags": "Mobile red and black flags",
        "flag_red": "red flag",
        "flag_black": "black flag",
        "holder": "Holder this round",
        "previous": "Holder last round",
        "slips": "Three-colour responsibility slips",
        "slip_white": "white (assigned)",
        "slip_yellow": "yellow (warning)",
        "slip_red": "red (handed over)",
        "code": "Code",
        "colour": "Slip",
        "streak": "Consecutive",
        "quota": "Elimination quota (year to date)",
        "quota_rule": "Only the top {share:.0%} of each group pass:",
        "passed": "passed",
        "not_passed": "not passed",
        "veto_satisfaction": "public satisfaction {value:.0%}, below {min:.0%}",
        "veto_prerequisite": "prerequisite '{category}' {value:.2f}, below {min:g}",
    },
}

_CSS = """
<style>
.hc { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei",
      "PingFang SC", "WenQuanYi Micro Hei", sans-serif; line-height: 1.6; max-width: 1100px; }
.hc h1 { font-size: 1.7em; margin: 0.2em 0; }
.hc h2 { font-size: 1.3em; border-bottom: 2px solid #b71c1c; padding-bottom: 0.2em; margin-top: 1.2em; }
.hc .meta { color: #555; }
.hc table { border-collapse: collapse; margin: 0.5em 0; }
.hc th, .hc td { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: left; }
.hc th { background: #f4f4f4; }
.hc .kpi { display: inline-block; margin: 0.3em 1.2em 0.3em 0; }
.hc .kpi b { font-size: 1.5em; display: block; }
.hc pre { background: #f7f7f7; padding: 0.6em; font-size: 0.85em; white-space: pre-wrap; }
.hc .red h2, .hc h2.red { border-color: #c62828; color: #b71c1c; }
.hc h2.black { border-color: #212121; color: #212121; }
.hc tr.red td:first-child { border-left: 4px solid #c62828; }
.hc tr.black td:first-child { border-left: 4px solid #212121; }
.hc .empty { font-size: 1.1em; color: #555; margin: 0.3em 0 0.8em; }
.hc .rule { color: #555; font-size: 0.9em; }
.hc li.cannot_tell, .hc li.not_estimable { color: #6d4c00; }
.hc ol.methods li { margin-bottom: 0.5em; }
.hc .detail { color: #444; font-size: 0.85em; font-family: "Noto Sans Mono CJK SC", monospace; }
.hc td.num { text-align: right; font-variant-numeric: tabular-nums; }
.hc .warn { color: #b71c1c; font-weight: bold; }
.hc code { font-size: 0.8em; word-break: break-all; }
.hc details summary { cursor: pointer; font-weight: bold; margin: 0.4em 0; }
</style>
"""


@dataclass(frozen=True)
class RoundView:
    """Everything a round report shows, computed once by `prepare`."""

    params: Params
    dataset: Dataset
    round: pd.Series
    scores: pd.DataFrame
    result: RoundResult
    tables: dict[str, pd.DataFrame]
    run_dir: Path | None
    #: The fairness findings (`honorcalc.fairness.fairness_findings`): plain sentences, details for the appendix.
    findings: tuple = ()

    @property
    def labels(self) -> dict[str, str]:
        return LABELS[self.params.lang]


class _Html(str):
    """An HTML fragment the notebook displays as rich output."""

    def _repr_html_(self) -> str:
        return str(self)


def _e(value) -> str:
    return html.escape("" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value))


def _cell(value) -> str:
    if isinstance(value, float) and not pd.isna(value):
        return f"<td class='num'>{value:,.2f}</td>"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"<td class='num'>{value}</td>"
    return f"<td>{_e(value)}</td>"


def _table(frame: pd.DataFrame, row_classes: list[str] | None = None, *, code: tuple[str, ...] = ()) -> str:
    """An HTML table of ``frame``, every value escaped; columns named in ``code`` in monospace."""
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    classes = row_classes or [""] * len(frame)
    mono = [c in code for c in frame.columns]
    body = "".join(
        f"<tr class='{cls}'>"
        + "".join(f"<td><code>{_e(v)}</code></td>" if m else _cell(v) for m, v in zip(mono, row))
        + "</tr>"
        for cls, row in zip(classes, frame.itertuples(index=False))
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(body: str) -> _Html:
    return _Html(f'<div class="hc">{body}</div>')


def build_view(params: Params, dataset: Dataset, run_dir: str | Path | None = None) -> RoundView:
    """Evaluate the round and compute every table of the run: all a round report shows."""
    check_round(params, dataset)
    round_row = dataset.rounds.loc[dataset.rounds["round_id"] == params.round].iloc[0]
    scores = dataset.scores[dataset.scores["round_id"] == params.round]
    from ..fairness import fairness_findings

    result = evaluate_round(dataset, params, params.round)
    tables = run_tables(params, dataset, result)
    return RoundView(
        params=params, dataset=dataset, round=round_row, scores=scores, result=result,
        tables=tables, run_dir=Path(run_dir) if run_dir else None,
        findings=tuple(fairness_findings(tables, lang=params.lang)),
    )


def handed_over(run_dir: str | Path | None, params: Params, view_type: type = RoundView):
    """The view `honorcalc run` left in ``run_dir`` for these exact parameters, or None.

    `honorcalc.runs.folder.run_report` computes the view in its own process while the
    kernel starts, writes the run's tables and pickles the view into its private
    temporary run folder; the notebook then shows it instead of computing it a
    second time. "Run All" in JupyterLab has no run folder and computes. A view
    pickled by another honorcalc version, of another report kind, for other
    parameters, or that cannot be read, is ignored: the notebook computes.
    """
    if not run_dir:
        return None
    path = Path(run_dir) / HANDOFF
    if not path.is_file():
        return None
    import pickle

    from .. import __version__

    try:
        with open(path, "rb") as handle:
            package = pickle.load(handle)
    except Exception:  # noqa: BLE001  (any unreadable handoff: compute instead)
        return None
    if not isinstance(package, dict) or package.get("honorcalc") != __version__:
        return None
    view = package.get("view")
    if not isinstance(view, view_type) or view.params != params:
        return None
    # the view's hundreds of thousands of objects live until the kernel ends: keep the
    # collector from walking them again in every full collection while the figures are drawn
    import gc

    gc.freeze()
    return view


def prepare(params_file=None, parameters: dict | None = None, run_dir: str | None = None) -> RoundView:
    """Load parameters and data for the report notebook.

    ``parameters`` (injected by `honorcalc run`) win over ``params_file`` (the
    notebook's default, for "Run All" in JupyterLab). Under `honorcalc run` the
    view is already computed and the tables written (`handed_over`); otherwise
    the dataset is loaded and validated, the round evaluated and, with a
    ``run_dir``, the tables written there.
    """
    return shown_view(build_view, RoundView, notebook_params(params_file, parameters), run_dir)


def shown_view(build, view_type: type, params: Params, run_dir: str | None):
    """The ``view_type`` handed over for ``params``, else ``build(params, dataset, run_dir)`` with its
    tables written to ``run_dir`` (when given): the body of every report notebook's ``prepare``."""
    view = handed_over(run_dir, params, view_type)
    if view is not None:
        return view
    view = build(params, load_dataset(params.dataset), run_dir)
    if run_dir:
        write_tables(view.tables, run_dir)
    return view


def title(view: RoundView) -> _Html:
    L = view.labels
    r = view.round
    kind = L[r["kind"]]
    special = r["kind"] == "special"
    topic = f" · {L['topic']}{L['colon']}{_e(r['topic'])}" if special else ""
    city = _e(view.params.city)
    heading = L["report_special"].format(topic=r["topic"]) if special else L["report"]
    return _Html(_CSS + _section(
        f"<h1>{city}{L['city_sep']}{_e(heading)}</h1>"
        f"<p class='meta'>{_e(kind)}{topic} · {_e(r['round_id'])} · "
        f"{_e(L['date'])} {r['date']:%Y-%m-%d}</p>"
    ))


def summary(view: RoundView) -> _Html:
    L = view.labels
    s = view.scores
    units = view.dataset.units[view.dataset.units["unit_id"].isin(s["unit_id"])]
    u = view.result.units
    kpis = [
        (L["units"], units["unit_id"].nunique()),
        (L["red_n"], int((u["list"] == "red").sum())),
        (L["black_n"], int((u["list"] == "black").sum())),
        (L["escalations"], int(u["escalated"].sum())),
        (L["vetoes"], int(u["vetoed"].sum())),
        (L["groups"], units["group"].nunique()),
        (L["scores"], len(s)),
        (L["raters"], s["rater_id"].nunique()),
    ]
    boxes = "".join(f"<span class='kpi'><b>{_e(v)}</b>{_e(k)}</span>" for k, v in kpis)
    by_group = (
        units.groupby(["group", "kind"], sort=True).size().reset_index(name="n")
        .assign(kind=lambda f: f["kind"].map(lambda k: L.get(k, k)))
    )
    by_group.columns = [L["group"], L["kind"], L["count"]]
    return _section(f"<h2>{_e(L['summary'])}</h2><div>{boxes}</div>{_table(by_group)}")


def _list_rule(view: RoundView, which: str) -> str:
    L, lists = view.labels, view.params.lists
    special = view.round["kind"] == "special"
    key = f"{which}_rule_special" if special else f"{which}_rule"
    return L[key].format(
        red=f"{lists.red_min:g}", black=f"{lists.black_max:g}",
        n=lists.comprehensive_size, share=f"{lists.special_share:g}",
    )


def _caps(view: RoundView, status: pd.DataFrame) -> str:
    """A special round's cap in each group: "县区 10 家，至多 2 家；…" (⌊N × share⌋, RULES.md §1.3)."""
    L = view.labels
    sep = "；" if view.params.lang == "zh" else "; "
    return L["cap_note"].format(share=f"{view.params.lists.special_share * 100:g}%") + sep.join(
        L["cap_group"].format(group=row.ranking_group, n=int(row.n_ranked), cap=int(row.cap))
        for row in status.itertuples(index=False)
    )


def _one_list(view: RoundView, which: str) -> _Html:
    L = view.labels
    u = view.result.units
    listed = u[u["list"] == which]
    status = view.result.list_status
    status = status[status["list"] == which]
    rule = _list_rule(view, which)
    if view.round["kind"] == "special":
        rule += "。" + _caps(view, status) if view.params.lang == "zh" else ". " + _caps(view, status)
    head = f"<h2 class='{which}'>{_e(L[which])}</h2><p class='rule'>{_e(rule)}</p>"
    empty_groups = status[status["n_listed"] == 0]["ranking_group"].tolist()
    if listed.empty:
        return _section(head + f"<p class='empty'>{_e(L['no_' + which])}</p>")
    frame = pd.DataFrame({
        L["group"]: listed["ranking_group"],
        L["rank"]: listed["rank"].astype(int),
        L["unit"]: listed["name"],
        L["score"]: listed["score_rounded"].astype(float),
        L["round_points"]: listed["points"].astype(float).map(lambda v: f"{v:+g}"),
        L["ytd"]: listed["points_ytd"].astype(float).map(lambda v: f"{v:+g}"),
        L["escalated"]: listed["escalated"].map(lambda e: L["escalated_yes"] if e else ""),
    })
    notes = "".join(
        f"<p class='empty'>{_e(g)}{L['colon']}{_e(L['no_' + which])}</p>" for g in empty_groups
    )
    return _section(head + _table(frame, [which] * len(frame)) + notes)


def red_list(view: RoundView) -> _Html:
    """红榜: every red-listed unit with rank, score, points and year-to-date points."""
    return _one_list(view, "red")


def black_list(view: RoundView) -> _Html:
    """黑榜: every black-listed unit, with escalations (核查程序) marked."""
    return _one_list(view, "black")


def _veto_text(view: RoundView, row) -> str:
    L, veto = view.labels, view.params.veto
    texts = []
    for reason in row.veto_reasons:
        if reason == "satisfaction":
            texts.append(L["veto_satisfaction"].format(value=row.satisfaction, min=veto.satisfaction_min))
        elif reason == "prerequisite":
            texts.append(L["veto_prerequisite"].format(
                category=veto.prerequisite_category, value=row.prerequisite_score,
                min=veto.prerequisite_min))
        else:
            texts.append(str(reason))
    return "；".join(texts)


def vetoes(view: RoundView) -> _Html:
    """Units that met the red-list conditions but were vetoed (一票否决)."""
    L = view.labels
    u = view.result.units
    vetoed = u[u["vetoed"]]
    if vetoed.empty:
        return _Html("")
    frame = pd.DataFrame({
        L["group"]: vetoed["ranking_group"],
        L["rank"]: vetoed["rank"],
        L["unit"]: vetoed["name"],
        L["score"]: vetoed["score_rounded"].astype(float),
        L["vetoed"]: [_veto_text(view, row) for row in vetoed.itertuples(index=False)],
    })
    return _section(f"<h3>{_e(L['vetoes'])}</h3><p>{_e(L['veto_note'])}</p>{_table(frame)}")


def ties(view: RoundView) -> _Html:
    """Every tie at a cut that the tie policy decided, and notes for auditors."""
    L = view.labels
    items = [
        L["tie_note"].format(
            group=t.ranking_group, list=L.get(t.list, t.list), rank=t.rank,
            units="、".join(map(str, t.units)) if not isinstance(t.units, str) else t.units,
            policy=L.get(t.policy, t.policy),
        )
        for t in view.result.ties.itertuples(index=False)
    ]
    notes = list(view.result.notes)
    if not items and not notes:
        return _Html("")
    body = ""
    if items:
        body += f"<h3>{_e(L['ties'])}</h3><ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"
    if notes:
        body += f"<h3>{_e(L['audit_notes'])}</h3><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
    return _section(body)


def practices(view: RoundView) -> _Html:
    """The optional practices of RULES.md §2 that the parameters switch on."""
    L, p, r = view.labels, view.params, view.result
    names = r.units.set_index("unit_id")["name"]
    parts = []
    if p.tiers.method != "off":
        counts = r.units.pivot_table(index="ranking_group", columns="tier", values="unit_id",
                                     aggfunc="count", fill_value=0)
        counts = counts.reindex(columns=[t for t in ("好", "较好", "一般") if t in counts.columns])
        parts.append(f"<h3>{_e(L['tiers'])}</h3>" + _table(counts.reset_index().rename(
            columns={"ranking_group": L["group"]})))
    if p.flags.enabled and not r.flags.empty:
        rows = []
        seqs = r.flags["round_id"].unique().tolist()
        for (group, flag), held in r.flags.groupby(["ranking_group", "flag"], sort=True):
            now = held[held["round_id"] == r.round_id]["unit_id"]
            before = held[held["round_id"] == seqs[-2]]["unit_id"] if len(seqs) > 1 else now.iloc[:0]
            rows.append((group, L[f"flag_{flag}"], "、".join(names.get(u, u) for u in now),
                         "、".join(names.get(u, u) for u in before)))
        frame = pd.DataFrame(rows, columns=[L["group"], L["flags"], L["holder"], L["previous"]])
        parts.append(f"<h3>{_e(L['flags'])}</h3>" + _table(frame))
    if p.slips.enabled and not r.slips.empty:
        slips = r.slips.sort_values(["slip", "unit_id"], key=lambda c: c.map(
            {"red": 0, "yellow": 1, "white": 2}) if c.name == "slip" else c)
        frame = pd.DataFrame({
            L["unit"]: slips["unit_id"].map(lambda u: names.get(u, u)),
            L["code"]: slips["code"],
            L["colour"]: slips["slip"].map(lambda c: L[f"slip_{c}"]),
            L["streak"]: slips["streak"].astype(int),
        })
        parts.append(f"<h3>{_e(L['slips'])}</h3>" + _table(frame, slips["slip"].map(
            {"red": "red", "yellow": "", "white": ""}).tolist()))
    if p.pass_quota.share is not None and not r.pass_quota.empty:
        q = r.pass_quota
        failed = q[~q["passed"]]
        frame = pd.DataFrame({
            L["group"]: failed["ranking_group"],
            L["unit"]: failed["unit_id"].map(lambda u: names.get(u, u)),
            L["ytd"]: failed["points_ytd"].astype(float).map(lambda v: f"{v:+g}"),
            L["rank"]: failed["quota_rank"].astype(int),
        })
        parts.append(
            f"<h3>{_e(L['quota'])}</h3><p>{_e(L['quota_rule'].format(share=p.pass_quota.share))}"
            f"{_e(L['not_passed'])} {len(failed)} / {len(q)}</p>"
            f"<details><summary>{_e(L['not_passed'])}</summary>{_table(frame)}</details>"
        )
    if not parts:
        return _Html("")
    return _section(f"<h2>{_e(L['practices'])}</h2>" + "".join(parts))


def _figure(title: str, fig) -> str:
    from .figures.round_figures import to_html_img

    return f"<h3>{_e(title)}</h3>{to_html_img(fig, title)}"


def distribution(view: RoundView) -> _Html:
    """Score distribution by group, the red and black lines drawn and labelled."""
    from .figures.round_figures import plot_score_distribution

    return _section(_figure(view.labels["fig_distribution"], plot_score_distribution(view)))


def evidence(view: RoundView) -> _Html:
    """面上问题与具体问题相结合: listed units by category, their history, and every unit's interval."""
    from .figures.round_figures import (
        plot_category_heatmap,
        plot_list_history,
        plot_score_intervals,
    )

    L = view.labels
    parts = [f"<h2>{_e(L['evidence'])}</h2>"]
    if (view.result.units["list"] != "").any():
        parts.append(_figure(L["fig_heatmap"], plot_category_heatmap(view)))
        parts.append(_figure(L["fig_history"], plot_list_history(view)))
    parts.append(_figure(L["fig_intervals"], plot_score_intervals(view)))
    return _section("".join(parts))


def fairness(view: RoundView) -> _Html:
    """The fairness findings (RULES.md §3), each one plain sentence that says how sure it is."""
    L = view.labels
    items = "".join(f"<li class='{_e(f.certainty)}'>{_e(f.text)}</li>" for f in view.findings)
    adjusted = view.tables["severity_adjusted.csv"]
    changed = adjusted[adjusted["changed"]]
    if changed.empty:
        side = f"<p>{_e(L['adjusted_none'])}</p>"
    else:
        word = lambda x: L.get(x, "") if x else ""  # noqa: E731
        frame = pd.DataFrame({
            L["group"]: changed["group"],
            L["unit"]: changed["name"],
            f"{L['score']}{L['open']}{L['before']}{L['close']}": changed["score_before"].astype(float),
            f"{L['score']}{L['open']}{L['after']}{L['close']}": changed["score_after"].astype(float),
            f"{L['list']}{L['open']}{L['before']}{L['close']}": changed["list_before"].map(word),
            f"{L['list']}{L['open']}{L['after']}{L['close']}": changed["list_after"].map(word),
        })
        side = f"<p>{_e(L['adjusted'].format(n=len(changed)))}</p>{_table(frame)}"
    from .figures.round_figures import plot_funnel, plot_rater_severity, plot_visit_gap

    figures = _figure(L["fig_severity"], plot_rater_severity(view.tables["raters.csv"], lang=view.params.lang,
                                                             margin=view.params.fairness.severity_min))
    if len(view.tables["funnel.csv"]):
        figures += _figure(L["fig_funnel"], plot_funnel(view.tables["funnel.csv"], lang=view.params.lang))
    visits = view.tables["visits.csv"]
    if len(visits):
        figures += _figure(L["fig_visits"], plot_visit_gap(visits, view.result, lang=view.params.lang))
    return _section(
        f"<h2>{_e(L['fairness'])}</h2><p class='rule'>{_e(L['fairness_note'])}</p><ul>{items}</ul>{side}"
        + figures
    )


def group_rankings(view: RoundView) -> _Html:
    """The full ranking of every group, folded so the lists come first."""
    L = view.labels
    u = view.result.units
    parts = [f"<h2>{_e(L['rankings'])}</h2>"]
    for group, g in u.groupby("ranking_group", sort=True):
        frame = pd.DataFrame({
            L["rank"]: g["rank"].map(lambda r: "" if pd.isna(r) else int(r)),
            L["unit"]: g["name"],
            L["score"]: g["score_rounded"].astype(float),
            L["list"]: g["list"].map(lambda x: L.get(x, "") if x else ""),
            L["vetoed"]: g["vetoed"].map(lambda v: "✔" if v else ""),
        })
        count = L["n_of"].format(n=len(g))
        parts.append(
            f"<details><summary>{_e(group)}{L['open']}{_e(count)}{L['close']}</summary>"
            f"{_table(frame, g['list'].tolist())}</details>"
        )
    return _section("".join(parts))


def data_overview(view: RoundView) -> _Html:
    """Each input table: file, rows and sha256 (the manifest's input hashes), and the parameters' hash."""
    L = view.labels
    root = Path(view.params.dataset)
    rows = [
        (name, file, len(view.dataset.table(name)), input_sha256(view.dataset, name, root / file))
        for name, file in ((n, view.dataset.files.get(n)) for n in TABLES) if file
    ]
    frame = pd.DataFrame(rows, columns=[L["table"], L["file"], L["rows"], "sha256"])
    digest = params_sha256(view.params.to_dict())
    return _section(
        f"<h2>{_e(L['data'])}</h2>{_table(frame, code=('sha256',))}"
        f"<p class='rule'>{_e(L['params_hash'])}{L['colon']}<code>{digest}</code></p>"
    )


def appendix(view: RoundView) -> _Html:
    """附录: the numbers behind the fairness findings, the parameters and the data notices."""
    L = view.labels
    notices = view.dataset.notices
    listed = "".join(f"<li>{_e(n)}</li>" for n in notices) or f"<li>{_e(L['none'])}</li>"
    # the annual report has no fairness findings of its own; a round report words every one
    findings = getattr(view, "findings", ())
    methods = "".join(f"<li><b>{_e(f.text)}</b><br><span class='detail'>{_e(f.detail)}</span></li>"
                      for f in findings)
    if methods:
        methods = (f"<h3>{_e(L['fairness_methods'])}</h3><p class='rule'>{_e(L['fairness_methods_note'])}</p>"
                   f"<ol class='methods'>{methods}</ol>")
    return _section(
        f"<h2>{_e(L['appendix'])}</h2>{methods}"
        f"<h3>{_e(L['params'])}</h3><pre>{_e(params_to_yaml(view.params))}</pre>"
        f"<h3>{_e(L['notices'])}</h3><ul>{listed}</ul>"
    )
