"""Invariants of the list rules (RULES.md §1.3, §2), checked with hypothesis on small rounds.

The list invariants run `rank_units` + `apply_lists` on generated result frames
(many examples, cheap); the invariances under shuffling, renaming and raising
points run the whole pipeline (`evaluate_rounds`) on generated datasets.
"""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honorcalc.params import Params
from honorcalc.rules.evaluate import evaluate_rounds
from honorcalc.rules.lists import apply_lists
from honorcalc.rules.ranking import rank_units

# boundary values and ties are where list rules break, so scores come mostly from a
# grid around the thresholds (90, 70) and the rounding precision, sometimes anywhere
GRID = [40.0, 60.0, 69.995, 70.0, 70.004, 70.006, 75.0, 80.0, 89.994, 89.995, 90.0, 90.004, 95.0, 100.0]
SCORE = st.one_of(st.sampled_from(GRID), st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 3)))
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def list_params(draw):
    return Params(
        dataset=".", round="R0",
        lists={
            "comprehensive_size": draw(st.integers(1, 5)),
            "special_share": draw(st.sampled_from([0.2, 0.25, 1 / 3, 0.5])),
            "tie_policy": draw(st.sampled_from(["all_in", "none_in"])),
            "precision": draw(st.sampled_from([0, 2])),
        },
        veto={"action": draw(st.sampled_from(["no_red", "exclude"]))},
    )


@st.composite
def round_frames(draw):
    """A results frame before ranking (two rounds, up to 14 units, two ranking groups), and its params."""
    params = draw(list_params())
    rows = []
    for round_id, kind in (("R0", draw(st.sampled_from(["comprehensive", "special"]))), ("R1", "special")):
        n = draw(st.integers(0, 14))
        for i in range(n):
            vetoed = draw(st.booleans()) and draw(st.booleans())
            rows.append({
                "round_id": round_id, "round_kind": kind, "unit_id": f"U{i:02d}",
                "ranking_group": draw(st.sampled_from(["行业", "属地"])), "score": draw(SCORE),
                "vetoed": vetoed,
            })
    frame = pd.DataFrame(rows, columns=["round_id", "round_kind", "unit_id", "ranking_group", "score", "vetoed"])
    return frame.astype({"score": "float64", "vetoed": bool}), params


def _listed(frame: pd.DataFrame, params: Params):
    """`rank_units` + `apply_lists` of ``frame``, its vetoes acted on as ``params.veto.action`` says."""
    frame = frame.assign(excluded=frame["vetoed"] & (params.veto.action == "exclude"))
    return apply_lists(rank_units(frame, params), params)


def _with_action(params: Params, action: str) -> Params:
    return params.model_copy(update={"veto": params.veto.model_copy(update={"action": action})})


@st.composite
def ranked_results(draw):
    """A results frame (two rounds, up to 14 units, two ranking groups), ranked and listed."""
    frame, params = draw(round_frames())
    return _listed(frame, params), params


def _tied(ties, row, name):
    """Whether a recorded tie of list ``name`` put ``row`` on it."""
    hits = ties[(ties["round_id"] == row.round_id) & (ties["ranking_group"] == row.ranking_group)
                & (ties["list"] == name)]
    return any(row.unit_id in listed for listed in hits["listed"])


@FAST
@given(ranked_results())
def test_listed_units_meet_the_threshold_and_the_cut(case):
    """纳入红榜 needs 90分以上 and 排名前十 (or ⌊N/5⌋); black needs 70分以下 and 排名后十:
    every listed unit meets its threshold and is inside the cut of its own ranking, or was
    let in by a recorded tie that starts inside it; a red unit is never vetoed."""
    outcome, params = case
    res, ties = outcome.results, outcome.ties
    for row in res[res["list"] == "red"].itertuples():
        assert row.score_rounded >= params.lists.red_min
        assert not row.vetoed
        assert row.rank <= row.cap
        assert row.rank + row.tie_size - 1 <= row.cap or _tied(ties, row, "red")
    for row in res[res["list"] == "black"].itertuples():
        assert row.score_rounded <= params.lists.black_max
        assert row.rank_bottom <= row.cap_bottom
        assert row.rank_bottom + row.tie_size_bottom - 1 <= row.cap_bottom or _tied(ties, row, "black")
    assert (res.loc[res["excluded"], "list"] != "red").all()


@FAST
@given(round_frames())
def test_a_veto_withholds_honours_and_never_shields_from_the_black_list(case):
    """一票否决: a vetoed unit is never red, under either action; the black list is the one
    the round would have without any veto, so a vetoed unit that meets the black conditions
    is black under no_red and under exclude alike."""
    frame, params = case
    unvetoed = _listed(frame.assign(vetoed=False), params).results
    expected_black = unvetoed.loc[unvetoed["list"] == "black", ["round_id", "unit_id"]]
    for action in ("no_red", "exclude"):
        res = _listed(frame, _with_action(params, action)).results
        assert (res.loc[res["vetoed"], "list"] != "red").all(), action
        black = res.loc[res["list"] == "black", ["round_id", "unit_id"]]
        pd.testing.assert_frame_equal(black.reset_index(drop=True), expected_black.reset_index(drop=True))
        # a unit vetoed while it was red without the veto: exactly the vetoed units the veto took off the red list
        was_red = unvetoed.set_index(["round_id", "unit_id"])["list"].eq("red")
        withheld = res.set_index(["round_id", "unit_id"])["veto_withheld"]
        vetoed = res.set_index(["round_id", "unit_id"])["vetoed"]
        pd.testing.assert_series_equal(withheld, vetoed & was_red.reindex(withheld.index), check_names=False)


@FAST
@given(round_frames())
def test_exclude_closes_up_the_red_ranks_of_the_others(case):
    """veto.action exclude removes vetoed units from the red ranking: the others rank as
    if the vetoed units had never been scored, and the vetoed units have no red rank."""
    frame, params = case
    params = _with_action(params, "exclude")
    res = _listed(frame, params).results.set_index(["round_id", "unit_id"])
    others = _listed(frame[~frame["vetoed"]], params).results.set_index(["round_id", "unit_id"])
    pd.testing.assert_series_equal(res.loc[others.index, "rank"], others["rank"])
    pd.testing.assert_series_equal(res.loc[others.index, "list"].replace("black", ""),
                                   others["list"].replace("black", ""))
    assert res.loc[res["vetoed"], "rank"].isna().all()


@FAST
@given(ranked_results())
def test_no_unit_is_on_both_lists(case):
    """A unit is red or black or neither: the conditions of the two lists never both hold."""
    res = case[0].results
    both = res["red_status"].isin(["listed", "listed_tie"]) & res["black_status"].isin(["listed", "listed_tie"])
    assert not both.any()
    assert set(res["list"]) <= {"red", "black", ""}


@FAST
@given(ranked_results())
def test_list_sizes_exceed_the_cap_only_through_a_recorded_tie(case):
    """A tie that straddles the cut-off is reported explicitly: a list longer than its
    cap (10, or ⌊N/5⌋) has a recorded all_in tie that accounts for the excess."""
    outcome, params = case
    res, ties = outcome.results, outcome.ties
    for (round_id, group), g in res.groupby(["round_id", "ranking_group"]):
        for name, cap_col in (("red", "cap"), ("black", "cap_bottom")):
            cap = int(g[cap_col].iloc[0])
            n = int((g["list"] == name).sum())
            if n <= cap:
                continue
            rec = ties[(ties["round_id"] == round_id) & (ties["ranking_group"] == group) & (ties["list"] == name)]
            assert len(rec) == 1 and rec["policy"].iloc[0] == "all_in"
            assert n - cap < len(rec["units"].iloc[0])
    status = outcome.status
    assert (status.loc[status["n_listed"] == 0, "reason"] != "listed").all()


# --------------------------------------------------------------------------- whole pipeline


@st.composite
def datasets(draw):
    """Up to 9 units in two groups, up to 3 rounds, two sources, deductions and surveys."""
    n_units = draw(st.integers(1, 9))
    unit_ids = [f"U{i}" for i in range(n_units)]
    units = pd.DataFrame({"unit_id": unit_ids, "name": [f"单位{i}" for i in range(n_units)],
                          "kind": "territorial", "group": [draw(st.sampled_from("AB")) for _ in unit_ids],
                          "size": np.nan})
    indicators = pd.DataFrame({"indicator_id": ["I1", "I2"], "name": ["甲", "乙"], "category": ["c1", "c2"],
                               "max_points": [10.0, 20.0], "topic": np.nan})
    n_rounds = draw(st.integers(1, 3))
    kinds = [draw(st.sampled_from(["comprehensive", "special"])) for _ in range(n_rounds)]
    rounds = pd.DataFrame({
        "round_id": [f"R{j}" for j in range(n_rounds)], "kind": kinds,
        "topic": [draw(st.sampled_from(["网申", "挂包"])) if k == "special" else np.nan for k in kinds],
        "date": pd.to_datetime([f"2026-0{j + 1}-15" for j in range(n_rounds)]),
    })
    points = st.sampled_from([0.0, 5.0, 6.5, 7.0, 9.0, 9.5, 10.0])
    rows, deductions, surveys = [], [], []
    for r in rounds["round_id"]:
        for u in unit_ids:
            if not draw(st.booleans()) and draw(st.booleans()):
                continue  # a unit sometimes not evaluated in a round
            rows.append((r, u, "I1", "R1", "field", draw(points)))
            rows.append((r, u, "I1", "R2", "field", draw(points)))
            if draw(st.booleans()):
                rows.append((r, u, "I2", "R3", "daily", 2 * draw(points)))
            if draw(st.integers(0, 4)) == 0:
                deductions.append((r, u, "D1", draw(st.sampled_from([0.5, 2.0])),
                                   draw(st.sampled_from(["primary", "joint"])), True, np.nan))
            if draw(st.integers(0, 3)) == 0:
                surveys.append((r, u, 100.0, float(draw(st.integers(60, 100)))))
    if not rows:
        rows.append(("R0", unit_ids[0], "I1", "R1", "field", draw(points)))
    scores = pd.DataFrame(rows, columns=["round_id", "unit_id", "indicator_id", "rater_id", "source", "points"])
    ded = pd.DataFrame(deductions, columns=["round_id", "unit_id", "code", "points", "role", "verified", "note"])
    ded = ded.astype({"points": "float64", "verified": bool, "note": object})
    sv = pd.DataFrame(surveys, columns=["round_id", "unit_id", "respondents", "satisfied"])
    sv = sv.astype({"respondents": "float64", "satisfied": "float64"})
    params = Params(
        dataset=".", round="R0",
        lists={"comprehensive_size": draw(st.integers(1, 4)),
               "tie_policy": draw(st.sampled_from(["all_in", "none_in"]))},
        veto={"action": draw(st.sampled_from(["no_red", "exclude"]))},
        history={"weight": draw(st.sampled_from([0.0, 0.3])), "rounds": 1},
    )
    return {"units": units, "indicators": indicators, "rounds": rounds, "scores": scores,
            "deductions": ded, "surveys": sv}, params


COMPARED = ["round_id", "unit_id", "score", "rank", "rank_bottom", "list", "vetoed", "red_status",
            "black_status", "points", "points_ytd", "escalated", "escalation_chain"]


def _results(tables, params):
    res = evaluate_rounds(**tables, params=params).results
    return res[COMPARED].sort_values(["round_id", "unit_id"], ignore_index=True)


@SLOW
@given(datasets(), st.randoms(use_true_random=False))
def test_shuffling_input_rows_changes_nothing(case, rnd):
    tables, params = case
    shuffled = {}
    for name, frame in tables.items():
        order = list(range(len(frame)))
        rnd.shuffle(order)
        shuffled[name] = frame.iloc[order].reset_index(drop=True)
    pd.testing.assert_frame_equal(_results(tables, params), _results(shuffled, params))


@SLOW
@given(datasets(), st.randoms(use_true_random=False))
def test_renaming_units_changes_nothing_but_the_names(case, rnd):
    """A bijective renaming of unit ids (which also reverses their sort order)."""
    tables, params = case
    ids = list(tables["units"]["unit_id"])
    new = [f"Z{i:02d}" for i in range(len(ids))]
    rnd.shuffle(new)
    rename = dict(zip(ids, new))
    renamed = {k: (v.assign(unit_id=v["unit_id"].map(rename), name=v["name"] + "′") if k == "units"
                   else v.assign(unit_id=v["unit_id"].map(rename)) if "unit_id" in v.columns else v)
               for k, v in tables.items()}
    back = {v: k for k, v in rename.items()}
    expected = _results(tables, params)
    got = _results(renamed, params).assign(unit_id=lambda f: f["unit_id"].map(back))
    got = got.sort_values(["round_id", "unit_id"], ignore_index=True)
    pd.testing.assert_frame_equal(expected, got)


@SLOW
@given(datasets(), st.data())
def test_raising_a_units_points_never_lowers_its_rank(case, data):
    tables, params = case
    scores = tables["scores"]
    row = data.draw(st.integers(0, len(scores) - 1))
    raised = scores.copy()
    raised.loc[row, "points"] = scores.loc[row, "points"] + data.draw(st.sampled_from([0.5, 3.0]))
    unit, round_id = scores.loc[row, "unit_id"], scores.loc[row, "round_id"]

    def rank(s):
        res = evaluate_rounds(**{**tables, "scores": s}, params=params).results
        return res.set_index(["round_id", "unit_id"]).loc[(round_id, unit)]

    before, after = rank(scores), rank(raised)
    assert after["score"] >= before["score"]
    if pd.notna(before["rank"]):
        assert after["rank"] <= before["rank"]
        assert after["rank_bottom"] >= before["rank_bottom"]
