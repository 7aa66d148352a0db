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

from .io import load_dataset
from .params import Params, params_to_yaml
from .report import check_round, notebook_params
from .validation import Dataset

__all__ = ["RoundView", "prepare", "title", "summary", "data_overview", "appendix", "LABELS"]

LABELS = {
    "zh": {
        "report": "红黑榜测评通报",
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
        "params": "本次运行参数",
        "notices": "数据读取提示",
        "none": "无",
        "industry": "按行业",
        "territorial": "按属地",
        "field": "实地考察测评",
        "daily": "日常动态",
        "feedback": "上级部门反馈",
        "leader": "市级领导督导",
        "public": "群众监督举报",
    },
    "en": {
        "report": "Red and black list report",
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
        "params": "Parameters of this run",
        "notices": "Notices from reading the data",
        "none": "none",
        "industry": "by industry",
        "territorial": "by territory",
        "field": "field inspection",
        "daily": "day-to-day monitoring",
        "feedback": "higher-authority feedback",
        "leader": "city leaders' supervision",
        "public": "public supervision",
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
</style>
"""


@dataclass(frozen=True)
class RoundView:
    """Everything a round report shows, computed once by `prepare`."""

    params: Params
    dataset: Dataset
    round: pd.Series
    scores: pd.DataFrame
    run_dir: Path | None

    @property
    def labels(self) -> dict[str, str]:
        return LABELS[self.params.lang]


class _Html(str):
    """An HTML fragment the notebook displays as rich output."""

    def _repr_html_(self) -> str:
        return str(self)


def _e(value) -> str:
    return html.escape("" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value))


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(body: str) -> _Html:
    return _Html(f'<div class="hc">{body}</div>')


def prepare(params_file=None, parameters: dict | None = None, run_dir: str | None = None) -> RoundView:
    """Load parameters and data for the report notebook.

    ``parameters`` (injected by `honorcalc run`) win over ``params_file`` (the
    notebook's default, for "Run All" in JupyterLab).
    """
    params = notebook_params(params_file, parameters)
    dataset = load_dataset(params.dataset)
    check_round(params, dataset)
    round_row = dataset.rounds.loc[dataset.rounds["round_id"] == params.round].iloc[0]
    scores = dataset.scores[dataset.scores["round_id"] == params.round]
    return RoundView(
        params=params, dataset=dataset, round=round_row, scores=scores,
        run_dir=Path(run_dir) if run_dir else None,
    )


def title(view: RoundView) -> _Html:
    L = view.labels
    r = view.round
    kind = L[r["kind"]]
    topic = f" · {L['topic']}：{_e(r['topic'])}" if r["kind"] == "special" else ""
    city = _e(view.params.city)
    return _Html(_CSS + _section(
        f"<h1>{city}{_e(L['report'])}</h1>"
        f"<p class='meta'>{_e(kind)}{topic} · {_e(r['round_id'])} · "
        f"{_e(L['date'])} {r['date']:%Y-%m-%d}</p>"
    ))


def summary(view: RoundView) -> _Html:
    L = view.labels
    s = view.scores
    units = view.dataset.units[view.dataset.units["unit_id"].isin(s["unit_id"])]
    kpis = [
        (L["units"], units["unit_id"].nunique()),
        (L["groups"], units["group"].nunique()),
        (L["scores"], len(s)),
        (L["raters"], s["rater_id"].nunique()),
        (L["sources"], s["source"].nunique()),
    ]
    boxes = "".join(f"<span class='kpi'><b>{_e(v)}</b>{_e(k)}</span>" for k, v in kpis)
    by_group = (
        units.groupby(["group", "kind"], sort=True).size().reset_index(name="n")
        .assign(kind=lambda f: f["kind"].map(lambda k: L.get(k, k)))
    )
    by_group.columns = [L["group"], L["kind"], L["count"]]
    return _section(f"<h2>{_e(L['summary'])}</h2><div>{boxes}</div>{_table(by_group)}")


def data_overview(view: RoundView) -> _Html:
    L = view.labels
    rows = [
        (name, view.dataset.files.get(name, "—"), len(view.dataset.table(name)))
        for name in ("units", "indicators", "rounds", "scores", "deductions", "surveys")
    ]
    frame = pd.DataFrame(rows, columns=[L["table"], L["file"], L["rows"]])
    return _section(f"<h2>{_e(L['data'])}</h2>{_table(frame)}")


def appendix(view: RoundView) -> _Html:
    L = view.labels
    notices = view.dataset.notices
    listed = "".join(f"<li>{_e(n)}</li>" for n in notices) or f"<li>{_e(L['none'])}</li>"
    return _section(
        f"<h2>{_e(L['appendix'])}</h2><h3>{_e(L['params'])}</h3>"
        f"<pre>{_e(params_to_yaml(view.params))}</pre>"
        f"<h3>{_e(L['notices'])}</h3><ul>{listed}</ul>"
    )
