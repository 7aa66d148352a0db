"""Messages in the user's language: every refusal of the hostile catalogues is said in Chinese.

The cases are those of tests/test_hostile.py (through the command line), tests/test_validation.py,
tests/test_params.py (their case tables), tests/test_limits.py and tests/test_workbook.py (run
whole, recording every error raised); none of their messages is copied here. A message is fully translated when, once
its placeholders are set aside (quoted values, paths and file names, ids, column and parameter
names, numbers, units), no English words are left; and it keeps its places and values: the file
and row, the column, the parameter and the value found. ``--lang en`` and ``lang: en`` give
today's English, unchanged.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from honorcalc.data.read import load_dataset
from honorcalc.errors import InputError, ParamError, ValidationError
from honorcalc.messages import (
    EXPECTED,
    MESSAGES,
    NOTICES,
    UNTRANSLATED_ZH,
    localize_error,
    localize_message,
    localize_notice,
)
from honorcalc.params import load_params

from . import test_hostile, test_params, test_validation
from .chinese import assert_chinese, english_left
from .conftest import run_cli, tiny_tables, write_tables

ROOT = Path(__file__).resolve().parent.parent


def test_the_check_of_translation_sees_english():
    assert english_left("错误：units.csv：is empty; expected a header row") != []
    assert english_left("错误：" + UNTRANSLATED_ZH + "x") != []
    assert english_left("错误：scores.csv 第 6 行：列「points」：应为数字，实际为 'about 100'") == []
    assert english_left("错误：/tmp/a b/data/inputs.zip：不是可读取的 ZIP 压缩包（File is not a zip file）") == []


# --------------------------------------------------------------------------- the hostile catalogue, end to end


# the refusals of the hostile catalogue are said in Chinese: tests/test_hostile.py checks both languages


@pytest.mark.parametrize("name", sorted(n for n, c in test_hostile.NORMALISED.items() if c.notices))
def test_every_notice_is_said_in_chinese(tmp_path, name):
    test_hostile.NORMALISED[name].make(tmp_path)
    notices = load_dataset(test_hostile.data_dir(tmp_path)).notices
    assert notices
    for notice in notices:
        zh = localize_notice(notice, "zh")
        assert english_left(zh) == [], (notice, zh)
        assert notice.split(":")[0] in zh  # the file
        assert localize_notice(notice, "en") == notice


# --------------------------------------------------------------------------- validation and parameters


@pytest.mark.parametrize("case", sorted(test_validation.CASES))
def test_every_contract_violation_is_said_in_chinese(tmp_path, case):
    edit = test_validation.CASES[case][0]
    tables = tiny_tables()
    edit(tables)
    with pytest.raises(ValidationError) as info:
        load_dataset(write_tables(tmp_path / "bad", tables))
    zh = localize_error(info.value, "zh")
    assert_chinese(localize_error(info.value, "en"), zh)


def _parametrized(test, index=0):
    marks = [m for m in test.pytestmark if m.name == "parametrize"]
    return marks[index].args[1]


@pytest.mark.parametrize("text, parameter, words", _parametrized(test_params.test_bad_parameters_name_the_parameter))
def test_every_bad_parameter_is_said_in_chinese(tmp_path, text, parameter, words):
    with pytest.raises(ParamError) as info:
        load_params(test_params.write(tmp_path, text))
    zh = localize_error(info.value, "zh")
    assert_chinese(localize_error(info.value, "en"), zh)
    assert f"参数「{parameter}」" in zh


@pytest.mark.parametrize("key, value", _parametrized(test_params.test_the_command_line_refuses_them_with_exit_2, 1))
def test_bad_overrides_are_said_in_chinese_on_the_command_line(tmp_path, tiny_params, capsys, key, value):
    code, out, err = run_cli(["run", tiny_params, "--out", tmp_path / "r", "--set", f"{key}={value}"], capsys,
                             lang="zh")
    assert code == 2 and out == ""
    assert err.startswith("错误：") and english_left(err) == [], err
    assert f"参数「{key}」" in err


# --------------------------------------------------------------------------- tests/test_limits.py, recorded

_RECORDER = textwrap.dedent("""\
    import json, sys
    import pytest
    import honorcalc.errors as errors
    from honorcalc.data.contract import Dataset
    from honorcalc.messages import localize_error, localize_notice

    seen, notices = [], set()
    original, dataset = errors.HonorcalcError.__init__, Dataset.__init__

    def recording(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen.append(self)

    def recording_notices(self, *args, **kwargs):
        dataset(self, *args, **kwargs)
        notices.update(self.notices)

    errors.HonorcalcError.__init__ = recording
    Dataset.__init__ = recording_notices
    code = pytest.main(["-q", "-p", "no:cacheprovider", "-m", "not slow", *sys.argv[2:]])
    out = {
        "code": int(code),
        "errors": [{"en": localize_error(e, "en"), "zh": localize_error(e, "zh")} for e in seen],
        "notices": [{"en": n, "zh": localize_notice(n, "zh")} for n in sorted(notices)],
    }
    with open(sys.argv[1], "w", encoding="utf-8") as handle:
        json.dump(out, handle, ensure_ascii=False)
""")


#: Test files run whole (but for tests that refuse nothing), each with the least number of errors its cases raise.
RECORDED = {
    "tests/test_limits.py": (30, "not the_demo_city_fits"),
    "tests/test_workbook.py": (20, "not demo_workbook and not archives_it_and_verifies"),
}


@pytest.mark.parametrize("tests", sorted(t for t in RECORDED if (ROOT / t).exists()))
def test_every_error_raised_by_a_test_file_is_said_in_chinese(tmp_path, tests):
    """The test file runs whole in a child process that records every error raised (those the
    tests expect included) and every notice of a dataset read, then says each in both languages."""
    record = tmp_path / "errors.json"
    least, selected = RECORDED[tests]
    done = subprocess.run([sys.executable, "-c", _RECORDER, str(record), tests, "-k", selected],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert record.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    errors = json.loads(record.read_text(encoding="utf-8"))["errors"]
    assert len(errors) >= least
    for error in errors:
        assert_chinese(error["en"], error["zh"])
    for notice in json.loads(record.read_text(encoding="utf-8"))["notices"]:
        assert english_left(notice["zh"]) == [], notice


# --------------------------------------------------------------------------- exact Chinese of typical messages


def _case(**kw) -> ValidationError:
    return ValidationError(pd.DataFrame([{"file": None, "row": None, "column": None, "value": None, **kw}]))


TYPICAL = [
    (_case(file="测评数据.xlsx", sheet="评分-C2026Q2", cell="F17", row=17, column="得分", value="缺",
           expected="a number ≥ 0"),
     "错误：测评数据.xlsx › 评分-C2026Q2 › F17：列「得分」：应为不小于 0 的数，实际为 '缺'"),
    (_case(file="scores.csv", row=6, column="points", value="缺", expected="a number"),
     "错误：scores.csv 第 6 行：列「points」：应为数字，实际为 '缺'"),
    (_case(file="units.csv", row=1, column="group", expected="a column with this name in the header row (required)"),
     "错误：units.csv 第 1 行：列「group」：表头（第 1 行）缺少此列，该列必须填写"),
    (_case(file="scores.csv", row=2, column="unit_id", value="００１",
           expected="a unit_id listed in units.csv (did you mean '001'? ids are compared exactly: case and "
                    "full-width characters count)"),
     "错误：scores.csv 第 2 行：列「unit_id」：应为 units.csv 中已列出的 unit_id（是否应为 '001'？"
     "编号按原样比较，大小写和全角、半角都有区别），实际为 '００１'"),
    (_case(file="surveys.csv", row=3, column="satisfied", value=51.0, expected="at most respondents (50)"),
     "错误：surveys.csv 第 3 行：列「satisfied」：不应超过受访人数 respondents（50），实际为 51"),
    (ValidationError(pd.DataFrame({
        "file": ["units.csv", "scores.csv"], "row": [2.0, 6.0], "column": ["kind", "points"],
        "value": ["district", "缺"], "expected": ["one of industry | territorial", "a number"]})),
     "错误：数据有 2 处不符合要求：\n"
     "  units.csv 第 2 行：列「kind」：应为以下之一：industry | territorial，实际为 'district'\n"
     "  scores.csv 第 6 行：列「points」：应为数字，实际为 '缺'"),
    (InputError("required table 'units' is missing: expected units.csv, units.xlsx or units.parquet "
                "(or 单位.csv, .xlsx, .parquet)", file="data"),
     "错误：data：缺少必需的表 units：应有 units.csv、units.xlsx 或 units.parquet（或 单位.csv、.xlsx、.parquet）"),
    (InputError("the delimiter looks wrong: the header row has no commas but 4 semicolons; save the file as "
                "comma-separated CSV (Excel: 'CSV UTF-8 (Comma delimited)')", file="units.csv", row=1),
     "错误：units.csv 第 1 行：分隔符有误：表头行中没有逗号，却有 4 个分号；请将文件另存为以逗号分隔的 CSV"
     "（Excel：“CSV UTF-8（逗号分隔）”）"),
    (InputError("is 0.1 MB, above the limit of 0.05 MB for one table file: split the data (one dataset per "
                "city) or raise the limit with the environment variable HONORCALC_MAX_FILE_MB", file="scores.csv"),
     "错误：scores.csv：大小为 0.1 MB，超过单个表文件 0.05 MB 的上限：请拆分数据（每个城市一套数据），"
     "或用环境变量 HONORCALC_MAX_FILE_MB 调高上限"),
    (ParamError("Input should be greater than or equal to 0, got -1", file="p.yaml", parameter="seed"),
     "错误：p.yaml：参数「seed」：应大于或等于 0，实际为 -1"),
    (ParamError("invalid YAML: duplicate key 'round'", file="p.yaml:3"),
     "错误：p.yaml 第 3 行：YAML 格式有误：键 'round' 重复"),
    (ParamError("unknown key; did you mean 'lists.red_min'? (valid here: black_max, red_min)", file="p.yaml",
                parameter="lists.red_minimum"),
     "错误：p.yaml：参数「lists.red_minimum」：未知的键；是否应为 'lists.red_min'？（此处可用：black_max, red_min）"),
    (InputError("round 'C2026Q1' is already published (ledger entry 3); to replace it, publish again with "
                "--supersede --reason \"…\""),
     "错误：测评轮次 'C2026Q1' 已经发布（台账第 3 条）；如需替换，请加 --supersede --reason \"…\" 重新发布"),
]


@pytest.mark.parametrize("err, zh", TYPICAL, ids=[zh[3:20] for _, zh in TYPICAL])
def test_typical_messages_in_chinese(err, zh):
    assert localize_error(err, "zh") == zh
    assert localize_error(err, "en") == f"Error: {err}"


def test_notices_in_chinese():
    assert localize_notice("units.csv: read column name(s) 'Unit_ID' as 'unit_id', 'KIND' as 'kind'") == \
        "units.csv：已将列名 'Unit_ID' 读作 'unit_id'、'KIND' 读作 'kind'"
    assert localize_notice("scores.csv: ignored 3 blank row(s) (rows 6, 7, 16)") == \
        "scores.csv：已忽略 3 个空行（第 6、7、16 行）"


def test_an_unknown_english_text_is_shown_whole_and_said_so():
    err = InputError("the moon is made of cheese", file="units.csv", row=3)
    assert localize_error(err, "zh") == f"错误：{UNTRANSLATED_ZH}units.csv:3: the moon is made of cheese"
    assert localize_message("no such thing") == UNTRANSLATED_ZH + "no such thing"
    assert localize_notice("x.csv: something new") == UNTRANSLATED_ZH + "x.csv: something new"
    # a known message holding an unknown clause is not half translated
    assert localize_message("invalid YAML: something odd") == UNTRANSLATED_ZH + "invalid YAML: something odd"


def test_the_catalogue_is_data_one_entry_per_shape():
    for catalogue in (MESSAGES, EXPECTED, NOTICES):
        english = [en for en, _ in catalogue]
        assert len(english) == len(set(english))
        for en, zh in catalogue:
            names = set(re.findall(r"\{(\w+)(?::\w+)?\}", en))
            assert set(re.findall(r"\{(\w+)\}", zh)) <= names, en  # no placeholder made up


# --------------------------------------------------------------------------- the command line


def _bad_params(tmp_path, body: str = "", name: str = "p.yaml") -> Path:
    """A params file ``name`` (with ``body`` added) of a dataset ``data`` beside it whose scores.csv row 6
    has '缺' for its points (the data written once)."""
    if not (tmp_path / "data").exists():
        tables = tiny_tables()
        tables["scores"].loc[4, "points"] = "缺"
        write_tables(tmp_path / "data", tables)
    params = tmp_path / name
    params.write_text("dataset: data\nround: C2026Q1\n" + body, encoding="utf-8")
    return params


@pytest.mark.parametrize("body, lang, expected", [
    ("", None, "错误：scores.csv 第 6 行：列「points」：应为数字，实际为 '缺'\n"),
    ("lang: en\n", None, "Error: scores.csv:6: column 'points': expected a number, got '缺'\n"),
    ("lang: 'en'  # English\n", None, "Error: scores.csv:6: column 'points': expected a number, got '缺'\n"),
    ("lang: en\n", "zh", "错误：scores.csv 第 6 行：列「points」：应为数字，实际为 '缺'\n"),
    ("lang: zh\n", "en", "Error: scores.csv:6: column 'points': expected a number, got '缺'\n"),
])
def test_the_language_of_a_run(tmp_path, capsys, monkeypatch, body, lang, expected):
    """Chinese by default; the params file's ``lang: en`` gives today's English; ``--lang`` wins."""
    monkeypatch.delenv("HONORCALC_LANG", raising=False)
    params = _bad_params(tmp_path, body)
    args = (["--lang", lang] if lang else []) + ["run", params, "--out", tmp_path / "reports"]
    code, out, err = run_cli(args, capsys, lang=None)
    assert (code, out, err) == (2, "", expected)


def test_set_lang_en_gives_english(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HONORCALC_LANG", raising=False)
    params = _bad_params(tmp_path)
    code, _, err = run_cli(["run", params, "--set", "lang=en", "--out", tmp_path / "r"], capsys, lang=None)
    assert code == 2 and err.startswith("Error: scores.csv:6:")


def test_a_broken_params_file_still_gives_the_params_error(tmp_path, capsys, monkeypatch):
    """The language is looked for without parsing: a broken YAML is reported by the params reader."""
    monkeypatch.delenv("HONORCALC_LANG", raising=False)
    params = tmp_path / "p.yaml"
    params.write_text("dataset: data\nround: C2026Q1\nlang: en\nround: C2026Q2\n", encoding="utf-8")
    code, _, err = run_cli(["run", params, "--out", tmp_path / "r"], capsys, lang=None)
    assert code == 2 and err == f"Error: {params}:4: invalid YAML: duplicate key 'round'\n"
    params.write_text("lang: en\nweights: !include x.yaml\n", encoding="utf-8")
    code, _, err = run_cli(["run", params, "--out", tmp_path / "r"], capsys, lang=None)
    assert code == 2 and err.startswith(f"Error: {params}:2: invalid YAML"), err
    params.write_text("lang: en\nlang: zh\n", encoding="utf-8")  # two answers: neither taken
    code, _, err = run_cli(["run", params, "--out", tmp_path / "r"], capsys, lang=None)
    assert code == 2 and err.startswith(f"错误：{params} 第 2 行：YAML 格式有误：键 'lang' 重复"), err


def test_the_language_does_not_leak_between_commands(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HONORCALC_LANG", raising=False)
    _bad_params(tmp_path, "lang: en\n", "en.yaml")
    _bad_params(tmp_path, name="zh.yaml")
    assert run_cli(["run", tmp_path / "en.yaml"], capsys, lang=None)[2].startswith("Error: ")
    assert run_cli(["run", tmp_path / "zh.yaml"], capsys, lang=None)[2].startswith("错误：")


@pytest.mark.parametrize("args, zh, en", [
    (["run"], "错误：缺少参数 PARAMS.yaml。", "Error: Missing argument 'PARAMS.yaml'."),
    (["run", "p.yaml", "--frobnicate"], "错误：没有选项 --frobnicate。", "Error: No such option '--frobnicate'."),
    (["frobnicate"], "错误：没有命令 frobnicate。", "Error: No such command 'frobnicate'."),
    (["run", "p.yaml", "--jobs", "2"], "错误：没有选项 --jobs。", "Error: No such option '--jobs'."),
    (["batch", "p.yaml", "--jobs", "0"], "错误：--jobs（-j）的值无效：0 不在范围 x>=1 之内。",
     "Error: Invalid value for '--jobs' / '-j': 0 is not in the range x>=1."),
    (["--lang", "fr", "demo"], "错误：--lang 的值无效：'fr' 不在可选值 'zh', 'en' 之中。",
     "Error: Invalid value for '--lang': 'fr' is not one of 'zh', 'en'."),
])
def test_usage_errors_in_chinese(capsys, monkeypatch, args, zh, en):
    monkeypatch.delenv("HONORCALC_LANG", raising=False)
    code, _, err = run_cli(args, capsys, lang=None)
    assert code == 2
    assert err.rstrip("\n").splitlines()[-1] == zh, err
    assert "Usage:" not in err and (err.startswith("用法：honorcalc") or err.startswith("错误："))
    code, _, err = run_cli(args, capsys, lang="en")
    assert code == 2 and err.rstrip("\n").splitlines()[-1] == en, err


def test_interrupt_and_memory_lines_in_chinese(capsys, monkeypatch):
    import honorcalc.cli as cli

    monkeypatch.delenv("HONORCALC_LANG", raising=False)
    for raised, code, zh, en in [
        (KeyboardInterrupt, 130, "已中断，未写入任何文件。", "Interrupted; nothing was written."),
        (MemoryError, 2, "错误：计算时内存不足，未写入任何文件。", "Error: the computation ran out of memory"),
    ]:
        def boom(*args, raised=raised, **kwargs):
            raise raised

        monkeypatch.setattr(cli.cli, "main", boom)
        got, _, err = run_cli(["demo"], capsys, lang=None)
        assert got == code and err.startswith(zh) and english_left(err) == [], err
        monkeypatch.setenv("HONORCALC_LANG", "en")
        got, _, err = run_cli(["demo"], capsys, lang="en")
        assert got == code and err.startswith(en), err
        monkeypatch.delenv("HONORCALC_LANG")


def test_a_batch_says_its_failed_runs_in_the_language_asked(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HONORCALC_LANG", raising=False)
    params = _bad_params(tmp_path)
    code, out, _ = run_cli(["batch", params, "--jobs", "1", "--out", tmp_path / "r"], capsys, lang=None)
    assert code == 2
    assert out == f"失败 {params}：scores.csv 第 6 行：列「points」：应为数字，实际为 '缺'\n"
    _bad_params(tmp_path, "lang: en\n")
    code, out, _ = run_cli(["batch", params, "--jobs", "1", "--out", tmp_path / "r"], capsys, lang=None)
    assert code == 2
    assert out == f"FAILED {params}: scores.csv:6: column 'points': expected a number, got '缺'\n"


def test_verify_speaks_the_users_language(tiny_params, tmp_path, capsys):
    """verify's findings in Chinese by default, and as before with --lang en."""
    code, out, err = run_cli(["run", tiny_params, "--out", tmp_path / "reports"], capsys)
    run_dir = Path(out.strip()).parent
    code, out, _ = run_cli(["verify", run_dir], capsys, lang=None)
    assert code == 0 and out.startswith("核验通过：")
    with (run_dir / "report.html").open("a", encoding="utf-8") as handle:
        handle.write("<!-- edited -->")
    code, out, _ = run_cli(["verify", run_dir], capsys, lang=None)
    assert code == 1 and "不一致：输出文件 report.html 在运行之后被改动" in out and english_left(out) == []
    code, out, _ = run_cli(["verify", run_dir], capsys, lang="en")
    assert code == 1 and out.startswith("DIFFERS: output report.html was changed after the run")
