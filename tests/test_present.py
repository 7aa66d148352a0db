"""What the report shows, checked on the fragments the notebook displays."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest

from honorcalc.data.read import load_dataset
from honorcalc.params import load_params
from honorcalc.report import round_report as present
from honorcalc.report.view import build_view
from honorcalc.rules.evaluate import evaluate_round
from honorcalc.runs.pipeline import run_tables


def _view(tiny_params, overrides=()):
    """The round report's view of the tiny dataset, as `honorcalc run` builds it."""
    params = load_params(tiny_params, list(overrides))
    dataset = load_dataset(params.dataset)
    result = evaluate_round(dataset, params, params.round)
    return build_view(params, dataset, run_tables(params, dataset, result), result)


def test_lists_show_units_scores_and_points(tiny_params):
    view = _view(tiny_params)
    red = present.red_list(view)
    assert "东城区" in red and "92.00" in red and "+3" in red
    black = present.black_list(view)
    assert "市公安局" in black and "-3" in black


def test_empty_list_is_announced(tiny_params):
    view = _view(tiny_params, ["lists.red_min=99"])
    assert "当期不设红榜" in present.red_list(view)


def test_english_labels(tiny_params):
    view = _view(tiny_params, ["lang=en", "lists.red_min=99"])
    assert "no red list this round" in present.red_list(view)


def test_optional_practices_appear_only_when_switched_on(tiny_params):
    assert present.practices(_view(tiny_params)) == ""
    view = _view(tiny_params, ["tiers.method=cuts", "flags.enabled=true", "slips.enabled=true",
                               "pass_quota.share=0.5"])
    shown = present.practices(view)
    for words in ("好 / 较好 / 一般", "流动红旗", "三色责任单", "末位淘汰"):
        assert words in shown
    ranking = view.tables["ranking.csv"]
    assert {"tier", "flag", "slips", "passed"} <= set(ranking.columns)


def test_data_strings_are_escaped(tiny_params, tiny_dir):
    units = tiny_dir / "units.csv"
    units.write_text(units.read_text(encoding="utf-8").replace("东城区", "<b onclick=x>东城区</b>"),
                     encoding="utf-8")
    shown = present.red_list(_view(tiny_params))
    assert "<b onclick" not in shown and "&lt;b onclick=x&gt;东城区&lt;/b&gt;" in shown


def test_special_round_title_and_caps(tiny_params):
    view = _view(tiny_params, ["round=S2026-01a"])
    assert "“网申工作”专项测评红黑榜通报" in present.title(view)
    # RULES.md §1.3 "原则上不超过总测评单位数的五分之一": two units per group → ⌊2 × 0.2⌋ = 0
    assert "县区 2 家，至多 0 家" in present.red_list(view)


def test_the_appendix_shows_the_manifests_hashes(tiny_params):
    """The input tables' sha256 and the parameters' are the appendix's; the data overview shows nothing."""
    from honorcalc.data.write import file_sha256
    from honorcalc.runs.manifest import params_sha256

    view = _view(tiny_params)
    assert present.data_overview(view) == ""
    shown = present.appendix(view)
    assert file_sha256(tiny_params.parent / "tiny" / "scores.csv") in shown
    assert params_sha256(view.params.to_dict()) in shown


def _text(fragment) -> str:
    """The words a fragment shows: no tags, no style sheet, no embedded image."""
    fragment = re.sub(r"<style>.*?</style>", " ", str(fragment), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment)))


WORDED = ("title", "summary", "red_list", "black_list", "vetoes", "ties", "practices", "group_rankings")


def _shown(view, names=WORDED) -> str:
    return " ".join(_text(getattr(present, name)(view)) for name in names)


def test_summary_opens_with_a_paragraph(tiny_params):
    shown = _text(present.summary(_view(tiny_params)))
    assert shown.strip().startswith("概况 本期共测评4家单位，分2组排名。红榜2家，黑榜2家。"
                                    "1家单位被一票否决，但其得分本未达到红榜条件。")


@pytest.mark.parametrize("scope, words", [("kind", ("属地单位", "行业单位")), ("all", ("全部单位",))])
def test_ranking_scopes_are_shown_in_words(tiny_params, scope, words):
    """lists.ranking_scope kind or all: the ranking groups are industry, territorial or all in
    the rules' data, 行业单位, 属地单位 or 全部单位 in the report."""
    view = _view(tiny_params, [f"lists.ranking_scope={scope}", "tiers.method=cuts", "flags.enabled=true",
                               "pass_quota.share=0.5"])
    assert set(view.result.units["ranking_group"]) <= {"industry", "territorial", "all"}
    shown = _shown(view)
    for word in words:
        assert word in shown, word
    assert not re.search(r"\b(all|industry|territorial)\b", shown)
    view = _view(tiny_params, [f"lists.ranking_scope={scope}", "lang=en"])
    english = " ".join(str(getattr(present, name)(view)) for name in WORDED)
    assert not re.search(r">\s*(all|industry|territorial)\s*[<(:]", english)  # never a bare code
    assert "industry units" in english or "all units" in english


def test_tie_notes_name_the_units(tiny_params, tiny_dir):
    """东城区 and 西城区 on equal scores, one red place: the note names both, never their ids."""
    scores = tiny_dir / "scores.csv"
    frame = pd.read_csv(scores, dtype=str, keep_default_na=False)
    frame.loc[4, "points"], frame.loc[5, "points"] = "55", "38"
    frame.to_csv(scores, index=False)
    (tiny_dir / "deductions.csv").write_text("round_id,unit_id,code,points,role,verified,note\n", encoding="utf-8")
    shown = _text(present.ties(_view(tiny_params, ["lists.comprehensive_size=1"])))
    assert "县区红榜第 1 名并列（东城区、西城区）" in shown
    assert "001" not in shown and "002" not in shown


def test_a_special_round_says_special_score_everywhere(tiny_params):
    view = _view(tiny_params, ["round=S2026-01a", "lists.special_share=0.5", "tiers.method=cuts"])
    shown = _shown(view) + _text(present.fairness(view))
    assert "专项得分" in shown and "综合得分" not in shown
    comprehensive = _shown(_view(tiny_params))
    assert "综合得分" in comprehensive and "专项得分" not in comprehensive


def test_tiers_are_shown_for_every_unit(tiny_params):
    """好 / 较好 / 一般 per unit in the group rankings, in words of the report's language."""
    shown = _text(present.group_rankings(_view(tiny_params, ["tiers.method=cuts"])))
    assert "档次" in shown
    assert re.search(r"东城区 92\.00 好 红榜", shown) and re.search(r"市公安局 \d+\.\d\d 一般 黑榜", shown)
    english = _text(present.group_rankings(_view(tiny_params, ["tiers.method=cuts", "lang=en"])))
    assert "Tier" in english and " good " in english and " average " in english
    assert "好" not in english and "一般" not in english


def test_negative_list_items_are_shown_for_each_listed_unit(tiny_params):
    """东城区 (red) has deduction N01: its row names it, and the negative list marks it as its item."""
    red = _text(present.red_list(_view(tiny_params)))
    assert "扣分：N01 占道经营 −1分" in red and "较强类别：" in red  # a red unit: why it stands out
    with tiny_params.open("a", encoding="utf-8") as f:
        f.write("negative_list:\n  enabled: true\n  codes: {N01: 2}\n")
    view = _view(tiny_params)
    assert "扣分：N01 占道经营（负面清单） −2分" in _text(present.red_list(view))
    ranking = view.tables["ranking.csv"].set_index("unit_id")
    assert ranking["negative_list"].to_dict() == {"001": "N01", "002": "N01", "1": "", "NA": ""}


@pytest.mark.parametrize("action", ["no_red", "exclude"])
def test_a_vetoed_unit_is_described_truly(tiny_params, action):
    """市公安局 (satisfaction 35 / 50 = 70%) is vetoed and black-listed: the report never says it met
    the red conditions, says the veto leaves the black list alone, and keeps it on the black list."""
    view = _view(tiny_params, [f"veto.action={action}"])
    shown = _text(present.vetoes(view))
    assert "一票否决只取消红榜资格，不影响黑榜" in shown
    assert "市公安局" in shown and "未达到红榜条件" in shown and "已列入黑榜（一票否决不影响黑榜）" in shown
    assert "达到红榜条件，因一票否决未列入红榜" not in shown
    assert ("不参加红榜排名" in shown) == (action == "exclude")
    assert "市公安局" in _text(present.black_list(view))


def test_a_veto_that_took_a_red_place_says_so(tiny_params):
    """西城区 (97, rank 1; 70 / 80 = 87.5% satisfied) under a minimum of 88%: it met the red
    conditions and was not red-listed; its satisfaction is shown as compared, 87.5%, not 88%."""
    view = _view(tiny_params, ["veto.satisfaction_min=0.88"])
    shown = _text(present.vetoes(view))
    assert re.search(r"西城区 97\.00 群众满意率 87\.5%，低于 88% 达到红榜条件，因一票否决未列入红榜；保留名次，"
                     r"其后单位不递补", shown)
    assert "1家单位达到红榜条件，因一票否决未列入红榜。2家单位被一票否决，但其得分本未达到红榜条件。" in _text(
        present.summary(view))
