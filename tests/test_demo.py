"""The demo city: contract shape, determinism, realism, and the planted story."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from honorcalc.data.contract import CONTRACT, TABLES
from honorcalc.data.read import load_dataset
from honorcalc.datasets.demo import PLANTED, make_demo_city, write_demo

TOPICS = ("同类点位建设", "网申工作", "挂包工作", "问卷调查")  # RULES.md §1.1
ID_COLUMNS = {"unit_id", "indicator_id", "round_id", "rater_id", "code", "responsible_id"}


@pytest.fixture(scope="module")
def city() -> dict[str, pd.DataFrame]:
    return make_demo_city()


@pytest.fixture(scope="module")
def composite(city) -> pd.DataFrame:
    return _composite(city)


def _composite(city) -> pd.DataFrame:
    """Scores by the default model of DESIGN.md, with equal source weights.

    Rater means per indicator and source; each source Σ points / Σ max_points ×
    100; the mean over sources; minus verified deductions (joint ones at half),
    and minus the joint charges RULES.md §1.5.3 puts on the units the
    responsibility table names for a primary row's unit (at the relation's share,
    blank at half), unless that unit has a row of the problem already. Written out
    here rather than taken from `honorcalc.rules`, so that the demo's promises
    are checked against the model as DESIGN.md and RULES.md state it.
    """
    scores, indicators = city["scores"], city["indicators"]
    mean = scores.groupby(["round_id", "unit_id", "indicator_id", "source"])["points"].mean()
    mean = mean.reset_index()
    mean["max_points"] = mean["indicator_id"].map(indicators.set_index("indicator_id")["max_points"])
    by_source = mean.groupby(["round_id", "unit_id", "source"])[["points", "max_points"]].sum()
    score = (by_source["points"] / by_source["max_points"] * 100).groupby(["round_id", "unit_id"]).mean()
    recorded = city["deductions"][city["deductions"]["verified"]]
    charged = _responsible_charges(city)
    ded = pd.concat([
        recorded.assign(charge=recorded["points"] * np.where(recorded["role"] == "joint", 0.5, 1.0)),
        charged.assign(charge=charged["points"] * charged["share"]),
    ]).groupby(["round_id", "unit_id"])["charge"].sum()
    score = (score - ded.reindex(score.index, fill_value=0.0)).clip(0, 100)
    return score.rename("score").reset_index().merge(city["units"][["unit_id", "group"]])


def _responsible_charges(city) -> pd.DataFrame:
    """The verified joint charges of RULES.md §1.5.3 the responsibility table adds: round_id, unit_id,
    points, share, problem_id, source (the primary unit), relation."""
    ded, resp = city["deductions"], city["responsibility"]
    primary = ded[(ded["role"] == "primary") & ded["verified"]]
    charged = primary.merge(resp, on="unit_id").rename(columns={"unit_id": "source", "responsible_id": "unit_id"})
    charged["share"] = charged["share"].fillna(0.5)
    # a unit recorded for the problem already is not charged again (every demo joint row has a problem id)
    held = set(zip(ded["round_id"], ded["problem_id"], ded["unit_id"]))
    again = [isinstance(p, str) and (r, p, u) in held
             for r, p, u in zip(charged["round_id"], charged["problem_id"], charged["unit_id"])]
    return charged[~np.array(again, dtype=bool)]


def _field_frame(city) -> pd.DataFrame:
    scores = city["scores"]
    field = scores[scores["source"] == "field"].copy()
    max_points = field["indicator_id"].map(city["indicators"].set_index("indicator_id")["max_points"])
    field["share"] = field["points"] / max_points
    # points below the raters' mean for the same unit, indicator and round, per 10 points
    consensus = field.groupby(["round_id", "unit_id", "indicator_id"])["points"].transform("mean")
    field["below"] = (consensus - field["points"]) / max_points * 10
    return field


# --------------------------------------------------------------------------- shape


def test_same_seed_same_tables_other_seed_other_scores(city):
    again = make_demo_city()
    for name in TABLES:
        pd.testing.assert_frame_equal(city[name], again[name])
    other = make_demo_city(seed=7)
    pd.testing.assert_frame_equal(city["units"][["unit_id", "name"]], other["units"][["unit_id", "name"]])
    assert not city["scores"].equals(other["scores"])


def test_tables_and_columns_follow_the_contract(city):
    assert list(city) == list(TABLES)
    for name, frame in city.items():
        # every contract column, in its order; a round's name (轮次名称) is left to the report to build
        expected = [c.name for c in CONTRACT[name] if (name, c.name) != ("rounds", "name")]
        assert list(frame.columns) == expected, name


def test_ids_are_unique_strings(city):
    for name, frame in city.items():
        for column in ID_COLUMNS & set(frame.columns):
            assert frame[column].map(type).eq(str).all(), (name, column)
    assert city["units"]["unit_id"].str.fullmatch(r"U\d{3}").all()
    for name, key in (("units", "unit_id"), ("indicators", "indicator_id"), ("rounds", "round_id")):
        assert city[name][key].is_unique, name
    assert city["units"]["name"].is_unique
    assert not city["scores"].duplicated(["round_id", "unit_id", "indicator_id", "rater_id", "source"]).any()


def test_cell_types(city):
    assert city["rounds"]["date"].str.fullmatch(r"2026-\d{2}-\d{2}").all()
    assert city["deductions"]["verified"].dtype == bool
    assert city["scores"]["points"].dtype == float
    assert (city["units"]["size"] > 0).all()
    assert city["rounds"].loc[city["rounds"]["kind"] == "comprehensive", "topic"].isna().all()


def test_units_are_a_city(city):
    sizes = city["units"].groupby(["group", "kind"]).size().to_dict()
    assert sizes == {("市直部门", "industry"): 36, ("县区", "territorial"): 10,
                     ("街道", "territorial"): 30, ("社区", "territorial"): 74}
    names = city["units"].set_index("group")["name"]
    assert names["街道"].str.endswith("街道").all() and names["社区"].str.endswith("社区").all()


def test_indicator_points_add_up_to_100(city):
    indicators = city["indicators"]
    comprehensive = indicators[indicators["topic"].isna()]
    assert 18 <= len(comprehensive) <= 24
    assert comprehensive["max_points"].sum() == 100
    assert comprehensive["category"].nunique() >= 8
    per_topic = indicators.groupby("topic")["max_points"].agg(["size", "sum"])
    assert set(per_topic.index) == set(TOPICS)
    assert per_topic["size"].between(3, 5).all()
    assert (per_topic["sum"] == 100).all()


def test_rounds_calendar(city):
    rounds = city["rounds"]
    comp = rounds[rounds["kind"] == "comprehensive"]
    assert list(comp["round_id"]) == ["C2026Q1", "C2026Q2", "C2026Q3", "C2026Q4"]
    assert list(comp["date"]) == ["2026-03-31", "2026-06-30", "2026-09-30", "2026-12-31"]
    special = rounds[rounds["kind"] == "special"]
    assert len(special) == 24
    assert special["topic"].isin(TOPICS).all()
    assert (special["date"].str[5:7].value_counts() == 2).all()  # twice a month
    assert special["topic"].value_counts().eq(6).all()
    assert rounds["date"].is_monotonic_increasing


# --------------------------------------------------------------------------- scores


def test_score_rows(city):
    scores = city["scores"]
    assert 60_000 <= len(scores) <= 120_000
    for column, table in (("unit_id", "units"), ("indicator_id", "indicators"), ("round_id", "rounds")):
        assert scores[column].isin(city[table][column]).all(), column
    assert scores["rater_id"].str.fullmatch(r"R\d{2}|[DFLP]\d{2}").all()
    assert scores["rater_id"].str.startswith("R").eq(scores["source"] == "field").all()
    assert set(scores["source"]) == {"field", "daily", "feedback", "leader", "public"}
    n_pairs = scores.groupby(["round_id", "unit_id"]).ngroups
    assert n_pairs == len(city["units"]) * len(city["rounds"])  # everyone, every round


def test_points_within_max_in_half_points(city):
    max_points = city["indicators"].set_index("indicator_id")["max_points"]
    max_points = city["scores"]["indicator_id"].map(max_points)
    points = city["scores"]["points"]
    assert points.between(0, max_points).all()
    assert (points * 2 == np.round(points * 2)).all()


def test_special_rounds_score_only_their_topic(city):
    scores = city["scores"].merge(city["rounds"][["round_id", "kind", "topic"]])
    scores = scores.merge(city["indicators"][["indicator_id", "topic"]], on="indicator_id",
                          suffixes=("", "_indicator"))
    special = scores[scores["kind"] == "special"]
    assert (special["topic"] == special["topic_indicator"]).all()
    assert set(special["source"]) == {"field", "daily"}
    assert scores.loc[scores["kind"] == "comprehensive", "topic_indicator"].isna().all()
    # the whole topic is scored in every special round
    per_round = special.groupby("round_id")["indicator_id"].nunique()
    expected = special.groupby("round_id")["topic"].first().map(city["indicators"]["topic"].value_counts())
    assert per_round.equals(expected.rename("indicator_id"))


def test_every_comprehensive_indicator_has_a_source_and_raters(city):
    scores = city["scores"]
    comp = scores[scores["round_id"].str.startswith("C")]
    indicators = city["indicators"]
    assert set(comp["indicator_id"]) == set(indicators.loc[indicators["topic"].isna(), "indicator_id"])
    raters = comp.groupby(["round_id", "unit_id", "indicator_id", "source"])["rater_id"].size()
    raters = raters.groupby("source").agg(["min", "max"])
    assert tuple(raters.loc["field"]) == (2, 3)
    assert (raters.drop("field") == 1).all().all()
    field_indicators = comp.loc[comp["source"] == "field", "indicator_id"].nunique()
    assert field_indicators >= 0.7 * len(indicators[indicators["topic"].isna()])
    for source in ("feedback", "leader", "public"):
        assert 2 <= comp.loc[comp["source"] == source, "indicator_id"].nunique() <= 6, source


def test_visits(city):
    scores = city["scores"]
    field = scores["source"] == "field"
    assert scores.loc[~field, "visit"].isna().all()
    assert scores.loc[field, "visit"].isin(["open", "covert"]).all()
    assert 0.25 <= (scores.loc[field, "visit"] == "covert").mean() <= 0.42


# --------------------------------------------------------------------------- the planted story


def test_harsh_lenient_and_noisy_raters(city):
    by_rater = _field_frame(city).groupby("rater_id")["below"].agg(["mean", "std"])
    assert by_rater["mean"].idxmax() == PLANTED["harsh_rater"]
    assert by_rater.loc[PLANTED["harsh_rater"], "mean"] > 0.5
    assert by_rater["mean"].idxmin() == PLANTED["lenient_rater"]
    assert by_rater.loc[PLANTED["lenient_rater"], "mean"] < -0.5
    fair = by_rater.drop([PLANTED["harsh_rater"], PLANTED["lenient_rater"], PLANTED["noisy_rater"]])
    assert fair["mean"].abs().max() < 0.3
    assert by_rater["std"].idxmax() == PLANTED["noisy_rater"]
    assert by_rater.loc[PLANTED["noisy_rater"], "std"] > 1.4 * fair["std"].median()


def test_open_visit_unit_has_the_largest_gap(city):
    share = _field_frame(city).groupby(["unit_id", "visit"])["share"].mean().unstack()
    gap = share["open"] - share["covert"]
    assert gap.idxmax() == PLANTED["open_visit_unit"]
    assert gap.max() > 0.1


def test_laggards_one_off_and_decline(composite):
    comp = composite[composite["round_id"].str.startswith("C")]
    table = comp.pivot(index="unit_id", columns="round_id", values="score")
    laggards = list(PLANTED["persistent_laggards"])
    assert (table.loc[laggards] <= 70).sum(axis=1).ge(3).all()
    escalated = table.index[(table["C2026Q1"] <= 70) & (table["C2026Q2"] <= 70)]
    assert set(laggards) <= set(escalated)
    one_off = table.loc[PLANTED["one_off_unit"]]
    assert one_off[PLANTED["one_off_round"]] <= 70
    assert one_off.drop(PLANTED["one_off_round"]).min() >= 75
    declining = table.loc[PLANTED["declining_unit"]]
    assert declining.is_monotonic_decreasing and declining.iloc[0] - declining.iloc[-1] > 20


def test_calibration_every_group_has_red_and_black_candidates(composite):
    comp = composite[composite["round_id"].str.startswith("C")]
    for (round_id, group), score in comp.groupby(["round_id", "group"])["score"]:
        if group == "县区":  # ten units: too few to promise both lists every round
            continue
        assert (score >= 90).sum() >= 2, (round_id, group)
        assert (score <= 70).sum() >= 2, (round_id, group)
        assert score.between(75, 90).mean() > 0.5, (round_id, group)
    special = composite[composite["round_id"].str.startswith("S")]
    per_round = special.groupby("round_id")["score"]
    assert per_round.apply(lambda s: (s >= 90).sum()).between(3, 30).all()
    assert per_round.apply(lambda s: (s <= 70).sum()).between(2, 20).all()


def test_survey_veto_hits_a_top_unit(city, composite):
    surveys = city["surveys"]
    assert surveys["respondents"].between(40, 300).all()
    assert (surveys["satisfied"] <= surveys["respondents"]).all()
    rate = surveys["satisfied"] / surveys["respondents"]
    assert 2 <= (rate < 0.75).sum() <= 4
    assert rate.between(0.8, 0.95).mean() > 0.75
    vetoed = (surveys["unit_id"] == PLANTED["vetoed_unit"]) & (surveys["round_id"] == PLANTED["vetoed_round"])
    assert rate[vetoed].item() < 0.75
    round_ = composite[composite["round_id"] == PLANTED["vetoed_round"]]
    group = round_.loc[round_["unit_id"] == PLANTED["vetoed_unit"], "group"].item()
    ranked = round_[round_["group"] == group].sort_values("score", ascending=False)
    assert PLANTED["vetoed_unit"] in set(ranked["unit_id"].head(10))
    assert ranked.set_index("unit_id").loc[PLANTED["vetoed_unit"], "score"] >= 90
    assert len(surveys) == 4 * len(city["units"])


def test_deductions(city):
    ded = city["deductions"]
    primary = ded[ded["role"] == "primary"]
    unit_rounds = len(city["units"]) * len(city["rounds"])
    assert 0.03 <= len(primary) / unit_rounds <= 0.07
    assert 0.1 <= (ded["role"] == "joint").sum() / len(primary) <= 0.3
    assert ded["code"].str.fullmatch(r"N0[1-8]").all()
    assert ded["points"].between(0.5, 3).all()
    assert 1 <= (~ded["verified"]).sum() <= 0.15 * len(ded)
    assert ded["note"].notna().all()
    assert not ded.duplicated().any()  # validation refuses identical deduction rows
    assert ded["unit_id"].isin(city["units"]["unit_id"]).all()
    # the same code always costs the same points (a negative list)
    assert (ded.groupby("code")["points"].nunique() == 1).all()
    repeat = primary[primary["unit_id"] == PLANTED["repeat_deduction_unit"]]
    repeat = repeat[repeat["round_id"].isin(PLANTED["repeat_deduction_rounds"])]
    assert set(repeat["code"]) == {PLANTED["repeat_deduction_code"]}
    assert len(repeat) == 2 and repeat["verified"].all()


def test_joint_rows_share_their_primary_rows_problem_id(city):
    """问题编号 links the two rows of a problem recorded against two units, whatever their notes."""
    ded = city["deductions"]
    joint, primary = ded[ded["role"] == "joint"], ded[ded["role"] == "primary"]
    assert joint["problem_id"].notna().all()
    ids = set(zip(primary["round_id"], primary["problem_id"]))
    assert all(key in ids for key in zip(joint["round_id"], joint["problem_id"]))
    linked = primary[primary["problem_id"].notna()]
    assert len(linked) == len(joint) and linked["problem_id"].is_unique
    assert (linked["problem_id"] == linked["round_id"] + "-" + linked["unit_id"]).all()


def test_responsibility_table_follows_the_city(city):
    """RULES.md §1.5.3: 属地 (community → street at 0.5, street → district at the default share),
    行业 (departments in charge) and 挂包 (communities paired with departments)."""
    resp, units = city["responsibility"], city["units"].set_index("unit_id")
    group = resp.assign(unit=resp["unit_id"].map(units["group"]), by=resp["responsible_id"].map(units["group"]))
    counts = group.groupby(["relation", "unit", "by"]).size().to_dict()
    assert counts == {("territorial", "社区", "街道"): 74, ("territorial", "街道", "县区"): 30,
                      ("industry", "社区", "市直部门"): 7, ("industry", "街道", "市直部门"): 1,
                      ("paired", "社区", "市直部门"): 8}
    territorial = resp[resp["relation"] == "territorial"]
    assert territorial["unit_id"].is_unique  # one street or district each
    assert (territorial.loc[group["unit"] == "社区", "share"] == 0.5).all()
    assert territorial.loc[group["unit"] == "街道", "share"].isna().all()
    assert resp["share"].dropna().between(0, 1, inclusive="right").all()
    assert not (resp["unit_id"] == resp["responsible_id"]).any()
    assert not resp.duplicated(["unit_id", "responsible_id"]).any()
    for planted in ("harsh_rater", "open_visit_unit"):  # nobody answers for the open-visit department
        assert PLANTED[planted] not in set(resp["responsible_id"])


def test_responsibility_charges_streets_districts_and_departments(city):
    """A problem recorded once counts against its responsible units: every relation charges someone."""
    charged = _responsible_charges(city)
    assert set(charged["relation"]) == {"territorial", "industry", "paired"}
    assert 40 <= len(charged) <= 200
    assert not charged.duplicated(["round_id", "source", "unit_id"]).any()  # one primary row per problem


def test_a_street_misses_the_red_list_by_its_share_of_a_communitys_problem(demo_data):
    """README's example of RULES.md §1.5.3: in C2026Q3 站前街道 (U062) scores 90.04 before deductions;
    the quarter point it shares of 百花社区's problem (0.5 points × 0.5, 属地) leaves 89.79 < 90."""
    from honorcalc.params import Params
    from honorcalc.rules import evaluate_round

    dataset = load_dataset(demo_data)
    shared = evaluate_round(dataset, Params(dataset=str(demo_data), round="C2026Q3"))
    alone = evaluate_round(dataset, Params(dataset=str(demo_data), round="C2026Q3",
                                           deductions={"responsibility": False}))
    street = shared.units.set_index("unit_id").loc["U062"]
    assert (street["name"], street["list"], round(street["score"], 2)) == ("站前街道", "", 89.79)
    assert alone.units.set_index("unit_id").at["U062", "list"] == "red"
    charge = shared.deductions[shared.deductions["unit_id"] == "U062"].iloc[0]
    assert (charge["origin"], charge["source_unit"], charge["relation"], charge["deducted"]) == \
        ("derived", "U115", "territorial", 0.25)


# --------------------------------------------------------------------------- writing


def test_write_demo_writes_a_valid_utf8_dataset(tmp_path):
    paths = write_demo(tmp_path / "demo")
    assert sorted(p.name for p in paths) == sorted(f"{t}.csv" for t in TABLES)
    for path in paths:
        path.read_bytes().decode("utf-8")
    assert "市公安局" in (tmp_path / "demo" / "units.csv").read_text(encoding="utf-8")
    again = write_demo(tmp_path / "again")
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]
    dataset = load_dataset(tmp_path / "demo")
    assert dataset.notices == ()
    assert len(dataset.scores) == len(make_demo_city()["scores"])
    assert dataset.units["unit_id"].iloc[0] == "U001"
