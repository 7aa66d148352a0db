"""Names and ids that deceive the eye or the terminal.

- ids that differ only by invisible characters, Unicode normalisation or
  look-alike letters of another script are refused, both named with their code points;
- terminal escapes and right-to-left overrides in names are shown inert by
  ``explain`` (escaped) and in the HTML report (escaped by Jinja2, isolated in <bdi>);
- ``honorcalc demo DIR`` neither overwrites a dataset nor writes through a symlink.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

from honorcalc.data.contract import TABLES
from honorcalc.data.read import load_dataset
from honorcalc.errors import ValidationError

from .conftest import run_cli, set_cell, tiny_tables, write_tables


def append_row(table, row):
    def edit(tables):
        frame = tables[table]
        tables[table] = pd.concat([frame, pd.DataFrame([row], columns=frame.columns)], ignore_index=True)
    return edit


def refused(tmp_path, *edits) -> pd.DataFrame:
    tables = tiny_tables()
    for edit in edits:
        edit(tables)
    with pytest.raises(ValidationError) as info:
        load_dataset(write_tables(tmp_path / "bad", tables))
    return info.value.failure_cases


UNIT = ["某单位", "industry", "市直部门", ""]

TWINS = {
    # (edit, file, row, column, words the message must hold)
    "zero-width space": (append_row("units", ["001\u200b", *UNIT]), "units.csv", 6, "unit_id",
                         ("'001' (U+0030 U+0030 U+0031)", "U+200B", "row 2")),
    "Greek capitals": (append_row("units", ["\u039d\u0391", *UNIT]), "units.csv", 6, "unit_id",
                       ("'NA' (U+004E U+0041)", "'ΝΑ' (U+039D U+0391)", "row 5")),
    "Cyrillic letter in an indicator id": (
        append_row("indicators", ["\u040601", "重复", "公共秩序", "60", ""]),
        "indicators.csv", 5, "indicator_id", ("U+0406", "'I01' (U+0049 U+0030 U+0031)")),
    "rater id with a word joiner": (
        set_cell("scores", 1, "rater_id", "R\u206001"), "scores.csv", 3, "rater_id", ("U+2060", "'R01'")),
}


def nfd_codes(tables):
    tables["deductions"].loc[0, "code"] = "Né"
    tables["deductions"].loc[1, "code"] = "Ne\u0301"


TWINS["deduction codes NFC and NFD"] = (nfd_codes, "deductions.csv", 3, "code",
                                        ("U+00E9", "U+0065 U+0301", "row 2"))


@pytest.mark.parametrize("case", sorted(TWINS))
def test_lookalike_ids_are_refused_with_code_points(tmp_path, case):
    edit, file, row, column, words = TWINS[case]
    cases = refused(tmp_path, edit)
    hit = cases[(cases["file"] == file) & (cases["row"] == row) & (cases["column"] == column)]
    assert not hit.empty, cases.to_string()
    message = " ".join(hit["expected"].astype(str))
    for word in words:
        assert word in message, message


def test_invisible_character_in_an_id_without_twin_is_refused(tmp_path):
    cases = refused(tmp_path, append_row("units", ["U9\u200d", *UNIT]))
    hit = cases[(cases["row"] == 6) & (cases["column"] == "unit_id")]
    assert not hit.empty, cases.to_string()
    assert "U+200D" in hit["expected"].iloc[0] and "invisible" in hit["expected"].iloc[0]


def test_whole_message_names_file_row_column_and_both_ids(tmp_path):
    tables = tiny_tables()
    append_row("units", ["\u039d\u0391", *UNIT])(tables)
    with pytest.raises(ValidationError) as info:
        load_dataset(write_tables(tmp_path / "bad", tables))
    text = str(info.value)
    assert "units.csv:6: column 'unit_id'" in text
    assert "'NA' (U+004E U+0041) and 'ΝΑ' (U+039D U+0391)" in text


def test_distinct_ids_in_other_scripts_stay_allowed(tmp_path):
    tables = tiny_tables()
    append_row("units", ["东城001", *UNIT])(tables)
    append_row("units", ["Ω1", *UNIT])(tables)
    append_row("units", ["café", *UNIT])(tables)
    load_dataset(write_tables(tmp_path / "ok", tables))


# ``honorcalc demo DIR``: never over a dataset, never through a link

def test_demo_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    target = tmp_path / "data"
    target.mkdir()
    (target / "units.csv").write_text("unit_id,name\nU1,mine\n", encoding="utf-8")
    code, out, err = run_cli(["demo", target], capsys)
    assert code == 2, err
    assert "not empty" in err and "--force" in err and "Traceback" not in err
    assert (target / "units.csv").read_text(encoding="utf-8") == "unit_id,name\nU1,mine\n"


def test_demo_force_overwrites_and_keeps_other_files(tmp_path, capsys):
    target = tmp_path / "data"
    target.mkdir()
    (target / "units.csv").write_text("old", encoding="utf-8")
    (target / "notes.txt").write_text("keep", encoding="utf-8")
    code, out, err = run_cli(["demo", "--force", target], capsys)
    assert code == 0, err
    assert "市公安局" in (target / "units.csv").read_text(encoding="utf-8")
    assert (target / "notes.txt").read_text(encoding="utf-8") == "keep"
    assert not [p for p in target.iterdir() if p.name.startswith(".")]


def test_demo_writes_a_new_or_empty_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for target in (tmp_path / "empty", tmp_path / "new" / "demo"):
        code, out, err = run_cli(["demo", target], capsys)
        assert code == 0, err
        assert len(out.split()) == len(TABLES)  # one file per table


@pytest.mark.parametrize("force", [False, True])
def test_demo_never_writes_through_a_linked_file(tmp_path, capsys, force):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    target = tmp_path / "data"
    target.mkdir()
    os.symlink(victim, target / "scores.csv")
    code, out, err = run_cli(["demo", *(["--force"] if force else []), target], capsys)
    assert code == 2, err
    assert "symbolic link" in err and "scores.csv" in err
    assert victim.read_text(encoding="utf-8") == "precious"
    assert sorted(p.name for p in target.iterdir()) == ["scores.csv"]


@pytest.mark.parametrize("force", [False, True])
def test_demo_never_writes_into_a_linked_folder(tmp_path, capsys, force):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    os.symlink(real, link, target_is_directory=True)
    code, out, err = run_cli(["demo", *(["--force"] if force else []), link], capsys)
    assert code == 2, err
    assert "symbolic link" in err
    assert not list(real.iterdir())


# terminal escapes and right-to-left overrides in names

HOSTILE = "东城区\x1b[2J\x1b]0;owned\x07\u202egnaw\u202c\x9b31m"


def hostile_dataset(tmp_path):
    tables = tiny_tables()
    tables["units"].loc[0, "name"] = HOSTILE
    tables["indicators"].loc[0, "name"] = "占道\u2066经营\x1b[0m"
    return load_dataset(write_tables(tmp_path / "hostile", tables))


def assert_inert(text: str) -> None:
    active = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f
              or 0x202a <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069]
    assert not active, [hex(ord(c)) for c in active]


def test_explain_unit_shows_escapes_and_overrides_escaped(tmp_path):
    from honorcalc.explain.unit import explain_unit
    from honorcalc.params import Params
    from honorcalc.rules.evaluate import evaluate_round

    result = evaluate_round(hostile_dataset(tmp_path), Params(dataset="x", round="C2026Q1"), "C2026Q1")
    text = explain_unit(result, "001", lang="en")
    assert_inert(text)
    assert "东城区\\x1b[2J\\x1b]0;owned\\x07\\u202egnaw\\u202c\\x9b31m" in text
    assert "占道\\u2066经营\\x1b[0m" in text


def test_explain_year_text_and_json_are_inert(tmp_path):
    import json

    from honorcalc.explain.year import explain_year
    from honorcalc.params import Params
    from honorcalc.rules.annual import evaluate_year

    year = evaluate_year(hostile_dataset(tmp_path), Params(dataset="x", round="C2026Q1", report="annual"))
    text = explain_year(year, "001", lang="zh")
    assert_inert(text)
    assert "\\u202egnaw" in text
    data = explain_year(year, "001", as_json=True)
    assert_inert(data.replace("\n", ""))
    assert json.loads(data)["standing"]["name"] == HOSTILE


@pytest.mark.parametrize("as_json", [False, True])
def test_explain_command_prints_names_inert(tmp_path, capsys, monkeypatch, as_json):
    import json

    import honorcalc.runs.recorded as recorded

    def fake(run_dir, unit_id, *, lang=None, as_json=False):
        if as_json:
            return json.dumps({"name": HOSTILE}, ensure_ascii=False)
        return f"单位 {unit_id} {HOSTILE}\n下一行"

    monkeypatch.setattr(recorded, "explain_in_run", fake)
    code, out, err = run_cli(["explain", tmp_path, "001", *(["--json"] if as_json else [])], capsys)
    assert code == 0, err
    assert_inert(out.replace("\n", ""))
    if as_json:
        assert json.loads(out)["name"] == HOSTILE
    else:
        assert "\\x1b[2J" in out and "\\u202egnaw\\u202c" in out and "\n下一行" in out


def test_report_tables_escape_and_isolate_names():
    from honorcalc.report import html as report_html

    frame = pd.DataFrame({"unit": ["U01", "U02"], "name": ["<b>\u202egnaw", "东城区"],
                          "sha256": ["\u2067ab", "cd"]})
    context = report_html.table(frame, code=("sha256",))
    shown = report_html.environment().from_string(
        '{% from "_macros.html.j2" import table %}{{ table(t) }}').render(t=context)
    assert "<td><bdi>&lt;b&gt;gnaw</bdi></td>" in shown
    assert "<td><code><bdi>ab</bdi></code></td>" in shown
    assert "<td>东城区</td>" in shown and "<td><code>cd</code></td>" in shown


def test_report_sentences_show_names_without_direction_controls():
    """A name inside a sentence cannot be isolated from the words after it: its controls are removed."""
    from honorcalc.report import html as report_html

    shown = report_html.environment().from_string("<p>{{ s }}</p>").render(s="\u202egnaw被列入黑榜，请整改。")
    assert shown == "<p>gnaw被列入黑榜，请整改。</p>"
    assert not any(c in shown for c in report_html.DIRECTION_CONTROLS)


def test_a_name_holding_a_direction_control_is_noticed(tmp_path):
    tables = tiny_tables()
    tables["units"].loc[0, "name"] = "东城\u202e区"
    ds = load_dataset(write_tables(tmp_path / "d", tables))
    assert any("U+202E" in n and "units.csv" in n for n in ds.notices), ds.notices
