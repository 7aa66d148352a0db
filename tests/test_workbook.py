"""A dataset as a city office keeps it: one workbook, Chinese sheets and headers, wide score sheets.

The workbooks here are built cell by cell with openpyxl, independently of
honorcalc's own workbook writer, and compared with the same data read from CSV.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from honorcalc.data.contract import CONTRACT, TABLE_NAMES_ZH, final_score_rater
from honorcalc.data.read import load_dataset
from honorcalc.errors import InputError, ValidationError

from .conftest import run_cli, tiny_tables, write_tables

# the Chinese value an office writes for each choice
ZH_VALUES = {
    ("units", "kind"): {"industry": "行业", "territorial": "属地"},
    ("rounds", "kind"): {"comprehensive": "综合测评", "special": "专项测评"},
    ("scores", "source"): {"field": "实地考察", "daily": "日常动态", "feedback": "上级反馈", "leader": "领导督导",
                           "public": "群众监督"},
    ("scores", "visit"): {"open": "明查", "covert": "暗访"},
    ("deductions", "role"): {"primary": "主责", "joint": "连带"},
    ("deductions", "verified"): {"true": "是", "false": "否"},
}


def zh_header(table: str, column: str) -> str:
    return next(c.zh for c in CONTRACT[table] if c.name == column)


def office_workbook(path: Path, tables: dict[str, pd.DataFrame], *, wide: bool = True, chinese: bool = True,
                    by_name: bool = False, raters: bool = True) -> Path:
    """The tables as an office keeps them: a sheet per table, one wide score sheet per round."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for table, frame in tables.items():
        if table == "scores" and wide:
            continue
        sheet = book.create_sheet(TABLE_NAMES_ZH[table] if chinese else table)
        columns = list(frame.columns)
        sheet.append([zh_header(table, c) if chinese else c for c in columns])
        for row in frame.itertuples(index=False):
            values = []
            for column, value in zip(columns, row):
                if chinese:
                    value = ZH_VALUES.get((table, column), {}).get(value, value)
                values.append(value if value != "" else None)
            sheet.append(values)
    if wide:
        names = dict(zip(tables["indicators"]["indicator_id"], tables["indicators"]["name"]))
        scores = tables["scores"]
        keys = ["unit_id", "rater_id", "source", "visit"] if raters else ["unit_id", "source", "visit"]
        for round_id, part in scores.groupby("round_id", sort=False):
            sheet = book.create_sheet(f"评分-{round_id}" if chinese else f"scores-{round_id}")
            indicators = list(dict.fromkeys(part["indicator_id"]))
            head = [zh_header("scores", k) if chinese else k for k in keys]
            sheet.append(head + [names[i] if by_name else i for i in indicators])
            for key, rows in part.groupby(keys, sort=False):
                points = dict(zip(rows["indicator_id"], rows["points"].astype(float)))  # number cells
                ident = [ZH_VALUES.get(("scores", k), {}).get(v, v) if chinese else v for k, v in zip(keys, key)]
                sheet.append([v or None for v in ident] + [points.get(i) for i in indicators])
    book.save(path)
    return path


def sorted_scores(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["round_id", "unit_id", "indicator_id", "rater_id", "source"]
    return frame.sort_values(keys).reset_index(drop=True)


def assert_same_dataset(a, b):
    for table in ("units", "indicators", "rounds", "deductions", "surveys"):
        pd.testing.assert_frame_equal(a.table(table).reset_index(drop=True), b.table(table).reset_index(drop=True),
                                      check_dtype=False)
    pd.testing.assert_frame_equal(sorted_scores(a.scores), sorted_scores(b.scores), check_dtype=False)


@pytest.fixture
def reference(tmp_path):
    return load_dataset(write_tables(tmp_path / "csv", tiny_tables()))


# ---------------------------------------------------------------------------------- forms


def test_chinese_workbook_with_wide_score_sheets_reads_as_the_csv_files(tmp_path, reference):
    book = office_workbook(tmp_path / "测评数据.xlsx", tiny_tables())
    ds = load_dataset(book)
    assert_same_dataset(ds, reference)
    assert set(ds.files.values()) == {"测评数据.xlsx"}
    # documented Chinese values and headers are the data as written: no notice says otherwise
    assert not any("实地考察" in n or "read column" in n for n in ds.notices), ds.notices


def test_english_sheet_names_and_long_scores(tmp_path, reference):
    book = office_workbook(tmp_path / "data.xlsx", tiny_tables(), wide=False, chinese=False)
    assert_same_dataset(load_dataset(book), reference)


def test_indicator_columns_headed_by_their_exact_names(tmp_path, reference):
    book = office_workbook(tmp_path / "测评数据.xlsx", tiny_tables(), by_name=True)
    assert_same_dataset(load_dataset(book), reference)


def test_long_and_wide_score_sheets_mixed(tmp_path, reference):
    tables = tiny_tables()
    book = office_workbook(tmp_path / "测评数据.xlsx", tables)
    wb = openpyxl.load_workbook(book)
    del wb["评分-S2026-01a"]
    long = wb.create_sheet("评分")
    special = tables["scores"][tables["scores"]["round_id"] == "S2026-01a"]
    long.append([zh_header("scores", c) for c in special.columns])
    for row in special.itertuples(index=False):
        long.append([v or None for v in row])
    wb.save(book)
    assert_same_dataset(load_dataset(book), reference)


def test_a_round_column_that_contradicts_the_sheet_name_is_refused_at_its_cell(tmp_path):
    book = office_workbook(tmp_path / "测评数据.xlsx", tiny_tables())
    wb = openpyxl.load_workbook(book)
    sheet = wb["评分-C2026Q1"]
    sheet.insert_cols(1)
    sheet["A1"] = "轮次编号"
    for r in range(2, sheet.max_row + 1):
        sheet.cell(r, 1, "C2026Q1")
    sheet["A3"] = "S2026-01a"
    wb.save(book)
    with pytest.raises(ValidationError) as info:
        load_dataset(book)
    assert "测评数据.xlsx › 评分-C2026Q1 › A3" in str(info.value)
    assert "'C2026Q1'" in str(info.value)


def test_scores_without_a_rater_column_are_final_scores(tmp_path):
    tables = tiny_tables()
    ds = load_dataset(office_workbook(tmp_path / "测评数据.xlsx", tables, raters=False))
    assert ds.final_scores_only
    assert set(ds.scores["rater_id"]) == {final_score_rater("field")}
    assert any("final scores" in n for n in ds.notices)


def test_a_folder_whose_files_carry_the_chinese_table_names(tmp_path, reference):
    tables = tiny_tables()
    folder = tmp_path / "数据"
    folder.mkdir()
    for table, frame in tables.items():
        frame = frame.rename(columns={c: zh_header(table, c) for c in frame.columns})
        if table == "scores":
            office_workbook(tmp_path / "s.xlsx", tables)
            wb = openpyxl.load_workbook(tmp_path / "s.xlsx")
            for name in wb.sheetnames:
                if not name.startswith("评分"):
                    del wb[name]
            wb.save(folder / "评分.xlsx")
        else:
            frame.to_csv(folder / f"{TABLE_NAMES_ZH[table]}.csv", index=False, encoding="gb18030")
    assert_same_dataset(load_dataset(folder), reference)


def test_a_wide_scores_csv(tmp_path, reference):
    tables = tiny_tables()
    scores = tables["scores"]
    wide = scores.pivot_table(index=["round_id", "unit_id", "rater_id", "source", "visit"],
                              columns="indicator_id", values="points", aggfunc="first").reset_index()
    folder = write_tables(tmp_path / "wide", {k: v for k, v in tables.items() if k != "scores"})
    wide.rename(columns={"unit_id": "单位编号", "source": "评价来源"}).to_csv(folder / "scores.csv", index=False)
    assert_same_dataset(load_dataset(folder), reference)


def test_chinese_headers_are_named_as_written_in_a_csv_problem(tmp_path):
    tables = tiny_tables()
    tables["scores"] = tables["scores"].rename(columns={"points": "得分"})
    tables["scores"].loc[3, "得分"] = "缺"
    with pytest.raises(ValidationError) as info:
        load_dataset(write_tables(tmp_path / "d", tables))
    assert "scores.csv:5: column '得分'" in str(info.value)


# ---------------------------------------------------------------------------------- hostile workbooks


def _book(tmp_path) -> Path:
    return office_workbook(tmp_path / "测评数据.xlsx", tiny_tables())


def _refused(book: Path, *words: str) -> str:
    with pytest.raises(InputError) as info:
        load_dataset(book)
    text = str(info.value)
    for word in words:
        assert word in text, text
    return text


def _edit(book: Path, change) -> Path:
    wb = openpyxl.load_workbook(book)
    change(wb)
    wb.save(book)
    return book


def test_a_hidden_sheet_holding_data_is_refused_by_name(tmp_path):
    book = _edit(_book(tmp_path), lambda wb: setattr(wb["评分-S2026-01a"], "sheet_state", "hidden"))
    _refused(book, "评分-S2026-01a", "hidden")


def test_a_hidden_sheet_that_is_no_table_is_left_unread(tmp_path, reference):
    def change(wb):
        other = wb.create_sheet("下拉选项")
        other["A1"] = "行业"
        other.sheet_state = "hidden"
    ds = load_dataset(_edit(_book(tmp_path), change))
    assert_same_dataset(ds, reference)


def test_hidden_rows_and_columns_holding_data_are_refused(tmp_path):
    book = _edit(_book(tmp_path), lambda wb: setattr(wb["单位"].row_dimensions[3], "hidden", True))
    _refused(book, "测评数据.xlsx › 单位:3", "hidden")
    book = _edit(_book(tmp_path), lambda wb: setattr(wb["评分-C2026Q1"].column_dimensions["E"], "hidden", True))
    _refused(book, "测评数据.xlsx › 评分-C2026Q1 › E1", "column E is hidden")


def test_formula_without_a_saved_value_and_error_cells_are_named(tmp_path):
    def change(wb):
        wb["评分-C2026Q1"]["E2"] = "=SUM(F2:G2)"
        wb["单位"]["E3"] = "#DIV/0!"
    text = _refused(_edit(_book(tmp_path), change), "评分-C2026Q1 › E2", "never saved", "单位 › E3", "#DIV/0!")
    assert text.count("单位 › E3") == 1  # the error cell is named once, not again as "not a number"


def test_a_formula_with_its_saved_result_is_read_with_a_notice(tmp_path, reference):
    book = _book(tmp_path)
    sheet_part = _sheet_part(book, "评分-C2026Q1")
    with zipfile.ZipFile(book) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts[sheet_part].decode()
    xml, n = re.subn(r'<c r="E2"([^>]*)><v>([^<]*)</v></c>', r'<c r="E2"\1><f>50+5</f><v>\2</v></c>', xml)
    assert n == 1
    parts[sheet_part] = xml.encode()
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    ds = load_dataset(book)
    assert_same_dataset(ds, reference)
    assert any("formulas" in n for n in ds.notices)


def _sheet_part(book: Path, name: str) -> str:
    wb = openpyxl.load_workbook(book)
    return f"xl/worksheets/sheet{wb.sheetnames.index(name) + 1}.xml"


def test_merged_header_cells_are_refused(tmp_path):
    book = _edit(_book(tmp_path), lambda wb: wb["单位"].merge_cells("A1:B1"))
    _refused(book, "单位 › A1", "merged")


def test_cells_merged_down_a_column_read_as_the_value_they_show(tmp_path, reference):
    tables = tiny_tables()
    tables["units"] = tables["units"].assign(group=["县区", "县区", "县区", "市直部门"])
    book = office_workbook(tmp_path / "测评数据.xlsx", tables)
    wb = openpyxl.load_workbook(book)
    for cell in ("D3", "D4"):
        wb["单位"][cell] = None
    wb["单位"].merge_cells("D2:D4")
    wb.save(book)
    ds = load_dataset(book)
    assert ds.units["group"].tolist() == ["县区", "县区", "县区", "市直部门"]
    assert any("merged" in n for n in ds.notices)


def test_cells_merged_across_data_columns_are_refused(tmp_path):
    book = _edit(_book(tmp_path), lambda wb: wb["单位"].merge_cells("B3:C3"))
    _refused(book, "单位 › B3", "merged across columns")


def test_a_title_row_above_the_header_is_skipped(tmp_path, reference):
    def change(wb):
        sheet = wb["单位"]
        sheet.insert_rows(1)
        sheet["A1"] = "2026年文明城市测评单位名单"
        sheet.merge_cells("A1:E1")
    ds = load_dataset(_edit(_book(tmp_path), change))
    assert_same_dataset(ds, reference)
    assert any("title" in n for n in ds.notices)


def test_data_above_the_header_is_refused(tmp_path):
    def change(wb):
        sheet = wb["单位"]
        sheet.insert_rows(1)
        sheet["A1"], sheet["B1"] = "制表：", "创文办"
    _refused(_edit(_book(tmp_path), change), "单位", "row 2", "row 1 above it holds data")


def test_trailing_empty_columns_are_ignored_and_data_without_a_header_refused(tmp_path, reference):
    def formatted(wb):
        wb["单位"]["H1"].font = openpyxl.styles.Font(bold=True)
        wb["单位"]["H2"] = ""
    assert_same_dataset(load_dataset(_edit(_book(tmp_path), formatted)), reference)
    book = _edit(_book(tmp_path), lambda wb: wb["单位"].cell(3, 7, "多余"))
    _refused(book, "单位 › G1", "column G")


@pytest.mark.parametrize("system", ["1900", "1904"])
def test_dates_stored_as_day_numbers_are_read_in_the_workbooks_date_system(tmp_path, reference, system):
    def change(wb):
        if system == "1904":
            wb.epoch = openpyxl.utils.datetime.MAC_EPOCH
        base = pd.Timestamp("1899-12-30") if system == "1900" else pd.Timestamp("1904-01-01")
        sheet = wb["测评轮次"]
        for r in range(2, sheet.max_row + 1):
            day = pd.Timestamp(sheet.cell(r, 4).value)
            sheet.cell(r, 4).value = (day - base).days
            sheet.cell(r, 4).number_format = "General"
    ds = load_dataset(_edit(_book(tmp_path), change))
    assert_same_dataset(ds, reference)
    assert any(system in n and "day number" in n for n in ds.notices), ds.notices


def test_a_sheet_that_reaches_excels_last_row_is_refused(tmp_path):
    book = _edit(_book(tmp_path), lambda wb: wb["扣分"].cell(1_048_576, 1, "C2026Q1"))
    _refused(book, "扣分", "1,048,576", "cut off")


def test_a_table_on_two_sheets_is_refused(tmp_path):
    def change(wb):
        copy = wb.copy_worksheet(wb["单位"])
        copy.title = "units"
    _refused(_edit(_book(tmp_path), change), "several sheets", "单位", "units")


def test_an_unknown_indicator_column_is_named_at_its_header_cell(tmp_path):
    book = _edit(_book(tmp_path), lambda wb: wb["评分-C2026Q1"].cell(1, 6, "I99"))
    _refused(book, "评分-C2026Q1 › F1", "I99")


@pytest.mark.parametrize("change, where", [
    (lambda wb: wb["评分-C2026Q1"].cell(3, 5, "缺"), "评分-C2026Q1 › E3"),
    (lambda wb: wb["评分-C2026Q1"].cell(3, 5, 61), "评分-C2026Q1 › E3"),
    (lambda wb: wb["单位"]["A3"].__setattr__("value", None), "单位 › A3"),
    (lambda wb: wb["评分-C2026Q1"].cell(3, 1, "999"), "评分-C2026Q1 › A3"),
    (lambda wb: wb["测评轮次"].cell(2, 4, "2026/13/45"), "测评轮次 › D2"),
    (lambda wb: wb["扣分"].append(list(c.value for c in wb["扣分"][2])), "扣分 › A4"),
], ids=["not a number", "above max_points", "blank id", "unknown unit", "bad date", "duplicated deduction"])
def test_what_the_csv_path_refuses_is_refused_here_at_its_cell(tmp_path, change, where):
    _refused(_edit(_book(tmp_path), change), where)


# ---------------------------------------------------------------------------------- the command line


def test_run_on_a_bad_workbook_exits_2_naming_the_cell_and_writes_nothing(tmp_path, capsys):
    book = _edit(_book(tmp_path), lambda wb: wb["评分-C2026Q1"].cell(3, 5, "缺"))
    params = tmp_path / "p.yaml"
    params.write_text(f"dataset: {book.name}\nround: C2026Q1\ncity: 测试市\n", encoding="utf-8")
    code, out, err = run_cli(["run", params, "--out", tmp_path / "reports"], capsys)
    assert code == 2
    assert "测评数据.xlsx › 评分-C2026Q1 › E3" in err and "I01" in err
    assert "Traceback" not in err
    assert not (tmp_path / "reports").exists()


def test_check_lists_every_problem_at_once(tmp_path, capsys):
    def change(wb):
        sheet = wb["评分-C2026Q1"]
        for r in range(2, sheet.max_row + 1):
            sheet.cell(r, 5, "缺")
        wb["单位"]["A3"] = None
    book = _edit(_book(tmp_path), change)
    n_rows = openpyxl.load_workbook(book)["评分-C2026Q1"].max_row - 1
    code, out, err = run_cli(["--lang", "en", "check", book], capsys)
    assert code == 2
    numbers = [line for line in out.splitlines() if "评分-C2026Q1 › E" in line and "expected a number" in line]
    assert len(numbers) == n_rows > 4 and "单位 › A3" in out
    # a duplicate names the other row as the workbook shows it
    assert "conflicts with 评分-C2026Q1 row" in out


def test_template_command_writes_a_workbook_once(tmp_path, capsys):
    code, out, err = run_cli(["template", tmp_path / "测评数据.xlsx"], capsys, lang=None)
    assert code == 0 and Path(out.strip()).exists()
    assert openpyxl.load_workbook(out.strip()).sheetnames[0] == "填表说明"
    code, out, err = run_cli(["template", tmp_path / "测评数据.xlsx"], capsys, lang=None)
    assert code == 2 and "Traceback" not in err and err.startswith("错误：")
    code, out, err = run_cli(["--lang", "en", "template", tmp_path / "data.xlsx"], capsys)
    assert code == 0 and "units" in openpyxl.load_workbook(out.strip()).sheetnames


def test_check_of_a_good_workbook_summarises_it_in_chinese(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        from honorcalc.cli import main
        main(["check", str(_book(tmp_path))])
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert "数据可以使用" in out and "评分：12 行" in out and "测评轮次：2 轮" in out


def test_a_run_of_a_workbook_archives_it_and_verifies(tmp_path, capsys):
    def named(wb):  # 轮次名称: how the report and the notice name the round
        wb["测评轮次"]["E1"], wb["测评轮次"]["E2"] = "轮次名称", "2026年第一季度综合测评"
    book = _edit(_book(tmp_path), named)
    params = tmp_path / "p.yaml"
    params.write_text(f"dataset: {book.name}\nround: C2026Q1\ncity: 测试市\n", encoding="utf-8")
    code, out, err = run_cli(["run", params, "--out", tmp_path / "reports"], capsys)
    assert code == 0, err
    run_dir = Path(out.strip()).parent
    with zipfile.ZipFile(run_dir / "inputs.zip") as z:
        assert z.namelist() == ["测评数据.xlsx"]
    code, out, err = run_cli(["verify", run_dir], capsys)
    assert code == 0, out + err
    assert "2026年第一季度综合测评" in (run_dir / "report.html").read_text(encoding="utf-8")
    with zipfile.ZipFile(run_dir / "通报.docx") as z:
        assert "2026年第一季度综合测评" in z.read("word/document.xml").decode()


# ---------------------------------------------------------------------------------- the demo city


@pytest.fixture(scope="module")
def demo_workbook(tmp_path_factory):
    from honorcalc.datasets.demo import write_demo_workbook

    return write_demo_workbook(tmp_path_factory.mktemp("demo-xlsx") / "测评数据.xlsx")


@pytest.mark.parametrize("round_id", ["C2026Q2", "S2026-03a"])
def test_the_demo_workbook_gives_byte_identical_tables_to_its_csv_files(demo_data, demo_workbook, round_id):
    """The office's form of the demo (Chinese sheets, headers and values, one wide score sheet per
    round) and its CSV files give the same ranking, lists and points, byte for byte."""
    from honorcalc.data.write import table_bytes
    from honorcalc.params import Params
    from honorcalc.runs.pipeline import run_tables

    from_csv = load_dataset(demo_data)
    from_book = load_dataset(demo_workbook)
    wb = openpyxl.load_workbook(demo_workbook, read_only=True)
    assert sum(name.startswith("评分-") for name in wb.sheetnames) == from_csv.rounds["round_id"].nunique()
    params = Params(dataset=str(demo_data), round=round_id)
    a, b = run_tables(params, from_csv), run_tables(params, from_book)
    assert sorted(a) == sorted(b)
    for name in sorted(a):
        assert table_bytes(a[name]) == table_bytes(b[name]), name


def test_the_readme_documents_every_table_column_and_alias():
    from honorcalc.data.contract import contract_markdown

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert contract_markdown() in readme, "regenerate the README's contract table from contract_markdown()"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_template_filled_in_as_it_says_runs_as_it_is(tmp_path, reference, lang, capsys):
    from honorcalc.data.contract import column_of_header, table_of_name
    from honorcalc.data.template import write_template

    book = write_template(tmp_path / "测评数据.xlsx", lang=lang)
    wb = openpyxl.load_workbook(book)
    tables = tiny_tables()
    for sheet in wb.worksheets:
        table = table_of_name(sheet.title)
        if table is None or table not in tables:
            continue
        columns = [column_of_header(table, c.value) for c in sheet[1]]
        for row in tables[table].itertuples(index=False):
            values = dict(zip(tables[table].columns, row))
            if lang == "zh":
                values = {c: ZH_VALUES.get((table, c), {}).get(v, v) for c, v in values.items()}
            sheet.append([values.get(c) or None for c in columns])
    wb.save(book)
    assert_same_dataset(load_dataset(book), reference)
    params = tmp_path / "p.yaml"
    params.write_text(f"dataset: {book.name}\nround: C2026Q1\ncity: 测试市\n", encoding="utf-8")
    code, out, err = run_cli(["check", params], capsys)
    assert code == 0, out + err


def test_score_sheets_with_and_without_raters_mixed(tmp_path, reference):
    """One round's sheet names its raters, another holds final scores: both are read, each as what it is."""
    book = office_workbook(tmp_path / "测评数据.xlsx", tiny_tables())
    wb = openpyxl.load_workbook(book)
    special = wb["评分-S2026-01a"]
    special.delete_cols(2)  # 评分人
    wb.save(book)
    ds = load_dataset(book)
    special_raters = ds.scores.loc[ds.scores["round_id"] == "S2026-01a", "rater_id"]
    assert set(special_raters) == {final_score_rater("field")}
    assert set(ds.scores.loc[ds.scores["round_id"] == "C2026Q1", "rater_id"]) == {"R01"}
    assert not ds.final_scores_only
    # a rater column that itself writes the reserved form is still refused
    wb = openpyxl.load_workbook(office_workbook(tmp_path / "b.xlsx", tiny_tables()))
    wb["评分-C2026Q1"]["B2"] = "final:field"
    wb.save(tmp_path / "b.xlsx")
    _refused(tmp_path / "b.xlsx", "评分-C2026Q1 › B2", "final:")


def test_a_wide_sheet_may_carry_a_row_number_and_the_units_name(tmp_path, reference):
    def labelled(wb):
        sheet = wb["评分-C2026Q1"]
        sheet.insert_cols(1)
        sheet.insert_cols(3)
        sheet["A1"], sheet["C1"] = "序号", "单位名称"
        for r in range(2, sheet.max_row + 1):
            sheet.cell(r, 1, r - 1)
            sheet.cell(r, 3, "某单位")
    ds = load_dataset(_edit(_book(tmp_path), labelled))
    assert_same_dataset(ds, reference)
    assert any("序号, 单位名称" in n and "labels" in n for n in ds.notices), ds.notices


# ---------------------------------------------------------------------------------- a property


def _random_city(draw):
    """A small city of random shape: units, indicators with decimal max points, rounds, raters, scores."""
    from hypothesis import strategies as st

    n_units = draw(st.integers(2, 6))
    n_ind = draw(st.integers(1, 5))
    units = pd.DataFrame({"unit_id": [f"{k:03d}" for k in range(1, n_units + 1)],
                          "name": [f"单位{k}" for k in range(n_units)],
                          "kind": draw(st.lists(st.sampled_from(["industry", "territorial"]),
                                                min_size=n_units, max_size=n_units)),
                          "group": "县区", "size": ""})
    maxima = draw(st.lists(st.sampled_from(["10", "12.5", "7.3", "100"]), min_size=n_ind, max_size=n_ind))
    indicators = pd.DataFrame({"indicator_id": [f"I{k}" for k in range(n_ind)],
                               "name": [f"指标{k}" for k in range(n_ind)], "category": "环境卫生",
                               "max_points": maxima, "topic": ""})
    rounds = pd.DataFrame({"round_id": ["C1", "C2"], "kind": "comprehensive", "topic": "",
                           "date": ["2026-03-31", "2026-06-30"]})
    rows = []
    for round_id in ("C1", "C2"):
        for unit in units["unit_id"]:
            for rater, source, visit in draw(st.lists(st.sampled_from(
                    [("R1", "field", "open"), ("R2", "field", "covert"), ("D1", "daily", "")]),
                    min_size=1, max_size=3, unique=True)):
                for ind, top in zip(indicators["indicator_id"], maxima):
                    if draw(st.booleans()):
                        share = draw(st.integers(0, 1000)) / 1000
                        rows.append((round_id, unit, ind, rater, source, f"{float(top) * share:.3f}", visit))
    scores = pd.DataFrame(rows, columns=["round_id", "unit_id", "indicator_id", "rater_id", "source", "points",
                                         "visit"])
    return {"units": units, "indicators": indicators, "rounds": rounds, "scores": scores}


def test_any_city_written_as_an_office_workbook_reads_back_as_its_csv_files(tmp_path_factory):
    """Property: a city (random units, decimals, raters, gaps) → the office's wide workbook → the same
    dataset as its CSV files; and the same ranking, byte for byte."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from honorcalc.data.template import write_workbook
    from honorcalc.data.write import table_bytes
    from honorcalc.params import Params
    from honorcalc.rules.evaluate import evaluate_round

    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data):
        tables = _random_city(data.draw)
        if not len(tables["scores"]) or not set(tables["scores"]["round_id"]) >= {"C1", "C2"}:
            return
        base = tmp_path_factory.mktemp("city")
        from_csv = load_dataset(write_tables(base / "csv", tables))
        book = write_workbook(from_csv, base / "测评数据.xlsx")
        from_book = load_dataset(book)
        assert_same_dataset(from_book, from_csv)
        params = Params(dataset=str(base), round="C2")
        assert table_bytes(evaluate_round(from_book, params).units) == \
            table_bytes(evaluate_round(from_csv, params).units)

    check()


@pytest.mark.skipif(not __import__("shutil").which("soffice"), reason="needs LibreOffice (soffice)")
def test_a_workbook_saved_again_by_another_office_suite_reads_the_same(tmp_path, reference):
    """LibreOffice writes its own flavour of the format (shared strings, styles, dimensions)."""
    import subprocess

    book = office_workbook(tmp_path / "in.xlsx", tiny_tables())
    subprocess.run(["soffice", "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir",
                    str(tmp_path / "out"), str(book)], check=True, capture_output=True, timeout=300)
    assert_same_dataset(load_dataset(tmp_path / "out" / "in.xlsx"), reference)
