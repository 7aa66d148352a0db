"""Values of a result as plain Python for the JSON form of an explanation: None for missing."""

from __future__ import annotations

import math
import re

import pandas as pd

from ..data.write import DIRECTION_CONTROLS

__all__ = ["as_float", "as_int", "as_text", "inert_json", "inert_text"]

#: Characters a terminal acts on rather than shows: C0 controls but the line feed, DEL, C1
#: controls (CSI U+009B starts an escape sequence like ESC [), the line and paragraph
#: separators, and the bidirectional marks, embeddings, overrides and isolates that reorder
#: what follows them (U+202E would show "U01 ‮gnaw" as "U01 gnaw" reversed).
_ACTIVE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029" + DIRECTION_CONTROLS + "]")


def as_float(x) -> float | None:
    """A plain float for the dict form (None for missing), so it serialises as JSON."""
    if x is None or x is pd.NA:
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def as_int(x) -> int | None:
    value = as_float(x)
    return None if value is None else int(value)


def as_text(x) -> str | None:
    if x is None or (not isinstance(x, str) and pd.isna(x)):
        return None
    return str(x)


def inert_text(text: str) -> str:
    """Text for a terminal with every active character spelled out (``\\x1b``, ``\\u202e``).

    Names come from the data; an escape sequence or a right-to-left override in one
    would otherwise recolour, clear or reorder the explanation around it. Line feeds
    stay (they separate the explanation's lines); everything else is shown as Python
    writes it in a string literal, so the name can still be read and searched for.
    """
    return _ACTIVE.sub(lambda m: repr(m.group())[1:-1], text)


def inert_json(text: str) -> str:
    """JSON text with the same characters as ``\\uXXXX`` escapes: the same JSON, inert on a terminal.

    `json.dumps` escapes the C0 controls already; C1 controls and bidirectional
    characters would pass raw. Inside a JSON string any character may be escaped.
    """
    return _ACTIVE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
