"""From `honorcalc run` to its notebook: tables read back from the run folder, checked, and nothing but data.

The run writes its tables and executes the notebook in the run folder with their
sha256 and column types; the notebook reads them back. An executed ``report.ipynb``
re-executed later reads its own folder only, refuses an altered table, and loads
no serialised objects; a failing cell is a `NotebookError` whatever its exception.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from honorcalc.data.read import load_dataset
from honorcalc.errors import InputError
from honorcalc.params import load_params
from honorcalc.report.execute import NotebookError
from honorcalc.runs.notebook import (
    check_inputs,
    hand_over,
    params_path,
    read_run_tables,
)
from honorcalc.runs.pipeline import evaluate, run_tables

from .conftest import tiny_tables, write_tables

ROOT = Path(__file__).resolve().parent.parent

TINY_VARIANTS = {
    "round": [],
    "practices": ["tiers.method=cuts", "flags.enabled=true", "slips.enabled=true", "pass_quota.share=0.5"],
    "special": ["round=S2026-01a"],
    "annual": ["report=annual"],
    "annual-quota": ["report=annual", "pass_quota.share=0.5", "tiers.method=shares"],
}


def _write_run(params, folder: Path):
    dataset = load_dataset(params.dataset)
    result = evaluate(params, dataset)
    tables = run_tables(params, dataset, result)
    folder.mkdir(parents=True, exist_ok=True)
    return dataset, result, tables, hand_over(tables, dataset, folder)


def _assert_same_tables(read: dict, computed: dict) -> None:
    assert list(read) == list(computed)
    for name, frame in computed.items():
        # the CSVs keep ten significant digits (honorcalc.data.write.FLOAT_FORMAT)
        pd.testing.assert_frame_equal(read[name], frame, check_exact=False, rtol=1e-9, atol=0, obj=name)


@pytest.mark.parametrize("variant", sorted(TINY_VARIANTS))
def test_tables_read_back_as_computed(variant, tiny_params, tmp_path):
    params = load_params(tiny_params, TINY_VARIANTS[variant])
    _, _, tables, handed = _write_run(params, tmp_path / "run")
    read = read_run_tables(tmp_path / "run", handed["table_sha256"], handed["table_columns"])
    _assert_same_tables(read, tables)


def test_ids_stay_text(tiny_params, tmp_path):
    """``001``, ``1`` and ``NA`` are three units, read back as three strings."""
    _, _, _, handed = _write_run(load_params(tiny_params), tmp_path / "run")
    ranking = read_run_tables(tmp_path / "run", handed["table_sha256"], handed["table_columns"])["ranking.csv"]
    assert sorted(ranking["unit_id"]) == ["001", "002", "1", "NA"]
    assert handed["table_columns"]["ranking.csv"]["unit_id"] == "str"
    assert ranking["vetoed"].dtype == bool and ranking["score"].dtype == float


@pytest.mark.parametrize("params_file", ["demo.yaml", "demo-annual.yaml"])
def test_the_demo_report_is_the_same_from_the_run_folder(params_file, demo_city, tmp_path):
    """Every fragment of the demo's report, from the tables read back = from the tables computed."""
    from honorcalc.report.view import build_annual_view, build_view

    params = load_params(demo_city / "params" / params_file)
    dataset, result, tables, handed = _write_run(params, tmp_path / "run")
    read = read_run_tables(tmp_path / "run", handed["table_sha256"], handed["table_columns"])
    _assert_same_tables(read, tables)
    if params.report == "annual":
        from honorcalc.report import annual_report as present

        build = build_annual_view
        cells = ("title", "summary", "leaders", "points_over_year", "escalations", "quota", "laggards", "standing",
                 "data_overview", "appendix")
    else:
        from honorcalc.report import round_report as present

        build = build_view
        cells = ("title", "summary", "distribution", "red_list", "black_list", "vetoes", "ties", "practices",
                 "evidence", "fairness", "group_rankings", "data_overview", "appendix")
    computed, from_folder = build(params, dataset, tables, result), build(params, dataset, read, result)
    if params.report == "round":
        assert from_folder.findings == computed.findings
    for cell in cells:
        assert str(getattr(present, cell)(from_folder)) == str(getattr(present, cell)(computed)), cell




def test_an_altered_table_is_refused_by_name(tiny_params, tmp_path):
    _, _, _, handed = _write_run(load_params(tiny_params), tmp_path / "run")
    path = tmp_path / "run" / "raters.csv"
    path.write_bytes(path.read_bytes().replace(b",", b";", 1))
    with pytest.raises(InputError, match=r"raters\.csv .*is not the table the run wrote"):
        read_run_tables(tmp_path / "run", handed["table_sha256"], handed["table_columns"])
    path.unlink()
    with pytest.raises(InputError, match=r"raters\.csv is missing from the run folder"):
        read_run_tables(tmp_path / "run", handed["table_sha256"], handed["table_columns"])


@pytest.mark.parametrize("name", ["../ranking.csv", "/etc/passwd.csv", ".view.csv", "report.ipynb"])
def test_only_tables_of_the_folder_are_read(name, tmp_path):
    with pytest.raises(InputError, match="not a table of a run folder"):
        read_run_tables(tmp_path, {name: "0" * 64}, {name: {"a": "str"}})


def test_a_run_folder_without_hashes_is_refused(tmp_path):
    with pytest.raises(InputError, match="table_sha256 is empty"):
        read_run_tables(tmp_path, {}, {})


def test_an_input_changed_since_the_run_is_refused(tiny_params, tmp_path):
    dataset, _, _, handed = _write_run(load_params(tiny_params), tmp_path / "run")
    check_inputs(dataset, handed["input_sha256"])
    changed = dict(handed["input_sha256"], scores="0" * 64)
    with pytest.raises(InputError, match="the dataset changed since the run: scores.csv"):
        check_inputs(dataset, changed)


def test_the_kernels_head_start_is_taken_only_for_the_same_run(tiny_params, tmp_path, monkeypatch):
    from honorcalc.runs import notebook

    params = load_params(tiny_params)
    _, _, tables, handed = _write_run(params, tmp_path / "run")
    loads = []
    monkeypatch.setattr(notebook, "load_dataset", lambda path: loads.append(path) or load_dataset(path))

    def prepare(parameters, input_sha256):
        return notebook.prepare(None, parameters, str(tmp_path / "run"), handed["table_sha256"],
                                handed["table_columns"], input_sha256)

    notebook.preload(params.to_dict())
    loads.clear()
    view = prepare(params.to_dict(), handed["input_sha256"])
    assert loads == [] and view.params == params  # taken: the same parameters and the same input files
    _assert_same_tables(view.tables, tables)
    notebook.preload(params.to_dict())
    with pytest.raises(InputError, match="the dataset changed since the run"):
        prepare(params.to_dict(), dict(handed["input_sha256"], units="0" * 64))
    assert len(loads) == 2  # not taken: loaded again, and refused
    other = load_params(tiny_params, ["weights.field=0.6"])
    notebook.preload(params.to_dict())
    assert prepare(other.to_dict(), handed["input_sha256"]).params == other and len(loads) == 4


def test_the_default_params_file_is_found_from_a_subfolder(tmp_path, monkeypatch):
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "demo.yaml").write_text("x: 1\n", encoding="utf-8")
    inner = tmp_path / "honorcalc" / "report" / "notebooks"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    assert params_path("params/demo.yaml") == tmp_path / "params" / "demo.yaml"
    assert params_path("params/other.yaml") == Path("params/other.yaml")


def test_no_module_of_the_package_deserialises_objects():
    """Nothing in honorcalc — code or notebook — loads pickles (or their kin)."""
    banned = re.compile(r"pickle|joblib|dill|shelve|marshal\.load")
    found = [f"{p.relative_to(ROOT)}: {m.group()}" for p in (ROOT / "honorcalc").rglob("*")
             if p.suffix in (".py", ".ipynb", ".j2") for m in [banned.search(p.read_text(encoding="utf-8"))] if m]
    assert found == []


@pytest.mark.parametrize("module", ["view.py", "execute.py"])
def test_the_report_layer_does_not_import_the_runs_layer(module):
    import ast

    tree = ast.parse((ROOT / "honorcalc" / "report" / module).read_text(encoding="utf-8"))
    imported = [("." * node.level) + (node.module or "") for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [m for m in imported if m.startswith(("..runs", "honorcalc.runs"))]


# --------------------------------------------------------------------------- notebooks executed (slow)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A real run of the tiny city, with every file opened by this process recorded."""
    import sys

    from honorcalc.runs.folder import run_report

    base = tmp_path_factory.mktemp("handover")
    write_tables(base / "data", tiny_tables())
    (base / "p.yaml").write_text("dataset: data\nround: C2026Q1\ncity: 测试市\n", encoding="utf-8")
    opened: list[str] = []
    recording = [True]

    def hook(event, args):
        if recording and event == "open" and isinstance(args[0], (str, bytes, Path)):
            opened.append(str(args[0]))

    sys.addaudithook(hook)  # an audit hook stays for the session: this one records during the run only
    try:
        result = run_report(base / "p.yaml", out=base / "reports")
    finally:
        recording.clear()
    return base, result, opened


def _reexecute(folder: Path) -> nbformat.NotebookNode:
    """Re-execute a run's ``report.ipynb`` in ``folder``, as an auditor would: its own parameters."""
    import papermill

    from honorcalc.report.execute import kernel_name

    out = folder.parent / f"{folder.name}-again.ipynb"
    papermill.execute_notebook(str(folder / "report.ipynb"), str(out), kernel_name=kernel_name(), cwd=str(folder),
                               progress_bar=False, extra_arguments=["--IPKernelApp.log_level=ERROR"])
    return nbformat.read(out, as_version=4)


def _shown(nb) -> list:
    """What each code cell shows, but the 附录's, which names the run's own folder (checked apart)."""
    return [[o.get("data", {}).get("text/html") for o in c.outputs] for c in nb.cells
            if c.cell_type == "code" and "appendix" not in c.source]


@pytest.mark.slow
def test_the_run_injects_a_relative_folder_and_the_tables_hashes(finished_run):
    base, result, files = finished_run
    nb = nbformat.read(result.run_dir / "report.ipynb", as_version=4)
    injected = nb.metadata.papermill.parameters
    assert injected["run_dir"] == "."
    assert set(injected["table_sha256"]) == {p.name for p in result.run_dir.glob("*.csv")}
    manifest = json.loads((result.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["notebook_parameters"] == dict(injected)
    for name, digest in injected["table_sha256"].items():
        assert manifest["outputs"][name] == digest
    assert not [f for f in files if Path(f).suffix in (".pickle", ".pkl") or (str(base) in f and "pickle" in f)]
    assert not [p for p in result.run_dir.parent.parent.rglob("*") if "pickle" in p.name]


@pytest.mark.slow
def test_a_moved_run_reexecutes_from_its_own_folder_and_never_reads_a_planted_pickle(finished_run, tmp_path):
    import pickle

    _, result, _ = finished_run
    executed = nbformat.read(result.run_dir / "report.ipynb", as_version=4)
    moved = tmp_path / "elsewhere" / "renamed-run"
    moved.parent.mkdir()
    marker = tmp_path / "unpickled"

    class Planted:
        def __reduce__(self):
            return (Path.touch, (marker,))

    shutil.move(result.run_dir, moved)  # the folder the run wrote no longer exists
    try:
        for name in (".view.pickle", "view.pickle"):
            (moved / name).write_bytes(pickle.dumps({"view": Planted()}))
        again = _reexecute(moved)
    finally:
        for name in (".view.pickle", "view.pickle"):
            (moved / name).unlink()
        shutil.move(moved, result.run_dir)
    assert not marker.exists()
    assert _shown(again) == _shown(executed)
    appendix = next(o["data"]["text/html"] for c in again.cells if "appendix" in c.source for o in c.outputs)
    assert moved.name in appendix  # the re-executed report names the folder it was read from
    errors = [o for c in again.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []


@pytest.mark.slow
def test_a_reexecution_refuses_an_altered_table_by_name(finished_run, tmp_path):
    from papermill.exceptions import PapermillExecutionError

    _, result, _ = finished_run
    copy = tmp_path / "run"
    shutil.copytree(result.run_dir, copy)
    ranking = copy / "ranking.csv"
    ranking.write_text(ranking.read_text(encoding="utf-8").replace("东城区", "西城区", 1), encoding="utf-8")
    with pytest.raises(PapermillExecutionError) as info:
        _reexecute(copy)
    assert "ranking.csv" in info.value.evalue and "is not the table the run wrote" in info.value.evalue


def _notebook(tmp_path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("parameters = {}\nrun_dir = ''", metadata={"tags": ["parameters"]}),
                *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata.kernelspec = {"name": "python3", "language": "python", "display_name": "Python 3"}
    path = tmp_path / "cells.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def tiny_run(tmp_path):
    from honorcalc.runs.folder import run_report

    write_tables(tmp_path / "data", tiny_tables())
    (tmp_path / "p.yaml").write_text("dataset: data\nround: C2026Q1\n", encoding="utf-8")

    def run(*cells: str):
        return run_report(tmp_path / "p.yaml", out=tmp_path / "reports", notebook=_notebook(tmp_path, *cells))

    return run


@pytest.mark.slow
@pytest.mark.parametrize("raised", [
    "raise ValueError('boom')",
    # another library's ValidationError, and honorcalc's own: a failing cell is a failing cell
    "import jsonschema\njsonschema.validate(1, {'type': 'string'})",
    ("from honorcalc.errors import ValidationError\nimport pandas as pd\nraise ValidationError(pd.DataFrame("
     "{'file': ['x.csv'], 'row': [2], 'column': ['a'], 'value': ['b'], 'expected': ['c']}))"),
    "from honorcalc.errors import InputError\nraise InputError('not the user, this time')",
])
def test_a_failing_cell_is_a_notebook_error_naming_its_cell(raised, tiny_run, tmp_path):
    # cells: parameters (1), injected parameters (2), a cell that works (3), the failing one (4)
    with pytest.raises(NotebookError, match=r"failed in cell 4: ") as info:
        tiny_run("x = 1", raised)
    assert not isinstance(info.value, InputError)
    assert not any((tmp_path / "reports").rglob("*.*"))


@pytest.mark.slow
def test_a_dead_kernel_is_named(tiny_run):
    with pytest.raises(NotebookError, match="the report's kernel stopped"):
        tiny_run("import os\nos._exit(1)")
