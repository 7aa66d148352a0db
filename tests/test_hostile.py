"""Hostile input, end to end: every bad file or parameter exits 2 with one clear message.

Each case builds a dataset (the tiny valid one of conftest, broken in one way) and
a params file, then runs the real entry point ``honorcalc.cli.main(["run", ...])``.
A refused case must exit 2, print ONE message on stderr that names the file and
the row and column (or the parameter), print no traceback, and write nothing
under the out folder. The cases complement tests/test_validation.py (which checks
`load_dataset` directly) and tests/test_cli.py; neither is repeated here.

Quirks with one obvious meaning are normalised instead: for those the run must
succeed and the notice reach `Dataset.notices` (checked fast through
`load_dataset`) and the run's manifest (checked through the CLI, which executes
the report notebook: marked slow).

Decisions these cases pin down (see also honorcalc/io.py and validation.py):

- size: one table file may be at most ``HONORCALC_MAX_FILE_MB`` megabytes
  (default 1024), unpacked size included for XLSX and Parquet;
- dates: an all-digit date (``46112``) in a CSV, or in an XLSX number cell, is an
  Excel serial day number whose date depends on the workbook's 1900 or 1904 date
  system: refused, asking for YYYY-MM-DD; an XLSX date cell is read as its date;
- ids are compared exactly after removing surrounding spaces: look-alikes that
  differ only by case or full-width characters are refused within a table, and
  a reference that matches only up to case or width is an unknown id with a
  "did you mean";
- header: required columns missing from row 1 but present in a later row (a
  title row above the header) are refused with "the header row is not where
  expected"; a header row repeated inside the data is refused, naming the row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import openpyxl
import pandas as pd
import pytest

import honorcalc.cli
from honorcalc.data.contract import CONTRACT
from honorcalc.data.read import load_dataset
from honorcalc.messages import localize_error

from .chinese import assert_chinese
from .conftest import TINY, drop_column, run_cli, set_cell, tiny_tables, write_tables

PARAMS = "dataset: data\nround: C2026Q1\n"


def data_dir(tmp: Path) -> Path:
    return tmp / "data"


def dataset(edit: Callable | None = None, fmt: str = "csv", encoding: str = "utf-8"):
    """A maker: the tiny dataset, edited, written in one format."""
    def make(tmp: Path) -> None:
        tables = tiny_tables()
        if edit:
            edit(tables)
        write_tables(data_dir(tmp), tables, fmt=fmt, encoding=encoding)
    return make


def then(*makers):
    def make(tmp: Path) -> None:
        for m in makers:
            m(tmp)
    return make


def append_rows(table, *rows):
    def edit(tables):
        frame = tables[table]
        tables[table] = pd.concat([frame, pd.DataFrame(list(rows), columns=frame.columns)],
                                  ignore_index=True)
    return edit


def write_bytes(name: str, content: bytes | Callable[[Path], bytes]):
    """A maker: the tiny dataset with one file replaced by these bytes."""
    def make(tmp: Path) -> None:
        if not data_dir(tmp).exists():
            dataset()(tmp)
        for old in data_dir(tmp).glob(f"{Path(name).stem}.*"):
            old.unlink()
        data = content(tmp) if callable(content) else content
        (data_dir(tmp) / name).write_bytes(data)
    return make


def csv_text(table: str, edit: Callable | None = None, **kw) -> str:
    tables = tiny_tables()
    if edit:
        edit(tables)
    return tables[table].to_csv(index=False, lineterminator="\n", **kw)


def xlsx_bytes(rows: list[list], *, merge: str | None = None, sheets: dict | None = None) -> Callable:
    def build(tmp: Path) -> bytes:
        wb = openpyxl.Workbook()
        ws = wb.active
        for row in rows:
            ws.append(row)
        if merge:
            ws.merge_cells(merge)
        for name, extra in (sheets or {}).items():
            other = wb.create_sheet(name)
            for row in extra:
                other.append(row)
        path = tmp / "tmp.xlsx"
        wb.save(path)
        return path.read_bytes()
    return build


def with_lines(table: str, edit: Callable | None = None, *, insert: dict[int, str] | None = None,
               suffix: str = "", header_suffix: str = "") -> bytes:
    """The table's CSV with text added to each line, or lines inserted before 0-based line numbers."""
    lines = csv_text(table, edit).splitlines()
    lines = [lines[0] + header_suffix] + [line + suffix for line in lines[1:]]
    for at, line in sorted((insert or {}).items(), reverse=True):
        lines.insert(at, line)
    return ("\n".join(lines) + "\n").encode()


def table_rows(table: str) -> list[list]:
    frame = tiny_tables()[table]
    return [list(frame.columns)] + frame.to_numpy().tolist()


@dataclass(frozen=True)
class Refused:
    make: Callable[[Path], None]
    expect: tuple[str, ...]
    params: str | None = PARAMS
    extra: tuple[str, ...] = ()
    env: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- contract, every table

#: Required columns already dropped, and required cells already blanked, in test_validation.py.
_DROPPED = {("units", "group"), ("indicators", "max_points"), ("rounds", "date"),
            ("scores", "rater_id"), ("deductions", "role"), ("surveys", "satisfied")}
_BLANKED = {("units", "name"), ("scores", "unit_id"), ("indicators", "category")}

REFUSED: dict[str, Refused] = {}
for _table, _cols in ((t, c) for t, c in CONTRACT.items() if t in TINY):
    for _col in _cols:
        if not _col.required:
            continue
        if (_table, _col.name) not in _DROPPED:
            REFUSED[f"{_table} lacks column {_col.name}"] = Refused(
                dataset(drop_column(_table, _col.name)),
                (f"{_table}.csv:1: column '{_col.name}'", "header row"))
        if (_table, _col.name) not in _BLANKED:
            REFUSED[f"{_table}.{_col.name} blank"] = Refused(
                dataset(set_cell(_table, 0, _col.name, "")),
                (f"{_table}.csv:2: column '{_col.name}': expected a value",))

REFUSED.update({
    # ranges and numbers not covered by test_validation.py
    "negative unit size": Refused(dataset(set_cell("units", 0, "size", "-5")),
                                  ("units.csv:2: column 'size': expected a number ≥ 0, got -5",)),
    "negative max_points": Refused(dataset(set_cell("indicators", 1, "max_points", "-40")),
                                   ("indicators.csv:3: column 'max_points': expected a number > 0",)),
    "max_points in Chinese numerals": Refused(dataset(set_cell("indicators", 0, "max_points", "六十")),
                                              ("indicators.csv:2: column 'max_points': expected a number, got '六十'",)),
    "negative deduction": Refused(dataset(set_cell("deductions", 1, "points", "-1")),
                                  ("deductions.csv:3: column 'points': expected a number > 0",)),
    "缺 in surveys": Refused(dataset(set_cell("surveys", 2, "satisfied", "缺")),
                            ("surveys.csv:4: column 'satisfied': expected a number, got '缺'",)),
    "respondents in words": Refused(dataset(set_cell("surveys", 0, "respondents", "about 100")),
                                    ("surveys.csv:2: column 'respondents': expected a number",)),
    "number overflowing to infinity": Refused(dataset(set_cell("scores", 0, "points", "1e400")),
                                              ("scores.csv:2: column 'points': expected a finite number",)),
    "Arabic-Indic digits": Refused(dataset(set_cell("scores", 1, "points", "٣٨")),
                                   ("scores.csv:3: column 'points': expected a number, got '٣٨'",)),
    "decimal comma (quoted)": Refused(dataset(set_cell("scores", 4, "points", "58,5")),
                                      ("scores.csv:6: column 'points': expected a number, got '58,5'",)),
    "unknown round in deductions": Refused(dataset(set_cell("deductions", 1, "round_id", "C2025Q4")),
                                           ("deductions.csv:3: column 'round_id'", "listed in rounds.csv")),
    "unknown unit in surveys": Refused(dataset(set_cell("surveys", 2, "unit_id", "003")),
                                       ("surveys.csv:4: column 'unit_id'", "listed in units.csv")),
    "date without zero padding": Refused(dataset(set_cell("rounds", 1, "date", "2026-1-10")),
                                         ("rounds.csv:3: column 'date': expected an ISO date YYYY-MM-DD",)),
    # dates as Excel serial numbers: 1900 or 1904 date system? refused
    "Excel serial date in CSV": Refused(dataset(set_cell("rounds", 0, "date", "46112")),
                                        ("rounds.csv:2: column 'date'", "Excel serial day number",
                                         "YYYY-MM-DD", "got '46112'")),
    # ids: compared exactly; look-alikes refused
    "unit ids differing only by case": Refused(
        dataset(append_rows("units", ["na", "某单位", "industry", "市直部门", ""])),
        ("units.csv:6: column 'unit_id'", "differs from 'NA' (row 5)", "case or full-width")),
    "unit ids differing only by full width": Refused(
        dataset(append_rows("units", ["００２", "西城区（重复）", "territorial", "县区", ""])),
        ("units.csv:6: column 'unit_id'", "differs from '002' (row 4)")),
    "full-width unit id in scores": Refused(dataset(set_cell("scores", 0, "unit_id", "００１")),
                                           ("scores.csv:2: column 'unit_id'", "did you mean '001'?")),
    "lower-case round id in scores": Refused(dataset(set_cell("scores", 3, "round_id", "c2026q1")),
                                             ("scores.csv:5: column 'round_id'", "did you mean 'C2026Q1'?")),
    "leading zero dropped in deductions": Refused(dataset(set_cell("deductions", 0, "unit_id", "01")),
                                                  ("deductions.csv:2: column 'unit_id'", "listed in units.csv")),
    # real-world files
    "title row above the CSV header": Refused(
        write_bytes("scores.csv", ("某市2026年第一季度文明城市测评得分表,,,,,,\n"
                                   + csv_text("scores")).encode()),
        ("scores.csv:1:", "header row is not where expected", "row 2")),
    "blank first row": Refused(
        write_bytes("rounds.csv", ("\n" + csv_text("rounds")).encode()),
        ("rounds.csv:1:", "header row is not where expected")),
    "semicolon-separated CSV": Refused(
        write_bytes("units.csv", csv_text("units", sep=";").encode()),
        ("units.csv:1:", "delimiter looks wrong", "semicolons")),
    "tab-separated file named .csv": Refused(
        write_bytes("surveys.csv", csv_text("surveys", sep="\t").encode()),
        ("surveys.csv:1:", "delimiter looks wrong", "tabs")),
    "ragged row (unquoted decimal comma)": Refused(
        write_bytes("scores.csv", csv_text("scores").replace(",58.5,", ",58,5,").encode()),
        ("scores.csv:6:", "has 8 fields but the header has 7")),
    "quote that never closes": Refused(
        write_bytes("units.csv", csv_text("units").replace("西城区", '"西城区').encode()),
        ("units.csv:4:", "never closes")),
    "header repeated inside the data": Refused(
        write_bytes("scores.csv", (csv_text("scores") * 2).encode()),
        ("scores.csv:14: column 'round_id'", "header row again")),
    "column named twice": Refused(
        write_bytes("surveys.csv", with_lines("surveys", header_suffix=",satisfied", suffix=",40")),
        ("surveys.csv:1: column 'satisfied'", "twice")),
    "UTF-8 and GBK lines in one file": Refused(
        write_bytes("units.csv", lambda t: b"".join(
            line.encode("utf-8" if k < 3 else "gbk")
            for k, line in enumerate(csv_text("units").splitlines(keepends=True)))),
        ("units.csv:4:", "mixes two text encodings", "line 2 is UTF-8")),
    "GBK and UTF-8 lines in one file": Refused(
        write_bytes("units.csv", lambda t: b"".join(
            line.encode("gbk" if k < 3 else "utf-8")
            for k, line in enumerate(csv_text("units").splitlines(keepends=True)))),
        ("units.csv:2:", "mixes two text encodings")),
    "UTF-16 CSV": Refused(write_bytes("rounds.csv", csv_text("rounds").encode("utf-16")),
                          ("rounds.csv", "UTF-16")),
    "XLSX saved as .csv": Refused(
        write_bytes("units.csv", xlsx_bytes(table_rows("units"))),
        ("units.csv", "is an XLSX workbook", "rename it units.xlsx")),
    "Parquet saved as .csv": Refused(
        write_bytes("surveys.csv", lambda t: (tiny_tables()["surveys"].to_parquet(t / "s.parquet"),
                                              (t / "s.parquet").read_bytes())[1]),
        ("surveys.csv", "is a Parquet file", "rename it surveys.parquet")),
    "CSV text saved as .xlsx": Refused(write_bytes("units.xlsx", csv_text("units").encode()),
                                       ("units.xlsx", "is not an XLSX workbook", "name it units.csv")),
    "Excel 97-2003 workbook": Refused(write_bytes("units.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)),
                                      ("required table 'units' is missing", "units.xls", "save it from Excel as .xlsx")),
    "damaged Parquet": Refused(write_bytes("scores.parquet", b"PAR1" + os.urandom(200)),
                               ("scores.parquet", "cannot be read as Parquet")),
    "empty Parquet file": Refused(write_bytes("indicators.parquet", b""),
                                  ("indicators.parquet", "cannot be read as Parquet")),
    "XLSX without any cell": Refused(write_bytes("rounds.xlsx", xlsx_bytes([])),
                                     ("rounds.xlsx", "is empty")),
    "CSV of blank lines": Refused(write_bytes("units.csv", b"\r\n\r\n  \r\n"), ("units.csv", "is empty")),
    "header-only units": Refused(write_bytes("units.csv", b"unit_id,name,kind,group,size\n"),
                                 ("units.csv:2:", "has no units")),
    "header-only rounds in XLSX": Refused(write_bytes("rounds.xlsx", xlsx_bytes([["round_id", "kind", "topic", "date"]])),
                                          ("rounds.xlsx › Sheet:2:", "has no rounds")),
    "file above the size limit": Refused(
        write_bytes("scores.csv", csv_text("scores").encode() + b"".join(f"C2026Q1,001,I01,X{k:05d},field,30,open\n".encode() for k in range(3000))),
        ("scores.csv", "above the limit of 0.05 MB", "HONORCALC_MAX_FILE_MB"),
        env={"HONORCALC_MAX_FILE_MB": "0.05"}),
    "XLSX that unpacks above the size limit": Refused(
        write_bytes("scores.xlsx", xlsx_bytes(table_rows("scores")
                                              + [["C2026Q1", "001", "I01", f"X{k:05d}", "field", 30, "open"]
                                                 for k in range(2000)])),
        ("scores.xlsx", "unpacks to", "above the limit of 0.08 MB"),
        env={"HONORCALC_MAX_FILE_MB": "0.08"}),
    "size limit that is not a number": Refused(dataset(), ("HONORCALC_MAX_FILE_MB", "'lots'"),
                                               env={"HONORCALC_MAX_FILE_MB": "lots"}),
    "a huge cell": Refused(dataset(set_cell("scores", 2, "points", "缺" * 100_000)),
                           ("scores.csv:4: column 'points': expected a number", "(100000 characters)")),
    "blank line keeps row numbers": Refused(
        write_bytes("scores.csv", with_lines("scores", set_cell("scores", 5, "points", "缺"), insert={2: ""})),
        ("scores.csv:8: column 'points'", "got '缺'")),
    # paths
    "dataset path is a file": Refused(lambda t: (t / "data").write_text("not a folder"),
                                      ("expected a dataset folder or one workbook (.xlsx)",)),
    "empty dataset directory": Refused(lambda t: (t / "data").mkdir(),
                                       ("required table 'units' is missing",)),
    "table file is a broken link": Refused(
        then(dataset(), lambda t: ((data_dir(t) / "rounds.csv").unlink(),
                                   (data_dir(t) / "rounds.csv").symlink_to(t / "gone.csv"))),
        ("rounds.csv", "file not found")),
    "params file is a directory": Refused(then(dataset(), lambda t: (t / "p.yaml").mkdir()),
                                          ("p.yaml", "is a directory"), params=None),
    # parameters
    "section given as a number": Refused(dataset(), ("parameter 'weights'",),
                                         params=PARAMS + "weights: 0.5\n"),
    "negative seed": Refused(dataset(), ("parameter 'seed'", "-1"), params=PARAMS + "seed: -1\n"),
    "round given as a list": Refused(dataset(), ("parameter 'round'",),
                                     params="dataset: data\nround: [C2026Q1, S2026-01a]\n"),
    "size as text": Refused(dataset(), ("parameter 'lists.comprehensive_size'", "'ten'"),
                            params=PARAMS + "lists:\n  comprehensive_size: ten\n"),
    "report kind misspelt": Refused(dataset(), ("parameter 'report'", "'round' or 'annual'", "'anual'"),
                                    params=PARAMS + "report: anual\n"),
    "annual report of a round not in the data": Refused(
        dataset(), ("parameter 'round'", "'C2027Q4'", "did you mean"),
        params="dataset: data\nround: C2027Q4\nreport: annual\n"),
    "unknown nested key": Refused(dataset(), ("parameter 'lists.red_minimum'", "did you mean 'lists.red_min'"),
                                  params=PARAMS + "lists:\n  red_minimum: 90\n"),
    "red threshold below black": Refused(dataset(), ("parameter 'lists'", "red_min"),
                                         params=PARAMS + "lists: {red_min: 60, black_max: 70}\n"),
    "round id differing by case": Refused(dataset(), ("parameter 'round'", "did you mean 'C2026Q1'"),
                                          params="dataset: data\nround: c2026q1\n"),
    "binary YAML tag": Refused(dataset(), ("parameter 'city'", "valid string"),
                               params=PARAMS + "city: !!binary 5Lic5Z+O\n"),
    "custom YAML tag": Refused(dataset(), ("p.yaml:3:", "invalid YAML", "!include"),
                               params=PARAMS + "weights: !include other.yaml\n"),
    "python/name YAML tag": Refused(dataset(), ("p.yaml:3:", "invalid YAML"),
                                    params=PARAMS + "city: !!python/name:os.system\n"),
    "duplicate key": Refused(dataset(), ("p.yaml:3:", "duplicate key 'round'"),
                             params=PARAMS + "round: S2026-01a\n"),
    "params not a mapping": Refused(dataset(), ("expected a mapping of parameters",),
                                    params="- dataset: data\n- round: C2026Q1\n"),
    "params in GBK": Refused(then(dataset(), lambda t: (t / "p.yaml").write_bytes(
        (PARAMS + "city: 测试市\n").encode("gbk"))), ("p.yaml", "not UTF-8"), params=None),
    "tab-indented YAML": Refused(dataset(), ("p.yaml:", "invalid YAML"),
                                 params=PARAMS + "lists:\n\tred_min: 90\n"),
})


def test_the_catalogue_is_large_enough():
    assert len(REFUSED) >= 40


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_hostile_input_is_refused_with_one_clear_message(tmp_path, capsys, monkeypatch, name):
    case = REFUSED[name]
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    case.make(tmp_path)
    params = tmp_path / "p.yaml"
    if case.params is not None:
        params.write_text(case.params, encoding="utf-8")
    out_dir = tmp_path / "reports"
    shown = []  # the error the command line says, to say it in English too

    def recording(err, lang):
        shown.append(err)
        return localize_error(err, lang)

    monkeypatch.setattr(honorcalc.cli, "localize_error", recording)
    code, out, err = run_cli(["run", params, "--out", out_dir, *case.extra], capsys, lang="zh")
    assert code == 2, err
    assert "Traceback" not in err and len(shown) == 1
    errors = [k for k, line in enumerate(err.splitlines()) if line.startswith("错误：")]
    assert len(errors) == 1, err
    assert out == ""
    english = localize_error(shown[0], "en")  # what --lang en prints
    for words in case.expect:
        assert words in english, f"{words!r} not in:\n{english}"
    assert len(err) < 8000, "one message, not a dump"
    assert not out_dir.exists() or not any(out_dir.rglob("*"))
    # said in Chinese, by default: every English word translated, every place and value kept
    message = "\n".join(err.splitlines()[errors[0]:])
    assert message == localize_error(shown[0], "zh")
    assert_chinese(english, message)


# --------------------------------------------------------------------------- normalised quirks


@dataclass(frozen=True)
class Normalised:
    make: Callable[[Path], None]
    notices: tuple[str, ...] = ()
    check: Callable | None = None
    params: str = PARAMS


def _nan_like(tables):
    words = ["NA", "N/A", "null", "-"]
    old = tables["units"]["unit_id"].tolist()
    new = dict(zip(old, words))
    tables["units"]["unit_id"] = tables["units"]["unit_id"].map(new)
    tables["units"]["name"] = ["无", "None", "nan", "NULL"]
    for table in ("scores", "deductions", "surveys"):
        tables[table]["unit_id"] = tables[table]["unit_id"].map(new)


def _nan_like_loaded(ds):
    assert ds.units["unit_id"].tolist() == ["NA", "N/A", "null", "-"]
    assert ds.units["name"].tolist()[:3] == ["无", "None", "nan"]
    assert set(ds.scores["unit_id"]) == {"NA", "N/A", "null", "-"}


def _pasted_twice(tables):
    tables["units"] = pd.concat([tables["units"]] * 2, ignore_index=True)
    tables["surveys"] = pd.concat([tables["surveys"], tables["surveys"].iloc[:2]], ignore_index=True)


def _spaces(tables):
    tables["scores"]["unit_id"] = tables["scores"]["unit_id"] + "  "
    tables["units"].loc[0, "unit_id"] = " 001"


def _full_width(tables):
    tables["scores"].loc[0:3, "points"] = ["５５", "３８", "４０", "３０"]
    tables["surveys"].loc[0, "respondents"] = "１００"
    tables["scores"].loc[4, "source"] = "ｆｉｅｌｄ"


def _leading_zeros(tables):
    tables["units"].loc[3, "unit_id"] = "0001"
    for table in ("scores", "surveys"):
        tables[table]["unit_id"] = tables[table]["unit_id"].replace("NA", "0001")


def _leading_zeros_loaded(ds):
    assert sorted(ds.units["unit_id"]) == ["0001", "001", "002", "1"]
    assert ds.scores.groupby("unit_id").size().to_dict() == {"0001": 3, "001": 3, "002": 3, "1": 3}


def _gbk_and_utf8(tmp):
    write_tables(data_dir(tmp), {k: v for k, v in tiny_tables().items() if k != "scores"}, encoding="gbk")
    write_tables(data_dir(tmp), {"scores": tiny_tables()["scores"]}, encoding="utf-8")


def _several_sheets_one_named(tmp):
    write_tables(data_dir(tmp), tiny_tables())
    (data_dir(tmp) / "scores.csv").unlink()
    with pd.ExcelWriter(data_dir(tmp) / "scores.xlsx") as writer:
        pd.DataFrame({"说明": ["本表由测评办导出"]}).to_excel(writer, sheet_name="说明", index=False)
        tiny_tables()["scores"].to_excel(writer, sheet_name="Scores", index=False)


def _empty_extra_sheets(tmp):
    write_tables(data_dir(tmp), tiny_tables())
    (data_dir(tmp) / "units.csv").unlink()
    (data_dir(tmp) / "units.xlsx").write_bytes(
        xlsx_bytes(table_rows("units"), sheets={"Sheet2": [], "Sheet3": [[None, None]]})(tmp))


def _date_cells(tmp):
    write_tables(data_dir(tmp), tiny_tables())
    (data_dir(tmp) / "rounds.csv").unlink()
    rounds = tiny_tables()["rounds"]
    rounds["date"] = pd.to_datetime(rounds["date"])
    rounds.to_excel(data_dir(tmp) / "rounds.xlsx", index=False)


def _parquet_typed(tmp):
    tables = tiny_tables()
    tables["scores"]["points"] = tables["scores"]["points"].astype(float)
    tables["surveys"][["respondents", "satisfied"]] = tables["surveys"][["respondents", "satisfied"]].astype(int)
    tables["rounds"]["date"] = pd.to_datetime(tables["rounds"]["date"]).dt.date
    write_tables(data_dir(tmp), tables, fmt="parquet")


def _blank_rows(tmp):
    write_tables(data_dir(tmp), tiny_tables())
    path = data_dir(tmp) / "scores.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:5] + ["\n", ",,,,,,\n"] + lines[5:] + [",,,,,,\n"]), encoding="utf-8")


def _column_case(tables):
    tables["units"] = tables["units"].rename(columns={"unit_id": "Unit_ID", "kind": "KIND"})


def _crlf_bom(tmp):
    write_tables(data_dir(tmp), tiny_tables())
    for path in data_dir(tmp).glob("*.csv"):
        text = path.read_text(encoding="utf-8")
        path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))


NORMALISED = {
    "GBK dataset": Normalised(dataset(encoding="gbk"),
                              check=lambda ds: ds.formats["units"]["encoding"] == "gb18030"),
    "one file GBK, the others UTF-8": Normalised(
        _gbk_and_utf8, check=lambda ds: {ds.formats[t]["encoding"] for t in ("units", "scores")}
        == {"gb18030", "utf-8"}),
    "full-width digits": Normalised(dataset(_full_width),
                                    ("scores.csv: column 'points': read 4 full-width number(s)",
                                     "surveys.csv: column 'respondents': read 1 full-width",
                                     "'ｆｉｅｌｄ' as 'field'"),
                                    check=lambda ds: ds.scores["points"].iloc[0] == 55),
    "trailing spaces in ids": Normalised(dataset(_spaces), ("scores.csv: removed surrounding spaces from 12",
                                                            "units.csv: removed surrounding spaces from 1"),
                                         check=lambda ds: ds.units["unit_id"].iloc[0] == "001"),
    "sheet pasted twice": Normalised(dataset(_pasted_twice),
                                     ("units.csv: 4 exact duplicate row(s) counted once (rows 6, 7, 8, 9)",
                                      "surveys.csv: 2 exact duplicate row(s)"),
                                     check=lambda ds: len(ds.units) == 4 and len(ds.surveys) == 4),
    "NaN-like ids and names in CSV": Normalised(dataset(_nan_like), check=_nan_like_loaded),
    "NaN-like ids and names in XLSX": Normalised(dataset(_nan_like, fmt="xlsx"), check=_nan_like_loaded),
    "NaN-like ids and names in Parquet": Normalised(dataset(_nan_like, fmt="parquet"), check=_nan_like_loaded),
    "ids with leading zeros": Normalised(dataset(_leading_zeros), check=_leading_zeros_loaded),
    "BOM and CRLF": Normalised(_crlf_bom, check=lambda ds: ds.formats["units"]["encoding"] == "utf-8-sig"
                               and ds.units["unit_id"].tolist() == ["001", "1", "002", "NA"]),
    "several sheets, one named like the table": Normalised(_several_sheets_one_named,
                                                         check=lambda ds: len(ds.scores) == 12),
    "empty extra sheets": Normalised(_empty_extra_sheets, check=lambda ds: len(ds.units) == 4),
    # a workbook knows its date system (1900 or 1904): its day numbers are dates, read with a notice
    "Excel serial date in an XLSX number cell": Normalised(
        write_bytes("rounds.xlsx", xlsx_bytes([["round_id", "kind", "topic", "date"],
                                               ["C2026Q1", "comprehensive", None, 46112],
                                               ["S2026-01a", "special", "网申工作", 46032]])),
        ("rounds.xlsx › Sheet: column '测评日期': read 2 day number(s) as dates (the workbook's 1900",),
        check=lambda ds: [str(d.date()) for d in ds.rounds["date"]] == ["2026-03-31", "2026-01-10"]),
    "merged title cell above the XLSX header": Normalised(
        write_bytes("units.xlsx", xlsx_bytes([["2026年测评单位名单"]] + table_rows("units"), merge="A1:E1")),
        ("units.xlsx › Sheet: row 1 above the header read as a title and skipped",)),
    "XLSX date cells": Normalised(_date_cells, check=lambda ds: str(ds.rounds["date"].iloc[0].date()) == "2026-03-31"),
    "typed Parquet columns": Normalised(_parquet_typed, check=lambda ds: ds.scores["points"].iloc[4] == 58.5
                                        and ds.surveys["respondents"].iloc[0] == 100),
    "blank rows": Normalised(_blank_rows, ("scores.csv: ignored 3 blank row(s) (rows 6, 7, 16)",),
                             check=lambda ds: len(ds.scores) == 12 and ds.scores.index[4] == 6),
    "column names in another case": Normalised(dataset(_column_case),
                                               ("units.csv: read column name(s) 'Unit_ID' as 'unit_id', "
                                                "'KIND' as 'kind'",)),
    "YAML anchors and aliases": Normalised(
        dataset(), params=PARAMS + textwrap.dedent("""\
            weights: {field: &share 0.25, daily: *share, feedback: *share, leader: *share, public: 0.0}
            lists: &lists {red_min: 92, black_max: 68}
        """)),
}


@pytest.mark.parametrize("name", sorted(NORMALISED))
def test_normalised_quirk_loads_with_its_notice(tmp_path, name):
    case = NORMALISED[name]
    case.make(tmp_path)
    ds = load_dataset(data_dir(tmp_path))
    for words in case.notices:
        assert any(words in notice for notice in ds.notices), (words, ds.notices)
    if not case.notices:
        assert ds.notices == (), ds.notices
    if case.check:
        assert case.check(ds) in (None, True)


def test_yaml_anchors_and_aliases_are_resolved(tmp_path):
    from honorcalc.params import load_params

    path = tmp_path / "p.yaml"
    path.write_text(PARAMS + textwrap.dedent("""\
        weights: {field: &share 0.25, daily: *share, feedback: *share, leader: *share, public: 0.0}
        lists: {red_min: &high 92, black_max: 68}
        veto: {prerequisite_min: *high}
    """), encoding="utf-8")
    params = load_params(path)
    assert params.weights.daily == params.weights.leader == 0.25
    assert params.veto.prerequisite_min == params.lists.red_min == 92


# Every quirk is checked on loading above; these two also go through a whole run (each
# executes the notebook, so the rest would only repeat the same path at ten seconds apiece).
END_TO_END = ("GBK dataset", "full-width digits")


@pytest.mark.slow
@pytest.mark.parametrize("name", END_TO_END)
def test_normalised_quirk_runs_and_reaches_the_manifest(tmp_path, capsys, monkeypatch, name):
    case = NORMALISED[name]
    monkeypatch.chdir(tmp_path)
    case.make(tmp_path)
    params = tmp_path / "p.yaml"
    params.write_text(case.params, encoding="utf-8")
    out_dir = tmp_path / "reports"
    code, out, err = run_cli(["run", params, "--out", out_dir], capsys)
    assert code == 0, err
    manifest = json.loads(next(out_dir.rglob("manifest.json")).read_text(encoding="utf-8"))
    for words in case.notices:
        assert any(words in notice for notice in manifest["notices"]), manifest["notices"]


# --------------------------------------------------------------------------- alias bomb and scale

_BOMB = PARAMS + "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip([None, *"abcdefgh"], "abcdefghi")
)


def test_billion_laughs_is_refused_quickly(tmp_path):
    """Nine levels of nine aliases (9**9 strings) are refused before anything expands them.

    Run in a child process with a memory cap and a timeout, so that a regression
    cannot take the machine with it.
    """
    write_tables(data_dir(tmp_path), tiny_tables())
    (tmp_path / "p.yaml").write_text(_BOMB, encoding="utf-8")
    script = textwrap.dedent(f"""\
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from honorcalc.cli import main
        main(["--lang", "zh", "run", {str(tmp_path / "p.yaml")!r}, "--out", {str(tmp_path / "reports")!r}])
    """)
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("the alias bomb was not refused within 10 s")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("错误：") and "别名" in done.stderr, done.stderr
    assert not (tmp_path / "reports").exists()


@pytest.mark.slow
def test_a_200_mb_scores_file_is_read_whole_and_its_last_row_named(tmp_path, capsys, monkeypatch):
    """Five million valid score rows (2,000 units × 2 indicators × 1,250 raters), then one
    bad cell: refused, naming row 5,000,002. Reading and checking take seconds, not minutes."""
    monkeypatch.chdir(tmp_path)
    tables = tiny_tables()
    n_units, n_raters = 2000, 1250
    unit_ids = [f"U{k:04d}" for k in range(n_units)]
    tables["units"] = pd.DataFrame({"unit_id": unit_ids, "name": [f"单位{u}" for u in unit_ids],
                                    "kind": "territorial", "group": "社区", "size": ""})
    del tables["scores"], tables["deductions"], tables["surveys"]
    write_tables(data_dir(tmp_path), tables)
    # one unit's rows as a template; each unit repeats it with its own id
    r = np.arange(n_raters)
    template = "".join(
        f"C2026Q1,UNIT,I0{i},R{k:04d},field,{(k * 7 + i) % 41},{'open' if k % 3 else 'covert'}\n"
        for k in r for i in (1, 2)
    ).encode()
    with open(data_dir(tmp_path) / "scores.csv", "wb") as handle:
        handle.write(b"round_id,unit_id,indicator_id,rater_id,source,points,visit\n")
        for unit in unit_ids:
            handle.write(template.replace(b"UNIT", unit.encode()))
        handle.write(b"C2026Q1,U0001,I01,LAST,field,\xe7\xbc\xba,open\n")  # 缺
    n_rows = n_units * n_raters * 2
    assert (data_dir(tmp_path) / "scores.csv").stat().st_size > 190e6
    (tmp_path / "p.yaml").write_text(PARAMS, encoding="utf-8")
    code, _, err = run_cli(["run", tmp_path / "p.yaml", "--out", tmp_path / "reports"], capsys)
    assert code == 2, err
    assert err == f"Error: scores.csv:{n_rows + 2}: column 'points': expected a number, got '缺'\n"
    assert not (tmp_path / "reports").exists()


def test_a_tiny_province_loads_and_validates(tmp_path):
    """`honorcalc.datasets.province` at tiny size: every city a valid dataset, the same for the same seed."""
    from honorcalc.datasets.province import make_city, write_province

    info = write_province(tmp_path / "province", seed=7, n_cities=3, units=(6, 9))
    assert [c["city_id"] for c in info["cities"]] == ["C01", "C02", "C03"]
    for city in info["cities"]:
        ds = load_dataset(tmp_path / "province" / city["dir"])
        assert len(ds.units) == city["units"] and 6 <= city["units"] <= 9
        assert len(ds.scores) == city["score_rows"] == 1600 * city["units"]
        assert ds.notices == ()
        assert set(ds.rounds["kind"]) == {"comprehensive", "special"}
        assert not ds.deductions.empty and len(ds.surveys) == 4 * city["units"]
    again = make_city(11, 8)
    pd.testing.assert_frame_equal(again["scores"], make_city(11, 8)["scores"])
    assert json.loads((tmp_path / "province" / "province.json").read_text(encoding="utf-8")) == info
