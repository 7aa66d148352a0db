"""The dataset contract of DESIGN.md: every rule has a bad file that breaks it.

Each case edits one cell (or column, or row) of the tiny valid dataset and checks
that loading fails with the file, the spreadsheet row (header = row 1), the
column, and a word of what was expected.
"""

from __future__ import annotations

import pandas as pd
import pytest

from honorcalc.data.contract import CONTRACT
from honorcalc.data.read import load_dataset, read_table
from honorcalc.data.validate import validate_tables
from honorcalc.errors import InputError, ValidationError

from .conftest import drop_column, set_cell, tiny_tables, write_tables


def append_row(table, row):
    def edit(tables):
        frame = tables[table]
        tables[table] = pd.concat([frame, pd.DataFrame([row], columns=frame.columns)], ignore_index=True)
    return edit


def both(*edits):
    def edit(tables):
        for e in edits:
            e(tables)
    return edit


CASES = {
    # required columns, one per table
    "units missing group": (drop_column("units", "group"), "units.csv", None, "group", "column"),
    "indicators missing max_points": (drop_column("indicators", "max_points"), "indicators.csv", None, "max_points", "column"),
    "rounds missing date": (drop_column("rounds", "date"), "rounds.csv", None, "date", "column"),
    "scores missing source": (drop_column("scores", "source"), "scores.csv", None, "source", "column"),
    "deductions missing role": (drop_column("deductions", "role"), "deductions.csv", None, "role", "column"),
    "surveys missing satisfied": (drop_column("surveys", "satisfied"), "surveys.csv", None, "satisfied", "column"),
    # blank required cells
    "blank unit name": (set_cell("units", 2, "name", ""), "units.csv", 4, "name", "required"),
    "blank score unit_id": (set_cell("scores", 0, "unit_id", ""), "scores.csv", 2, "unit_id", "required"),
    "blank indicator category": (set_cell("indicators", 1, "category", ""), "indicators.csv", 3, "category", "required"),
    # allowed values
    "unit kind": (set_cell("units", 0, "kind", "district"), "units.csv", 2, "kind", "industry | territorial"),
    "round kind": (set_cell("rounds", 0, "kind", "quarterly"), "rounds.csv", 2, "kind", "comprehensive | special"),
    "score source": (set_cell("scores", 3, "source", "inspection"), "scores.csv", 5, "source", "field | daily"),
    "score visit": (set_cell("scores", 1, "visit", "secret"), "scores.csv", 3, "visit", "open | covert"),
    "deduction role": (set_cell("deductions", 0, "role", "main"), "deductions.csv", 2, "role", "primary | joint"),
    "deduction verified": (set_cell("deductions", 1, "verified", "maybe"), "deductions.csv", 3, "verified", "true or false"),
    # numbers
    "points not a number": (set_cell("scores", 4, "points", "缺"), "scores.csv", 6, "points", "a number"),
    "size not a number": (set_cell("units", 0, "size", "big"), "units.csv", 2, "size", "a number"),
    "max_points zero": (set_cell("indicators", 0, "max_points", "0"), "indicators.csv", 2, "max_points", "> 0"),
    "negative points": (set_cell("scores", 2, "points", "-1"), "scores.csv", 4, "points", "≥ 0"),
    "points above max_points": (set_cell("scores", 0, "points", "61"), "scores.csv", 2, "points", "at most 60"),
    "deduction points zero": (set_cell("deductions", 0, "points", "0"), "deductions.csv", 2, "points", "> 0"),
    "respondents zero": (set_cell("surveys", 0, "respondents", "0"), "surveys.csv", 2, "respondents", "> 0"),
    "satisfied above respondents": (set_cell("surveys", 1, "satisfied", "51"), "surveys.csv", 3, "satisfied", "at most respondents"),
    "negative satisfied": (set_cell("surveys", 1, "satisfied", "-3"), "surveys.csv", 3, "satisfied", "≥ 0"),
    # dates
    "date not ISO": (set_cell("rounds", 0, "date", "2026/03/31"), "rounds.csv", 2, "date", "ISO date"),
    "date impossible": (set_cell("rounds", 0, "date", "2026-02-30"), "rounds.csv", 2, "date", "ISO date"),
    # special rounds need a topic
    "special without topic": (set_cell("rounds", 1, "topic", ""), "rounds.csv", 3, "topic", "topic"),
    "score on another topic's indicator": (
        both(append_row("indicators", ["T02", "挂包走访", "挂包工作", "100", "挂包工作"]),
             set_cell("scores", 8, "indicator_id", "T02")),
        "scores.csv", 10, "indicator_id", "topic '网申工作'"),
    # referential integrity
    "unknown unit in scores": (set_cell("scores", 0, "unit_id", "U999"), "scores.csv", 2, "unit_id", "listed in units.csv"),
    "unknown indicator in scores": (set_cell("scores", 1, "indicator_id", "I99"), "scores.csv", 3, "indicator_id", "listed in indicators.csv"),
    "unknown round in scores": (set_cell("scores", 2, "round_id", "C2025Q4"), "scores.csv", 4, "round_id", "listed in rounds.csv"),
    "unknown unit in deductions": (set_cell("deductions", 0, "unit_id", "X"), "deductions.csv", 2, "unit_id", "listed in units.csv"),
    "unknown round in surveys": (set_cell("surveys", 3, "round_id", "C9"), "surveys.csv", 5, "round_id", "listed in rounds.csv"),
    "leading zeros matter": (set_cell("scores", 0, "unit_id", "01"), "scores.csv", 2, "unit_id", "listed in units.csv"),
    # duplicates
    "duplicate unit_id": (append_row("units", ["001", "重复区", "territorial", "县区", ""]), "units.csv", 6, "name", "conflicts with row 2"),
    "duplicate indicator_id": (append_row("indicators", ["I01", "x", "公共秩序", "5", ""]), "indicators.csv", 5, "name", "conflicts with row 2"),
    "duplicate round_id": (append_row("rounds", ["C2026Q1", "special", "网申工作", "2026-02-01"]), "rounds.csv", 4, "kind", "conflicts with row 2"),
    "conflicting duplicate score": (append_row("scores", ["C2026Q1", "001", "I01", "R01", "field", "50", "open"]), "scores.csv", 14, "points", "conflicts with row 2"),
    "conflicting duplicate survey": (append_row("surveys", ["C2026Q1", "001", "100", "80"]), "surveys.csv", 6, "respondents", "conflicts with row 2"),
    "identical deductions": (append_row("deductions", ["C2026Q1", "001", "N01", "1", "primary", "true", "占道经营"]), "deductions.csv", 4, None, "row 2"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_contract_violation_is_reported_with_file_row_column(tmp_path, case):
    edit, file, row, column, expected = CASES[case]
    tables = tiny_tables()
    edit(tables)
    directory = write_tables(tmp_path / "bad", tables)
    with pytest.raises(ValidationError) as info:
        load_dataset(directory)
    cases = info.value.failure_cases
    hit = cases[cases["file"] == file]
    if row is not None:
        hit = hit[hit["row"] == row]
    if column is not None:
        hit = hit[hit["column"] == column]
    assert len(hit) >= 1, f"{case}: not reported as expected:\n{cases.to_string()}"
    if expected:
        assert hit["expected"].str.contains(expected, regex=False).any(), hit.to_string()
    message = str(info.value)
    assert file in message
    if row is not None:
        assert f"{file}:{row}" in message


def test_every_contract_column_has_a_case():
    """Each required column is dropped in some case, so none goes unchecked."""
    dropped = {(CASES[c][1].removesuffix(".csv"), CASES[c][3]) for c in CASES if CASES[c][2] is None}
    for table in ("units", "indicators", "rounds", "scores", "deductions", "surveys"):
        assert any(t == table for t, _ in dropped), table


def test_all_problems_are_reported_at_once(tmp_path):
    tables = tiny_tables()
    tables["units"].loc[0, "kind"] = "district"
    tables["scores"].loc[4, "points"] = "缺"
    tables["surveys"].loc[1, "satisfied"] = "51"
    tables["rounds"].loc[0, "date"] = "31/03/2026"
    with pytest.raises(ValidationError) as info:
        load_dataset(write_tables(tmp_path / "bad", tables))
    files = set(info.value.failure_cases["file"])
    assert files == {"units.csv", "scores.csv", "surveys.csv", "rounds.csv"}
    assert "4 places" in str(info.value)


def test_valid_tiny_dataset_types(tiny_dir):
    ds = load_dataset(tiny_dir)
    assert ds.units["unit_id"].tolist() == ["001", "1", "002", "NA"]
    assert ds.units["name"].tolist()[-1] == "无"  # a legitimate name, not a missing value
    assert ds.scores["points"].dtype == "float64"
    assert str(ds.rounds["date"].dtype).startswith("datetime64")
    assert ds.deductions["verified"].dtype == bool
    assert pd.isna(ds.indicators.loc[0, "topic"])
    assert ds.notices == ()


def test_exact_duplicate_scores_are_counted_once_and_reported(tmp_path):
    tables = tiny_tables()
    tables["scores"] = pd.concat([tables["scores"], tables["scores"].iloc[[0, 1]]], ignore_index=True)
    ds = load_dataset(write_tables(tmp_path / "dup", tables))
    assert len(ds.scores) == len(tiny_tables()["scores"])
    assert any("2 exact duplicate row(s) counted once (rows 14, 15)" in n for n in ds.notices)


def test_unambiguous_quirks_are_normalised_and_reported(tmp_path):
    tables = tiny_tables()
    tables["scores"].loc[0, "points"] = "５５"
    tables["scores"].loc[1, "unit_id"] = "001 "
    tables["units"].loc[0, "kind"] = "属地"
    tables["units"].loc[1, "kind"] = "Industry"
    tables["scores"].loc[2, "source"] = "实地考察"
    ds = load_dataset(write_tables(tmp_path / "q", tables))
    assert ds.scores.loc[0, "points"] == 55
    assert ds.scores.loc[1, "unit_id"] == "001"
    assert ds.units.loc[0:1, "kind"].tolist() == ["territorial", "industry"]
    assert ds.scores.loc[2, "source"] == "field"
    text = "\n".join(ds.notices)
    assert "full-width" in text and "spaces" in text and "'Industry' as 'industry'" in text
    # the documented Chinese values are the values as an office writes them: nothing to tell
    assert "属地" not in text and "实地考察" not in text


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_load_identically(tmp_path, encoding):
    reference = load_dataset(write_tables(tmp_path / "utf8", tiny_tables()))
    other = load_dataset(write_tables(tmp_path / encoding, tiny_tables(), encoding=encoding))
    for table in CONTRACT:
        pd.testing.assert_frame_equal(reference.table(table), other.table(table))
    assert other.formats["units"]["encoding"] == {"gbk": "gb18030"}.get(encoding, encoding)


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_xlsx_and_parquet_load_identically(tmp_path, fmt):
    reference = load_dataset(write_tables(tmp_path / "csv", tiny_tables()))
    other = load_dataset(write_tables(tmp_path / fmt, tiny_tables(), fmt=fmt))
    for table in CONTRACT:
        pd.testing.assert_frame_equal(reference.table(table), other.table(table))


def test_xlsx_with_typed_cells_reads_like_text(tmp_path):
    """Excel stores numbers and dates as such; they read as the text a user typed."""
    tables = tiny_tables()
    typed = {k: v.copy() for k, v in tables.items()}
    typed["rounds"]["date"] = pd.to_datetime(typed["rounds"]["date"])
    typed["scores"]["points"] = typed["scores"]["points"].astype(float)
    directory = write_tables(tmp_path / "typed", typed, fmt="xlsx")
    reference = load_dataset(write_tables(tmp_path / "csv", tables))
    ds = load_dataset(directory)
    pd.testing.assert_frame_equal(ds.rounds, reference.rounds)
    pd.testing.assert_frame_equal(ds.scores, reference.scores)


def test_missing_optional_tables_are_empty(tmp_path):
    tables = tiny_tables()
    del tables["deductions"], tables["surveys"]
    ds = load_dataset(write_tables(tmp_path / "opt", tables))
    assert ds.deductions.empty and list(ds.deductions.columns) == [c.name for c in CONTRACT["deductions"]]
    assert ds.surveys.empty


def test_extra_columns_are_kept(tmp_path):
    tables = tiny_tables()
    tables["units"]["负责人"] = ["张三", "李四", "王五", "赵六"]
    ds = load_dataset(write_tables(tmp_path / "extra", tables))
    assert ds.units["负责人"].tolist() == ["张三", "李四", "王五", "赵六"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"\x00\x01\x02binary\x00", "binary"),
        (b"\xff\xfeu\x00n\x00", "UTF-16"),
        (b"\x81\xff\xff\x80\x80", "neither UTF-8 nor GBK"),
    ],
)
def test_unreadable_csv_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "units.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_table(path)
    assert info.value.file.endswith("units.csv")


def test_missing_required_table(tmp_path):
    tables = tiny_tables()
    del tables["scores"]
    with pytest.raises(InputError, match="required table 'scores' is missing"):
        load_dataset(write_tables(tmp_path / "m", tables))


def test_two_files_for_one_table_are_ambiguous(tmp_path, tiny_dir):
    tiny_tables()["units"].to_excel(tiny_dir / "units.xlsx", index=False)
    with pytest.raises(InputError, match="several files"):
        load_dataset(tiny_dir)


def test_missing_directory(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_dataset(tmp_path / "nowhere")


def test_validate_tables_accepts_in_memory_frames():
    ds = validate_tables(tiny_tables())
    assert len(ds.units) == 4


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_each_table_records_the_sha256_of_the_file_as_read(tmp_path, fmt):
    from honorcalc.data.write import file_sha256

    directory = write_tables(tmp_path / "d", tiny_tables(), fmt)
    ds = load_dataset(directory)
    for table, file in ds.files.items():
        assert ds.formats[table]["sha256"] == file_sha256(directory / file)


def test_a_parquet_number_column_of_many_distinct_values_reads_as_text(tmp_path):
    """Over 4,096 distinct numbers, each distinct value is formatted once (a dictionary) and read as typed."""
    import numpy as np

    tables = tiny_tables()
    n = 5000
    units = pd.DataFrame({"unit_id": [f"U{k:04d}" for k in range(n)], "name": [f"单位{k}" for k in range(n)],
                          "kind": "industry", "group": "市直部门", "size": np.arange(n) * 1.5})
    tables["units"] = pd.concat([units.astype({"size": str}), tables["units"]], ignore_index=True)
    directory = write_tables(tmp_path / "p", tables, fmt="parquet")
    # size as float64, not text: a table of many rows, so a column of several chunks
    pd.concat([units, tiny_tables()["units"].assign(size=np.nan)]).to_parquet(directory / "units.parquet",
                                                                               index=False, row_group_size=1000)
    ds = load_dataset(directory)
    assert ds.units["size"].iloc[:n].tolist() == (np.arange(n) * 1.5).tolist()
