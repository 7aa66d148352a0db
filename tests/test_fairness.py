"""Fairness analysis (RULES.md §3): planted effects are found, null cities stay quiet.

The demo city (`honorcalc.datasets.demo`) plants a harsh, a lenient and a noisy rater, three
persistent laggards, a one-off bad unit, a declining unit and a unit that performs for
open visits; the tests check that the fairness tables find exactly those stories. Null
cities (no laggards, no harsh raters) check the stated false-alarm rates, and simulated
designs with known variance components check the G-study.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal, assert_series_equal
from scipy import stats

from honorcalc import fairness
from honorcalc.data.validate import validate_tables
from honorcalc.datasets.demo import PLANTED, make_demo_city
from honorcalc.errors import InputError
from honorcalc.fairness import (
    GROUP_COLUMNS,
    LAGGARD_COLUMNS,
    RATER_COLUMNS,
    RELIABILITY_COLUMNS,
    STABILITY_COLUMNS,
    adjust_rater_severity,
    fairness_tables,
    flag_laggards,
    group_fairness,
    list_replicates,
    list_stability,
    rater_consistency,
    rater_severity,
    severity_adjusted_lists,
    variance_components,
    visit_gap,
)
from honorcalc.fairness.base import CELL as _CELL
from honorcalc.fairness.base import cell_codes as _codes
from honorcalc.fairness.groups import _permutation_pvalue
from honorcalc.fairness.laggards import CALIBRATION_COLUMNS, EVIDENCE_COLUMNS
from honorcalc.fairness.raters import _rater_matrix
from honorcalc.fairness.stability import WEIGHT_COLUMNS, _nan_quantiles
from honorcalc.fairness.tables import FAIRNESS_TABLES, FUNNEL_COLUMNS
from honorcalc.params import Params, params_from_mapping
from honorcalc.report.findings import fairness_findings
from honorcalc.rules.evaluate import evaluate_round, evaluate_rounds
from honorcalc.rules.scoring import row_key

from .conftest import ems_components, tiny_tables

TABLES = ("units", "indicators", "rounds", "scores", "deductions", "surveys")


def evaluate(city, params):
    return evaluate_rounds(*(getattr(city, t) for t in TABLES), params,
                           responsibility=getattr(city, "responsibility", None))


@pytest.fixture(scope="module")
def demo():
    return SimpleNamespace(**make_demo_city())


@pytest.fixture(scope="module")
def demo_eval(demo):
    return evaluate(demo, Params(dataset=".", round="C2026Q4"))


@pytest.fixture(scope="module")
def q2(demo, demo_eval):
    """The fairness tables of the demo report round (params/demo.yaml: C2026Q2)."""
    return fairness_tables(demo, Params(dataset=".", round="C2026Q2"), demo_eval)


@pytest.fixture(scope="module")
def q4_laggards(demo_eval):
    return flag_laggards(demo_eval.results, Params(dataset=".", round="C2026Q4"))


# --------------------------------------------------------------------------- small cities


def empty(table: str) -> pd.DataFrame:
    columns = {"deductions": ("round_id", "unit_id", "code", "points", "role", "verified", "note"),
               "surveys": ("round_id", "unit_id", "respondents", "satisfied")}[table]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def city(scores: pd.DataFrame, units: pd.DataFrame, indicators: pd.DataFrame, rounds: pd.DataFrame):
    return SimpleNamespace(units=units, indicators=indicators, rounds=rounds, scores=scores,
                           deductions=empty("deductions"), surveys=empty("surveys"))


def monthly_rounds(n: int) -> pd.DataFrame:
    return pd.DataFrame({"round_id": [f"M{k + 1:02d}" for k in range(n)], "kind": "comprehensive",
                         "topic": np.nan, "date": [f"2026-{k + 1:02d}-28" for k in range(n)]})


def null_city(n_units: int, n_rounds: int, seed: int):
    """Every unit's score is an independent draw in every round: nobody lags persistently."""
    rng = np.random.default_rng(seed)
    units = pd.DataFrame({"unit_id": [f"U{k:04d}" for k in range(n_units)], "name": "单位",
                          "kind": "territorial", "group": np.array(["A", "B", "C"])[np.arange(n_units) % 3]})
    indicators = pd.DataFrame({"indicator_id": ["I01"], "name": ["综合"], "category": ["综合"],
                               "max_points": [100.0]})
    rounds = monthly_rounds(n_rounds)
    u, r = np.indices((n_units, n_rounds)).reshape(2, -1)
    scores = pd.DataFrame({"round_id": rounds["round_id"].to_numpy()[r], "unit_id": units["unit_id"].to_numpy()[u],
                           "indicator_id": "I01", "rater_id": "R01", "source": "field",
                           "points": np.clip(rng.normal(80, 6, len(u)), 0, 100)})
    return city(scores, units, indicators, rounds)


def crossed_scores(rng, n_units, n_ind, n_raters, var, per_cell=None, max_points=10.0):
    """Scores of a unit × indicator × rater design with known variance components (points of 100).

    Every rater scores every (unit, indicator) when ``per_cell`` is None, else
    ``per_cell`` raters drawn at random for each.
    """
    effect = {name: rng.normal(0, np.sqrt(var[name]), size)
              for name, size in (("unit", n_units), ("indicator", n_ind), ("rater", n_raters))}
    ui = rng.normal(0, np.sqrt(var["unit_x_indicator"]), (n_units, n_ind))
    ur = rng.normal(0, np.sqrt(var.get("unit_x_rater", 0.0)), (n_units, n_raters))
    if per_cell is None:
        u, i, r = np.indices((n_units, n_ind, n_raters)).reshape(3, -1)
    else:
        u, i = np.indices((n_units, n_ind)).reshape(2, -1)
        picks = np.argsort(rng.random((len(u), n_raters)), axis=1)[:, :per_cell]
        u, i, r = np.repeat(u, per_cell), np.repeat(i, per_cell), picks.ravel()
    pct = 60 + effect["unit"][u] + effect["indicator"][i] + effect["rater"][r] + ui[u, i] + ur[u, r] + rng.normal(
        0, np.sqrt(var["residual"]), len(u))
    return pd.DataFrame({"round_id": "R1", "unit_id": [f"U{k:03d}" for k in u],
                         "indicator_id": [f"I{k:02d}" for k in i], "rater_id": [f"R{k:02d}" for k in r],
                         "source": "field", "points": pct * max_points / 100})


def indicators_for(scores: pd.DataFrame, max_points=10.0) -> pd.DataFrame:
    ids = sorted(scores["indicator_id"].unique())
    return pd.DataFrame({"indicator_id": ids, "name": ids, "category": [f"C{k % 3}" for k in range(len(ids))],
                         "max_points": max_points})


P = Params(dataset=".", round="R1")


# --------------------------------------------------------------------------- 1. variance components


TRUE = {"unit": 36.0, "rater": 16.0, "indicator": 9.0, "unit_x_indicator": 6.0, "residual": 25.0}


def test_variance_components_equal_the_anova_solution_on_a_balanced_design():
    """Brennan (2001) ch. 3: on balanced data Method I is the expected-mean-squares solution.

    The p × i × r design with the p × r (halo) interaction; i × r is pooled with the residual.
    """
    rng = np.random.default_rng(1)
    n_p, n_i, n_r = 40, 6, 5
    scores = crossed_scores(rng, n_p, n_i, n_r, {**TRUE, "unit_x_rater": 10.0})
    g = variance_components(scores, indicators_for(scores), P).iloc[0]

    expected = ems_components((scores["points"] * 10).to_numpy().reshape(n_p, n_i, n_r))
    for name, value in expected.items():
        assert value > 0
        assert g[f"var_{name}"] == pytest.approx(value, rel=1e-8)
    # Φ with indicators fixed and n_r raters on every indicator (equal weights)
    tau = g.var_unit + g.var_unit_x_indicator / n_i
    delta = (g.var_rater + g.var_unit_x_rater) / n_r + g.var_residual / (n_i * n_r)
    assert g.phi == pytest.approx(tau / (tau + delta), rel=1e-10)
    assert g.share_unit == pytest.approx(g.var_unit / sum(expected.values()), rel=1e-8)


def test_variance_components_recover_planted_components_on_an_unbalanced_design():
    """Each unit × indicator scored by 3 of 40 raters: the inspection-team design."""
    rng = np.random.default_rng(2)
    runs = pd.concat([variance_components(s, indicators_for(s), P) for s in
                      (crossed_scores(rng, 120, 30, 40, TRUE, per_cell=3) for _ in range(8))])
    tolerance = {"unit": 0.2, "rater": 0.3, "indicator": 0.3, "unit_x_indicator": 0.12, "residual": 0.05}
    for name, value in TRUE.items():
        assert runs[f"var_{name}"].mean() == pytest.approx(value, rel=tolerance[name]), name
    assert (runs["raters_per_cell"] == 3).all()


def test_one_rater_per_cell_leaves_unit_x_indicator_in_the_residual(q2):
    g = q2["reliability.csv"]
    daily = g[(g["scope"] == "source") & (g["key"] == "daily")].set_index("statistic")
    assert np.isnan(daily.loc["variance_unit_x_indicator", "value"])
    assert "confounded with the residual" in daily.loc["phi", "note"]
    field = g[(g["scope"] == "source") & (g["key"] == "field")].set_index("statistic")["value"]
    # the demo's field raters: severities of -1.5 … +1.2 per 10 points, i.e. ~26 (points of 100)²
    assert field["variance_rater"] == pytest.approx(26, rel=0.3)
    assert 0 < field["share_unit"] < 1 and 0.7 < field["phi"] < 1


# --------------------------------------------------------------------------- 2. rater consistency


def test_one_way_icc_on_rater_slots_recovers_the_known_value():
    """Targets with variance 60, rater noise 40: ICC(1,1) = 0.6 (Shrout & Fleiss case 1)."""
    rng = np.random.default_rng(3)
    truth = {"unit": 60.0, "rater": 0.0, "indicator": 0.0, "unit_x_indicator": 0.0, "residual": 40.0}
    scores = crossed_scores(rng, 600, 1, 20, truth, per_cell=2)
    rel = rater_consistency(scores, indicators_for(scores), P)
    assert list(rel.columns) == list(RELIABILITY_COLUMNS)
    one = rel[(rel["scope"] == "indicator")].set_index("statistic")
    assert one.loc["ICC(1,1)", "value"] == pytest.approx(0.6, abs=0.06)
    assert one.loc["ICC(1,1)", "ci_low"] < 0.6 < one.loc["ICC(1,1)", "ci_high"]
    assert one.loc["krippendorff_alpha", "value"] == pytest.approx(0.6, abs=0.06)
    assert one.loc["ICC(1,k)", "value"] == pytest.approx(2 * 0.6 / 1.6, abs=0.05)
    assert set(rel["scope"]) == {"overall", "category", "indicator"}

    shuffled = rater_consistency(scores.sample(frac=1, random_state=0), indicators_for(scores), P)
    assert_frame_equal(shuffled, rel)


# --------------------------------------------------------------------------- 3. rater severity


def test_planted_harsh_and_lenient_raters_are_flagged_with_the_right_sign(q2):
    r = q2["raters.csv"].set_index("rater_id")
    harsh, lenient, noisy = PLANTED["harsh_rater"], PLANTED["lenient_rater"], PLANTED["noisy_rater"]
    # demo: -0.15 and +0.12 of max_points, i.e. 1.5 and 1.2 points per 10 (less at the ceiling)
    assert r.loc[harsh, "flagged"] and r.loc[harsh, "direction"] == "harsh"
    assert r.loc[harsh, "severity"] == pytest.approx(1.5, abs=0.3) and r.loc[harsh, "ci_low"] > 0
    assert r.loc[lenient, "flagged"] and r.loc[lenient, "direction"] == "lenient"
    assert r.loc[lenient, "severity"] == pytest.approx(-1.2, abs=0.3) and r.loc[lenient, "ci_high"] < 0
    assert not r.loc[noisy, "flagged"]
    field = r[r["source"] == "field"]
    width = field["ci_high"] - field["ci_low"]
    assert width[noisy] > width.drop(noisy).median() * 1.3  # its noise widens the interval
    assert set(r.index[r["flagged"]]) == {harsh, lenient}
    assert (field["component"] == 1).all() and field["component_size"].eq(len(field)).all()
    others = r[r["source"] != "field"]
    assert others["severity"].isna().all() and (others["component"] == 0).all()


def two_rater_scores(offset_points: float = 1.0, noise: float = 0.0, seed: int = 4) -> pd.DataFrame:
    """Raters A and B score every cell, C half of them; B gives ``offset_points`` per 10 fewer."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(30):
        for i, max_points in enumerate((10.0, 5.0, 20.0)):
            base = rng.uniform(0.6, 0.8) * max_points
            for rater, shift in (("A", 0.0), ("B", -offset_points), ("C", 0.0)):
                if rater == "C" and u % 2:
                    continue
                points = base + shift * max_points / 10 + rng.normal(0, noise * max_points / 10)
                rows.append(("R1", f"U{u:02d}", f"I{i}", rater, "field", points, max_points))
    return pd.DataFrame(rows, columns=["round_id", "unit_id", "indicator_id", "rater_id", "source", "points",
                                       "max_points"])


def test_severity_is_points_below_the_consensus_on_the_indicator_scale():
    scores = two_rater_scores(offset_points=1.0)
    indicators = scores.drop_duplicates("indicator_id")[["indicator_id", "max_points"]].assign(
        name="x", category="x")
    sev = rater_severity(scores.drop(columns="max_points"), indicators, P).set_index("rater_id")
    assert sev.loc["B", "severity"] - sev.loc["A", "severity"] == pytest.approx(1.0, abs=1e-9)
    assert sev.loc["A", "severity"] == pytest.approx(sev.loc["C", "severity"], abs=1e-9)
    weights = sev["n_compared"]
    assert (sev["severity"] * weights).sum() == pytest.approx(0, abs=1e-9)  # the consensus is the typical rater

    adjusted = adjust_rater_severity(scores, sev.reset_index().assign(flagged=True), indicators, P,
                                     flagged_only=False)
    spread = adjusted.groupby(["unit_id", "indicator_id"])["points"].agg(np.ptp)
    assert spread.max() == pytest.approx(0, abs=1e-9)
    assert adjusted["adjustment"].where(scores["rater_id"] == "B").dropna().gt(0).all()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), prefix=st.text(alphabet="xyzXYZ_", min_size=1, max_size=3))
def test_severity_ignores_row_order_and_rater_names(seed, prefix):
    scores = two_rater_scores(noise=0.5, seed=seed)
    indicators = pd.DataFrame({"indicator_id": ["I0", "I1", "I2"], "name": "x", "category": "x",
                               "max_points": [10.0, 5.0, 20.0]})
    renamed = scores.sample(frac=1, random_state=seed).assign(rater_id=lambda f: prefix + f["rater_id"])
    a = rater_severity(scores, indicators, P).set_index("rater_id")["severity"]
    b = rater_severity(renamed, indicators, P).set_index("rater_id")["severity"]
    b.index = b.index.str.removeprefix(prefix)
    assert_series_equal(a.sort_index(), b.sort_index(), check_exact=False, atol=1e-9)


def test_disconnected_raters_form_separate_components():
    scores = two_rater_scores(noise=0.3)
    other = scores[scores["rater_id"] != "C"].copy()
    other["rater_id"] = other["rater_id"].map({"A": "D", "B": "E"})
    other["unit_id"] = other["unit_id"] + "x"
    both = pd.concat([scores, other], ignore_index=True).drop(columns="max_points")
    indicators = pd.DataFrame({"indicator_id": ["I0", "I1", "I2"], "name": "x", "category": "x",
                               "max_points": [10.0, 5.0, 20.0]})
    sev = rater_severity(both, indicators, P).set_index("rater_id")
    assert sorted(sev["component"].unique()) == [1, 2]
    assert sev.loc[["A", "B", "C"], "component"].nunique() == 1
    assert sev.loc["A", "component"] != sev.loc["D", "component"]
    assert sev["note"].str.contains("same component").all()
    # each component has its own origin
    for _, part in sev.groupby("component"):
        assert (part["severity"] * part["n_compared"]).sum() == pytest.approx(0, abs=1e-9)


def test_severity_adjusted_lists_show_before_and_after(demo):
    params = Params(dataset=".", round="C2026Q2")
    side = severity_adjusted_lists(demo, params)
    before = evaluate_round(demo, params).ranking_table().set_index("unit_id")
    assert list(side.columns) == ["round_id", "unit_id", "name", "group", "score_before", "score_after",
                                  "rank_before", "rank_after", "list_before", "list_after", "changed"]
    assert side.set_index("unit_id")["list_before"].equals(before.loc[side["unit_id"], "list"].rename(
        "list_before"))
    assert (side["changed"] == (side["list_before"] != side["list_after"])).all()
    scores = demo.scores[demo.scores["round_id"] == "C2026Q2"]
    gain = (side["score_after"] - side["score_before"]).set_axis(side["unit_id"])
    by_harsh = set(scores.loc[scores["rater_id"] == PLANTED["harsh_rater"], "unit_id"])
    by_lenient = set(scores.loc[scores["rater_id"] == PLANTED["lenient_rater"], "unit_id"])
    assert (gain[sorted(by_harsh - by_lenient)] > 0).all() and (gain[sorted(by_lenient - by_harsh)] < 0).all()
    assert (gain[sorted(set(gain.index) - by_harsh - by_lenient)] == 0).all()


def test_severity_adjusted_lists_given_the_evaluation_or_with_nothing_to_adjust(demo, demo_eval):
    params = Params(dataset=".", round="C2026Q2")
    raters = rater_severity(demo.scores[demo.scores["round_id"] == "C2026Q2"], demo.indicators, params)
    side = severity_adjusted_lists(demo, params, raters)
    assert_frame_equal(severity_adjusted_lists(demo, params, raters, evaluation=demo_eval), side)
    # no rater flagged: the lists after are the lists before
    same = severity_adjusted_lists(demo, params, raters.assign(flagged=False), evaluation=demo_eval)
    assert_frame_equal(same[["score_after", "rank_after", "list_after"]].set_axis(["score", "rank", "list"], axis=1),
                       side[["score_before", "rank_before", "list_before"]].set_axis(["score", "rank", "list"], axis=1))
    assert not same["changed"].any()
    with pytest.raises(InputError, match="C2026Q2"):
        severity_adjusted_lists(demo, params, raters, evaluation=SimpleNamespace(results=demo_eval.results.iloc[:0]))


# --------------------------------------------------------------------------- 4. open vs covert visits


def test_open_visit_gamer_is_flagged(demo, q2):
    """By the year's last round the planted unit's open-visit advantage is shown to exceed the minimum;
    at C2026Q2, with half the rounds, it is real but its size is not yet certain, and the report
    says exactly that."""
    gamer = PLANTED["open_visit_unit"]
    visits = q2["visits.csv"].set_index("unit_id")
    assert visits.loc[gamer, "status"] == "real" and (visits["status"] == "real").sum() == 1
    assert not visits["flagged"].any()
    finding = [f for f in fairness_findings(q2) if f.topic == "visits" and gamer in f.detail]
    assert len(finding) == 1 and finding[0].certainty == "cannot_tell" and "明查得分高于暗访" in finding[0].text
    q4 = fairness_tables(demo, Params(dataset=".", round="C2026Q4"))
    lag = q4["laggards.csv"]
    flagged = lag[lag["rule"] == "open_visit"].set_index("unit_id")
    assert list(flagged.index) == [gamer]
    row = flagged.loc[gamer]
    assert row["evidence"] <= -10 and row["ci_high"] < -10 and row["threshold"] == -10


def test_visit_gap_pairs_within_round_and_indicator():
    rng = np.random.default_rng(5)
    rows = []
    for r in range(6):
        for u in range(20):
            for i in range(4):
                base = rng.uniform(60, 80)
                bonus = 15.0 if u == 0 else 0.0
                for rater, visit in (("A", "open"), ("B", "covert")):
                    rows.append((f"R{r}", f"U{u:02d}", f"I{i}", rater, "field",
                                 base + (bonus if visit == "open" else 0) + rng.normal(0, 2), visit))
    scores = pd.DataFrame(rows, columns=["round_id", "unit_id", "indicator_id", "rater_id", "source", "points",
                                        "visit"])
    gap = visit_gap(scores, indicators_for(scores, 100.0), P).set_index("unit_id")
    assert gap.loc["U00", "flagged"] and gap.loc["U00", "gap"] == pytest.approx(-15, abs=1.5)
    assert gap.loc["U00", "n_rounds"] == 6 and gap.loc["U00", "n_pairs"] == 24
    assert not gap.drop("U00")["flagged"].any()


# --------------------------------------------------------------------------- 5. laggards


def test_persistent_laggards_are_flagged_and_the_one_off_is_not(q2, q4_laggards):
    for table in (q2["laggards.csv"], q4_laggards.table):
        persistent = table[table["rule"] == "persistent"].set_index("unit_id")
        for unit in PLANTED["persistent_laggards"]:
            assert {"listed_k_of_n", "cusum"} <= set(persistent.loc[unit, "rules"].split(";"))
        assert PLANTED["one_off_unit"] not in set(table["unit_id"])
    # the demo's report round is the one-off unit's bad round: one bad round is not persistence
    assert PLANTED["one_off_round"] == "C2026Q2"


def test_declining_unit_is_flagged_by_mann_kendall(q4_laggards):
    row = q4_laggards.table.set_index("unit_id").loc[PLANTED["declining_unit"]]
    assert "mann_kendall" in row["rules"].split(";") and row["n_rounds"] == 28
    evidence = q4_laggards.evidence.set_index("unit_id").loc[PLANTED["declining_unit"]]
    # ~90 → ~60: about three sd of its group; rule C's p at the floor of 400 null cities of 30 units
    assert evidence["decline"] > 2 and evidence["trend_p"] <= 3 / (1 + 400 * 30)


def test_laggard_table_layout(q2):
    lag = q2["laggards.csv"]
    assert list(lag.columns) == list(LAGGARD_COLUMNS)
    order = {r: k for k, r in enumerate(("persistent", "open_visit"))}
    keys = list(zip(lag["rule"].map(order), lag["unit_id"]))
    assert keys == sorted(keys)
    persistent = lag[lag["rule"] == "persistent"]
    assert (persistent["p_value"] <= persistent["threshold"]).all()
    assert (persistent["q_value"] <= persistent["fdr"]).all()
    assert persistent["false_alarm_rate"].between(0.03, 0.05).all()
    assert (lag.loc[lag["rule"] != "open_visit", "seed"] == "[20240601, 2]").all()


def test_null_cities_raise_alarms_at_the_stated_rate():
    n_units, rate = 1200, 0.05
    city_ = null_city(n_units, 12, seed=7)
    params = params_from_mapping({"dataset": ".", "round": "M12",
                                  "fairness": {"null_cities": 100, "trend_min": 0.0, "false_alarm_rate": rate}})
    result = flag_laggards(evaluate(city_, params).results, params)
    calibration = result.calibration.set_index("rule")
    # 120,000 null unit-years; Monte Carlo p-values of a discrete min-p are at most the level
    assert 0.8 * rate <= calibration.loc["persistent", "achieved_rate"] <= rate
    assert calibration.loc["cusum", "achieved_rate"] == pytest.approx(rate, abs=0.004)
    sd = np.sqrt(rate * (1 - rate) / n_units)
    observed = (result.evidence["p_value"] <= rate).mean()
    assert abs(observed - calibration.loc["persistent", "achieved_rate"]) <= 4 * sd, observed
    # the false-discovery control: a city without laggards has (almost) none called
    assert len(result.table) <= 0.1 * rate * n_units


# --------------------------------------------------------------------------- 6. stability


def cut_city():
    """Twelve units of one group; two raters each on a 10-point indicator.

    U00 is far above 90 (10 and 10); U01 is exactly at the cut (8.5 and 9.5: 90.00);
    U11 is far below 70.
    """
    marks = [(10, 10), (8.5, 9.5)] + [(8.0 - 0.1 * k, 8.2 - 0.1 * k) for k in range(9)] + [(3, 3)]
    rows = [("M01", f"U{u:02d}", "I01", rater, "field", points)
            for u, pair in enumerate(marks) for rater, points in zip(("R01", "R02") if u % 2 else ("R03", "R04"),
                                                                    pair)]
    scores = pd.DataFrame(rows, columns=["round_id", "unit_id", "indicator_id", "rater_id", "source", "points"])
    units = pd.DataFrame({"unit_id": [f"U{u:02d}" for u in range(12)], "name": "单位", "kind": "territorial",
                          "group": "社区"})
    indicators = pd.DataFrame({"indicator_id": ["I01"], "name": ["x"], "category": ["x"], "max_points": [10.0]})
    return city(scores, units, indicators, monthly_rounds(1))


def test_stability_far_above_the_cut_is_certain_and_at_the_cut_is_uncertain():
    c = cut_city()
    params = params_from_mapping({"dataset": ".", "round": "M01", "fairness": {"replicates": 400}})
    ev = evaluate(c, params)
    st = list_stability(c.scores, c.indicators, ev.results, params)
    assert list(st.columns) == list(STABILITY_COLUMNS)
    st = st.set_index("unit_id")
    assert st.loc["U00", "p_red"] == 1 and not st.loc["U00", "uncertain"]
    assert st.loc["U00", "rank_low"] == st.loc["U00", "rank_high"] == 1
    assert st.loc["U01", "score"] == 90 and st.loc["U01", "list"] == "red"
    assert 0.2 <= st.loc["U01", "p_red"] <= 0.8 and st.loc["U01", "uncertain"]
    assert st.loc["U11", "p_black"] == 1 and st.loc["U11", "rank_low"] == 12


def test_stability_is_seeded():
    c = cut_city()
    params = params_from_mapping({"dataset": ".", "round": "M01", "fairness": {"replicates": 200}})
    ev = evaluate(c, params)
    first = list_stability(c.scores, c.indicators, ev.results, params)
    assert_frame_equal(first, list_stability(c.scores, c.indicators, ev.results, params))
    assert (first["seed"] == f"[{params.seed}, 3]").all()
    other = params.model_copy(update={"seed": params.seed + 1})
    a = list_replicates(c.scores, c.indicators, ev.results, params, 50)
    b = list_replicates(c.scores, c.indicators, ev.results, other, 50)
    assert not np.array_equal(a.score, b.score)


@pytest.mark.parametrize("overrides", [
    {},
    {"history": {"weight": 0.3, "rounds": 2}},
    {"veto": {"action": "exclude", "prerequisite_category": "未成年人思想道德建设", "prerequisite_min": 88.0}},
    {"lists": {"precision": 0, "tie_policy": "none_in"}},
    {"lists": {"precision": 0, "ranking_scope": "all", "comprehensive_size": 3},
     "weights": {"field": 0.6, "daily": 0.1, "feedback": 0.1, "leader": 0.2, "public": 0.0}},
])
def test_a_replicate_without_perturbation_reproduces_the_rules(demo, overrides):
    params = params_from_mapping({"dataset": ".", "round": "C2026Q4", **overrides})
    results = evaluate(demo, params).results
    rep = list_replicates(demo.scores, demo.indicators, results, params, 1,
                          round_ids=list(results["round_id"].unique()), measurement_error=False)
    assert rep.seed == ""
    rows = rep.rows
    np.testing.assert_allclose(rep.score[0], rows["score"].to_numpy(dtype=float), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(rep.rank[0], rows["rank"].to_numpy(dtype=float, na_value=np.nan))
    np.testing.assert_array_equal(rep.list[0], rows["list"].map({"": 0, "red": 1, "black": 2}).to_numpy())


def test_demo_stability_table(q2):
    st = q2["stability.csv"].set_index("unit_id")
    for unit in ("U029", "U118"):  # laggards far below the cut
        assert st.loc[unit, "list"] == "black" and st.loc[unit, "p_black"] == 1
    assert ((st["p_red"] > 0) & (st["p_black"] > 0)).sum() == 0
    assert (st["rank_low"] <= st["rank"]).all() and (st["rank"] <= st["rank_high"]).all()
    assert st["uncertain"].sum() >= 1


# --------------------------------------------------------------------------- 7. groups


def group_inputs(rng, planted: bool, n_units: int = 60, n_raters: int = 12):
    units = pd.DataFrame({"unit_id": [f"U{k:02d}" for k in range(n_units)],
                          "kind": np.where(np.arange(n_units) < n_units // 2, "industry", "territorial"),
                          "size": rng.lognormal(8, 1, n_units)})
    severity = np.where(np.arange(n_raters) < n_raters // 2, 1.0, 0.0) if planted else rng.normal(0, 0.5,
                                                                                                  n_raters)
    raters = pd.DataFrame({"rater_id": [f"R{k:02d}" for k in range(n_raters)], "severity": severity})
    rows = []
    for k, kind in enumerate(units["kind"]):
        pool = (np.arange(n_raters // 2) if kind == "industry" else np.arange(n_raters // 2, n_raters)) \
            if planted else np.arange(n_raters)
        rows += [(units["unit_id"][k], f"R{r:02d}") for r in rng.choice(pool, 3, replace=False)]
    scores = pd.DataFrame(rows, columns=["unit_id", "rater_id"])
    results = pd.DataFrame({"round_id": "R1", "unit_id": units["unit_id"], "score": rng.normal(80, 6, n_units),
                            "list": rng.choice(["", "", "", "red", "black"], n_units)})
    return units, results, scores, raters


def test_group_pvalues_are_uniform_under_the_null():
    rng = np.random.default_rng(8)
    params = params_from_mapping({"dataset": ".", "round": "R1", "fairness": {"permutations": 199}})
    p = []
    for k in range(60):
        table = group_fairness(*group_inputs(rng, planted=False), params.model_copy(update={"seed": k}))
        p += list(table.drop_duplicates("dimension")[["p_severity", "p_score"]].to_numpy().ravel())
    p = np.asarray(p)
    assert stats.kstest(p, "uniform").pvalue > 0.001
    assert (p < 0.05).mean() < 0.09


def test_group_fairness_finds_a_group_scored_by_harsh_raters(q2):
    rng = np.random.default_rng(9)
    params = params_from_mapping({"dataset": ".", "round": "R1", "fairness": {"permutations": 999}})
    table = group_fairness(*group_inputs(rng, planted=True), params)
    assert list(table.columns) == list(GROUP_COLUMNS)
    kind = table[table["dimension"] == "kind"].set_index("group")
    assert kind.loc["industry", "rater_severity"] == pytest.approx(1.0)
    assert kind.loc["territorial", "rater_severity"] == pytest.approx(0.0)
    assert kind["p_severity"].iloc[0] <= 0.002
    assert kind["status_severity"].iloc[0] == "differ"
    findings = fairness_findings({**q2, "groups.csv": table})
    assert any(f.text == "行业单位所遇评分人明显更严，有把握。" for f in findings)


# --------------------------------------------------------------------------- 8. tables and findings


def test_fairness_tables_columns_and_determinism(demo, demo_eval, q2):
    columns = {"raters.csv": RATER_COLUMNS, "reliability.csv": RELIABILITY_COLUMNS,
               "laggards.csv": LAGGARD_COLUMNS, "laggard_units.csv": EVIDENCE_COLUMNS,
               "laggard_calibration.csv": CALIBRATION_COLUMNS, "stability.csv": STABILITY_COLUMNS,
               "weights.csv": WEIGHT_COLUMNS, "funnel.csv": FUNNEL_COLUMNS, "groups.csv": GROUP_COLUMNS}
    assert list(q2) == list(FAIRNESS_TABLES)
    again = fairness_tables(demo, Params(dataset=".", round="C2026Q2"), demo_eval)
    assert_frame_equal(again["visits.csv"], q2["visits.csv"])
    assert q2["visits.csv"]["unit_id"].is_monotonic_increasing
    for name, cols in columns.items():
        assert list(q2[name].columns) == list(cols), name
        assert_frame_equal(again[name], q2[name])
    assert q2["raters.csv"]["rater_id"].is_monotonic_increasing
    assert (q2["stability.csv"]["seed"] == "[20240601, 3]").all()
    assert (q2["groups.csv"]["seed"] == "[20240601, 4]").all()
    rel = q2["reliability.csv"]
    assert list(dict.fromkeys(rel["scope"])) == ["source", "overall", "category", "indicator", "raters"]
    assert (rel.loc[rel["scope"].isin(["overall", "category", "indicator"]), "seed"] == "[20240601, 1]").all()
    assert (rel.loc[rel["scope"] == "source", "seed"] == "[20240601, 5]").all()


def test_fairness_tables_on_the_tiny_typed_dataset():
    """One rater, four units: every analysis degrades to NaN or empty, never to an error."""
    dataset = validate_tables(tiny_tables())
    params = params_from_mapping({"dataset": ".", "round": "C2026Q1",
                                  "fairness": {"null_cities": 20, "replicates": 50, "permutations": 99}})
    tables = fairness_tables(dataset, params)
    assert len(tables["stability.csv"]) == 4
    assert tables["raters.csv"]["severity"].isna().all()
    findings = fairness_findings(tables)
    # one rater for everything: the report says what these data cannot answer, and never that
    # the scores are reliable or the list stable
    assert any(f.certainty == "not_estimable" for f in findings)
    assert not any(f.topic in ("reliability", "stability") and f.certainty == "sure" for f in findings)
    assert not any("稳定。" in f.text for f in findings)


def test_findings_in_chinese_and_english(q2):
    zh = fairness_findings(q2)
    texts = [f.text for f in zh]
    sentence = r"评分人 {} 评分明显{}：在满分10分的指标上，平均比其他评分人{}给约 \d\.\d 分，有把握。"
    assert any(re.fullmatch(sentence.format(PLANTED["harsh_rater"], "偏严", "少"), s) for s in texts)
    assert any(re.fullmatch(sentence.format(PLANTED["lenient_rater"], "偏宽", "多"), s) for s in texts)
    assert any(PLANTED["open_visit_unit"] in f.detail and "明查得分高于暗访" in f.text for f in zh)
    assert any(s.startswith("实地考察测评评分可靠程度较高") for s in texts)
    # the public source has one rater for the whole city: its error cannot be known, and the report says so
    assert any(f.topic == "reliability" and f.certainty == "not_estimable" and f.text.startswith("群众监督")
               for f in zh)
    # plain words in the body, the statistics in the detail for the appendix
    for word in ("Φ", "ICC", "Kendall", "Krippendorff", "CUSUM", "Mann", "p =", "q =", "置信区间", "sd"):
        assert not any(word in s for s in texts), word
    assert all(f.detail for f in zh)
    assert {f.certainty for f in zh} <= {"sure", "cannot_tell", "not_estimable", "none"}
    en = fairness_findings(q2, lang="en")
    assert [f.topic for f in en] == [f.topic for f in zh]
    assert any(f.text.startswith(f"Rater {PLANTED['harsh_rater']} is clearly harsh") for f in en)
    with pytest.raises(InputError, match="'fr'"):
        fairness_findings(q2, lang="fr")
    with pytest.raises(InputError, match="groups.csv"):
        fairness_findings({k: v for k, v in q2.items() if k != "groups.csv"})


def test_bad_inputs_are_input_errors(demo, demo_eval):
    with pytest.raises(InputError, match="C2099Q1"):
        fairness_tables(demo, Params(dataset=".", round="C2099Q1"))
    with pytest.raises(InputError, match="Params"):
        rater_severity(demo.scores, demo.indicators, {"seed": 1})
    with pytest.raises(InputError, match="rater_id"):
        rater_severity(demo.scores.drop(columns="rater_id"), demo.indicators, P)
    with pytest.raises(InputError, match="n_replicates"):
        list_replicates(demo.scores, demo.indicators, demo_eval.results, Params(dataset=".", round="C2026Q1"), 0)
    with pytest.raises(InputError, match="severity"):
        adjust_rater_severity(demo.scores, pd.DataFrame({"rater_id": ["R05"]}), demo.indicators, P)


# --------------------------------------------------------------------------- 9. the fast paths are exact


def test_cell_codes_number_the_keys_as_their_joined_strings_sort():
    rng = np.random.default_rng(11)
    parts = ["a", "a2", "", "ab", "b", "中", "A", "a b", "10", "9"]
    frame = pd.DataFrame({c: rng.choice(parts, 500) for c in _CELL})
    # a part below the separator (U+001F) sorts the joined keys otherwise: they are joined then
    for f in (frame, frame.astype(object), frame.assign(unit_id=frame["unit_id"] + "\x01"),
              frame.assign(round_id=rng.integers(0, 20, len(frame))), frame.iloc[:0]):
        expected = pd.factorize(row_key(f, _CELL), sort=True)[0]
        codes, n = _codes(f, _CELL)
        np.testing.assert_array_equal(codes, expected)
        assert n == len(np.unique(expected))


def test_rater_matrix_is_the_pivot_table_of_first_values():
    rng = np.random.default_rng(12)
    frame = pd.DataFrame({"rater_id": rng.choice(["R2", "R1", "R3", None], 400), "cell": rng.integers(0, 60, 400),
                          "value": np.where(rng.random(400) < 0.1, np.nan, rng.normal(size=400))})
    pivot = frame.pivot_table(index="rater_id", columns="cell", values="value", aggfunc="first")
    rater = pd.factorize(frame["rater_id"], sort=True)[0]
    matrix = _rater_matrix(rater, frame["cell"].to_numpy(), frame["value"].to_numpy())
    np.testing.assert_array_equal(matrix, pivot.to_numpy(dtype="float64"))


def test_nan_quantiles_are_numpys():
    rng = np.random.default_rng(13)
    ranks = rng.integers(1, 30, (200, 40)).astype(float)
    ranks[rng.random(ranks.shape) < np.linspace(0, 1, 40)] = np.nan  # down to columns without a value
    q = [0.05, 0.95]
    with pytest.warns(RuntimeWarning):
        expected = np.nanquantile(ranks, q, axis=0, method="inverted_cdf")
    np.testing.assert_array_equal(_nan_quantiles(ranks, q), expected)


def test_permutation_pvalue_is_the_one_hot_statistics():
    def reference(values, labels, strata, n_permutations, rng):
        keep = ~np.isnan(values)
        values, labels, strata = values[keep], labels[keep], strata[keep]
        levels = np.unique(labels)
        permuted = np.empty((n_permutations, len(labels)), dtype=labels.dtype)
        for stratum in np.unique(strata):
            idx = np.flatnonzero(strata == stratum)
            permuted[:, idx] = rng.permuted(np.broadcast_to(labels[idx], (n_permutations, len(idx))), axis=1)

        def statistic(lab):
            onehot = lab[..., None] == levels
            n = onehot.sum(axis=-2)
            means = (onehot * values[:, None]).sum(axis=-2) / np.maximum(n, 1)
            if len(levels) == 2:
                return np.abs(means[..., 0] - means[..., 1])
            return (n * (means - values.mean()) ** 2).sum(axis=-1)

        observed = statistic(labels)
        null = statistic(permuted)
        return float((1 + np.sum(null >= observed - 1e-12 * max(1.0, abs(observed)))) / (1 + n_permutations))

    rng = np.random.default_rng(15)
    for k in range(40):
        n = int(rng.integers(5, 90))
        values = rng.choice([1e16, -1e16, 1.0, 0.1, 3.3, 0.0], n) if k % 3 == 0 else \
            (rng.random(n) < 0.3).astype(float) if k % 3 == 1 else rng.normal(80, 6, n)
        values[rng.random(n) < 0.1] = np.nan
        labels, strata = rng.integers(0, 2 + k % 2, n) * 2, rng.integers(0, 2, n)
        assert _permutation_pvalue(values, labels, strata, 199, np.random.default_rng(k)) == \
            reference(values, labels, strata, 199, np.random.default_rng(k))


def test_results_do_not_depend_on_how_the_draws_are_chunked(monkeypatch, demo, demo_eval):
    params = params_from_mapping({"dataset": ".", "round": "C2026Q2",
                                  "fairness": {"null_cities": 60, "replicates": 40}})
    lag = flag_laggards(demo_eval.results, params)
    rep = list_replicates(demo.scores, demo.indicators, demo_eval.results, params, 40)
    monkeypatch.setattr(fairness.laggards, "_NULL_CELLS", 7_000)  # three null cities at a time
    monkeypatch.setattr(fairness.stability, "_REPLICATE_BLOCK", 25_000)  # two replicates at a time
    again = flag_laggards(demo_eval.results, params)
    for name in ("table", "calibration", "evidence"):
        assert_frame_equal(getattr(again, name), getattr(lag, name), check_exact=True)
    other = list_replicates(demo.scores, demo.indicators, demo_eval.results, params, 40)
    for name in ("score", "rank", "list"):
        np.testing.assert_array_equal(getattr(other, name), getattr(rep, name))
