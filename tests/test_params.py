"""Parameters: defaults are RULES.md §1; every mistake is one ParamError naming the parameter."""

from __future__ import annotations

from pathlib import Path

import pytest

from honorcalc.errors import ParamError
from honorcalc.params import Params, load_params, params_to_yaml


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return path


BASE = "dataset: data\nround: C2026Q1\n"


def test_defaults_are_the_rules():
    """RULES.md §1.3: "综合得分在90分以上且排名前十" / "70分以下且排名后十" / "五分之一";
    §1.4: "每次加3分 … 每次扣3分 … 每次加1分 … 每次扣1分"; "连续两次被黑榜通报"."""
    p = Params(dataset="d", round="r")
    assert (p.lists.red_min, p.lists.black_max) == (90, 70)
    assert p.lists.comprehensive_size == 10
    assert p.lists.special_share == pytest.approx(1 / 5)
    assert p.lists.tie_policy == "all_in"
    assert p.lists.precision == 2
    assert p.lists.ranking_scope == "group"
    assert (p.points.comprehensive_red, p.points.comprehensive_black) == (3, -3)
    assert (p.points.special_red, p.points.special_black) == (1, -1)
    assert p.escalation.consecutive == 2
    assert p.veto.satisfaction_min == 0.75 and p.veto.prerequisite_min == 85
    assert p.veto.action == "no_red"
    assert sum(p.weights.as_dict().values()) == pytest.approx(1)


def test_dataset_is_relative_to_the_params_file(tmp_path):
    p = load_params(write(tmp_path, BASE))
    assert p.dataset == str((tmp_path / "data").resolve())


def test_override_with_type_checking(tmp_path):
    path = write(tmp_path, BASE)
    p = load_params(path, ["weights.field=0.6", "lists.tie_policy=none_in", "lang=en"])
    assert p.weights.field == 0.6 and p.lists.tie_policy == "none_in" and p.lang == "en"
    with pytest.raises(ParamError, match="weights.field"):
        load_params(path, ["weights.field=heavy"])


@pytest.mark.parametrize(
    "text, parameter, words",
    [
        (BASE + "wieghts:\n  field: 0.5\n", "wieghts", "did you mean 'weights'"),
        (BASE + "weights:\n  feild: 0.5\n", "weights.feild", "did you mean 'weights.field'"),
        (BASE + "lists:\n  red_threshold: 85\n", "lists.red_threshold", "unknown key"),
        (BASE + "lists:\n  red_min: 60\n  black_max: 70\n", "lists", "must be above black_max"),
        (BASE + "weights:\n  field: -0.1\n", "weights.field", "greater than or equal to 0"),
        (BASE + "weights: {field: 0, daily: 0, feedback: 0, leader: 0, public: 0}\n", "weights", "sum to zero"),
        (BASE + "lists:\n  comprehensive_size: 0\n", "lists.comprehensive_size", "greater than or equal to 1"),
        (BASE + "lists:\n  special_share: 0\n", "lists.special_share", "greater than 0"),
        (BASE + "lists:\n  tie_policy: coin\n", "lists.tie_policy", "'all_in' or 'none_in'"),
        (BASE + "lists:\n  comprehensive_size: '10'\n", "lists.comprehensive_size", "valid integer"),
        (BASE + "lists:\n  comprehensive_size: 2.5\n", "lists.comprehensive_size", "valid integer"),
        (BASE + "lang: fr\n", "lang", "'zh' or 'en'"),
        ("dataset: data\n", "round", "required"),
        (BASE + "history:\n  weight: 0.3\n", "history", "rounds"),
        (BASE + "veto:\n  action: ban\n", "veto.action", "'no_red' or 'exclude'"),
    ],
)
def test_bad_parameters_name_the_parameter(tmp_path, text, parameter, words):
    with pytest.raises(ParamError) as info:
        load_params(write(tmp_path, text))
    message = str(info.value)
    assert f"parameter '{parameter}'" in message, message
    assert words in message, message
    assert "p.yaml" in message


def test_python_tags_are_refused_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    text = BASE + f"city: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(ParamError, match="invalid YAML"):
        load_params(write(tmp_path, text))
    assert not marker.exists()


def test_duplicate_keys_are_refused(tmp_path):
    with pytest.raises(ParamError, match="duplicate key 'round'"):
        load_params(write(tmp_path, BASE + "round: C2026Q2\n"))


def test_yaml_syntax_error_names_the_line(tmp_path):
    with pytest.raises(ParamError, match=r"p\.yaml:3"):
        load_params(write(tmp_path, BASE + "\tcity: x\n"))


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n"])
def test_params_must_be_a_mapping(tmp_path, text):
    with pytest.raises(ParamError, match="expected a mapping"):
        load_params(write(tmp_path, text))


def test_missing_params_file(tmp_path):
    with pytest.raises(ParamError, match="not found"):
        load_params(tmp_path / "nope.yaml")


def test_set_unknown_key_suggests(tmp_path):
    with pytest.raises(ParamError, match="did you mean 'lists.red_min'"):
        load_params(write(tmp_path, BASE), ["lists.red_mn=85"])
    with pytest.raises(ParamError, match="key=value"):
        load_params(write(tmp_path, BASE), ["weights.field"])


def test_resolved_parameters_round_trip(tmp_path):
    p = load_params(write(tmp_path, BASE + "city: 文明示范市\n"), ["weights.field=0.6"])
    again = write(tmp_path, params_to_yaml(p))
    assert load_params(again) == p
    assert "文明示范市" in params_to_yaml(p)


def test_readme_documents_every_parameter():
    """The README's table is generated from the model; regenerate it when a parameter changes:
    ``python -c "from honorcalc.params import parameters_markdown; print(parameters_markdown())"``."""
    from honorcalc.params import parameters_markdown

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert parameters_markdown() in readme


@pytest.mark.parametrize("key", ["resample_raters", "weight_concentration", "rank_interval", "certainty"])
def test_a_retired_fairness_key_says_what_became_of_it(tmp_path, key):
    """An analyst's old params file is refused with the reason, in the file and on the command line."""
    path = tmp_path / "p.yaml"
    path.write_text(f"dataset: .\nround: R1\nfairness:\n  {key}: 1\n", encoding="utf-8")
    with pytest.raises(ParamError, match=rf"fairness\.{key}.*retired"):
        load_params(path)
    with pytest.raises(ParamError, match="retired"):
        load_params(_plain(tmp_path), overrides=[f"fairness.{key}=1"])


def _plain(tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text("dataset: .\nround: R1\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("key, value", [("lists.red_min", ".nan"), ("weights.field", ".inf"),
                                        ("fairness.severity_min", "-.inf"), ("fairness.replicates", "1000000000"),
                                        ("fairness.null_cities", "10000000"), ("fairness.rank_draws", "10000000")])
def test_numbers_that_make_no_sense_are_refused(tmp_path, key, value):
    """NaN and ±inf pass every comparison silently; simulation sizes past their bound would exhaust memory."""
    with pytest.raises(ParamError, match=key.replace(".", r"\.")):
        load_params(_plain(tmp_path), overrides=[f"{key}={value}"])


# --------------------------------------------------------------------------- bounds of every number


@pytest.mark.parametrize("key, value, words", [
    ("lists.red_min", "-5", "greater than or equal to 0"),
    ("lists.red_min", "100.5", "less than or equal to 100"),
    ("lists.black_max", "150", "less than or equal to 100"),
    ("lists.black_max", "-1", "greater than or equal to 0"),
    ("lists.comprehensive_size", "100000000000000000000000000000", "less than or equal to"),
    ("lists.comprehensive_size", "1.0e29", "valid integer"),
    ("history.rounds", "100000000000000000000", "less than or equal to"),
    ("escalation.consecutive", "1000000", "less than or equal to"),
    ("weights.field", "1.0e+308", "less than or equal to"),
    ("points.comprehensive_red", "1.0e+300", "less than or equal to"),
    ("points.comprehensive_red", "-3", "greater than or equal to 0"),
    ("points.comprehensive_black", "3", "less than or equal to 0"),
    ("points.special_black", "-1.0e+300", "greater than or equal to"),
    ("negative_list.codes", "{N01: 1.0e+300}", "less than or equal to 100"),
    ("tiers.cuts", "[150, 80]", "less than or equal to 100"),
    ("tiers.cuts", "[90, -80]", "greater than or equal to 0"),
    ("fairness.funnel_levels", "[1.5]", "less than 1"),
    ("fairness.funnel_levels", "[0.2]", "greater than or equal to 0.5"),
    ("fairness.replicates", "1000000000", "less than or equal to"),
    ("fairness.permutations", "1000000000", "less than or equal to"),
    ("fairness.gstudy_bootstrap", "1000000000", "less than or equal to"),
    ("fairness.rank_draws", "1000000000", "less than or equal to"),
    ("fairness.null_cities", "1000000000", "less than or equal to"),
    ("fairness.rank_max_units", "1000000000", "less than or equal to"),
    ("fairness.rater_slots", "1000000000", "less than or equal to"),
    ("fairness.laggard_n", "1000000000", "less than or equal to"),
    ("fairness.severity_scale", "1.0e+300", "less than or equal to"),
    ("fairness.equivalence_margin", "1.0e+300", "less than or equal to"),
    ("fairness.confidence_level", "0.01", "greater than or equal to 0.5"),
    ("seed", "100000000000000000000000000000000000000", "less than or equal to"),
])
def test_numbers_out_of_their_range_are_refused(tmp_path, key, value, words):
    """Every number has a range that makes sense; a value outside it names the parameter."""
    with pytest.raises(ParamError) as info:
        load_params(_plain(tmp_path), overrides=[f"{key}={value}"])
    message = str(info.value)
    assert f"parameter '{key}" in message, message
    assert words in message, message


def _numeric_fields(model=None, prefix=""):
    """(dotted key, field) of every parameter holding numbers (bool excepted), however nested."""
    import typing

    from pydantic import BaseModel

    def holds_numbers(ann) -> bool:
        if ann in (int, float):
            return True
        return any(holds_numbers(arg) for arg in typing.get_args(ann) if not isinstance(arg, str))

    model = model or Params
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _numeric_fields(ann, f"{prefix}{name}.")
        elif holds_numbers(ann):
            yield f"{prefix}{name}", field


NUMERIC = list(_numeric_fields())


def test_the_numbers_are_all_found():
    assert len(NUMERIC) >= 50 and "tiers.cuts" in dict(NUMERIC) and "negative_list.codes" in dict(NUMERIC)


@pytest.mark.parametrize("key, field", NUMERIC, ids=[k for k, _ in NUMERIC])
def test_every_number_is_bounded_and_its_range_documented(key, field):
    """Each numeric parameter has a lower and an upper bound (on its items, for a list or mapping),
    and its description, which the README's table shows, states the range."""
    from honorcalc.params import numeric_range

    low, high, text = numeric_range(field)
    assert low is not None and high is not None, f"{key}: unbounded ({low}, {high})"
    assert text and text in (field.description or ""), f"{key}: range {text!r} not in {field.description!r}"


@pytest.mark.parametrize("key, value", [
    ("lists.red_min", ".nan"), ("lists.black_max", "-.inf"), ("points.comprehensive_red", ".inf"),
    ("points.special_black", "-.inf"), ("weights.field", ".inf"), ("history.weight", ".nan"),
    ("fairness.null_cities", "1000000000"), ("lists.comprehensive_size", "100000000000000000000000000000"),
    ("lists.red_min", "-5"), ("lists.black_max", "150"),
])
@pytest.mark.parametrize("how", ["--set", "file"])
def test_the_command_line_refuses_them_with_exit_2(tmp_path, tiny_params, capsys, key, value, how):
    """Through ``honorcalc run``: exit 2, one message naming the parameter, nothing written."""
    from .conftest import run_cli

    section, name = key.rsplit(".", 1) if "." in key else ("", key)
    args = ["run", tiny_params, "--out", tmp_path / "reports"]
    if how == "--set":
        args += ["--set", f"{key}={value}"]
    else:
        with open(tiny_params, "a", encoding="utf-8") as handle:
            handle.write(f"{section}:\n  {name}: {value}\n")
    code, out, err = run_cli(args, capsys)
    assert code == 2, err
    assert err.startswith("Error: ") and "Traceback" not in err, err
    assert f"parameter '{key}'" in err, err
    assert out == "" and not (tmp_path / "reports").exists()
