"""`honorcalc run` against the toolchain's floor, side by side in one run.

The floor is what any papermill report pays: papermill executing a one-cell
notebook (kernel start-up included) plus nbconvert exporting it to HTML, both
in this process. Two cities are reported:

* a 160-unit city of 8 rounds (1 comprehensive, 7 special; 68,800 score rows),
  the first 8 rounds of `honorcalc.datasets.province.make_city`, reporting its
  comprehensive round C2026Q1;
* the demo city (150 units, 28 rounds, ≈76k score rows), reporting C2026Q2:
  the same data size, but a whole year of history behind the fairness analysis.

Each is run in process (`honorcalc.runs.folder.run_report`) and through the command
line (a new interpreter, its imports included).

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


def _eight_round_city(directory: Path) -> None:
    from honorcalc.datasets.province import make_city

    city = make_city(2026, 160)
    rounds = city["rounds"].sort_values(["date", "round_id"], kind="stable").head(8)
    keep = set(rounds["round_id"])
    directory.mkdir(parents=True)
    for name, frame in city.items():
        if "round_id" in frame.columns:
            frame = frame[frame["round_id"].isin(keep)]
        frame.to_csv(directory / f"{name}.csv", index=False)


def main() -> None:
    import papermill
    from nbconvert import HTMLExporter

    from honorcalc.datasets.demo import write_demo
    from honorcalc.report.execute import kernel_name
    from honorcalc.runs.folder import run_report

    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    write_demo(work / "demo")
    _eight_round_city(work / "city160")
    cities = {
        "160 units, 8 rounds": work / "city160.yaml",
        "demo city, 150 units, 28 rounds": work / "demo.yaml",
    }
    cities["160 units, 8 rounds"].write_text("dataset: city160\nround: C2026Q1\ncity: 东州市\n", encoding="utf-8")
    cities["demo city, 150 units, 28 rounds"].write_text(
        "dataset: demo\nround: C2026Q2\ncity: 文明示范市\n", encoding="utf-8")

    one_cell = nbformat.v4.new_notebook()
    one_cell.cells = [nbformat.v4.new_code_cell("1 + 1")]
    one_cell.metadata.kernelspec = {"name": kernel_name(), "language": "python", "display_name": "Python"}
    floor_in = work / "floor.ipynb"
    nbformat.write(one_cell, floor_in)

    def floor():
        papermill.execute_notebook(str(floor_in), str(work / "floor-out.ipynb"), kernel_name=kernel_name(),
                                   progress_bar=False, log_output=False,
                                   extra_arguments=["--IPKernelApp.log_level=ERROR"])
        HTMLExporter(template_name="basic").from_filename(str(work / "floor-out.ipynb"))

    floor()  # warm the kernel spec and import caches once, for every contender alike
    t_floor = _best(floor)
    print(f"{'papermill + nbconvert floor (one-cell notebook)':<58}{t_floor:8.2f} s")
    honorcalc = str(Path(sys.executable).parent / "honorcalc")
    for label, params in cities.items():
        out = work / "reports" / params.stem
        t_run = _best(lambda: run_report(params, out=out))
        cli = [honorcalc, "run", str(params), "--out", str(out)]
        t_cli = _best(lambda: subprocess.run(cli, check=True, capture_output=True))
        print(f"{'honorcalc run, ' + label + ', in process':<58}{t_run:8.2f} s   ratio {t_run / t_floor:5.2f}× floor")
        print(f"{'honorcalc run, ' + label + ', command line':<58}{t_cli:8.2f} s   ratio {t_cli / t_floor:5.2f}× floor")
        sizes = [p.stat().st_size for p in out.rglob("report.html")]
        print(f"{'report.html size, ' + label:<58}{statistics.median(sizes) / 1e6:8.2f} MB")


if __name__ == "__main__":
    main()
