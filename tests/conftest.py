"""Shared fixtures: a tiny valid dataset written in any format, and a params file for it."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

# CI replays the same generated examples every run, so a landing never hangs on a lucky draw;
# a developer's run keeps exploring new ones
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

TINY = {
    "units": pd.DataFrame({
        "unit_id": ["001", "1", "002", "NA"],
        "name": ["东城区", "市公安局", "西城区", "无"],
        "kind": ["territorial", "industry", "territorial", "industry"],
        "group": ["县区", "市直部门", "县区", "市直部门"],
        "size": ["120000", "800", "", "350"],
    }),
    "indicators": pd.DataFrame({
        "indicator_id": ["I01", "I02", "T01"],
        "name": ["占道经营治理", "背街小巷卫生", "网上申报完成率"],
        "category": ["公共秩序", "环境卫生", "网申工作"],
        "max_points": ["60", "40", "100"],
        "topic": ["", "", "网申工作"],
    }),
    "rounds": pd.DataFrame({
        "round_id": ["C2026Q1", "S2026-01a"],
        "kind": ["comprehensive", "special"],
        "topic": ["", "网申工作"],
        "date": ["2026-03-31", "2026-01-10"],
    }),
    "scores": pd.DataFrame({
        "round_id": ["C2026Q1"] * 8 + ["S2026-01a"] * 4,
        "unit_id": ["001", "001", "1", "1", "002", "002", "NA", "NA", "001", "1", "002", "NA"],
        "indicator_id": ["I01", "I02"] * 4 + ["T01"] * 4,
        "rater_id": ["R01"] * 12,
        "source": ["field"] * 12,
        "points": ["55", "38", "40", "30", "58.5", "39", "30", "20", "95", "60", "88", "70"],
        "visit": ["open", "covert"] * 4 + [""] * 4,
    }),
    "deductions": pd.DataFrame({
        "round_id": ["C2026Q1", "C2026Q1"],
        "unit_id": ["001", "002"],
        "code": ["N01", "N01"],
        "points": ["1", "1"],
        "role": ["primary", "joint"],
        "verified": ["true", "true"],
        "note": ["占道经营", "占道经营 (连带)"],
    }),
    "surveys": pd.DataFrame({
        "round_id": ["C2026Q1"] * 4,
        "unit_id": ["001", "1", "002", "NA"],
        "respondents": ["100", "50", "80", "60"],
        "satisfied": ["90", "35", "70", "50"],
    }),
}


def run_cli(args, capsys, *, lang="en"):
    """Run the real command line in process; return (exit code, stdout, stderr).

    Messages are in ``lang`` (``HONORCALC_LANG``): English by default, the words the
    library writes, which most tests check; tests/test_messages.py checks them in
    Chinese. ``lang=None`` leaves the environment as it is (the user's default, zh).
    """
    from honorcalc.cli import main

    before = os.environ.get("HONORCALC_LANG")
    if lang is not None:
        os.environ["HONORCALC_LANG"] = lang
    try:
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in args])
    finally:
        if before is None:
            os.environ.pop("HONORCALC_LANG", None)
        else:
            os.environ["HONORCALC_LANG"] = before
    out, err = capsys.readouterr()
    return info.value.code, out, err


def set_cell(table, row, column, value):
    """An edit of the tiny dataset: one cell of one table."""
    def edit(tables):
        tables[table].loc[row, column] = value
    return edit


def drop_column(table, column):
    """An edit of the tiny dataset: one column removed."""
    def edit(tables):
        tables[table] = tables[table].drop(columns=column)
    return edit


def tiny_tables() -> dict[str, pd.DataFrame]:
    """A fresh copy of the tiny dataset as text frames (every cell a string)."""
    return {name: frame.copy() for name, frame in TINY.items()}


def write_tables(directory: Path, tables: dict[str, pd.DataFrame], fmt: str = "csv",
                 encoding: str = "utf-8") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "csv":
            frame.to_csv(directory / f"{name}.csv", index=False, encoding=encoding)
        elif fmt == "xlsx":
            frame.to_excel(directory / f"{name}.xlsx", index=False, sheet_name=name)
        elif fmt == "parquet":
            frame.to_parquet(directory / f"{name}.parquet", index=False)
    return directory


@pytest.fixture
def tiny_dir(tmp_path) -> Path:
    return write_tables(tmp_path / "tiny", tiny_tables())


@pytest.fixture
def tiny_params(tmp_path, tiny_dir) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text("dataset: tiny\nround: C2026Q1\ncity: 测试市\n", encoding="utf-8")
    return path


def ems_components(y):
    """Variance components of a balanced p × i × r array by expected mean squares (Brennan, 2001, ch. 3).

    The model has the p × i and p × r (halo) interactions; i × r is pooled with the residual.
    MS_p = σ²_e + n_r σ²_pi + n_i σ²_pr + n_i n_r σ²_p, and so on for the other facets.
    """
    n_p, n_i, n_r = y.shape
    m = y.mean()
    mp, mi, mr = y.mean((1, 2)), y.mean((0, 2)), y.mean((0, 1))
    mpi, mpr = y.mean(2), y.mean(1)
    ms_p = n_i * n_r * ((mp - m) ** 2).sum() / (n_p - 1)
    ms_i = n_p * n_r * ((mi - m) ** 2).sum() / (n_i - 1)
    ms_r = n_p * n_i * ((mr - m) ** 2).sum() / (n_r - 1)
    ms_pi = n_r * ((mpi - mp[:, None] - mi[None, :] + m) ** 2).sum() / ((n_p - 1) * (n_i - 1))
    ms_pr = n_i * ((mpr - mp[:, None] - mr[None, :] + m) ** 2).sum() / ((n_p - 1) * (n_r - 1))
    resid = y - mpi[:, :, None] - mpr[:, None, :] + mp[:, None, None]
    ms_e = (resid**2).sum() / (n_p * (n_i - 1) * (n_r - 1))
    return {
        "residual": ms_e,
        "unit_x_indicator": (ms_pi - ms_e) / n_r,
        "unit_x_rater": (ms_pr - ms_e) / n_i,
        "unit": (ms_p - ms_pi - ms_pr + ms_e) / (n_i * n_r),
        "indicator": (ms_i - ms_pi) / (n_p * n_r),
        "rater": (ms_r - ms_pr) / (n_p * n_i),
    }


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """The demo city written once per session (a fresh clone has no data/demo)."""
    from honorcalc.datasets.demo import write_demo

    directory = tmp_path_factory.mktemp("demo-city")
    write_demo(directory, force=True)
    return directory


@pytest.fixture(scope="session")
def demo_city(tmp_path_factory, demo_data) -> Path:
    """The demo city beside copies of the repository's params files, as in the repository:
    ``data/demo`` (its CSV files) and ``data/demo.xlsx`` (its workbook, which params/demo.yaml runs)."""
    import shutil

    from honorcalc.datasets.demo import write_demo_workbook

    base = tmp_path_factory.mktemp("demo")
    shutil.copytree(Path(__file__).resolve().parent.parent / "params", base / "params")
    shutil.copytree(demo_data, base / "data" / "demo")
    write_demo_workbook(base / "data" / "demo.xlsx")
    return base
