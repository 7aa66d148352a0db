"""Runs that meet: the same run started twice in one second, a batch in which one run breaks,
and names, keys and files that used to end in a traceback instead of a message."""

from __future__ import annotations

import datetime as dt
import json
import os
import types
import zipfile
from pathlib import Path

import pytest

from honorcalc.errors import InputError
from honorcalc.params import load_params
from honorcalc.runs import folder
from honorcalc.runs.batch import run_batch
from honorcalc.runs.folder import safe_name

from .conftest import run_cli, tiny_tables, write_tables

FORK = "fork" in __import__("multiprocessing").get_all_start_methods()


class _FrozenClock(dt.datetime):
    """Every run starts in the same second."""

    @classmethod
    def now(cls, tz=None):
        return dt.datetime(2026, 4, 1, 8, 0, 0, tzinfo=tz)


@pytest.fixture
def frozen_clock(monkeypatch):
    """The run folder's clock stopped; forked workers inherit it."""
    monkeypatch.setattr(folder, "dt", types.SimpleNamespace(datetime=_FrozenClock, timezone=dt.timezone))


@pytest.fixture
def scenario(tmp_path):
    write_tables(tmp_path / "data", tiny_tables())
    path = tmp_path / "p0.yaml"
    path.write_text("dataset: data\ncity: 测试市\nround: C2026Q1\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- same run, same second


@pytest.mark.slow
@pytest.mark.skipif(not FORK, reason="the frozen clock reaches the workers by fork")
def test_the_same_run_twice_in_one_second_gives_two_complete_run_folders(scenario, frozen_clock, tmp_path):
    outcomes = run_batch([scenario, scenario], out=tmp_path / "reports", jobs=2)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    runs = sorted(Path(o.html).parent for o in outcomes)
    assert len(set(runs)) == 2
    assert [r.name for r in runs] == ["20260401T080000Z-" + runs[0].name.split("-")[1],
                                      runs[0].name + "-2"]
    for run in runs:
        manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["run_id"] == run.name
        assert (run / "report.html").is_file()
    # nothing half-made is left beside them
    assert sorted(p.name for p in runs[0].parent.iterdir()) == sorted(r.name for r in runs)


@pytest.mark.slow
@pytest.mark.skipif(not FORK, reason="the frozen clock reaches the workers by fork")
def test_batch_of_one_params_file_twice_succeeds(scenario, frozen_clock, tmp_path, capsys):
    code, out, err = run_cli(["batch", scenario, scenario, "--jobs", "2", "--out", tmp_path / "reports"], capsys)
    assert code == 0, err
    assert out.count("OK ") == 2
    assert len(list((tmp_path / "reports").glob("*/*/report.html"))) == 2


# --------------------------------------------------------------------------- a batch in which one run breaks


@pytest.mark.slow
@pytest.mark.skipif(not FORK, reason="the broken run reaches the workers by fork")
def test_an_unexpected_error_stays_on_its_own_line_of_the_batch(scenario, tmp_path, monkeypatch, capsys):
    broken = scenario.with_name("broken.yaml")
    broken.write_bytes(scenario.read_bytes())
    real = folder.run_report

    def run_report(params_file, *args, **kwargs):
        if Path(params_file).name == "broken.yaml":
            raise RuntimeError("something nobody foresaw")
        return real(params_file, *args, **kwargs)

    monkeypatch.setattr(folder, "run_report", run_report)
    code, out, err = run_cli(["batch", broken, scenario, "--jobs", "2", "--out", tmp_path / "reports"], capsys)
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("FAILED") and "broken.yaml" in lines[0]
    assert "RuntimeError" in lines[0] and "something nobody foresaw" in lines[0]
    assert lines[1].startswith("OK") and "p0.yaml" in lines[1]
    assert "Traceback" not in err
    assert len(list((tmp_path / "reports").glob("*/*/report.html"))) == 1


# --------------------------------------------------------------------------- names too long for a file name


@pytest.mark.parametrize("text", ["R" * 300, "第" * 200, "a/b" * 100])
def test_a_long_name_is_cut_to_fit_a_file_name_and_keeps_its_hash(text):
    name = safe_name(text)
    assert len(name.encode("utf-8")) <= 255
    assert safe_name(text + "x") != name
    assert safe_name(text[:-1]) != name


def test_a_long_round_id_runs_into_a_folder_of_a_legal_name(tmp_path, capsys):
    long_id = "R" * 300
    tables = tiny_tables()
    for table in ("rounds", "scores", "deductions", "surveys"):
        tables[table]["round_id"] = tables[table]["round_id"].replace("C2026Q1", long_id)
    write_tables(tmp_path / "data", tables)
    params = tmp_path / "p.yaml"
    params.write_text(f"dataset: data\nround: {long_id}\n", encoding="utf-8")
    code, out, err = run_cli(["run", params, "--out", tmp_path / "reports"], capsys)
    assert code == 0, err
    html = Path(out.strip())
    assert html.is_file() and len(html.parent.parent.name.encode()) <= 255


def test_a_long_city_names_a_ledger_file_of_a_legal_name():
    from honorcalc.runs.publish import default_ledger

    path = default_ledger("市" * 300)
    assert len(path.name.encode("utf-8")) <= 255


# --------------------------------------------------------------------------- YAML that used to raise


@pytest.mark.parametrize("body, expected", [
    ("[a, b]: 1\n", "not a list"),
    ("? [a, b]\n: 1\n", "not a list"),
    ("{a: 1}: 1\n", "not a mapping"),
    ("base: &b\n  red_min: 90\nlists:\n  <<: *b\n", "merge key '<<'"),
    ("lists: {<<: {red_min: 90}}\n", "merge key '<<'"),
])
def test_yaml_keys_that_are_not_names_are_refused_naming_the_line(tmp_path, capsys, body, expected):
    path = tmp_path / "p.yaml"
    path.write_text(f"dataset: data\nround: C2026Q1\n{body}", encoding="utf-8")
    with pytest.raises(InputError, match=expected):
        load_params(path)
    code, _, err = run_cli(["run", path, "--out", tmp_path / "reports"], capsys)
    assert code == 2
    assert expected in err and "p.yaml:" in err
    assert len(err.strip().splitlines()) == 1


# --------------------------------------------------------------------------- table files that are not files


def _params_for(tmp_path, data: Path) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(f"dataset: {data.name}\nround: C2026Q1\n", encoding="utf-8")
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_fifo_as_a_table_is_refused_without_reading_it(tmp_path, capsys):
    data = write_tables(tmp_path / "data", tiny_tables())
    (data / "surveys.csv").unlink()
    os.mkfifo(data / "surveys.csv")  # opening it to read would block for ever
    code, _, err = run_cli(["run", _params_for(tmp_path, data), "--out", tmp_path / "reports"], capsys)
    assert code == 2
    assert "surveys.csv" in err and "not a regular file" in err and "FIFO" in err


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_as_a_table_is_refused_without_reading_it(tmp_path, capsys):
    data = write_tables(tmp_path / "data", tiny_tables())
    (data / "surveys.csv").unlink()
    (data / "surveys.csv").symlink_to("/dev/zero")  # endless
    code, _, err = run_cli(["run", _params_for(tmp_path, data), "--out", tmp_path / "reports"], capsys)
    assert code == 2
    assert "not a regular file" in err and "device" in err


@pytest.mark.parametrize("header", [
    "round_id,unit_id,respondents,satisfied" + ",x" * 150_000,   # many columns, over 256 K characters
    "round_id,unit_id,respondents,satisfied," + "x" * 200_000,  # one column name longer than the CSV reader takes
])
def test_a_header_row_too_long_is_named_so(tmp_path, capsys, header):
    data = write_tables(tmp_path / "data", tiny_tables())
    (data / "surveys.csv").write_text(header + "\nC2026Q1,001,100,90\n", encoding="utf-8")
    code, _, err = run_cli(["run", _params_for(tmp_path, data), "--out", tmp_path / "reports"], capsys)
    assert code == 2
    assert "header row is too long" in err and "blank" not in err
    assert len(err.strip().splitlines()) == 1


# --------------------------------------------------------------------------- already refused clearly


def test_a_file_limit_beyond_reason_is_refused(tmp_path, capsys, monkeypatch):
    data = write_tables(tmp_path / "data", tiny_tables())
    monkeypatch.setenv("HONORCALC_MAX_FILE_MB", "1e308")
    code, _, err = run_cli(["run", _params_for(tmp_path, data), "--out", tmp_path / "reports"], capsys)
    assert code == 2 and "HONORCALC_MAX_FILE_MB" in err


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("verify")
    write_tables(base / "data", tiny_tables())
    params = base / "p.yaml"
    params.write_text("dataset: data\ncity: 测试市\nround: C2026Q1\n", encoding="utf-8")
    return folder.run_report(params, out=base / "reports").run_dir


def _copy(run: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(run, tmp_path / run.name))


@pytest.mark.parametrize("damage", ["no outputs", "no inputs", "not UTF-8"])
def test_verify_of_a_damaged_manifest_is_a_message(finished_run, tmp_path, capsys, damage):
    run = _copy(finished_run, tmp_path)
    manifest_path = run / "manifest.json"
    if damage == "not UTF-8":
        manifest_path.write_bytes(b"\xff\xfe" + manifest_path.read_bytes())
    else:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        del manifest[damage.split()[1]]
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    code, _, err = run_cli(["verify", run], capsys)
    assert code in (1, 2)
    assert "Traceback" not in err


def test_verify_of_an_inputs_archive_that_is_not_a_zip_is_a_message(finished_run, tmp_path, capsys):
    run = _copy(finished_run, tmp_path)
    (run / "inputs.zip").write_bytes(b"not a zip at all")
    code, out, err = run_cli(["verify", run], capsys)
    assert code in (1, 2)
    assert "Traceback" not in err and "inputs.zip" in out + err


def test_a_ledger_with_a_byte_that_is_not_utf8_is_a_message(finished_run, tmp_path, capsys):
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_bytes(b'{"seq": 1, "city": "\xff"}\n')
    code, out, err = run_cli(["verify", "--ledger", ledger], capsys)
    assert code in (1, 2)
    assert "Traceback" not in err


def test_inputs_zip_is_a_zip_in_a_finished_run(finished_run):
    assert zipfile.is_zipfile(finished_run / "inputs.zip")


# --------------------------------------------------------------------------- a batch interrupted


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_batch(tmp_path, n: int = 3, extra=()):
    import subprocess
    import sys
    import time

    write_tables(tmp_path / "data", tiny_tables())
    files = []
    for k in range(n):
        path = tmp_path / f"p{k}.yaml"
        path.write_text("dataset: data\ncity: 测试市\nround: C2026Q1\n", encoding="utf-8")
        files.append(str(path))
    out = tmp_path / "reports"
    honorcalc = Path(sys.executable).parent / "honorcalc"
    proc = subprocess.Popen([str(honorcalc), "batch", *files, "--jobs", "1", "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(out.glob("C2026Q1/.*")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)  # until the first run's working folder exists: a run is under way
    workers = _children(proc.pid)
    return proc, out, workers


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigterm_stops_a_batch_cancels_its_queue_and_ends_its_workers(tmp_path):
    import signal
    import time

    proc, out, workers = _start_batch(tmp_path)
    assert workers, "the batch started no worker"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err.decode()
    assert "已中断，未写入任何文件。" in err.decode() and b"Traceback" not in err  # the default language: zh
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)
    # the run under way removed its folder; the queued runs never started
    assert not list(out.glob("*/.*"))
    assert not list(out.glob("*/*/report.html"))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_worker_stops_when_its_batch_is_killed(tmp_path):
    import signal
    import time

    proc, out, workers = _start_batch(tmp_path)
    assert workers, "the batch started no worker"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)  # its pipes stay open while a worker lives
    deadline = time.monotonic() + 45
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers)
    assert not list(out.glob("*/.*"))


@pytest.mark.slow
def test_sigterm_stops_a_dask_batch_and_its_running_task(tmp_path):
    """On Dask the running task is stopped too: it unwinds like a local run, leaving no folder."""
    import signal

    pytest.importorskip("dask.distributed")
    proc, out, _ = _start_batch(tmp_path, extra=("--scheduler", "local"))
    assert list(out.glob("C2026Q1/.*")), "no run started"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()[-2000:]
    assert b"Traceback" not in err
    assert not list(out.glob("*/.*")), list(out.glob("*/.*"))
    assert not list(out.glob("*/*/report.html"))
