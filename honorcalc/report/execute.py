"""Executing a report notebook (papermill) on a kernel started early, and exporting it to HTML (nbconvert).
"""

from __future__ import annotations

import threading
from pathlib import Path

from .. import __version__
from ..errors import HonorcalcError

__all__ = ['NOTEBOOKS', 'ROUND_NOTEBOOK', 'ANNUAL_NOTEBOOK', 'KERNEL', 'NotebookError', 'export_html', 'start_kernel',
           'execute_notebook']


NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


ROUND_NOTEBOOK = NOTEBOOKS / "round_report.ipynb"


ANNUAL_NOTEBOOK = NOTEBOOKS / "annual_report.ipynb"


KERNEL = "honorcalc"


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
    """The kernel a notebook names: honorcalc's own where installed (``make setup``), else ``python3``."""
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL if KERNEL in KernelSpecManager().find_kernel_specs() else "python3"


def _this_interpreter():
    """A kernel-spec manager whose every kernel runs this Python (`sys.executable`).

    A report's kernel must run the honorcalc that runs the report: a kernel
    spec found on the Jupyter path (a user's ``honorcalc`` or ``python3`` spec
    written for another environment) would run another interpreter, and with it
    another honorcalc.
    """
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class ThisInterpreter(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())

    return ThisInterpreter()




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
    from .html import page

    html_exporter = exporter()
    import nbformat

    nb = nbformat.read(notebook_path, as_version=4)
    body, _ = html_exporter.from_notebook_node(nb)
    html_path.write_text(page(body, title=title, lang=lang, version=__version__), encoding="utf-8")
    return html_path


#: How long the kernel may take to start and to answer a request sent before the notebook, in seconds.
STARTUP_TIMEOUT = 60


def start_kernel(modules: tuple[str, ...], setup: str = ""):
    """Start the report's kernel now, importing ``modules`` as it starts, then running ``setup``.

    The kernel's start-up (a Python process, ipykernel, then pandas, matplotlib
    and honorcalc) runs on another core while this process validates the data
    and computes the tables; papermill then executes the notebook on this
    kernel instead of starting its own. ``setup`` is code the kernel runs
    silently once it is up (no output, no execution count), while this process
    still computes: what it leaves in memory may save the notebook work, never
    change its result.
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

        def run_silently(self, code: str) -> str:
            """Send ``code`` to the kernel without waiting; return the request's id (`wait_reply`).

            The request goes on the shell channel alone, which queues it until the
            kernel is up: nothing waits for the kernel's other channels.
            """
            if self.setup_client is None:
                self.setup_client = self.client()
                self.setup_client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
            # stop_on_error=False: a failing request never aborts the notebook's queued cells
            return self.setup_client.execute(code, silent=True, store_history=False, allow_stdin=False,
                                      stop_on_error=False)

        def wait_reply(self, msg_id: str) -> dict:
            """The kernel's reply to the request ``msg_id`` (`run_silently`), the earlier ones skipped.

            Raises
            ------
            DeadKernelError
                The kernel stopped before it answered.
            NotebookError
                No answer in `STARTUP_TIMEOUT` seconds.
            """
            import time
            from queue import Empty

            from nbclient.exceptions import DeadKernelError

            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                if not run_sync(self.is_alive)():
                    raise DeadKernelError("the kernel ended before the notebook ran")
                try:
                    reply = run_sync(self.setup_client.get_shell_msg)(timeout=0.5)
                except Empty:
                    if time.monotonic() > deadline:
                        raise NotebookError(f"the report's kernel did not answer in {STARTUP_TIMEOUT} s") from None
                    continue
                if reply["parent_header"].get("msg_id") == msg_id:
                    return reply

        def stop(self) -> None:
            try:
                for kc in self.clients:
                    kc.stop_channels()
            finally:
                run_sync(self.shutdown_kernel)(now=True)

    km = Kernel(kernel_name=kernel_name(), kernel_spec_manager=_this_interpreter())
    km.clients = []
    km.setup_client = None
    run_sync(km.start_kernel)(extra_arguments=[
        # the kernel talks to us over loopback only; its start-up chatter is not for users
        "--IPKernelApp.log_level=ERROR",
        # the imports' objects live as long as the kernel: freezing them keeps the collector from
        # walking them again in every full collection while the figures are drawn
        f"--IPKernelApp.exec_lines=import {', '.join(modules)}; import gc; gc.freeze()",
    ])
    if setup:
        km.run_silently(setup)
    return km


def execute_notebook(notebook: Path, output: Path, parameters: dict, cwd: Path, progress: bool, km=None) -> None:
    """Execute ``notebook`` with ``parameters`` injected, in the folder ``cwd``, into ``output``.

    ``km`` is a kernel started early (`start_kernel`): it first moves into ``cwd``,
    as a kernel papermill starts itself would start there, so that paths in the
    parameters are relative to ``cwd``.

    Raises
    ------
    NotebookError
        A cell raised (whatever the exception: the parameters and data were
        checked before, so it is a bug; the message gives the cell's execution
        count), the kernel stopped, or a cell ran out of time.
    """
    import_tooling()
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    try:
        if km is not None:
            _enter(km, cwd)
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name=kernel_name(),
            progress_bar=progress, cwd=str(cwd), log_output=False, km=km, start_timeout=STARTUP_TIMEOUT,
            # for a kernel papermill starts itself (none given): quiet, as `start_kernel`'s
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except PapermillExecutionError as exc:
        raise NotebookError(
            f"the report notebook failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
        ) from None
    except DeadKernelError as exc:
        # the kernel process ended (killed, out of memory) before or while running a cell
        raise NotebookError(f"the report's kernel stopped: {exc}") from None
    except CellTimeoutError as exc:
        raise NotebookError(f"the report notebook ran out of time: {exc}") from None


def _enter(km, cwd: Path) -> None:
    """Make ``cwd`` the working directory of the kernel ``km`` (`start_kernel`'s), before the notebook runs.

    Raises
    ------
    DeadKernelError
        The kernel stopped before it answered.
    NotebookError
        The kernel cannot enter ``cwd``, or did not answer.
    """
    content = km.wait_reply(km.run_silently(f"__import__('os').chdir({str(cwd)!r})"))["content"]
    if content["status"] != "ok":
        raise NotebookError(f"the report's kernel cannot work in {cwd}: {content.get('ename')}: "
                            f"{content.get('evalue')}")
