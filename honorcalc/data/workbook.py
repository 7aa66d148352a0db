"""A dataset as a city office keeps it: one workbook, Chinese sheets and headers, scores in wide form.

A workbook (``测评数据.xlsx``) holds the tables as sheets named in Chinese or
English (``单位`` or ``units``; `honorcalc.data.contract.TABLE_NAMES_ZH`). Scores
may be long (one row per score) or wide: identifying columns (单位编号, 评分人,
评价来源, optional 明查暗访 and 轮次编号), then one column per indicator, headed
by its 指标编号 or its exact 指标名称; a blank cell is "not scored". Every sheet
whose name begins with 评分 (or ``scores``) is read and stacked; a sheet named
``评分-<轮次编号>`` gives the round where the column is absent.

What a user cannot see must not decide a list, and what Excel did not save
cannot be read: hidden sheets, rows or columns holding data, formulas without a
saved result and error cells (``#DIV/0!``) are refused, each named by sheet and
cell (``测评数据.xlsx › 评分-C2026Q2 › F17``). A title row above the header is
skipped, merged cells down a column are read as the value they show, dates
stored as day numbers are read in the workbook's own date system; each with a
notice. Problems are gathered and reported together with the contract's.

The structure (hidden rows and columns, merged ranges, formulas, error cells)
is read from the sheets' XML in one streaming pass, and the values with
openpyxl's read-only reader, so a large sheet is never held as cell objects.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from ..errors import InputError, ValidationError
from .contract import (
    CONTRACT,
    REQUIRED_TABLES,
    TABLE_NAMES_ZH,
    TABLES,
    choice_value,
    column_of_header,
    final_score_rater,
    table_of_name,
)
from .read import cell_text, check_xlsx_file, max_file_bytes, max_table_rows

__all__ = ["EXCEL_MAX_ROWS", "INSTRUCTION_SHEETS", "RawDataset", "read_workbook", "shape_tables",
           "locate_problems", "is_wide_scores"]

#: The last row of an Excel sheet: a sheet that reaches it was very likely cut off when the data
#: were opened in Excel (rows beyond it are dropped without a word).
EXCEL_MAX_ROWS = 1_048_576

#: Sheets of instructions, never read as data (the template's 填表说明).
INSTRUCTION_SHEETS = ("填表说明", "说明", "instructions", "readme")

#: ``评分-C2026Q2``, ``评分_C2026Q2``, ``scores-C2026Q2``: a score sheet and the round it holds.
_SCORE_SHEET = re.compile(r"^(?:评分|scores)\s*[-_－—–·:：\s]\s*(?P<round>\S.*)$", re.IGNORECASE)

#: The columns a row must name for it to be the header row, by table (wide scores need no indicator column).
_HEADER_NEEDS = {t: tuple(c.name for c in CONTRACT[t] if c.required) for t in TABLES}
_HEADER_NEEDS["scores"] = ("unit_id", "source")

#: The columns of a wide score sheet that identify its rows; every other column is an indicator.
_WIDE_ID_COLUMNS = ("round_id", "unit_id", "rater_id", "source", "visit")

_HEADER_SEARCH_ROWS = 20

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?([0-9]+)$")


def _letter(column: int) -> str:
    """Excel's name of a 1-based column: 1 → A, 28 → AB."""
    name = ""
    while column:
        column, rest = divmod(column - 1, 26)
        name = chr(65 + rest) + name
    return name


def _column_number(letters: str) -> int:
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number


def _ref(ref: str) -> tuple[int, int] | None:
    """``F17`` → (17, 6): row and column, 1-based."""
    found = _CELL_REF.match(ref or "")
    return (int(found[2]), _column_number(found[1])) if found else None


# ---------------------------------------------------------------------------------------------
# The structure of each sheet, from its XML


@dataclass
class _Structure:
    """What a sheet's XML says besides its values."""

    name: str
    state: str = "visible"
    last_row: int = 0
    hidden_rows: set = field(default_factory=set)
    hidden_columns: list = field(default_factory=list)  # (first, last), 1-based
    merges: list = field(default_factory=list)  # (first row, first column, last row, last column)
    errors: dict = field(default_factory=dict)  # (row, column) → shown error (#DIV/0!)
    unsaved: set = field(default_factory=set)  # (row, column) of formulas without a saved result
    formulas: set = field(default_factory=set)  # (row, column) of formulas with a saved result
    cells: dict = field(default_factory=dict)  # row → {column: value}: str, float, bool or datetime

    def rows(self) -> list[tuple]:
        """The values row by row from row 1 (None: an empty cell), as wide as the widest row."""
        if not self.cells:
            return []
        width = max(max(row) for row in self.cells.values())  # a row is stored once it has a value
        out = []
        for number in range(1, max(self.cells) + 1):
            row = self.cells.get(number, {})
            out.append(tuple(row.get(c) for c in range(1, width + 1)))
        return out

    def has_values(self) -> bool:
        return bool(self.cells)  # only values are stored, never an empty cell

    def column_hidden(self, column: int) -> bool:
        return any(first <= column <= last for first, last in self.hidden_columns)


def _sheet_parts(archive: zipfile.ZipFile) -> tuple[list[tuple[str, str, str]], bool]:
    """(name, state, part) of every worksheet, in the workbook's order; and whether it counts days from 1904."""
    def parse(member):
        with archive.open(member) as handle:
            return ElementTree.parse(handle).getroot()

    book = parse("xl/workbook.xml")
    try:
        rels = parse("xl/_rels/workbook.xml.rels")
        targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_REL}Relationship")}
    except KeyError:
        targets = {}
    sheets = []
    for sheet in book.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_DOC_REL}id"), "")
        part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        sheets.append((sheet.get("name", ""), sheet.get("state", "visible"), part))
    properties = book.find(f"{_MAIN}workbookPr")
    date1904 = properties is not None and properties.get("date1904", "0").lower() in ("1", "true")
    return sheets, date1904


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    """The workbook's shared strings, rich text joined (phonetic runs left out)."""
    try:
        handle = archive.open("xl/sharedStrings.xml")
    except KeyError:
        return []
    out = []
    with handle:
        for _, element in ElementTree.iterparse(handle, events=("end",)):
            if element.tag == f"{_MAIN}si":
                out.append(_text_of(element))
                element.clear()
    return out


def _text_of(element) -> str:
    """The text of a string item (``<si>`` or ``<is>``): its ``<t>``, or its runs' ``<t>``, not ``<rPh>``."""
    direct = element.find(f"{_MAIN}t")
    if direct is not None:
        return direct.text or ""
    return "".join(t.text or "" for r in element.findall(f"{_MAIN}r") for t in r.findall(f"{_MAIN}t"))


def _date_styles(archive: zipfile.ZipFile) -> set[int]:
    """The cell styles (``s`` attribute) whose number format shows a date or time."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

    try:
        with archive.open("xl/styles.xml") as handle:
            root = ElementTree.parse(handle).getroot()
    except KeyError:
        return set()
    formats = dict(BUILTIN_FORMATS)
    numbers = root.find(f"{_MAIN}numFmts")
    if numbers is not None:
        for fmt in numbers.findall(f"{_MAIN}numFmt"):
            formats[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode", "")
    styles = root.find(f"{_MAIN}cellXfs")
    if styles is None:
        return set()
    return {k for k, xf in enumerate(styles.findall(f"{_MAIN}xf"))
            if is_date_format(formats.get(int(xf.get("numFmtId", "0")), "") or "")}


def _read_sheet(archive: zipfile.ZipFile, name: str, state: str, part: str, shared: list[str],
                dates: set[int], epoch) -> _Structure:
    """One streaming pass over a sheet's XML: its values and its hidden rows and columns, merges,
    formulas and error cells. A number in a date style is a date, counted from ``epoch``."""
    from openpyxl.utils.datetime import from_excel

    out = _Structure(name=name, state=state)
    try:
        handle = archive.open(part)
    except KeyError:
        return out
    truthy = ("1", "true")
    v_tag, f_tag, is_tag = f"{_MAIN}v", f"{_MAIN}f", f"{_MAIN}is"
    row_number, column = 0, 0
    with handle:
        for event, element in ElementTree.iterparse(handle, events=("start", "end")):
            tag = element.tag
            if event == "start":
                if tag == f"{_MAIN}row":
                    r = element.get("r", "")
                    row_number = int(r) if r.isdigit() else row_number + 1
                    column = 0
                continue
            if tag == f"{_MAIN}c":
                at = _ref(element.get("r", "")) or (row_number, column + 1)
                column = at[1]
                value = element.find(v_tag)
                text = None if value is None else value.text
                saved = text not in (None, "")
                kind = element.get("t", "n")
                if kind == "e":
                    out.errors[at] = text if saved else "#ERROR"
                if element.find(f_tag) is not None:
                    (out.formulas if saved else out.unsaved).add(at)
                cell = None
                if kind == "inlineStr":
                    inline = element.find(is_tag)
                    cell = "" if inline is None else _text_of(inline)
                elif saved:
                    if kind == "s":
                        cell = shared[int(text)] if text.isdigit() and int(text) < len(shared) else ""
                    elif kind in ("str", "e"):
                        cell = text
                    elif kind == "b":
                        cell = text.strip() in ("1", "true")
                    elif kind == "d":
                        cell = text
                    else:
                        try:  # whole numbers exactly (an id typed as a number), others as Excel's double
                            cell = int(text) if text.lstrip("-").isdigit() else float(text)
                        except ValueError:
                            cell = text
                        if not isinstance(cell, str) and int(element.get("s", "0") or 0) in dates:
                            try:
                                cell = from_excel(cell, epoch=epoch)
                            except (ValueError, OverflowError):
                                pass
                if cell is not None and cell != "":
                    out.cells.setdefault(at[0], {})[at[1]] = cell
                    out.last_row = max(out.last_row, at[0])
                element.clear()
            elif tag == f"{_MAIN}row":
                if element.get("hidden", "0").lower() in truthy:
                    out.hidden_rows.add(row_number)
                element.clear()
            elif tag == f"{_MAIN}col":
                if element.get("hidden", "0").lower() in truthy:
                    out.hidden_columns.append((int(element.get("min", "0")), int(element.get("max", "0"))))
            elif tag == f"{_MAIN}mergeCell":
                first, _, last = element.get("ref", "").partition(":")
                a, b = _ref(first), _ref(last or first)
                if a and b:
                    out.merges.append((a[0], a[1], b[0], b[1]))
    return out


# ---------------------------------------------------------------------------------------------
# Where each row came from, to name cells in messages


@dataclass
class _Origin:
    """Where the rows of one table came from: sheet and Excel row per row label, and the columns."""

    file: str
    sheets: list = field(default_factory=list)  # per row label: sheet name
    rows: list = field(default_factory=list)  # per row label: Excel row
    value_columns: list = field(default_factory=list)  # per row label: column of the value (wide), or 0
    headers: dict = field(default_factory=dict)  # sheet → {contract column: (column number, header as written)}
    header_rows: dict = field(default_factory=dict)  # sheet → Excel row of the header
    from_name: dict = field(default_factory=dict)  # sheet → contract columns given by the sheet name
    value_headers: list = field(default_factory=list)  # per row label: header of the value's column (wide), or ""

    def first_sheet(self) -> str | None:
        return next(iter(self.header_rows), None)


@dataclass
class RawDataset:
    """The tables of a dataset as text, named as the contract names them, before validation."""

    tables: dict[str, pd.DataFrame]
    display: dict[str, str]  # table → its name in messages (``测评数据.xlsx › 评分``)
    files: dict[str, str]  # table → its file, relative to the dataset's folder
    formats: dict[str, dict]
    notices: list[str] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    origins: dict[str, _Origin] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # table → {column: header as written}
    final_rows: np.ndarray | None = None  # per score row: its rater is the pseudo-rater the reader gave it


def _problem(file, sheet, row, column_number, header, value, expected) -> dict:
    cell = None if column_number in (None, 0) or row is None else f"{_letter(column_number)}{row}"
    return {"file": file, "sheet": sheet, "row": None if row is None else float(row), "cell": cell,
            "column": header, "value": value, "expected": expected}


# ---------------------------------------------------------------------------------------------
# Reading a workbook


def _sheet_role(name: str) -> tuple[str | None, str | None]:
    """(table, round id given by the name) of a sheet; (None, None) for any other sheet."""
    table = table_of_name(name)
    if table is not None:
        return table, None
    found = _SCORE_SHEET.match(unicodedata.normalize("NFKC", name).strip())
    if found:
        return "scores", found["round"].strip()
    return None, None


def read_workbook(path: str | Path, *, max_bytes: int | None = None, max_rows: int | None = None,
                  only: str | None = None, indicators: pd.DataFrame | None = None) -> RawDataset:
    """Read a workbook's tables as text, each cell located, every problem gathered.

    Parameters
    ----------
    path : the ``.xlsx`` file.
    max_bytes, max_rows : the limits of `honorcalc.data.read.read_table`.
    only : read just this table (a dataset folder's ``scores.xlsx``): its sheets are the ones
        named after it, or the workbook's one sheet with data.
    indicators : the dataset's indicators (as read, text), for wide score sheets of a workbook
        that has no indicators sheet of its own.

    Raises
    ------
    InputError
        The file is not a readable workbook, is too large, or has no sheet of a required table.
    """
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

    path = Path(path)
    limit = max_file_bytes() if max_bytes is None else max_bytes
    row_limit = max_table_rows() if max_rows is None else max_rows
    check_xlsx_file(path, only, limit, row_limit)
    try:
        with zipfile.ZipFile(path) as archive:
            parts, date1904 = _sheet_parts(archive)
            epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
            shared, dates = _shared_strings(archive), _date_styles(archive)
            structures = {name: _read_sheet(archive, name, state, part, shared, dates, epoch)
                          for name, state, part in parts}
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError, ValueError, EOFError):
        raise InputError("is a damaged workbook: its sheets cannot be read", file=path) from None
    file = path.name
    notices: list[str] = []
    problems: list[dict] = []
    for s in structures.values():
        if s.last_row >= EXCEL_MAX_ROWS:
            problems.append(_problem(file, s.name, EXCEL_MAX_ROWS, None, None, None,
                                     f"fewer rows than Excel's last row ({EXCEL_MAX_ROWS:,}): this sheet reaches "
                                     "it, so rows were very likely cut off when the data were opened in Excel; "
                                     "give the full data as CSV or Parquet, or split it over several sheets"))
            s.cells.clear()  # not read: the data are incomplete
    roles = {}
    for name, _, _ in parts:
        table, round_id = _sheet_role(name)
        if only is not None and table not in (only, None):
            table = None
        roles[name] = (table, round_id)
    if only is not None and not any(t == only for t, _ in roles.values()):
        filled = [n for n in roles if structures[n].has_values()]
        if not filled:
            raise InputError("is empty; expected a header row naming the columns", file=path)
        if len(filled) > 1:
            raise InputError(f"has several sheets ({', '.join(filled)}); keep one, or name the one to "
                             f"use '{only}' or '{TABLE_NAMES_ZH[only]}'", file=path)
        roles[filled[0]] = (only, None)
    raw_sheets: dict[str, list[tuple]] = {}
    for name, (table, round_id) in roles.items():
        s = structures[name]
        if table is None:
            folded = unicodedata.normalize("NFKC", name).strip().lower()
            if folded not in INSTRUCTION_SHEETS and only is None and s.has_values():
                notices.append(f"{file}: sheet '{name}' is not a table of the dataset and was not read")
            continue
        if s.state != "visible":
            if s.has_values():
                problems.append(_problem(
                    file, name, None, None, None, None,
                    "a visible sheet: this sheet is hidden but holds data, and data no one can see must "
                    "not decide a list; unhide it (right-click a sheet tab › Unhide) or delete it"))
            continue
        raw_sheets[name] = s.rows()
        s.cells.clear()
    return _assemble(path, raw_sheets, roles, structures, epoch, notices, problems, only, indicators)


def _assemble(path: Path, raw_sheets, roles, structures, epoch, notices, problems, only,
              indicators=None) -> RawDataset:
    file = path.name
    parsed: dict[str, list] = {t: [] for t in TABLES}
    named = {table for table, _ in roles.values() if table is not None}
    for name, rows in raw_sheets.items():
        table, round_id = roles[name]
        sheet = _parse_sheet(name, rows, structures[name], table, file, epoch,
                             notices, problems)
        if sheet is not None:
            parsed[table].append((sheet, round_id))
        elif not any(any(str(v).strip() for v in row if v is not None) for row in rows) and table in REQUIRED_TABLES:
            problems.append(_problem(file, name, 1, None, None, None,
                                     f"a header row naming the columns, and data below it: the sheet of table "
                                     f"'{table}' ({TABLE_NAMES_ZH[table]}) is empty"))
    multi = [t for t in TABLES if t != "scores" and len(parsed[t]) > 1]
    for table in multi:
        names = ", ".join(s.name for s, _ in parsed[table])
        raise InputError(f"gives table '{table}' ({TABLE_NAMES_ZH[table]}) on several sheets ({names}); keep one",
                         file=path)
    missing = [t for t in (REQUIRED_TABLES if only is None else (only,)) if t not in named]
    if missing:
        wanted = ", ".join(f"{TABLE_NAMES_ZH[t]} ({t})" for t in missing)
        raise InputError(f"has no sheet for the required table(s) {wanted}: name each sheet after its table "
                         "(单位, 测评轮次, 指标, 评分 …, or 评分-<轮次编号> for one round's scores)", file=path)
    raw = RawDataset(tables={}, display={}, files={}, formats={}, notices=notices, problems=problems)
    lookup = _indicator_lookup(parsed["indicators"][0][0].frame if parsed["indicators"] else indicators)
    for table in TABLES:
        if not parsed[table]:
            if table in named and only is not None and table == only:  # a folder's file: the table, empty
                raw.tables[table] = pd.DataFrame()
                raw.display[table] = raw.files[table] = file
            continue
        sheets = [s for s, _ in parsed[table]]
        display = f"{file} › {sheets[0].name}" if len(sheets) == 1 else f"{file} › {TABLE_NAMES_ZH[table]}"
        origin = _Origin(file=file)
        frames = []
        wide_rows = 0
        for sheet, round_id in parsed[table]:
            origin.headers[sheet.name] = sheet.headers
            origin.header_rows[sheet.name] = sheet.header_row
            if round_id is not None and "round_id" not in sheet.headers:
                origin.from_name[sheet.name] = ("round_id",)
            frame, rows, columns, headers = sheet.frame, sheet.excel_rows, [0] * len(sheet.frame), [""] * len(sheet.frame)
            if table == "scores" and is_wide_scores(frame):
                frame, at, columns, headers = _melt_sheet(sheet, lookup, file, problems, notices)
                rows = [sheet.excel_rows[k] for k in at]
                wide_rows += len(frame)
            if round_id is not None:
                frame = _round_from_name(frame, sheet, rows, round_id, file, problems)
            frames.append(frame)
            origin.sheets += [sheet.name] * len(frame)
            origin.rows += list(rows)
            origin.value_columns += list(columns)
            origin.value_headers += list(headers)
        raw.tables[table] = _stack(frames)
        raw.display[table] = display
        raw.files[table] = file
        raw.origins[table] = origin
        if wide_rows:
            notices.append(f"{display}: scores in wide form (one column per indicator): {wide_rows:,} score(s) read")
    return raw


def _stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    columns = list(dict.fromkeys(c for f in frames for c in f.columns))
    out = pd.concat([f.reindex(columns=columns, fill_value="") for f in frames], ignore_index=True)
    return out.fillna("").astype(str)


def _round_from_name(frame: pd.DataFrame, sheet, rows, round_id: str, file, problems) -> pd.DataFrame:
    """The round a ``评分-<轮次编号>`` sheet's name gives, where its round column is absent or blank;
    a round cell that says otherwise is refused."""
    frame = frame.copy()
    if "round_id" not in frame:
        frame["round_id"] = round_id
        return frame
    given = frame["round_id"].astype(str).str.strip()
    other = np.flatnonzero(((given != "") & (given != round_id)).to_numpy())
    number, header = sheet.headers.get("round_id", (0, "轮次编号"))
    for k in other[:20]:
        problems.append(_problem(file, sheet.name, rows[k], number, header, frame["round_id"].iloc[k],
                                 f"the round this sheet's name gives, {round_id!r}; give another round's "
                                 "scores a sheet of their own"))
    frame["round_id"] = given.where(given != "", round_id)
    return frame


@dataclass
class _Sheet:
    name: str
    frame: pd.DataFrame  # text, contract column names (and the wide sheet's indicator headers as given)
    excel_rows: list
    headers: dict  # contract column → (column number, header as written)
    header_row: int
    wide: dict = field(default_factory=dict)  # frame column → (column number, header as written)


def _parse_sheet(name, rows, s: _Structure, table, file, epoch, notices, problems) -> _Sheet | None:
    """One sheet's values as text under contract column names, or None when it holds nothing."""
    texts = [[cell_text(v) for v in row] for row in rows]
    while texts and not any(t.strip() for t in texts[-1]):
        texts.pop()
    if not texts:
        return None
    width = max(len(r) for r in texts)
    texts = [r + [""] * (width - len(r)) for r in texts]
    header_at = _find_header(texts, table)
    if header_at > 0:
        above = [k + 1 for k in range(header_at) if sum(1 for t in texts[k] if t.strip()) > 1]
        if above:
            problems.append(_problem(file, name, above[0], None, None, None,
                                     f"the header row first: the column names are on row {header_at + 1}, and "
                                     f"row {above[0]} above it holds data; delete the rows above the header"))
            return None
        notices.append(f"{file} › {name}: rows 1–{header_at} above the header read as a title and skipped"
                       if header_at > 1 else f"{file} › {name}: row 1 above the header read as a title and skipped")
    header_row = header_at + 1
    header = [t.strip() for t in texts[header_at]]
    data = texts[header_at + 1:]
    raw_rows = rows[header_at + 1:]
    excel_rows = list(range(header_row + 1, header_row + 1 + len(data)))
    for first_row, first_col, last_row, last_col in s.merges:
        if first_row <= header_row <= last_row and (last_col > first_col or last_row > first_row):
            problems.append(_problem(file, name, first_row, first_col, None, None,
                                     f"one header per column: cells {_letter(first_col)}{first_row}:"
                                     f"{_letter(last_col)}{last_row} are merged; unmerge them and name each column"))
    columns: dict[str, int] = {}  # frame column → 0-based position
    headers: dict[str, tuple[int, str]] = {}
    wide: dict[str, tuple[int, str]] = {}
    for k, text in enumerate(header):
        has_data = any(r[k].strip() for r in data)
        if not text:
            if has_data:
                first = next(i for i, r in enumerate(data) if r[k].strip())
                problems.append(_problem(file, name, header_row, k + 1, None, None,
                                         f"a header naming column {_letter(k + 1)}, which holds data "
                                         f"(from {_letter(k + 1)}{excel_rows[first]}) but has no name"))
            continue
        column = column_of_header(table, text)
        if column is None:
            if table == "scores":
                wide[text] = (k + 1, text)
            column = text
        if column in columns:
            problems.append(_problem(file, name, header_row, k + 1, text, None,
                                     f"one column per name: this column gives {column} again (also column "
                                     f"{_letter(columns[column] + 1)})"))
            continue
        columns[column] = k
        if column in {c.name for c in CONTRACT[table]}:
            headers[column] = (k + 1, text)
    _check_cells(name, s, file, header_row, excel_rows, data, [p + 1 for p in columns.values()], problems, notices)
    data = _fill_merged(name, s, file, header_row, excel_rows, data, list(columns.values()), problems, notices)
    frame = pd.DataFrame({c: [r[k] for r in data] for c, k in columns.items()}, dtype=object)
    frame = _dates(name, file, table, frame, raw_rows, columns, epoch, notices)
    return _Sheet(name=name, frame=frame.astype(str), excel_rows=excel_rows, headers=headers,
                  header_row=header_row, wide=wide)



def _find_header(texts, table) -> int:
    need = _HEADER_NEEDS[table]
    for k, row in enumerate(texts[:_HEADER_SEARCH_ROWS]):
        names = {column_of_header(table, t) for t in row if t.strip()}
        if all(n in names for n in need):
            return k
    return 0


def _check_cells(name, s: _Structure, file, header_row, excel_rows, data, numbers, problems, notices) -> None:
    """Hidden rows and columns with data, error cells and formulas without a saved value, in the read area."""
    if not excel_rows:
        return
    first, last = excel_rows[0], excel_rows[-1]
    read = set(numbers)
    hidden = [r for r in sorted(s.hidden_rows) if first <= r <= last
              and any(data[r - first][c - 1].strip() for c in read)]
    if hidden:
        shown = ", ".join(map(str, hidden[:8])) + ("" if len(hidden) <= 8 else f" and {len(hidden) - 8} more")
        problems.append(_problem(file, name, hidden[0], None, None, None,
                                 f"visible rows: row(s) {shown} are hidden (or filtered out) but hold data, and data no "
                                 "one can see must not decide a list; unhide them (or clear the filter), or delete them"))
    for c in sorted(read):
        if s.column_hidden(c) and any(r[c - 1].strip() for r in data):
            problems.append(_problem(file, name, header_row, c, None, None,
                                     f"a visible column: column {_letter(c)} is hidden but holds data; unhide or delete it"))
    for (r, c), shown in sorted(s.errors.items()):
        if first <= r <= last and c in read:
            problems.append(_problem(file, name, r, c, None, shown,
                                     "a value, not a formula error: correct the formula or type the value"))
    for r, c in sorted(s.unsaved):
        if first <= r <= last and c in read:
            problems.append(_problem(file, name, r, c, None, None,
                                     "a value: this cell holds a formula whose result was never saved (a "
                                     "program wrote the workbook without calculating it); open it in Excel or "
                                     "WPS and save it, or type the value"))
    saved = sum(1 for r, c in s.formulas if first <= r <= last and c in read and (r, c) not in s.errors)
    if saved:
        notices.append(f"{file} › {name}: {saved} cell(s) hold formulas; the results saved with the workbook were read")


def _fill_merged(name, s: _Structure, file, header_row, excel_rows, data, positions, problems, notices):
    """Merged cells down one column read as the value they show; merged across columns refused."""
    if not excel_rows or not s.merges:
        return data
    first, last = excel_rows[0], excel_rows[-1]
    read = {p + 1 for p in positions}
    filled = 0
    for first_row, first_col, last_row, last_col in s.merges:
        if last_row < first or first_row > last or first_row <= header_row:
            continue
        if not any(first_col <= c <= last_col for c in read):
            continue
        if last_col > first_col:
            problems.append(_problem(file, name, first_row, first_col, None, None,
                                     f"one value per cell: cells {_letter(first_col)}{first_row}:"
                                     f"{_letter(last_col)}{last_row} are merged across columns; unmerge them"))
            continue
        value = data[first_row - first][first_col - 1]
        for r in range(first_row + 1, min(last_row, last) + 1):
            if not data[r - first][first_col - 1].strip():
                data[r - first][first_col - 1] = value
                filled += 1
    if filled:
        notices.append(f"{file} › {name}: {filled} cell(s) of merged ranges read as the value the range shows")
    return data


def _dates(name, file, table, frame, raw_rows, columns, epoch, notices) -> pd.DataFrame:
    """Day numbers in a date column as dates, in the workbook's date system (1900 or 1904)."""
    from openpyxl.utils.datetime import from_excel

    for col in CONTRACT[table]:
        if col.kind != "date" or col.name not in columns:
            continue
        k = columns[col.name]
        converted = 0
        values = frame[col.name].tolist()
        for i, row in enumerate(raw_rows):
            value = row[k] if k < len(row) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 2958466:
                day = from_excel(value, epoch=epoch)
                if isinstance(day, dt.datetime):
                    values[i] = day.strftime("%Y-%m-%d")
                    converted += 1
        if converted:
            system = "1904" if epoch.year == 1904 else "1900"
            notices.append(f"{file} › {name}: column '{col.zh or col.name}': read {converted} day number(s) as dates "
                           f"(the workbook's {system} date system); format the column as dates to see them")
            frame[col.name] = values
    return frame


# ---------------------------------------------------------------------------------------------
# Wide scores and the final shape of the tables


def is_wide_scores(frame: pd.DataFrame) -> bool:
    """Scores with neither an indicator column nor a points column: one column per indicator."""
    return "indicator_id" not in frame.columns and "points" not in frame.columns


def shape_tables(raw: RawDataset) -> RawDataset:
    """Name every column as the contract does; wide scores of a folder's score file as one row per score;
    score rows of sheets without 评分人 (among sheets with one) under their source's final-score rater."""
    from .validate import name_columns

    for table, frame in list(raw.tables.items()):
        if table in CONTRACT:
            named = name_columns(frame, table, raw.display[table], raw.notices)
            raw.headers[table] = {n: str(h).strip() for n, h in zip(named.columns, frame.columns)
                                  if n != str(h).strip()}
            raw.tables[table] = named
    scores = raw.tables.get("scores")
    if scores is None:
        return raw
    if is_wide_scores(scores) and "scores" not in raw.origins:
        lookup = _indicator_lookup(raw.tables.get("indicators"))
        headers = {c: (k + 1, c) for k, c in enumerate(scores.columns)}
        sheet = _Sheet(name="", frame=scores, excel_rows=list(scores.index + 2), headers=headers, header_row=1)
        problems: list[dict] = []
        long, at, _, _ = _melt_sheet(sheet, lookup, raw.display["scores"], problems, raw.notices)
        for problem in problems:  # a file has no sheets and no cells: its header, by name
            problem.update(sheet=None, cell=None)
        raw.problems += problems
        long.index = pd.Index(np.asarray(scores.index)[at] if len(at) else [], dtype=np.int64)
        raw.tables["scores"] = long
        raw.notices.append(f"{raw.display['scores']}: scores in wide form (one column per indicator): "
                           f"{len(long):,} score(s) read")
    _pseudo_raters(raw, raw.tables["scores"])
    return raw


def _indicator_lookup(indicators: pd.DataFrame | None) -> tuple[dict, dict]:
    """Indicator ids by id as written (NFKC) and by exact name, from the raw indicators table."""
    by_id, by_name = {}, {}
    if indicators is not None:
        indicators = indicators.rename(columns=lambda c: column_of_header("indicators", c) or c)
    if indicators is None or "indicator_id" not in indicators:
        return by_id, by_name
    ids = indicators["indicator_id"].astype(str).str.strip()
    for i in ids:
        if i:
            by_id[unicodedata.normalize("NFKC", i)] = i
    if "name" in indicators:
        for i, n in zip(ids, indicators["name"].astype(str).str.strip()):
            if i and n:
                by_name.setdefault(n, set()).add(i)
    return by_id, by_name


#: Columns a wide score sheet may carry for its reader, which are no indicator: a row number, and the
#: unit's name, kind or group beside its id.
_WIDE_LABELS = ("序号", "no.", "no", "#")
_WIDE_LABEL_COLUMNS = ("name", "kind", "group", "size")


def _is_label(header: str) -> bool:
    folded = unicodedata.normalize("NFKC", header).strip().lower()
    return folded in _WIDE_LABELS or column_of_header("units", header) in _WIDE_LABEL_COLUMNS


def _melt_sheet(sheet: _Sheet, lookup, file, problems, notices) -> tuple[pd.DataFrame, list, list, list]:
    """A wide score sheet as one row per filled indicator cell (sheet row by row, then column by column).

    Returns the long frame, each row's position in the sheet's rows, the column number of its
    value cell and the header of that column.
    """
    by_id, by_name = lookup
    frame = sheet.frame
    id_columns = [c for c in _WIDE_ID_COLUMNS if c in frame.columns]
    indicator_of: dict[str, str] = {}
    numbers = {c: k + 1 for k, c in enumerate(frame.columns)}
    labels = []
    for header in (c for c in frame.columns if c not in id_columns):
        number = sheet.wide.get(header, (numbers[header], header))[0]
        key = unicodedata.normalize("NFKC", header).strip()
        named = by_name.get(header.strip(), set())
        if key in by_id:
            indicator_of[header] = by_id[key]
        elif len(named) == 1:
            indicator_of[header] = next(iter(named))
        elif _is_label(header):
            labels.append(header)
        else:
            expected = (f"an indicator id (指标编号): {len(named)} indicators are named so" if named else
                        "an identifying column (单位编号, 评分人, 评价来源, 明查暗访, 轮次编号) or an indicator, "
                        "headed by its 指标编号 or its exact 指标名称 as in the indicators table (指标)")
            problems.append(_problem(file, sheet.name or None, sheet.header_row, number, header, None, expected))
    if labels:
        where = f"{file} › {sheet.name}" if sheet.name else file
        notices.append(f"{where}: column(s) {', '.join(labels)} read as labels for the reader, not as indicators")
    columns = list(indicator_of)
    values = frame[columns].to_numpy(dtype=object) if columns else np.empty((len(frame), 0), dtype=object)
    filled = np.vectorize(lambda v: bool(str(v).strip()), otypes=[bool])(values) if values.size else \
        np.zeros(values.shape, dtype=bool)
    rows, cols = np.nonzero(filled)
    out = {c: frame[c].to_numpy(dtype=object)[rows] for c in id_columns}
    out["indicator_id"] = np.asarray([indicator_of[c] for c in columns], dtype=object)[cols]
    out["points"] = values[rows, cols]
    long = pd.DataFrame(out, columns=id_columns + ["indicator_id", "points"]).astype(str)
    wide_numbers = [sheet.wide.get(c, (numbers[c], c))[0] for c in columns]
    return (long, rows.tolist(), [wide_numbers[c] for c in cols], [columns[c] for c in cols])


def _pseudo_raters(raw: RawDataset, scores: pd.DataFrame) -> None:
    """Rows of sheets without 评分人, among sheets with one, get their source's final-score rater."""
    if "rater_id" not in scores.columns or "source" not in scores.columns:
        return
    blank = scores["rater_id"].str.strip() == ""
    origin = raw.origins.get("scores")
    if not blank.any() or origin is None:
        return
    without = {sheet for sheet, headers in origin.headers.items() if "rater_id" not in headers}
    if not without:
        return
    from_sheet = np.isin(np.asarray(origin.sheets, dtype=object), list(without))
    fill = blank.to_numpy() & from_sheet
    if fill.any():
        sources = scores.loc[fill, "source"].map(lambda v: final_score_rater(choice_value("scores", "source", v) or v))
        scores.loc[fill, "rater_id"] = sources
        raw.final_rows = fill
        raw.notices.append(f"{raw.display['scores']}: sheet(s) {', '.join(sorted(without))} have no 评分人 column: "
                           "read as final scores, one per unit, indicator and source")


# ---------------------------------------------------------------------------------------------
# Naming cells in messages


def _zh(table: str, column: str) -> str:
    return next((c.zh for c in CONTRACT[table] if c.name == column), "") or column


def locate_problems(cases: pd.DataFrame, raw: RawDataset) -> pd.DataFrame:
    """Rewrite the validator's cases (file › table, row label, contract column) as the user sees them:
    the workbook, its sheet, the Excel cell and the header as written."""
    if cases.empty:
        return cases
    by_display = {display: table for table, display in raw.display.items()}
    out = cases.copy()
    for column in ("sheet", "cell"):
        if column not in out:
            out[column] = None
    out = out.astype({"sheet": object, "cell": object, "column": object, "file": object})
    table_of_case = out["file"].map(by_display)
    for table, written in raw.headers.items():  # a file of a folder: the header as written
        if written and table not in raw.origins:
            mine = (table_of_case == table).to_numpy()
            out.loc[mine, "column"] = out.loc[mine, "column"].map(lambda c, w=written: w.get(c, c))
    located = np.flatnonzero(table_of_case.isin(list(raw.origins)).to_numpy())
    for k in located:
        case = out.iloc[k]
        table = table_of_case.iloc[k]
        origin = raw.origins[table]
        column = None if case.column is None or (isinstance(case.column, float) and np.isnan(case.column)) \
            else str(case.column)
        label = None if pd.isna(case.row) else int(case.row) - 2
        out.at[k, "file"] = origin.file
        if label is None or label < 0 or label >= len(origin.rows):
            sheet = origin.first_sheet()
            out.at[k, "sheet"] = sheet or raw.display[table].split(" › ", 1)[-1]
            if sheet is not None:  # the header's row; for "no data rows", the row below it
                out.at[k, "row"] = float(origin.header_rows[sheet] + (label is not None and label >= 0))
                if column is not None and column in origin.headers.get(sheet, {}):
                    number, header = origin.headers[sheet][column]
                    out.at[k, "cell"], out.at[k, "column"] = f"{_letter(number)}{origin.header_rows[sheet]}", header
            continue
        sheet, row = origin.sheets[label], origin.rows[label]
        out.at[k, "sheet"], out.at[k, "row"] = sheet, float(row)
        number, header = 0, column
        value_column = origin.value_columns[label] if origin.value_columns else 0
        if value_column and column in ("points", "indicator_id"):
            header = origin.value_headers[label]
            number = value_column
            if column == "indicator_id":
                row = origin.header_rows[sheet]
                out.at[k, "row"] = float(row)
        elif column is not None and column in origin.headers.get(sheet, {}):
            number, header = origin.headers[sheet][column]
        elif column is not None and column in origin.from_name.get(sheet, ()):
            header = f"{_zh(table, column)} (sheet name)"
        elif column is not None and column in {c.name for c in CONTRACT[table]}:
            header = next(c.zh for c in CONTRACT[table] if c.name == column) or column
        out.at[k, "column"] = header
        out.at[k, "cell"] = f"{_letter(number)}{row}" if number else None
        if isinstance(case.expected, str) and "row " in case.expected:  # "conflicts with row 7": another row
            out.at[k, "expected"] = _ROW_MENTION.sub(lambda m, o=origin: _row_of(o, int(m[1]) - 2, m[0]),
                                                     case.expected)
    return out


_ROW_MENTION = re.compile(r"\brow (\d+)\b")


def _row_of(origin: _Origin, label: int, as_written: str) -> str:
    """A row the validator names by its label, as the workbook shows it: ``评分-C2026Q1 row 5``."""
    if not 0 <= label < len(origin.rows):
        return as_written
    return f"{origin.sheets[label]} row {origin.rows[label]}"


def workbook_error(raw: RawDataset, validation: ValidationError | None) -> ValidationError | None:
    """The workbook's own problems and the contract's, located, as one error (None: no problem)."""
    frames = []
    own = pd.DataFrame(raw.problems)
    if raw.problems:
        frames.append(own)
    if validation is not None:
        located = locate_problems(validation.failure_cases, raw)
        if raw.problems and "cell" in located:
            # a cell the workbook's own check names already (a formula error) is named once
            named = {(s, c) for s, c in zip(own["sheet"], own["cell"]) if isinstance(c, str)}
            again = [(s, c) in named for s, c in zip(located["sheet"], located["cell"])]
            located = located[~np.asarray(again, dtype=bool)]
        frames.append(located)
    if not frames:
        return None
    cases = pd.concat(frames, ignore_index=True)
    # the cells of one wide row give several scores: a problem of the row is told once
    keys = [c for c in ("file", "sheet", "cell", "row", "column", "expected") if c in cases]
    cases = cases[~cases[keys].astype(str).duplicated()].reset_index(drop=True)
    return ValidationError(cases)
