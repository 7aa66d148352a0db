"""Data of final scores only (no 评分人 column): the run works and says what such data cannot answer.

A city office may keep only each unit's final points per indicator and source. The
loader reads them under one pseudo-rater per source (``final:<source>``); the
fairness analysis must not take those for raters: rater agreement, severity, the
scores' error from rater disagreement, the G-study components that need several
raters and the open/covert comparison are stated as not answerable, with the reason
and what to record, and the rank intervals decline instead of shrinking to zero
width. The simulation at the end knows the truth and checks that no statement made
from final scores is falsely certain.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from honorcalc.data import load_dataset
from honorcalc.data.contract import final_score_rater, is_final_score_rater
from honorcalc.fairness import (
    FINAL_SCORE_QUESTIONS,
    FINAL_SCORES_SCOPE,
    fairness_tables,
)
from honorcalc.fairness.base import FINAL_SCORES_NOTE
from honorcalc.fairness.stability import list_stability
from honorcalc.params import params_from_mapping
from honorcalc.report.findings import fairness_findings
from honorcalc.rules.evaluate import evaluate_round
from tests.conftest import run_cli, tiny_tables, write_tables
from tests.test_fairness_stability import (
    city_tables,
    evaluate,
    score_city,
    true_scores,
    truth,
)
from tests.test_fairness_stability import params as city_params

CELL = ["round_id", "unit_id", "indicator_id", "source"]
STATED_ZH = "本轮数据仅有各单位最终得分，未记录评分人"


def final_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """What an office that keeps final scores holds: the mean per cell, no rater, visit only where constant."""
    s = scores.copy()
    s["points"] = pd.to_numeric(s["points"])
    g = s.groupby(CELL, sort=False)
    out = g["points"].mean().reset_index()
    if "visit" in s.columns:
        visit = g["visit"].agg(lambda v: v.iloc[0] if v.nunique(dropna=False) == 1 else None)
        if visit.notna().all():
            out = out.merge(visit.reset_index(), on=CELL)
    return out


def write_final(source: Path, target: Path) -> Path:
    """The dataset at ``source`` with its scores replaced by final scores (text frames, written as CSV)."""
    tables = {f.stem: pd.read_csv(f, dtype=str, keep_default_na=False) for f in sorted(source.glob("*.csv"))}
    tables["scores"] = final_scores(tables["scores"])
    return write_tables(target, tables)


@pytest.fixture(scope="module")
def demo_final(demo_data, tmp_path_factory) -> Path:
    return write_final(Path(demo_data), tmp_path_factory.mktemp("demo-final"))


def demo_params(dataset, **extra):
    return params_from_mapping({"dataset": str(dataset), "round": "C2026Q2", "seed": 20260630, **extra})


# --------------------------------------------------------------------------- end to end


def test_a_run_of_final_scores_through_the_cli_says_what_it_cannot_answer(tmp_path, capsys):
    """Papermill through the command line, then ``explain``, on the tiny dataset with its raters removed."""
    tables = tiny_tables()
    tables["scores"] = final_scores(tables["scores"])
    assert "rater_id" not in tables["scores"].columns and "visit" in tables["scores"].columns
    write_tables(tmp_path / "tiny", tables)
    params = tmp_path / "tiny.yaml"
    params.write_text("dataset: tiny\nround: C2026Q1\ncity: 测试市\n", encoding="utf-8")
    code, out, err = run_cli(["run", params, "--out", tmp_path / "reports"], capsys)
    assert code == 0, err
    report = Path(out.strip().splitlines()[-1])
    run = report.parent
    html = report.read_text(encoding="utf-8")
    assert STATED_ZH in html and "按评分人逐项记录得分" in html
    assert "无法校正评分人宽严偏差" in html and "即使校正评分人宽严偏差" not in html
    raters = pd.read_csv(run / "raters.csv")
    assert set(raters["rater_id"]) == {final_score_rater("field")}
    assert (raters["status"] == "not_estimable").all()
    reliability = pd.read_csv(run / "reliability.csv")
    stated = reliability[reliability["scope"] == FINAL_SCORES_SCOPE]
    assert set(stated["key"]) == set(FINAL_SCORE_QUESTIONS)
    stability = pd.read_csv(run / "stability.csv")
    assert stability["rank_low"].isna().all() and stability["se"].isna().all()

    code, out, err = run_cli(["explain", run, "001"], capsys)
    assert code == 0, err
    assert "东城区" in out
    # a final score is told as such, never as the score of a rater named "final:field"
    assert "未记录评分人" in out and "final:" not in out
    code, out, err = run_cli(["explain", run, "001", "--lang", "en"], capsys)
    assert "no rater recorded" in out and "final:" not in out


# --------------------------------------------------------------------------- the tables


def test_the_fairness_tables_carry_the_not_answerable_status_and_its_reason(demo_final):
    d = load_dataset(demo_final)
    assert d.final_scores_only
    t = fairness_tables(d, demo_params(demo_final))

    raters = t["raters.csv"]
    assert is_final_score_rater(raters["rater_id"]).all() and len(raters) == 5
    assert (raters["status"] == "not_estimable").all() and raters["severity"].isna().all()
    assert not raters["flagged"].astype(bool).any()
    assert raters["note"].str.startswith(FINAL_SCORES_NOTE).all()

    rel = t["reliability.csv"]
    stated = rel[rel["scope"] == FINAL_SCORES_SCOPE].set_index("key")
    assert list(stated.index) == list(FINAL_SCORE_QUESTIONS)
    assert (stated["value"] == 1.0).all() and (stated["n_units"] == 150).all()
    for key, reason in FINAL_SCORE_QUESTIONS.items():
        note = stated.at[key, "note"]
        assert note.startswith(FINAL_SCORES_NOTE) and reason in note
        assert "status not_estimable" in note and "record who scored what" in note
    # no agreement statistic is computed from pseudo-raters, and no rater separation
    assert not rel["scope"].isin(["overall", "category", "indicator", "raters"]).any()
    g = rel[rel["scope"] == "source"].set_index(["key", "statistic"])["value"]
    for source in ("field", "daily", "feedback", "leader", "public"):
        assert np.isnan(g[source, "phi"]) and np.isnan(g[source, "share_unit"])
        assert np.isnan(g[source, "raters_needed"]) and np.isnan(g[source, "variance_rater"])
    assert rel.loc[rel["scope"] == "source", "note"].str.contains(FINAL_SCORES_NOTE).all()

    st = t["stability.csv"]
    assert (st["status"] == "not_estimable").all() and st["uncertain"].all()
    # no zero-width interval: the measurement error is unknown, and said to be
    for column in ("se", "rank_low", "rank_high", "p_red", "p_black", "rank_low_simul", "rank_high_simul"):
        assert st[column].isna().all(), column
    assert st["note"].str.contains("the measurement error is unknown").all()
    assert st["note"].str.startswith(FINAL_SCORES_NOTE).all()
    assert not (st["red_status"] == "in").any() and not (st["black_status"] == "in").any()
    # 'out' only where it is a fact: an unranked unit, or a vetoed one for the red list
    units = evaluate_round(d, demo_params(demo_final), "C2026Q2").units.set_index("unit_id")
    known_out = units.index[units["rank"].isna() | units["vetoed"].astype(bool)]
    assert len(known_out) and set(st.loc[st["red_status"] == "out", "unit_id"]) == set(known_out)
    assert (st.loc[st["rank"].notna(), "black_status"] == "cannot_tell").all()
    assert t["funnel.csv"].empty and t["visits.csv"].empty

    groups = t["groups.csv"]
    assert (groups["status_severity"] == "not_estimable").all()
    assert groups["note"].str.contains(FINAL_SCORES_NOTE).all()


def test_the_findings_say_it_once_in_plain_words_zh_and_en(demo_final):
    d = load_dataset(demo_final)
    t = fairness_tables(d, demo_params(demo_final))
    zh = fairness_findings(t, "zh")
    first = zh[0]
    assert first.topic == "final_scores" and first.certainty == "not_estimable"
    assert first.text.startswith(STATED_ZH)
    for words in ("评分人之间的一致性", "评分尺度宽严", "评分误差", "无法评估", "明查与暗访得分无法比较",
                  "名次区间无法给出", "按评分人逐项记录得分"):
        assert words in first.text, words
    # the pseudo-raters are not named as raters, nor any source sentence repeated per source
    assert not any("final:" in f.text for f in zh)
    assert not any(f.topic in ("raters", "reliability", "agreement", "stability") for f in zh)
    assert not any(f.certainty == "sure" and f.topic in ("stability", "raters", "visits") for f in zh)
    assert "仅有最终得分" in first.detail and "σ²" in first.detail
    en = fairness_findings(t, "en")[0]
    assert en.text.startswith("This round's data hold only each unit's final scores, with no rater recorded")
    assert "record each rater's score" in en.text


def test_data_with_raters_state_nothing_of_final_scores(demo_data):
    t = fairness_tables(load_dataset(demo_data), demo_params(demo_data))
    assert not (t["reliability.csv"]["scope"] == FINAL_SCORES_SCOPE).any()
    assert not is_final_score_rater(t["raters.csv"]["rater_id"]).any()
    assert not any(f.topic == "final_scores" for f in fairness_findings(t, "zh"))


# --------------------------------------------------------------------------- mixed data


def mixed(demo_data, demo_final, final_rounds) -> object:
    """The demo city with the rounds ``final_rounds`` picks held as final scores and the others with raters."""
    real, final = load_dataset(demo_data), load_dataset(demo_final)
    keep_final = final.scores["round_id"].map(final_rounds).astype(bool)
    drop_real = real.scores["round_id"].map(final_rounds).astype(bool)
    scores = pd.concat([real.scores[~drop_real], final.scores[keep_final]], ignore_index=True)
    return dataclasses.replace(real, scores=scores)


def test_a_mixed_year_runs_the_rater_analyses_on_the_rounds_with_raters(demo_data, demo_final):
    from honorcalc.report import round_report
    from honorcalc.report.view import build_view
    from honorcalc.runs.pipeline import run_tables

    # earlier rounds final, the report round with raters: its rater analyses run as before
    d = mixed(demo_data, demo_final, lambda r: r != "C2026Q2")
    p = demo_params(demo_data)
    t = run_tables(p, d)
    with_raters = fairness_tables(load_dataset(demo_data), p)
    pd.testing.assert_frame_equal(t["raters.csv"], with_raters["raters.csv"])
    stated = t["reliability.csv"][t["reliability.csv"]["scope"] == FINAL_SCORES_SCOPE]
    assert list(stated["key"]) == ["visits"] and 0 < stated["value"].iloc[0] < 1
    assert "ran on the rows with raters" in stated["note"].iloc[0]
    assert len(t["visits.csv"]) > 0  # the open/covert comparison on the rounds with raters
    view = build_view(p, d, t)
    assert view.findings[0].text.startswith("本年度部分轮次仅有各单位最终得分")
    assert any(f.topic == "raters" and f.certainty == "sure" for f in view.findings)
    assert "评分人宽严程度" in str(round_report.fairness(view))

    # the report round final, earlier rounds with raters
    d = mixed(demo_data, demo_final, lambda r: r == "C2026Q2")
    t = run_tables(p, d)
    assert (t["raters.csv"]["status"] == "not_estimable").all()
    stated = t["reliability.csv"][t["reliability.csv"]["scope"] == FINAL_SCORES_SCOPE].set_index("key")["value"]
    assert (stated.drop("visits") == 1.0).all() and 0 < stated["visits"] < 1
    view = build_view(p, d, t)
    text = view.findings[0].text
    assert text.startswith(STATED_ZH) and "明查与暗访得分的比较只依据本年度记录了评分人的轮次" in text
    html = str(round_report.fairness(view))
    assert "无法校正评分人宽严偏差" in html and "评分人宽严程度" not in html
    assert "各单位得分及其不确定区间" not in str(round_report.evidence(view))


def test_a_round_partly_of_final_scores_says_the_rest_rests_on_the_scores_with_raters(demo_data, demo_final):
    real, final = load_dataset(demo_data), load_dataset(demo_final)
    pick = lambda s: (s["round_id"] == "C2026Q2") & (s["source"] != "field")  # noqa: E731
    scores = pd.concat([real.scores[~pick(real.scores)], final.scores[pick(final.scores)]], ignore_index=True)
    t = fairness_tables(dataclasses.replace(real, scores=scores), demo_params(demo_data))
    stated = t["reliability.csv"][t["reliability.csv"]["scope"] == FINAL_SCORES_SCOPE].set_index("key")
    assert ((stated["value"] > 0) & (stated["value"] < 1)).all()
    assert stated["note"].str.contains("the analysis ran on the rows with raters").all()
    raters = t["raters.csv"]
    pseudo = is_final_score_rater(raters["rater_id"])
    assert pseudo.sum() == 4 and (raters.loc[pseudo, "status"] == "not_estimable").all()
    assert raters.loc[~pseudo, "status"].isin(["harsh", "lenient"]).any()  # the field raters are still judged
    st = t["stability.csv"]
    assert (st["se"] > 0).all() and "stable" not in set(st["status"])  # measured in part: never called stable
    zh, en = fairness_findings(t, "zh")[0], fairness_findings(t, "en")[0]
    assert zh.text.startswith("本轮约 33% 的评分仅有最终得分，未记录评分人") and "只依据记录了评分人的评分" in zh.text
    assert en.text.startswith("About 33% of this round's scores are final scores with no rater recorded")


def test_the_annual_report_says_which_rounds_hold_final_scores(demo_data, demo_final):
    from honorcalc.report import annual_report
    from honorcalc.report.view import build_annual_view
    from honorcalc.runs.pipeline import run_tables

    p = params_from_mapping({"dataset": str(demo_data), "round": "C2026Q4", "report": "annual", "seed": 1})
    d = mixed(demo_data, demo_final, lambda r: r < "C2026Q3" or r.startswith("S2026-0"))
    view = build_annual_view(p, d, run_tables(p, d))
    html = str(annual_report.laggards(view))
    rounds = set(view.result.rounds["round_id"])
    n_final = d.scores.loc[is_final_score_rater(d.scores["rater_id"]) & d.scores["round_id"].isin(rounds),
                           "round_id"].nunique()
    n_rounds = len(rounds)
    assert 0 < n_final < n_rounds
    assert f"本年度 {n_rounds} 期测评中有 {n_final} 期仅有各单位最终得分" in html
    final = load_dataset(demo_final)
    view = build_annual_view(p, final, run_tables(p, final))
    assert "本年度测评数据仅有各单位最终得分，未记录评分人" in str(annual_report.laggards(view))
    view = build_annual_view(p, load_dataset(demo_data), run_tables(p, load_dataset(demo_data)))
    assert "最终得分" not in str(annual_report.laggards(view))


# --------------------------------------------------------------------------- a city whose truth is known


def as_final(scores: pd.DataFrame) -> pd.DataFrame:
    s = scores.groupby(CELL, as_index=False)["points"].mean()
    s["rater_id"] = s["source"].map(final_score_rater)
    return s


def test_final_scores_make_no_falsely_certain_statement_where_the_truth_is_known():
    """Simulated cities (teams of raters with true severities, halo and noise) held as final scores.

    The very same cities with their raters give rank sets that cover the true rank
    (tests/test_fairness_stability.py); from final scores the error is unknown, so
    the analysis must decline: a rank "interval" of the observed rank alone would
    hold the true rank for well under the stated 95 % of the units, and a listing
    called sure with no error counted would be wrong for some. Here every rank
    interval, list probability and 'in'/'out' statement that the truth could refute
    is withheld, and the listing statements that remain are all true.
    """
    naive, claims, wrong, declined = [], 0, 0, 0
    for k in range(4):
        t = truth(500 + k)
        c = city_tables(as_final(score_city(t, np.random.default_rng(600 + k))))
        p = city_params(replicates=100)
        results = evaluate(c, p)
        st = list_stability(c.scores, c.indicators, results, p)
        true = pd.Series(true_scores(t), index=c.units["unit_id"])
        group = c.units.set_index("unit_id")["group"]
        true_rank = true.groupby(group).rank(ascending=False, method="min").reindex(st["unit_id"]).to_numpy()
        naive.append(st["rank"].to_numpy() == true_rank)
        declined += int(st["rank_low"].isna().sum())
        assert st["rank_low"].isna().all() and st["p_black"].isna().all() and st["se"].isna().all()
        assert (st["status"] == "not_estimable").all()
        bottom = true.groupby(group).rank(ascending=True, method="max")
        truly_black = ((true < 70.005) & (bottom <= 10)).reindex(st["unit_id"]).to_numpy()
        said = st["black_status"].to_numpy()
        claims += int((said != "cannot_tell").sum())
        wrong += int(((said == "in") & ~truly_black).sum() + ((said == "out") & truly_black).sum())
    coverage = np.concatenate(naive).mean()
    assert coverage < 0.5, coverage  # what a zero-width interval would have claimed at 95 %
    assert declined == 4 * 60
    assert wrong == 0 and claims == 0
