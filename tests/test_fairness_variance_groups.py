"""G-study (halo term, intervals, D-study, honest limits) and group comparison within rater components.

Seeded simulations whose truth is known: raters with lasting unit-specific impressions
(halo), the Φ interval's coverage, final scores only (one pseudo-rater), and rater
components each with its own zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from honorcalc.fairness import GROUP_COLUMNS, group_fairness, variance_components
from honorcalc.fairness.variance import VARIANCE_COLUMNS
from honorcalc.params import params_from_mapping

from .conftest import ems_components

P = params_from_mapping({"dataset": ".", "round": "R1"})
QUICK = P.model_copy(update={"fairness": P.fairness.model_copy(update={"gstudy_bootstrap": 0})})

# raters who like a unit like all its indicators: true Φ of the team design below is 0.77
HALO = {"unit": 36.0, "rater": 4.0, "indicator": 9.0, "unit_x_indicator": 6.0, "unit_x_rater": 24.0,
        "residual": 25.0}


def team_scores(rng, n_units, n_ind, n_raters, var, team=3, per_cell=2, max_points=10.0):
    """Each unit has a team of ``team`` raters; each unit × indicator is scored by ``per_cell`` of them."""
    eff = {k: rng.normal(0, np.sqrt(var[k]), n)
           for k, n in (("unit", n_units), ("indicator", n_ind), ("rater", n_raters))}
    ui = rng.normal(0, np.sqrt(var["unit_x_indicator"]), (n_units, n_ind))
    ur = rng.normal(0, np.sqrt(var["unit_x_rater"]), (n_units, n_raters))
    teams = np.argsort(rng.random((n_units, n_raters)), axis=1)[:, :team]
    u, i = np.indices((n_units, n_ind)).reshape(2, -1)
    pick = np.argsort(rng.random((len(u), team)), axis=1)[:, :per_cell]
    r = np.take_along_axis(teams[u], pick, axis=1).ravel()
    u, i = np.repeat(u, per_cell), np.repeat(i, per_cell)
    pct = (60 + eff["unit"][u] + eff["indicator"][i] + eff["rater"][r] + ui[u, i] + ur[u, r]
           + rng.normal(0, np.sqrt(var["residual"]), len(u)))
    return pd.DataFrame({"round_id": "R1", "unit_id": [f"U{k:03d}" for k in u],
                         "indicator_id": [f"I{k:02d}" for k in i], "rater_id": [f"R{k:02d}" for k in r],
                         "source": "field", "points": pct * max_points / 100})


def indicators_for(scores: pd.DataFrame, max_points=10.0) -> pd.DataFrame:
    ids = sorted(scores["indicator_id"].unique())
    return pd.DataFrame({"indicator_id": ids, "name": ids, "category": "C", "max_points": max_points})


def design_phi(scores: pd.DataFrame, var: dict) -> float:
    """Φ of the unit scores of this design (equal weights), written out from the score rows."""
    s = scores.assign(m=scores.groupby(["unit_id", "indicator_id"])["rater_id"].transform("size"))
    s["load"] = 1 / s["indicator_id"].nunique() / s["m"]
    rater_load = (s.groupby(["unit_id", "rater_id"])["load"].sum() ** 2).groupby(level=0).sum()
    residual_load = (s["load"] ** 2).groupby(s["unit_id"]).sum()
    tau = var["unit"] + var["unit_x_indicator"] / s["indicator_id"].nunique()
    delta = ((var["rater"] + var["unit_x_rater"]) * rater_load + var["residual"] * residual_load).mean()
    return tau / (tau + delta)


# --------------------------------------------------------------------------- G-study


def test_table_layout_and_determinism():
    rng = np.random.default_rng(30)
    scores = team_scores(rng, 40, 6, 12, HALO)
    g = variance_components(scores, indicators_for(scores), P)
    assert list(g.columns) == list(VARIANCE_COLUMNS)
    assert g["seed"].iloc[0] == "[20240601, 5]"
    again = variance_components(scores.sample(frac=1, random_state=1), indicators_for(scores), P)
    pd.testing.assert_frame_equal(again, g, check_exact=False, rtol=1e-9)


def test_balanced_crossed_design_equals_the_anova_solution_with_the_halo_term():
    """Brennan (2001) p × i × r with σ²_pr; i × r pooled with the residual (the model has no i × r)."""
    rng = np.random.default_rng(31)
    n_p, n_i, n_r = 30, 4, 6
    eff_p, eff_i, eff_r = (rng.normal(0, s, n) for s, n in ((6, n_p), (3, n_i), (4, n_r)))
    y = (60 + eff_p[:, None, None] + eff_i[None, :, None] + eff_r[None, None, :]
         + rng.normal(0, 2.5, (n_p, n_i, 1)) + rng.normal(0, 4, (n_p, 1, n_r)) + rng.normal(0, 5, (n_p, n_i, n_r)))
    p, i, r = np.indices(y.shape).reshape(3, -1)
    scores = pd.DataFrame({"round_id": "R1", "unit_id": [f"U{k:02d}" for k in p],
                           "indicator_id": [f"I{k}" for k in i], "rater_id": [f"R{k}" for k in r],
                           "source": "field", "points": y.ravel() / 10})
    g = variance_components(scores, indicators_for(scores), P).iloc[0]

    expected = ems_components(y)
    for name, value in expected.items():
        assert value > 0, name
        assert g[f"var_{name}"] == pytest.approx(value, rel=1e-8), name
    # Brennan's Φ for p × I × R with I fixed
    tau = expected["unit"] + expected["unit_x_indicator"] / n_i
    delta = (expected["rater"] + expected["unit_x_rater"]) / n_r + expected["residual"] / (n_i * n_r)
    assert g.phi == pytest.approx(tau / (tau + delta), rel=1e-10)
    assert g.status == "estimated" and g.note == ""
    for name in ("phi", *(f"var_{c}" for c in expected)):
        assert g[f"{name}_low"] <= g[name] <= g[f"{name}_high"], name


def test_halo_phi_is_recovered():
    """Truth 0.77; without the halo term the G-study said 0.92 on this design."""
    rng = np.random.default_rng(32)
    phi, truth = [], []
    for _ in range(20):
        scores = team_scores(rng, 120, 12, 30, HALO)
        g = variance_components(scores, indicators_for(scores), QUICK).iloc[0]
        phi.append(g.phi)
        truth.append(design_phi(scores, HALO))
        assert g.var_unit_x_rater > 0
    assert np.mean(truth) == pytest.approx(0.77, abs=0.01)
    assert np.mean(phi) == pytest.approx(np.mean(truth), abs=0.03)


def test_phi_interval_covers_the_truth_at_the_nominal_rate():
    """100 designs, 200 bootstrap replicates each: coverage 0.93 at 95 % (binomial SE 0.02)."""
    rng = np.random.default_rng(33)
    covered = []
    for k in range(100):
        scores = team_scores(rng, 80, 12, 20, HALO)
        g = variance_components(scores, indicators_for(scores), P.model_copy(update={"seed": k})).iloc[0]
        truth = design_phi(scores, HALO)
        covered.append(g.phi_low <= truth <= g.phi_high)
        assert g.n_bootstrap == 200
    assert 0.88 <= np.mean(covered) <= 0.99


def test_d_study_gives_the_fewest_raters_that_reach_the_target():
    rng = np.random.default_rng(34)
    scores = team_scores(rng, 80, 12, 20, HALO)
    g = variance_components(scores, indicators_for(scores), P).iloc[0]
    n = int(g.raters_needed)
    assert g.d_study == "estimated" and n >= 2
    comp = {c: g[f"var_{c}"] for c in HALO}

    def phi_with(n_raters):
        """Each unit scored on every indicator by each of its own n_raters raters."""
        u, i, r = np.indices((10, 12, n_raters)).reshape(3, -1)
        design = pd.DataFrame({"unit_id": u, "indicator_id": i, "rater_id": u * 100 + r})
        return design_phi(design, comp)

    assert phi_with(n) >= 0.8 > phi_with(n - 1)
    assert g.raters_needed_low <= n <= g.raters_needed_high

    # every unit alike on every indicator: only rater noise is left, no number of raters helps
    cell_mean = scores.groupby(["unit_id", "indicator_id"])["points"].transform("mean")
    flat = scores.assign(points=scores["points"] - cell_mean + 6)
    unreachable = variance_components(flat, indicators_for(flat), QUICK).iloc[0]
    assert unreachable.var_unit == 0 and unreachable.var_unit_x_indicator == 0
    assert unreachable.d_study == "unreachable"
    assert np.isnan(unreachable.raters_needed)


def test_final_scores_only_are_not_estimable():
    """One pseudo-rater, one score per unit and indicator: the old G-study stated Φ = 0.97."""
    rng = np.random.default_rng(35)
    scores = team_scores(rng, 100, 20, 1, HALO, team=1, per_cell=1)
    g = variance_components(scores, indicators_for(scores), P).iloc[0]
    assert g.status == "not_estimable" and np.isnan(g.phi) and np.isnan(g.phi_low)
    assert "rater error cannot be separated from the unit's score" in g.note
    assert g.d_study == "not_estimable" and np.isnan(g.raters_needed)
    # several raters, but one per unit: their severity is measured, the halo is inseparable from
    # the unit, so Φ is given but marked approximate
    one_each = team_scores(rng, 100, 20, 5, HALO, team=1, per_cell=1)
    h = variance_components(one_each, indicators_for(one_each), P).iloc[0]
    assert h.status == "approximate" and 0 < h.phi < 1 and "lasting impression" in h.note
    # one rater per cell from a team: Φ is a lower bound
    lower = variance_components(*(lambda s: (s, indicators_for(s)))(team_scores(rng, 100, 20, 20, HALO, per_cell=1)),
                                P).iloc[0]
    assert lower.status == "lower_bound" and 0 < lower.phi < 1


# --------------------------------------------------------------------------- groups


def component_city(rng, n_units: int, offset: float = 1.0, spread: float = 0.1, score_sd: float = 1.0):
    """Two rater components, each with its own zero: component 1's severities are shifted by ``offset``.

    Raters are equally severe in truth; 80 % of industry units meet component 1,
    80 % of territorial units component 2. Scores are equal in distribution.
    """
    kind = np.where(np.arange(n_units) < n_units // 2, "industry", "territorial")
    units = pd.DataFrame({"unit_id": [f"U{k:03d}" for k in range(n_units)], "kind": kind,
                          "size": rng.lognormal(8, 1, n_units)})
    severity = rng.normal(0, spread, 12) + np.where(np.arange(12) < 6, offset, 0.0)
    raters = pd.DataFrame({"rater_id": [f"R{k:02d}" for k in range(12)], "severity": severity,
                           "component": np.where(np.arange(12) < 6, 1, 2)})
    first = np.where(kind == "industry", rng.random(n_units) < 0.8, rng.random(n_units) < 0.2)
    rows = []
    for k in range(n_units):
        pool = np.arange(6) if first[k] else np.arange(6, 12)
        rows += [(units["unit_id"][k], f"R{r:02d}") for r in rng.choice(pool, 3, replace=False)]
    scores = pd.DataFrame(rows, columns=["unit_id", "rater_id"])
    results = pd.DataFrame({"round_id": "R1", "unit_id": units["unit_id"], "score": rng.normal(80, score_sd, n_units),
                            "list": ""})
    return units, results, scores, raters


GROUP_PARAMS = params_from_mapping({"dataset": ".", "round": "R1", "fairness": {"permutations": 199}})


def test_group_severity_is_compared_within_rater_components():
    """Old: the components' zeros read as a difference (p_severity = 0.005 in every city)."""
    rng = np.random.default_rng(40)
    differ = []
    for k in range(20):
        table = group_fairness(*component_city(rng, 120), GROUP_PARAMS.model_copy(update={"seed": k}))
        kind = table[table["dimension"] == "kind"]
        differ.append((kind["status_severity"] == "differ").iloc[0])
        assert kind["components"].iloc[0] == "1;2"
        assert abs(kind["severity_diff"].iloc[0]) < 0.2
    assert list(table.columns) == list(GROUP_COLUMNS)
    assert np.mean(differ) <= 0.15


def test_equal_groups_are_alike_with_enough_units_and_cannot_tell_with_few():
    rng = np.random.default_rng(41)
    many = group_fairness(*component_city(rng, 400), GROUP_PARAMS)
    kind = many[many["dimension"] == "kind"].iloc[0]
    assert kind.status_severity == "alike" and kind.p_equiv_severity <= 0.05
    assert kind.status_score == "alike"
    few = group_fairness(*component_city(rng, 12, spread=1.0, score_sd=6.0), GROUP_PARAMS)
    kind = few[few["dimension"] == "kind"].iloc[0]
    assert kind.status_severity == "cannot_tell" and kind.status_score == "cannot_tell"


def test_a_real_difference_within_a_component_is_found():
    rng = np.random.default_rng(42)
    units, results, scores, raters = component_city(rng, 200, offset=0.0)
    # industry units meet raters 1.0 harsher within each component
    harsh = raters["rater_id"].isin(["R00", "R01", "R02", "R06", "R07", "R08"])
    raters.loc[harsh, "severity"] += 1.0
    industry = units.loc[units["kind"] == "industry", "unit_id"]
    kinds = dict(zip(units["unit_id"], units["kind"]))
    rows = []
    for unit_id, rater_id in scores.itertuples(index=False):
        k = int(rater_id[1:])
        base = 0 if k < 6 else 6
        rows.append((unit_id, f"R{base + (k % 3) + (0 if kinds[unit_id] == 'industry' else 3):02d}"))
    scores = pd.DataFrame(rows, columns=["unit_id", "rater_id"])
    table = group_fairness(units, results, scores, raters, GROUP_PARAMS)
    kind = table[table["dimension"] == "kind"].set_index("group")
    assert len(industry) == 100
    assert kind.loc["industry", "status_severity"] == "differ"
    assert kind.loc["industry", "severity_diff"] == pytest.approx(1.0, abs=0.1)
    assert kind.loc["industry", "severity_diff_low"] > 0.5


# Brennan (2001), Synthetic Data Set No. 4 (Table 3.2): 10 persons, 3 tasks, 4 raters within each task
BRENNAN_4 = {
    "t1": [[5, 9, 3, 7, 9, 3, 7, 5, 9, 4], [6, 3, 4, 5, 2, 4, 3, 8, 9, 4], [5, 7, 3, 5, 9, 3, 7, 5, 8, 4],
           [5, 7, 3, 3, 7, 5, 7, 7, 8, 3]],
    "t2": [[5, 7, 5, 3, 7, 3, 7, 7, 6, 3], [3, 5, 3, 1, 7, 3, 5, 5, 6, 5], [4, 5, 3, 4, 3, 6, 5, 5, 6, 6],
           [5, 5, 5, 3, 7, 3, 7, 4, 5, 5]],
    "t3": [[6, 7, 6, 5, 2, 4, 5, 3, 5, 5], [7, 7, 5, 3, 7, 5, 5, 2, 8, 7], [3, 5, 1, 3, 5, 1, 5, 1, 1, 1],
           [3, 2, 6, 5, 3, 2, 4, 1, 1, 1]],
}


def test_brennan_synthetic_data_set_4():
    """The published G-study estimates of Brennan's Synthetic Data Set No. 4, to four decimals.

    As p × (r:t) — tasks are indicators, each scored by its own four raters — Brennan (2001,
    ch. 3) gives σ²(p) = .4731, σ²(t) = .3252, σ²(r:t) = .6475, σ²(pt) = .5596 and
    σ²(pr:t) = 2.3802; as p × i over the twelve rater-task columns (Table 6.2, p. 182),
    σ²(p) = .6258, σ²(i) = .8840, σ²(pi) = 2.7872. Points are on a 100-point indicator, so
    the rescaled points are the data as printed.
    """
    rows = [(f"P{p:02d}", task, f"{task}r{r}", float(v))
            for task, raters in BRENNAN_4.items() for r, values in enumerate(raters) for p, v in enumerate(values)]
    frame = pd.DataFrame(rows, columns=["unit_id", "task", "rater_id", "points"])
    nested = frame.assign(round_id="R1", indicator_id=frame["task"], source="field")
    indicators = pd.DataFrame({"indicator_id": list(BRENNAN_4), "name": "x", "category": "c", "max_points": 100.0})
    g = variance_components(nested, indicators, QUICK).iloc[0]
    published = {"unit": .4731, "indicator": .3252, "rater": .6475, "unit_x_indicator": .5596, "residual": 2.3802}
    for name, value in published.items():
        assert g[f"var_{name}"] == pytest.approx(value, abs=5e-5), name
    assert g.status == "estimated"

    crossed = frame.assign(round_id="R1", indicator_id=frame["rater_id"], rater_id="R", source="field")
    items = pd.DataFrame({"indicator_id": crossed["indicator_id"].unique(), "name": "x", "category": "c",
                          "max_points": 100.0})
    g = variance_components(crossed, items, QUICK).iloc[0]
    for name, value in {"unit": .6258, "indicator": .8840, "residual": 2.7872}.items():
        assert g[f"var_{name}"] == pytest.approx(value, abs=5e-5), name
    # one rater scored everything: the error of a unit's score is not the data's to tell
    assert g.status == "not_estimable" and np.isnan(g.phi)
