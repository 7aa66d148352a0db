"""What the report shows, checked on the fragments the notebook displays."""

from __future__ import annotations

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


def test_data_overview_shows_the_manifests_hashes(tiny_params):
    from honorcalc.data.write import file_sha256
    from honorcalc.runs.manifest import params_sha256

    view = _view(tiny_params)
    shown = present.data_overview(view)
    assert file_sha256(tiny_params.parent / "tiny" / "scores.csv") in shown
    assert params_sha256(view.params.to_dict()) in shown
