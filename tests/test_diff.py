"""diff attributes each unit's change to the parameter or data correction that caused it."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from honorcalc.datasets.demo import write_demo
from honorcalc.runs.diff import diff_runs
from honorcalc.runs.folder import run_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("diff")
    write_demo(base / "a")
    shutil.copytree(base / "a", base / "b")
    # the data correction: 市信访局 (U029)'s scores in C2026Q2 were entered too low
    scores = pd.read_csv(base / "b" / "scores.csv", dtype=str, keep_default_na=False)
    fix = (scores["round_id"] == "C2026Q2") & (scores["unit_id"] == "U029")
    max_points = pd.read_csv(base / "b" / "indicators.csv", dtype=str).set_index("indicator_id")["max_points"]
    scores.loc[fix, "points"] = scores.loc[fix, "indicator_id"].map(max_points)
    scores.to_csv(base / "b" / "scores.csv", index=False, lineterminator="\n")
    for name in ("a", "b"):
        (base / f"{name}.yaml").write_text(f"dataset: {name}\nround: C2026Q2\ncity: 文明示范市\n",
                                           encoding="utf-8")
    run_a = run_report(base / "a.yaml", out=base / "reports").run_dir
    run_b = run_report(base / "b.yaml", ["weights.field=0.6"], out=base / "reports").run_dir
    return run_a, run_b


def test_diff_lists_the_parameter_and_the_corrected_rows(runs):
    result = diff_runs(*runs)
    assert result["parameters"] == [{"parameter": "weights.field", "a": 0.2, "b": 0.6}]
    (scores,) = result["inputs"]
    assert scores["table"] == "scores" and scores["changed"] > 0 and scores["added"] == 0
    assert all(ex["key"][1] == "U029" for ex in scores["examples"])


def test_diff_attributes_each_unit_to_its_cause(runs):
    units = {u["unit_id"]: u for u in diff_runs(*runs)["units"]}
    corrected = units["U029"]
    assert corrected["list"][0] == "black" and corrected["list"][1] != "black"
    assert any(c.startswith("data: scores changed") for c in corrected["causes"])
    by_weight = [u for u in units.values() if any(c.startswith("parameter weights.field") for c in u["causes"])]
    assert by_weight, "the field weight should move some units"
    assert all(u["unit_id"] != "U029" or len(u["causes"]) >= 1 for u in by_weight)
    text = diff_runs(*runs)["text"]
    assert "weights.field: 0.2 → 0.6" in text and "because of" in text
