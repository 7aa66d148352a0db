"""honorcalc batch: many runs in parallel, locally and on a Dask LocalCluster bound to loopback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from honorcalc.cli import main
from honorcalc.runs.batch import run_batch

from .conftest import tiny_tables, write_tables

pytestmark = pytest.mark.slow

TABLES = ("ranking.csv", "raters.csv", "reliability.csv", "laggards.csv", "stability.csv", "groups.csv",
          "severity_adjusted.csv", "inputs.zip", "params.yaml")


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch")
    write_tables(base / "data", tiny_tables())
    files = []
    for name, body in (("q1", "round: C2026Q1\n"), ("strict", "round: C2026Q1\nlists:\n  red_min: 95\n")):
        path = base / f"{name}.yaml"
        path.write_text(f"dataset: data\ncity: 测试市\n{body}", encoding="utf-8")
        files.append(path)
    return base, files


@pytest.fixture(scope="module")
def local_runs(scenarios):
    base, files = scenarios
    with pytest.raises(SystemExit) as info:
        main(["batch", *map(str, files), "--jobs", "2", "--out", str(base / "local")])
    return info.value.code


def test_local_batch_writes_one_folder_per_scenario(scenarios, local_runs):
    base, _ = scenarios
    assert local_runs == 0
    assert len(list((base / "local").glob("*/*/report.html"))) == 2


def test_dask_runs_are_identical_to_local_runs(scenarios, local_runs):
    base, files = scenarios
    dask = run_batch(files, out=base / "dask", jobs=2, scheduler="local")
    assert all(o.ok for o in dask), [o.error for o in dask]
    for path, outcome in zip(files, dask):
        run_b = Path(outcome.html).parent
        round_dir = run_b.parent.name
        (run_a,) = [p.parent for p in (base / "local" / round_dir).glob("*/params.yaml")
                    if p.read_bytes() == (run_b / "params.yaml").read_bytes()]
        for name in TABLES:
            assert (run_a / name).read_bytes() == (run_b / name).read_bytes(), name


def test_a_bad_params_file_stops_the_batch_before_any_run(scenarios, capsys, tmp_path):
    base, files = scenarios
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: data\nround: C2026Q1\nwieghts: {}\n", encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        main(["--lang", "en", "batch", *map(str, files), str(bad), "--out", str(tmp_path / "out")])
    _, err = capsys.readouterr()
    assert info.value.code == 2 and "wieghts" in err
    assert not (tmp_path / "out").exists()


def test_unreachable_scheduler_is_a_clear_error(scenarios, capsys, tmp_path):
    _, files = scenarios
    with pytest.raises(SystemExit) as info:
        main(["--lang", "en", "batch", str(files[0]), "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "o")])
    _, err = capsys.readouterr()
    assert info.value.code == 2 and "Dask scheduler" in err


def test_without_dask_the_dask_scheduler_says_how_to_install_it(scenarios, capsys, tmp_path, monkeypatch):
    """Dask is the optional [distributed] part: without it, --scheduler exits 2 naming the install, runs nothing."""
    _, files = scenarios
    for module in ("dask", "dask.distributed", "distributed"):
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed: importing it raises ImportError
    with pytest.raises(SystemExit) as info:
        main(["--lang", "en", "batch", str(files[0]), "--scheduler", "local", "--out", str(tmp_path / "o")])
    _, err = capsys.readouterr()
    assert info.value.code == 2
    assert "pip install 'honorcalc[distributed]'" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
