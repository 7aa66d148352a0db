"""explain_unit: every listing explainable down to sources, indicators, raters and
deductions (RULES.md §1.5.1), with the reason for (non-)listing (§1.3)."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from honorcalc.errors import InputError
from honorcalc.explain.unit import explain_unit, explain_unit_dict
from honorcalc.params import Params
from honorcalc.rules.evaluate import evaluate_round

UNITS = ["U01", "U02", "U03", "U04", "U05", "U06", "U07", "U08", "U09", "U10", "U11", "U12", "U13"]
#: composites: U01–U11 at 99 … 94, U12 at 90.5 (rank 12), U13 at 88.5 (rank 13)
TARGET = {u: 99 - 0.5 * i for i, u in enumerate(UNITS[:11])} | {"U12": 90.5, "U13": 88.5}


def dataset():
    units = pd.DataFrame({"unit_id": UNITS, "name": [f"第{i}街道" for i in range(1, 14)],
                          "kind": "territorial", "group": "属地", "size": np.nan})
    indicators = pd.DataFrame({
        "indicator_id": ["I1", "I2"], "name": ["道路保洁", "公益广告"], "category": ["环境卫生", "宣传氛围"],
        "max_points": [50.0, 50.0], "topic": np.nan,
    })
    rounds = pd.DataFrame({"round_id": ["C0", "C1"], "kind": "comprehensive", "topic": np.nan,
                           "date": pd.to_datetime(["2026-03-31", "2026-06-30"])})
    rows = []
    for r in ("C0", "C1"):
        for u, t in TARGET.items():
            # field: I1 by two raters (open and covert visits), I2 by one; daily: I1
            rows += [(r, u, "I1", "R01", "field", t / 2 - 0.5, "open"),
                     (r, u, "I1", "R02", "field", t / 2 + 0.5, "covert"),
                     (r, u, "I2", "R01", "field", t / 2, "open"), (r, u, "I1", "R09", "daily", t / 2, np.nan)]
    scores = pd.DataFrame(rows, columns=["round_id", "unit_id", "indicator_id", "rater_id", "source", "points",
                                         "visit"])
    # U13 black-listed? no: it is far above 70. U03 shares problem D07 with U13 (joint).
    deductions = pd.DataFrame({
        "round_id": ["C1", "C1"], "unit_id": ["U13", "U03"], "code": ["D07", "D07"], "points": [2.0, 2.0],
        "role": ["primary", "joint"], "verified": [True, True], "note": ["主干道垃圾堆放", "主干道垃圾堆放"],
    })
    surveys = pd.DataFrame({"round_id": ["C1", "C1"], "unit_id": ["U01", "U13"],
                            "respondents": [200.0, 100.0], "satisfied": [140.0, 90.0]})
    return SimpleNamespace(units=units, indicators=indicators, rounds=rounds, scores=scores,
                           deductions=deductions, surveys=surveys)


@pytest.fixture(scope="module")
def result():
    return evaluate_round(dataset(), Params(dataset=".", round="C1"))


def test_explanation_walks_sources_indicators_and_raters(result):
    text = explain_unit(result, "U12")
    assert text.startswith("单位 U12 第12街道")
    for needle in ("实地考察测评 (field)", "日常动态 (daily)", "道路保洁", "公益广告", "环境卫生",
                   "R01 44.75 明查", "R02 45.75 暗访", "R09 45.25"):
        assert needle in text, needle
    assert "缺少来源" in text and "群众监督举报 (public)" in text


def test_reason_for_not_being_red_by_rank(result):
    """排名前十: U12 scores 90.50 ≥ 90 but is 12th."""
    text = explain_unit(result, "U12")
    assert "排名第 12, 不在前 10 名" in text
    assert "不满足红榜条件" not in text


def test_reason_for_not_being_red_by_score_and_deduction_with_co_responsible_unit(result):
    """U13: 88.50 − 2 (primary D07, shared with U03 as joint) = 86.50 < 90."""
    text = explain_unit(result, "U13")
    assert "得分 86.50 < 90, 不满足红榜条件" in text
    assert "D07 (主责) 扣 2 分" in text
    assert "共同担责: U03 第3街道 (连带责任)" in text
    assert "主干道垃圾堆放" in text
    joint = explain_unit(result, "U03")
    assert "D07 (连带责任) 扣 1 分, 按 0.5 计" in joint
    assert "共同担责: U13 第13街道 (主责)" in joint


def test_veto_is_explained(result):
    """群众满意率低于75%: U01 has 140/200 = 70% and keeps rank 1 but is not red."""
    text = explain_unit(result, "U01")
    assert "满意度 70.00%" in text
    assert "群众满意率 70.00% < 75%" in text
    assert "不得列入红榜" in text and "其后单位不递补" in text
    assert "第 1 名" in text


def test_listed_unit_explains_points_and_history(result):
    text = explain_unit(result, "U02")
    assert "红榜: 入选 — 得分 98.50 ≥ 90, 排名第 2, 在前 10 名内" in text
    assert "本期 +3 分, 本年度累计 +6 分" in text
    assert "C0 (2026-03-31)" in text and "黑榜: 未入选 — 得分 98.50 > 70, 不满足黑榜条件" in text


def test_english(result):
    text = explain_unit(result, "U12", lang="en")
    assert "rank 12, not in the top 10" in text
    assert "field inspection (field)" in text
    assert "Shared with" in explain_unit(result, "U13", lang="en")
    with pytest.raises(InputError, match="'fr'"):
        explain_unit(result, "U12", lang="fr")


def test_dict_form_is_json_ready(result):
    d = explain_unit_dict(result, "U13")
    json.dumps(d, ensure_ascii=False)
    assert d["deductions"][0]["co_responsible"] == [{"unit_id": "U03", "name": "第3街道", "role": "joint"}]
    assert d["red"]["status"] == "threshold" and d["red"]["meets_threshold"] is False
    assert {s["source"] for s in d["sources"]} == {"field", "daily"}
    assert [r["rater_id"] for r in d["indicators"][0]["raters"]] == ["R01", "R02"]
    assert d["survey"]["satisfaction"] == 0.9
    assert [p["round_id"] for p in d["history"]["past"]] == ["C0", "C1"]


def test_tie_and_empty_list_are_explained():
    """A tie at the cut under none_in, and the group's 当期不设黑榜 notice."""
    ds = dataset()
    ds.deductions = ds.deductions.iloc[0:0]
    ds.surveys = ds.surveys.iloc[0:0]
    ds.scores = ds.scores[ds.scores["unit_id"] != "U11"]  # U10 (94.5) now ties with nobody
    same_as_u10 = ds.scores.loc[ds.scores["unit_id"] == "U10", "points"].to_numpy()
    ds.scores.loc[ds.scores["unit_id"] == "U12", "points"] = same_as_u10
    r = evaluate_round(ds, Params(dataset=".", round="C1", lists={"tie_policy": "none_in"}))
    text = explain_unit(r, "U12")
    assert "第 10 名并列 2 家 (U10, U12), 跨越第 10 名, 按规则 none_in 均不入榜" in text
    assert "本组当期不设黑榜" in text


def test_unknown_unit_is_an_input_error(result):
    with pytest.raises(InputError, match="'X99'"):
        explain_unit(result, "X99")
