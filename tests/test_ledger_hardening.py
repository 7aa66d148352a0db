"""The ledger against an attacker and a careless clerk: parallel publications, line separators in
names, a manifest edited after publication, and a manifest that claims another round."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import nbformat
import pytest

from honorcalc.runs.folder import run_report
from honorcalc.runs.ledger import GENESIS, entry_hash, read_ledger, verify_ledger

from .conftest import run_cli, tiny_tables, write_tables

pytestmark = pytest.mark.slow

#: Every character that `str.splitlines` breaks on besides ``\n``: the Unicode line and paragraph
#: separators, NEL, vertical tab, form feed, the file, group and record separators, and CR.
SEPARATORS = {
    "U+2028": "\u2028", "U+2029": "\u2029", "U+0085": "\x85", "U+000B": "\x0b", "U+000C": "\x0c",
    "U+001C": "\x1c", "U+001D": "\x1d", "U+001E": "\x1e", "U+000D": "\r",
}
#: Parallel publishers per repetition, and the repetitions.
PUBLISHERS = 2
REPETITIONS = ("first", "supersede", "first")
#: Entries already in the ledger: reading and checking them keeps a publication busy long enough
#: for parallel publishers to meet.
PREFILLED = 3000


def _notebook(directory):
    """A report notebook that only takes its parameters: the run folder is complete and verifiable,
    without the time the full report takes to execute."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("parameters = {}\nrun_dir = ''", metadata={"tags": ["parameters"]})]
    nb.metadata.kernelspec = {"name": "python3", "language": "python", "display_name": "Python 3"}
    path = directory / "parameters-only.ipynb"
    nbformat.write(nb, path)
    return path


def _run(base, name, tables):
    """A run of round C2026Q1 of ``tables`` (Parquet, so that any character survives the input)."""
    write_tables(base / name, tables, fmt="parquet")
    params = base / f"{name}.yaml"
    params.write_text(f"dataset: {name}\nround: C2026Q1\ncity: 测试市\n", encoding="utf-8")
    return run_report(params, out=base / "reports", notebook=_notebook(base)).run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A plain run, and one whose red-listed (001) and black-listed (1) units' names hold every separator."""
    base = tmp_path_factory.mktemp("hardening")
    separated = tiny_tables()
    units = separated["units"].set_index("unit_id")
    joined = "".join(SEPARATORS.values())
    units.loc["001", "name"] = f"东城{joined}区"
    units.loc["1", "name"] = f"市公安{joined[::-1]}局"
    separated["units"] = units.reset_index()
    return base, _run(base, "plain", tiny_tables()), _run(base, "separated", separated)


def _copy(run_dir, target):
    shutil.copytree(run_dir, target)
    return target


def _rewrite_manifest(run_dir, edit):
    path = run_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    edit(manifest)
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- parallel publications

#: One publisher: imports first, then meets the others at a file barrier before each repetition,
#: then runs the real command line. Prints one JSON result per repetition.
PUBLISHER = textwrap.dedent("""
    import contextlib, io, json, pathlib, sys, time, traceback

    import honorcalc.fairness, honorcalc.rules.evaluate, honorcalc.runs.publish  # noqa: F401 (imported before the race)
    from honorcalc.cli import main

    spec = json.loads(pathlib.Path(sys.argv[1]).read_text(encoding="utf-8"))
    sync = pathlib.Path(spec["sync"])
    results = []
    for rep, args in enumerate(spec["jobs"]):
        (sync / f"{rep}-{spec['index']}").touch()
        while len(list(sync.glob(f"{rep}-*"))) < spec["publishers"]:
            time.sleep(0.001)
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                main(args)
            except SystemExit as exit_:
                code = exit_.code
            except BaseException:
                code, err = 1, io.StringIO(traceback.format_exc())
        results.append({"code": code, "err": err.getvalue()})
    print(json.dumps(results))
""")


def _prefilled(path, template, count, *, last_round=None):
    """A valid ledger of ``count`` entries of other rounds (the last of round ``last_round`` if given)."""
    lines, previous = [], GENESIS
    for seq in range(1, count + 1):
        round_id = last_round if (last_round and seq == count) else f"P{seq:05d}"
        entry = {k: v for k, v in template.items() if not k.startswith("_") and k != "entry_sha256"}
        entry.update(seq=seq, round_id=round_id, supersedes=None, supersede_reason=None, previous_sha256=previous)
        entry["entry_sha256"] = previous = entry_hash(entry)
        lines.append(json.dumps(entry, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_parallel_publications_never_fork_the_ledger(runs, tmp_path, capsys):
    base, plain, _ = runs
    template_ledger = tmp_path / "template.jsonl"
    code, _, err = run_cli(["publish", plain, "--ledger", template_ledger], capsys)
    assert code == 0, err
    template = read_ledger(template_ledger)[0]
    copies = [_copy(plain, tmp_path / f"run{i}") for i in range(PUBLISHERS)]
    ledgers = [
        _prefilled(tmp_path / f"ledger{rep}.jsonl", template, PREFILLED,
                   last_round=template["round_id"] if mode == "supersede" else None)
        for rep, mode in enumerate(REPETITIONS)
    ]
    sync = tmp_path / "sync"
    sync.mkdir()
    publishers = []
    for i, copy in enumerate(copies):
        jobs = [
            ["--lang", "zh", "publish", str(copy), "--ledger", str(ledger)]
            + (["--supersede", "--reason", f"复核 {i}"] if mode == "supersede" else [])
            for ledger, mode in zip(ledgers, REPETITIONS)
        ]
        spec = tmp_path / f"publisher{i}.json"
        spec.write_text(json.dumps({"index": i, "publishers": PUBLISHERS, "sync": str(sync), "jobs": jobs}),
                        encoding="utf-8")
        publishers.append(subprocess.Popen([sys.executable, "-c", PUBLISHER, str(spec)],
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate(timeout=240) for p in publishers]
    assert all(p.returncode == 0 for p in publishers), [err for _, err in outputs]
    results = [json.loads(out) for out, _ in outputs]

    for rep, (ledger, mode) in enumerate(zip(ledgers, REPETITIONS)):
        done = [r[rep] for r in results]
        codes = sorted(r["code"] for r in done)
        if mode == "first":  # one clerk publishes the round; every other is told it already is
            assert codes == [0] + [2] * (PUBLISHERS - 1), done
            assert all("已经发布" in r["err"] for r in done if r["code"] == 2), done
        else:  # each supersedes the one before it, in turn
            assert codes == [0] * PUBLISHERS, done
        published = PUBLISHERS if mode == "supersede" else 1
        entries = read_ledger(ledger)
        assert [e["seq"] for e in entries] == list(range(1, PREFILLED + published + 1))
        assert all(e["previous_sha256"] == before["entry_sha256"] for before, e in zip(entries, entries[1:]))
        assert verify_ledger(ledger) == []
        code, out, _ = run_cli(["verify", "--ledger", ledger], capsys)
        assert code == 0, out


def test_a_publication_waits_for_the_lock_and_then_says_it_is_held(runs, tmp_path, capsys, monkeypatch):
    from filelock import FileLock

    from honorcalc.runs import ledger as ledger_mod

    _, plain, _ = runs
    ledger = tmp_path / "l.jsonl"
    monkeypatch.setattr(ledger_mod, "LOCK_TIMEOUT", 0.2)
    with FileLock(str(ledger) + ".lock"):
        code, _, err = run_cli(["publish", plain, "--ledger", ledger], capsys)
    assert code == 2 and "locked" in err and "Traceback" not in err
    assert not ledger.exists()


# --------------------------------------------------------------------------- separators in names

@pytest.fixture(scope="module")
def separated_ledger(runs, tmp_path_factory):
    _, _, separated = runs
    ledger = tmp_path_factory.mktemp("separated") / "测试市.jsonl"
    from honorcalc.runs.publish import publish_run

    publish_run(separated, ledger)
    return ledger


@pytest.mark.parametrize("char", SEPARATORS.values(), ids=SEPARATORS.keys())
def test_read_ledger_splits_on_line_feed_only(char, tmp_path):
    entry = {"seq": 1, "round_id": "C2026Q1", "previous_sha256": GENESIS,
             "red": [{"unit_id": "001", "name": f"东城{char}区"}], "black": [], "escalated": []}
    entry["entry_sha256"] = entry_hash(entry)
    ledger = tmp_path / "l.jsonl"
    ledger.write_text(json.dumps(entry, ensure_ascii=False) + "\n", encoding="utf-8", newline="\n")
    entries = read_ledger(ledger)
    assert [e["red"][0]["name"] for e in entries] == [f"东城{char}区"]
    assert verify_ledger(ledger) == []


@pytest.mark.parametrize("char", SEPARATORS.values(), ids=SEPARATORS.keys())
def test_a_separator_in_a_unit_name_keeps_the_ledger_readable(char, separated_ledger, capsys):
    entries = read_ledger(separated_ledger)
    assert len(entries) == 1
    names = {u["unit_id"]: u["name"] for which in ("red", "black") for u in entries[0][which]}
    assert char in names["001"] and char in names["1"]
    assert names["001"] == "东城" + "".join(SEPARATORS.values()) + "区"
    assert verify_ledger(separated_ledger) == []
    code, out, _ = run_cli(["verify", "--ledger", separated_ledger], capsys)
    assert code == 0, out


def test_a_run_with_separators_in_names_verifies_against_its_ledger(runs, separated_ledger, capsys):
    _, _, separated = runs
    code, out, _ = run_cli(["verify", separated, "--ledger", separated_ledger], capsys)
    assert code == 0, out


# --------------------------------------------------------------------------- the run against its entry

@pytest.fixture
def published_copy(runs, tmp_path, capsys):
    _, plain, _ = runs
    copy = _copy(plain, tmp_path / "run")
    ledger = tmp_path / "测试市.jsonl"
    code, _, err = run_cli(["publish", copy, "--ledger", ledger], capsys)
    assert code == 0, err
    return copy, ledger


def test_an_untouched_published_run_verifies_against_its_ledger(published_copy, capsys):
    copy, ledger = published_copy
    code, out, _ = run_cli(["verify", copy, "--ledger", ledger], capsys)
    assert code == 0, out


def test_a_report_re_hashed_into_the_manifest_after_publication_is_named(published_copy, capsys):
    copy, ledger = published_copy
    html = copy / "report.html"
    html.write_text(html.read_text(encoding="utf-8").replace("</body>", "<p>改过</p></body>"), encoding="utf-8")

    from honorcalc.data.write import file_sha256

    _rewrite_manifest(copy, lambda m: m["outputs"].update({"report.html": file_sha256(html)}))
    code, out, _ = run_cli(["verify", copy, "--ledger", ledger], capsys)
    assert code == 1
    assert "manifest.json" in out and "ledger" in out


def test_a_run_missing_from_the_ledger_is_named(runs, tmp_path, capsys):
    _, plain, separated = runs
    ledger = tmp_path / "l.jsonl"
    code, _, err = run_cli(["publish", separated, "--ledger", ledger], capsys)
    assert code == 0, err
    code, out, _ = run_cli(["verify", plain, "--ledger", ledger], capsys)
    assert code == 1 and "not in the ledger" in out


def test_a_forged_entry_with_other_lists_is_named(published_copy, capsys):
    copy, ledger = published_copy
    entry = read_ledger(ledger)[0]
    entry = {k: v for k, v in entry.items() if not k.startswith("_")}
    entry["black"] = []  # a forger rewrites the whole (one-entry) ledger, hashes and all
    entry["entry_sha256"] = entry_hash(entry)
    ledger.write_text(json.dumps(entry, ensure_ascii=False) + "\n", encoding="utf-8")
    assert verify_ledger(ledger) == []
    code, out, _ = run_cli(["verify", copy, "--ledger", ledger], capsys)
    assert code == 1 and "black" in out


def test_publish_refuses_a_manifest_that_claims_another_round(runs, tmp_path, capsys):
    _, plain, _ = runs
    copy = _copy(plain, tmp_path / "run")
    other = {"round_id": "S2026-01a", "kind": "special", "topic": "网申工作", "date": "2026-01-10"}
    _rewrite_manifest(copy, lambda m: m["round_info"].update(other))
    ledger = tmp_path / "l.jsonl"
    code, _, err = run_cli(["publish", copy, "--ledger", ledger], capsys)
    assert code == 2 and "Traceback" not in err
    assert "round_info" in err and "S2026-01a" in err and "C2026Q1" in err
    assert not ledger.exists()
    code, out, _ = run_cli(["verify", copy], capsys)
    assert code == 1 and "round_info" in out
