"""The scoring steps of DESIGN.md "Default scoring model", with hand-computed numbers."""

import numpy as np
import pandas as pd
import pytest

from honorcalc.errors import InputError
from honorcalc.params import Params
from honorcalc.rules.scoring import (
    SOURCE_SCORE_COLUMNS,
    category_scores,
    check_columns,
    composite_scores,
    deduction_points,
    indicator_points,
    order_rounds,
    satisfaction,
    source_scores,
)

INDICATORS = pd.DataFrame({
    "indicator_id": ["I1", "I2", "I3"],
    "name": ["道路保洁", "公益广告", "未成年人活动"],
    "category": ["环境", "宣传", "未成年人"],
    "max_points": [10.0, 20.0, 10.0],
    "topic": [np.nan, np.nan, np.nan],
    "owner": ["extra column", "ignored", "here"],
})

ROUNDS = pd.DataFrame({
    "round_id": ["C2", "S1", "C1", "C3", "S2"],
    "kind": ["comprehensive", "special", "comprehensive", "comprehensive", "special"],
    "topic": [np.nan, "网申", np.nan, np.nan, "挂包"],
    "date": pd.to_datetime(["2026-06-30", "2026-04-10", "2026-03-31", "2026-09-30", "2026-04-10"]),
})


def score_rows(rows):
    return pd.DataFrame(rows, columns=["round_id", "unit_id", "indicator_id", "rater_id", "source", "points"])


def deduction_rows(rows):
    d = pd.DataFrame(rows, columns=["round_id", "unit_id", "code", "points", "role", "verified", "note"])
    return d.astype({"points": "float64", "verified": bool})


def P(**sections) -> Params:
    return Params(dataset=".", round="C1", **sections)


EQUAL = {"weights": {"field": 0.5, "daily": 0.3, "feedback": 0.0, "leader": 0.0, "public": 0.2}}

#: U1 in C1: I1 field by two raters (8, 9), I2 field (15), I1 daily (9), I3 field (7);
#: U2 in C1: I1 field (5), I1 public (6).
SCORES = score_rows([
    ("C1", "U1", "I1", "R1", "field", 8.0),
    ("C1", "U1", "I1", "R2", "field", 9.0),
    ("C1", "U1", "I2", "R1", "field", 15.0),
    ("C1", "U1", "I3", "R1", "field", 7.0),
    ("C1", "U1", "I1", "R3", "daily", 9.0),
    ("C1", "U2", "I1", "R1", "field", 5.0),
    ("C1", "U2", "I1", "R4", "public", 6.0),
])


def test_indicator_points_are_the_mean_over_raters():
    """Step 1: U1's I1 field points = mean(8, 9) = 8.5 from two raters."""
    ip = indicator_points(SCORES, INDICATORS).set_index(["unit_id", "indicator_id", "source"])
    assert ip.at[("U1", "I1", "field"), "points"] == 8.5
    assert ip.at[("U1", "I1", "field"), "n_raters"] == 2
    assert ip.at[("U1", "I1", "daily"), "points"] == 9.0
    assert ip.at[("U1", "I2", "field"), "max_points"] == 20.0
    assert len(ip) == 6


def test_source_score_is_points_over_max_points():
    """Step 2: U1 field = (8.5 + 15 + 7) / (10 + 20 + 10) × 100 = 76.25; daily = 9/10 = 90."""
    src = source_scores(indicator_points(SCORES, INDICATORS)).set_index(["unit_id", "source"])
    assert src.at[("U1", "field"), "score"] == pytest.approx(76.25)
    assert src.at[("U1", "field"), "n_indicators"] == 3
    assert src.at[("U1", "daily"), "score"] == pytest.approx(90.0)
    assert src.at[("U2", "public"), "score"] == pytest.approx(60.0)


def test_category_scores():
    """RULES.md §1.5.2: U1 环境 = (8.5 + 9) / (10 + 10) = 87.5 (I1 under field and daily),
    宣传 = 15/20 = 75, 未成年人 = 7/10 = 70."""
    cat = category_scores(indicator_points(SCORES, INDICATORS)).set_index(["unit_id", "category"])
    assert cat.at[("U1", "环境"), "score"] == pytest.approx(87.5)
    assert cat.at[("U1", "宣传"), "score"] == pytest.approx(75.0)
    assert cat.at[("U1", "未成年人"), "score"] == pytest.approx(70.0)


def test_composite_renormalises_over_present_sources():
    """Step 3: U1 has field 76.25 and daily 90 (public missing):
    (0.5 × 76.25 + 0.3 × 90) / 0.8 = 81.40625. U2 has field 50 and public 60:
    (0.5 × 50 + 0.2 × 60) / 0.7 = 52.857142…"""
    src = source_scores(indicator_points(SCORES, INDICATORS))
    c = composite_scores(src, ROUNDS, deduction_rows([]), P(**EQUAL)).set_index("unit_id")
    assert c.at["U1", "composite"] == pytest.approx(81.40625)
    assert c.at["U1", "sources_missing"] == ("public",)
    assert c.at["U1", "sources_present"] == ("field", "daily")
    assert c.at["U1", "weight_sum"] == pytest.approx(0.8)
    assert c.at["U2", "composite"] == pytest.approx(37 / 0.7)
    assert c.at["U2", "sources_missing"] == ("daily",)
    assert np.isnan(c.at["U1", "score_public"]) and c.at["U1", "score_field"] == pytest.approx(76.25)
    assert [col for col in c.columns if col.startswith("score_")] == list(SOURCE_SCORE_COLUMNS)


def test_zero_weight_sources_are_not_missing_and_give_no_composite():
    """A unit scored only under a zero-weight source has no weighted evidence: NaN."""
    src = source_scores(indicator_points(score_rows([("C1", "U3", "I1", "R1", "leader", 5.0)]), INDICATORS))
    c = composite_scores(src, ROUNDS, deduction_rows([]), P(**EQUAL)).iloc[0]
    assert np.isnan(c["composite"]) and np.isnan(c["score"])
    assert c["sources_missing"] == ("field", "daily", "public")


def test_deductions_primary_joint_and_unverified():
    """§1.5.3: primary in full, joint at joint_share (0.5), unverified ignored.

    U1: 2 (primary) + 4 × 0.5 (joint) = 4; the unverified 10 does not count.
    """
    ded = deduction_rows([
        ("C1", "U1", "A1", 2, "primary", True, "路面破损"),
        ("C1", "U1", "B2", 4, "joint", True, "占道经营"),
        ("C1", "U1", "C3", 10, "primary", False, np.nan),
    ])
    d = deduction_points(ded, P())
    assert d["deducted"].tolist() == [2.0, 2.0, 0.0]
    assert d["share"].tolist() == [1.0, 0.5, 1.0]
    assert d["counted"].tolist() == [True, True, False]
    src = source_scores(indicator_points(SCORES, INDICATORS))
    c = composite_scores(src, ROUNDS, ded, P(**EQUAL)).set_index("unit_id")
    assert c.at["U1", "deduction"] == 4.0
    assert c.at["U1", "composite"] == pytest.approx(81.40625 - 4)
    assert c.at["U2", "deduction"] == 0.0


def test_deductions_clamp_the_composite_at_zero():
    """百分制: 50 − 60 = −10 is clamped to 0; the raw value is kept for the explanation."""
    src = source_scores(indicator_points(score_rows([("C1", "U2", "I1", "R1", "field", 5.0)]), INDICATORS))
    ded = deduction_rows([("C1", "U2", "X", 60, "primary", True, np.nan)])
    c = composite_scores(src, ROUNDS, ded, P()).iloc[0]
    assert (c["composite_raw"], c["composite"]) == (-10.0, 0.0)


def test_negative_list_fixes_points_and_records_unknown_codes():
    """负面清单: listed codes carry fixed points (N1 → 5, whatever the data says); an
    unknown code keeps the data's points and is recorded."""
    ded = deduction_rows([
        ("C1", "U1", "N1", 1, "primary", True, np.nan),
        ("C1", "U1", "N1", 1, "joint", True, "x"),
        ("C1", "U1", "Z9", 3, "primary", True, np.nan),
    ])
    p = P(negative_list={"enabled": True, "codes": {"N1": 5.0}})
    d = deduction_points(ded, p)
    assert d["negative_list"].tolist() == ["listed", "listed", "unknown_code"]
    assert d["deducted"].tolist() == [5.0, 2.5, 3.0]
    assert deduction_points(ded, P())["negative_list"].tolist() == ["off"] * 3


def test_deduction_problem_key_groups_shared_problems():
    """Rows of one round with the same code and note are one problem shared by units."""
    ded = deduction_rows([
        ("C1", "U1", "A1", 2, "primary", True, "路口"),
        ("C1", "U2", "A1", 2, "joint", True, "路口"),
        ("C1", "U3", "A1", 2, "primary", True, "桥下"),
    ])
    key = deduction_points(ded, P())["problem"]
    assert key[0] == key[1] != key[2]


def test_deduction_role_must_be_known():
    with pytest.raises(InputError, match="'lead'"):
        deduction_points(deduction_rows([("C1", "U1", "A1", 2, "lead", True, np.nan)]), P())


def test_satisfaction_sums_over_survey_rows():
    """§1.5.5: (80 + 30) / (100 + 50) = 0.7333…"""
    sv = pd.DataFrame({"round_id": ["C1", "C1"], "unit_id": ["U1", "U1"],
                       "respondents": [100.0, 50.0], "satisfied": [80.0, 30.0]})
    s = satisfaction(sv).iloc[0]
    assert (s["respondents"], s["satisfied"]) == (150.0, 110.0)
    assert s["satisfaction"] == pytest.approx(110 / 150)


def test_order_rounds_names_the_work_and_its_sequence():
    """§1.1/§1.4: rounds in date order; S1 and S2 share a date and are ordered by id;
    each work (comprehensive, special:网申, special:挂包) counts its own rounds."""
    ro = order_rounds(ROUNDS)
    assert ro["round_id"].tolist() == ["C1", "S1", "S2", "C2", "C3"]
    assert ro.set_index("round_id")["work"].to_dict() == {
        "C1": "comprehensive", "S1": "special:网申", "S2": "special:挂包",
        "C2": "comprehensive", "C3": "comprehensive"}
    assert ro.set_index("round_id")["seq"].to_dict() == {"C1": 0, "S1": 0, "S2": 0, "C2": 1, "C3": 2}


def test_special_round_without_topic_is_an_input_error():
    bad = ROUNDS.assign(topic=np.nan)
    with pytest.raises(InputError, match="special round 'S1' has no topic"):
        order_rounds(bad)


def _history_scores():
    # U1: C1 80, C2 90, C3 70; S1 (other work) 10. U2 missing from C2.
    return score_rows([
        ("C1", "U1", "I1", "R1", "field", 8.0), ("C2", "U1", "I1", "R1", "field", 9.0),
        ("S1", "U1", "I1", "R1", "field", 1.0), ("C3", "U1", "I1", "R1", "field", 7.0),
        ("C1", "U2", "I1", "R1", "field", 6.0), ("C3", "U2", "I1", "R1", "field", 9.0),
    ])


def test_history_blend_uses_trailing_rounds_of_the_same_work():
    """§1.5.4: weight 0.5 over 2 rounds. U1 at C3: 0.5 × 70 + 0.5 × (80 + 90)/2 = 77.5;
    the special round in between is other work. U2 was not scored in C2, so its
    one available trailing composite (60) is used: 0.5 × 90 + 0.5 × 60 = 75."""
    src = source_scores(indicator_points(_history_scores(), INDICATORS))
    p = P(history={"weight": 0.5, "rounds": 2})
    c = composite_scores(src, ROUNDS, deduction_rows([]), p).set_index(["round_id", "unit_id"])
    assert c.at[("C3", "U1"), "score"] == pytest.approx(77.5)
    assert c.at[("C3", "U1"), "history_rounds"] == ("C1", "C2")
    assert c.at[("C3", "U2"), "score"] == pytest.approx(75.0)
    assert c.at[("C3", "U2"), "history_n"] == 1
    assert c.at[("C1", "U1"), "score"] == 80.0 and not c.at[("C1", "U1"), "blended"]
    assert c.at[("C2", "U1"), "score"] == pytest.approx(85.0)


def test_history_is_reported_without_blending():
    """"always show history": weight 0 keeps the composite but reports the trailing mean."""
    src = source_scores(indicator_points(_history_scores(), INDICATORS))
    c = composite_scores(src, ROUNDS, deduction_rows([]), P(history={"weight": 0.0, "rounds": 1}))
    row = c.set_index(["round_id", "unit_id"]).loc[("C3", "U1")]
    assert (row["score"], row["history_mean"], row["history_rounds"]) == (70.0, 90.0, ("C2",))


def test_scoring_ignores_row_order_and_leaves_inputs_alone():
    before = SCORES.copy()
    shuffled = SCORES.sample(frac=1.0, random_state=3)
    a = source_scores(indicator_points(SCORES, INDICATORS))
    b = source_scores(indicator_points(shuffled, INDICATORS))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(SCORES, before)


def test_missing_columns_and_unknown_indicators_are_input_errors():
    with pytest.raises(InputError, match="points"):
        check_columns(SCORES.drop(columns="points"), "scores")
    with pytest.raises(InputError, match="'I9'"):
        indicator_points(SCORES.assign(indicator_id="I9"), INDICATORS)
    src = source_scores(indicator_points(SCORES, INDICATORS)).assign(source="rumour")
    with pytest.raises(InputError, match="'rumour'"):
        composite_scores(src, ROUNDS, deduction_rows([]), P())
