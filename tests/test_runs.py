"""explain, verify and diff on real run folders, through the command line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from honorcalc.runs.folder import run_report

from .conftest import run_cli, tiny_tables, write_tables

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    write_tables(base / "data", tiny_tables())
    params = base / "p.yaml"
    params.write_text("dataset: data\nround: C2026Q1\ncity: 测试市\n", encoding="utf-8")
    a = run_report(params, out=base / "reports")
    b = run_report(params, ["lists.red_min=95"], out=base / "reports")
    return base, a.run_dir, b.run_dir


def test_ranking_csv_has_the_design_columns(two_runs):
    _, a, _ = two_runs
    ranking = pd.read_csv(a / "ranking.csv", dtype={"unit_id": str}, keep_default_na=False)
    assert list(ranking.columns[:11]) == [
        "round_id", "unit_id", "name", "group", "score", "rank", "list", "vetoed",
        "points", "points_ytd", "escalated",
    ]
    by_unit = ranking.set_index("unit_id")
    # 001: (55 + 38) / 100 × 100 − 1 (primary deduction) = 92 → red in 县区
    assert by_unit.loc["001", "score"] == pytest.approx(92)
    assert by_unit.loc["001", "list"] == "red"
    # "NA" is a unit id, not a missing value
    assert by_unit.loc["NA", "list"] == "black"


def test_explain_in_chinese_and_json(two_runs, capsys):
    _, a, _ = two_runs
    code, out, _ = run_cli(["explain", a, "002"], capsys)
    assert code == 0
    assert "西城区" in out and "红榜" in out and "连带" in out
    code, out, _ = run_cli(["explain", a, "002", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["unit_id"] == "002"


def test_explain_unknown_unit_is_exit_2(two_runs, capsys):
    _, a, _ = two_runs
    code, _, err = run_cli(["explain", a, "U404"], capsys)
    assert code == 2 and "U404" in err


def test_verify_passes_an_untouched_run(two_runs, capsys):
    _, a, _ = two_runs
    code, out, _ = run_cli(["verify", a], capsys)
    assert code == 0 and out.startswith("OK")


def test_verify_fails_an_edited_output(two_runs, capsys, tmp_path):
    import shutil

    _, a, _ = two_runs
    copy = tmp_path / "run"
    shutil.copytree(a, copy)
    ranking = copy / "ranking.csv"
    ranking.write_text(ranking.read_text(encoding="utf-8").replace(",black,", ",,"), encoding="utf-8")
    code, out, _ = run_cli(["verify", copy], capsys)
    assert code == 1
    assert "ranking.csv was changed after the run" in out
    # recomputation names the units and columns that differ
    assert "ranking.csv: unit_id NA: list recorded '', recomputed 'black'" in out


def _copy_run(two_runs, tmp_path):
    import shutil

    base, a, _ = two_runs
    data = tmp_path / "data"
    shutil.copytree(base / "data", data)
    params = tmp_path / "p.yaml"
    params.write_text("dataset: data\nround: C2026Q1\n", encoding="utf-8")
    return data, run_report(params, out=tmp_path / "reports").run_dir


def test_verify_after_the_dataset_moved_uses_the_archived_inputs(two_runs, tmp_path, capsys):
    import shutil

    data, run = _copy_run(two_runs, tmp_path)
    assert (run / "inputs.zip").exists()
    shutil.rmtree(data)
    code, out, _ = run_cli(["verify", run], capsys)
    assert code == 0, out


def test_verify_fails_an_edited_input(two_runs, tmp_path, capsys):
    data, run = _copy_run(two_runs, tmp_path)
    scores = data / "scores.csv"
    scores.write_text(scores.read_text(encoding="utf-8").replace(",55,", ",45,"), encoding="utf-8")
    code, out, _ = run_cli(["verify", run], capsys)
    assert code == 1
    assert "input scores" in out and "no longer matches its recorded sha256" in out


def test_verify_fails_edited_parameters_in_the_manifest(two_runs, tmp_path, capsys):
    _, run = _copy_run(two_runs, tmp_path)
    manifest = run / "manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('"red_min": 90.0', '"red_min": 95.0'),
                        encoding="utf-8")
    code, out, _ = run_cli(["verify", run], capsys)
    assert code == 1 and "parameters were edited" in out


def test_two_runs_give_byte_identical_tables(two_runs, tmp_path):
    _, a, _ = two_runs
    _, again = _copy_run(two_runs, tmp_path)
    tables = sorted(p.name for p in a.glob("*.csv"))
    assert len(tables) >= 8  # ranking, raters, reliability, laggards, stability, groups, visits, severity
    for name in tables:
        assert (a / name).read_bytes() == (again / name).read_bytes()
    assert (a / "inputs.zip").read_bytes() == (again / "inputs.zip").read_bytes()


def test_verify_not_a_run_folder_is_exit_2(tmp_path, capsys):
    code, _, err = run_cli(["verify", tmp_path], capsys)
    assert code == 2 and "not a run folder" in err


def test_diff_names_the_parameter_and_the_units(two_runs, capsys):
    _, a, b = two_runs
    code, out, _ = run_cli(["diff", a, b], capsys)
    assert code == 0
    assert "lists.red_min: 90.0 → 95.0" in out
    assert "001" in out and "list red → —" in out
    code, out, _ = run_cli(["diff", a, b, "--json"], capsys)
    data = json.loads(out)
    assert data["parameters"] == [{"parameter": "lists.red_min", "a": 90.0, "b": 95.0}]
    assert [u["unit_id"] for u in data["units"]] == ["001"]


def test_demo_command_writes_a_loadable_dataset(tmp_path, capsys):
    code, out, _ = run_cli(["demo", tmp_path / "demo"], capsys)
    assert code == 0
    assert len(out.split()) == 7  # one file per table of the contract, the responsibility table included
    from honorcalc.data.read import load_dataset

    assert len(load_dataset(tmp_path / "demo").units) == 150
