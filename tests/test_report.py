"""A real run: papermill executes the notebook, nbconvert exports HTML, the run folder is whole."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from honorcalc.data.write import file_sha256
from honorcalc.runs.folder import run_report, safe_name
from honorcalc.runs.manifest import check_manifest

from .conftest import tiny_tables, write_tables

pytestmark = pytest.mark.slow

EVIL = "<script>alert('x')</script>区"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("run")
    tables = tiny_tables()
    tables["units"].loc[2, "name"] = EVIL
    write_tables(base / "data", tables)
    params = base / "p.yaml"
    params.write_text("dataset: data\nround: C2026Q1\ncity: 测试市\n", encoding="utf-8")
    result = run_report(params, ["weights.field=0.6"], out=base / "reports")
    return base, result


def test_run_folder_is_complete(finished_run):
    base, result = finished_run
    assert result.run_dir.parent == base / "reports" / "C2026Q1"
    names = {p.name for p in result.run_dir.iterdir()}
    assert {"report.html", "report.ipynb", "params.yaml", "manifest.json"} <= names
    assert not [p for p in result.run_dir.parent.iterdir() if p.name.startswith(".")]
    assert not [p for p in result.run_dir.iterdir() if p.name.startswith(".")]  # no hidden file is left


def test_manifest_records_inputs_params_and_outputs(finished_run):
    base, result = finished_run
    manifest = json.loads((result.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs"]["scores"]["sha256"] == file_sha256(base / "data" / "scores.csv")
    assert manifest["params"]["weights"]["field"] == 0.6
    assert manifest["outputs"]["report.html"] == file_sha256(result.html)
    assert manifest["libraries"]["pandas"]
    assert manifest["seeds"]["seed"] == manifest["params"]["seed"]
    assert check_manifest(result.run_dir) == []


def test_executed_notebook_records_injected_parameters(finished_run):
    _, result = finished_run
    nb = nbformat.read(result.run_dir / "report.ipynb", as_version=4)
    assert nb.metadata.papermill.parameters["parameters"]["weights"]["field"] == 0.6
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert ["parameters"] in tags and ["injected-parameters"] in tags
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert errors == []


def test_html_has_no_code_no_errors_no_external_urls(finished_run):
    _, result = finished_run
    page = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+", "", result.html.read_text(encoding="utf-8"))
    assert "测试市" in page and "C2026Q1" in page
    assert "jp-InputArea" not in page and "present.prepare" not in page
    assert "Traceback" not in page and "Error" not in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "cdn" not in page.lower()
    assert "<img" in page  # figures embedded, not linked


def test_markup_in_a_unit_name_is_escaped(finished_run):
    _, result = finished_run
    page = result.html.read_text(encoding="utf-8")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;区" in page or "&lt;script&gt;" in page


def test_two_runs_never_share_a_folder(finished_run):
    base, first = finished_run
    second = run_report(base / "p.yaml", ["weights.field=0.6"], out=base / "reports")
    assert second.run_dir != first.run_dir and first.html.exists()


def test_failed_notebook_leaves_nothing(tmp_path):
    write_tables(tmp_path / "data", tiny_tables())
    params = tmp_path / "p.yaml"
    params.write_text("dataset: data\nround: C2026Q1\n", encoding="utf-8")
    broken = nbformat.v4.new_notebook()
    broken.cells = [
        nbformat.v4.new_code_cell("parameters = {}\nrun_dir = ''", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("raise RuntimeError('boom in the middle of a run')"),
    ]
    broken.metadata.kernelspec = {"name": "python3", "language": "python", "display_name": "Python 3"}
    path = tmp_path / "broken.ipynb"
    nbformat.write(broken, path)
    from honorcalc.report.execute import NotebookError

    with pytest.raises(NotebookError, match="boom"):
        run_report(params, out=tmp_path / "reports", notebook=path)
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").rglob("*"))


@pytest.mark.parametrize("round_id", ["../escape", "a/b", "..", ".hidden", "C 2026\\Q1"])
def test_round_ids_never_leave_the_reports_folder(round_id):
    name = safe_name(round_id)
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert safe_name(round_id) != safe_name(round_id + "x")


def test_plain_round_ids_are_kept():
    assert safe_name("C2026Q1") == "C2026Q1"
    assert safe_name("S2026-01a") == "S2026-01a"
    assert safe_name("2026年第一季度") == "2026年第一季度"


def test_a_round_id_with_path_characters_stays_inside_reports(tmp_path):
    tables = tiny_tables()
    for name in ("rounds", "scores", "deductions", "surveys"):
        tables[name]["round_id"] = tables[name]["round_id"].replace("C2026Q1", "../../escape")
    write_tables(tmp_path / "data", tables)
    params = tmp_path / "p.yaml"
    params.write_text("dataset: data\nround: ../../escape\n", encoding="utf-8")
    out = tmp_path / "nest" / "reports"
    result = run_report(params, out=out)
    assert out.resolve() in result.run_dir.resolve().parents
    assert not (tmp_path / "escape").exists() and not (tmp_path / "nest" / "escape").exists()


@pytest.mark.parametrize("notebook, params", [("round_report.ipynb", "demo.yaml"),
                                              ("annual_report.ipynb", "demo-annual.yaml")])
def test_run_all_in_jupyterlab_gives_the_same_report(tmp_path, notebook, params):
    """"Run All" on the notebook as it stands (its defaults: the demo city) = `honorcalc run`."""
    import shutil

    import papermill

    from honorcalc.datasets.demo import write_demo, write_demo_workbook
    from honorcalc.report.execute import NOTEBOOKS, kernel_name

    root = Path(__file__).resolve().parent.parent
    (tmp_path / "notebooks").mkdir()
    shutil.copy(NOTEBOOKS / notebook, tmp_path / "notebooks" / notebook)
    shutil.copytree(root / "params", tmp_path / "params")
    write_demo(tmp_path / "data" / "demo")
    write_demo_workbook(tmp_path / "data" / "demo.xlsx")
    executed = tmp_path / "run-all.ipynb"
    papermill.execute_notebook(str(tmp_path / "notebooks" / notebook), str(executed),
                               kernel_name=kernel_name(), cwd=str(tmp_path / "notebooks"), progress_bar=False,
                               extra_arguments=["--IPKernelApp.log_level=ERROR"])
    run = run_report(tmp_path / "params" / params, out=tmp_path / "reports")

    def shown(path):
        """What each cell of the report shows (the parameter cells show nothing)."""
        nb = nbformat.read(path, as_version=4)
        return [(c.source, [o.get("data", {}).get("text/html") for o in c.outputs]) for c in nb.cells
                if c.cell_type == "code" and not {"parameters", "injected-parameters"} & set(c.metadata.get("tags", []))
                and "appendix" not in c.source]  # the 附录 names the run folder, which Run All has not

    by_hand, by_run = shown(executed), shown(run.run_dir / "report.ipynb")
    assert len(by_hand) > 8 and by_hand == by_run
    page = "".join(html or "" for _, outputs in by_hand for html in outputs)
    assert "文明示范市" in page and "<img" in page and "黑榜" in page


def test_the_manifest_records_the_inputs_as_they_were_read(tmp_path):
    """A file edited between reading and the manifest: the run records the data it used."""
    from honorcalc.data.read import load_dataset
    from honorcalc.params import Params
    from honorcalc.runs.manifest import build_manifest

    data = write_tables(tmp_path / "data", tiny_tables())
    ds = load_dataset(data)
    before = file_sha256(data / "units.csv")
    with open(data / "units.csv", "a", encoding="utf-8") as handle:
        handle.write("X9,新单位,industry,市直部门,1\n")
    (tmp_path / "run").mkdir()
    params = Params(dataset=str(data), round="C2026Q1").to_dict()
    manifest = build_manifest(run_id="r", round_id="C2026Q1", round_info={}, created_utc="", params_dict=params,
                              dataset=ds, run_dir=tmp_path / "run")
    assert manifest["inputs"]["units"]["sha256"] == before != file_sha256(data / "units.csv")
