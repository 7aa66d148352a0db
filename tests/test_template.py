"""The workbooks an office fills in: the blank template and a dataset written as one workbook."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from honorcalc.data.contract import (
    CONTRACT,
    KEYS,
    TABLE_NAMES_ZH,
    TABLES,
    final_score_rater,
)
from honorcalc.data.read import load_dataset
from honorcalc.data.template import (
    INSTRUCTIONS_SHEET,
    TEMPLATE_TIME,
    choice_label,
    choice_values,
    template_bytes,
    workbook_bytes,
    write_template,
    write_workbook,
)
from honorcalc.errors import InputError

from .conftest import tiny_tables, write_tables

ZH_ORDER = ["单位", "测评轮次", "指标", "评分", "扣分", "满意度调查", "责任关系"]
#: The Chinese value written for each choice: what an office types (one of `Col.aliases`).
ZH_VALUES = {
    ("units", "kind"): ("行业", "属地"),
    ("rounds", "kind"): ("综合测评", "专项测评"),
    ("scores", "source"): ("实地考察", "日常动态", "上级部门反馈", "市级领导督导", "群众监督举报"),
    ("scores", "visit"): ("明查", "暗访"),
    ("deductions", "role"): ("主责", "连带"),
    ("deductions", "verified"): ("是", "否"),
    ("responsibility", "relation"): ("属地", "行业", "挂包"),
}


def _book(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def _header(ws) -> list:
    return [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))]


def _validations(ws) -> dict[str, str]:
    """Column letter → the inline list of its drop-down."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        assert dv.type == "list"
        for rng in dv.sqref.ranges:
            assert rng.min_row == 2 and rng.max_row == 1_048_576 and rng.min_col == rng.max_col
            out[openpyxl.utils.get_column_letter(rng.min_col)] = dv.formula1
    return out


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    return load_dataset(write_tables(tmp_path_factory.mktemp("tpl") / "tiny", tiny_tables()))


# --------------------------------------------------------------------------- the template


def test_choice_labels_are_aliases_of_their_values():
    for (table, name), expected in ZH_VALUES.items():
        col = next(c for c in CONTRACT[table] if c.name == name)
        assert choice_values(col) == expected
        if col.kind == "choice":
            aliases = dict(col.aliases)
            assert [aliases[label] for label in expected] == list(col.choices)
            assert choice_values(col, "en") == col.choices
        else:
            assert choice_values(col, "en") == ("true", "false")
    enumerated = {(t, c.name) for t, cols in CONTRACT.items() for c in cols if c.kind in ("choice", "bool")}
    assert enumerated == set(ZH_VALUES)
    assert choice_label(CONTRACT["units"][2], "territorial") == "属地"


def test_template_sheets_headers_and_layout(tmp_path):
    path = write_template(tmp_path / "模板.xlsx")
    assert path == tmp_path / "模板.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["填表说明", *ZH_ORDER]
    assert wb.active.title == "填表说明"
    by_name = {TABLE_NAMES_ZH[t]: t for t in TABLES}
    for name in ZH_ORDER:
        ws = wb[name]
        table = by_name[name]
        cols = CONTRACT[table]
        assert _header(ws) == [c.zh for c in cols]  # the long form: every contract column
        assert ws.max_row == 1  # no data, no example rows among the data
        assert ws.freeze_panes == "A2"
        assert all(c.font.b for c in ws[1])
        letters = [openpyxl.utils.get_column_letter(k) for k in range(1, len(cols) + 1)]
        widths = [ws.column_dimensions[x].width for x in letters]
        assert all(8 <= w <= 40 for w in widths)
        assert widths[[c.zh for c in cols].index(cols[0].zh)] >= len(cols[0].zh) * 2
        expected = {x: '"' + ",".join(ZH_VALUES[(table, c.name)]) + '"'
                    for x, c in zip(letters, cols) if c.kind in ("choice", "bool")}
        assert _validations(ws) == expected
        for x, c in zip(letters, cols):  # typed into an empty cell: ids stay text, dates show yyyy-mm-dd
            fmt = ws.column_dimensions[x].number_format
            assert fmt == {"id": "@", "text": "@", "choice": "@", "bool": "@", "date": "yyyy-mm-dd"}.get(c.kind, fmt)
    assert wb["测评轮次"].column_dimensions["D"].number_format == "yyyy-mm-dd"


def test_template_in_english(tmp_path):
    wb = openpyxl.load_workbook(write_template(tmp_path / "template.xlsx", lang="en"))
    assert wb.sheetnames == ["instructions", "units", "rounds", "indicators", "scores", "deductions", "surveys",
                             "responsibility"]
    for table in TABLES:
        assert _header(wb[table]) == [c.name for c in CONTRACT[table]]
    assert _validations(wb["scores"]) == {"E": '"field,daily,feedback,leader,public"', "G": '"open,covert"'}
    assert _validations(wb["deductions"]) == {"E": '"primary,joint"', "F": '"true,false"'}
    text = " ".join(str(c.value) for row in wb["instructions"].iter_rows() for c in row if c.value)
    assert "scores-<round_id>" in text and "blank = not scored" in text


def test_instructions_explain_every_column_and_the_wide_form(tmp_path):
    ws = openpyxl.load_workbook(write_template(tmp_path / "t.xlsx"))["填表说明"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    text = " ".join(str(v) for row in rows for v in row if v)
    for phrase in ("长表", "宽表", "单位编号、评分人、评价来源", "明查暗访 和 轮次编号", "指标编号或与指标表完全一致的指标名称",
                   "留空 = 未评此指标", "评分-<轮次编号>", "没有 评分人 列的评分表填的是最终得分", "不会被读取",
                   "yyyy-mm-dd", "“001”就是“001”"):
        assert phrase in text, phrase
    header = ["表", "列名", "英文列名", "含义", "必填", "允许的值", "示例"]
    start = rows.index(header)
    described = {(r[0], r[1]): r for r in rows[start + 1:] if r[0] and r[1] and r[1] != "示例行"}
    for table in TABLES:
        name = TABLE_NAMES_ZH[table]
        for col in CONTRACT[table]:
            row = described[(name, col.zh)]
            assert row[2] == col.name
            assert row[3]  # a meaning
            assert row[4] == ("必填" if col.required else "选填")
            if col.kind in ("choice", "bool"):
                assert row[5] == "、".join(ZH_VALUES[(table, col.name)])
        example = [r for r in rows if r[0] == name and r[1] == "示例行"]
        assert len(example) == 1 and example[0][3].startswith(f"{CONTRACT[table][0].zh}=")
    assert described[("评分", "评价来源")][6] == "实地考察"
    assert described[("扣分", "是否核实")][6] == "是"
    assert described[("满意度调查", "满意人数")][5] == "≥ 0"
    assert described[("指标", "满分")][5] == "> 0"
    assert described[("责任关系", "分担比例")][5] == "> 0，≤ 1"


def test_template_refuses_an_existing_file_and_other_suffixes(tmp_path):
    path = write_template(tmp_path / "t.xlsx")
    with pytest.raises(InputError, match="exists"):
        write_template(path)
    path.write_bytes(b"old")
    write_template(path, force=True)
    assert path.read_bytes() == template_bytes()
    for name in ("t.xls", "t.csv", "t"):
        with pytest.raises(InputError, match=r"\.xlsx"):
            write_template(tmp_path / name)
        assert not (tmp_path / name).exists()
    with pytest.raises(InputError, match="lang"):
        write_template(tmp_path / "x.xlsx", lang="fr")


def test_template_bytes_are_deterministic(tmp_path):
    a = write_template(tmp_path / "a.xlsx").read_bytes()
    b = write_template(tmp_path / "b.xlsx").read_bytes()
    assert a == b
    assert template_bytes(lang="en") == template_bytes(lang="en") != a
    wb = _book(a)
    assert wb.properties.created == wb.properties.modified == TEMPLATE_TIME
    with zipfile.ZipFile(io.BytesIO(a)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2026, 1, 1, 0, 0, 0)}


# --------------------------------------------------------------------------- a dataset as a workbook


def _wide_to_long(ws, round_id: str) -> pd.DataFrame:
    """A wide score sheet back to one row per score (test only: the reader is elsewhere)."""
    head = _header(ws)
    ident = {"单位编号": "unit_id", "评分人": "rater_id", "评价来源": "source", "明查暗访": "visit"}
    n = sum(h in ident for h in head)
    choices = {c.name: c.choices for c in CONTRACT["scores"]}
    back = {column: dict(zip(ZH_VALUES[("scores", column)], choices[column])) for column in ("source", "visit")}
    rows = []
    for row in ws.iter_rows(min_row=2, values_only=True):
        base = {ident[h]: v for h, v in zip(head[:n], row[:n])}
        for h in ("source", "visit"):
            if base.get(h) is not None:
                base[h] = back[h][base[h]]
        for indicator, points in zip(head[n:], row[n:]):
            if points is not None:
                rows.append({"round_id": round_id, **base, "indicator_id": indicator, "points": float(points)})
    return pd.DataFrame(rows)


def test_workbook_sheets_values_and_types(tmp_path, tiny_dataset):
    path = write_workbook(tiny_dataset, tmp_path / "数据.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["单位", "测评轮次", "指标", "评分-C2026Q1", "评分-S2026-01a", "扣分", "满意度调查",
                             "责任关系", "填表说明"]
    units = wb["单位"]
    assert _header(units) == ["单位编号", "单位名称", "单位类型", "排名分组", "规模"]
    assert [c.value for c in units["A"][1:]] == ["001", "1", "002", "NA"]
    assert all(c.data_type == "s" and c.number_format == "@" for c in units["A"][1:])  # "001" and "1" stay text
    assert [c.value for c in units["C"][1:]] == ["属地", "行业", "属地", "行业"]
    assert [c.value for c in units["E"][1:]] == [120000, 800, None, 350]
    assert units["E"][1].data_type == "n"
    rounds = wb["测评轮次"]
    assert [c.value for c in rounds["B"][1:]] == ["综合测评", "专项测评"]
    assert [c.value for c in rounds["D"][1:]] == [dt.datetime(2026, 3, 31), dt.datetime(2026, 1, 10)]
    assert all(c.is_date and c.number_format == "yyyy-mm-dd" for c in rounds["D"][1:])
    assert rounds["C"][1].value is None and rounds["C"][2].value == "网申工作"
    deductions = wb["扣分"]
    assert [c.value for c in deductions["E"][1:]] == ["主责", "连带"]
    assert [c.value for c in deductions["F"][1:]] == ["是", "是"]
    assert _validations(deductions) == {"E": '"主责,连带"', "F": '"是,否"'}
    assert _header(wb["责任关系"]) == ["单位编号", "责任单位编号", "责任类型", "分担比例"]  # empty: the header only
    assert wb["责任关系"].max_row == 1 and _validations(wb["责任关系"]) == {"C": '"属地,行业,挂包"'}
    for ws in wb.worksheets[:-1]:
        assert ws.freeze_panes is not None and all(c.font.b for c in ws[1])
    assert wb.properties.created == wb.properties.modified == dt.datetime(2026, 3, 31)


def test_wide_score_sheets(tmp_path, tiny_dataset):
    wb = openpyxl.load_workbook(write_workbook(tiny_dataset, tmp_path / "w.xlsx"))
    ws = wb["评分-C2026Q1"]
    assert _header(ws) == ["单位编号", "评分人", "评价来源", "明查暗访", "I01", "I02"]
    # a (unit, rater, source, visit) per row: the tiny data score I01 on open and I02 on covert visits
    assert [r for r in ws.iter_rows(min_row=2, values_only=True)] == [
        ("001", "R01", "实地考察", "明查", 55, None), ("001", "R01", "实地考察", "暗访", None, 38),
        ("1", "R01", "实地考察", "明查", 40, None), ("1", "R01", "实地考察", "暗访", None, 30),
        ("002", "R01", "实地考察", "明查", 58.5, None), ("002", "R01", "实地考察", "暗访", None, 39),
        ("NA", "R01", "实地考察", "明查", 30, None), ("NA", "R01", "实地考察", "暗访", None, 20),
    ]
    assert ws.freeze_panes == "E2"  # the identifying columns stay in view
    assert _validations(ws) == {"C": '"' + ",".join(ZH_VALUES[("scores", "source")]) + '"', "D": '"明查,暗访"'}
    assert all(c.data_type == "s" for c in ws[1])  # indicator ids head their columns as text
    special = wb["评分-S2026-01a"]
    assert _header(special) == ["单位编号", "评分人", "评价来源", "T01"]  # no visits recorded: no 明查暗访
    back = pd.concat([_wide_to_long(wb[f"评分-{r}"], r) for r in ("C2026Q1", "S2026-01a")], ignore_index=True)
    key = list(KEYS["scores"])
    scores = tiny_dataset.scores
    assert sorted(back[key + ["points"]].itertuples(index=False, name=None)) == sorted(
        scores[key + ["points"]].itertuples(index=False, name=None))
    assert back["visit"].tolist()[:2] == ["open", "covert"]


def test_long_score_sheet(tmp_path, tiny_dataset):
    wb = openpyxl.load_workbook(write_workbook(tiny_dataset, tmp_path / "l.xlsx", wide_scores=False))
    assert "评分" in wb.sheetnames and not any(n.startswith("评分-") for n in wb.sheetnames)
    ws = wb["评分"]
    assert _header(ws) == [c.zh for c in CONTRACT["scores"]]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(tiny_dataset.scores)
    assert rows[0] == ("C2026Q1", "001", "I01", "R01", "实地考察", 55, "明查")
    assert rows[-1] == ("S2026-01a", "NA", "T01", "R01", "实地考察", 70, None)


def test_text_frames_write_the_same_workbook_as_the_dataset(tiny_dataset):
    assert workbook_bytes(tiny_tables()) == workbook_bytes(tiny_dataset)


def test_round_name_final_scores_and_formulas(tmp_path):
    tables = tiny_tables()
    tables["rounds"]["name"] = ["2026年第一季度综合测评", ""]
    scores = tables["scores"]
    scores["rater_id"] = [final_score_rater(s) for s in scores["source"]]  # final scores: no raters
    tables["deductions"].loc[0, "note"] = '=HYPERLINK("http://x","y")'
    tables["deductions"].loc[1, "note"] = "占道\x07经营"  # a control character XML cannot hold
    wb = openpyxl.load_workbook(write_workbook(tables, tmp_path / "f.xlsx"))
    assert [c.value for c in wb["测评轮次"]["E"][1:]] == ["2026年第一季度综合测评", None]
    assert _header(wb["评分-C2026Q1"]) == ["单位编号", "评价来源", "明查暗访", "I01", "I02"]
    assert wb["评分-C2026Q1"].oddHeader.center.text == "评分　2026年第一季度综合测评"
    assert wb["评分-S2026-01a"].oddHeader.center.text == "评分　S2026-01a（专项测评 2026-01-10）"
    note = wb["扣分"]["G"][1]
    assert note.value == '=HYPERLINK("http://x","y")' and note.data_type == "s" and note.quotePrefix
    assert wb["扣分"]["G"][2].value == "占道经营"
    long = openpyxl.load_workbook(write_workbook(tables, tmp_path / "g.xlsx", wide_scores=False))["评分"]
    assert "评分人" not in _header(long) and len(_header(long)) == 6


def test_round_id_that_cannot_name_a_sheet(tmp_path):
    tables = tiny_tables()
    for table in ("rounds", "scores", "deductions", "surveys"):
        tables[table]["round_id"] = tables[table]["round_id"].replace({"C2026Q1": "2026/Q1"})
    wb = openpyxl.load_workbook(write_workbook(tables, tmp_path / "r.xlsx"))
    assert "评分-1" in wb.sheetnames and "评分-S2026-01a" in wb.sheetnames
    ws = wb["评分-1"]
    assert _header(ws)[:2] == ["轮次编号", "单位编号"]
    assert {r[0] for r in ws.iter_rows(min_row=2, values_only=True)} == {"2026/Q1"}


def test_workbook_in_english(tmp_path, tiny_dataset):
    wb = openpyxl.load_workbook(write_workbook(tiny_dataset, tmp_path / "e.xlsx", lang="en"))
    assert wb.sheetnames == ["units", "rounds", "indicators", "scores-C2026Q1", "scores-S2026-01a", "deductions",
                             "surveys", "responsibility", INSTRUCTIONS_SHEET["en"]]
    assert _header(wb["scores-C2026Q1"])[:4] == ["unit_id", "rater_id", "source", "visit"]
    assert [c.value for c in wb["units"]["C"][1:]] == ["territorial", "industry", "territorial", "industry"]
    assert [c.value for c in wb["deductions"]["F"][1:]] == ["true", "true"]


def test_workbook_refusals(tmp_path, tiny_dataset):
    tables = tiny_tables()
    del tables["scores"]
    with pytest.raises(InputError, match="scores"):
        workbook_bytes(tables)
    with pytest.raises(InputError, match="unknown table 'score'"):
        workbook_bytes({**tiny_tables(), "score": tiny_tables()["scores"]})
    with pytest.raises(InputError, match=r"\.xlsx"):
        write_workbook(tiny_dataset, tmp_path / "w.csv")
    path = write_workbook(tiny_dataset, tmp_path / "w.xlsx")
    with pytest.raises(InputError, match="exists"):
        write_workbook(tiny_dataset, path)
    write_workbook(tiny_dataset, path, force=True)


def test_demo_city_workbook(tmp_path, demo_data):
    from honorcalc.datasets.demo import make_demo_city

    dataset = load_dataset(demo_data)
    data = write_workbook(dataset, tmp_path / "demo.xlsx").read_bytes()
    assert data == workbook_bytes(make_demo_city())  # deterministic, and the text frames give the same workbook
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    score_sheets = [n for n in wb.sheetnames if n.startswith("评分-")]
    assert score_sheets == [f"评分-{r}" for r in dataset.rounds["round_id"]]
    ws = wb["评分-C2026Q1"]
    part = dataset.scores[dataset.scores["round_id"] == "C2026Q1"]
    head = _header(ws)
    assert head[:4] == ["单位编号", "评分人", "评价来源", "明查暗访"]
    assert head[4:] == [i for i in dataset.indicators["indicator_id"] if i in set(part["indicator_id"])]
    cells = sum(v is not None for row in ws.iter_rows(min_row=2, min_col=5, values_only=True) for v in row)
    assert cells == len(part)
    assert sum(1 for _ in ws.iter_rows(min_row=2)) == len(part.drop_duplicates(["unit_id", "rater_id", "source",
                                                                                 "visit"]))
    assert wb.properties.modified == dt.datetime(2026, 12, 31)


def test_a_wide_sheet_refuses_two_different_scores_for_one_cell():
    tables = tiny_tables()
    scores = tables["scores"]
    tables["scores"] = pd.concat([scores, scores.iloc[[0]]], ignore_index=True)  # an exact copy: one cell
    assert workbook_bytes(tables) == workbook_bytes(tiny_tables())
    conflicting = scores.iloc[[0]].assign(points="54")
    tables["scores"] = pd.concat([scores, conflicting], ignore_index=True)
    with pytest.raises(InputError, match=r"two scores for indicator I01 .*\(55 and 54\).*wide_scores=False"):
        workbook_bytes(tables)
    assert len(_book(workbook_bytes(tables, wide_scores=False))["评分"]["A"]) == len(scores) + 2


def test_numbered_score_sheets_never_take_a_round_name(tmp_path):
    tables = tiny_tables()
    for table in ("rounds", "scores", "deductions", "surveys"):
        tables[table]["round_id"] = tables[table]["round_id"].replace({"C2026Q1": "a/b", "S2026-01a": "1"})
    wb = openpyxl.load_workbook(write_workbook(tables, tmp_path / "n.xlsx"))
    assert [n for n in wb.sheetnames if n.startswith("评分")] == ["评分-2", "评分-1"]  # 评分-1 is round 1's
    assert _header(wb["评分-2"])[0] == "轮次编号" and _header(wb["评分-1"])[0] == "单位编号"
