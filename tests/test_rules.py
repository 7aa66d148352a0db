"""One test per rule of RULES.md §1 (and the options of §2), on hand-built rounds.

Each unit's composite is set directly: one indicator worth 100 points scored by
one field rater, so the composite equals the points given (a single present
source renormalises to weight 1). Expected lists are worked out by hand in each
docstring; the Chinese sentence quoted is the authority (RULES.md).
"""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from honorcalc.errors import InputError, ParamError
from honorcalc.params import SOURCES, Params
from honorcalc.rules.evaluate import RANKING_COLUMNS, evaluate_round, evaluate_rounds
from honorcalc.rules.ranking import list_cap, round_half_up


def make(rounds, *, groups=None, kinds=None, topics=None, dates=None, deductions=(), surveys=(),
         categories=None):
    """A dataset from ``{round_id: {unit_id: composite}}``.

    Rounds are dated one month apart in the order given unless ``dates`` says
    otherwise; ``kinds`` and ``topics`` map round_id to the round's kind/topic;
    ``groups`` maps unit_id to its ranking group (default "A").
    """
    groups, kinds, topics, dates = groups or {}, kinds or {}, topics or {}, dates or {}
    unit_ids = sorted({u for per in rounds.values() for u in per} | set(groups))
    units = pd.DataFrame({
        "unit_id": unit_ids, "name": [f"单位{u}" for u in unit_ids], "kind": "territorial",
        "group": [groups.get(u, "A") for u in unit_ids], "size": np.nan,
    })
    cats = categories or {"I1": "综合"}
    indicators = pd.DataFrame({
        "indicator_id": list(cats), "name": [f"指标{i}" for i in cats], "category": list(cats.values()),
        "max_points": 100.0, "topic": np.nan,
    })
    rids = list(rounds)
    rounds_t = pd.DataFrame({
        "round_id": rids,
        "kind": [kinds.get(r, "comprehensive") for r in rids],
        "topic": [topics.get(r, np.nan) for r in rids],
        "date": pd.to_datetime([dates.get(r, f"2026-{i + 1:02d}-15") for i, r in enumerate(rids)]),
    })
    rows = [(r, u, "I1", "R1", "field", float(v), "open") for r, per in rounds.items() for u, v in per.items()]
    scores = pd.DataFrame(rows, columns=["round_id", "unit_id", "indicator_id", "rater_id", "source",
                                         "points", "visit"])
    ded = pd.DataFrame(list(deductions), columns=["round_id", "unit_id", "code", "points", "role",
                                                  "verified", "note"])
    ded["points"] = ded["points"].astype("float64")
    ded["verified"] = ded["verified"].astype(bool)
    sv = pd.DataFrame(list(surveys), columns=["round_id", "unit_id", "respondents", "satisfied"]).astype(
        {"respondents": "float64", "satisfied": "float64"})
    return SimpleNamespace(units=units, indicators=indicators, rounds=rounds_t, scores=scores,
                           deductions=ded, surveys=sv)


def P(**sections) -> Params:
    return Params(dataset=".", round="C1", **sections)


def ladder(values, prefix="U"):
    """Units U01, U02, … with the given composites, best first."""
    return {f"{prefix}{i + 1:02d}": v for i, v in enumerate(values)}


def listed(result, which):
    return sorted(result.units.loc[result.units["list"] == which, "unit_id"])


# --------------------------------------------------------------------------- §1.3 thresholds


def test_red_threshold_90_is_inclusive():
    """对测评中综合得分在90分以上且排名前十的单位,纳入综合测评红榜.

    "90分以上" includes 90: U01 (95) and U02 (90.00) are red, U03 (89.99) is not.
    """
    r = evaluate_round(make({"C1": ladder([95, 90, 89.99, 80])}), P(), "C1")
    assert listed(r, "red") == ["U01", "U02"]
    assert r.units.set_index("unit_id").at["U03", "red_status"] == "threshold"


def test_black_threshold_70_is_inclusive():
    """对测评中综合得分在70分以下且排名后十的单位,纳入综合测评黑榜.

    "70分以下" includes 70: U03 (70.00) and U04 (50) are black, U02 (70.01) is not.
    """
    r = evaluate_round(make({"C1": ladder([95, 70.01, 70, 50])}), P(), "C1")
    assert listed(r, "black") == ["U03", "U04"]
    assert r.units.set_index("unit_id").at["U02", "black_status"] == "threshold"


def test_red_list_is_the_top_ten_only():
    """……综合得分在90分以上且排名前十的单位,纳入综合测评红榜.

    12 units all at or above 90 (99, 98, …, 88 + 2): only ranks 1–10 are red;
    ranks 11 and 12 meet the score but not the rank.
    """
    r = evaluate_round(make({"C1": ladder([99 - i * 0.5 for i in range(12)])}), P(), "C1")
    assert listed(r, "red") == [f"U{i:02d}" for i in range(1, 11)]
    u = r.units.set_index("unit_id")
    assert u.at["U11", "red_status"] == "rank" and u.at["U11", "score"] >= 90


def test_black_list_is_the_bottom_ten_only():
    """……综合得分在70分以下且排名后十的单位,纳入综合测评黑榜.

    12 units all at or below 70: the bottom ten (U03–U12) are black; U01 and U02
    are at or below 70 but are not in the bottom ten.
    """
    r = evaluate_round(make({"C1": ladder([70 - i for i in range(12)])}), P(), "C1")
    assert listed(r, "black") == [f"U{i:02d}" for i in range(3, 13)]
    u = r.units.set_index("unit_id")
    assert (u.at["U02", "rank_bottom"], u.at["U02", "black_status"]) == (11, "rank")


def test_no_red_list_when_the_top_ten_are_all_below_90():
    """若排名前十的单位综合得分均不到90分,则当期通报不设红榜。

    Best score 89.99: the red list is empty, which is reported, not an error.
    """
    r = evaluate_round(make({"C1": ladder([89.99, 85, 80, 60])}), P(), "C1")
    assert listed(r, "red") == []
    status = r.list_status.set_index("list")
    assert status.at["red", "n_listed"] == 0  # 当期不设红榜
    assert status.at["red", "reason"] == "threshold"
    assert status.at["black", "n_listed"] > 0


def test_no_black_list_when_the_bottom_ten_are_all_above_70():
    """若排名后十的单位综合得分均超过70分,则当期通报不设黑榜。

    Worst score 70.01: the black list is empty and reported.
    """
    r = evaluate_round(make({"C1": ladder([95, 85, 80, 70.01])}), P(), "C1")
    assert listed(r, "black") == []
    status = r.list_status.set_index("list")
    assert (status.at["black", "n_listed"], status.at["black", "reason"]) == (0, "threshold")  # 当期不设黑榜
    assert listed(r, "red") == ["U01"]


# --------------------------------------------------------------------------- §1.3 ties


def _tied_at_ten():
    """U01–U09 at 99…95, U10 and U11 tied at 92 (both rank 10), U12 at 80."""
    return ladder([99, 98.5, 98, 97.5, 97, 96.5, 96, 95.5, 95, 92, 92, 80])


def test_tie_straddling_the_red_cut_all_in():
    """Ties at the cut-off rank: units with equal scores share a rank; a tie that straddles
    the cut-off is reported explicitly and resolved by the configured policy (default: all
    tied units are in).

    U10 and U11 share rank 10; all_in lists both (11 red, one over the cap of 10)
    and records the tie.
    """
    r = evaluate_round(make({"C1": _tied_at_ten()}), P(), "C1")
    assert listed(r, "red") == [f"U{i:02d}" for i in range(1, 12)]
    u = r.units.set_index("unit_id")
    assert (u.at["U10", "rank"], u.at["U11", "rank"], u.at["U12", "rank"]) == (10, 10, 12)
    assert u.at["U11", "red_status"] == "listed_tie"
    tie = r.ties.iloc[0]
    assert len(r.ties) == 1
    assert (tie["list"], tie["ranking_group"], tie["rank"], tie["cap"]) == ("red", "A", 10, 10)
    assert tie["units"] == ("U10", "U11") and tie["listed"] == ("U10", "U11")
    assert tie["policy"] == "all_in"


def test_tie_straddling_the_red_cut_none_in():
    """……resolved by the configured policy……: none_in leaves the whole tied block out.

    Only U01–U09 are red (the list is shorter than ten), and the tie is recorded
    with nobody listed.
    """
    r = evaluate_round(make({"C1": _tied_at_ten()}), P(lists={"tie_policy": "none_in"}), "C1")
    assert listed(r, "red") == [f"U{i:02d}" for i in range(1, 10)]
    tie = r.ties.iloc[0]
    assert (tie["units"], tie["listed"], tie["policy"]) == (("U10", "U11"), (), "none_in")
    assert r.units.set_index("unit_id").at["U10", "red_status"] == "tie_none_in"


def test_tie_straddling_the_black_cut():
    """The policy and every tie it resolved appear in the audit trail (black list).

    12 units at or below 70; the bottom two are distinct, U02 and U03 tie at 69 with
    bottom rank 10 (units below them: 9). all_in: U02–U12 black; none_in: U04–U12.
    """
    scores = ladder([70, 69, 69, 68, 67, 66, 65, 64, 63, 62, 61, 60])
    r = evaluate_round(make({"C1": scores}), P(), "C1")
    assert listed(r, "black") == [f"U{i:02d}" for i in range(2, 13)]
    assert r.ties.iloc[0][["list", "rank", "units"]].tolist() == ["black", 10, ("U02", "U03")]
    r = evaluate_round(make({"C1": scores}), P(lists={"tie_policy": "none_in"}), "C1")
    assert listed(r, "black") == [f"U{i:02d}" for i in range(4, 13)]


def test_tie_inside_the_cut_is_not_a_recorded_decision():
    """Ties at the cut-off rank……: a tie wholly inside the top ten decides nothing.

    U02 and U03 tie at rank 2 of 4 units: both red, no tie record.
    """
    r = evaluate_round(make({"C1": ladder([99, 95, 95, 50])}), P(), "C1")
    assert listed(r, "red") == ["U01", "U02", "U03"]
    assert r.units.set_index("unit_id").at["U03", "rank"] == 2
    assert r.ties.empty


# --------------------------------------------------------------------------- §1.3 special rounds


def test_special_cap_is_a_fifth_of_the_units_rounded_down():
    """专项测评: the list size is "原则上不超过总测评单位数的五分之一".

    N = 14 → cap ⌊14/5⌋ = 2: seven units at 95–98 and seven at 40–46; red = the
    top two, black = the bottom two.
    """
    scores = ladder([98, 97.5, 97, 96.5, 96, 95.5, 95, 46, 45, 44, 43, 42, 41, 40])
    r = evaluate_round(make({"S1": scores}, kinds={"S1": "special"}, topics={"S1": "网申"}), P(), "S1")
    assert listed(r, "red") == ["U01", "U02"]
    assert listed(r, "black") == ["U13", "U14"]
    assert set(r.units["cap"]) == {2}
    assert list_cap("special", 14, P()) == 2


def test_special_cap_of_zero_means_no_list():
    """……不超过总测评单位数的五分之一: N = 4 → ⌊4/5⌋ = 0, so neither list is set.

    U01 has 99 and U04 has 30, yet both lists are empty and reported with reason
    cap_zero.
    """
    r = evaluate_round(make({"S1": ladder([99, 80, 75, 30])}, kinds={"S1": "special"},
                            topics={"S1": "挂包"}), P(), "S1")
    assert listed(r, "red") == [] and listed(r, "black") == []
    status = r.list_status.set_index("list")
    assert status.at["red", "reason"] == status.at["black", "reason"] == "cap_zero"
    assert status.at["red", "n_listed"] == 0  # 当期不设红榜
    assert status.at["black", "n_listed"] == 0  # 当期不设黑榜


def test_special_cap_counts_the_units_of_the_ranking_group():
    """N = units evaluated in that ranking: group A has 5 units (cap 1), group B 10 (cap 2)."""
    a = {f"A{i}": 99 - i for i in range(5)}
    b = {f"B{i:02d}": 99 - i for i in range(10)}
    groups = {**{u: "A" for u in a}, **{u: "B" for u in b}}
    r = evaluate_round(make({"S1": {**a, **b}}, groups=groups, kinds={"S1": "special"},
                            topics={"S1": "网申"}), P(), "S1")
    assert listed(r, "red") == ["A0", "B00", "B01"]


# --------------------------------------------------------------------------- §1.3 precision and groups


def test_scores_are_compared_after_rounding():
    """Scores are compared after rounding to the published precision (default 2 decimals),
    so a unit is never listed on a difference no reader of the notice can see.

    89.996 prints as 90.00 and is red; 89.994 prints as 89.99 and is not; 70.004
    prints as 70.00 and is black.
    """
    r = evaluate_round(make({"C1": ladder([89.996, 89.994, 80, 70.004])}), P(), "C1")
    assert listed(r, "red") == ["U01"]
    assert listed(r, "black") == ["U04"]
    assert r.units.set_index("unit_id").at["U01", "score_rounded"] == 90.0


def test_units_equal_after_rounding_share_a_rank():
    """……compared after rounding: 91.001 and 91.004 both print 91.00 and tie at rank 1."""
    r = evaluate_round(make({"C1": ladder([91.004, 91.001, 80])}), P(), "C1")
    assert r.units.set_index("unit_id")["rank"].to_dict() == {"U01": 1, "U02": 1, "U03": 3}


def test_round_half_up_matches_the_printed_notice():
    """四舍五入 on the decimal number, not on its binary approximation."""
    assert round_half_up(89.995, 2) == 90.0
    assert round_half_up(2.675, 2) == 2.68
    assert round_half_up(89.994999, 2) == 89.99
    assert np.isnan(round_half_up(np.nan, 2))
    assert round_half_up(pd.Series([1.005, 0.125]), 2).tolist() == [1.01, 0.13]


def test_ranking_groups_are_ranked_separately():
    """综合测评……按行业或按属地 (by industry or by territory): each ranking group has its own
    ranks and its own top/bottom ten.

    Group 行业 has 12 units at 99…88 + 2 (its top ten red), group 属地 has 2 units at
    95 and 60 (one red, one black), and each group's ranks start at 1.
    """
    ind = {f"H{i:02d}": 99 - i * 0.5 for i in range(12)}
    ter = {"T1": 95, "T2": 60}
    groups = {**{u: "行业" for u in ind}, **{u: "属地" for u in ter}}
    r = evaluate_round(make({"C1": {**ind, **ter}}, groups=groups), P(), "C1")
    u = r.units.set_index("unit_id")
    assert (u.at["T1", "rank"], u.at["T2", "rank"], u.at["H00", "rank"]) == (1, 2, 1)
    assert listed(r, "red") == sorted([f"H{i:02d}" for i in range(10)] + ["T1"])
    assert listed(r, "black") == ["T2"]
    assert set(r.list_status["ranking_group"]) == {"行业", "属地"}


def test_ranking_scope_all_ranks_across_groups():
    """lists.ranking_scope = all: one ranking across every unit (groups ignored)."""
    r = evaluate_round(make({"C1": {"A1": 95, "B1": 96, "A2": 50}}, groups={"B1": "B"}),
                       P(lists={"ranking_scope": "all"}), "C1")
    assert r.units.set_index("unit_id")["rank"].to_dict() == {"B1": 1, "A1": 2, "A2": 3}
    assert set(r.units["ranking_group"]) == {"all"}


def test_no_unit_is_on_both_lists_in_a_small_group():
    """With three units every unit is in both the top and the bottom ten; red needs ≥ 90
    and black ≤ 70, and Params refuses red_min ≤ black_max, so the lists cannot overlap."""
    r = evaluate_round(make({"C1": ladder([95, 80, 60])}), P(), "C1")
    assert r.units.set_index("unit_id")["list"].to_dict() == {"U01": "red", "U02": "", "U03": "black"}
    with pytest.raises(ValueError, match="red_min"):
        P(lists={"red_min": 70.0, "black_max": 70.0})


# --------------------------------------------------------------------------- §1.4 points


def test_points_per_listing_and_year_to_date():
    """综合测评被红榜通报的,每次加3分;综合测评被黑榜通报的,每次扣3分;专项测评被红榜通报的,每次加1分;
    专项测评被黑榜通报的,每次扣1分。

    Five units in four rounds of 2026 (special rounds: N = 5, cap 1), plus one
    round in December 2025 that does not count towards 2026:
      C0 (2025-12) U01 red +3 (other year)
      C1 U01 red +3, U05 black −3
      S1 U01 red +1, U05 black −1
      C2 (reported) U01 red +3, U05 black −3
    Year to date at C2: U01 +7, U05 −7.
    """
    per = ladder([95, 85, 80, 75, 60])
    ds = make({"C0": per, "C1": per, "S1": per, "C2": per}, kinds={"S1": "special"}, topics={"S1": "网申"},
              dates={"C0": "2025-12-20", "C1": "2026-03-31", "S1": "2026-04-10", "C2": "2026-06-30"})
    r = evaluate_round(ds, P(), "C2")
    u = r.units.set_index("unit_id")
    assert (u.at["U01", "points"], u.at["U01", "points_ytd"]) == (3.0, 7.0)
    assert (u.at["U05", "points"], u.at["U05", "points_ytd"]) == (-3.0, -7.0)
    assert (u.at["U03", "points"], u.at["U03", "points_ytd"]) == (0.0, 0.0)
    s1 = evaluate_round(ds, P(), "S1").units.set_index("unit_id")
    assert (s1.at["U01", "points"], s1.at["U05", "points"]) == (1.0, -1.0)
    assert s1.at["U01", "points_ytd"] == 4.0
    assert set(r.ledger.loc[r.ledger["unit_id"] == "U01", "round_id"]) == {"C1", "S1", "C2"}


def test_points_are_parameters():
    """Every number here is a default parameter: points.comprehensive_red = 5 gives +5."""
    r = evaluate_round(make({"C1": ladder([95, 60])}), P(points={"comprehensive_red": 5.0}), "C1")
    assert r.units.set_index("unit_id")["points"].to_dict() == {"U01": 5.0, "U02": -3.0}


def test_later_rounds_do_not_count():
    """Year to date stops at the reported round's date."""
    per = ladder([95, 60])
    r = evaluate_round(make({"C1": per, "C2": per}), P(), "C1")
    assert r.units.set_index("unit_id")["points_ytd"].to_dict() == {"U01": 3.0, "U02": -3.0}


# --------------------------------------------------------------------------- §1.4 escalation


def _five(bottom):
    return {"U01": 95, "U02": 90, "U03": 85, "U04": 80, "U05": bottom}


def test_escalation_same_topic_across_an_interleaved_topic():
    """同一单位同一工作连续两次被黑榜通报的,由组织保障工作组启动核查程序,严肃追责问责。

    U05 is black in 网申 round S1, black in the 挂包 round S2 between, and black in
    网申 round S3: the two 网申 rounds are consecutive rounds of that work, so S3
    escalates with the chain (S1, S3). (N = 5, cap 1.)
    """
    ds = make({"S1": _five(50), "S2": _five(50), "S3": _five(50)},
              kinds=dict.fromkeys(["S1", "S2", "S3"], "special"),
              topics={"S1": "网申", "S2": "挂包", "S3": "网申"})
    r = evaluate_round(ds, P(), "S3")
    u = r.units.set_index("unit_id")
    assert u.at["U05", "list"] == "black"
    assert bool(u.at["U05", "escalated"]) is True
    assert u.at["U05", "escalation_chain"] == ("S1", "S3")
    assert not evaluate_round(ds, P(), "S2").units.set_index("unit_id").at["U05", "escalated"]


def test_no_escalation_across_different_work():
    """同一单位同一工作……: comprehensive black in C1 then special black in S1 is two
    different pieces of work, so no escalation."""
    ds = make({"C1": _five(50), "S1": _five(50)}, kinds={"S1": "special"}, topics={"S1": "网申"})
    r = evaluate_round(ds, P(), "S1")
    u = r.units.set_index("unit_id")
    assert u.at["U05", "list"] == "black"
    assert not u.at["U05", "escalated"] and u.at["U05", "escalation_chain"] == ()


def test_escalation_needs_consecutive_rounds_of_the_work():
    """"Consecutive" counts rounds of that same work: black in C1, not black in C2,
    black in C3 → no escalation at C3; black again in C4 → escalated (C3, C4)."""
    ds = make({"C1": _five(50), "C2": _five(75), "C3": _five(50), "C4": _five(50)})
    assert not evaluate_round(ds, P(), "C3").units.set_index("unit_id").at["U05", "escalated"]
    u = evaluate_round(ds, P(), "C4").units.set_index("unit_id")
    assert u.at["U05", "escalation_chain"] == ("C3", "C4")


def test_escalation_threshold_is_a_parameter():
    """escalation.consecutive = 3: two consecutive black listings are not enough."""
    ds = make({"C1": _five(50), "C2": _five(50), "C3": _five(50)})
    p = P(escalation={"consecutive": 3})
    assert not evaluate_round(ds, p, "C2").units.set_index("unit_id").at["U05", "escalated"]
    assert evaluate_round(ds, p, "C3").units.set_index("unit_id").at["U05", "escalation_chain"] == (
        "C1", "C2", "C3")


# --------------------------------------------------------------------------- §2 vetoes


def _eleven_reds():
    return ladder([99 - i * 0.5 for i in range(11)])  # 99 … 94, all ≥ 90


def test_veto_no_red_keeps_rank_and_promotes_nobody():
    """群众满意率低于75%将被取消参评资格 — veto_action no_red: the unit keeps its score and its
    place in the ranking but cannot be red-listed, and the veto is shown; nobody below it
    moves up to take its place, so the red list may be shorter than ten.

    U01 (rank 1, satisfaction 70%) is vetoed: red = U02–U10 (nine units); U11
    (rank 11) stays off.
    """
    ds = make({"C1": _eleven_reds()}, surveys=[("C1", "U01", 100, 70), ("C1", "U02", 100, 90)])
    r = evaluate_round(ds, P(), "C1")
    u = r.units.set_index("unit_id")
    assert (u.at["U01", "rank"], bool(u.at["U01", "vetoed"])) == (1, True)
    assert u.at["U01", "veto_reasons"] == ("satisfaction",)
    assert u.at["U01", "red_status"] == "vetoed"
    assert listed(r, "red") == [f"U{i:02d}" for i in range(2, 11)]
    assert u.at["U11", "red_status"] == "rank"


def test_veto_exclude_removes_the_unit_before_ranking():
    """The alternative exclude removes vetoed units before ranking, so the others' ranks
    close up: U01 is unranked, U02–U11 become ranks 1–10 and are all red."""
    ds = make({"C1": _eleven_reds()}, surveys=[("C1", "U01", 100, 70)])
    r = evaluate_round(ds, P(veto={"action": "exclude"}), "C1")
    u = r.units.set_index("unit_id")
    assert pd.isna(u.at["U01", "rank"]) and u.at["U01", "list"] == ""
    assert u.at["U01", "red_status"] == "excluded"
    assert u.at["U11", "rank"] == 10
    assert listed(r, "red") == [f"U{i:02d}" for i in range(2, 12)]
    table = r.ranking_table()
    assert table["unit_id"].iloc[-1] == "U01" and pd.isna(table["rank"].iloc[-1])


def test_veto_exclude_never_shields_a_unit_from_the_black_list():
    """A veto withholds honours; it never shields a unit from the black list. With exclude,
    U05 (50, satisfaction 70%) is out of the red ranking (no red rank) but keeps its place
    at the bottom: it is black, as it is under no_red, and the black list is the same."""
    ds = make({"C1": ladder([95, 90, 80, 72, 50])}, surveys=[("C1", "U05", 100, 70)])
    for action in ("no_red", "exclude"):
        r = evaluate_round(ds, P(veto={"action": action}, lists={"comprehensive_size": 1}), "C1")
        u = r.units.set_index("unit_id")
        assert listed(r, "black") == ["U05"], action
        assert u.at["U05", "rank_bottom"] == 1 and u.at["U05", "black_status"] == "listed", action
        assert not u.at["U05", "veto_withheld"], action
    assert pd.isna(u.at["U05", "rank"]) and u.at["U05", "red_status"] == "excluded"
    status = r.list_status.set_index("list")
    assert (status.at["red", "n_ranked"], status.at["black", "n_ranked"]) == (4, 5)


def test_a_veto_that_took_a_red_place_is_marked_withheld():
    """veto_withheld: the vetoed unit was red in the ranking of every scored unit. U01 (rank 1)
    is withheld under both actions; U03 (vetoed, 80) was never red, so its veto withheld nothing."""
    ds = make({"C1": ladder([95, 92, 80])}, surveys=[("C1", "U01", 100, 70), ("C1", "U03", 100, 70)])
    for action in ("no_red", "exclude"):
        u = evaluate_round(ds, P(veto={"action": action}), "C1").units.set_index("unit_id")
        assert u["veto_withheld"].to_dict() == {"U01": True, "U02": False, "U03": False}, action


def test_special_caps_count_the_units_of_each_ranking():
    """⌊N/5⌋ with N the units of the list's own ranking: ten units, one excluded by a veto →
    the red ranking holds 9 (cap ⌊9/5⌋ = 1), the bottom ranking 10 (cap 2)."""
    ds = make({"S1": ladder([99, 98, 97, 96, 95, 70, 65, 60, 55, 50])}, kinds={"S1": "special"},
              topics={"S1": "网申"}, surveys=[("S1", "U01", 100, 50)])
    r = evaluate_round(ds, P(veto={"action": "exclude"}), "S1")
    u = r.units.set_index("unit_id")
    assert (int(u.at["U02", "cap"]), int(u.at["U02", "cap_bottom"])) == (1, 2)
    assert listed(r, "red") == ["U02"] and listed(r, "black") == ["U09", "U10"]


def test_satisfaction_is_summed_over_survey_rows_and_75_is_not_vetoed():
    """低于75% is strict: U01's two survey rows give (60 + 90) / (100 + 100) = 75% → not
    vetoed; U02's 149/200 = 74.5% → vetoed."""
    ds = make({"C1": ladder([95, 94])},
              surveys=[("C1", "U01", 100, 60), ("C1", "U01", 100, 90), ("C1", "U02", 200, 149)])
    u = evaluate_round(ds, P(), "C1").units.set_index("unit_id")
    assert u.at["U01", "satisfaction"] == 0.75 and not u.at["U01", "vetoed"]
    assert bool(u.at["U02", "vetoed"]) is True


def test_prerequisite_category_veto():
    """a prerequisite evaluation (e.g. minors' moral-education evaluation) below 85
    disqualifies: U01 scores 84 in category 未成年人 and is vetoed, U02 scores 85 and
    is not. Both have 95 overall (two indicators, I1 100 points, I2 100 points)."""
    ds = make({"C1": {"U01": 95, "U02": 95}}, categories={"I1": "综合", "I2": "未成年人"})
    extra = pd.DataFrame([("C1", "U01", "I2", "R1", "field", 84.0, "open"),
                          ("C1", "U02", "I2", "R1", "field", 85.0, "open")], columns=ds.scores.columns)
    ds.scores = pd.concat([ds.scores, extra], ignore_index=True)
    r = evaluate_round(ds, P(veto={"prerequisite_category": "未成年人"}), "C1")
    u = r.units.set_index("unit_id")
    assert u.at["U01", "veto_reasons"] == ("prerequisite",) and u.at["U01", "prerequisite_score"] == 84
    assert not u.at["U02", "vetoed"]
    with pytest.raises(ParamError, match="未知"):
        evaluate_round(ds, P(veto={"prerequisite_category": "未知"}), "C1")


# --------------------------------------------------------------------------- §1.2, §1.5 scoring rules


def test_joint_deduction_counts_at_the_joint_share():
    """责任细化与共同担责相结合: a problem can count against several units: the primary one in
    full, joint ones (连带责任) at a configurable fraction.

    Problem D01 (4 points): U01 primary → 95 − 4 = 91; U02 joint at 0.5 → 93 − 2 = 91.
    """
    ds = make({"C1": {"U01": 95, "U02": 93}},
              deductions=[("C1", "U01", "D01", 4, "primary", True, "垃圾堆放"),
                          ("C1", "U02", "D01", 4, "joint", True, "垃圾堆放")])
    u = evaluate_round(ds, P(), "C1").units.set_index("unit_id")
    assert (u.at["U01", "score"], u.at["U02", "score"]) == (91.0, 91.0)
    u = evaluate_round(ds, P(deductions={"joint_share": 0.25}), "C1").units.set_index("unit_id")
    assert u.at["U02", "score"] == 92.0


def test_unverified_deductions_do_not_count():
    """DESIGN.md: minus verified deductions. An unverified 5-point deduction is ignored,
    unless deductions.verified_only is false."""
    ds = make({"C1": {"U01": 95}}, deductions=[("C1", "U01", "D01", 5, "primary", False, np.nan)])
    assert evaluate_round(ds, P(), "C1").units["score"].iloc[0] == 95.0
    p = P(deductions={"verified_only": False})
    assert evaluate_round(ds, p, "C1").units["score"].iloc[0] == 90.0


def test_deduction_can_move_a_unit_off_the_red_list():
    """Every listing explainable down to the deductions: 91 − 2 = 89 < 90, not red."""
    ds = make({"C1": {"U01": 91}}, deductions=[("C1", "U01", "D01", 2, "primary", True, np.nan)])
    r = evaluate_round(ds, P(), "C1")
    assert listed(r, "red") == []


def test_missing_source_is_renormalised_and_flagged():
    """通报结合实地考察测评状况、日常动态了解把握状况、上级部门反馈状况、市级领导督导状况、群众监督举报状况等进行综合研判、
    量化打分: the weights are renormalised over the sources present.

    Weights field 0.5, daily 0.3, public 0.2. U01 has field 80 and daily 90 only:
    (0.5·80 + 0.3·90) / 0.8 = 83.75, public flagged missing.
    """
    ds = make({"C1": {"U01": 80, "U02": 70}})
    extra = pd.DataFrame([("C1", "U01", "I1", "R2", "daily", 90.0, np.nan),
                          ("C1", "U02", "I1", "R2", "daily", 70.0, np.nan),
                          ("C1", "U02", "I1", "R3", "public", 70.0, np.nan)], columns=ds.scores.columns)
    ds.scores = pd.concat([ds.scores, extra], ignore_index=True)
    p = P(weights={"field": 0.5, "daily": 0.3, "feedback": 0.0, "leader": 0.0, "public": 0.2})
    u = evaluate_round(ds, p, "C1").units.set_index("unit_id")
    assert u.at["U01", "score"] == pytest.approx(83.75)
    assert u.at["U01", "sources_missing"] == ("public",)
    assert u.at["U02", "sources_missing"] == ()
    assert np.isnan(u.at["U01", "score_public"])


def test_history_blend_with_trailing_rounds_of_the_same_work():
    """动态监测与常态长效相结合 — judge consistent performance, not one snapshot
    ("防止以偏概全"): optionally blend the current score with the trailing rounds, and
    always show history.

    U01: C1 80, C2 90, special round S1 (other work) 10, C3 70. With weight 0.5 over
    2 rounds: 0.5·70 + 0.5·(80 + 90)/2 = 77.5. With weight 0 the score is 70 but the
    history is still reported.
    """
    ds = make({"C1": {"U01": 80}, "C2": {"U01": 90}, "S1": {"U01": 10}, "C3": {"U01": 70}},
              kinds={"S1": "special"}, topics={"S1": "网申"})
    u = evaluate_round(ds, P(history={"weight": 0.5, "rounds": 2}), "C3").units.iloc[0]
    assert u["score"] == pytest.approx(77.5)
    assert u["history_rounds"] == ("C1", "C2") and u["composite"] == 70
    r = evaluate_round(ds, P(history={"weight": 0.0, "rounds": 2}), "C3")
    assert r.units.iloc[0]["score"] == 70 and r.units.iloc[0]["history_mean"] == 85
    assert r.history["round_id"].tolist() == ["C1", "C2", "C3"]


# --------------------------------------------------------------------------- §2 options


def test_tiers_by_cuts():
    """Tiers (好 / 较好 / 一般): score ≥ 90 好, ≥ 80 较好, else 一般 (cuts 90, 80)."""
    r = evaluate_round(make({"C1": ladder([95, 90, 85, 80, 79.99])}), P(tiers={"method": "cuts"}), "C1")
    assert r.units["tier"].tolist() == ["好", "好", "较好", "较好", "一般"]


def test_tiers_by_shares():
    """Tiers by cumulative rank shares (0.2, 0.5) of 10 units: ranks 1–2 好, 3–5 较好, 6–10 一般."""
    r = evaluate_round(make({"C1": ladder([99 - i for i in range(10)])}), P(tiers={"method": "shares"}), "C1")
    assert r.units["tier"].tolist() == ["好"] * 2 + ["较好"] * 3 + ["一般"] * 5
    assert evaluate_round(make({"C1": ladder([95])}), P(), "C1").units["tier"].isna().all()


def test_mobile_flags_with_history():
    """流动红旗 / 流动黑旗: each round the top and bottom unit of a group receive a flag that
    moves with the next round. C1: U01 red flag, U03 black; C2: U02 red flag, U03 black."""
    ds = make({"C1": {"U01": 95, "U02": 90, "U03": 60}, "C2": {"U01": 90, "U02": 95, "U03": 60}})
    r = evaluate_round(ds, P(flags={"enabled": True}), "C2")
    assert r.units.set_index("unit_id")["flag"].to_dict() == {"U02": "red", "U01": "", "U03": "black"}
    held = r.flags[["round_id", "flag", "unit_id"]].values.tolist()
    assert held == [["C1", "black", "U03"], ["C1", "red", "U01"], ["C2", "black", "U03"], ["C2", "red", "U02"]]


def test_mobile_flag_shared_by_a_tie_is_recorded():
    """Ties documented: U01 and U02 tie at the top and share the red flag."""
    r = evaluate_round(make({"C1": ladder([95, 95, 60])}), P(flags={"enabled": True}), "C1")
    assert sorted(r.flags.loc[r.flags["flag"] == "red", "unit_id"]) == ["U01", "U02"]
    tie = r.ties[r.ties["list"] == "red_flag"].iloc[0]
    assert (tie["units"], tie["policy"]) == (("U01", "U02"), "shared")


def test_three_colour_slips():
    """白黄红三色责任单: the same unit and code in consecutive rounds of the same work goes
    white → yellow → red; a round of other work in between does not break the chain."""
    d = [(r, "U01", "D07", 1, "primary", True, np.nan) for r in ("C1", "C2", "C3")]
    ds = make({"C1": {"U01": 95}, "S1": {"U01": 95}, "C2": {"U01": 95}, "C3": {"U01": 95}},
              kinds={"S1": "special"}, topics={"S1": "网申"}, deductions=d)
    p = P(slips={"enabled": True})
    colours = [evaluate_round(ds, p, r).slips["slip"].tolist() for r in ("C1", "C2", "C3")]
    assert colours == [["white"], ["yellow"], ["red"]]
    assert evaluate_round(ds, p, "C3").slips["rounds"].iloc[0] == ("C1", "C2", "C3")


def test_pass_quota_with_a_tie():
    """末位淘汰: only a fixed share (e.g. 60%) of candidates pass. Five units, ⌈0.6 × 5⌉ = 3
    pass, ranked by points year to date then mean score. U03 and U04 tie on both
    (0 points, 85) at rank 3: all_in passes both, none_in neither."""
    ds = make({"C1": ladder([95, 92, 85, 85, 60])})
    q = evaluate_round(ds, P(pass_quota={"share": 0.6}), "C1").pass_quota.set_index("unit_id")
    assert q["passed"].to_dict() == {"U01": True, "U02": True, "U03": True, "U04": True, "U05": False}
    assert set(q["quota"]) == {3}
    p = P(pass_quota={"share": 0.6}, lists={"tie_policy": "none_in"})
    r = evaluate_round(ds, p, "C1")
    assert r.pass_quota.set_index("unit_id")["passed"].sum() == 2
    assert r.ties[r.ties["list"] == "pass"].iloc[0]["units"] == ("U03", "U04")


# --------------------------------------------------------------------------- outputs and errors


def test_ranking_table_columns_and_order():
    """DESIGN.md ranking.csv: exactly these columns, sorted by (group, rank, unit_id)."""
    ds = make({"C1": {"B1": 80, "A2": 95, "A1": 95, "A3": 60}}, groups={"B1": "B"})
    t = evaluate_round(ds, P(), "C1").ranking_table()
    assert tuple(t.columns) == RANKING_COLUMNS
    assert RANKING_COLUMNS[-5:] == tuple(f"score_{s}" for s in SOURCES)
    assert t["unit_id"].tolist() == ["A1", "A2", "A3", "B1"]
    assert t["list"].tolist() == ["red", "red", "black", ""]


def test_ranking_table_names_the_negative_list_items_of_each_unit():
    """负面清单: each unit's counted deduction codes, in the order of the data, ;-joined; an
    unverified deduction does not count (deductions.verified_only) and is left out."""
    ds = make({"C1": ladder([95, 80, 60])}, deductions=[
        ("C1", "U03", "N02", 1, "primary", True, "乱贴乱画"), ("C1", "U03", "N01", 1, "joint", True, "占道"),
        ("C1", "U02", "N05", 1, "primary", False, "未核实")])
    t = evaluate_round(ds, P(), "C1").ranking_table().set_index("unit_id")
    assert t["negative_list"].to_dict() == {"U01": "", "U02": "", "U03": "N02;N01"}


def test_inputs_are_not_mutated():
    ds = make({"C1": ladder([95, 60])}, surveys=[("C1", "U01", 10, 9)],
              deductions=[("C1", "U02", "D1", 1, "joint", True, np.nan)])
    before = {k: v.copy() for k, v in vars(ds).items()}
    evaluate_round(ds, P(), "C1")
    for k, v in vars(ds).items():
        pd.testing.assert_frame_equal(v, before[k])


def test_unknown_round_and_units_are_input_errors():
    ds = make({"C1": ladder([95])})
    with pytest.raises(InputError, match="'C9'"):
        evaluate_round(ds, P(), "C9")
    ds.scores = ds.scores.assign(unit_id="X1")
    with pytest.raises(InputError, match="X1"):
        evaluate_round(ds, P(), "C1")
    with pytest.raises(InputError, match="lacks"):
        evaluate_rounds(ds.units.drop(columns="group"), ds.indicators, ds.rounds, ds.scores,
                        ds.deductions, ds.surveys, P())
