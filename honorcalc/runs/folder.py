"""A run folder: parameters + dataset → tables, executed notebook, HTML and manifest, written atomically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from ..data.archive import archive_inputs
from ..data.contract import Dataset
from ..data.read import dataset_file, load_dataset
from ..params import Params, load_params, params_sha256, params_to_yaml
from ..report.documents import (
    ANNUAL_NOTICE,
    NOTICE,
    annual_notice,
    check_notice_template,
    notice_fields,
    round_notice,
)
from ..report.execute import (
    ANNUAL_NOTEBOOK,
    ROUND_NOTEBOOK,
    execute_notebook,
    export_html,
    exporter,
    import_tooling,
    start_kernel,
    warm_exporter,
)
from ..report.workbook import (
    ANNUAL_WORKBOOK,
    RESULTS_WORKBOOK,
    annual_workbook,
    round_workbook,
)
from .manifest import MANIFEST, build_manifest, round_info
from .notebook import KERNEL_IMPORTS, hand_over, preload_code
from .pipeline import evaluate, run_tables

__all__ = ['INPUTS_ARCHIVE', 'RunResult', 'safe_name', 'office_documents', 'resolve_notice_template', 'run_report']


INPUTS_ARCHIVE = "inputs.zip"

#: The longest folder name taken as it is; a longer one is cut and given a hash.
_MAX_NAME_BYTES = 100


class _Background:
    """Run ``fn(*args)`` in a thread; `join` returns its result, or re-raises its exception here."""

    def __init__(self, fn, *args):
        self._error: BaseException | None = None
        self._result = None

        def target():
            try:
                self._result = fn(*args)
            except BaseException as exc:  # handed to join
                self._error = exc

        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def join(self, raise_error: bool = True):
        self._thread.join()
        if raise_error and self._error is not None:
            raise self._error
        return self._result


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    html: Path
    run_id: str


def safe_name(text: str) -> str:
    """A folder name for a round id: the id itself when harmless, else a slug + hash.

    Round ids come from user data; ``../x`` or ``a/b`` must never leave the
    reports folder, and two different ids must never share a folder. A long id
    (file systems take names of at most 255 bytes) is cut short, its hash kept.
    """
    slug = re.sub(r"[^\w.-]", "_", text, flags=re.UNICODE).strip("._") or "round"
    if slug == text and not text.startswith(".") and len(text.encode("utf-8")) <= _MAX_NAME_BYTES:
        return text
    return f"{slug[:60]}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"


def _page_title(params: Params, info: dict) -> str:
    """The HTML page's title: city, round or year, and what the report is, in the report's language."""
    year = info["date"][:4]
    if params.lang == "en":
        what = f"annual assessment {year}" if params.report == "annual" else f"{params.round} red and black lists"
        return f"{params.city} {what}".strip()
    what = f"{year} 年度考核" if params.report == "annual" else f"{params.round} 红黑榜"
    return f"{params.city} {what}".strip()


def office_documents(params: Params, result) -> dict[str, bytes]:
    """The files a run hands to people, by file name: the Word notice and the Excel workbook.

    A round run (``result`` a `honorcalc.rules.RoundResult`) gives ``通报.docx`` and
    ``测评结果.xlsx``; an annual run (a `honorcalc.rules.annual.YearResult`)
    ``年度考核通报.docx`` and ``年度考核结果.xlsx``. The same inputs give the same bytes.
    """
    if params.report == "annual":
        author = notice_fields(params, int(result.year))["issuer"]
        return {ANNUAL_NOTICE: annual_notice(result), ANNUAL_WORKBOOK: annual_workbook(result, author=author)}
    author = notice_fields(params, int(result.round["year"]))["issuer"]
    return {NOTICE: round_notice(result), RESULTS_WORKBOOK: round_workbook(result, author=author)}


def resolve_notice_template(params: Params, params_file: str | Path,
                            overrides: list[str] | tuple[str, ...] = ()) -> Params:
    """``params`` with ``notice.template`` as an absolute path.

    A relative path is taken from the params file's folder, as ``dataset`` is, or
    from the working directory when it was given with ``--set notice.template=…``.
    """
    template = params.notice.template
    if template is None:
        return params
    path = Path(template).expanduser()
    if not path.is_absolute():
        from_command_line = any(o.partition("=")[0].strip() == "notice.template" for o in overrides)
        path = (Path.cwd() if from_command_line else Path(params_file).parent) / path
    notice = params.notice.model_copy(update={"template": str(path.resolve())})
    return params.model_copy(update={"notice": notice})


def _new_run_id(params_dict: dict, dataset: Dataset, now: dt.datetime) -> str:
    digest = hashlib.sha256(
        (params_sha256(params_dict) + json.dumps(sorted(dataset.files.items()))).encode()
    ).hexdigest()[:8]
    return f"{now:%Y%m%dT%H%M%SZ}-{digest}"


def _reserve(round_dir: Path, run_id: str) -> tuple[Path, Path]:
    """A private working folder and the run folder it becomes, its name claimed atomically.

    The name ``<run id>`` (then ``<run id>-2``, ``-3``, …) belongs to whoever holds
    either ``.<name>.partial`` (made with an exclusive `os.mkdir`) or ``<name>``
    (the working folder renamed, in one step, when complete). A run takes a name by
    creating its working folder first and checking the run folder second, so two
    runs started in the same second, in threads or processes, never share one.
    """
    n = 1
    while True:
        name = run_id if n == 1 else f"{run_id}-{n}"
        work = round_dir / f".{name}.partial"
        n += 1
        try:
            work.mkdir(mode=0o700)
        except FileExistsError:
            continue
        target = round_dir / name
        if not os.path.lexists(target):
            return work, target
        work.rmdir()


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
        Bad parameters or data (found before the notebook runs): nothing is written.
    NotebookError
        The notebook failed in a cell (a bug), or its kernel stopped: nothing is written.
    """
    params = resolve_notice_template(load_params(params_file, overrides), params_file, overrides)
    check_notice_template(params)  # an unusable template stops the run before anything is written
    # the kernel loads the data and evaluates the report while this process computes the tables
    km = start_kernel(KERNEL_IMPORTS[params.report], setup=preload_code(params))
    try:
        return _run(params, Path(out), notebook, progress, km)
    finally:
        km.stop()


def _run(params: Params, out: Path, notebook, progress: bool, km) -> RunResult:
    annual = params.report == "annual"
    dataset = load_dataset(params.dataset)
    dataset.require_round(params.round)
    params_dict = params.to_dict()

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    run_id = _new_run_id(params_dict, dataset, now)
    info = round_info(dataset, params)  # the round the manifest records, as verify reads it back
    # an annual run is filed under its year, a round run under its round
    folder = f"{info['date'][:4]}-annual" if annual else params.round
    round_dir = out.resolve() / safe_name(folder)
    round_dir.mkdir(parents=True, exist_ok=True)
    tmp, target = _reserve(round_dir, run_id)
    archiver = None
    try:
        (tmp / "params.yaml").write_text(params_to_yaml(params), encoding="utf-8")
        # the tables are computed here while the kernel starts; the notebook reads them back,
        # checked against their hashes, from the run folder it is executed in
        result = evaluate(params, dataset)
        handed = hand_over(run_tables(params, dataset, result), dataset, tmp)
        if params.audit.keep_inputs:
            # compressing the inputs waits on zlib, which leaves the interpreter free
            archiver = _Background(archive_inputs, {t: dataset_file(params.dataset, f) for t, f in dataset.files.items()},
                                   tmp / INPUTS_ARCHIVE)
        import_tooling()  # here, before another thread imports: parallel imports can deadlock
        warm = _Background(warm_exporter, exporter())
        # the notice and the workbook are made while the kernel draws (a province's workbook takes
        # seconds), and written before the manifest, which hashes them
        documents = _Background(office_documents, params, result)
        nb_parameters = {"parameters": params_dict, **handed}
        default = ANNUAL_NOTEBOOK if annual else ROUND_NOTEBOOK
        execute_notebook(Path(notebook or default), tmp / "report.ipynb", nb_parameters, cwd=tmp, progress=progress,
                         km=km)
        warm.join()
        for name, content in documents.join().items():
            (tmp / name).write_bytes(content)
        if archiver is not None:
            archiver.join()
        title = _page_title(params, info)
        export_html(tmp / "report.ipynb", tmp / "report.html", title=title, lang=params.lang)
        manifest = build_manifest(
            run_id=target.name, round_id=params.round, round_info=info,
            created_utc=now.isoformat(),
            params_dict=params_dict, dataset=dataset, run_dir=tmp,
            notebook_parameters=nb_parameters,
        )
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False) + "\n",
            encoding="utf-8",
        )
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # the working folder was private; a finished run is an ordinary folder
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
