"""Executing a report notebook (papermill) on a kernel started early, and exporting it to HTML (nbconvert).
"""

from __future__ import annotations

import threading
from pathlib import Path

from .. import __version__
from ..errors import HonorcalcError, InputError

__all__ = ['NOTEBOOKS', 'ROUND_NOTEBOOK', 'ANNUAL_NOTEBOOK', 'KERNEL', 'HANDOFF', 'NotebookError', 'export_html', 'KERNEL_IMPORTS']


NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


ROUND_NOTEBOOK = NOTEBOOKS / "round_report.ipynb"


ANNUAL_NOTEBOOK = NOTEBOOKS / "annual_report.ipynb"


KERNEL = "honorcalc"


#: Where `run_report` leaves the computed view for the notebook (`honorcalc.report.round_report.handed_over`).
HANDOFF = ".view.pickle"


class NotebookError(HonorcalcError):
    """The report notebook failed in a cell: a bug, reported with the cell."""


def import_tooling() -> None:
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


def kernel_name() -> str:
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


def exporter():
    """nbconvert's exporter of the report: the ``basic`` template, no code, no prompts.

    Built once per process; its templates are compiled on its first export
    (`warm_exporter`).
    """
    global _EXPORTER
    with _EXPORTER_LOCK:
        if _EXPORTER is None:
            _EXPORTER = _new_exporter()
    return _EXPORTER


_EXPORTER = None


_EXPORTER_LOCK = threading.Lock()


def _new_exporter():
    import_tooling()
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


def warm_exporter(exporter) -> None:
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

    html_exporter = exporter()
    import nbformat

    nb = nbformat.read(notebook_path, as_version=4)
    body, _ = html_exporter.from_notebook_node(nb)
    page = _PAGE.format(
        lang="zh-CN" if lang == "zh" else "en", version=__version__,
        title=_html.escape(title), body=body,
    )
    html_path.write_text(page, encoding="utf-8")
    return html_path


#: What each report's cells import, loaded by its kernel as it starts (`start_kernel`).
KERNEL_IMPORTS = {
    "round": ("honorcalc.report.round_report", "honorcalc.report.figures.round_figures"),
    "annual": ("honorcalc.report.annual_report", "honorcalc.report.figures.annual_figures"),
}


def start_kernel(modules: tuple[str, ...]):
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

    km = Kernel(kernel_name=kernel_name())
    km.clients = []
    run_sync(km.start_kernel)(extra_arguments=[
        # the kernel talks to us over loopback only; its start-up chatter is not for users
        "--IPKernelApp.log_level=ERROR",
        f"--IPKernelApp.exec_lines=import {', '.join(modules)}",
    ])
    return km


def execute_notebook(notebook: Path, output: Path, parameters: dict, cwd: Path, progress: bool, km=None) -> None:
    import_tooling()
    import papermill
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name=kernel_name(),
            progress_bar=progress, cwd=str(cwd), log_output=False, km=km,
            # for a kernel papermill starts itself (none given): quiet, as `start_kernel`'s
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
