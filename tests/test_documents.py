"""The Word notice (通报.docx, 年度考核通报.docx) and the Excel workbooks (测评结果.xlsx, 年度考核结果.xlsx),
read back with python-docx and openpyxl."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

import docx
import openpyxl
import pandas as pd
import pytest
from docx.oxml.ns import qn
from docx.shared import Pt

from honorcalc.data.read import load_dataset
from honorcalc.data.write import file_sha256
from honorcalc.errors import ParamError
from honorcalc.params import (
    SOURCE_LABELS,
    SOURCES,
    Params,
    load_params,
    params_from_mapping,
)
from honorcalc.report import documents, workbook
from honorcalc.report.office import chinese_number, share_words
from honorcalc.rules.annual import evaluate_year
from honorcalc.rules.evaluate import evaluate_round
from honorcalc.runs.folder import office_documents

from .conftest import run_cli, tiny_tables, write_tables

ROOT = Path(__file__).resolve().parent.parent
HOSTILE_UNIT = '=HYPERLINK("x")'
MARKUP_UNIT = "# 标题|x"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo(demo_data):
    params = load_params(ROOT / "params" / "demo.yaml", [f"dataset={demo_data}"])
    return params, load_dataset(params.dataset)


@pytest.fixture(scope="module")
def comprehensive(demo):
    params, dataset = demo
    return evaluate_round(dataset, params)


@pytest.fixture(scope="module")
def special(demo):
    params, dataset = demo
    return evaluate_round(dataset, params.model_copy(update={"round": "S2026-05b"}))


@pytest.fixture(scope="module")
def year(demo, demo_data):
    _, dataset = demo
    params = load_params(ROOT / "params" / "demo-annual.yaml", [f"dataset={demo_data}"])
    return evaluate_year(dataset, params)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The tiny dataset with group names Excel refuses in a sheet name and two red-listed units
    named like a formula and like the notice's markup."""
    base = tmp_path_factory.mktemp("hostile")
    tables = tiny_tables()
    tables["units"].loc[0, "name"] = HOSTILE_UNIT
    tables["units"].loc[2, "name"] = MARKUP_UNIT
    tables["units"]["group"] = ["a/b:c*", "A/B:C?", "a/b:c*", "A/B:C?"]
    write_tables(base / "data", tables)
    dataset = load_dataset(base / "data")
    return evaluate_round(dataset, Params(dataset=str(base / "data"), round="C2026Q1", city="测试市"))


def _docx(content: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(content))


def _text(document) -> str:
    """Every paragraph and every table cell of a document, one per line."""
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def _title(document) -> str:
    """The title: the paragraphs in 22 pt, joined (a long title is set on two lines)."""
    return "".join(p.text for p in document.paragraphs if p.runs and p.runs[0].font.size == Pt(22))


def _workbook(content: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(content))


def _rows(ws) -> pd.DataFrame:
    values = list(ws.values)
    return pd.DataFrame(values[1:], columns=values[0])


# --------------------------------------------------------------------------- the notice


def test_round_notice_is_an_official_notice_naming_every_listed_unit(comprehensive):
    document = _docx(documents.round_notice(comprehensive))
    text = _text(document)
    assert _title(document) == "关于2026年第二季度综合测评红黑榜情况的通报"
    assert "文明示范市创建全国文明城市工作指挥部办公室" in document.paragraphs[0].text
    assert "〔2026〕X号" in text
    assert "各区县、各有关单位：" in text and "现将有关情况通报如下" in text
    assert "综合得分在90分以上且排名前十的单位，纳入综合测评红榜" in text
    assert "综合得分在70分以下且排名后十的单位，纳入综合测评黑榜" in text
    units = comprehensive.units
    listed = units[units["list"].isin(["red", "black"])]
    assert len(listed) > 10
    for name in listed["name"]:
        assert name in text, name
    for row in units[units["escalated"]].itertuples():
        assert re.search(rf"{re.escape(row.name)} \| .*启动核查程序", text), row.name
    assert "年度考核的重要指标" in text and "加3分" in text and "扣3分" in text
    assert "整改要求" in text and "15个工作日内" in text
    assert document.paragraphs[-1].text == "2026年6月30日"
    assert document.paragraphs[-2].text == "文明示范市创建全国文明城市工作指挥部办公室"


def test_a_group_without_a_list_says_why(comprehensive):
    text = _text(_docx(documents.round_notice(comprehensive)))
    status = comprehensive.list_status
    empty = status[(status["n_listed"] == 0) & (status["reason"] == "threshold") & (status["list"] == "black")]
    assert len(empty)  # the demo's 县区 have no black list this round
    assert "排名后十的单位综合得分均超过70分，当期不设黑榜。" in text


def test_a_special_round_says_special(special):
    document = _docx(documents.round_notice(special))
    text = _text(document)
    assert _title(document) == "关于2026年5月下旬“网申工作”专项测评红黑榜情况的通报"
    assert "专项得分" in text and "综合得分" not in text
    assert "不超过各组参评单位总数的五分之一" in text
    assert "加1分" in text and "扣1分" in text
    for name in special.units.loc[special.units["list"].isin(["red", "black"]), "name"]:
        assert name in text
    book = _workbook(workbook.round_workbook(special))
    assert book.worksheets[0]["C1"].value == "专项得分"


def test_the_criteria_are_the_parameters(demo):
    params, dataset = demo
    changed = params.model_copy(update={
        "lists": params.lists.model_copy(update={"red_min": 85.0, "comprehensive_size": 5}),
        "points": params.points.model_copy(update={"comprehensive_red": 5.0}),
    })
    text = _text(_docx(documents.round_notice(evaluate_round(dataset, changed))))
    assert "综合得分在85分以上且排名前五的单位" in text and "加5分" in text
    assert chinese_number(10) == "十" and chinese_number(12) == "十二" and chinese_number(4) == "四"
    assert share_words(0.2) == "五分之一" and share_words(0.25) == "四分之一" and share_words(0.6) == "五分之三"


def test_notice_layout_follows_gb_t_9704(comprehensive):
    content = documents.round_notice(comprehensive)
    document = _docx(content)
    section = document.sections[0]
    assert [round(m.mm) for m in (section.page_width, section.page_height, section.top_margin,
                                  section.bottom_margin, section.left_margin, section.right_margin)] == \
        [210, 297, 37, 35, 28, 26]

    def east_asian(run):
        return run._r.rPr.rFonts.get(qn("w:eastAsia"))

    title = next(p for p in document.paragraphs if p.text.startswith("关于"))
    assert east_asian(title.runs[0]) == "方正小标宋简体" and title.runs[0].font.size == Pt(22)
    body = next(p for p in document.paragraphs if p.text.startswith("为深入推进"))
    assert east_asian(body.runs[0]) == "仿宋_GB2312" and body.runs[0].font.size == Pt(16)
    heading = next(p for p in document.paragraphs if p.text == "一、评定标准")
    assert east_asian(heading.runs[0]) == "黑体"
    fonts = zipfile.ZipFile(io.BytesIO(content)).read("word/fontTable.xml").decode("utf-8")
    for face, substitute in documents.FONTS.values():
        assert f'w:name="{face}"' in fonts
        if face != substitute:
            assert f'<w:font w:name="{face}"><w:altName w:val="{substitute}"/>' in fonts


def test_annual_notice_gives_the_years_standing(year):
    document = _docx(documents.annual_notice(year))
    text = _text(document)
    assert _title(document) == "关于2026年度全国文明城市创建红黑榜考核情况的通报"
    assert "综合测评4次、专项测评24次" in text
    for name in year.standing["name"]:
        assert name in text
    assert "末位淘汰" in text and "五分之三" in text
    failed = year.standing[year.standing["passed"] == False]  # noqa: E712 - a nullable column
    assert len(failed)
    for name in failed["name"]:
        assert re.search(rf"{re.escape(name)} \| .* \| 未通过", text), name
    for name in year.escalations["name"]:
        assert name in text
    assert document.paragraphs[-1].text == "2026年12月31日"


# --------------------------------------------------------------------------- the workbook


def test_round_workbook_holds_every_unit_with_its_score(comprehensive):
    book = _workbook(workbook.round_workbook(comprehensive))
    units = comprehensive.units
    groups = sorted(units["ranking_group"].unique())
    assert book.sheetnames == [*groups, "分类得分", "指标得分", "扣分明细"]
    expected = ["排名", "单位名称", "综合得分", *(SOURCE_LABELS["zh"][s] for s in SOURCES),
                "红黑榜", "本期加减分", "年度累计", "核查程序", "一票否决"]
    seen = 0
    for group in groups:
        ws = book[group]
        rows = _rows(ws)
        assert list(rows.columns) == expected
        mine = units[units["ranking_group"] == group].set_index("name")
        assert sorted(rows["单位名称"]) == sorted(mine.index)
        for row in rows.itertuples(index=False):
            unit = mine.loc[row[1]]
            assert row[2] == pytest.approx(unit["score_rounded"])
            assert (row[8] if isinstance(row[8], str) else "") == {"red": "红榜", "black": "黑榜"}.get(unit["list"], "")
            assert row[9] == pytest.approx(unit["points"]) and row[10] == pytest.approx(unit["points_ytd"])
        seen += len(rows)
        # printing: the header repeats and stays in view, the page is as wide as the sheet, listed rows filled
        assert ws.freeze_panes == "C2" and ws.print_title_rows == "$1:$1"
        assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws["A1"].font.b and ws["C2"].number_format == "0.00"
        for i, name in enumerate(rows["单位名称"], start=2):
            colour = ws.cell(row=i, column=2).fill.fgColor.rgb
            listed = mine.loc[name, "list"]
            assert (colour.endswith("FFC7CE") if listed == "red" else
                    colour.endswith("404040") if listed == "black" else colour in (None, "00000000"))
    assert seen == len(units)
    vetoed = units[units["vetoed"]]
    shown = {r[1]: r[-1] for g in groups for r in _rows(book[g]).itertuples(index=False)}
    for name in vetoed["name"]:
        assert shown[name].startswith("一票否决：群众满意率")


def test_round_workbook_categories_indicators_deductions(comprehensive):
    book = _workbook(workbook.round_workbook(comprehensive))
    categories = _rows(book["分类得分"])
    assert len(categories) == len(comprehensive.units)
    c = comprehensive.categories.merge(comprehensive.units[["unit_id", "name"]], on="unit_id")
    for row in c.head(20).itertuples():
        got = categories.loc[categories["单位名称"] == row.name, row.category].iloc[0]
        assert got == pytest.approx(row.score)
    indicators = _rows(book["指标得分"])
    assert len(indicators) == len(comprehensive.units)
    assert "I01 交通秩序管理" in indicators.columns
    deductions = _rows(book["扣分明细"])
    assert list(deductions.columns)[:4] == ["排名分组", "单位名称", "扣分代码", "问题描述"]
    assert sorted(deductions["扣分代码"]) == sorted(comprehensive.deductions["code"])
    assert set(deductions["责任"]) <= {"主责", "连带"}
    assert book["指标得分"].page_setup.orientation == "landscape"


def test_annual_workbook_holds_every_unit_with_its_points(year):
    book = _workbook(workbook.annual_workbook(year))
    groups = sorted(year.standing["ranking_group"].unique())
    assert book.sheetnames == [*groups, "上榜记录", "核查程序"]
    total = 0
    for group in groups:
        rows = _rows(book[group])
        mine = year.standing[year.standing["ranking_group"] == group].set_index("name")
        for row in rows.itertuples(index=False):
            assert row[7] == pytest.approx(mine.loc[row[1], "points"])
        assert {"名次", "单位名称", "年度得分", "等次", "考核结果"} <= set(rows.columns)
        total += len(rows)
    assert total == len(year.standing)
    assert len(_rows(book["上榜记录"])) == int(year.points["list"].isin(["red", "black"]).sum())
    assert len(_rows(book["核查程序"])) == len(year.escalations)


# --------------------------------------------------------------------------- hostile names


def test_group_and_unit_names_from_the_data_are_safe(hostile):
    content = workbook.round_workbook(hostile)
    book = _workbook(content)
    for name in book.sheetnames:
        assert len(name) <= 31 and not set(name) & set("[]:*?/\\")
    assert book.sheetnames[:2] == ["A_B_C_", "a_b_c_(2)"]
    cell = next(c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value == HOSTILE_UNIT)
    assert cell.data_type == "s" and cell.quotePrefix

    # a formula-like first cell of a style: only it is marked, not the cells that share its style
    sheet = workbook.Sheet(name="s", title="t", frame=pd.DataFrame({"单位": ["=A1+1", "市民政局", "市总工会"]}),
                           kinds={}, fills=["", "", ""])
    book = _workbook(workbook.workbook_bytes([sheet], date=dt.date(2026, 1, 1), title="t", author=""))
    assert [c.quotePrefix for (c,) in book["s"].iter_rows(min_row=2)] == [True, False, False]
    archive = zipfile.ZipFile(io.BytesIO(content))
    sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
    assert not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in sheets)  # no formula anywhere

    document = _docx(documents.round_notice(hostile))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert HOSTILE_UNIT in cells and MARKUP_UNIT in cells  # one cell each: the "|" split nothing
    assert not any(p.text.startswith("标题") for p in document.paragraphs)  # the "#" made no heading
    assert "a/b:c*" in _text(document)


def test_sheet_names_are_cut_cleaned_and_unique():
    names = workbook.sheet_names(["a/b:c*", "A_B_C_", "x" * 40, "", "'q'", "History", "分类得分"],
                                 reserved=["分类得分"])
    assert names == ["a_b_c_", "A_B_C_(2)", "x" * 31, "分组", "q", "History(2)", "分类得分(2)"]


def test_the_markup_of_a_value_is_escaped(tmp_path):
    template = tmp_path / "t.txt.j2"
    template.write_text("| {{ a }} | {{ b }} |\n{{ c }}\n! {{ d }}\n", encoding="utf-8")
    params = Params(dataset="d", round="r", notice={"template": str(template)})
    text = documents.render_notice(params, {"a": "x|y", "b": "\\", "c": "## 不是标题", "d": "两\n行"})
    assert documents.parse_notice(text) == [("table", [["x|y", "\\"]]), ("body", "## 不是标题"), ("banner", "两 行")]


def test_round_name_prefers_the_datas_name():
    assert documents.round_name({"kind": "comprehensive", "date": "2026-06-30", "topic": None}) == "2026年第二季度"
    assert documents.round_name({"kind": "special", "date": "2026-05-05", "topic": "网申工作"}) == "2026年5月上旬“网申工作”"
    assert documents.round_name({"kind": "special", "date": "2026-05-05", "topic": "x", "name": "五月专项"}) == "五月专项"


# --------------------------------------------------------------------------- the same bytes


def test_the_same_inputs_give_the_same_bytes(comprehensive, year):
    builds = [office_documents(comprehensive.params, comprehensive) for _ in range(2)]
    assert builds[0] == builds[1]
    annual = [office_documents(year.params, year) for _ in range(2)]
    assert annual[0] == annual[1]
    for content, day in ((builds[0]["通报.docx"], (2026, 6, 30)), (builds[0]["测评结果.xlsx"], (2026, 6, 30)),
                         (annual[0]["年度考核通报.docx"], (2026, 12, 31)), (annual[0]["年度考核结果.xlsx"], (2026, 12, 31))):
        archive = zipfile.ZipFile(io.BytesIO(content))
        assert {info.date_time for info in archive.infolist()} == {(*day, 0, 0, 0)}  # no clock time anywhere
    props = _docx(builds[0]["通报.docx"]).core_properties
    assert (props.created.date(), props.modified.date()) == (pd.Timestamp("2026-06-30").date(),) * 2
    assert props.author == "文明示范市创建全国文明城市工作指挥部办公室" and props.revision == 1
    book = _workbook(builds[0]["测评结果.xlsx"]).properties
    assert book.created.date() == book.modified.date() == pd.Timestamp("2026-06-30").date()
    assert book.creator == props.author


# --------------------------------------------------------------------------- the office's own wording


def _with_notice(result, **notice):
    params = result.params.model_copy(update={"notice": result.params.notice.model_copy(update=notice)})
    return dataclasses.replace(result, params=params)


def test_an_offices_template_and_texts_change_the_wording(comprehensive, tmp_path):
    template = tmp_path / "ours.txt.j2"
    template.write_text(
        "! {{ issuer }}\n# 关于{{ round_name }}红黑榜的通报（试行）\n< 各单位：\n"
        "{% for u in red %}{{ u.name }}{{ u.score }}分。\n{% endfor %}> {{ date }}\n",
        encoding="utf-8",
    )
    result = _with_notice(comprehensive, template=str(template), issuer="某市文明办", number="某文明〔{year}〕7号",
                          rectification="第一段。\n第二段。")
    document = _docx(documents.round_notice(result))
    text = _text(document)
    assert _title(document) == "关于2026年第二季度红黑榜的通报（试行）"
    assert "各单位：" in text and "现将" not in text
    assert document.paragraphs[0].text == "某市文明办" and document.core_properties.author == "某市文明办"
    top = comprehensive.units[comprehensive.units["list"] == "red"].iloc[0]
    assert f"{top['name']}{top['score_rounded']:.2f}分。" in text

    builtin = _text(_docx(documents.round_notice(_with_notice(comprehensive, number="某文明〔{year}〕7号",
                                                                rectification="第一段。\n第二段。"))))
    assert "某文明〔2026〕7号" in builtin and "第一段。\n第二段。" in builtin


def test_a_broken_template_is_a_parameter_error(comprehensive, tmp_path):
    missing = _with_notice(comprehensive, template=str(tmp_path / "nowhere.txt.j2"))
    with pytest.raises(ParamError, match="notice.template.*does not exist"):
        documents.round_notice(missing)
    bad = tmp_path / "bad.txt.j2"
    bad.write_text("# 标题\n{% for u in red %}\n", encoding="utf-8")
    with pytest.raises(ParamError, match=r"bad.txt.j2:\d+: not a valid template"):
        documents.check_notice_template(_with_notice(comprehensive, template=str(bad)).params)
    unknown = tmp_path / "unknown.txt.j2"
    unknown.write_text("# {{ no_such_value }}\n", encoding="utf-8")
    with pytest.raises(ParamError, match="no_such_value"):
        documents.round_notice(_with_notice(comprehensive, template=str(unknown)))


def test_a_missing_template_stops_the_run_before_anything_is_written(tiny_dir, tmp_path, capsys):
    params = tmp_path / "p.yaml"
    params.write_text("dataset: tiny\nround: C2026Q1\nnotice:\n  template: ours.txt.j2\n", encoding="utf-8")
    code, _, err = run_cli(["run", params, "--out", tmp_path / "reports"], capsys)
    assert code == 2
    assert "notice.template" in err and str(tmp_path / "ours.txt.j2") in err
    assert not (tmp_path / "reports").exists()


def test_notice_parameters_are_checked():
    for notice in ({"issuer": "a\nb"}, {"issuer": " "}, {"number": ""}, {"rectification": "x\x00"}):
        with pytest.raises(ParamError, match="notice"):
            params_from_mapping({"dataset": "d", "round": "r", "notice": notice})


# --------------------------------------------------------------------------- a real run


@pytest.mark.slow
@pytest.mark.parametrize("report, files", [("round", ("通报.docx", "测评结果.xlsx")),
                                           ("annual", ("年度考核通报.docx", "年度考核结果.xlsx"))])
def test_a_run_folder_holds_the_notice_and_the_workbook(tiny_dir, tmp_path, capsys, report, files):
    template = tmp_path / "templates" / "ours.txt.j2"
    template.parent.mkdir()
    template.write_text("# {{ issuer }}的通报\n", encoding="utf-8")
    params = tmp_path / "p.yaml"
    body = "dataset: tiny\nround: C2026Q1\ncity: 测试市\n" + ("report: annual\n" if report == "annual" else "")
    params.write_text(body + "notice:\n  template: templates/ours.txt.j2\n", encoding="utf-8")
    code, out, err = run_cli(["run", params, "--out", tmp_path / "reports"], capsys)
    assert code == 0, err
    run_dir = Path(out.strip()).parent
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    for name in files:
        assert manifest["outputs"][name] == file_sha256(run_dir / name)
    notice = _docx((run_dir / files[0]).read_bytes())
    assert _title(notice) == "测试市创建全国文明城市工作指挥部办公室的通报"  # the template, relative to the params file
    assert manifest["params"]["notice"]["template"] == str(template.resolve())
    assert _workbook((run_dir / files[1]).read_bytes()).sheetnames
