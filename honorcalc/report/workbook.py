"""The Excel workbooks an office hands on: a round's results (``测评结果.xlsx``), a year's (``年度考核结果.xlsx``).

The CSV files of a run are the machine tables (UTF-8, English headers); these
workbooks are for people: Chinese headers, one sheet per ranking group, scores
to two decimals, listed rows filled red or black, and set up for printing (A4,
the header row frozen and repeated on every page, fitted to the page width,
landscape where the sheet is wide, page numbers in the footer).

A round's workbook holds one sheet per ranking group (排名, 单位名称,
综合得分 or 专项得分, the five sources' scores, 红黑榜, 本期加减分, 年度累计,
核查程序, 一票否决, and 等次 when tiers are on), then 分类得分 (unit × category),
指标得分 (unit × indicator) and 扣分明细 (every deduction with its code and
note). A year's holds one sheet per ranking group with the year's standing,
then 上榜记录 (every listing of the year) and 核查程序.

Group names come from the data, so sheet names are made safe
(`sheet_names`: at most 31 characters, none of ``[]:*?/\\``, unique without
regard to case). No cell is ever a formula: every text is written as text,
and one that starts like a formula (``=``, ``+``, ``-``, ``@`` …,
`honorcalc.data.write.FORMULA_START`) is also marked as text for editing
(Excel's quote prefix), so ``=HYPERLINK(…)`` shows as typed and never runs.

The bytes depend only on the inputs: the workbook's created and modified times
are the round's date and every archive member carries that date
(`honorcalc.data.write.stable_zip`).
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.write import FORMULA_START, fit_to_page, stable_zip
from ..params import SOURCE_LABELS, SOURCES
from .documents import group_label, round_name, work_name
from .office import clean_text, display_width, fixed_time

__all__ = [
    "RESULTS_WORKBOOK", "ANNUAL_WORKBOOK", "Sheet", "sheet_names", "round_sheets", "annual_sheets",
    "workbook_bytes", "round_workbook", "annual_workbook",
]

#: File names in a run folder.
RESULTS_WORKBOOK = "测评结果.xlsx"
ANNUAL_WORKBOOK = "年度考核结果.xlsx"

#: Number formats by kind of column; ``text`` columns are always text.
FORMATS = {"score": "0.00", "points": "+General;-General;0", "int": "0", "share": "0%", "text": "@"}
_FILLS = {"red": ("FFC7CE", "9C0006"), "black": ("404040", "FFFFFF")}
_HEADER_FILL = "D9D9D9"
#: Excel's default font for Chinese text (Office 2016 on); a machine without it substitutes.
_FONT = "等线"
#: Excel refuses these in a sheet name.
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
#: Sheet widths (in characters) above which a sheet prints landscape.
_PORTRAIT_WIDTH = 100


@dataclass(frozen=True)
class Sheet:
    """One sheet: its rows, how each column is shown, and how it prints.

    Attributes
    ----------
    name : str
        The wanted name; `sheet_names` makes it safe.
    title : str
        Printed at the top of every page.
    frame : DataFrame
        The rows, its columns the Chinese headers.
    kinds : dict
        ``{header: kind}``, kinds of `FORMATS` (``text`` where not given).
    fills : list of str
        Per row ``red``, ``black`` or empty.
    freeze : int
        Columns kept in view when scrolling right (the header row always is).
    """

    name: str
    title: str
    frame: pd.DataFrame
    kinds: dict = field(default_factory=dict)
    fills: list = field(default_factory=list)
    freeze: int = 2


# --------------------------------------------------------------------------- names


def sheet_names(names: Sequence[str], reserved: Sequence[str] = ()) -> list[str]:
    """Safe, unique sheet names for ``names`` (group names from the data), avoiding ``reserved``.

    A name loses the characters Excel refuses (``[]:*?/\\`` become ``_``), line
    breaks and leading or trailing apostrophes; it is cut to 31 characters; a
    name already taken, compared without case as Excel compares them, or
    ``History`` (reserved by Excel) gets ``(2)``, ``(3)`` … An empty name becomes ``分组``.

    >>> sheet_names(["a/b:c*", "A_b_c_", "x" * 40])
    ['a_b_c_', 'A_b_c_(2)', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx']
    """
    taken = {r.casefold() for r in reserved} | {"history"}
    out = []
    for name in names:
        base = _SHEET_FORBIDDEN.sub("_", " ".join(clean_text(name).split()))
        base = base.strip("'").strip()[:31].strip("'") or "分组"
        candidate, k = base, 2
        while candidate.casefold() in taken:
            suffix = f"({k})"
            candidate = base[: 31 - len(suffix)].rstrip("'") + suffix
            k += 1
        taken.add(candidate.casefold())
        out.append(candidate)
    return out


# --------------------------------------------------------------------------- a round


def _sources_frame(result) -> pd.DataFrame:
    return result.units[[f"score_{s}" for s in SOURCES]]


def _list_word(value) -> str:
    return {"red": "红榜", "black": "黑榜"}.get(value, "")


def _veto_words(row, params) -> str:
    parts = []
    for reason in row.veto_reasons:
        if reason == "satisfaction":
            parts.append(f"群众满意率{row.satisfaction * 100:.1f}%")
        elif reason == "prerequisite":
            parts.append(f"{params.veto.prerequisite_category}{row.prerequisite_score:.2f}分")
        else:
            parts.append(str(reason))
    return "一票否决：" + "；".join(parts) if parts else ""


def _ordered_units(units: pd.DataFrame) -> pd.DataFrame:
    order = np.lexsort((units["unit_id"].astype(str).to_numpy(),
                        np.nan_to_num(units["rank"].to_numpy(dtype="float64", na_value=np.nan), nan=np.inf),
                        units["ranking_group"].astype(str).to_numpy()))
    return units.iloc[order]


def _group_sheets(result, title: str) -> list[Sheet]:
    params = result.params
    special = result.round["kind"] == "special"
    score = "专项得分" if special else "综合得分"
    scope = params.lists.ranking_scope
    tiers = params.tiers.method != "off"
    sheets = []
    units = _ordered_units(result.units)
    for group in sorted(units["ranking_group"].astype(str).unique()):
        u = units[units["ranking_group"].astype(str) == group]
        frame = pd.DataFrame({
            "排名": u["rank"].astype("Float64").to_numpy(),
            "单位名称": u["name"].to_numpy(),
            score: u["score_rounded"].to_numpy(dtype="float64"),
            **{SOURCE_LABELS["zh"][s]: u[f"score_{s}"].to_numpy(dtype="float64") for s in SOURCES},
            "红黑榜": u["list"].map(_list_word).to_numpy(),
            "本期加减分": u["points"].to_numpy(dtype="float64"),
            "年度累计": u["points_ytd"].to_numpy(dtype="float64"),
            "核查程序": np.where(u["escalated"].astype(bool), "启动核查程序", ""),
            "一票否决": [_veto_words(r, params) for r in u.itertuples(index=False)],
        })
        if tiers:
            frame.insert(3, "等次", u["tier"].fillna("").astype(str).to_numpy())
        kinds = {"排名": "int", score: "score", "本期加减分": "points", "年度累计": "points",
                 **{SOURCE_LABELS["zh"][s]: "score" for s in SOURCES}}
        label = group_label(group, scope)
        sheets.append(Sheet(label, f"{title}　{label}", frame, kinds, u["list"].fillna("").tolist()))
    return sheets


def _unit_frame(result) -> pd.DataFrame:
    """Group, rank and name of every unit of the round, in sheet order, indexed by unit_id."""
    u = _ordered_units(result.units)
    scope = result.params.lists.ranking_scope
    return pd.DataFrame({
        "排名分组": [group_label(str(g), scope) for g in u["ranking_group"]],
        "排名": u["rank"].astype("Float64").to_numpy(),
        "单位名称": u["name"].to_numpy(),
    }, index=pd.Index(u["unit_id"].astype(str).to_numpy(), name="unit_id"))


def _wide(result, frame: pd.DataFrame, column: str, order: list[str], header: dict) -> pd.DataFrame:
    """Unit × ``column`` scores (Σ points / Σ max points × 100), in the units' order, columns in ``order``."""
    base = _unit_frame(result)
    if frame.empty:
        return base.reset_index(drop=True)
    sums = frame.groupby(["unit_id", column], sort=False)[["points", "max_points"]].sum()
    score = (sums["points"] / sums["max_points"] * 100.0).unstack(column)
    score.index = score.index.astype(str)
    score = score.reindex(index=base.index, columns=order)
    score.columns = [header[c] for c in order]
    return pd.concat([base, score], axis=1).reset_index(drop=True)


def _category_sheet(result, title: str) -> Sheet:
    points = result.points
    order = list(dict.fromkeys(points.sort_values("indicator_id", kind="stable")["category"].astype(str)))
    wide = _wide(result, points.assign(category=points["category"].astype(str)), "category", order,
                 {c: clean_text(c) for c in order})
    kinds = {"排名": "int", **{clean_text(c): "score" for c in order}}
    return Sheet("分类得分", f"{title}　分类得分（百分制）", wide, kinds, [], 3)


def _indicator_sheet(result, title: str) -> Sheet:
    points = result.points.assign(indicator_id=result.points["indicator_id"].astype(str))
    named = points.drop_duplicates("indicator_id").sort_values("indicator_id", kind="stable")
    order = named["indicator_id"].tolist()
    header = {i: clean_text(f"{i} {n}") for i, n in zip(named["indicator_id"], named["name"])}
    wide = _wide(result, points, "indicator_id", order, header)
    kinds = {"排名": "int", **{h: "score" for h in header.values()}}
    return Sheet("指标得分", f"{title}　指标得分（百分制）", wide, kinds, [], 3)


def _deduction_sheet(result, title: str) -> Sheet:
    d = result.deductions
    scope = result.params.lists.ranking_scope
    groups = result.units.set_index(result.units["unit_id"].astype(str))["ranking_group"]
    group = d["unit_id"].astype(str).map(groups)
    frame = pd.DataFrame({
        "排名分组": [group_label(str(g), scope) if isinstance(g, str) else "" for g in group],
        "单位名称": d["name"].fillna(d["unit_id"]).to_numpy(),
        "扣分代码": d["code"].to_numpy(),
        "问题描述": d["note"].fillna("").to_numpy(),
        "责任": d["role"].map({"primary": "主责", "joint": "连带"}).fillna(d["role"]).to_numpy(),
        # RULES.md §1.5.3: a row recorded in the data, or charged by the responsibility table; whose problem, why
        "来源": d["origin"].map({"recorded": "登记", "derived": "按责任关系推定"}).fillna("").to_numpy(),
        "问题所属单位": d["source_unit"].map(d.drop_duplicates("unit_id").set_index("unit_id")["name"])
                   .fillna(d["source_unit"]).fillna("").to_numpy(),
        "责任关系": d["relation"].map({"territorial": "属地责任", "industry": "行业责任", "paired": "挂包责任"})
                .fillna("").to_numpy(),
        "已核实": np.where(d["verified"].astype(bool), "是", "否"),
        "扣分": d["base_points"].to_numpy(dtype="float64"),
        "计入比例": d["share"].to_numpy(dtype="float64"),
        "实际扣分": np.where(d["counted"].astype(bool) & d["evaluated"].astype(bool),
                         d["deducted"].to_numpy(dtype="float64"), 0.0),
        "是否计入": np.where(d["counted"].astype(bool) & d["evaluated"].astype(bool), "是", "否"),
    })
    if result.params.negative_list.enabled:
        frame["负面清单"] = d["negative_list"].map({"listed": "清单内", "unknown_code": "清单外"}).fillna("").to_numpy()
    frame = frame.sort_values(["排名分组", "单位名称", "扣分代码"], kind="stable").reset_index(drop=True)
    kinds = {"扣分": "score", "计入比例": "share", "实际扣分": "score"}
    return Sheet("扣分明细", f"{title}　扣分明细", frame, kinds, [], 2)


def round_sheets(result) -> list[Sheet]:
    """The sheets of a round's workbook (`honorcalc.rules.RoundResult`), in order."""
    kind = "专项" if result.round["kind"] == "special" else "综合"
    title = f"{round_name(result.round)}{kind}测评结果"
    return [*_group_sheets(result, title), _category_sheet(result, title), _indicator_sheet(result, title),
            _deduction_sheet(result, title)]


# --------------------------------------------------------------------------- a year


def annual_sheets(result) -> list[Sheet]:
    """The sheets of a year's workbook (`honorcalc.rules.annual.YearResult`), in order."""
    params = result.params
    scope = params.lists.ranking_scope
    year = int(result.year)
    title = f"{year}年度红黑榜考核结果"
    s = result.standing
    sheets = []
    for group in sorted(s["ranking_group"].astype(str).unique()):
        g = s[s["ranking_group"].astype(str) == group]
        frame = pd.DataFrame({
            "名次": g["points_rank"].to_numpy(dtype="float64"),
            "单位名称": g["name"].to_numpy(),
            "参评轮次": g["rounds"].to_numpy(dtype="float64"),
            "综合红榜": g["comprehensive_red"].to_numpy(dtype="float64"),
            "综合黑榜": g["comprehensive_black"].to_numpy(dtype="float64"),
            "专项红榜": g["special_red"].to_numpy(dtype="float64"),
            "专项黑榜": g["special_black"].to_numpy(dtype="float64"),
            "年度得分": g["points"].to_numpy(dtype="float64"),
            "综合测评平均分": g["mean_comprehensive"].to_numpy(dtype="float64"),
        })
        kinds = {c: "int" for c in ("名次", "参评轮次", "综合红榜", "综合黑榜", "专项红榜", "专项黑榜")}
        kinds.update({"年度得分": "points", "综合测评平均分": "score"})
        fills = [""] * len(g)
        if "tier" in g.columns:
            frame["等次"] = g["tier"].fillna("").astype(str).to_numpy()
        if "passed" in g.columns:
            frame["末位淘汰名次"] = g["quota_rank"].to_numpy(dtype="float64")
            frame["考核结果"] = [("" if pd.isna(p) else "通过" if bool(p) else "未通过") for p in g["passed"]]
            kinds["末位淘汰名次"] = "int"
            fills = ["black" if v == "未通过" else "" for v in frame["考核结果"]]
        frame["核查程序次数"] = g["escalations"].to_numpy(dtype="float64")
        kinds["核查程序次数"] = "int"
        for offset, column in ((2, "points_prev2"), (1, "points_prev1")):
            header = f"{year - offset}年得分"
            frame[header] = g[column].to_numpy(dtype="float64")
            kinds[header] = "points"
        frame[f"三年累计（{g['years_3y'].iloc[0]}）"] = g["points_3y"].to_numpy(dtype="float64")
        kinds[f"三年累计（{g['years_3y'].iloc[0]}）"] = "points"
        label = group_label(group, scope)
        sheets.append(Sheet(label, f"{title}　{label}", frame, kinds, fills))

    names = {}
    for row in result.results.drop_duplicates("round_id").itertuples(index=False):
        names[str(row.round_id)] = round_name({"kind": row.round_kind, "date": row.date,
                                               "topic": None if pd.isna(row.topic) else row.topic})
    p = result.points[result.points["list"].isin(["red", "black"])]
    listings = pd.DataFrame({
        "测评轮次": [names.get(str(r), str(r)) for r in p["round_id"]],
        "测评日期": [fixed_time(d).date().isoformat() for d in p["date"]],
        "测评工作": [work_name(k, None if pd.isna(t) else t) for k, t in zip(p["round_kind"], p["topic"])],
        "排名分组": [group_label(str(g), scope) for g in p["ranking_group"]],
        "单位名称": p["name"].to_numpy(),
        "得分": p["score"].to_numpy(dtype="float64"),
        "名次": p["rank"].astype("Float64").to_numpy(),
        "红黑榜": p["list"].map(_list_word).to_numpy(),
        "加减分": p["points"].to_numpy(dtype="float64"),
        "年度累计": p["points_ytd"].to_numpy(dtype="float64"),
    })
    sheets.append(Sheet("上榜记录", f"{title}　上榜记录", listings,
                        {"得分": "score", "名次": "int", "加减分": "points", "年度累计": "points"},
                        p["list"].tolist(), 1))
    e = result.escalations
    escalations = pd.DataFrame({
        "单位名称": e["name"].to_numpy(),
        "排名分组": [group_label(str(g), scope) for g in e["ranking_group"]],
        "测评工作": [work_name(k, None if pd.isna(t) else t) for k, t in zip(e["round_kind"], e["topic"])],
        "启动轮次": [names.get(str(r), str(r)) for r in e["round_id"]],
        "测评日期": [fixed_time(d).date().isoformat() for d in e["date"]],
        "连续上榜次数": e["black_streak"].to_numpy(dtype="float64"),
        "上榜轮次": ["、".join(names.get(x, x) for x in str(c).split(" → ")) for c in e["chain"]],
    })
    sheets.append(Sheet("核查程序", f"{title}　核查程序", escalations, {"连续上榜次数": "int"}, [], 1))
    return sheets


# --------------------------------------------------------------------------- writing


def _missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _shown(value, kind: str) -> str:
    """``value`` as it shows in its column, for the column's width."""
    if _missing(value):
        return ""
    if kind == "score":
        return f"{float(value):.2f}"
    if kind in ("points", "int"):
        return f"{float(value):+g}" if kind == "points" else f"{int(value)}"
    if kind == "share":
        return f"{float(value):.0%}"
    return str(value)


def _put(cell, value, kind: str) -> None:
    """Write one value: a number in a number column, otherwise text that is never a formula."""
    if _missing(value):
        return
    if kind != "text":
        number = float(value)
        cell.value = int(number) if kind == "int" and number.is_integer() else number
        return
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = ILLEGAL_CHARACTERS_RE.sub("", clean_text(value))
    if not text:
        return
    cell.value = text
    cell.data_type = "s"  # even "=HYPERLINK(…)": text, never a formula
    if text[:1] in FORMULA_START:
        cell.quotePrefix = True  # and stays text when someone edits the cell


def _header_text(text: str) -> str:
    """Text for a page header: ``&`` starts a code there, so it is doubled."""
    return clean_text(text).replace("&", "&&")


class _Styles:
    """The workbook's cell styles, each registered once as a named style and shared by every cell that has it."""

    def __init__(self, wb):
        self._wb = wb
        self._names: dict[tuple, str] = {}

    def name(self, kind: str, align: str, fill: str = "", header: bool = False) -> str:
        key = (kind, align, fill, header)
        if key not in self._names:
            from openpyxl.styles import (
                Alignment,
                Border,
                Font,
                NamedStyle,
                PatternFill,
                Side,
            )

            thin = Side(style="thin", color="808080")
            style = NamedStyle(
                name=f"测评结果{len(self._names) + 1}",
                border=Border(left=thin, right=thin, top=thin, bottom=thin),
                alignment=Alignment(horizontal=align, vertical="center", wrap_text=header),
                number_format="General" if kind == "text" else FORMATS[kind],
            )
            style.font = Font(name=_FONT, size=11)
            if header:
                style.font = Font(name=_FONT, size=11, bold=True)
                style.fill = PatternFill("solid", fgColor=_HEADER_FILL)
            elif fill in _FILLS:
                background, colour = _FILLS[fill]
                style.font = Font(name=_FONT, size=11, color=colour, bold=fill == "black")
                style.fill = PatternFill("solid", fgColor=background)
            self._wb.add_named_style(style)
            self._names[key] = style.name
        return self._names[key]


def _write_sheet(ws, sheet: Sheet, styles: _Styles) -> None:
    from openpyxl.utils import get_column_letter

    frame = sheet.frame
    headers = [clean_text(c) for c in frame.columns]
    kinds = [sheet.kinds.get(c, "text") for c in frame.columns]
    for k, header in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=k)
        cell.style = styles.name("text", "center", header=True)
        _put(cell, header, "text")
    fills = list(sheet.fills) + [""] * (len(frame) - len(sheet.fills))
    columns = [frame.iloc[:, k].tolist() for k in range(frame.shape[1])]
    widths = []
    for k, header in enumerate(headers):
        shown = [display_width(_shown(v, kinds[k])) for v in columns[k]]
        widths.append(max([display_width(header), *shown, 4]))
    align = ["center" if kinds[k] == "text" and widths[k] <= 8 else "left" if kinds[k] == "text" else "right"
             for k in range(len(headers))]
    # a named style is looked up by name on every assignment: each is assigned once, and its
    # cell's style copied to the next cells that have it
    made: dict[str, object] = {}
    for i in range(len(frame)):
        fill = fills[i] if fills[i] in _FILLS else ""
        for k in range(frame.shape[1]):
            cell = ws.cell(row=i + 2, column=k + 1)
            name = styles.name(kinds[k], align[k], fill)
            if name in made:
                cell._style = copy.copy(made[name])
            else:
                cell.style = name
                made[name] = copy.copy(cell._style)  # before `_put`, which may mark this cell's text
            _put(cell, columns[k][i], kinds[k])
    # a CJK character is about two digits wide in Excel's default font, and a little more
    widths = [min(48, round(w * 1.15) + 2) for w in widths]
    for k, width in enumerate(widths):
        ws.column_dimensions[get_column_letter(k + 1)].width = width
    ws.row_dimensions[1].height = 30

    ws.freeze_panes = ws.cell(row=2, column=min(sheet.freeze, len(headers)) + 1)
    if len(headers):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(1, len(frame) + 1)}"
    ws.print_title_rows = "1:1"
    fit_to_page(ws, landscape=sum(widths) > _PORTRAIT_WIDTH)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.75
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.oddHeader.center.text = _header_text(sheet.title)
    ws.oddHeader.center.size = 12
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


def workbook_bytes(sheets: Sequence[Sheet], *, date, title: str, author: str,
                   reserved: Sequence[str] = ()) -> bytes:
    """The .xlsx file of ``sheets``: the same bytes for the same arguments.

    Parameters
    ----------
    sheets : sequence of Sheet
    date : date-like
        The created and modified time of the workbook and of every archive member.
    title, author : str
        The workbook's title and author (creator, last modified by) properties.
    reserved : sequence of str
        Fixed sheet names a group sheet must not take (`sheet_names`).
    """
    from openpyxl import Workbook
    from openpyxl.xml.functions import tostring

    when = fixed_time(date)
    wb = Workbook()
    wb.remove(wb.active)
    fixed = [s.name for s in sheets if s.name in reserved]
    free = [s for s in sheets if s.name not in reserved]
    names = dict(zip(map(id, free), sheet_names([s.name for s in free], reserved=fixed)))
    styles = _Styles(wb)
    for sheet in sheets:
        _write_sheet(wb.create_sheet(names.get(id(sheet), sheet.name)), sheet, styles)
    props = wb.properties
    props.creator = author
    props.lastModifiedBy = author
    props.title = title
    props.subject = "红黑榜测评结果"
    props.language = "zh-CN"
    props.created = when
    props.modified = when
    out = io.BytesIO()
    wb.save(out)  # stamps "modified" with the time of saving: the core properties are written again below
    props.modified = when
    core = b"<?xml version='1.0' encoding='UTF-8'?>\n" + tostring(props.to_tree())
    return stable_zip(out.getvalue(), when, replace={"docProps/core.xml": core})


#: Sheets every round's workbook has; a group sheet never takes their names.
_ROUND_FIXED = ("分类得分", "指标得分", "扣分明细")
_ANNUAL_FIXED = ("上榜记录", "核查程序")


def round_workbook(result, *, author: str = "") -> bytes:
    """``测评结果.xlsx`` of a round (`honorcalc.rules.RoundResult`)."""
    kind = "专项" if result.round["kind"] == "special" else "综合"
    return workbook_bytes(round_sheets(result), date=result.round["date"], author=author,
                          title=f"{round_name(result.round)}{kind}测评结果", reserved=_ROUND_FIXED)


def annual_workbook(result, *, author: str = "") -> bytes:
    """``年度考核结果.xlsx`` of a year (`honorcalc.rules.annual.YearResult`)."""
    rounds = result.rounds
    date = rounds.loc[rounds["round_id"] == result.round_id, "date"].iloc[0]
    return workbook_bytes(annual_sheets(result), date=date, author=author,
                          title=f"{int(result.year)}年度红黑榜考核结果", reserved=_ANNUAL_FIXED)
