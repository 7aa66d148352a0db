"""What honorcalc writes is inert: no spreadsheet formula in a CSV, no mathtext in a figure.

A unit name, group, rater id or note starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return would be run as a formula by the spreadsheet a clerk
opens a CSV in. Every text cell honorcalc writes is neutralised with a leading
``'`` (`honorcalc.data.write.escape_cell`), and the run's tables are read back
exactly as they were (`honorcalc.runs.notebook.read_table`). A name with ``$``
in it is drawn as it is written, never as mathtext.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import html
import io
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.text import Text
from pandas.testing import assert_frame_equal

from honorcalc.data.read import load_dataset
from honorcalc.data.write import (
    FORMULA_START,
    escape_cell,
    neutralise_formulas,
    restore_text,
    table_bytes,
    unescape_cell,
    write_csv,
    write_dataset,
    write_tables,
)
from honorcalc.datasets.demo import make_demo_city
from honorcalc.params import Params
from honorcalc.report import figures
from honorcalc.report.figures.style import style
from honorcalc.report.i18n import ANNUAL_FIGURE_LABELS, FIGURE_LABELS
from honorcalc.runs.notebook import column_types, read_run_tables, read_table
from honorcalc.runs.pipeline import evaluate, run_tables

from .conftest import tiny_tables

#: Cells a spreadsheet would run as formulas, and cells that look like escaped ones.
FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)", "\tTAB", "\rCR", "\nLF",
            "＝1+1", "＋1", "－1", "＠SUM(A1)"]
ESCAPED_LOOKING = ["'=already", "''+twice", "'", "'plain", "''"]
PLAIN = ["东城区", "", "a=b", " =1", "1-2", "U001", "a\rb", "x\ty"]

#: Unit names matplotlib would read as mathtext.
MATH_NAMES = ["单位$$", "a$b$c", "$\\frac{1}{2}$", "\\alpha"]


def _cells(data: bytes) -> list[list[str]]:
    """The rows of CSV bytes as a spreadsheet splits them (RFC 4180: quoted fields may hold line breaks)."""
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def _formula_cells(rows: list[list[str]]) -> list[str]:
    """Cells that start with a formula character and are not numbers."""
    def number(cell):
        try:
            float(cell)
        except ValueError:
            return False
        return True
    return [cell for row in rows for cell in row if cell[:1] in FORMULA_START and not number(cell)]


# --------------------------------------------------------------------------- one cell


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_is_escaped_with_one_quote(text):
    assert escape_cell(text) == "'" + text
    assert unescape_cell(escape_cell(text)) == text


@pytest.mark.parametrize("text", ESCAPED_LOOKING + PLAIN)
def test_other_text_is_escaped_only_when_it_would_read_back_as_another(text):
    if text.lstrip("'")[:1] in FORMULA_START:
        assert escape_cell(text) == "'" + text
    else:
        assert escape_cell(text) == text
    assert unescape_cell(escape_cell(text)) == text


def test_the_formula_characters_are_owasps_and_their_full_width_forms():
    assert set("=+-@\t\r") <= FORMULA_START
    assert set("＝＋－＠") <= FORMULA_START
    assert "'" not in FORMULA_START and "(" not in FORMULA_START


@given(st.text() | st.text(alphabet=st.sampled_from("'=+-@\t\r\n＝＋a1 \"")))
def test_escaping_round_trips_and_never_leaves_a_formula(text):
    escaped = escape_cell(text)
    assert unescape_cell(escaped) == text
    assert escaped[:1] not in FORMULA_START
    assert escaped in (text, "'" + text)


# --------------------------------------------------------------------------- tables


def _mixed_frame() -> pd.DataFrame:
    texts = FORMULAS + ESCAPED_LOOKING + PLAIN
    n = len(texts)
    return pd.DataFrame({
        "name": pd.Series(texts, dtype="str"),
        "note": pd.Series(texts[::-1], dtype=object),
        # missing cells, and no empty text: a blank cell then reads back as missing
        "maybe": pd.Series([(t or "x") if k % 3 else np.nan for k, t in enumerate(texts)], dtype="str"),
        "text_id": pd.Series(["-3"] * n, dtype="str"),
        "delta": np.arange(n) - 3,
        "score": np.linspace(-2.5, 2.5, n),
        "count": pd.Series(list(range(-3, n - 3)), dtype=object),
        "pair": [("=U1", "-2")] * n,
        "flag": [True, False] * (n // 2) + [True] * (n % 2),
        "=HYPERLINK(\"x\")": ["a"] * n,
    })


def test_table_bytes_neutralise_text_cells_and_leave_numbers():
    frame = _mixed_frame()
    rows = _cells(table_bytes(frame))
    assert len(rows) == len(frame) + 1 and {len(r) for r in rows} == {frame.shape[1]}
    assert _formula_cells(rows) == []
    header, body = rows[0], pd.DataFrame(rows[1:], columns=rows[0])
    assert header[-1] == "'=HYPERLINK(\"x\")"
    # numbers stay numbers: a spreadsheet reads -3 as minus three
    assert list(body["delta"]) == [str(v) for v in frame["delta"]]
    assert list(body["count"]) == [str(v) for v in frame["count"]]
    assert body["score"].iloc[0] == "-2.5"
    # an id is text, even when it looks like a number
    assert set(body["text_id"]) == {"'-3"}
    assert list(body["name"]) == [escape_cell(t) for t in frame["name"]]


def test_a_carriage_return_inside_a_cell_is_quoted():
    """A bare CR ends a row for Excel and pandas alike: a cell holding one is quoted."""
    frame = pd.DataFrame({"a": ["x\ry", "\rz", "plain"], "b": [1, 2, 3]})
    data = table_bytes(frame)
    assert b'"x\ry"' in data and b"\"'\rz\"" in data
    assert len(_cells(data)) == 4
    assert len(pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)) == 3


def test_tables_without_formulas_are_written_as_before():
    frame = pd.DataFrame({"unit_id": ["U001", "U002"], "name": ["东城区", 'say "hi", then\nleave'],
                          "score": [-1.25, 3.0]})
    expected = frame.to_csv(index=False, lineterminator="\n", float_format="%.10g").encode("utf-8")
    assert table_bytes(frame) == expected


def test_the_frame_given_is_not_changed():
    frame = _mixed_frame()
    before = frame.copy()
    table_bytes(frame)
    neutralise_formulas(frame)
    assert_frame_equal(frame, before)


def test_categories_and_repeated_column_names_are_neutralised_too():
    categorical = pd.DataFrame({"group": pd.Categorical(["=组", "组", "=组"]), "n": pd.Categorical([-1, 2, -1])})
    assert table_bytes(categorical) == "group,n\n'=组,-1\n组,2\n'=组,-1\n".encode("utf-8")
    repeated = pd.DataFrame([["=a", -1, "-b"], ["c", 2, "d"]], columns=["x", "y", "x"])
    assert table_bytes(repeated) == b"x,y,x\n'=a,-1,'-b\nc,2,d\n"


def test_a_table_read_as_text_is_restored():
    frame = _mixed_frame()
    text = pd.read_csv(io.BytesIO(table_bytes(frame)), dtype=str, keep_default_na=False)
    restored = restore_text(text)
    assert list(restored.columns) == list(frame.columns)
    for column in ("name", "note", "text_id"):
        assert restored[column].tolist() == frame[column].tolist()
    assert restored["delta"].tolist() == [str(v) for v in frame["delta"]]


def test_write_csv_and_write_dataset_neutralise(tmp_path):
    frame = _mixed_frame()
    for path in (write_csv(frame, tmp_path / "one.csv"), *write_dataset({"units": frame}, tmp_path / "data")):
        rows = _cells(path.read_bytes())
        assert len(rows) == len(frame) + 1
        assert _formula_cells(rows) == []


def test_a_table_is_read_back_exactly():
    frame = _mixed_frame()
    back = read_table(table_bytes(frame), column_types(frame))
    assert_frame_equal(back, frame, check_dtype=False)
    for column in ("name", "note", "maybe", "text_id", "=HYPERLINK(\"x\")"):
        assert back[column].fillna("∅").tolist() == frame[column].fillna("∅").tolist()


# --------------------------------------------------------------------------- a hostile dataset


def _hostile_tables() -> dict[str, pd.DataFrame]:
    """The tiny city with formulas in every kind of text field, and two units named with dollars."""
    tables = tiny_tables()
    ids = {"001": "=U1", "1": "+U2", "002": "-3", "NA": "@U4"}
    for name in ("units", "scores", "deductions", "surveys"):
        tables[name]["unit_id"] = tables[name]["unit_id"].map(ids)
    units = tables["units"]
    units["name"] = ['=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)"]
    units["group"] = ["@县区", "-市直部门", "@县区", "-市直部门"]
    extra = pd.DataFrame({"unit_id": ["U5", "U6"], "name": MATH_NAMES[:2], "kind": ["territorial", "industry"],
                          "group": ["@县区", "-市直部门"], "size": ["1000", "200"]})
    tables["units"] = pd.concat([units, extra], ignore_index=True)
    for name in ("scores", "surveys"):
        frame = tables[name]
        copies = [frame[frame["unit_id"] == old].assign(unit_id=new) for old, new in (("=U1", "U5"), ("+U2", "U6"))]
        tables[name] = pd.concat([frame, *copies], ignore_index=True)
    tables["scores"]["rater_id"] = (["=R1", "-R2", "+R3", "@R4"] * 5)[: len(tables["scores"])]
    tables["indicators"]["category"] = ["=公共秩序", "+环境卫生", "网申工作"]
    tables["indicators"]["name"] = ["-占道经营治理", "@背街小巷卫生", "网上申报完成率"]
    tables["deductions"]["note"] = ["'=已转义", "＝1+1 a\rb"]
    return tables


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    """The hostile city as Parquet: its text reaches honorcalc exactly as written."""
    directory = tmp_path_factory.mktemp("hostile")
    for name, frame in _hostile_tables().items():
        frame.to_parquet(directory / f"{name}.parquet", index=False)
    return directory


def test_the_hostile_dataset_is_read_as_written(hostile_dir):
    ds = load_dataset(hostile_dir)
    assert ds.units["name"].tolist()[:4] == ['=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)"]
    assert set(ds.scores["rater_id"]) == {"=R1", "-R2", "+R3", "@R4"}


def test_every_table_of_a_run_is_neutralised_and_read_back_exactly(hostile_dir, tmp_path):
    params = Params(dataset=str(hostile_dir), round="C2026Q1")
    tables = run_tables(params, load_dataset(hostile_dir))
    assert "=HYPERLINK(\"http://x\",\"y\")" in set(tables["ranking.csv"]["name"])
    write_tables(tables, tmp_path)
    for path in tmp_path.glob("*.csv"):
        assert _formula_cells(_cells(path.read_bytes())) == [], path.name
    ranking = _cells((tmp_path / "ranking.csv").read_bytes())
    assert "'=HYPERLINK(\"http://x\",\"y\")" in {cell for row in ranking for cell in row}
    hashes = {name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() for name in tables}
    back = read_run_tables(tmp_path, hashes, {name: column_types(frame) for name, frame in tables.items()})
    for name, frame in tables.items():
        assert_frame_equal(back[name], frame, check_dtype=False, check_index_type=False, obj=name)
        for column in frame.columns:
            if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column].dtype):
                assert back[name][column].fillna("∅").tolist() == frame[column].fillna("∅").tolist()


@pytest.mark.slow
def test_a_hostile_run_writes_inert_csvs_and_reports_the_names_as_written(hostile_dir, tmp_path):
    from honorcalc.runs.folder import run_report
    from honorcalc.runs.verify import verify_run

    (tmp_path / "p.yaml").write_text(f"dataset: {hostile_dir}\nround: C2026Q1\ncity: 测试市\n", encoding="utf-8")
    result = run_report(tmp_path / "p.yaml", out=tmp_path / "reports")
    written = sorted(result.run_dir.rglob("*.csv"))
    assert written
    for path in written:
        assert _formula_cells(_cells(path.read_bytes())) == [], path.name
    for path in result.run_dir.rglob("*.xlsx"):
        # a workbook keeps the text as it is: a text cell is never a formula, and one that starts
        # like a formula is also marked as text for editing (Excel's quote prefix)
        from openpyxl import load_workbook

        cells = [c for sheet in load_workbook(path) for row in sheet.iter_rows() for c in row]
        assert not [c.value for c in cells if c.data_type == "f"], path.name
        assert not [c.value for c in cells if isinstance(c.value, str) and c.value[:1] in FORMULA_START
                    and not (c.data_type == "s" and c.quotePrefix)], path.name
    report = (result.run_dir / "report.html").read_text(encoding="utf-8")
    for name in ['=HYPERLINK("http://x","y")', "-1+2", "@SUM(A1)", *MATH_NAMES[:2]]:
        shown = {html.escape(name, quote=True), html.escape(name, quote=False),
                 name.replace('"', "&#34;")}
        assert any(s in report for s in shown), name
        assert not any("'" + s in report or "&#39;" + s in report for s in shown), name
    assert verify_run(result.run_dir) == []


# --------------------------------------------------------------------------- figures


@pytest.fixture(scope="module")
def dollar_city(tmp_path_factory):
    """The demo city with every unit, three groups and four categories named as mathtext would read them."""
    root = tmp_path_factory.mktemp("dollar_city")
    write_dataset(make_demo_city(), root)
    ds = load_dataset(root)
    units = ds.units.copy()
    units["name"] = [MATH_NAMES[k % len(MATH_NAMES)] for k in range(len(units))]
    groups = {g: MATH_NAMES[k] for k, g in enumerate(sorted(units["group"].unique())[:3])}
    units["group"] = units["group"].map(lambda g: groups.get(g, g))
    indicators = ds.indicators.copy()
    categories = {c: MATH_NAMES[k] for k, c in enumerate(indicators["category"].drop_duplicates()[:4])}
    indicators["category"] = indicators["category"].map(lambda c: categories.get(c, c))
    return root, dataclasses.replace(ds, units=units, indicators=indicators)


def _dollar_figures(dollar_city) -> dict:
    root, ds = dollar_city
    params = Params(dataset=str(root), round="C2026Q2")
    result = evaluate(params, ds)
    annual = evaluate(Params(dataset=str(root), round="C2026Q2", report="annual"), ds)
    n = 12
    raters = pd.DataFrame({"rater_id": [*MATH_NAMES, "R05", "D01"], "severity": [1.6, -1.3, 0.1, 0.2, -0.2, np.nan],
                           "ci_low": [1.2, -1.7, -0.2, -0.1, -0.5, np.nan],
                           "ci_high": [2.0, -0.9, 0.4, 0.5, 0.1, np.nan],
                           "flagged": [True, True, False, False, False, False], "scale": 10.0})
    score = np.r_[np.full(n - 4, 80.0) + np.arange(n - 4) * 0.1, 40.0, 99.5, 41.0, 99.0]
    funnel = pd.DataFrame({
        "unit_id": [f"U{k:02d}" for k in range(n)], "name": [MATH_NAMES[k % 4] for k in range(n)],
        "ranking_group": MATH_NAMES[0], "score": score, "precision": 1.0, "target": 80.0, "tau2": 0.0,
        "level_inner": 0.95, "level_outer": 0.998,
        "status_outer": ["within"] * (n - 4) + ["below", "above", "below", "above"],
    })
    ids = result.units["unit_id"].tolist()[:8]
    gaps = pd.DataFrame({"unit_id": ids, "gap": np.linspace(-15, 2, 8), "ci_low": np.linspace(-17, 0, 8),
                         "ci_high": np.linspace(-13, 4, 8), "flagged": [True] + [False] * 7})
    return {
        "plot_score_distribution": figures.plot_score_distribution(result),
        "plot_score_intervals": figures.plot_score_intervals(result),
        "plot_category_heatmap": figures.plot_category_heatmap(result),
        "plot_list_history": figures.plot_list_history(result),
        "plot_rater_severity": figures.plot_rater_severity(raters),
        "plot_funnel": figures.plot_funnel(funnel),
        "plot_visit_gap": figures.plot_visit_gap(gaps, result),
        "plot_points_over_year": figures.plot_points_over_year(annual),
    }


def test_every_figure_draws_dollar_names_as_plain_text(dollar_city):
    built = _dollar_figures(dollar_city)
    assert set(built) == {name for name in figures.__all__ if name.startswith("plot_")}
    drawn: set[str] = set()
    for kind, fig in built.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = figures.png_bytes(fig, dpi=40)
        assert data.startswith(b"\x89PNG"), kind
        texts = [t for t in fig.findobj(Text) if t.get_text()]
        assert not [t.get_text() for t in texts if t.get_parse_math() or t.get_usetex()], kind
        drawn |= {t.get_text().replace("\n", "") for t in texts}
    # group titles, category columns, rater ticks and unit labels carry the names exactly
    assert set(MATH_NAMES) <= drawn


def test_a_dollar_figure_drawn_outside_the_style_still_draws_its_names_plainly(dollar_city):
    """A notebook's inline display draws under the caller's rcParams (mathtext on)."""
    fig = _dollar_figures(dollar_city)["plot_rater_severity"]
    with matplotlib.rc_context({"text.parse_math": True, "text.usetex": False}), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert set(MATH_NAMES) <= set(labels)


def test_the_style_draws_text_as_written():
    assert style()["text.parse_math"] is False
    assert style()["text.usetex"] is False


def test_no_label_of_the_figures_is_mathtext():
    """So turning mathtext off changes no figure of a city without dollars in its names."""
    for table in (*FIGURE_LABELS.values(), *ANNUAL_FIGURE_LABELS.values()):
        assert not [v for v in table.values() if "$" in v]
