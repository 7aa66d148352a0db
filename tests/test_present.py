"""What the report shows, checked on the fragments the notebook displays."""

from __future__ import annotations

from honorcalc.report import round_report as present
from honorcalc.params import load_params


def _view(tiny_params, overrides=()):
    params = load_params(tiny_params, list(overrides))
    return present.prepare(parameters=params.to_dict())


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
    from honorcalc.runs.manifest import params_sha256
    from honorcalc.data.write import file_sha256

    view = _view(tiny_params)
    shown = present.data_overview(view)
    assert file_sha256(tiny_params.parent / "tiny" / "scores.csv") in shown
    assert params_sha256(view.params.to_dict()) in shown


def test_a_handed_over_view_is_taken_only_for_the_same_parameters(tiny_params, tmp_path):
    import pickle

    from honorcalc import __version__
    from honorcalc.report.execute import HANDOFF

    view = _view(tiny_params)
    (tmp_path / HANDOFF).write_bytes(pickle.dumps({"honorcalc": __version__, "view": view}))
    same = present.prepare(parameters=view.params.to_dict(), run_dir=str(tmp_path))
    assert same.tables["ranking.csv"].equals(view.tables["ranking.csv"])
    assert not (tmp_path / "ranking.csv").exists()  # honorcalc run wrote the tables already
    other = load_params(tiny_params, ["weights.field=0.6"])
    fresh = present.prepare(parameters=other.to_dict(), run_dir=str(tmp_path))
    assert fresh.params == other and (tmp_path / "ranking.csv").exists()



def test_a_handoff_of_another_version_kind_or_unreadable_is_ignored(tiny_params, tmp_path):
    import pickle

    from honorcalc import __version__
    from honorcalc.report.execute import HANDOFF

    view = _view(tiny_params)
    for package in ({"honorcalc": "0.0.0", "view": view}, {"honorcalc": __version__, "view": "a string"}, view):
        (tmp_path / HANDOFF).write_bytes(pickle.dumps(package))
        assert present.handed_over(tmp_path, view.params) is None
    (tmp_path / HANDOFF).write_bytes(b"not a pickle")
    assert present.handed_over(tmp_path, view.params) is None
    fresh = present.prepare(parameters=view.params.to_dict(), run_dir=str(tmp_path))
    assert fresh.tables["ranking.csv"].equals(view.tables["ranking.csv"])
