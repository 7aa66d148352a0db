"""The ledger of published lists: append, supersede, and detect every kind of tampering."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from honorcalc.runs.folder import run_report
from honorcalc.runs.ledger import entry_hash, ledger_points, read_ledger, verify_ledger

from .conftest import run_cli, tiny_tables, write_tables

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("ledger")
    write_tables(base / "data", tiny_tables())
    out = {}
    for round_id in ("S2026-01a", "C2026Q1"):
        params = base / f"{round_id}.yaml"
        params.write_text(f"dataset: data\nround: {round_id}\ncity: 测试市\n", encoding="utf-8")
        out[round_id] = run_report(params, out=base / "reports").run_dir
    return base, out


@pytest.fixture
def published(runs, tmp_path, capsys):
    _, out = runs
    ledger = tmp_path / "测试市.jsonl"
    heads = []
    for round_id in ("S2026-01a", "C2026Q1"):
        code, text, err = run_cli(["publish", out[round_id], "--ledger", ledger], capsys)
        assert code == 0, err
        heads.append(text.split("head sha256: ")[1].strip())
    return ledger, heads


def test_entries_chain_and_read_like_text(published):
    ledger, heads = published
    entries = read_ledger(ledger)
    assert [e["seq"] for e in entries] == [1, 2]
    assert entries[1]["previous_sha256"] == entries[0]["entry_sha256"] == heads[0]
    assert "东城区" in ledger.read_text(encoding="utf-8")  # Chinese kept readable
    assert {u["unit_id"] for u in entries[1]["red"]} == {"001", "002"}
    assert verify_ledger(ledger, head=heads[-1]) == []


def test_points_year_to_date_from_the_ledger_match_the_run(published, runs):
    ledger, _ = published
    _, out = runs
    ranking = pd.read_csv(out["C2026Q1"] / "ranking.csv", dtype={"unit_id": str}, keep_default_na=False)
    expected = ranking.set_index("unit_id")["points_ytd"]
    points = ledger_points(read_ledger(ledger), year=2026).set_index("unit_id")["points"]
    assert points.to_dict() == expected[expected != 0].to_dict()


def test_publishing_a_round_twice_needs_supersede_with_reason(published, runs, capsys):
    ledger, _ = published
    _, out = runs
    code, _, err = run_cli(["publish", out["C2026Q1"], "--ledger", ledger], capsys)
    assert code == 2 and "already published" in err
    code, _, err = run_cli(["publish", out["C2026Q1"], "--ledger", ledger, "--supersede"], capsys)
    assert code == 2 and "--reason" in err
    code, _, _ = run_cli(["publish", out["C2026Q1"], "--ledger", ledger, "--supersede",
                          "--reason", "扣分复核后更正"], capsys)
    assert code == 0
    entries = read_ledger(ledger)
    assert entries[-1]["supersedes"] == 2 and entries[-1]["supersede_reason"] == "扣分复核后更正"
    assert ledger_points(entries, year=2026)["listings"].max() == 1  # the round counts once
    assert verify_ledger(ledger) == []


def test_verify_detects_an_edited_entry(published, capsys):
    ledger, _ = published
    lines = ledger.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[1])
    entry["black"] = []  # quietly take a unit off the black list
    lines[1] = json.dumps(entry, ensure_ascii=False)
    ledger.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = run_cli(["verify", "--ledger", ledger], capsys)
    assert code == 1 and "entry 2 was edited" in out


def test_verify_detects_a_re_hashed_edit_through_the_chain(published, capsys):
    ledger, heads = published
    lines = ledger.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["city"] = "别的市"
    first["entry_sha256"] = entry_hash(first)  # a careful forger re-hashes the entry …
    lines[0] = json.dumps(first, ensure_ascii=False)
    ledger.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = run_cli(["verify", "--ledger", ledger], capsys)
    assert code == 1 and "previous_sha256 does not match" in out  # … but the next entry still points at the old hash


def test_verify_detects_a_removed_entry(published, capsys):
    ledger, heads = published
    lines = ledger.read_text(encoding="utf-8").splitlines()
    ledger.write_text(lines[1] + "\n", encoding="utf-8")
    code, out, _ = run_cli(["verify", "--ledger", ledger], capsys)
    assert code == 1 and "removed" in out


def test_verify_detects_a_removed_newest_entry_against_the_published_head(published, capsys):
    ledger, heads = published
    lines = ledger.read_text(encoding="utf-8").splitlines()
    ledger.write_text(lines[0] + "\n", encoding="utf-8")
    code, _, _ = run_cli(["verify", "--ledger", ledger], capsys)
    assert code == 0  # a shorter chain is still a chain …
    code, out, _ = run_cli(["verify", "--ledger", ledger, "--head", heads[-1]], capsys)
    assert code == 1 and "not in the ledger" in out  # … which the published head exposes


def test_a_run_that_does_not_verify_is_not_published(runs, tmp_path, capsys):
    _, out = runs
    copy = tmp_path / "run"
    shutil.copytree(out["C2026Q1"], copy)
    (copy / "ranking.csv").write_text("tampered\n", encoding="utf-8")
    code, _, err = run_cli(["publish", copy, "--ledger", tmp_path / "l.jsonl"], capsys)
    assert code == 2 and "does not verify" in err
    assert not (tmp_path / "l.jsonl").exists()
