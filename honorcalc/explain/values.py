"""Values of a result as plain Python for the JSON form of an explanation: None for missing."""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["as_float", "as_int", "as_text"]


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
