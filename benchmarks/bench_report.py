"""`honorcalc run` against the toolchain's floor, side by side in one run.

The floor is what any papermill report pays: papermill executing a one-cell
notebook (kernel start-up included) plus nbconvert exporting it to HTML, both
in this process. The honorcalc run is the demo city's report (150 units, 28
rounds, ≈76k score rows), in process and through the command line.

Run: ``.venv/bin/python benchmarks/bench_report.py`` (``make bench``).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
REPEAT = 3


def _best(fn, repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    import papermill
    from nbconvert import HTMLExporter

    from honorcalc.demo import write_demo
    from honorcalc.report import _kernel_name, run_report

    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    write_demo(work / "data")
    params = work / "demo.yaml"
    params.write_text("dataset: data\nround: C2026Q2\ncity: 文明示范市\n", encoding="utf-8")

    one_cell = nbformat.v4.new_notebook()
    one_cell.cells = [nbformat.v4.new_code_cell("1 + 1")]
    one_cell.metadata.kernelspec = {"name": _kernel_name(), "language": "python", "display_name": "Python"}
    floor_in = work / "floor.ipynb"
    nbformat.write(one_cell, floor_in)

    def floor():
        papermill.execute_notebook(str(floor_in), str(work / "floor-out.ipynb"), kernel_name=_kernel_name(),
                                   progress_bar=False, log_output=False,
                                   extra_arguments=["--IPKernelApp.log_level=ERROR"])
        HTMLExporter(template_name="basic").from_filename(str(work / "floor-out.ipynb"))

    def in_process():
        run_report(params, out=work / "reports")

    cli = [str(Path(sys.executable).parent / "honorcalc"), "run", str(params), "--out", str(work / "reports")]

    def command_line():
        subprocess.run(cli, check=True, capture_output=True)

    floor()  # warm the kernel spec and import caches once, for every contender alike
    t_floor = _best(floor)
    t_run = _best(in_process)
    t_cli = _best(command_line)
    print(f"{'papermill + nbconvert floor (one-cell notebook)':<58}{t_floor:8.2f} s")
    print(f"{'honorcalc run, demo city, in process':<58}{t_run:8.2f} s   ratio {t_run / t_floor:5.2f}× floor")
    print(f"{'honorcalc run, demo city, command line':<58}{t_cli:8.2f} s   ratio {t_cli / t_floor:5.2f}× floor")
    sizes = [p.stat().st_size for p in (work / "reports").rglob("report.html")]
    print(f"{'report.html size':<58}{statistics.median(sizes) / 1e6:8.2f} MB")


if __name__ == "__main__":
    main()
