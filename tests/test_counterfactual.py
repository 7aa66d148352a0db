"""Counterfactuals are checked the only honest way: apply them to the data and rerun the round."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from honorcalc.data.read import load_dataset
from honorcalc.data.write import write_dataset
from honorcalc.datasets.demo import make_demo_city
from honorcalc.explain.counterfactual import counterfactual
from honorcalc.params import Params
from honorcalc.rules.evaluate import evaluate_round

ROUND = "C2026Q2"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    directory = tmp_path_factory.mktemp("demo")
    write_dataset(make_demo_city(), directory)
    dataset = load_dataset(directory)
    params = Params(dataset=str(directory), round=ROUND)
    return dataset, params, evaluate_round(dataset, params, ROUND)


def shift_unit(dataset, result, unit_id, delta):
    """Move one unit's composite score by ``delta`` by changing its raters' points.

    Every rater of an indicator gets the new mean, so points stay within
    0 … max_points; indicators are used largest capacity first.
    """
    p = result.params
    u = result.units.set_index("unit_id").loc[unit_id]
    weights = p.weights.as_dict()
    present = list(u["sources_present"])
    total = sum(weights[s] for s in present)
    src_max = result.sources[result.sources["unit_id"] == unit_id].set_index("source")["max_points"]
    pts = result.points[result.points["unit_id"] == unit_id].drop_duplicates(["indicator_id", "source"])
    scores = dataset.scores.copy()
    remaining = abs(delta)
    rows = []
    for r in pts.itertuples(index=False):
        factor = weights[r.source] / total * 100.0 / src_max[r.source]
        room = (r.max_points - r.points) if delta > 0 else r.points
        rows.append((room * factor, factor, r))
    for capacity, factor, r in sorted(rows, key=lambda x: -x[0]):
        if remaining <= 0:
            break
        step = min(capacity, remaining)
        new_mean = r.points + np.sign(delta) * step / factor
        mask = ((scores["round_id"] == ROUND) & (scores["unit_id"] == unit_id)
                & (scores["indicator_id"] == r.indicator_id) & (scores["source"] == r.source))
        scores.loc[mask, "points"] = new_mean
        remaining -= step
    assert remaining <= 1e-9, "the unit has no room for this change"
    return dataclasses.replace(dataset, scores=scores)


def listed(dataset, params, unit_id):
    result = evaluate_round(dataset, params, ROUND)
    return result.units.set_index("unit_id").loc[unit_id, "list"]


def test_black_listed_units_leave_with_exactly_the_stated_increase(demo):
    dataset, params, result = demo
    black = result.units[result.units["list"] == "black"]["unit_id"].tolist()
    assert len(black) >= 5
    for unit_id in black[:5]:
        c = counterfactual(result, unit_id)["black"]
        assert c["listed"] and c["change"] > 0
        assert listed(shift_unit(dataset, result, unit_id, c["change"] + 1e-6), params, unit_id) != "black"
        # one published step (0.01) less is not enough
        assert listed(shift_unit(dataset, result, unit_id, c["change"] - 0.01), params, unit_id) == "black"


def test_the_indicators_named_could_each_carry_the_unit(demo):
    dataset, params, result = demo
    black = result.units[result.units["list"] == "black"]["unit_id"]
    closest = min(black, key=lambda u: counterfactual(result, u)["black"]["change"])
    c = counterfactual(result, closest)["black"]
    assert c["indicators"], "expected at least one indicator with enough missing points"
    assert all(i["headroom"] >= c["change"] for i in c["indicators"])
    assert c["headroom_total"] >= c["indicators"][0]["headroom"]
    far = max(black, key=lambda u: counterfactual(result, u)["black"]["change"])
    c = counterfactual(result, far)["black"]
    assert not c["indicators"] and c["headroom_total"] >= c["change"]


def test_red_listed_units_drop_out_at_the_stated_margin(demo):
    dataset, params, result = demo
    red = result.units[result.units["list"] == "red"]["unit_id"].tolist()
    for unit_id in red[:4]:
        c = counterfactual(result, unit_id)["red"]
        assert c["listed"] and c["change"] < 0
        assert listed(shift_unit(dataset, result, unit_id, c["change"] - 1e-6), params, unit_id) != "red"
        assert listed(shift_unit(dataset, result, unit_id, c["change"] + 0.02), params, unit_id) == "red"


def test_units_just_outside_the_red_list_enter_at_the_stated_increase(demo):
    dataset, params, result = demo
    u = result.units
    near = u[(u["list"] == "") & ~u["vetoed"] & u["ranked"]].sort_values("score", ascending=False)
    for unit_id in near["unit_id"].head(3):
        c = counterfactual(result, unit_id)["red"]
        assert c["change"] > 0
        assert listed(shift_unit(dataset, result, unit_id, c["change"] + 1e-6), params, unit_id) == "red"
        assert listed(shift_unit(dataset, result, unit_id, c["change"] - 0.01), params, unit_id) != "red"


def test_a_vetoed_unit_cannot_be_red_at_any_score(demo):
    _, _, result = demo
    vetoed = result.units[result.units["vetoed"]]["unit_id"].iloc[0]
    c = counterfactual(result, vetoed)["red"]
    assert c["change"] is None and c["vetoed"]


def test_under_none_in_the_change_is_exact(demo):
    """``tie_policy: none_in`` keeps a tied block that straddles the cut out of the list: reaching
    the cap-th unit's score is not enough, the unit must pass it, and the change stated does."""
    dataset, params, _ = demo
    params = params.model_copy(update={"lists": params.lists.model_copy(update={"tie_policy": "none_in"})})
    result = evaluate_round(dataset, params, ROUND)
    u = result.units
    outside = u[(u["list"] == "") & ~u["vetoed"] & u["ranked"]].sort_values("score", ascending=False)
    checked = 0
    for unit_id in outside.groupby("ranking_group").head(3)["unit_id"]:
        c = counterfactual(result, unit_id)["red"]
        if c["route"] != "rank":
            continue
        assert listed(shift_unit(dataset, result, unit_id, c["change"] + 1e-6), params, unit_id) == "red"
        assert listed(shift_unit(dataset, result, unit_id, c["change"] - 0.01), params, unit_id) != "red"
        checked += 1
    assert checked >= 3
