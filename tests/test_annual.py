"""The annual assessment (年度考核): hand-worked cases over three years, and the real annual report.

The city: six streets in one ranking group, one comprehensive indicator and one
special-topic indicator worth 100 points, one rater, so a unit's score is the
points it was given. With ``lists.comprehensive_size: 1`` and the default special
share (⌊6 × 0.2⌋ = 1), each round red-lists at most its best unit (if ≥ 90) and
black-lists at most its worst (if ≤ 70).

==========  ====  ====  ====  ====  ====  ====  =============================
round       A     B     C     D     E     F     lists (RULES.md §1.3, §1.4)
==========  ====  ====  ====  ====  ====  ====  =============================
C2024Q4     95    85    80    75    72    60    A red +3, F black −3
C2025Q4     92    80    79    78    77    65    A red +3, F black −3
S2026-01a   91    85    80    75    78    50    A red +1, F black −1
C2026Q1     88    93    80    75    78    68    B red +3, F black −3 (escalated)
S2026-02a   80    85    82    75    95    69    E red +1, F black −1 (escalated)
C2026Q2     85    90    82    70    80    71    B red +3 (90 counts), D black −3 (70 counts)
==========  ====  ====  ====  ====  ====  ====  =============================
"""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from honorcalc.data.read import load_dataset
from honorcalc.errors import InputError
from honorcalc.explain.year import explain_year
from honorcalc.params import Params, load_params
from honorcalc.rules.annual import evaluate_year
from honorcalc.rules.evaluate import evaluate_round

from .conftest import run_cli, write_tables

UNITS = ["A", "B", "C", "D", "E", "F"]
EVIL = "<b>F</b>街道"
ROUNDS = {  # round_id: (kind, date, scores of A..F)
    "C2024Q4": ("comprehensive", "2024-12-31", [95, 85, 80, 75, 72, 60]),
    "C2025Q4": ("comprehensive", "2025-12-31", [92, 80, 79, 78, 77, 65]),
    "S2026-01a": ("special", "2026-01-10", [91, 85, 80, 75, 78, 50]),
    "C2026Q1": ("comprehensive", "2026-03-31", [88, 93, 80, 75, 78, 68]),
    "S2026-02a": ("special", "2026-04-10", [80, 85, 82, 75, 95, 69]),
    "C2026Q2": ("comprehensive", "2026-06-30", [85, 90, 82, 70, 80, 71]),
}


def three_year_city() -> dict[str, pd.DataFrame]:
    rows = [
        (rid, unit, "T01" if kind == "special" else "I01", "R01", "field", str(points))
        for rid, (kind, _, scores) in ROUNDS.items() for unit, points in zip(UNITS, scores)
    ]
    return {
        "units": pd.DataFrame({"unit_id": UNITS, "name": [f"{u}街道" for u in UNITS[:-1]] + [EVIL],
                               "kind": "territorial", "group": "街道"}),
        "indicators": pd.DataFrame({"indicator_id": ["I01", "T01"], "name": ["综合", "网申"],
                                    "category": ["综合", "网申工作"], "max_points": ["100", "100"],
                                    "topic": ["", "网申工作"]}),
        "rounds": pd.DataFrame({"round_id": list(ROUNDS), "kind": [v[0] for v in ROUNDS.values()],
                                "topic": ["网申工作" if v[0] == "special" else "" for v in ROUNDS.values()],
                                "date": [v[1] for v in ROUNDS.values()]}),
        "scores": pd.DataFrame(rows, columns=["round_id", "unit_id", "indicator_id", "rater_id", "source",
                                              "points"]),
    }


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    base = tmp_path_factory.mktemp("annual")
    write_tables(base / "data", three_year_city())
    (base / "year.yaml").write_text(
        "dataset: data\nround: C2026Q2\nreport: annual\ncity: 三年市\n"
        "lists:\n  comprehensive_size: 1\ntiers:\n  method: cuts\npass_quota:\n  share: 0.5\n"
        "fairness:\n  null_cities: 20\n",
        encoding="utf-8",
    )
    return base


@pytest.fixture(scope="module")
def year(city):
    params = load_params(city / "year.yaml")
    return evaluate_year(load_dataset(city / "data"), params)


def standing(year) -> pd.DataFrame:
    return year.standing.set_index("unit_id")


def test_points_are_the_sum_of_the_years_listings(year):
    # §1.4 "综合测评被红榜通报的,每次加3分;…专项测评被黑榜通报的,每次扣1分" over 2026's four rounds
    s = standing(year)
    assert s["points"].to_dict() == {"A": 1.0, "B": 6.0, "C": 0.0, "D": -3.0, "E": 1.0, "F": -5.0}
    assert s.loc["F", ["comprehensive_black", "special_black"]].tolist() == [1, 2]
    assert s.loc["B", "comprehensive_red"] == 2  # 90 exactly is "90分以上"
    assert s.loc["D", "comprehensive_black"] == 1  # 70 exactly is "70分以下"


def test_points_rank_shares_ties_and_orders_them_by_mean_comprehensive_score(year):
    s = year.standing
    assert s["unit_id"].tolist() == ["B", "A", "E", "C", "D", "F"]
    assert s["points_rank"].tolist() == [1, 2, 2, 4, 5, 6]
    assert standing(year).loc["A", "mean_comprehensive"] == 86.5  # (88 + 85) / 2


def test_three_year_totals_where_the_data_reach(year):
    s = standing(year)
    assert year.years_3y == (2024, 2025, 2026)
    assert s.loc["A", ["points_prev2", "points_prev1", "points", "points_3y"]].tolist() == [3, 3, 1, 7]
    assert s.loc["F", ["points_prev2", "points_prev1", "points", "points_3y"]].tolist() == [-3, -3, -5, -11]
    assert s.loc["C", "points_3y"] == 0 and s.loc["C", "years_3y"] == "2024-2026"


def test_escalations_during_the_year_count_chains_that_began_before_it(year):
    # §1.4 "同一单位同一工作连续两次被黑榜通报的" — consecutive rounds of the same work, across years
    e = year.escalations
    assert e[["round_id", "unit_id", "chain"]].values.tolist() == [
        ["C2026Q1", "F", "C2024Q4 → C2025Q4 → C2026Q1"],
        ["S2026-02a", "F", "S2026-01a → S2026-02a"],
    ]
    assert standing(year).loc["F", "escalations"] == 2


def test_annual_tiers_by_the_mean_comprehensive_score(year):
    # §2 好/较好/一般, cuts [90, 80] on the year's mean comprehensive score
    assert standing(year)["tier"].to_dict() == {
        "A": "较好", "B": "好", "C": "较好", "D": "一般", "E": "一般", "F": "一般"}


def test_pass_quota_lets_the_top_share_of_the_group_through(year):
    # §2 末位淘汰 share 0.5 of 6 → 3 pass; A and E tie on points, A's mean score is higher
    s = standing(year)
    assert s.loc[["B", "A", "E"], "passed"].all() and not s.loc[["C", "D", "F"], "passed"].any()
    assert s.loc[["B", "A", "E"], "quota_rank"].tolist() == [1, 2, 3]


def test_the_years_total_is_the_round_reports_points_year_to_date(city, year):
    params = load_params(city / "year.yaml", ["report=round"])
    ranking = evaluate_round(load_dataset(city / "data"), params).units.set_index("unit_id")
    assert ranking["points_ytd"].to_dict() == standing(year)["points"].to_dict()


def test_an_earlier_cut_off_counts_the_year_so_far(city):
    params = load_params(city / "year.yaml", ["round=C2026Q1"])
    s = standing(evaluate_year(load_dataset(city / "data"), params))
    assert s["points"].to_dict() == {"A": 1.0, "B": 3.0, "C": 0.0, "D": 0.0, "E": 0.0, "F": -4.0}


def test_a_single_year_has_no_earlier_columns_filled(city):
    tables = three_year_city()
    keep = ~tables["rounds"]["round_id"].isin(["C2024Q4", "C2025Q4"])
    tables["rounds"] = tables["rounds"][keep]
    tables["scores"] = tables["scores"][tables["scores"]["round_id"].isin(tables["rounds"]["round_id"])]
    data = write_tables(city / "one-year", tables)
    params = Params(dataset=str(data), round="C2026Q2", report="annual")
    y = evaluate_year(load_dataset(data), params)
    assert y.years_3y == (2026,)
    assert y.standing["points_prev1"].isna().all() and "tier" not in y.standing.columns
    assert (y.standing["points_3y"] == y.standing["points"]).all()


def test_demo_city_year_matches_every_round_report():
    from honorcalc.data.contract import Dataset
    from honorcalc.datasets.demo import make_demo_city

    demo = Dataset(**make_demo_city())
    params = Params(dataset="demo", round="C2026Q4", report="annual")
    y = evaluate_year(demo, params)
    # the annual total of each unit is the sum of the points its rounds published
    by_round = y.points.groupby("unit_id")["points"].sum()
    assert np.allclose(standing(y)["points"].reindex(by_round.index), by_round)
    assert len(y.rounds) == 28 and set(y.standing["unit_id"]) == set(demo.units["unit_id"])
    escalated = evaluate_round(demo, params, "C2026Q4").units.set_index("unit_id")["points_ytd"]
    assert standing(y)["points"].to_dict() == escalated.to_dict()


def test_explain_year_lists_every_listing_and_escalation(year):
    text = explain_year(year, "F")
    assert "年度积分 -5（组内第 6 / 6 名）" in text
    assert "C2026Q1 综合测评  黑榜  -3  累计 -4" in text
    assert "连续黑榜 C2024Q4 → C2025Q4 → C2026Q1" in text
    assert "三年累计（2024-2026）：-11" in text
    with pytest.raises(InputError, match="did you mean 'F'"):
        explain_year(year, "FF")


# --------------------------------------------------------------------------- the real report


@pytest.fixture(scope="module")
def annual_run(city, tmp_path_factory):
    from honorcalc.runs.folder import run_report

    return run_report(city / "year.yaml", out=city / "reports")


@pytest.mark.slow
def test_annual_report_runs_and_reads(annual_run):
    assert annual_run.run_dir.parent.name == "2026-annual"
    names = {p.name for p in annual_run.run_dir.iterdir()}
    assert {"annual.csv", "annual_points.csv", "escalations.csv", "laggards.csv", "report.html",
            "report.ipynb", "manifest.json"} <= names
    page = annual_run.html.read_text(encoding="utf-8")
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert "三年市2026年度红黑榜考核报告" in text
    assert "三年累计（2024–2026）" in text and "2025年积分" in text
    assert "年内启动核查的单位" in text and "末位淘汰" in text
    assert text.count("<img") == 1
    assert "<b>F</b>" not in page and "&lt;b&gt;F&lt;/b&gt;街道" in page
    assert "jp-InputArea" not in text and "Traceback" not in text
    assert not re.search(r"(src|href)=\"(https?:)?//", text)
    nb = nbformat.read(annual_run.run_dir / "report.ipynb", as_version=4)
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                if o.output_type == "error"]


@pytest.mark.slow
def test_annual_run_verifies_explains_and_refuses_to_publish(annual_run, capsys):
    code, out, _ = run_cli(["verify", annual_run.run_dir], capsys)
    assert code == 0, out
    code, out, _ = run_cli(["explain", annual_run.run_dir, "B"], capsys)
    assert code == 0 and "年度积分 +6" in out
    code, _, err = run_cli(["publish", annual_run.run_dir, "--ledger", annual_run.run_dir.parent / "l.jsonl"],
                           capsys)
    assert code == 2 and "annual run" in err and "Traceback" not in err


@pytest.mark.slow
def test_annual_diff_names_outcomes(annual_run, city, capsys):
    from honorcalc.runs.folder import run_report

    other = run_report(city / "year.yaml", ["pass_quota.share=0.7"], out=city / "reports")
    code, out, _ = run_cli(["diff", annual_run.run_dir, other.run_dir], capsys)
    assert code == 0, out
    assert "outcome not passed → passed; because of parameter pass_quota.share" in out


# --------------------------------------------------------------------------- the figure


def test_points_figure_one_panel_per_group_names_the_ends(year):
    from honorcalc.report.figures.annual_figures import plot_points_over_year

    from .test_figures import _assert_glyphs_and_font, _texts

    fig = plot_points_over_year(year)
    texts = _texts(fig)
    assert "B街道 +6" in texts and "F街道" not in " ".join(texts)  # F's name carries markup: shown as is
    assert f"{EVIL} -5" in texts
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["街道（6 个单位）"]
    _assert_glyphs_and_font(fig)


def test_points_figure_names_rounds_by_date_not_id(year):
    """Rounds are shown by a readable name (their date), never by their ids."""
    from honorcalc.report.figures.annual_figures import plot_points_over_year

    fig = plot_points_over_year(year)
    labels = [t.get_text() for ax in fig.axes for t in ax.get_xticklabels() if t.get_text()]
    ids = set(year.rounds["round_id"])
    assert labels and not ids & set(labels)
    assert all(label.endswith("日") for label in labels)


def test_font_covers_the_annual_reports_words():
    from fontTools.ttLib import TTCollection

    from honorcalc.report import figures
    from honorcalc.report.i18n import ANNUAL_FIGURE_LABELS, ANNUAL_LABELS

    shown = set()
    for table in (*ANNUAL_LABELS.values(), *ANNUAL_FIGURE_LABELS.values()):
        shown.update("".join(table.values()))
    cmap = TTCollection(str(figures.FONT_PATH)).fonts[0].getBestCmap()
    assert sorted(c for c in shown if not c.isspace() and ord(c) not in cmap) == []


def test_points_figure_cuts_an_absurdly_long_name(city):
    from honorcalc.report.figures.annual_figures import plot_points_over_year

    from .test_figures import _assert_glyphs_and_font, _texts

    tables = three_year_city()
    tables["units"].loc[5, "name"] = "超长名称" * 30
    data = write_tables(city / "long-name", tables)
    y = evaluate_year(load_dataset(data), Params(dataset=str(data), round="C2026Q2", report="annual",
                                                 lists={"comprehensive_size": 1}))
    fig = plot_points_over_year(y)
    _assert_glyphs_and_font(fig)
    assert any(t.endswith("… -5") for t in _texts(fig))


def test_explain_year_as_json_is_strict_json_with_native_values(year):
    import json

    data = json.loads(explain_year(year, "F", as_json=True),
                      parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert data["standing"]["points"] == -5 and data["standing"]["rounds"] == 4
    assert data["standing"]["passed"] is False and data["standing"]["tier"] == "一般"
    first = data["listings"][0]
    assert first["date"] == "2026-01-10" and first["list"] == "black" and first["points"] == -1
    assert data["listings"][1]["topic"] is None  # C2026Q1, a comprehensive round
    assert [e["round_id"] for e in data["escalations"]] == ["C2026Q1", "S2026-02a"]


@pytest.mark.slow
def test_annual_diff_names_a_change_of_points_alone(annual_run, city, capsys):
    from honorcalc.runs.folder import run_report

    other = run_report(city / "year.yaml", ["points.special_black=-2"], out=city / "reports")
    code, out, _ = run_cli(["diff", annual_run.run_dir, other.run_dir], capsys)
    assert code == 0, out
    # F was black-listed in two special rounds: −5 becomes −7; still last, still not passing
    assert "F <b>F</b>街道: points -5 → -7, points rank 6 → 6, outcome not passed → not passed; " \
           "because of parameter points.special_black: -1.0 → -2.0" in out
    assert "points, ranks and outcomes: identical" not in out


def test_a_year_without_a_comprehensive_round_says_why_there_is_no_tier(city):
    from honorcalc.report import annual_report as present_annual
    from honorcalc.report.view import build_annual_view

    params = load_params(city / "year.yaml", ["round=S2026-01a"])
    from honorcalc.runs.pipeline import run_tables

    dataset = load_dataset(city / "data")
    view = build_annual_view(params, dataset, run_tables(params, dataset))
    assert view.result.standing["tier"].isna().all()
    assert "截至本期尚无综合测评，年度档次暂不评定。" in present_annual.standing(view)
    assert "本年度尚未结束" in present_annual.title(view)
