"""Co-responsibility, RULES.md §1.5.3: 责任细化与共同担责相结合.

"responsibility is attributed to the territorial unit (属地责任), the industry unit (行业责任) and
the paired-assistance unit (挂包责任); a problem can count against several units: the primary one
in full, joint ones (连带责任) at a configurable fraction."

The hand-worked city (built from the tiny dataset of conftest, with units of its own): every unit
has one field score per indicator I01 (60 points) and I02 (40 points), so its weighted score is
their sum; the responsibility table says

    幸福里社区 C1 → 城北街道 S1   territorial  0.5
    幸福里社区 C1 → 市城管局 D1   industry     (blank: deductions.joint_share, 0.5 by default)
    幸福里社区 C1 → 市财政局 D2   paired       0.2
    阳光社区   C2 → 城北街道 S1   territorial  0.5
    阳光社区   C2 → 市水务局 D3   industry     0.5   (D3 is not scored in the round)
    城北街道   S1 → 东城区 001    territorial  0.5
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honorcalc.data.read import load_dataset
from honorcalc.explain.unit import explain_unit, explain_unit_dict
from honorcalc.params import Params
from honorcalc.report import workbook
from honorcalc.rules import (
    deduction_points,
    evaluate_round,
    evaluate_rounds,
    evaluate_year,
)

from .conftest import run_cli, tiny_tables, write_tables

# unit_id, name, kind, group, points on I01 (of 60), points on I02 (of 40): weighted score = their sum
CITY = (
    ("001", "东城区", "territorial", "县区", 55, 38),
    ("S1", "城北街道", "territorial", "街道", 57, 38),
    ("C1", "幸福里社区", "territorial", "社区", 54, 36),
    ("C2", "阳光社区", "territorial", "社区", 48, 32),
    ("D1", "市城管局", "industry", "市直部门", 51, 34),
    ("D2", "市财政局", "industry", "市直部门", 45, 30),
    ("D3", "市水务局", "industry", "市直部门", None, None),
)
RESPONSIBILITY = (
    ("C1", "S1", "territorial", "0.5"),
    ("C1", "D1", "industry", ""),
    ("C1", "D2", "paired", "0.2"),
    ("C2", "S1", "territorial", "0.5"),
    ("C2", "D3", "industry", "0.5"),
    ("S1", "001", "territorial", "0.5"),
)
DEDUCTION_COLUMNS = ["round_id", "unit_id", "code", "points", "role", "verified", "note", "problem_id"]
# problem A: recorded once, against C1; problem P7: recorded against C2 and, jointly, against S1
# (the notes differ: the problem id links them)
DEDUCTIONS = (
    ("C2026Q1", "C1", "N03", "2", "primary", "true", "垃圾暴露", ""),
    ("C2026Q1", "C2", "N01", "1", "primary", "true", "占道经营", "P7"),
    ("C2026Q1", "S1", "N01", "1", "joint", "true", "占道经营（连带：阳光社区）", "P7"),
)


def city_tables(deductions=DEDUCTIONS, responsibility=RESPONSIBILITY) -> dict[str, pd.DataFrame]:
    """The tiny dataset's indicators and rounds, with the hand-worked city's units and scores."""
    tables = tiny_tables()
    tables["units"] = pd.DataFrame([u[:4] for u in CITY], columns=["unit_id", "name", "kind", "group"])
    rows = [("C2026Q1", u[0], indicator, "R01", "field", str(points), "open")
            for u in CITY if u[4] is not None for indicator, points in (("I01", u[4]), ("I02", u[5]))]
    rows += [("S2026-01a", u[0], "T01", "R01", "field", "80", "") for u in CITY if u[4] is not None]
    tables["scores"] = pd.DataFrame(rows, columns=list(tables["scores"].columns))
    tables["deductions"] = pd.DataFrame(list(deductions), columns=DEDUCTION_COLUMNS)
    tables["responsibility"] = pd.DataFrame(list(responsibility),
                                            columns=["unit_id", "responsible_id", "relation", "share"])
    del tables["surveys"]
    return tables


def evaluate(tmp_path: Path, params: dict | None = None, **tables):
    directory = write_tables(tmp_path / "city", city_tables(**tables))
    dataset = load_dataset(directory)
    return evaluate_round(dataset, Params(dataset=str(directory), round="C2026Q1", **(params or {})))


@pytest.fixture
def result(tmp_path):
    return evaluate(tmp_path)


def scores(result) -> dict[str, float]:
    return result.units.set_index("unit_id")["score"].round(6).to_dict()


def charges(result) -> pd.DataFrame:
    d = result.deductions
    return d.assign(key=d["unit_id"] + ":" + d["code"]).set_index("key")


# --------------------------------------------------------------------------- hand-worked cases


def test_a_communitys_problem_counts_against_its_street_department_and_paired_unit(result):
    """"a problem can count against several units: the primary one in full, joint ones (连带责任) at
    a configurable fraction". 幸福里社区's 2-point problem, recorded once: C1 90 − 2 = 88; its street
    (属地, share 0.5) 95 − 1 − 0.5 (its own joint row of P7) = 93.5; the department in charge (行业,
    blank share: joint_share 0.5) 85 − 1 = 84; its paired department (挂包, 0.2) 75 − 0.4 = 74.6."""
    assert scores(result) == {"001": 93.0, "S1": 93.5, "C1": 88.0, "C2": 79.0, "D1": 84.0, "D2": 74.6}
    d = charges(result)
    derived = d[d["origin"] == "derived"]
    assert derived.loc["S1:N03", ["role", "source_unit", "relation", "share", "deducted"]].tolist() == \
        ["joint", "C1", "territorial", 0.5, 1.0]
    assert derived.loc["D1:N03", ["relation", "share", "deducted"]].tolist() == ["industry", 0.5, 1.0]
    assert derived.loc["D2:N03", ["relation", "share"]].tolist() == ["paired", 0.2]
    assert derived.loc["D2:N03", "deducted"] == pytest.approx(0.4)
    assert (d.loc["C1:N03", "origin"], d.loc["C1:N03", "share"]) == ("recorded", 1.0)


def test_the_department_is_charged_at_the_parameters_joint_share_when_its_share_is_blank(tmp_path):
    """A blank share reads deductions.joint_share; a given share (the street's 0.5) does not move:
    joint_share 0.25 → D1 85 − 2 × 0.25 = 84.5; S1 95 − 1 − 1 × 0.25 (its recorded joint row) = 93.75."""
    s = scores(evaluate(tmp_path, {"deductions": {"joint_share": 0.25}}))
    assert (s["D1"], s["S1"], s["D2"]) == (84.5, 93.75, 74.6)


def test_an_explicit_row_of_the_problem_is_not_charged_twice(result):
    """阳光社区's problem P7 names 城北街道 both in the responsibility table and in a recorded joint row:
    the recorded row counts (0.5 of 1 point), and no second, derived charge is added."""
    d = result.deductions
    p7 = d[d["problem"] == "P7"]
    assert sorted(p7["unit_id"]) == ["C2", "D3", "S1"]
    street = p7[p7["unit_id"] == "S1"].iloc[0]
    assert (street["origin"], street["relation"], street["source_unit"], street["deducted"]) == \
        ("recorded", "territorial", "C2", 0.5)
    assert not d.duplicated(["round_id", "problem", "unit_id"]).any()


def test_problem_id_links_rows_whose_notes_differ(tmp_path):
    """Without the 问题编号 the two rows of P7 ("占道经营" and "占道经营（连带：阳光社区）") are two
    problems, and the street pays twice: 0.5 for its recorded row and 0.5 derived from 阳光社区's."""
    unlinked = tuple(row[:-1] + ("",) for row in DEDUCTIONS)
    s = scores(evaluate(tmp_path, deductions=unlinked))
    assert s["S1"] == 95 - 1 - 0.5 - 0.5
    assert s["C2"] == 79.0


def test_a_responsible_unit_not_scored_in_the_round_gets_the_not_applied_note(result):
    """市水务局 (D3) answers for 阳光社区 but has no scores this round: nothing to deduct from."""
    d = charges(result)
    assert (d.loc["D3:N01", "origin"], bool(d.loc["D3:N01", "evaluated"])) == ("derived", False)
    assert "deduction N01 of unit D3 not applied: the unit has no scores this round" in result.notes
    assert "D3" not in set(result.units["unit_id"])


def test_relations_are_followed_one_level(result):
    """城北街道 answers for 幸福里社区, 东城区 for 城北街道: 幸福里社区's problem stops at the street
    (a district charge would be 0.5 × 0.5, a share nobody set). 东城区 93 keeps its score."""
    d = result.deductions
    assert "001" not in set(d["unit_id"])
    assert scores(result)["001"] == 93.0


def test_a_streets_own_problem_does_reach_its_district(tmp_path):
    """One level from the street: its own 1-point primary problem costs 东城区 0.5 (93 − 0.5)."""
    own = DEDUCTIONS + (("C2026Q1", "S1", "N02", "1", "primary", "true", "乱贴乱画", ""),)
    s = scores(evaluate(tmp_path, deductions=own))
    assert (s["001"], s["S1"]) == (92.5, 92.5)


def test_separate_violations_without_a_problem_id_charge_the_street_for_each(tmp_path):
    """Two communities, each with "N03 垃圾暴露" and no 问题编号: two violations, so 城北街道 pays
    0.5 × 2 twice, 95 − 2 = 93 (plus P7 as before: 92.5)."""
    two = DEDUCTIONS + (("C2026Q1", "C2", "N03", "2", "primary", "true", "垃圾暴露", ""),)
    assert scores(evaluate(tmp_path, deductions=two))["S1"] == 92.5


def test_one_problem_of_two_communities_charges_their_street_once(tmp_path):
    """Problem P9, recorded against both communities: the street answers for each, but one problem
    is charged once, by its heaviest row (C1's 2 points × 0.5 = 1): S1 95 − 1 − 0.5 (P7) = 93.5."""
    one = (("C2026Q1", "C1", "N03", "2", "primary", "true", "垃圾暴露", "P9"),
           ("C2026Q1", "C2", "N03", "1", "primary", "true", "垃圾暴露（阳光社区段）", "P9"),
           *DEDUCTIONS[1:])
    result = evaluate(tmp_path, deductions=one)
    d = result.deductions
    street = d[(d["unit_id"] == "S1") & (d["problem"] == "P9")]
    assert len(street) == 1 and street.iloc[0]["source_unit"] == "C1"
    assert scores(result)["S1"] == 93.5


def test_an_unverified_problem_charges_nobody(tmp_path):
    """Only verified deductions count (DESIGN.md): the derived rows inherit the primary row's state."""
    unverified = (("C2026Q1", "C1", "N03", "2", "primary", "false", "垃圾暴露", ""), *DEDUCTIONS[1:])
    result = evaluate(tmp_path, deductions=unverified)
    d = result.deductions
    assert not d.loc[d["origin"] == "derived", "counted"].loc[d["source_unit"] == "C1"].any()
    assert (scores(result)["D1"], scores(result)["D2"]) == (85.0, 75.0)


def test_the_switch_counts_only_the_recorded_rows(tmp_path):
    """deductions.responsibility: false — C1's problem stays with C1; the recorded joint row counts."""
    result = evaluate(tmp_path, {"deductions": {"responsibility": False}})
    assert set(result.deductions["origin"]) == {"recorded"}
    assert scores(result) == {"001": 93.0, "S1": 94.5, "C1": 88.0, "C2": 79.0, "D1": 85.0, "D2": 75.0}


def test_every_evaluation_uses_the_table(tmp_path):
    """The round, the year, and evaluate_rounds given the table all charge the street alike."""
    directory = write_tables(tmp_path / "city", city_tables())
    dataset = load_dataset(directory)
    params = Params(dataset=str(directory), round="C2026Q1")
    year = evaluate_year(dataset, params)
    comp = year.results[year.results["round_id"] == "C2026Q1"].set_index("unit_id")["score"]
    assert comp["S1"] == 93.5
    frames = {t: getattr(dataset, t) for t in ("units", "indicators", "rounds", "scores", "deductions", "surveys")}
    ev = evaluate_rounds(**frames, params=params, responsibility=dataset.responsibility)
    assert ev.results.set_index(["round_id", "unit_id"]).at[("C2026Q1", "S1"), "score"] == 93.5
    assert evaluate_rounds(**frames, params=params).results.set_index(
        ["round_id", "unit_id"]).at[("C2026Q1", "S1"), "score"] == 94.5


def test_explanation_says_who_shares_the_problem_and_why(result):
    community = explain_unit(result, "C1")
    assert "共同担责: D1 市城管局 (行业责任, 50%), D2 市财政局 (挂包责任, 20%), S1 城北街道 (属地责任, 50%)" \
        in community
    street = explain_unit(result, "S1")
    assert "N03 (连带责任) 扣 1 分, 按 0.5 计; 说明: 垃圾暴露; 属地责任: C1 幸福里社区 的问题 (按责任关系连带)" in street
    assert "N01 (连带责任) 扣 0.5 分, 按 0.5 计; 说明: 占道经营（连带：阳光社区）; 属地责任: C2 阳光社区 的问题\n" in street
    english = explain_unit(result, "S1", lang="en")
    assert "territorial responsibility for a problem of C1 幸福里社区 (charged by the responsibility table)" in english
    d = explain_unit_dict(result, "D2")["deductions"][0]
    assert (d["origin"], d["relation"], d["source_unit"]) == ("derived", "paired", {"unit_id": "C1", "name": "幸福里社区"})
    assert {o["unit_id"]: (o["relation"], o["share"]) for o in d["shared_with"]} == {
        "C1": (None, 1.0), "D1": ("industry", 0.5), "S1": ("territorial", 0.5)}


def test_report_reasons_and_workbook_name_the_relation(result, tmp_path):
    from types import SimpleNamespace

    from honorcalc.report.i18n import labels
    from honorcalc.report.round_report import unit_reasons

    view = SimpleNamespace(result=result, labels=labels("zh"))  # the two things the reasons read
    reasons = unit_reasons(view, ["C1", "S1"])
    assert "与城北街道（属地责任，50%）、市城管局（行业责任，50%）、市财政局（挂包责任，20%）共担" in reasons["C1"]
    assert "N03 垃圾暴露（连带、属地责任、源自幸福里社区） −1分" in reasons["S1"]
    sheet = workbook._deduction_sheet(result, "t").frame.set_index(["单位名称", "扣分代码"])
    assert sheet.loc[("市财政局", "N03"), ["来源", "问题所属单位", "责任关系", "计入比例"]].tolist() == \
        ["按责任关系推定", "幸福里社区", "挂包责任", 0.2]
    assert sheet.loc[("幸福里社区", "N03"), "来源"] == "登记"


# --------------------------------------------------------------------------- property


UNITS = ("U1", "U2", "U3", "U4", "U5")


@st.composite
def problems(draw):
    """Recorded rows (at most one per unit and problem) and a responsibility table over five units."""
    rows, used = [], set()
    for _ in range(draw(st.integers(0, 12))):
        key = (draw(st.sampled_from(("R1", "R2"))), draw(st.sampled_from(("P1", "P2", "P3"))))
        unit = draw(st.sampled_from(UNITS))
        if key + (unit,) in used:
            continue
        used.add(key + (unit,))
        rows.append((key[0], unit, "N01", float(draw(st.sampled_from((0.5, 1, 2, 3)))),
                     draw(st.sampled_from(("primary", "joint"))), draw(st.booleans()), "问题", key[1]))
    pairs = draw(st.lists(st.tuples(st.sampled_from(UNITS), st.sampled_from(UNITS)).filter(lambda p: p[0] != p[1]),
                          unique=True, max_size=8))
    shares = [draw(st.one_of(st.none(), st.sampled_from((0.1, 0.2, 0.5, 1.0)))) for _ in pairs]
    relations = [draw(st.sampled_from(("territorial", "industry", "paired"))) for _ in pairs]
    ded = pd.DataFrame(rows, columns=DEDUCTION_COLUMNS)
    resp = pd.DataFrame({"unit_id": [p[0] for p in pairs], "responsible_id": [p[1] for p in pairs],
                         "relation": relations, "share": pd.array(shares, dtype="Float64").astype("float64")})
    return ded, resp


def expected_total(ded: pd.DataFrame, resp: pd.DataFrame, joint_share: float) -> float:
    """Σ base × share, written from RULES.md §1.5.3 directly: recorded rows at 1 or joint_share,
    then per round, problem and named unit without a row of it, the heaviest share × points."""
    total = sum(r.points * (1.0 if r.role == "primary" else joint_share) for r in ded.itertuples() if r.verified)
    share = {(r.unit_id, r.responsible_id): (joint_share if pd.isna(r.share) else r.share) for r in resp.itertuples()}
    for (round_id, problem), rows in ded.groupby(["round_id", "problem_id"]):
        held = set(rows["unit_id"])
        best: dict[str, tuple] = {}
        for r in rows[rows["role"] == "primary"].itertuples():
            for (unit, responsible), s in share.items():
                if unit == r.unit_id and responsible not in held:
                    best[responsible] = max(best.get(responsible, (False, 0.0)), (r.verified, r.points * s))
        total += sum(value for counted, value in best.values() if counted)
    return total


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.sampled_from((0.0, 0.3, 0.5, 1.0)))
def test_total_deducted_is_base_times_share_and_no_unit_is_charged_twice(data, joint_share):
    ded, resp = data
    params = Params(dataset=".", round="R1", deductions={"joint_share": joint_share})
    detail = deduction_points(ded, params, resp)
    counted = detail["counted"].to_numpy()
    assert detail["deducted"].to_numpy() == pytest.approx(
        np.where(counted, detail["base_points"] * detail["share"], 0.0))
    assert detail["deducted"].sum() == pytest.approx(expected_total(ded, resp, joint_share))
    assert not detail.duplicated(["round_id", "problem", "unit_id"]).any()
    derived = detail[detail["origin"] == "derived"]
    named = set(zip(resp["unit_id"], resp["responsible_id"]))
    assert all((s, u) in named for s, u in zip(derived["source_unit"], derived["unit_id"]))
    assert (derived["role"] == "joint").all()
    assert detail[detail["origin"] == "recorded"].index.equals(ded.index)


# --------------------------------------------------------------------------- hostile tables


@pytest.mark.parametrize("row, words", [
    (("C1", "ZZ", "territorial", "0.5"), ("'ZZ'",)),
    (("C1", "S1", "属地", "1.5"), ("share", "1.5")),
    (("C1", "C1", "territorial", ""), ("responsible_id", "'C1'")),
], ids=["unknown-unit", "share-1.5", "self-reference"])
def test_run_refuses_a_bad_responsibility_table_with_one_clear_message(tmp_path, capsys, row, words):
    tables = city_tables(responsibility=(row,))
    write_tables(tmp_path / "city", tables)
    params = tmp_path / "p.yaml"
    params.write_text("dataset: city\nround: C2026Q1\ncity: 测试市\n", encoding="utf-8")
    code, out, err = run_cli(["run", params, "--out", tmp_path / "reports"], capsys)
    assert code == 2, err
    assert "Traceback" not in err and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "responsibility.csv" in lines[0] and ("2" in lines[0])
    for word in words:
        assert word in lines[0], lines[0]
    assert not (tmp_path / "reports").exists()


def test_evaluate_rounds_refuses_a_bad_table_given_directly(tmp_path):
    from honorcalc.errors import InputError

    dataset = load_dataset(write_tables(tmp_path / "city", city_tables()))
    frames = {t: getattr(dataset, t) for t in ("units", "indicators", "rounds", "scores", "deductions", "surveys")}
    params = Params(dataset=".", round="C2026Q1")
    bad = dataset.responsibility.assign(share=[0.5, 0.5, 2.0, 0.5, 0.5, 0.5])
    with pytest.raises(InputError, match=r"responsibility:4: column 'share': share must be > 0 and ≤ 1, got 2.0$"):
        evaluate_rounds(**frames, params=params, responsibility=bad)
    with pytest.raises(InputError, match="unknown unit 'ZZ'"):
        evaluate_rounds(**frames, params=params,
                        responsibility=dataset.responsibility.assign(responsible_id="ZZ"))
