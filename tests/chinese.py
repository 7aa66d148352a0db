"""What "said in Chinese" means in the tests: no English sentence left, every place and value kept."""

from __future__ import annotations

import re

from honorcalc.messages import UNTRANSLATED_ZH

_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|“[^”\n]*”")
_PATH = re.compile(r"\S*[/\\]\S*|[\w.\-]+\.(?:csv|xlsx|xls|parquet|yaml|yml|json|jsonl|lock|zip|txt)\b")
_ASCII_ASIDE = re.compile(r"（[\x20-\x7e]*）")  # a reason from the system or a library, kept as given
_WORDS = re.compile(r"\b[A-Za-z][a-z]+(?: [a-z]{2,})+\b")  # "is not", "Input should be": English left


def english_left(text: str) -> list[str]:
    """English words left in a Chinese message, placeholders set aside (empty: fully translated)."""
    bare = _ASCII_ASIDE.sub("", _PATH.sub("", _QUOTED.sub("", text)))
    return _WORDS.findall(bare) + ([UNTRANSLATED_ZH] if UNTRANSLATED_ZH in text else [])


def assert_kept(en: str, zh: str) -> None:
    """The places and values of the English message are all in the Chinese one."""
    body = en.removeprefix("Error: ")
    for file, row in re.findall(r"(?:^|\n\s*)(\S+?):(\d+)(?=: )", body):
        assert f"{file} 第 {row} 行" in zh, (file, row, zh)
    for column in re.findall(r"column '([^'\n]*)'", body):
        assert f"列「{column}」" in zh, (column, zh)
    for parameter in re.findall(r"parameter '([^'\n]*)'", body):
        assert f"参数「{parameter}」" in zh, (parameter, zh)
    for value in re.findall(r", got ('[^'\n]*'|-?[0-9][0-9.e+-]*|-?inf)$", body, re.MULTILINE):
        assert f"实际为 {value}" in zh, (value, zh)


def assert_chinese(en: str, zh: str) -> None:
    assert zh.startswith("错误："), zh
    assert english_left(zh) == [], f"English left in:\n{zh}\n(from:\n{en})"
    assert len(zh.splitlines()) == len(en.splitlines()), (en, zh)
    assert_kept(en, zh)


