"""From raw text tables to a typed `Dataset`, or one `ValidationError` listing every problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InputError, ValidationError

if TYPE_CHECKING:
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors
from .contract import (
    CONTRACT,
    FINAL_SCORE_RATER,
    KEYS,
    Col,
    Dataset,
    coded_ids,
    column_of_header,
    empty_table,
    final_score_rater,
    is_documented_header,
    is_final_score_rater,
)
from .write import DIRECTION_CONTROLS

__all__ = ['empty_table', 'validate_tables', 'name_columns']

# ASCII digits only: Arrow's regex \d also matches other scripts' digits (١٢)
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"


_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"


_TRUE = ("true", "yes", "y", "1", "是", "t", "已核实")


_FALSE = ("false", "no", "n", "0", "否", "f", "未核实")


class _Factor:
    """One column as integer codes into its distinct values.

    Every check on single cells (spaces, full-width digits, allowed values,
    numbers, dates) runs once per *distinct* value and is broadcast to the rows
    through ``codes``: a score table of ten million rows has a few hundred
    distinct unit ids and point values, so the cost is one hash pass per column.
    """

    __slots__ = ("codes", "values")

    def __init__(self, codes: np.ndarray, values: pd.Series):
        self.codes = codes
        self.values = values

    @classmethod
    def of(cls, column: pd.Series) -> "_Factor":
        codes, values = _factorize(column)
        missing = codes < 0
        if missing.any():  # in-memory frames may hold None or NaN: a blank cell
            codes = np.where(missing, len(values), codes)
            values = pd.concat([values, pd.Series([""], dtype="str")], ignore_index=True)
        return cls(codes, values)

    def rows(self, per_value) -> np.ndarray:
        """A per-value array broadcast to the rows."""
        return np.asarray(per_value)[self.codes]

    def counts(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=len(self.values))

    def remap(self, values: pd.Series) -> "_Factor":
        """The same rows with each distinct value replaced (equal new values merge)."""
        codes, uniques = _factorize(values.reset_index(drop=True).astype("str"))
        return _Factor(codes[self.codes], uniques)

    def take(self, keep: np.ndarray) -> "_Factor":
        return _Factor(self.codes[keep], self.values)

    def cells(self, at: np.ndarray) -> np.ndarray:
        """The values of the rows at positions ``at``, as Python objects."""
        return self.values.take(self.codes[at]).to_numpy(dtype=object)

    def text(self, index: pd.Index, blank_as_nan: bool = True) -> pd.Series:
        """The column rebuilt as text (Arrow take), blanks as NaN unless told otherwise."""
        values = self.values.where(self.values != "") if blank_as_nan else self.values
        return pd.Series(values.take(self.codes).array, index=index)


def _factorize(column: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes (-1: missing) and the distinct values as text; Arrow's hash kernel for Arrow strings.

    pandas' own path for Arrow strings widens the codes and copies twice, and
    Python strings for the values would cost seconds when every value is distinct.
    """
    if _is_arrow_text(column) and len(column):
        import pyarrow
        import pyarrow.compute as pc

        array = pyarrow.array(column.array)
        if isinstance(array, pyarrow.ChunkedArray):
            array = array.combine_chunks()
        encoded = pc.dictionary_encode(array)
        indices = encoded.indices
        codes = (indices if indices.null_count == 0 else pc.fill_null(indices, -1)).to_numpy()
        return codes, pd.Series(encoded.dictionary.to_pandas(), dtype="str")
    codes, uniques = pd.factorize(column)
    values = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    if len(values) and not all(isinstance(v, str) for v in values):
        values = values.map(str)  # numbers given in memory: checked as their text
    return codes, values.astype("str")


def _is_arrow_text(column: pd.Series) -> bool:
    return isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow"


def _repeated(keys: np.ndarray) -> np.ndarray:
    """Rows whose key occurs more than once; sorting beats hashing on millions of keys."""
    ordered = np.sort(keys)
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return np.zeros(len(keys), dtype=bool)
    return np.isin(keys, ordered[1:][same])


def _lookup(factor: _Factor, mapping: pd.Series) -> np.ndarray:
    """``column.map(mapping)`` for a float mapping, through the column's distinct values."""
    at = mapping.index.get_indexer(factor.values.where(factor.values != ""))
    values = np.append(mapping.to_numpy(dtype="float64"), np.nan)[np.where(at < 0, len(mapping), at)]
    return factor.rows(values)


def _row_keys(codes: list[np.ndarray], index: pd.Index) -> pd.Series:
    """One int64 per row, equal for rows whose codes are all equal (mixed radix)."""
    key = np.zeros(len(index), dtype=np.int64)
    size = 1
    for c in codes:
        n = int(c.max(initial=-1)) + 2
        if size * n >= 2**62:  # would overflow: renumber the keys so far densely
            key = pd.factorize(key)[0].astype(np.int64)
            size = int(key.max(initial=0)) + 1
        key *= n
        key += c
        key += 1
        size *= n
    return pd.Series(key, index=index)


def _fold(values: pd.Series) -> pd.Series:
    """An id as compared for look-alikes: NFKC (full-width → ASCII) and lower case."""
    return values.astype("str").str.normalize("NFKC").str.lower()


def _nfkc(values: pd.Series) -> pd.Series:
    wide = ~values.str.isascii().astype(bool)
    if not wide.any():
        return values
    out = values.copy()
    out[wide] = values[wide].str.normalize("NFKC")
    return out


def _article(word: str) -> str:
    return "an" if word.startswith(("a", "e", "i", "o")) else "a"  # a unit_id, an indicator_id


def _short(value, limit: int = 60):
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"… ({len(value)} characters)"
    return value


class _Table:
    """One table while it is checked: row labels, the raw frame, and a `_Factor` per column."""

    def __init__(self, frame: pd.DataFrame, name: str, file: str):
        self.name, self.file = name, file
        self.frame = frame
        self.index = frame.index
        self.factors = {c: _Factor.of(frame[c]) for c in frame.columns}
        self.changed: set[str] = set()

    def __len__(self) -> int:
        return len(self.index)

    def keep(self, keep: np.ndarray) -> None:
        self.frame = self.frame[keep]
        self.index = self.frame.index
        self.factors = {c: f.take(keep) for c, f in self.factors.items()}

    def contract(self) -> list[Col]:
        return [c for c in CONTRACT[self.name] if c.name in self.factors]


def _with_row_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the reader's row labels (spreadsheet row − 2) when they are usable."""
    index = frame.index
    if index.is_unique and pd.api.types.is_integer_dtype(index.dtype) and (len(index) == 0 or index.min() >= 0):
        return frame
    return frame.reset_index(drop=True)


def name_columns(frame: pd.DataFrame, table: str, file: str, notices: list[str]) -> pd.DataFrame:
    """Name the columns as the contract does: ``得分``, ``Points`` or ``ＰＯＩＮＴＳ`` is ``points``.

    Chinese headers (`Col.zh`) and the other documented headers are read as they
    are; other spellings (case, full-width letters) with a notice.

    Raises
    ------
    InputError
        Two columns name the same contract column (``得分`` and ``points``).
    """
    columns = [str(c).strip() for c in frame.columns]
    given: dict[str, list[str]] = {}
    for header in columns:
        name = column_of_header(table, header)
        if name is not None:
            given.setdefault(name, []).append(header)
    renames = {}
    for name, headers in given.items():
        if len(headers) > 1:
            raise InputError(
                f"columns '{headers[0]}' and '{headers[1]}' both give {name}; which one counts? "
                "delete or rename one", file=file, row=1, column=headers[1])
        if headers[0] != name:
            renames[headers[0]] = name
    out = frame.set_axis(columns, axis=1)
    if renames:
        out = out.rename(columns=renames)
        told = {a: b for a, b in renames.items() if not is_documented_header(table, a)}
        if told:
            pairs = ", ".join(f"'{a}' as '{b}'" for a, b in told.items())
            notices.append(f"{file}: read column name(s) {pairs}")
    return out


def _normalise(t: _Table, notices: list[str]) -> None:
    """Strip spaces everywhere; NFKC numbers, dates, choices; map choice aliases."""
    stripped = 0
    for column, f in t.factors.items():
        new = f.values.str.strip()
        diff = (new != f.values).to_numpy(dtype=bool)
        if diff.any():
            stripped += int(f.counts()[diff].sum())
            t.factors[column] = f.remap(new)
            t.changed.add(column)
    if stripped:
        notices.append(f"{t.file}: removed surrounding spaces from {stripped} cell(s)")
    for col in t.contract():
        f = t.factors[col.name]
        if col.kind in ("number", "date"):
            new = _nfkc(f.values)
            diff = (new != f.values).to_numpy(dtype=bool)
            if diff.any():
                notices.append(f"{t.file}: column '{col.name}': read {int(f.counts()[diff].sum())} "
                               "full-width number(s) as ASCII")
        elif col.kind in ("choice", "bool"):
            mapping = {**{c: c for c in col.choices}, **dict(col.aliases)}
            wide = _nfkc(f.values)
            mapped = wide.str.lower().map(mapping).to_numpy(dtype=object)
            new = pd.Series(np.where(pd.isna(mapped), wide.to_numpy(dtype=object), mapped), dtype="str")
            diff = (new != f.values).to_numpy(dtype=bool)
            # a documented spelling (实地考察, 是) is the value, as written: only other forms are told
            told = diff & ~f.values.isin(list(mapping)).to_numpy(dtype=bool)
            if told.any():
                first = int(np.flatnonzero(told)[0])
                notices.append(
                    f"{t.file}: column '{col.name}': read {int(f.counts()[told].sum())} value(s) "
                    f"such as '{f.values[first]}' as '{new[first]}'"
                )
        else:
            continue
        if diff.any():
            t.factors[col.name] = f.remap(new)
            t.changed.add(col.name)


def _direction_controls(t: _Table, notices: list[str]) -> None:
    """Tell of text cells (names, notes) holding direction controls: a report shows them without
    (`honorcalc.report.html.without_direction_controls`), ``explain`` shows them spelled out."""
    for col in t.contract():
        if col.kind != "text":
            continue
        values = t.factors[col.name].values
        held = values.map(lambda v: any(c in DIRECTION_CONTROLS for c in v)).to_numpy(dtype=bool)
        if not held.any():
            continue
        first = values[held].iloc[0]
        codes = " ".join(sorted({f"U+{ord(c):04X}" for v in values[held] for c in v if c in DIRECTION_CONTROLS}))
        notices.append(f"{t.file}: column '{col.name}': {int(t.factors[col.name].counts()[held].sum())} value(s) "
                       f"such as {first!r} hold characters that change the direction of text ({codes}); "
                       "reports show them without these characters")


def _final_scores(t: _Table, notices: list[str], final_rows=None) -> pd.DataFrame | None:
    """Scores without a rater column are final scores: one pseudo-rater per source, said so.

    An office that keeps only each unit's final points per indicator and source has
    no rater to name; the scores are read as given, under the rater
    ``final:<source>`` (`honorcalc.data.contract.final_score_rater`), and the
    fairness analysis says which of its questions such data cannot answer. A
    rater column that uses this reserved form itself is refused, except on the
    rows ``final_rows`` marks: the reader gave them their pseudo-rater (a
    workbook's score sheet without 评分人 among sheets with one).
    """
    if t.name != "scores":
        return None
    if "rater_id" in t.factors:
        f = t.factors["rater_id"]
        reserved = is_final_score_rater(f.values).to_numpy(dtype=bool)
        if not reserved.any():
            return None
        given = f.rows(reserved)
        if final_rows is not None:
            given &= ~np.asarray(final_rows, dtype=bool)
        rows = np.flatnonzero(given)
        if not len(rows):
            return None
        return _cases(t.file, t.index[rows], "rater_id", f.cells(rows),
                      f"a rater id not of the form {FINAL_SCORE_RATER!r}, which marks final scores "
                      "given without a rater column")
    if "source" not in t.factors or not len(t):
        return None
    source = t.factors["source"]
    t.factors["rater_id"] = source.remap(source.values.map(final_score_rater))
    t.changed.add("rater_id")
    notices.append(f"{t.file}: no rater column: read as final scores, one per unit, indicator and source "
                   "(rater agreement and severity cannot be assessed)")
    return None


def _drop_blank_rows(t: _Table, notices: list[str]) -> None:
    """Rows whose every cell is blank (spacer rows, Excel's formatted empties) say nothing."""
    if not len(t) or not t.factors:
        return
    blank = np.ones(len(t), dtype=bool)
    for f in t.factors.values():
        blank &= f.rows((f.values == "").to_numpy(dtype=bool))
        if not blank.any():
            return
    rows = t.index[blank]
    shown = ", ".join(str(int(r) + 2) for r in rows[:5])
    more = "" if len(rows) <= 5 else f" and {len(rows) - 5} more"
    notices.append(f"{t.file}: ignored {len(rows)} blank row(s) (rows {shown}{more})")
    t.keep(~blank)


def _repeated_header(t: _Table) -> pd.DataFrame | None:
    """Rows that repeat the header (a sheet pasted below itself): refused, and set aside."""
    names = [c.name for c in t.contract()]
    if not names or not len(t):
        return None
    again = np.ones(len(t), dtype=bool)
    for name in names:
        f = t.factors[name]
        again &= f.rows((f.values.str.lower() == name).to_numpy(dtype=bool))
        if not again.any():
            return None
    rows = t.index[again]
    t.keep(~again)
    return _cases(t.file, rows, names[0], [None] * len(rows),
                  "a data row, got the header row again (the sheet pasted twice?): delete this row")


_MISSING_COLUMN = "a column with this name in the header row (required)"


_ISO_DATE = "an ISO date YYYY-MM-DD"


_EXCEL_SERIAL = (
    "an ISO date YYYY-MM-DD, not an Excel serial day number (whose date depends on the "
    "workbook's 1900 or 1904 date system): format the column as dates (yyyy-mm-dd) and save again"
)


def _text_schema(table: str) -> pa.DataFrameSchema:
    import pandera.pandas as pa  # imported when data are validated: a report kernel never needs it

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
            checks.append(pa.Check(_blank_or(_is_iso_date), error=_ISO_DATE))
        elif col.kind == "bool":
            words = "/".join(_TRUE[:2] + _FALSE[:2])
            checks.append(pa.Check(_blank_or(lambda s: s.str.lower().isin(_TRUE + _FALSE)),
                                   error=f"true or false ({words}, 是/否)"))
        # no dtype: the frame pandera sees is built here, text by construction
        columns[col.name] = pa.Column(checks=checks, required=col.required, nullable=False)
    return pa.DataFrameSchema(columns, strict=False)


def _blank_or(test):
    """A check that passes blank cells: whether a blank is allowed is another check's job."""
    return lambda s: (s == "") | test(s)


def _is_iso_date(s: pd.Series) -> pd.Series:
    shaped = s.str.fullmatch(_DATE)
    parsed = pd.to_datetime(s.where(shaped), format="%Y-%m-%d", errors="coerce")
    return shaped & parsed.notna()


def _range_schema(table: str) -> pa.DataFrameSchema:
    import pandera.pandas as pa

    columns = {}
    for col in CONTRACT[table]:
        if col.kind != "number":
            continue
        checks = [pa.Check(lambda s: s.isna() | np.isfinite(s), error="a finite number")]
        if col.low_open:
            checks.append(pa.Check.greater_than(col.low, error=f"a number > {col.low:g}"))
        elif col.low is not None:
            checks.append(pa.Check.greater_than_or_equal_to(col.low, error=f"a number ≥ {col.low:g}"))
        if col.high is not None:
            checks.append(pa.Check.less_than_or_equal_to(col.high, error=f"a number ≤ {col.high:g}"))
        columns[col.name] = pa.Column(checks=checks, nullable=True, required=False)
    return pa.DataFrameSchema(columns, strict=False)


def _run(schema: pa.DataFrameSchema, t: _Table, values: dict[str, pd.Series]) -> pd.DataFrame | None:
    """Validate each column's distinct values with pandera; the failures, as rows of the table.

    ``values`` holds, per column, one entry per distinct value of its `_Factor`.
    The columns are padded to one length with their first value (the padding's
    failures are dropped), so that one lazy pass checks the whole table.
    """
    from pandera.errors import SchemaErrors

    length = max((len(v) for v in values.values()), default=0)
    frame = pd.DataFrame({c: _padded(v, length) for c, v in values.items()})
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as err:
        return _cases_from_pandera(err, t, {c: len(v) for c, v in values.items()})
    return None


def _padded(values: pd.Series, length: int) -> pd.Series:
    values = values.reset_index(drop=True)
    if len(values) == length or not len(values):
        return values
    at = np.zeros(length, dtype=np.intp)
    at[: len(values)] = np.arange(len(values))
    return values.take(at).reset_index(drop=True)


def _cases_from_pandera(err: SchemaErrors, t: _Table, sizes: dict[str, int]) -> pd.DataFrame:
    fc = err.failure_cases
    missing = (fc["check"] == "column_in_dataframe").to_numpy(dtype=bool)
    out = [pd.DataFrame({
        "file": t.file, "row": 1.0, "column": fc["failure_case"][missing].astype(object),
        "value": None, "expected": _MISSING_COLUMN,
    })]
    cells = fc[~missing].assign(u=pd.to_numeric(fc["index"][~missing], errors="coerce"))
    cells = cells[cells["u"].notna()]
    cells = cells[cells["u"] < cells["column"].map(sizes)].drop_duplicates(["column", "u", "check"])
    for column, failed in cells.groupby("column", sort=False):
        f = t.factors[column]
        hit = np.flatnonzero(np.isin(f.codes, failed["u"].astype(np.int64).to_numpy()))
        rows = pd.DataFrame({"pos": hit, "u": f.codes[hit]}).merge(
            failed.astype({"u": np.int64})[["u", "check", "failure_case"]], on="u", how="inner")
        expected = rows["check"].astype(object)
        serial = (expected == _ISO_DATE) & rows["failure_case"].astype(str).str.fullmatch(
            r"[0-9]{5}(\.[0-9]+)?").fillna(False).astype(bool)
        out.append(pd.DataFrame({
            "file": t.file,
            "row": np.asarray(t.index[rows["pos"].to_numpy()], dtype="float64") + 2,
            "column": column,
            "value": rows["failure_case"].astype(object).to_numpy(),
            "expected": expected.where(~serial, _EXCEL_SERIAL).to_numpy(),
        }))
    return pd.concat(out, ignore_index=True)


def _cases(file: str, rows: pd.Index, column: str | None, values, expected) -> pd.DataFrame:
    return pd.DataFrame({
        "file": file,
        "row": np.asarray(rows, dtype="float64") + 2,
        "column": column,
        "value": list(values),
        "expected": expected if isinstance(expected, str) else list(expected),
    })


def _to_float(values: pd.Series) -> pd.Series:
    """Numbers from text (blank or not a number: NaN), by Arrow's parser where it can."""
    numbers = values.where(values.str.fullmatch(_NUMBER).fillna(False).astype(bool))
    try:
        import pyarrow
        import pyarrow.compute as pc

        text = (pyarrow.array(numbers.array) if _is_arrow_text(numbers) else
                pyarrow.array(numbers.to_numpy(dtype=object), type=pyarrow.string(), from_pandas=True))
        parsed = pc.cast(text, pyarrow.float64())
        return pd.Series(parsed.to_numpy(zero_copy_only=False), dtype="float64")
    except Exception:  # noqa: BLE001 - Arrow refused a form the pattern allows: the general parser
        return pd.to_numeric(numbers, errors="coerce").astype("float64").reset_index(drop=True)


def _typed_values(col: Col, values: pd.Series) -> pd.Series:
    """The typed form of each distinct value of a contract column."""
    if col.kind == "number":
        return _to_float(values)
    if col.kind == "date":
        return pd.to_datetime(values.where(values != ""), format="%Y-%m-%d", errors="coerce").reset_index(drop=True)
    if col.kind == "bool":
        return pd.Series(~values.str.lower().isin(_FALSE).to_numpy(dtype=bool))
    return values.where(values != "").reset_index(drop=True)


def _typed(t: _Table, typed_values: dict[str, pd.Series]) -> pd.DataFrame:
    """The table with contract columns typed and every column normalised."""
    out = {}
    for column, f in t.factors.items():
        col = next((c for c in CONTRACT[t.name] if c.name == column), None)
        if col is not None and col.kind in ("number", "date", "bool"):
            out[column] = pd.Series(f.rows(typed_values[column].to_numpy()), index=t.index)
        elif column not in t.changed and column in t.frame.columns:
            s = t.frame[column]
            if col is not None and (s == "").any():
                s = s.where(s != "")
            out[column] = s.astype("str") if col is not None else s
        elif col is not None:
            out[column] = f.text(t.index)
        else:
            out[column] = f.text(t.index, blank_as_nan=False)
    frame = pd.DataFrame(out, index=t.index)
    return _with_contract_columns(frame, t.name)


def _with_contract_columns(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Add the missing optional columns (bool: true, number: NaN, text: NaN), contract order first."""
    for col in CONTRACT[table]:
        if col.name in frame.columns:
            continue
        if col.kind == "bool":
            frame[col.name] = True
        elif col.kind == "number":
            frame[col.name] = np.nan
        elif col.kind == "date":
            frame[col.name] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
        else:
            frame[col.name] = pd.Series(np.nan, index=frame.index, dtype="str")
    order = [c.name for c in CONTRACT[table]]
    return frame[order + [c for c in frame.columns if c not in order]]


def _duplicates(t: _Table, typed_values: dict[str, pd.Series], notices: list[str]) -> pd.DataFrame | None:
    """Collapse exact duplicates of keyed rows (dropping them from ``t``); report conflicting ones.

    Rows are compared on their typed values (``55`` equals ``55.0``).
    """
    contract_cols = [c.name for c in t.contract()]

    def codes(column: str) -> np.ndarray:
        f = t.factors[column]
        if column in typed_values:  # merge values that type alike
            return pd.factorize(typed_values[column])[0][f.codes]
        return f.codes

    key = KEYS[t.name]
    # rows equal in every contract column are equal in the key too, so the (fast)
    # key test runs on every row and the full comparison only on rows sharing a key
    keys = _row_keys([codes(c) for c in (key or contract_cols)], t.index)
    shared = _repeated(keys.to_numpy())
    if not shared.any():
        return None
    full = _row_keys([codes(c)[shared] for c in contract_cols], t.index[shared])
    exact = np.zeros(len(t), dtype=bool)
    exact[shared] = full.duplicated(keep="first").to_numpy()
    if key is None:
        if not exact.any():
            return None
        first_label = pd.Series(full.index, index=full.index).groupby(full.to_numpy()).transform("min")
        dup = t.index[exact]
        return _cases(
            t.file, dup, contract_cols[0], [None] * len(dup),
            [f"no identical copy of row {int(r) + 2}; if both are separate violations, "
             "tell them apart in the note column" for r in first_label[dup]],
        )
    if exact.any():
        rows = ", ".join(str(int(r) + 2) for r in t.index[exact][:5])
        more = "" if exact.sum() <= 5 else f" and {int(exact.sum()) - 5} more"
        notices.append(
            f"{t.file}: {int(exact.sum())} exact duplicate row(s) counted once (rows {rows}{more})"
        )
        t.keep(~exact)
        keys = keys[~exact]
        clash = _repeated(keys.to_numpy())
    else:
        clash = shared
    if not clash.any():
        return None
    labels = t.index[clash]
    first = pd.Series(labels, index=labels).groupby(keys[clash].to_numpy()).transform("min")
    later = labels[labels != first.to_numpy()]
    key_text = ", ".join(key)
    value_col = next((c for c in contract_cols if c not in key), key[-1])
    f = t.factors[value_col]
    at = t.index.get_indexer(later)
    return _cases(
        t.file, later, value_col, f.cells(at).tolist(),
        [f"one row per ({key_text}); conflicts with row {int(first[i]) + 2}" for i in later],
    )


#: The table that defines each id, and the noun for one of its rows.
_HOMES = {"unit_id": ("units", "unit"), "indicator_id": ("indicators", "indicator"),
          "round_id": ("rounds", "round")}

#: Further id columns that name a row of another table, by table: column → (home table, noun).
_REFERENCES = {"responsibility": {"responsible_id": ("units", "unit")}}

#: The column of the home table that such a reference names.
_HOME_COLUMN = {"responsible_id": "unit_id"}

#: Id columns compared for look-alikes in tables that do not define them, and the noun.
_OTHER_IDS = {"scores": {"rater_id": "rater"}, "deductions": {"code": "code"}}

#: Characters that show as nothing (or as a plain space) inside an id, besides category Cf
#: (zero-width spaces and joiners, directional marks, U+FEFF): controls, separators
#: other than the ASCII space, Hangul fillers and the combining grapheme joiner.
_INVISIBLE_EXTRA = frozenset("\u034f\u115f\u1160\u3164\uffa0")

#: Greek and Cyrillic letters drawn like Latin ones, as their Latin twin.
_CONFUSABLE = str.maketrans({
    # Cyrillic
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "У": "Y",
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i",
    "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    "ο": "o", "ν": "v", "ι": "i", "κ": "k", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
})


def _is_invisible(char: str) -> bool:
    """A character that cannot be seen in a cell: format (Cf), control, non-ASCII space, filler."""
    import unicodedata

    if char == " ":
        return False
    return unicodedata.category(char) in ("Cf", "Cc", "Zs", "Zl", "Zp") or char in _INVISIBLE_EXTRA


def _invisible_in(text: str) -> list[str]:
    return [c for c in text if _is_invisible(c)]


def _skeleton(text: str) -> str:
    """An id as it looks: NFKC, invisible characters dropped, Greek/Cyrillic look-alikes as Latin."""
    import unicodedata

    folded = unicodedata.normalize("NFKC", text)
    folded = "".join(c for c in folded if not _is_invisible(c))
    return unicodedata.normalize("NFKC", folded.translate(_CONFUSABLE))


def _case_or_width_twins(a: str, b: str) -> bool:
    """Ids equal once full-width characters are ASCII and case is ignored (plain ASCII then)."""
    import unicodedata

    fa, fb = (unicodedata.normalize("NFKC", x).lower() for x in (a, b))
    return fa == fb and fa.isascii() and not (_invisible_in(a) or _invisible_in(b))


def _code_points(text: str) -> str:
    """``'NA' (U+004E U+0041)``: an id with every code point spelled out."""
    return f"{text!r} (" + " ".join(f"U+{ord(c):04X}" for c in text) + ")"


def _first_rows(f: _Factor, index: pd.Index) -> np.ndarray:
    """The row label of each distinct value's first row (-1: the value has no row left)."""
    codes = pd.Series(f.codes)
    first = codes.drop_duplicates()
    out = np.full(len(f.values), -1, dtype=np.int64)
    out[first.to_numpy()] = np.asarray(index[first.index.to_numpy()], dtype=np.int64)
    return out


def _lookalike_ids(t: _Table) -> pd.DataFrame | None:
    """Ids of one column that differ only by how they are written: refused.

    ``U01`` and ``u01`` (or ``Ｕ01``) would be two units, to the letter; almost
    always they are one unit typed twice. Two readings, so neither is taken.
    The same holds for ids that differ only by invisible characters (``001`` and
    ``001`` + U+200B), by Unicode normalisation (``é`` and ``e`` + U+0301), or by
    Greek or Cyrillic letters drawn like Latin ones (``NA`` and ``ΝΑ``); such
    pairs are named with their code points, since they look the same on screen.
    An id holding an invisible character is refused even without a twin: the
    character was never meant, and the next file would be typed without it.
    Case counts only for the ids a table defines (units, indicators, rounds).
    """
    columns = {c: noun for c, (home, noun) in _HOMES.items() if home == t.name}
    columns.update(_OTHER_IDS.get(t.name, {}))
    out = []
    for column, noun in columns.items():
        if column not in t.factors or not len(t):
            continue
        out.append(_lookalikes_in(t, column, noun, fold_case=column in _HOMES))
    out = [c for c in out if c is not None]
    return pd.concat(out, ignore_index=True) if out else None


def _lookalikes_in(t: _Table, column: str, noun: str, fold_case: bool) -> pd.DataFrame | None:
    f = t.factors[column]
    values = [str(v) for v in f.values]
    skeletons = [_skeleton(v).lower() if fold_case else _skeleton(v) for v in values]
    invisible = [bool(_invisible_in(v)) for v in values]
    groups: dict[str, list[int]] = {}
    for i, (v, k) in enumerate(zip(values, skeletons)):
        if v != "":
            groups.setdefault(k, []).append(i)
    suspects = [i for members in groups.values() if len(members) > 1 for i in members]
    suspects += [i for i, bad in enumerate(invisible) if bad and len(groups[skeletons[i]]) == 1]
    if not suspects:
        return None  # the common case: no row positions computed
    first_row = _first_rows(f, t.index)
    rows, shown, expected = [], [], []
    for members in groups.values():
        members = sorted((m for m in members if first_row[m] >= 0), key=lambda m: first_row[m])
        if not members:
            continue
        if len(members) == 1:
            m = members[0]
            if invisible[m]:
                chars = " ".join(f"U+{ord(c):04X}" for c in _invisible_in(values[m]))
                rows.append(first_row[m])
                shown.append(values[m])
                expected.append(f"an id without invisible characters: {_code_points(values[m])} "
                                f"holds {chars}, which no one can see or type again")
            continue
        base = members[0]
        for m in members[1:]:
            rows.append(first_row[m])
            shown.append(values[m])
            a, b = values[base], values[m]
            if fold_case and _case_or_width_twins(a, b):
                expected.append(f"an id that differs from '{a}' (row {int(first_row[base]) + 2}) by more "
                                f"than case or full-width characters: ids are compared exactly, so these "
                                f"would be two {noun}s")
            else:
                expected.append(
                    f"an id that differs from {_code_points(a)} (row {int(first_row[base]) + 2}) by "
                    f"more than invisible characters, look-alike letters of another script or Unicode "
                    f"normalisation: {_code_points(a)} and {_code_points(b)} look the same but are "
                    f"compared exactly, so these would be two {noun}s")
    if not rows:
        return None
    return _cases(t.file, pd.Index(rows), column, shown, expected)


def _references(checked: dict[str, _Table], typed: dict[str, pd.DataFrame],
                files: dict[str, str]) -> list[pd.DataFrame]:
    out = []
    for table in ("scores", "deductions", "surveys", "responsibility"):
        t = checked.get(table)
        if t is None or not len(t):
            continue
        for column, (home, _) in {**_HOMES, **_REFERENCES.get(table, {})}.items():
            if home not in checked or column not in t.factors:
                continue
            known = typed[home][_HOME_COLUMN.get(column, column)].dropna().unique()
            f = t.factors[column]
            bad_value = ((f.values != "") & ~f.values.isin(known)).to_numpy(dtype=bool)
            if not bad_value.any():
                continue
            bad = f.rows(bad_value)
            values = f.values[bad_value].reset_index(drop=True)
            near = pd.Series(known, index=_fold(pd.Series(known)).to_numpy())
            near = near[~near.index.duplicated()]
            hints = pd.Series(_fold(values).map(near).to_numpy(dtype=object))
            expected = np.array([
                f"{_article(column)} {column} listed in {files[home]}"
                + (f" (as {_HOME_COLUMN[column]})" if column in _HOME_COLUMN else "") + (
                    f" (did you mean '{h}'? ids are compared exactly: case and full-width "
                    "characters count)" if isinstance(h, str) else "")
                for h in hints], dtype=object)  # one per distinct unknown id
            # each bad row's position among the distinct unknown ids
            rank = np.cumsum(bad_value) - 1
            at = rank[f.codes[bad]]
            out.append(_cases(t.file, t.index[bad], column, values.to_numpy(dtype=object)[at],
                              expected[at]))
    return out


def _cross_checks(checked: dict[str, _Table], typed: dict[str, pd.DataFrame],
                  files: dict[str, str]) -> list[pd.DataFrame]:
    out = []
    t = checked["scores"]
    scores = typed["scores"]
    # duplicated ids are reported elsewhere; the first definition serves the checks here
    indicators = typed["indicators"].drop_duplicates("indicator_id")
    rounds = typed["rounds"].drop_duplicates("round_id")
    by_indicator, by_round = indicators.set_index("indicator_id"), rounds.set_index("round_id")
    max_points = _lookup(t.factors["indicator_id"], by_indicator["max_points"])
    points = scores["points"].to_numpy()
    # a non-finite point or a max_points ≤ 0 is reported on its own row already
    over = (points > max_points) & np.isfinite(points) & (max_points > 0)
    if over.any():
        out.append(_cases(files["scores"], scores.index[over], "points", points[over],
                          [f"at most {m:g}, the max_points of indicator {i}"
                           for m, i in zip(max_points[over], scores["indicator_id"].to_numpy()[over])]))
    need_topic = ((rounds["kind"] == "special") & rounds["topic"].isna()).to_numpy()
    if need_topic.any():
        out.append(_cases(files["rounds"], rounds.index[need_topic], "topic", [None] * int(need_topic.sum()),
                          "a topic (required for special rounds)"))
    # topics as integer codes (-1: none), compared per row without touching strings
    topics = pd.Index(pd.concat([by_indicator["topic"], by_round["topic"]]).dropna().unique())
    f_ind, f_round = t.factors["indicator_id"], t.factors["round_id"]
    special = by_round["kind"].to_numpy() == "special"
    round_topic_code = np.where(special, topics.get_indexer(by_round["topic"]), -1)
    at_round = by_round.index.get_indexer(f_round.values.where(f_round.values != ""))
    at_ind = by_indicator.index.get_indexer(f_ind.values.where(f_ind.values != ""))
    ind_topic_code = topics.get_indexer(by_indicator["topic"])
    per_round = np.append(round_topic_code, -1)[np.where(at_round < 0, len(round_topic_code), at_round)]
    per_ind = np.append(ind_topic_code, -1)[np.where(at_ind < 0, len(ind_topic_code), at_ind)]
    r_code, i_code = f_round.rows(per_round), f_ind.rows(per_ind)
    off_topic = (r_code >= 0) & (i_code >= 0) & (r_code != i_code)
    if off_topic.any():
        round_topic = topics.to_numpy()[r_code]
        out.append(_cases(files["scores"], scores.index[off_topic], "indicator_id",
                          scores["indicator_id"].to_numpy()[off_topic],
                          [f"an indicator of topic '{tp}' (the topic of round {r})"
                           for tp, r in zip(round_topic[off_topic], scores["round_id"].to_numpy()[off_topic])]))
    shares = typed.get("responsibility")
    if shares is not None and not shares.empty:
        own = (shares["unit_id"] == shares["responsible_id"]).to_numpy()
        if own.any():
            out.append(_cases(files["responsibility"], shares.index[own], "responsible_id",
                              shares["responsible_id"].to_numpy()[own],
                              "another unit than unit_id (a unit shares its problems with others, "
                              "not with itself)"))
    surveys = typed.get("surveys")
    if surveys is not None and not surveys.empty:
        bad = (surveys["satisfied"] > surveys["respondents"]).to_numpy()
        if bad.any():
            out.append(_cases(files["surveys"], surveys.index[bad], "satisfied",
                              surveys["satisfied"].to_numpy()[bad],
                              [f"at most respondents ({r:g})" for r in surveys["respondents"].to_numpy()[bad]]))
    return out


#: What a required table holds, for "the file has no ..." messages.
_REQUIRED = {"units": "units", "indicators": "indicators", "rounds": "rounds", "scores": "scores"}


def _check_table(t: _Table, notices: list[str], cases: list, final_rows=None) -> pd.DataFrame | None:
    """Layers 0-2 and the duplicates of one table; its typed frame, or None if it cannot be typed."""
    _normalise(t, notices)
    _direction_controls(t, notices)
    reserved = _final_scores(t, notices, final_rows)
    _drop_blank_rows(t, notices)
    cases.append(reserved)
    cases.append(_repeated_header(t))
    if not len(t) and t.name in _REQUIRED:
        cases.append(_cases(t.file, pd.Index([0]), None, [None],
                            f"data rows below the header (row 1): the file has no {_REQUIRED[t.name]}"))
        return None
    contract = t.contract()
    text_cases = _run(_text_schema(t.name), t, {c.name: t.factors[c.name].values for c in contract})
    cases.append(text_cases)
    if text_cases is not None and (text_cases["expected"] == _MISSING_COLUMN).any():
        return None  # a required column is missing: nothing else in this table can be checked
    typed_values = {c.name: _typed_values(c, t.factors[c.name].values)
                    for c in contract if c.kind in ("number", "date", "bool")}
    cases.append(_run(_range_schema(t.name), t,
                      {c.name: typed_values[c.name] for c in contract if c.kind == "number"}))
    cases.append(_duplicates(t, typed_values, notices))
    typed = _typed(t, typed_values)
    cases.append(_lookalike_ids(t))
    return typed


def validate_tables(
    tables: dict[str, pd.DataFrame],
    *,
    files: dict[str, str | Path] | None = None,
    formats: dict[str, dict] | None = None,
    final_rows=None,
) -> "Dataset":
    """Check text frames against the contract and return a typed `Dataset`.

    Parameters
    ----------
    tables : text frames keyed by table name (as `honorcalc.data.read_table` gives),
        with a 0-based integer index: a row's spreadsheet number is ``index + 2``
        (any other index is replaced by positions).
    files : the file each table came from, used in messages (default ``<table>.csv``).
    formats : per-table reading details (format, encoding) kept for the manifest.
    final_rows : a boolean per row of ``scores``: the rows whose rater the reader set to the
        source's pseudo-rater of final scores (`honorcalc.data.workbook`); elsewhere that form is refused.

    Raises
    ------
    ValidationError
        Listing every violation: file, row, column, bad value, what was expected.
    """
    files = {t: Path(files[t]).name if files and t in files else f"{t}.csv" for t in tables}
    notices: list[str] = []
    cases: list = []
    typed: dict[str, pd.DataFrame] = {}
    checked: dict[str, _Table] = {}
    for table in tables:
        if table not in CONTRACT:
            continue
        frame = name_columns(_with_row_labels(tables[table]), table, files[table], notices)
        t = _Table(frame, table, files[table])
        frame = _check_table(t, notices, cases, final_rows if table == "scores" else None)
        if frame is not None:
            typed[table], checked[table] = frame, t
    for table in CONTRACT:
        typed.setdefault(table, empty_table(table))
    for col in CONTRACT["scores"]:
        if col.kind != "number" and col.name in typed["scores"]:
            typed["scores"][col.name] = coded_ids(typed["scores"][col.name])
    all_files = {**{t: f"{t}.csv" for t in CONTRACT}, **files}
    cases += _references(checked, typed, all_files)
    if {"scores", "indicators", "rounds"} <= set(checked):
        cases += _cross_checks(checked, typed, all_files)
    cases = [c for c in cases if c is not None and not c.empty]
    if cases:
        order = {f: i for i, f in enumerate(files[t] for t in CONTRACT if t in files)}
        all_cases = pd.concat(cases, ignore_index=True)
        all_cases = all_cases.assign(_f=all_cases["file"].map(order).fillna(99))
        all_cases = all_cases.sort_values(["_f", "row", "column"], na_position="first", kind="stable")
        all_cases = all_cases.drop(columns="_f").reset_index(drop=True)
        value = all_cases["value"].astype(object)
        shown = ValidationError.max_shown
        all_cases["value"] = pd.concat([value.iloc[:shown].map(_short), value.iloc[shown:]])
        raise ValidationError(all_cases)
    return Dataset(
        **{t: typed[t] for t in CONTRACT},
        files={t: str(files[t]) for t in tables},
        formats=dict(formats or {}),
        notices=tuple(notices),
    )
