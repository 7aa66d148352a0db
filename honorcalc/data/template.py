"""The workbooks a city office (创文办) fills in: a blank template, and a dataset written the way an office keeps it.

`write_template` writes the blank workbook an analyst fills in Excel or WPS:
one sheet per table of the contract (单位, 测评轮次, 指标, 评分, 扣分,
满意度调查, 责任关系) headed by the contract's Chinese column names, and a
填表说明 sheet that explains every table and column (meaning, required or
optional, allowed values, an example row) and the two shapes a 评分 sheet may
take. `write_workbook` writes a dataset (a `Dataset`, or a dict of frames by
table name) as one workbook in the same layout: Chinese values for every choice
column (行业/属地, 综合测评/专项测评, 实地考察…, 明查/暗访, 主责/连带, 是/否,
属地/行业/挂包), dates as Excel dates shown ``yyyy-mm-dd``, ids as text cells
(``001`` stays ``001``), and, by default, the scores as one wide sheet per
round (``评分-<轮次编号>``: 单位编号, 评分人, 评价来源, 明查暗访, then one column
per indicator headed by its 指标编号; a blank cell = not scored).

Both have a bold header row frozen at the top, column widths that fit the
contents, and a drop-down list (data validation, inline values) on every
column with a fixed set of values. ``lang="en"`` writes English sheet names
(the table names), headers (the contract's column names) and values (the
contract's choices, ``true``/``false``).

No cell is ever a formula: every text is written as text, and one that starts
like a formula (`honorcalc.data.write.FORMULA_START`) is also marked as text
for editing (Excel's quote prefix). The bytes depend only on the arguments: the
workbook's created and modified times are fixed (`TEMPLATE_TIME` for the
template, the last round's date for a dataset) and every archive member carries
that time.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .contract import (
    CONTRACT,
    REQUIRED_TABLES,
    TABLE_NAMES_ZH,
    TABLES,
    Col,
    dataset_frames,
    is_final_score_rater,
)
from .write import FORMULA_START, fit_to_page, stable_zip

__all__ = ["write_template", "write_workbook", "template_bytes", "workbook_bytes", "INSTRUCTIONS_SHEET",
           "SCORE_SHEET_PREFIX", "TEMPLATE_TIME", "sheet_name", "header", "choice_values", "choice_label",
           "score_sheet_name"]

LANGS = ("zh", "en")

#: The sheet of instructions: the reader ignores it.
INSTRUCTIONS_SHEET = {"zh": "填表说明", "en": "instructions"}
#: Scores kept one sheet per round are named ``<prefix><round_id>``.
SCORE_SHEET_PREFIX = {"zh": "评分-", "en": "scores-"}
#: The created and modified time of the blank template.
TEMPLATE_TIME = dt.datetime(2026, 1, 1)

#: Where a choice has several Chinese spellings (`Col.aliases`), the one written; otherwise the first.
_PREFERRED = frozenset({"综合测评", "专项测评", "实地考察", "日常动态", "上级部门反馈", "市级领导督导", "群众监督举报"})
_BOOL = {"zh": ("是", "否"), "en": ("true", "false")}
_TRUE_WORDS = frozenset({"true", "是", "1", "yes", "y", "t"})
_FALSE_WORDS = frozenset({"false", "否", "0", "no", "n", "f"})

_FONT = "等线"
_HEADER_FILL = "D9D9D9"
_DATE_FORMAT = "yyyy-mm-dd"
#: Excel's largest row: drop-down lists and formats cover the whole column, so added rows get them too.
_LAST_ROW = 1_048_576
#: Column widths, in characters: at least, at most.
_MIN_WIDTH, _MAX_WIDTH = 8, 40
#: Sheets wider than this (in characters) print landscape.
_PORTRAIT_WIDTH = 110
#: Excel refuses these in a sheet name, and names longer than this.
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_MAX = 31
#: Characters that XML 1.0 cannot hold.
_NOT_XML = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")


# --------------------------------------------------------------------------- names and values


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise InputError(f"lang '{lang}' is not known; expected one of {', '.join(LANGS)}")
    return lang


def sheet_name(table: str, lang: str = "zh") -> str:
    """The sheet of ``table``: its Chinese name (`TABLE_NAMES_ZH`), or the table name with ``lang="en"``."""
    return TABLE_NAMES_ZH[table] if lang == "zh" else table


def score_sheet_name(round_id: str, lang: str = "zh") -> str:
    """The wide score sheet of round ``round_id``: ``评分-<round_id>`` (``scores-<round_id>``)."""
    return SCORE_SHEET_PREFIX[lang] + str(round_id)


def header(col: Col, lang: str = "zh") -> str:
    """The header of column ``col``: `Col.zh`, or `Col.name` with ``lang="en"``."""
    return col.zh if lang == "zh" and col.zh else col.name


def choice_label(col: Col, value: str, lang: str = "zh") -> str:
    """The value ``value`` of choice column ``col`` as written: one Chinese alias, or the value with ``"en"``.

    >>> from honorcalc.data.contract import CONTRACT
    >>> kind = CONTRACT["rounds"][1]
    >>> choice_label(kind, "special"), choice_label(kind, "special", "en")
    ('专项测评', 'special')
    """
    if lang == "en":
        return value
    names = [alias for alias, target in col.aliases if target == value]
    preferred = [alias for alias in names if alias in _PREFERRED]
    return (preferred or names or [value])[0]


def choice_values(col: Col, lang: str = "zh") -> tuple[str, ...]:
    """The values a drop-down list offers for ``col`` (kind ``choice`` or ``bool``), in the contract's order."""
    if col.kind == "bool":
        return _BOOL[lang]
    return tuple(choice_label(col, value, lang) for value in col.choices)


def _missing(value) -> bool:
    """Whether ``value`` is a blank cell: None, NA, NaN, NaT or a text of spaces only."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value) -> str:
    """``value`` as text a cell can hold: characters XML cannot carry removed."""
    text = value if isinstance(value, str) else str(value)
    return _NOT_XML.sub("", text) if _NOT_XML.search(text) else text


def _display_width(text: str) -> int:
    """Columns ``text`` takes: 2 for a CJK or full-width character, 1 otherwise."""
    return sum(2 if ord(ch) >= 0x1100 else 1 for ch in text)


def _cell_value(col: Col | None, value, lang: str):
    """``value`` of column ``col`` as written into a cell: (value, kind) with kind ``text``, ``number``, ``date``.

    Typed values (a `Dataset`) and text (a table as read, every cell a string)
    are both taken: a number column's ``"7.5"`` is written as the number 7.5, a
    date column's ``"2026-03-31"`` as a date. A value that does not parse is
    written as the text it is, for validation to report.
    """
    if _missing(value):
        return None, "text"
    kind = col.kind if col is not None else ("number" if isinstance(value, (int, float)) else "text")
    if kind == "number":
        if isinstance(value, bool):
            return _text(value), "text"
        try:
            number = float(value)
        except (TypeError, ValueError):
            return _text(value), "text"
        if not math.isfinite(number):
            return _text(value), "text"
        return (int(number) if number.is_integer() and abs(number) < 2**53 else number), "number"
    if kind == "date":
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value.strip()[:10])
            except ValueError:
                return _text(value), "text"
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError):
            return _text(value), "text"
        return dt.datetime(stamp.year, stamp.month, stamp.day), "date"
    if kind == "bool":
        word = str(value).strip().lower()
        if isinstance(value, bool) or word in _TRUE_WORDS or word in _FALSE_WORDS:
            truth = bool(value) if isinstance(value, bool) else word in _TRUE_WORDS
            return _BOOL[lang][0 if truth else 1], "text"
        return _text(value), "text"
    if kind == "choice":
        text = str(value)
        return (_text(choice_label(col, text, lang)) if text in col.choices else _text(text)), "text"
    return _text(value), "text"


# --------------------------------------------------------------------------- sheets


class _Sheet:
    """One sheet to write: headers, the contract column of each (or None), rows of written values."""

    def __init__(self, name: str, headers: list[str], cols: list[Col | None], rows: list[list],
                 kinds: list[str], *, freeze: int = 0, title: str = ""):
        self.name, self.headers, self.cols, self.rows, self.kinds = name, headers, cols, rows, kinds
        self.freeze, self.title = freeze, title


def _table_sheet(table: str, frame: pd.DataFrame | None, lang: str, *, name: str | None = None,
                 drop: tuple[str, ...] = ()) -> _Sheet:
    """The sheet of ``table``: the contract's columns (then any others of ``frame``), one row per row."""
    cols: list[Col | None] = [c for c in CONTRACT[table] if c.name not in drop]
    names = [c.name for c in cols]
    if frame is not None:
        extra = [c for c in frame.columns if c not in names and c not in drop]
        names += extra
        cols += [None] * len(extra)
    headers = [header(c, lang) if c is not None else str(n) for c, n in zip(cols, names)]
    columns = []
    kinds = []
    n_rows = 0 if frame is None else len(frame)
    for col, column in zip(cols, names):
        if frame is None or column not in frame.columns:
            columns.append([(None, "text")] * n_rows)
        else:
            columns.append([_cell_value(col, v, lang) for v in frame[column].tolist()])
        kinds.append(_column_kind(col))
    rows = [[columns[k][i] for k in range(len(names))] for i in range(n_rows)]
    return _Sheet(name or sheet_name(table, lang), headers, cols, rows, kinds)


def _column_kind(col: Col | None) -> str:
    """How the column's empty cells are formatted: ``text`` (ids and text), ``number``, ``date``."""
    if col is None:
        return "general"
    return {"number": "number", "date": "date"}.get(col.kind, "text")


def _same(a, b) -> bool:
    """Whether two cells hold the same score (as written)."""
    return _cell_value(_score_col("points"), a, "en") == _cell_value(_score_col("points"), b, "en")


def _bracket(text: str, note: str, lang: str) -> str:
    return f"{text}（{note}）" if lang == "zh" else f"{text} ({note})"


def _score_col(name: str) -> Col:
    return next(c for c in CONTRACT["scores"] if c.name == name)


def _wide_score_sheets(scores: pd.DataFrame, rounds: pd.DataFrame, indicators: pd.DataFrame,
                       lang: str) -> list[_Sheet]:
    """One sheet per round with scores: 单位编号, 评分人, 评价来源, [明查暗访], then one column per indicator."""
    sheets = []
    order = {str(i): k for k, i in enumerate(indicators["indicator_id"].tolist())} if len(indicators) else {}
    round_ids = [str(r) for r in rounds["round_id"].tolist()] if len(rounds) else []
    scored = [str(r) for r in pd.unique(scores["round_id"].astype("object"))] if len(scores) else []
    round_ids += [r for r in scored if r not in round_ids]
    titles = {}  # the page header: the round's name, or its id, kind and date
    kind_col, date_col = (next(c for c in CONTRACT["rounds"] if c.name == n) for n in ("kind", "date"))
    for row in rounds.to_dict("records") if len(rounds) else []:
        words = [_cell_value(kind_col, row.get("kind"), lang)[0], _cell_value(date_col, row.get("date"), lang)[0]]
        words = [w.strftime("%Y-%m-%d") if isinstance(w, dt.datetime) else w for w in words if w is not None]
        name = row.get("name")
        titles[str(row["round_id"])] = (str(name) if not _missing(name) else
                                        _bracket(f"{row['round_id']}", " ".join(words), lang) if words
                                        else str(row["round_id"]))
    positions = scores.groupby(scores["round_id"].astype("object").map(str), sort=False).indices
    round_ids = [r for r in round_ids if r in positions]
    # a round whose id can name its sheet gets 评分-<round_id>; the others a numbered sheet that carries 轮次编号
    taken = {sheet_name(t, lang).casefold() for t in TABLES} | {INSTRUCTIONS_SHEET[lang].casefold()}
    named = {}
    for round_id in round_ids:
        name = score_sheet_name(round_id, lang)
        if not _SHEET_FORBIDDEN.search(name) and len(name) <= _SHEET_MAX and name.casefold() not in taken:
            named[round_id] = name
            taken.add(name.casefold())
    number = 0
    for round_id in round_ids:
        part = scores.iloc[positions[round_id]]
        with_round = round_id not in named
        name = named.get(round_id)
        while name is None or (with_round and name.casefold() in taken):
            number += 1
            name = score_sheet_name(str(number), lang)
        taken.add(name.casefold())
        ident = (["round_id"] if with_round else []) + ["unit_id"]
        final = bool(is_final_score_rater(part["rater_id"]).all())
        if not final:
            ident.append("rater_id")
        ident.append("source")
        has_visit = "visit" in part.columns and not all(_missing(v) for v in part["visit"].tolist())
        if has_visit:
            ident.append("visit")
        key = [c for c in ident if c != "round_id"]
        ids = [str(i) for i in pd.unique(part["indicator_id"].astype("object"))]
        first = {i: k for k, i in enumerate(ids)}
        ids.sort(key=lambda i: order.get(i, len(order) + first[i]))  # the 指标 sheet's order, then others
        reserved = {header(_score_col(c), l).casefold() for c in ("round_id", "unit_id", "rater_id", "source",
                                                                   "visit") for l in LANGS}
        clash = [i for i in ids if i.strip().casefold() in reserved]
        if clash:
            raise InputError(f"indicator id '{clash[0]}' is also the header of an identifying column of a wide "
                             f"score sheet; write the scores in the long form (wide_scores=False)",
                             file="indicators", column="indicator_id")
        frame = part[key + ["indicator_id", "points"]].astype({c: "object" for c in key + ["indicator_id"]})
        frame = frame.where(frame.notna(), None)
        rows: dict[tuple, dict] = {}
        for record in frame.itertuples(index=False, name=None):
            row_key = tuple(None if _missing(v) else v for v in record[:len(key)])
            indicator, value = str(record[len(key)]), record[len(key) + 1]
            cells = rows.setdefault(row_key, {})
            if indicator in cells and not _same(cells[indicator], value):
                raise InputError(
                    f"round {round_id}: unit {row_key[0]} has two scores for indicator {indicator} from the same "
                    f"rater and source ({cells[indicator]} and {value}); a wide score sheet holds one: correct the "
                    f"data, or write the scores in the long form (wide_scores=False)", file="scores", column="points")
            cells[indicator] = value
        cols: list[Col | None] = [_score_col(c) for c in ident]
        points = _score_col("points")
        out = []
        for row_key, values in rows.items():
            cells = ([(_text(round_id), "text")] if with_round else [])
            for c, v in zip(cols[len(ident) - len(key):], row_key):
                cells.append(_cell_value(c, v, lang))
            cells += [_cell_value(points, values.get(i), lang) for i in ids]
            out.append(cells)
        headers = [header(c, lang) for c in cols] + ids
        kinds = ["text"] * len(ident) + ["number"] * len(ids)
        title = titles.get(round_id, round_id)
        sheets.append(_Sheet(name, headers, cols + [points] * len(ids), out, kinds, freeze=len(ident),
                             title=SCORE_SHEET_PREFIX[lang].rstrip("-") + ("　" if lang == "zh" else " ") + title))
    return sheets


# --------------------------------------------------------------------------- instructions

#: What each column means, in Chinese and English: the 填表说明 sheet.
_MEANING = {
    ("units", "unit_id"): ("单位的唯一编号，各表用它指代单位", "the unit's unique id; every table names units by it"),
    ("units", "name"): ("单位全称", "the unit's full name"),
    ("units", "kind"): ("行业单位（市直部门等）或属地单位（区县、街道等）", "industry unit (a city department) or "
                        "territorial unit (a district, a street)"),
    ("units", "group"): ("排名分组：同组单位一起排名、一起上红黑榜", "ranking group: units of a group are ranked "
                         "and listed together"),
    ("units", "size"): ("规模（如人数），留空 = 不分规模", "size (e.g. staff); blank = not used"),
    ("indicators", "indicator_id"): ("指标的唯一编号", "the indicator's unique id"),
    ("indicators", "name"): ("指标名称（测评体系中的写法）", "the indicator's name as the assessment system "
                             "writes it"),
    ("indicators", "category"): ("指标类别（分类得分按它汇总）", "category (category scores add up by it)"),
    ("indicators", "max_points"): ("该指标的满分，大于 0", "the indicator's full marks, above 0"),
    ("indicators", "topic"): ("属于哪项专项测评（与测评轮次的专项主题一致）；留空 = 综合测评指标",
                              "the special-round topic it belongs to (as in rounds); blank = comprehensive"),
    ("rounds", "round_id"): ("测评轮次的唯一编号，如 C2026Q1", "the round's unique id, e.g. C2026Q1"),
    ("rounds", "kind"): ("综合测评（每季度）或专项测评（某一单项工作）", "comprehensive (quarterly) or special "
                         "(one piece of work)"),
    ("rounds", "topic"): ("专项测评的主题，专项测评必填；综合测评留空", "the special round's topic; required "
                          "for special rounds, blank for comprehensive ones"),
    ("rounds", "date"): ("测评（通报）日期，年-月-日", "the round's (notice's) date, year-month-day"),
    ("rounds", "name"): ("轮次名称，用于通报标题；留空 = 按日期命名", "the round's name in notices; blank = named "
                         "by its date"),
    ("scores", "round_id"): ("测评轮次编号（见 测评轮次 表）", "the round (see rounds)"),
    ("scores", "unit_id"): ("被测评单位编号（见 单位 表）", "the unit scored (see units)"),
    ("scores", "indicator_id"): ("指标编号（见 指标 表）", "the indicator (see indicators)"),
    ("scores", "rater_id"): ("评分人（测评员）编号；没有此列的评分表填的是最终得分", "the rater's id; a score "
                             "sheet without this column holds final scores"),
    ("scores", "source"): ("评价来源（五个方面）", "the source (one of five)"),
    ("scores", "points"): ("得分：0 至该指标满分", "points: 0 to the indicator's max_points"),
    ("scores", "visit"): ("明查或暗访；留空 = 不区分", "open or covert visit; blank = not recorded"),
    ("deductions", "round_id"): ("测评轮次编号", "the round"),
    ("deductions", "unit_id"): ("被扣分单位编号", "the unit the points are deducted from"),
    ("deductions", "code"): ("扣分代码（问题类型）", "deduction code (kind of problem)"),
    ("deductions", "points"): ("扣分分值，大于 0", "points deducted, above 0"),
    ("deductions", "role"): ("主责（全额扣分）或连带（按比例扣分）", "primary (full points) or joint (a share)"),
    ("deductions", "verified"): ("问题是否已核实；留空 = 是", "whether the problem was verified; blank = yes"),
    ("deductions", "note"): ("备注（问题描述、地点）", "note (what and where)"),
    ("deductions", "problem_id"): ("问题编号：同一问题记在几个单位时填同一编号", "problem id: the same id where "
                                   "one problem counts against several units"),
    ("surveys", "round_id"): ("测评轮次编号", "the round"),
    ("surveys", "unit_id"): ("单位编号", "the unit"),
    ("surveys", "respondents"): ("满意度调查人数，大于 0", "people asked, above 0"),
    ("surveys", "satisfied"): ("其中满意人数：0 至调查人数", "of whom satisfied: 0 to respondents"),
    ("responsibility", "unit_id"): ("发现问题的单位编号", "the unit a problem is recorded against"),
    ("responsibility", "responsible_id"): ("对它负有责任的单位编号", "the unit also responsible for it"),
    ("responsibility", "relation"): ("属地责任（街道、区县）、行业责任（主管部门）或挂包责任（挂包单位）",
                                     "territorial (street, district), industry (department in charge) or "
                                     "paired (paired unit)"),
    ("responsibility", "share"): ("问题计入责任单位的比例（大于 0、至多 1）；留空 = 按测评参数",
                                  "the share of a problem counted against it (above 0, at most 1); blank = "
                                  "as the parameters say"),
}

#: One example row per table, by column (in the contract's values: written as each column writes them).
_EXAMPLE = {
    "units": {"unit_id": "U001", "name": "市公安局", "kind": "industry", "group": "市直部门", "size": "900"},
    "indicators": {"indicator_id": "I01", "name": "交通秩序管理", "category": "公共秩序", "max_points": "8",
                   "topic": ""},
    "rounds": {"round_id": "C2026Q1", "kind": "comprehensive", "topic": "", "date": "2026-03-31",
               "name": "2026年第一季度综合测评"},
    "scores": {"round_id": "C2026Q1", "unit_id": "U001", "indicator_id": "I01", "rater_id": "R06",
               "source": "field", "points": "7.5", "visit": "open"},
    "deductions": {"round_id": "C2026Q1", "unit_id": "U003", "code": "N01", "points": "1", "role": "primary",
                   "verified": "true", "note": "占道经营", "problem_id": "P001"},
    "surveys": {"round_id": "C2026Q1", "unit_id": "U001", "respondents": "227", "satisfied": "213"},
    "responsibility": {"unit_id": "U101", "responsible_id": "U031", "relation": "territorial", "share": "0.5"},
}

_WORDS = {
    "zh": {
        "title": "红黑榜测评数据　填表说明",
        "columns": ("表", "列名", "英文列名", "含义", "必填", "允许的值", "示例"),
        "required": "必填", "optional": "选填", "table_required": "必填表", "table_optional": "可留空，保留表头",
        "example": "示例行", "kinds": {"id": "编号，按文本填写", "text": "文字", "number": "数字",
                                        "date": "日期 yyyy-mm-dd", "bool": "是 / 否", "choice": "下拉选择"},
        "notes": (
            "本工作簿每张表一页：单位、测评轮次、指标、评分、扣分、满意度调查、责任关系。前四张必填；"
            "后三张没有数据时留空，但保留表头。",
            "每页第一行是表头，不要改动表头，也不要在表头上方加标题行；每行一条记录，不要合并单元格。",
            "编号（单位编号、指标编号、轮次编号、评分人、扣分代码等）是文本：“001”就是“001”，不要写成数字 1。",
            "日期写作 年-月-日，如 2026-03-31。带下拉列表的列只能填列表里的值。",
            "评分表可以是长表：一行一个分数，列为 轮次编号、单位编号、指标编号、评分人、评价来源、得分，可选 明查暗访。",
            "评分表也可以是宽表：先是识别列 单位编号、评分人、评价来源，可选 明查暗访 和 轮次编号；其后每个指标一列，"
            "表头为该指标的指标编号或与指标表完全一致的指标名称，单元格填得分，留空 = 未评此指标。",
            "评分可以按轮次分成几张表，每轮一张，表名为“评分-<轮次编号>”（如 评分-C2026Q1）；这时可以不填 轮次编号 列。",
            "没有 评分人 列的评分表填的是最终得分：每个单位、指标、评价来源一个分数。",
            "本页（填表说明）不会被读取，可以保留。",
        ),
    },
    "en": {
        "title": "Red and black list data: instructions",
        "columns": ("table", "column", "Chinese header", "meaning", "required", "allowed values", "example"),
        "required": "required", "optional": "optional", "table_required": "required table",
        "table_optional": "may be left empty; keep the header",
        "example": "example row", "kinds": {"id": "id, written as text", "text": "text", "number": "number",
                                             "date": "date yyyy-mm-dd", "bool": "true / false", "choice": "drop-down"},
        "notes": (
            "One sheet per table: units, rounds, indicators, scores, deductions, surveys, responsibility. The first "
            "four are required; leave the others empty, with their header, when there are no data.",
            "Row 1 of every sheet is the header: do not change it or add a title row above it; one record per row, "
            "no merged cells.",
            "Ids (unit_id, indicator_id, round_id, rater_id, code …) are text: 001 stays 001, not the number 1.",
            "Dates are year-month-day, e.g. 2026-03-31. Columns with a drop-down list take only its values.",
            "A scores sheet may be long: one score per row, columns round_id, unit_id, indicator_id, rater_id, "
            "source, points, optional visit.",
            "A scores sheet may also be wide: identifying columns unit_id, rater_id, source, optional visit and "
            "round_id, then one column per indicator headed by its indicator_id or exact name; each cell holds the "
            "points, blank = not scored.",
            "Scores may be given as several sheets, one per round, named scores-<round_id> (e.g. scores-C2026Q1); "
            "their round_id column may then be left out.",
            "A scores sheet without rater_id holds final scores: one score per unit, indicator and source.",
            "This sheet (instructions) is not read.",
        ),
    },
}


def _allowed(col: Col, lang: str) -> str:
    sep = "、" if lang == "zh" else ", "
    if col.kind in ("choice", "bool"):
        return sep.join(choice_values(col, lang))
    if col.kind == "number":
        low = "" if col.low is None else (f"> {col.low:g}" if col.low_open else f"≥ {col.low:g}")
        high = "" if col.high is None else f"≤ {col.high:g}"
        return "，".join(p for p in (low, high) if p) if lang == "zh" else ", ".join(p for p in (low, high) if p)
    return _WORDS[lang]["kinds"][col.kind]


def _instructions(lang: str) -> list[tuple[str, list]]:
    """The 填表说明 sheet as (role, cells) rows: ``title``, ``note``, ``blank``, ``columns`` (the header of
    the table of columns), ``table`` (a table's heading), ``column`` (one column), ``example`` (a table's
    example row)."""
    words = _WORDS[lang]
    rows: list[tuple[str, list]] = [("title", [words["title"]])]
    rows += [("note", [f"{k}. {note}"]) for k, note in enumerate(words["notes"], start=1)]
    rows += [("blank", []), ("columns", list(words["columns"]))]
    other = "en" if lang == "zh" else "zh"
    for table in TABLES:
        name = sheet_name(table, lang)
        required = words["table_required"] if table in REQUIRED_TABLES else words["table_optional"]
        rows.append(("table", [_bracket(name, required, lang)]))
        example = []
        for col in CONTRACT[table]:
            value = _EXAMPLE[table].get(col.name, "")
            if value and col.kind in ("choice", "bool"):
                value = _cell_value(col, value, lang)[0]
            example.append(value)
            meaning = _MEANING.get((table, col.name), ("", ""))[0 if lang == "zh" else 1]
            rows.append(("column", [name, header(col, lang), header(col, other), meaning,
                                    words["required"] if col.required else words["optional"],
                                    _allowed(col, lang), value]))
        shown = " | ".join(f"{header(c, lang)}={v}" for c, v in zip(CONTRACT[table], example) if v)
        rows.append(("example", [name, words["example"], "", shown]))
    return rows


# --------------------------------------------------------------------------- writing


def _styles():
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="A6A6A6")
    return {
        "font": Font(name=_FONT, size=11),
        "bold": Font(name=_FONT, size=11, bold=True),
        "title": Font(name=_FONT, size=14, bold=True),
        "fill": PatternFill("solid", fgColor=_HEADER_FILL),
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
        "center": Alignment(horizontal="center", vertical="center", wrap_text=True),
        "wrap": Alignment(vertical="top", wrap_text=True),
    }


def _put(cell, value, kind: str) -> None:
    if value is None:
        return
    if kind == "number":
        cell.value = value
        return
    if kind == "date":
        cell.value = value
        cell.number_format = _DATE_FORMAT
        return
    cell.value = value
    cell.data_type = "s"  # even "=HYPERLINK(…)": text, never a formula
    cell.number_format = "@"
    if value[:1] in FORMULA_START:
        cell.quotePrefix = True


def _write_data_sheet(ws, sheet: _Sheet, lang: str, st: dict) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    n = len(sheet.headers)
    widths = [_display_width(h) for h in sheet.headers]
    for k, text in enumerate(sheet.headers, start=1):
        cell = ws.cell(row=1, column=k)
        _put(cell, _text(text), "text")
        cell.font, cell.fill, cell.alignment, cell.border = st["bold"], st["fill"], st["center"], st["border"]
    for i, row in enumerate(sheet.rows, start=2):
        for k, (value, kind) in enumerate(row, start=1):
            if value is None:
                continue
            _put(ws.cell(row=i, column=k), value, kind)
            shown = 10 if kind == "date" else _display_width(str(value))
            if shown > widths[k - 1]:
                widths[k - 1] = shown
    # a CJK character is about two digits wide in Excel's default font, and a little more
    widths = [max(_MIN_WIDTH, min(_MAX_WIDTH, round(w * 1.2) + 3)) for w in widths]
    for k in range(n):
        letter = get_column_letter(k + 1)
        dim = ws.column_dimensions[letter]
        dim.width = widths[k]
        kind = sheet.kinds[k]
        if kind == "text":
            dim.number_format = "@"  # what is typed into an empty cell stays text: 001 stays 001
        elif kind == "date":
            dim.number_format = _DATE_FORMAT
        col = sheet.cols[k]
        if col is not None and col.kind in ("choice", "bool"):
            values = choice_values(col, lang)
            dv = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True,
                                showDropDown=False, showErrorMessage=True, errorStyle="stop")
            if lang == "zh":
                dv.errorTitle, dv.error = "不在列表中", f"{sheet.headers[k]} 只能填：{'、'.join(values)}"
            else:
                dv.errorTitle, dv.error = "not in the list", f"{sheet.headers[k]} takes one of: {', '.join(values)}"
            dv.add(f"{letter}2:{letter}{_LAST_ROW}")
            ws.add_data_validation(dv)
    ws.row_dimensions[1].height = 24
    ws.freeze_panes = ws.cell(row=2, column=sheet.freeze + 1)
    if n:
        ws.auto_filter.ref = f"A1:{get_column_letter(n)}{max(1, len(sheet.rows) + 1)}"
    ws.print_title_rows = "1:1"
    fit_to_page(ws, landscape=sum(widths) > _PORTRAIT_WIDTH)
    if sheet.title:
        ws.oddHeader.center.text = sheet.title.replace("&", "&&")
    ws.oddFooter.center.text = "第 &P 页，共 &N 页" if lang == "zh" else "page &P of &N"


def _write_instructions(ws, rows: list[tuple[str, list]], st: dict) -> None:
    from openpyxl.utils import get_column_letter

    widths = (12, 14, 16, 52, 8, 36, 26)
    last = len(widths)
    for i, (role, cells) in enumerate(rows, start=1):
        for k, value in enumerate(cells, start=1):
            cell = ws.cell(row=i, column=k)
            _put(cell, _text(value) if value else None, "text")
            cell.font = st["font"]
            if role in ("columns", "column", "example"):
                cell.alignment, cell.border = st["wrap"], st["border"]
            if role == "columns":
                cell.font, cell.fill, cell.alignment = st["bold"], st["fill"], st["center"]
        if role == "column":  # wrapped cells: as many lines as the longest needs (Excel and WPS keep the height)
            lines = max(math.ceil(_display_width(str(v)) / (w * 1.1)) if v else 1 for v, w in zip(cells, widths))
            if lines > 1:
                ws.row_dimensions[i].height = 15 * lines
        if role == "title":
            ws.cell(row=i, column=1).font = st["title"]
            ws.row_dimensions[i].height = 24
        elif role == "table":
            ws.cell(row=i, column=1).font = st["bold"]
        elif role == "note":  # spans the width of the table below
            ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=last)
            ws.cell(row=i, column=1).alignment = st["wrap"]
            ws.row_dimensions[i].height = 20
        elif role == "example":  # the row, from the meaning column on
            ws.merge_cells(start_row=i, start_column=4, end_row=i, end_column=last)
            ws.cell(row=i, column=2).font = st["bold"]
    for k, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(k)].width = width
    fit_to_page(ws, landscape=True)


def _book_bytes(sheets: list[_Sheet | None], *, lang: str, when: dt.datetime, title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.xml.functions import tostring

    wb = Workbook()
    wb.remove(wb.active)
    st = _styles()
    for sheet in sheets:
        if sheet is None:  # the instructions
            _write_instructions(wb.create_sheet(INSTRUCTIONS_SHEET[lang]), _instructions(lang), st)
        else:
            _write_data_sheet(wb.create_sheet(sheet.name), sheet, lang, st)
    wb.active = 0
    props = wb.properties
    props.creator = props.lastModifiedBy = "honorcalc"
    props.title = title
    props.language = "zh-CN" if lang == "zh" else "en"
    props.created = props.modified = when
    out = io.BytesIO()
    wb.save(out)  # stamps "modified" with the time of saving: the core properties are written again below
    props.modified = when
    core = b"<?xml version='1.0' encoding='UTF-8'?>\n" + tostring(props.to_tree())
    return stable_zip(out.getvalue(), when, {"docProps/core.xml": core})


def _target(path, force: bool) -> Path:
    """``path`` to write a workbook to: it must end in .xlsx, and exist only with ``force`` (a file, then)."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise InputError(f"a workbook is written as .xlsx, not '{path.suffix or path.name}'", file=str(path))
    if path.is_dir():
        raise InputError("is a folder, not a workbook", file=str(path))
    if path.exists() and not force:
        raise InputError("exists; use --force to overwrite it", file=str(path))
    return path


# --------------------------------------------------------------------------- public


def template_bytes(*, lang: str = "zh") -> bytes:
    """The blank template's .xlsx bytes (`write_template`): the same for the same ``lang``."""
    _check_lang(lang)
    sheets = [None] + [_table_sheet(t, None, lang) for t in _SHEET_ORDER]  # None: the instructions
    title = "红黑榜测评数据填报模板" if lang == "zh" else "Red and black list data template"
    return _book_bytes(sheets, lang=lang, when=TEMPLATE_TIME, title=title)


#: The order of the data sheets: as an office fills them in.
_SHEET_ORDER = ("units", "rounds", "indicators", "scores", "deductions", "surveys", "responsibility")


def write_template(path, *, lang: str = "zh", force: bool = False) -> Path:
    """Write the blank workbook an office fills in (Excel or WPS).

    Parameters
    ----------
    path : str or Path
        Where to write it; must end in ``.xlsx``.
    lang : ``"zh"`` or ``"en"``
        Chinese sheet names, headers and drop-down values (`TABLE_NAMES_ZH`,
        `Col.zh`, one alias per choice, 是/否), or English ones (table names,
        `Col.name`, the contract's choices, true/false).
    force : bool
        Overwrite an existing file.

    Returns
    -------
    Path
        ``path``. Its sheets: 填表说明 (the instructions: every table and column,
        required or optional, allowed values, an example row, the long and wide
        forms of 评分), then 单位, 测评轮次, 指标, 评分 (long form), 扣分,
        满意度调查, 责任关系, each a header row only.

    Raises
    ------
    InputError
        ``path`` does not end in ``.xlsx``, or exists and ``force`` is false.
    """
    _check_lang(lang)
    path = _target(path, force)
    data = template_bytes(lang=lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _frames(tables) -> dict[str, pd.DataFrame | None]:
    if isinstance(tables, dict):
        unknown = [t for t in tables if t not in TABLES]
        if unknown:
            raise InputError(f"unknown table '{unknown[0]}'; expected one of {', '.join(TABLES)}")
        missing = [t for t in REQUIRED_TABLES if t not in tables or tables[t] is None]
        if missing:
            raise InputError(f"the dataset lacks table '{missing[0]}'; required: {', '.join(REQUIRED_TABLES)}")
        return {t: tables.get(t) for t in TABLES}
    return dataset_frames(tables)


def workbook_bytes(tables, *, lang: str = "zh", wide_scores: bool = True) -> bytes:
    """The dataset ``tables`` as one workbook's .xlsx bytes (`write_workbook`)."""
    _check_lang(lang)
    frames = _frames(tables)
    for table, frame in frames.items():
        if frame is None:
            continue
        missing = [c.name for c in CONTRACT[table] if c.required and c.name not in frame.columns]
        if missing and len(frame):
            raise InputError(f"table {table} lacks column '{missing[0]}'", file=table, column=missing[0])
    sheets: list[_Sheet | None] = []
    for table in _SHEET_ORDER:
        frame = frames[table]
        if table == "scores" and wide_scores and frame is not None and len(frame):
            empty = pd.DataFrame(columns=["round_id"])
            wide = _wide_score_sheets(frame, frames["rounds"] if frames["rounds"] is not None else empty,
                                      frames["indicators"] if frames["indicators"] is not None else
                                      pd.DataFrame(columns=["indicator_id"]), lang)
            sheets += wide
            continue
        drop = ()
        if table == "scores" and frame is not None and len(frame) and is_final_score_rater(frame["rater_id"]).all():
            drop = ("rater_id",)  # final scores: a score sheet without 评分人
        sheets.append(_table_sheet(table, frame, lang, drop=drop))
    sheets.append(None)  # the instructions
    rounds = frames["rounds"]
    when = TEMPLATE_TIME
    if rounds is not None and len(rounds):
        dates = [_cell_value(Col("date", "date"), d, lang) for d in rounds["date"].tolist()]
        dates = [d for d, kind in dates if kind == "date"]
        if dates:
            when = max(max(dates), dt.datetime(1980, 1, 1))
    title = "红黑榜测评数据" if lang == "zh" else "Red and black list data"
    return _book_bytes(sheets, lang=lang, when=when, title=title)


def write_workbook(tables, path, *, lang: str = "zh", wide_scores: bool = True, force: bool = False) -> Path:
    """Write a dataset as one workbook, the way an office keeps it.

    Parameters
    ----------
    tables : Dataset or dict of DataFrame
        A validated `Dataset`, or frames by table name (typed, or every cell
        text as read). The required tables must be there; optional ones that are
        absent or empty are written as a header row.
    path : str or Path
        Where to write it; must end in ``.xlsx``.
    lang : ``"zh"`` or ``"en"``
        As `write_template`.
    wide_scores : bool
        Scores as one wide sheet per round, ``评分-<轮次编号>``: 单位编号, 评分人,
        评价来源, 明查暗访 (when the round records visits), then one column per
        indicator scored in the round, headed by its 指标编号, in the order of
        the 指标 sheet; a blank cell where that row did not score that
        indicator. Final scores (no rater) are written without 评分人. A round id
        that cannot name a sheet (``[]:*?/\\``, or too long) gets a numbered
        sheet with a 轮次编号 column. False: one long 评分 sheet.
    force : bool
        Overwrite an existing file.

    Returns
    -------
    Path
        ``path``: sheets 单位, 测评轮次, 指标, the score sheet(s), 扣分,
        满意度调查, 责任关系, 填表说明. The bytes depend only on the arguments
        (the workbook is dated the last round's date).

    Raises
    ------
    InputError
        ``path`` does not end in ``.xlsx`` (or exists and ``force`` is false); a
        required table or column is missing.
    """
    path = _target(path, force)
    data = workbook_bytes(tables, lang=lang, wide_scores=wide_scores)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
