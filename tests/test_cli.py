"""The command line: hostile input exits 2 with one clear message and writes nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from .conftest import run_cli, tiny_tables, write_tables


def _params(tmp_path, body="dataset: data\nround: C2026Q1\n"):
    path = tmp_path / "p.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def _dataset(tmp_path, edit=None, **kw):
    tables = tiny_tables()
    if edit:
        edit(tables)
    return write_tables(tmp_path / "data", tables, **kw)


def _gbk_bad_cell(tables):
    tables["scores"].loc[3, "points"] = "缺考"


def _several_sheets(tmp_path):
    directory = _dataset(tmp_path)
    (directory / "units.csv").unlink()
    with pd.ExcelWriter(directory / "units.xlsx") as writer:
        tiny_tables()["units"].to_excel(writer, sheet_name="Sheet1", index=False)
        tiny_tables()["units"].to_excel(writer, sheet_name="Sheet2", index=False)


HOSTILE = {
    "unknown parameter": (lambda t: _dataset(t), "dataset: data\nround: C2026Q1\nwieghts: {}\n", [], "wieghts"),
    "python tag": (lambda t: _dataset(t), "dataset: data\nround: !!python/object/apply:os.getcwd []\n", [], "invalid YAML"),
    "missing dataset": (lambda t: None, "dataset: nowhere\nround: C2026Q1\n", [], "dataset directory not found"),
    "unknown round": (lambda t: _dataset(t), "dataset: data\nround: C2026Q9\n", [], "parameter 'round'"),
    "bad --set type": (lambda t: _dataset(t), None, ["--set", "lists.comprehensive_size=ten"], "lists.comprehensive_size"),
    "bad --set key": (lambda t: _dataset(t), None, ["--set", "weight.field=1"], "did you mean 'weights'"),
    "bad cell in GBK file": (lambda t: _dataset(t, _gbk_bad_cell, encoding="gbk"), None, [], "scores.csv:5: column 'points'"),
    "binary csv": (lambda t: (_dataset(t), (t / "data" / "units.csv").write_bytes(b"\x00\x01PK\x03\x04")), None, [], "units.csv"),
    "empty csv": (lambda t: (_dataset(t), (t / "data" / "rounds.csv").write_bytes(b"")), None, [], "rounds.csv: is empty"),
    "header-only scores": (lambda t: (_dataset(t), (t / "data" / "scores.csv").write_text("round_id,unit_id,indicator_id,rater_id,source,points,visit\n")), None, [], "has no scores"),
    "xlsx with several sheets": (_several_sheets, None, [], "several sheets"),
    "params file missing": (lambda t: _dataset(t), "<none>", [], "params file not found"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_exits_2_and_writes_nothing(tmp_path, capsys, case):
    make, body, extra, words = HOSTILE[case]
    make(tmp_path)
    params = tmp_path / "p.yaml"
    if body != "<none>":
        _params(tmp_path, body or "dataset: data\nround: C2026Q1\n")
    out_dir = tmp_path / "reports"
    code, out, err = run_cli(["run", params, "--out", out_dir, *extra], capsys)
    assert code == 2, err
    assert words in err, err
    assert err.startswith("Error: ")
    assert "Traceback" not in err
    assert not out_dir.exists() or not any(out_dir.rglob("*"))


def test_help_explains_every_command(capsys):
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0
    for command in ("run", "explain", "verify", "diff", "demo"):
        assert command in out
    code, out, _ = run_cli(["run", "--help"], capsys)
    assert code == 0 and "--set" in out and "weights.field=0.6" in out


def test_unknown_command_is_a_usage_error(capsys):
    code, _, err = run_cli(["frobnicate"], capsys)
    assert code == 2 and "No such command" in err


@pytest.mark.slow
def test_sigterm_mid_run_leaves_nothing_and_no_kernel(tiny_params, tmp_path):
    """A scheduler's SIGTERM unwinds like Ctrl-C: the temporary run folder and the kernel go."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    honorcalc = Path(sys.executable).parent / "honorcalc"
    out = tmp_path / "reports"
    proc = subprocess.Popen([str(honorcalc), "run", str(tiny_params), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(out.glob("C2026Q1/.*")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)  # until the temporary run folder exists: the run is under way
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert not out.exists() or not any(out.rglob("*"))
    assert b"Traceback" not in err
