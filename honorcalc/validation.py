"""The dataset contract (DESIGN.md), checked in one lazy pass.

`validate_tables` takes the text frames `honorcalc.io` read and returns a typed,
frozen `Dataset`, or raises one `ValidationError` listing *every* violation with
its file, spreadsheet row, column, the bad value and what was expected (pandera
``SchemaErrors.failure_cases`` style).

Checks run in three layers, each vectorized:

1. text (pandera, lazy): required columns present, required cells not blank,
   numbers that parse, allowed values, ISO dates, booleans;
2. typed (pandera, lazy): ranges (points ≥ 0, max_points > 0, respondents > 0 …);
3. across rows and tables: unknown ids, points ≤ the indicator's max_points,
   satisfied ≤ respondents, special rounds need a topic, duplicates.

Cells whose meaning is unambiguous are normalised, and each normalisation is
reported in `Dataset.notices` (and so in the run's manifest): surrounding spaces,
full-width digits (９０ → 90), Chinese names of allowed values (行业 → industry),
and exact duplicate rows, which are counted once. Exact duplicate *deductions*
are refused instead: two identical deduction rows may be two separate violations,
so the user must tell them apart (in ``note``) or remove one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from .errors import ValidationError
from .params import SOURCES

__all__ = ["Col", "CONTRACT", "KEYS", "Dataset", "validate_tables", "empty_table"]


@dataclass(frozen=True)
class Col:
    """One column of the contract.

    ``kind`` is ``id`` or ``text`` (strings), ``number``, ``choice``, ``date`` or
    ``bool``. ``low``/``low_open`` bound numbers from below (inclusive unless
    ``low_open``). ``aliases`` map other spellings of a choice to its value.
    """

    name: str
    kind: str
    required: bool = True
    choices: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()
    low: float | None = None
    low_open: bool = False


CONTRACT: dict[str, tuple[Col, ...]] = {
    "units": (
        Col("unit_id", "id"),
        Col("name", "text"),
        Col("kind", "choice", choices=("industry", "territorial"),
            aliases=(("行业", "industry"), ("属地", "territorial"))),
        Col("group", "text"),
        Col("size", "number", required=False, low=0),
    ),
    "indicators": (
        Col("indicator_id", "id"),
        Col("name", "text"),
        Col("category", "text"),
        Col("max_points", "number", low=0, low_open=True),
        Col("topic", "text", required=False),
    ),
    "rounds": (
        Col("round_id", "id"),
        Col("kind", "choice", choices=("comprehensive", "special"),
            aliases=(("综合", "comprehensive"), ("综合测评", "comprehensive"),
                     ("专项", "special"), ("专项测评", "special"))),
        Col("topic", "text", required=False),
        Col("date", "date"),
    ),
    "scores": (
        Col("round_id", "id"),
        Col("unit_id", "id"),
        Col("indicator_id", "id"),
        Col("rater_id", "id"),
        Col("source", "choice", choices=SOURCES,
            aliases=(("实地考察", "field"), ("实地", "field"), ("日常动态", "daily"),
                     ("日常", "daily"), ("上级反馈", "feedback"), ("上级部门反馈", "feedback"),
                     ("领导督导", "leader"), ("市级领导督导", "leader"),
                     ("群众监督", "public"), ("群众监督举报", "public"))),
        Col("points", "number", low=0),
        Col("visit", "choice", required=False, choices=("open", "covert"),
            aliases=(("明查", "open"), ("暗访", "covert"))),
    ),
    "deductions": (
        Col("round_id", "id"),
        Col("unit_id", "id"),
        Col("code", "id"),
        Col("points", "number", low=0, low_open=True),
        Col("role", "choice", choices=("primary", "joint"),
            aliases=(("主责", "primary"), ("主要责任", "primary"),
                     ("连带", "joint"), ("连带责任", "joint"))),
        Col("verified", "bool", required=False),
        Col("note", "text", required=False),
    ),
    "surveys": (
        Col("round_id", "id"),
        Col("unit_id", "id"),
        Col("respondents", "number", low=0, low_open=True),
        Col("satisfied", "number", low=0),
    ),
}

#: Columns that identify a row; ``None``: rows have no natural key.
KEYS: dict[str, tuple[str, ...] | None] = {
    "units": ("unit_id",),
    "indicators": ("indicator_id",),
    "rounds": ("round_id",),
    "scores": ("round_id", "unit_id", "indicator_id", "rater_id", "source"),
    "deductions": None,
    "surveys": ("round_id", "unit_id"),
}

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_DATE = r"\d{4}-\d{2}-\d{2}"
_TRUE = ("true", "yes", "y", "1", "是", "t")
_FALSE = ("false", "no", "n", "0", "否", "f")


@dataclass(frozen=True)
class Dataset:
    """A validated dataset: typed frames, the files they came from, and notices.

    Ids and text are ``str``; numbers ``float64``; ``rounds.date`` is
    ``datetime64``; ``deductions.verified`` is ``bool``; blank optional cells are
    NaN. Optional tables that were not given are empty frames with the contract's
    columns. Each frame keeps its original row labels (spreadsheet row − 2).
    """

    units: pd.DataFrame
    indicators: pd.DataFrame
    rounds: pd.DataFrame
    scores: pd.DataFrame
    deductions: pd.DataFrame
    surveys: pd.DataFrame
    files: dict[str, str] = field(default_factory=dict)
    formats: dict[str, dict] = field(default_factory=dict)
    notices: tuple[str, ...] = ()

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)


def empty_table(name: str) -> pd.DataFrame:
    """A typed, empty frame with the contract's columns of table ``name``."""
    return _typed(pd.DataFrame({c.name: pd.Series(dtype=str) for c in CONTRACT[name]}), name)


# --------------------------------------------------------------------------- normalising


def _normalise(frame: pd.DataFrame, table: str, file: str, notices: list[str]) -> pd.DataFrame:
    """Strip spaces everywhere; NFKC numbers and dates; map choice aliases."""
    out = frame.copy()
    stripped = 0
    for column in out.columns:
        s = out[column]
        t = s.str.strip()
        stripped += int((t != s).sum())
        out[column] = t
    if stripped:
        notices.append(f"{file}: removed surrounding spaces from {stripped} cell(s)")
    for col in CONTRACT[table]:
        if col.name not in out.columns:
            continue
        s = out[col.name]
        if col.kind in ("number", "date"):
            t = s.str.normalize("NFKC")
            changed = int((t != s).sum())
            if changed:
                notices.append(
                    f"{file}: column '{col.name}': read {changed} full-width number(s) as ASCII"
                )
            out[col.name] = t
        elif col.kind == "choice":
            lower = s.str.lower()
            mapping = {**{c: c for c in col.choices}, **dict(col.aliases)}
            mapped = lower.map(mapping)
            hit = mapped.notna() & (mapped != s)
            if hit.any():
                notices.append(
                    f"{file}: column '{col.name}': read {int(hit.sum())} value(s) such as "
                    f"'{s[hit].iloc[0]}' as '{mapped[hit].iloc[0]}'"
                )
            out[col.name] = s.where(~hit, mapped)
    return out


# --------------------------------------------------------------------------- layer 1: text


def _text_schema(table: str) -> pa.DataFrameSchema:
    columns = {}
    for col in CONTRACT[table]:
        checks = []
        if col.required:
            checks.append(pa.Check(lambda s: s != "", error="a value (this column is required)"))
        if col.kind == "number":
            checks.append(pa.Check(_blank_or(lambda s: s.str.fullmatch(_NUMBER)), error="a number"))
        elif col.kind == "choice":
            allowed = " | ".join(col.choices)
            checks.append(pa.Check(_blank_or(lambda s, c=col.choices: s.isin(c)), error=f"one of {allowed}"))
        elif col.kind == "date":
            checks.append(pa.Check(_blank_or(_is_iso_date), error="an ISO date YYYY-MM-DD"))
        elif col.kind == "bool":
            words = "/".join(_TRUE[:2] + _FALSE[:2])
            checks.append(pa.Check(_blank_or(lambda s: s.str.lower().isin(_TRUE + _FALSE)),
                                   error=f"true or false ({words}, 是/否)"))
        columns[col.name] = pa.Column(str, checks=checks, required=col.required, nullable=False)
    return pa.DataFrameSchema(columns, strict=False)


def _blank_or(test):
    """A check that passes blank cells: whether a blank is allowed is another check's job."""
    return lambda s: (s == "") | test(s)


def _is_iso_date(s: pd.Series) -> pd.Series:
    shaped = s.str.fullmatch(_DATE)
    parsed = pd.to_datetime(s.where(shaped), format="%Y-%m-%d", errors="coerce")
    return shaped & parsed.notna()


# --------------------------------------------------------------------------- typing


def _typed(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    out = frame.copy()
    for col in CONTRACT[table]:
        if col.name not in out.columns:
            if col.kind == "bool":
                out[col.name] = True
            elif col.kind == "number":
                out[col.name] = np.nan
            else:
                out[col.name] = pd.Series(np.nan, index=out.index, dtype=str)
            continue
        s = out[col.name]
        if col.kind == "number":
            out[col.name] = pd.to_numeric(s.where(s != ""), errors="coerce").astype("float64")
        elif col.kind == "date":
            out[col.name] = pd.to_datetime(s.where(s != ""), format="%Y-%m-%d", errors="coerce")
        elif col.kind == "bool":
            out[col.name] = ~s.str.lower().isin(_FALSE)
        else:
            out[col.name] = s.where(s != "").astype(str)
    order = [c.name for c in CONTRACT[table]]
    return out[order + [c for c in out.columns if c not in order]]


def _range_schema(table: str) -> pa.DataFrameSchema:
    columns = {}
    for col in CONTRACT[table]:
        if col.kind != "number" or col.low is None:
            continue
        if col.low_open:
            check = pa.Check.greater_than(col.low, error=f"a number > {col.low:g}")
        else:
            check = pa.Check.greater_than_or_equal_to(col.low, error=f"a number ≥ {col.low:g}")
        columns[col.name] = pa.Column(float, checks=[check], nullable=True, required=False)
    return pa.DataFrameSchema(columns, strict=False)


# --------------------------------------------------------------------------- failure cases


def _cases_from_pandera(err: SchemaErrors, file: str) -> pd.DataFrame:
    fc = err.failure_cases
    missing_col = fc["check"] == "column_in_dataframe"
    rows = pd.to_numeric(fc["index"], errors="coerce") + 2
    return pd.DataFrame({
        "file": file,
        "row": rows.where(~missing_col),
        "column": fc["column"].where(~missing_col, fc["failure_case"]),
        "value": fc["failure_case"].where(~missing_col, None),
        "expected": fc["check"].where(~missing_col, "a column with this name (required)"),
    })


def _cases(file: str, rows: pd.Index, column: str, values, expected) -> pd.DataFrame:
    return pd.DataFrame({
        "file": file,
        "row": np.asarray(rows, dtype="float64") + 2,
        "column": column,
        "value": list(values),
        "expected": expected if isinstance(expected, str) else list(expected),
    })


def _run(schema: pa.DataFrameSchema, frame: pd.DataFrame, file: str) -> pd.DataFrame | None:
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as err:
        return _cases_from_pandera(err, file)
    return None


# --------------------------------------------------------------------------- layer 3


def _duplicates(frame: pd.DataFrame, table: str, file: str, notices: list[str]):
    """Collapse exact duplicates of keyed rows; report conflicting ones.

    Returns the frame without exact duplicates and a failure-case frame.
    """
    contract_cols = [c.name for c in CONTRACT[table] if c.name in frame.columns]
    exact = frame.duplicated(subset=contract_cols, keep="first")
    key = KEYS[table]
    if key is None:
        if exact.any():
            first = frame[contract_cols].astype(str).agg("\x1f".join, axis=1)
            firsts = first.drop_duplicates()
            first_row = first.map(pd.Series(firsts.index, index=firsts.values)) + 2
            dup = frame.index[exact]
            return frame, _cases(
                file, dup, contract_cols[0], [None] * len(dup),
                [f"no identical copy of row {int(r)}; if both are separate violations, "
                 "tell them apart in the note column" for r in first_row[exact]],
            )
        return frame, None
    if exact.any():
        rows = ", ".join(str(int(r) + 2) for r in frame.index[exact][:5])
        more = "" if exact.sum() <= 5 else f" and {int(exact.sum()) - 5} more"
        notices.append(
            f"{file}: {int(exact.sum())} exact duplicate row(s) counted once (rows {rows}{more})"
        )
        frame = frame[~exact]
    clash = frame.duplicated(subset=list(key), keep=False)
    if not clash.any():
        return frame, None
    clashing = frame[clash]
    first_row = pd.Series(clashing.index, index=clashing.index).groupby(
        [clashing[k] for k in key], sort=False, dropna=False
    ).transform("min")
    later = clashing.index[clashing.index != first_row]
    key_text = ", ".join(key)
    value_col = next((c for c in contract_cols if c not in key), key[-1])
    return frame, _cases(
        file, later, value_col, clashing.loc[later, value_col].tolist(),
        [f"one row per ({key_text}); conflicts with row {int(first_row[i]) + 2}" for i in later],
    )


def _references(
    typed: dict[str, pd.DataFrame], files: dict[str, str], complete: set[str]
) -> list[pd.DataFrame]:
    out = []
    ids = {
        "unit_id": ("units", set(typed["units"]["unit_id"].dropna())),
        "indicator_id": ("indicators", set(typed["indicators"]["indicator_id"].dropna())),
        "round_id": ("rounds", set(typed["rounds"]["round_id"].dropna())),
    }
    for table in ("scores", "deductions", "surveys"):
        frame = typed[table]
        if table not in complete or frame.empty:
            continue
        for column, (home, known) in ids.items():
            if home not in complete or column not in frame.columns:
                continue
            s = frame[column]
            bad = s.notna() & ~s.isin(known)
            if bad.any():
                out.append(_cases(files[table], frame.index[bad], column, s[bad].tolist(),
                                  f"a {column} listed in {files[home]}"))
    return out


def _cross_checks(typed: dict[str, pd.DataFrame], files: dict[str, str]) -> list[pd.DataFrame]:
    out = []
    scores, indicators, rounds = typed["scores"], typed["indicators"], typed["rounds"]
    # duplicated ids are reported elsewhere; the first definition serves the checks here
    indicators = indicators.drop_duplicates("indicator_id")
    rounds = rounds.drop_duplicates("round_id")
    max_points = scores["indicator_id"].map(
        indicators.set_index("indicator_id")["max_points"]
    ).astype("float64")
    over = scores["points"] > max_points
    if over.any():
        out.append(_cases(files["scores"], scores.index[over], "points",
                          scores.loc[over, "points"].tolist(),
                          [f"at most {m:g}, the max_points of indicator {i}"
                           for m, i in zip(max_points[over], scores.loc[over, "indicator_id"])]))
    need_topic = (rounds["kind"] == "special") & rounds["topic"].isna()
    if need_topic.any():
        out.append(_cases(files["rounds"], rounds.index[need_topic], "topic", [None] * int(need_topic.sum()),
                          "a topic (required for special rounds)"))
    round_topic = scores["round_id"].map(rounds.set_index("round_id")["topic"])
    round_kind = scores["round_id"].map(rounds.set_index("round_id")["kind"])
    ind_topic = scores["indicator_id"].map(indicators.set_index("indicator_id")["topic"])
    off_topic = (round_kind == "special") & ind_topic.notna() & round_topic.notna() & (ind_topic != round_topic)
    if off_topic.any():
        out.append(_cases(files["scores"], scores.index[off_topic], "indicator_id",
                          scores.loc[off_topic, "indicator_id"].tolist(),
                          [f"an indicator of topic '{t}' (the topic of round {r})"
                           for t, r in zip(round_topic[off_topic], scores.loc[off_topic, "round_id"])]))
    surveys = typed.get("surveys")
    if surveys is not None and not surveys.empty:
        bad = surveys["satisfied"] > surveys["respondents"]
        if bad.any():
            out.append(_cases(files["surveys"], surveys.index[bad], "satisfied",
                              surveys.loc[bad, "satisfied"].tolist(),
                              [f"at most respondents ({r:g})" for r in surveys.loc[bad, "respondents"]]))
    return out


# --------------------------------------------------------------------------- entry point


def validate_tables(
    tables: dict[str, pd.DataFrame],
    *,
    files: dict[str, str | Path] | None = None,
    formats: dict[str, dict] | None = None,
) -> "Dataset":
    """Check text frames against the contract and return a typed `Dataset`.

    Parameters
    ----------
    tables : text frames keyed by table name (as `honorcalc.io.read_table` gives),
        with a 0-based index: a row's spreadsheet number is ``index + 2``.
    files : the file each table came from, used in messages (default ``<table>.csv``).
    formats : per-table reading details (format, encoding) kept for the manifest.

    Raises
    ------
    ValidationError
        Listing every violation: file, row, column, bad value, what was expected.
    """
    files = {t: Path(files[t]).name if files and t in files else f"{t}.csv" for t in tables}
    notices: list[str] = []
    cases: list[pd.DataFrame] = []
    typed: dict[str, pd.DataFrame] = {}
    for table in tables:
        if table not in CONTRACT:
            continue
        file = files[table]
        raw = _normalise(tables[table].reset_index(drop=True), table, file, notices)
        text_cases = _run(_text_schema(table), raw, file)
        if text_cases is not None:
            cases.append(text_cases)
            if (text_cases["row"].isna()).any():
                continue  # a required column is missing: nothing else in this table can be checked
        frame = _typed(raw, table)
        range_cases = _run(_range_schema(table), frame, file)
        if range_cases is not None:
            cases.append(range_cases)
        frame, dup_cases = _duplicates(frame, table, file, notices)
        if dup_cases is not None:
            cases.append(dup_cases)
        typed[table] = frame
    complete = set(typed)  # tables whose every contract column could be typed
    for table in CONTRACT:
        typed.setdefault(table, empty_table(table))
    all_files = {**{t: f"{t}.csv" for t in CONTRACT}, **files}
    cases += _references(typed, all_files, complete)
    if {"scores", "indicators", "rounds"} <= complete:
        cases += _cross_checks(typed, all_files)
    cases = [c for c in cases if c is not None and not c.empty]
    if cases:
        order = {f: i for i, f in enumerate(files[t] for t in CONTRACT if t in files)}
        all_cases = pd.concat(cases, ignore_index=True)
        all_cases = all_cases.assign(_f=all_cases["file"].map(order).fillna(99))
        all_cases = all_cases.sort_values(["_f", "row", "column"], na_position="first", kind="stable")
        raise ValidationError(all_cases.drop(columns="_f"))
    return Dataset(
        **{t: typed[t] for t in CONTRACT},
        files={t: str(files[t]) for t in tables},
        formats=dict(formats or {}),
        notices=tuple(notices),
    )
