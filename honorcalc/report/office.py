"""What the Word notice and the Excel workbook share: stable archives, Chinese numbers and dates, clean text.

An Office file is a zip archive. python-docx and openpyxl stamp every member
with the time of saving; `honorcalc.data.write.stable_zip` rewrites the archive with one fixed
time, so the same inputs give the same bytes (the run's manifest hashes them,
and a rerun must give the same hash).
"""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction

__all__ = [
    "fixed_time", "chinese_number", "count_word", "share_words", "chinese_date",
    "clean_text", "display_width",
]

_DIGITS = "零一二三四五六七八九"
#: Characters that XML 1.0 (and so every Office file) cannot hold: C0 controls other than tab and line
#: feed, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")


def fixed_time(date) -> dt.datetime:
    """Midnight (UTC, naive) of ``date``: the time every file of a round is stamped with.

    Parameters
    ----------
    date : date, datetime, pandas.Timestamp or ``YYYY-MM-DD`` str
    """
    if isinstance(date, str):
        date = dt.date.fromisoformat(date[:10])
    if hasattr(date, "to_pydatetime"):
        date = date.to_pydatetime()
    if isinstance(date, dt.datetime):
        date = date.date()
    return dt.datetime(date.year, date.month, date.day)


def chinese_number(n: int) -> str:
    """``n`` in Chinese numerals, as 通报 write ordinals and counts: 一, 十, 十二, 二十, 九十九.

    Numbers from 100 up, and negative ones, are written in Arabic digits.

    >>> chinese_number(10), chinese_number(12), chinese_number(40), chinese_number(150)
    ('十', '十二', '四十', '150')
    """
    n = int(n)
    if n < 0 or n >= 100:
        return str(n)
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _DIGITS[ones]
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")


def count_word(n: int) -> str:
    """A count before a measure word: 两 for 2 (连续两次), otherwise `chinese_number`."""
    return "两" if int(n) == 2 else chinese_number(n)


def share_words(share: float) -> str:
    """A share as RULES.md writes it: 0.2 → 五分之一, 0.25 → 四分之一, 0.3 → 十分之三, 0.6 → 五分之三.

    A share with no small fraction (denominator above 100) is written as a percentage.
    """
    frac = Fraction(str(share)).limit_denominator(1000)
    if float(frac) != float(share) or frac.denominator > 100 or frac.numerator <= 0:
        return f"{float(share) * 100:g}%"
    if frac.denominator == 1:
        return "全部"
    return f"{chinese_number(frac.denominator)}分之{chinese_number(frac.numerator)}"


def chinese_date(date) -> str:
    """A date as a 通报 is dated (GB/T 9704: Arabic digits, no leading zeros): 2026年6月30日."""
    d = fixed_time(date)
    return f"{d.year}年{d.month}月{d.day}日"


def clean_text(value) -> str:
    """``value`` as text an Office file can hold: characters XML cannot carry removed, tabs as spaces."""
    text = "" if value is None else str(value)
    return _NOT_XML.sub("", text.replace("\t", " "))


def display_width(text: str) -> int:
    """Columns ``text`` takes in a fixed-width layout: 2 for a CJK or full-width character, 1 otherwise."""
    return sum(2 if ord(ch) >= 0x1100 else 1 for ch in str(text))
