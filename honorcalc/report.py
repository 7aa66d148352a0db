"""Running a report: parameters + dataset → executed notebook → run folder.

`run_report` starts the notebook's kernel at once, so that its start-up runs
beside the rest; validates the data (nothing is written for bad input); builds
the run folder in a hidden temporary folder beside its target; computes the
run's tables and the view the notebook shows and hands them to it (the kernel
would otherwise compute them again, `honorcalc.present.handed_over`); executes
the report notebook with papermill on that kernel, exports HTML with nbconvert
(code hidden), writes the manifest and renames the folder into place. An error or
Ctrl-C at any point removes the temporary folder, so a failed run leaves nothing
behind, and a run never overwrites another.

Run folder: ``<out>/<round>/<run_id>/`` (an annual report: ``<out>/<year>-annual/<run_id>/``) with ``report.html``, ``report.ipynb``,
``params.yaml`` (the resolved parameters), the tables the notebook writes and
``manifest.json``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import __version__
from .audit import MANIFEST, build_manifest, params_sha256
from .errors import HonorcalcError, InputError, ParamError
from .io import archive_inputs, load_dataset, write_tables
from .params import Params, load_params, params_from_mapping, params_to_yaml
from .validation import Dataset

__all__ = [
    "NOTEBOOKS",
    "RunResult",
    "NotebookError",
    "run_report",
    "check_round",
    "safe_name",
    "notebook_params",
    "export_html",
]

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ROUND_NOTEBOOK = NOTEBOOKS / "round_report.ipynb"
ANNUAL_NOTEBOOK = NOTEBOOKS / "annual_report.ipynb"
KERNEL = "honorcalc"
INPUTS_ARCHIVE = "inputs.zip"
#: Where `run_report` leaves the computed view for the notebook (`honorcalc.present.handed_over`).
HANDOFF = ".view.pickle"


class _Background:
    """Run ``fn(*args)`` in a thread; `join` re-raises its exception here."""

    def __init__(self, fn, *args):
        self._error: BaseException | None = None

        def target():
            try:
                fn(*args)
            except BaseException as exc:  # handed to join
                self._error = exc

        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def join(self, raise_error: bool = True) -> None:
        self._thread.join()
        if raise_error and self._error is not None:
            raise self._error


class NotebookError(HonorcalcError):
    """The report notebook failed in a cell: a bug, reported with the cell."""


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    html: Path
    run_id: str


def safe_name(text: str) -> str:
    """A folder name for a round id: the id itself when harmless, else a slug + hash.

    Round ids come from user data; ``../x`` or ``a/b`` must never leave the
    reports folder, and two different ids must never share a folder.
    """
    slug = re.sub(r"[^\w.-]", "_", text, flags=re.UNICODE).strip("._") or "round"
    if slug == text and not text.startswith("."):
        return text
    return f"{slug[:60]}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"


def check_round(params: Params, dataset: Dataset) -> None:
    """The round to report must exist in the dataset."""
    known = dataset.rounds["round_id"].tolist()
    if params.round not in known:
        near = difflib.get_close_matches(params.round, known, n=1)
        hint = f"; did you mean '{near[0]}'?" if near else f"; known rounds: {', '.join(known[:12])}"
        raise ParamError(
            f"round '{params.round}' is not in {dataset.files.get('rounds', 'rounds')}{hint}",
            parameter="round",
        )
    if not (dataset.scores["round_id"] == params.round).any():
        raise ParamError(
            f"round '{params.round}' has no scores in {dataset.files.get('scores', 'scores')}",
            parameter="round",
        )


def notebook_params(params_file: str | Path | None, parameters: dict | None) -> Params:
    """The parameters a notebook runs with: injected ones, else its params file."""
    if parameters:
        return params_from_mapping(parameters)
    if params_file is None:
        raise ParamError("the notebook needs params_file or parameters")
    return load_params(params_file)


def _import_tooling() -> None:
    """Import papermill and nbconvert, keeping jsonschema from importing ``rfc3987_syntax``.

    Both load nbformat, which loads jsonschema; jsonschema imports that package
    eagerly for its "iri" format checker, and the import builds some thirty-five
    Earley parsers: about two seconds per process, more than the rest of
    papermill's start-up (python-jsonschema/jsonschema#1428). No notebook schema
    uses that format. The package is marked absent while jsonschema's format
    module loads, so jsonschema leaves that one checker out as if the package
    were not installed, then unmarked: later imports of it work as usual.
    """
    import sys

    masked = "jsonschema._format" not in sys.modules and "rfc3987_syntax" not in sys.modules
    if masked:
        sys.modules["rfc3987_syntax"] = None
    try:
        import nbconvert  # noqa: F401
        import papermill  # noqa: F401
    finally:
        if masked and "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
            del sys.modules["rfc3987_syntax"]


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL if KERNEL in KernelSpecManager().find_kernel_specs() else "python3"


_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="honorcalc {version}">
<title>{title}</title>
<style>
body {{ margin: 1.5em auto; padding: 0 1.2em; max-width: 1100px; color: #222; background: #fff; }}
.jp-OutputArea-output pre {{ white-space: pre-wrap; }}
img {{ max-width: 100%; height: auto; }}
@media print {{ body {{ margin: 0; max-width: none; }} h2 {{ break-after: avoid; }}
               table, img {{ break-inside: avoid; }} }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def _exporter():
    """nbconvert's exporter of the report: the ``basic`` template, no code, no prompts.

    Built once per process; its templates are compiled on its first export
    (`_warm_exporter`).
    """
    global _EXPORTER
    with _EXPORTER_LOCK:
        if _EXPORTER is None:
            _EXPORTER = _new_exporter()
    return _EXPORTER


_EXPORTER = None
_EXPORTER_LOCK = threading.Lock()


def _new_exporter():
    _import_tooling()
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    # cells tagged "remove" are notes for analysts in JupyterLab, not for the report
    config.TagRemovePreprocessor.remove_cell_tags = ("remove",)
    config.TagRemovePreprocessor.enabled = True
    return HTMLExporter(
        config=config, template_name="basic", exclude_input=True, exclude_input_prompt=True,
        exclude_output_prompt=True, embed_images=True,
    )


def _warm_exporter(exporter) -> None:
    """Compile the exporter's templates on an empty notebook, while the kernel works.

    The modules are imported before, in the main thread: two threads importing
    the same packages at once can deadlock on the import locks.
    """
    import nbformat

    exporter.from_notebook_node(nbformat.v4.new_notebook())


def export_html(notebook_path: Path, html_path: Path, *, title: str = "", lang: str = "zh") -> Path:
    """Export an executed notebook to one self-contained HTML file without code.

    nbconvert's ``basic`` template gives the cell outputs only; they go into a
    page of our own, so the report loads no script, style or font from any
    server (government intranet machines are often offline) and figures are
    embedded as data URIs.
    """
    import html as _html

    exporter = _exporter()
    import nbformat

    nb = nbformat.read(notebook_path, as_version=4)
    body, _ = exporter.from_notebook_node(nb)
    page = _PAGE.format(
        lang="zh-CN" if lang == "zh" else "en", version=__version__,
        title=_html.escape(title), body=body,
    )
    html_path.write_text(page, encoding="utf-8")
    return html_path


#: What each report's cells import, loaded by its kernel as it starts (`_start_kernel`).
KERNEL_IMPORTS = {
    "round": ("honorcalc.present", "honorcalc.figures"),
    "annual": ("honorcalc.present_annual", "honorcalc.figures_annual"),
}


def _start_kernel(modules: tuple[str, ...]):
    """Start the report's kernel now, importing ``modules`` as it starts.

    The kernel's start-up (a Python process, ipykernel, then pandas, matplotlib
    and honorcalc) runs on another core while this process validates the data
    and computes the tables; papermill then executes the notebook on this
    kernel instead of starting its own.
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    class Kernel(AsyncKernelManager):
        """A kernel manager that remembers its clients, to close them with the kernel.

        papermill leaves the kernel and its client to whoever started them. It is
        the asynchronous manager papermill would make itself: nbclient then polls
        whether the kernel is alive while it waits, so a kernel that dies ends the
        run with an error instead of a wait without end.
        """

        def client(self, **kwargs):
            kc = super().client(**kwargs)
            self.clients.append(kc)
            return kc

        def stop(self) -> None:
            try:
                for kc in self.clients:
                    kc.stop_channels()
            finally:
                run_sync(self.shutdown_kernel)(now=True)

    km = Kernel(kernel_name=_kernel_name())
    km.clients = []
    run_sync(km.start_kernel)(extra_arguments=[
        # the kernel talks to us over loopback only; its start-up chatter is not for users
        "--IPKernelApp.log_level=ERROR",
        f"--IPKernelApp.exec_lines=import {', '.join(modules)}",
    ])
    return km


def _execute(notebook: Path, output: Path, parameters: dict, cwd: Path, progress: bool, km=None) -> None:
    _import_tooling()
    import papermill
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name=_kernel_name(),
            progress_bar=progress, cwd=str(cwd), log_output=False, km=km,
            # for a kernel papermill starts itself (none given): quiet, as `_start_kernel`'s
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except PapermillExecutionError as exc:
        if exc.ename in ("InputError", "ValidationError", "ParamError"):
            raise InputError(str(exc.evalue)) from None
        raise NotebookError(
            f"the report notebook failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
        ) from None
    except (DeadKernelError, RuntimeError) as exc:
        # the kernel process ended (killed, out of memory) before or while running a cell
        raise NotebookError(f"the report's kernel stopped: {exc}") from None


def _page_title(params: Params, info: dict) -> str:
    """The HTML page's title: city, round or year, and what the report is, in the report's language."""
    year = info["date"][:4]
    if params.lang == "en":
        what = f"annual assessment {year}" if params.report == "annual" else f"{params.round} red and black lists"
        return f"{params.city} {what}".strip()
    what = f"{year} 年度考核" if params.report == "annual" else f"{params.round} 红黑榜"
    return f"{params.city} {what}".strip()


def _round_info(dataset: Dataset, round_id: str) -> dict:
    row = dataset.rounds.loc[dataset.rounds["round_id"] == round_id].iloc[0]
    return {
        "round_id": round_id, "kind": row["kind"],
        "topic": None if pd.isna(row["topic"]) else row["topic"],
        "date": row["date"].date().isoformat(),
    }


def _new_run_id(params_dict: dict, dataset: Dataset, now: dt.datetime) -> str:
    digest = hashlib.sha256(
        (params_sha256(params_dict) + json.dumps(sorted(dataset.files.items()))).encode()
    ).hexdigest()[:8]
    return f"{now:%Y%m%dT%H%M%SZ}-{digest}"


def run_report(
    params_file: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    out: str | Path = "reports",
    notebook: str | Path | None = None,
    progress: bool = False,
) -> RunResult:
    """Run one report and return where it is.

    Raises
    ------
    InputError
        Bad parameters or data: nothing is written.
    NotebookError
        The notebook failed in a cell (a bug): nothing is written.
    """
    params = load_params(params_file, overrides)
    km = _start_kernel(KERNEL_IMPORTS[params.report])
    try:
        return _run(params, Path(out), notebook, progress, km)
    finally:
        km.stop()


def _run(params: Params, out: Path, notebook, progress: bool, km) -> RunResult:
    import importlib
    import pickle

    annual = params.report == "annual"
    present = importlib.import_module(KERNEL_IMPORTS[params.report][0])
    dataset = load_dataset(params.dataset)
    check_round(params, dataset)
    params_dict = params.to_dict()

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    run_id = _new_run_id(params_dict, dataset, now)
    info = _round_info(dataset, params.round)
    # an annual run is filed under its year, a round run under its round
    folder = f"{info['date'][:4]}-annual" if annual else params.round
    round_dir = out.resolve() / safe_name(folder)
    round_dir.mkdir(parents=True, exist_ok=True)
    target = round_dir / run_id
    n = 1
    while target.exists():
        n += 1
        target = round_dir / f"{run_id}-{n}"

    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=round_dir))
    archiver = None
    try:
        (tmp / "params.yaml").write_text(params_to_yaml(params), encoding="utf-8")
        # the tables are computed here while the kernel starts, and the view handed over
        view = present.build_view(params, dataset, tmp)
        write_tables(view.tables, tmp)
        with open(tmp / HANDOFF, "wb") as handle:
            pickle.dump({"honorcalc": __version__, "view": view}, handle, protocol=pickle.HIGHEST_PROTOCOL)
        if params.audit.keep_inputs:
            # compressing the inputs waits on zlib, which leaves the interpreter free
            archiver = _Background(archive_inputs, {t: Path(params.dataset) / f for t, f in dataset.files.items()},
                                   tmp / INPUTS_ARCHIVE)
        _import_tooling()  # here, before another thread imports: parallel imports can deadlock
        warm = _Background(_warm_exporter, _exporter())
        nb_parameters = {"parameters": params_dict, "run_dir": str(tmp)}
        default = ANNUAL_NOTEBOOK if annual else ROUND_NOTEBOOK
        _execute(Path(notebook or default), tmp / "report.ipynb", nb_parameters, cwd=tmp, progress=progress,
                 km=km)
        (tmp / HANDOFF).unlink()
        warm.join()
        if archiver is not None:
            archiver.join()
        title = _page_title(params, info)
        export_html(tmp / "report.ipynb", tmp / "report.html", title=title, lang=params.lang)
        manifest = build_manifest(
            run_id=target.name, round_id=params.round, round_info={**info, "report": params.report},
            created_utc=now.isoformat(),
            params_dict=params_dict, dataset=dataset, run_dir=tmp,
            notebook_parameters={"parameters": params_dict, "run_dir": "<run folder>"},
        )
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False) + "\n",
            encoding="utf-8",
        )
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp made it private; a finished run is an ordinary folder
        tmp.rename(target)
    except BaseException:
        if archiver is not None:
            archiver.join(raise_error=False)
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            round_dir.rmdir()  # only if this run created it and left it empty
        except OSError:
            pass
        raise
    return RunResult(run_dir=target, html=target / "report.html", run_id=target.name)
