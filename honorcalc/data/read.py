"""Reading a dataset directory: CSV (UTF-8 or GB18030), XLSX or Parquet, every cell as text.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io as _io
import itertools
import math
import os
import re
import stat
import zipfile
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .contract import (
    CONTRACT,
    REQUIRED_TABLES,
    TABLE_NAMES_ZH,
    TABLES,
    column_of_header,
    table_of_name,
)
from .write import file_sha256

__all__ = ['SUFFIXES', 'MAX_FILE_MB_VARIABLE', 'DEFAULT_MAX_FILE_MB', 'MAX_ROWS_VARIABLE', 'DEFAULT_MAX_ROWS',
           'env_limit', 'max_file_bytes', 'max_table_rows', 'find_table_files', 'read_table', 'read_raw_tables',
           'load_dataset', 'read_dataset', 'dataset_file', 'check_xlsx_file', 'cell_text']


SUFFIXES = (".csv", ".xlsx", ".parquet")


# Tried in this order. UTF-8 is strict enough that GBK text almost never decodes
# as UTF-8 by accident; GB18030 is the superset of GBK that Excel's "CSV" export
# on a Chinese Windows produces.
_ENCODINGS = ("utf-8", "gb18030")


#: Environment variable that sets the size limit of one table file, in megabytes.
MAX_FILE_MB_VARIABLE = "HONORCALC_MAX_FILE_MB"


#: The default limit: a city's year of scores is a few hundred MB of CSV at most,
#: and a table this size already needs a few GB of memory once read.
DEFAULT_MAX_FILE_MB = 1024

#: The largest size limit taken from the environment (1 TB): beyond it a number is a typo, not a size.
_LARGEST_FILE_MB = 1 << 20


#: Environment variable that sets the row limit of one table (data rows, the header not counted).
MAX_ROWS_VARIABLE = "HONORCALC_MAX_ROWS"


#: The default row limit: twice a province's year of scores (about 10 million rows), and about
#: what a CSV at the default size limit holds (50 bytes a score row). Read as text, a table takes
#: a few hundred bytes a row: this many rows already need several GB. Parquet stores a repeated
#: value once, so a file of a few KB can hold any number of rows: its size says nothing, its
#: footer's row count does.
DEFAULT_MAX_ROWS = 20_000_000

_LARGEST_ROWS = 10**10


# Files that are not what their name says, recognised by their first bytes.
_MAGIC = (
    (b"PK\x03\x04", "an XLSX workbook (or another ZIP archive)", ".xlsx"),
    (b"PAR1", "a Parquet file", ".parquet"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)", None),
)


# Delimiters that Excel and others write instead of commas, by locale.
_WRONG_DELIMITERS = ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars"),
                     ("，", "full-width commas (，)"))


_HEADER_SEARCH_ROWS = 20

#: The first characters of a CSV file searched for its header (256 K).
_HEADER_MAX_CHARS = 1 << 18


# A CJK character, and a byte that is not UTF-8 (after decoding with
# surrogateescape): a file with a line of the first and a line of the second
# mixes two encodings.
_CJK = re.compile(r"[\u3400-\u9fff]")


_NOT_UTF8 = re.compile(r"[\udc80-\udcff]")


def env_limit(variable: str, default: float, *, unit: str, largest: float, whole: bool = False) -> float:
    """A limit set by an environment variable: ``default`` when it is unset or blank.

    Parameters
    ----------
    variable : the variable's name.
    default : the limit when the variable is not set.
    unit : what the number counts, for the message ("megabytes", "rows").
    largest : the largest value taken; beyond it a number is a typo, not a limit.
    whole : whether the value must be a whole number.

    Raises
    ------
    InputError
        The value is not a number, not above 0, above ``largest`` (``1e308``,
        ``inf``), or not whole where it must be.
    """
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 < value <= largest or (whole and not value.is_integer()):
        kind = "a whole number" if whole else "a number"
        raise InputError(
            f"environment variable {variable}: expected {kind} of {unit} above 0 and at most "
            f"{largest:,}, got {raw!r}"
        )
    return value


def max_file_bytes() -> int:
    """The size limit of one table file, in bytes.

    ``HONORCALC_MAX_FILE_MB`` (default 1024, at most 1,048,576). For XLSX and
    Parquet the limit applies to the unpacked data too, so that a small
    compressed file cannot expand into gigabytes (a "zip bomb"); so does it to
    each member of a run's inputs archive.

    Raises
    ------
    InputError
        The environment variable is not a positive number of megabytes up to 1 TB.
    """
    megabytes = env_limit(MAX_FILE_MB_VARIABLE, DEFAULT_MAX_FILE_MB, unit="megabytes", largest=_LARGEST_FILE_MB)
    return int(megabytes * (1 << 20))


def max_table_rows() -> int:
    """The row limit of one table: data rows, the header not counted.

    ``HONORCALC_MAX_ROWS`` (default `DEFAULT_MAX_ROWS`, 20,000,000). Parquet is
    checked against its footer's row count before any column is read; CSV
    against its line count before parsing when no value is quoted (else once
    parsed, the size limit bounding the work), XLSX against each sheet's
    recorded dimension before parsing (and once parsed).

    Raises
    ------
    InputError
        The environment variable is not a positive whole number.
    """
    return int(env_limit(MAX_ROWS_VARIABLE, DEFAULT_MAX_ROWS, unit="rows", largest=_LARGEST_ROWS, whole=True))


def _check_rows(path: Path, n_rows: int, limit: int, what: str = "holds") -> None:
    if n_rows > limit:
        raise InputError(
            f"{what} {n_rows:,} rows, above the limit of {limit:,} rows for one table: split the data "
            f"(one dataset per city) or raise the limit with the environment variable {MAX_ROWS_VARIABLE}",
            file=path,
        )


def _check_size(path: Path, size: int, limit: int, what: str = "is") -> None:
    if size > limit:
        raise InputError(
            f"{what} {size / (1 << 20):.1f} MB, above the limit of {limit / (1 << 20):.4g} MB "
            f"for one table file: split the data (one dataset per city) or raise the limit "
            f"with the environment variable {MAX_FILE_MB_VARIABLE}",
            file=path,
        )


def find_table_files(directory: str | Path) -> dict[str, Path]:
    """Map each table present in ``directory`` to its file.

    Raises
    ------
    InputError
        The directory does not exist, a required table has no file, or a table
        has several files (``scores.csv`` and ``scores.xlsx``: which one counts?).
    """
    directory = Path(directory)
    if not directory.exists():
        raise InputError(f"dataset directory not found: {directory}", file=directory)
    if not directory.is_dir():
        raise InputError(f"expected a dataset directory, got a file: {directory}", file=directory)
    by_table: dict[str, list[Path]] = {t: [] for t in TABLES}
    other: dict[str, list[Path]] = {t: [] for t in TABLES}
    try:
        entries = sorted(directory.iterdir())
    except OSError as exc:
        raise InputError(f"cannot list the dataset directory ({exc.strerror})", file=directory) from None
    for path in entries:
        stem = table_of_name(path.stem)  # scores.csv or 评分.xlsx
        if stem is None:
            continue
        if path.suffix.lower() in SUFFIXES:
            by_table[stem].append(path)  # a folder or a broken link is reported when read
        elif not path.name.startswith("."):
            other[stem].append(path)
    found: dict[str, Path] = {}
    for table, paths in by_table.items():
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            raise InputError(
                f"table '{table}' is given by several files ({names}); keep exactly one",
                file=directory,
            )
        if paths:
            found[table] = paths[0]
        elif table in REQUIRED_TABLES:
            seen = "".join(
                f"; found {p.name}, which is not a supported type"
                + (": save it from Excel as .xlsx" if p.suffix.lower() == ".xls" else "")
                for p in other[table][:1]
            )
            raise InputError(
                f"required table '{table}' is missing: expected {table}.csv, {table}.xlsx "
                f"or {table}.parquet (or {TABLE_NAMES_ZH[table]}.csv, .xlsx, .parquet){seen}",
                file=directory,
            )
    return found


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise InputError(
                f"starts with a UTF-8 byte-order mark but is not UTF-8 at byte {exc.start + 3}",
                file=path,
            ) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            "is UTF-16 text; save it as 'CSV UTF-8' (or plain CSV) instead", file=path
        )
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    _refuse_mixed_encodings(raw, path)
    for encoding in _ENCODINGS[1:]:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InputError("is neither UTF-8 nor GBK/GB18030 text", file=path)


def _refuse_mixed_encodings(raw: bytes, path: Path) -> None:
    """Refuse a file with UTF-8 Chinese on one line and other bytes on another.

    Such a file (rows pasted from two sources) would decode as GB18030 without an
    error, turning its UTF-8 lines into mojibake: two readings, so neither is taken.
    """
    text = raw.decode("utf-8", errors="surrogateescape")
    # GBK bytes rarely form a UTF-8 CJK character by accident, and then on a line
    # that also holds non-UTF-8 bytes: only lines with a CJK character are looked at
    good, at = None, 0
    while good is None and (cjk := _CJK.search(text, at)) is not None:
        start = text.rfind("\n", 0, cjk.start()) + 1
        end = text.find("\n", cjk.end())
        end = len(text) if end < 0 else end
        if _NOT_UTF8.search(text, start, end) is None:
            good = start
        at = end
    if good is None:
        return
    bad = _NOT_UTF8.search(text)
    good_line = text.count("\n", 0, good) + 1
    bad_line = text.count("\n", 0, bad.start()) + 1
    raise InputError(
        f"mixes two text encodings: line {good_line} is UTF-8 but line {bad_line} is not "
        "(GBK?); save the whole file again in one encoding (Excel: 'CSV UTF-8')",
        file=path, row=bad_line,
    )


def _sniff_binary(raw: bytes, path: Path, table: str) -> None:
    for magic, what, suffix in _MAGIC:
        if raw.startswith(magic):
            fix = (f"rename it {table}{suffix}" if suffix
                   else "save it from Excel as .xlsx or as 'CSV UTF-8'")
            raise InputError(f"is {what}, not CSV text: {fix}", file=path)
    if b"\x00" in raw and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("is not a CSV text file (it contains binary data)", file=path)


def _first_records(text: str, path: Path) -> list[list[str]]:
    """The first rows of a CSV text, parsed, for checking the header.

    Raises
    ------
    InputError
        The header row does not fit in the first `_HEADER_MAX_CHARS` characters,
        or holds a value longer than the CSV reader takes.
    """
    head = text[:_HEADER_MAX_CHARS]
    reader = csv.reader(_io.StringIO(head))
    records: list[list[str]] = []
    cut = len(head) < len(text)
    try:
        records.extend(itertools.islice(reader, _HEADER_SEARCH_ROWS + 1))
    except csv.Error:
        cut = True  # a value too long for the reader: the rows before it are kept
    else:
        if cut and len(records) <= _HEADER_SEARCH_ROWS:
            records = records[:-1]  # the last one may be cut short
    if cut and not records:
        raise InputError(
            f"the header row is too long (over {_HEADER_MAX_CHARS:,} characters, or a column name "
            f"over {csv.field_size_limit():,}); is this the right file?",
            file=path, row=1,
        )
    return records


def _column_name(value) -> str:
    return str(value).strip().lstrip("\ufeff").strip()


def _check_header(records: list[list[str]], table: str, path: Path) -> list[str]:
    """The column names, from the first row, after checking that it is the header.

    Raises
    ------
    InputError
        The first row lacks required columns that a later row has (a title row
        above the header, as Excel exports often have), the delimiter is not a
        comma, or a column name appears twice.
    """
    required = [c.name for c in CONTRACT.get(table, ()) if c.required]
    first = [_column_name(v) for v in records[0]] if records else []

    def has_required(record) -> bool:
        names = {column_of_header(table, v) for v in record} if table in CONTRACT else set()
        return all(name in names for name in required)

    if required and not has_required(first):
        later = next((i for i, r in enumerate(records[1:], start=2) if has_required(r)), None)
        if later is not None:
            raise InputError(
                f"the header row is not where expected: the column names ({', '.join(required)}) "
                f"are on row {later}, not row 1 (a title row above the header?); delete the "
                f"row(s) above the header",
                file=path, row=1,
            )
        if len([v for v in first if v]) == 1:
            cell = next(v for v in first if v)
            for delimiter, name in _WRONG_DELIMITERS:
                if delimiter in cell:
                    raise InputError(
                        f"the delimiter looks wrong: the header row has no commas but "
                        f"{cell.count(delimiter)} {name}; save the file as comma-separated CSV "
                        "(Excel: 'CSV UTF-8 (Comma delimited)')",
                        file=path, row=1,
                    )
        if not any(first):
            raise InputError("row 1 is blank; expected the header row naming the columns",
                             file=path, row=1)
    names = [v or f"Unnamed: {k}" for k, v in enumerate(first)]
    seen: dict[str, int] = {}
    for k, name in enumerate(names, start=1):
        if name in seen:
            raise InputError(
                f"the header names this column twice (columns {seen[name]} and {k}); "
                "which one counts? rename or delete one",
                file=path, row=1, column=name,
            )
        seen[name] = k
    return names


def _unify_line_endings(raw: bytes) -> bytes:
    """CR LF and a lone CR (Excel for Mac's "CSV (Macintosh)") as LF, outside quoted values.

    LF and CR LF text is returned as it is: both parsers read it. Text with a lone
    CR is split at its quotes; every other piece is outside a quoted value (a
    doubled quote inside one gives an empty piece outside), and only those pieces
    change, so a line break inside a quoted value stays in the value. GB18030 and
    UTF-8 never use the bytes of CR, LF or the quote inside a character.
    """
    if b"\r" not in raw or raw.count(b"\r") == raw.count(b"\r\n"):
        return raw
    pieces = raw.split(b'"')
    pieces[::2] = [piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n") for piece in pieces[::2]]
    return b'"'.join(pieces)


def _read_csv(path: Path, table: str, limit: int, row_limit: int) -> tuple[pd.DataFrame, str, str]:
    """The table, its encoding, and the sha256 of the very bytes parsed."""
    _check_size(path, path.stat().st_size, limit)
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    _sniff_binary(raw, path, table)
    raw = _unify_line_endings(raw)
    if b'"' not in raw:
        # without quotes every line is a record: the count is exact, and costs a pass over the bytes
        _check_rows(path, raw.count(b"\n") + (not raw.endswith(b"\n")) - 1, row_limit)
    text, encoding = _decode(raw, path)
    if not re.search(r"\S", text):
        raise InputError("is empty; expected a header row naming the columns", file=path)
    columns = _check_header(_first_records(text, path), table, path)
    del text  # the parser reads the bytes: one copy of a large file in memory, not two
    frame = _parse_csv(raw, encoding, len(columns), path)
    if frame.shape[1] != len(columns):
        raise InputError("cannot be parsed as CSV: its header row could not be read",
                         file=path, row=1)
    _check_rows(path, len(frame) - 1, row_limit)
    frame = frame.iloc[1:]
    frame.columns = columns
    frame.index = frame.index - 1
    return frame, encoding, digest


def _parse_csv(raw: bytes, encoding: str, n_columns: int, path: Path) -> pd.DataFrame:
    """Every record as text, the header record first; blank lines kept as blank rows.

    Arrow's multithreaded reader takes the usual file (5-10x faster than
    pandas'); a file with any row of another width than the header goes to
    pandas' parser, which pads short rows and names the line of a long one.
    """
    import pyarrow
    import pyarrow.csv as pacsv

    names = [f"c{k}" for k in range(n_columns)]
    try:
        data = pacsv.read_csv(
            _io.BytesIO(raw),
            read_options=pacsv.ReadOptions(column_names=names, encoding="utf8" if encoding.startswith(
                "utf-8") else encoding),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False,
                                             invalid_row_handler=lambda row: "error"),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pyarrow.large_string()),  # pandas' str: no cast
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        return data.to_pandas()
    except (pyarrow.ArrowException, ValueError):
        pass
    try:
        return pd.read_csv(
            _io.BytesIO(raw), encoding=encoding, header=None, dtype=str, keep_default_na=False,
            na_filter=False, skip_blank_lines=False, index_col=False,
        )
    except pd.errors.ParserError as exc:
        raise _csv_error(str(exc), n_columns, path) from None


def _csv_error(message: str, n_columns: int, path: Path) -> InputError:
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if fields:
        return InputError(
            f"has {fields[3]} fields but the header has {n_columns}: quote a value that "
            'contains a comma ("1,200"), and give every column a name in the header',
            file=path, row=int(fields[2]),
        )
    quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if quote:
        return InputError(
            'a quote (") opens a value here that never closes; remove the stray quote '
            'or double it ("")',
            file=path, row=int(quote[1]) + 1,
        )
    return InputError(f"cannot be parsed as CSV: {message.strip().splitlines()[-1]}", file=path)


def cell_text(value) -> str:
    """A spreadsheet or Parquet cell as the text a user would have typed."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.strftime("%Y-%m-%d")
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text: a per-cell loop, fine for a sheet (at most 2**20 rows)."""
    return pd.DataFrame(
        {k: frame[c].map(cell_text).astype(str) for k, c in enumerate(frame.columns)},
        index=frame.index,
    )


def _sheet_rows(archive: zipfile.ZipFile) -> dict[str, int]:
    """Each worksheet's last row, from the dimension it records near its start (sheets without one left out)."""
    rows = {}
    for member in archive.infolist():
        if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
            with archive.open(member) as handle:
                head = handle.read(1 << 16)
            found = _DIMENSION.search(head)
            if found:
                rows[member.filename] = int(found[2] or found[1])
    return rows


# <dimension ref="A1:G5001"/> (or ref="A1" for a sheet of one cell)
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?[A-Z]+\$?(\d+)(?::\$?[A-Z]+\$?(\d+))?"')


def check_xlsx_file(path: Path, table: str | None, limit: int, row_limit: int) -> dict[str, int]:
    """Check an XLSX file before parsing it: a ZIP archive, within the size limits unpacked, and
    no sheet longer than the row limit by its recorded dimension. Returns each sheet part's last row.

    Raises
    ------
    InputError
        An Excel 97-2003 file, not a ZIP archive, a damaged archive, too large, too many rows.
    """
    _check_size(path, path.stat().st_size, limit)
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head.startswith(b"PK\x03\x04"):
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise InputError("is an Excel 97-2003 workbook (.xls), not XLSX: save it from "
                             "Excel as .xlsx", file=path)
        raise InputError(f"is not an XLSX workbook (an .xlsx file is a ZIP archive); if it "
                         f"is CSV text, name it {table or path.stem}.csv", file=path)
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
            _check_size(path, unpacked, limit, what="unpacks to")
            sheet_rows = _sheet_rows(archive)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
        raise InputError("is a damaged ZIP archive, not a readable XLSX workbook", file=path) from None
    _check_rows(path, max(sheet_rows.values(), default=1) - 1, row_limit, what="has a sheet of")
    return sheet_rows


def _read_xlsx(path: Path, table: str, limit: int, row_limit: int) -> pd.DataFrame:
    check_xlsx_file(path, table, limit, row_limit)
    try:
        sheets = pd.read_excel(
            path, sheet_name=None, header=None, dtype=object, engine="openpyxl", na_filter=False
        )
    except Exception as exc:  # openpyxl raises many types for a file that is not XLSX
        raise InputError(f"cannot be read as an XLSX workbook ({type(exc).__name__})", file=path) from None
    texts = {name: _as_text(sheet.reset_index(drop=True)) for name, sheet in sheets.items()}
    filled = {name: text for name, text in texts.items()
              if text.shape[1] and (text.apply(lambda c: c.str.strip()) != "").to_numpy().any()}
    named = {table_of_name(name) or str(name).strip().lower(): sheet for name, sheet in filled.items()}
    if table in named:
        sheet = named[table]
    elif len(filled) == 1:
        sheet = next(iter(filled.values()))
    elif not filled:
        raise InputError("is empty; expected a header row naming the columns", file=path)
    else:
        names = ", ".join(map(str, filled))
        raise InputError(
            f"has several sheets ({names}); keep one, or name the one to use '{table}'",
            file=path,
        )
    columns = _check_header(sheet.head(_HEADER_SEARCH_ROWS + 1).to_numpy().tolist(), table, path)
    _check_rows(path, len(sheet) - 1, row_limit)
    text = sheet.iloc[1:]
    text.columns = columns
    text.index = text.index - 1
    return text


def _arrow_text(column, distinct: bool = False):
    """One Arrow column as text, vectorized (Arrow compute), blanks as "".

    ``distinct``: the values are distinct already (a dictionary), formatted as they are.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if not distinct and not (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and len(column) > 4096:
        # format each distinct value once: a column of scores has a few hundred
        encoded = pc.dictionary_encode(column)
        if isinstance(encoded, pa.ChunkedArray):  # a table's column; a plain array as it is
            encoded = encoded.combine_chunks()
        return pc.fill_null(pc.take(_arrow_text(encoded.dictionary, distinct=True), encoded.indices), "")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = column
    elif pa.types.is_floating(kind):
        whole = pc.and_(pc.is_finite(column), pc.and_(pc.equal(pc.floor(column), column),
                                                       pc.less(pc.abs(column), 2.0**53)))
        whole = pc.fill_null(whole, False)
        as_int = pc.cast(pc.if_else(whole, column, 0.0), pa.int64())
        text = pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(column, pa.string()))
    elif pa.types.is_timestamp(kind):
        midnight = pc.all(pc.equal(pc.cast(column, pa.int64()) % _day_units(kind.unit), 0))
        fmt = "%Y-%m-%d" if midnight.as_py() in (True, None) else "%Y-%m-%dT%H:%M:%S"
        text = pc.strftime(column, format=fmt)
    elif (pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_date(kind)
          or pa.types.is_decimal(kind)):
        text = pc.cast(column, pa.string())
    else:  # nested or exotic types: rare, and refused by validation anyway
        text = pa.array([cell_text(v) for v in column.to_pylist()], type=pa.string())
    return pc.fill_null(text, "")


def _day_units(unit: str) -> int:
    return 86400 * {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]


def _read_parquet(path: Path, limit: int, row_limit: int) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_size(path, path.stat().st_size, limit)
    try:
        parquet = pq.ParquetFile(path)
        meta = parquet.metadata
        unpacked = sum(meta.row_group(k).total_byte_size for k in range(meta.num_row_groups))
        n_rows = meta.num_rows
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(f"cannot be read as Parquet ({type(exc).__name__})", file=path) from None
    # the footer's count, before any column is read: dictionary-encoded rows take a few bytes on disk,
    # so neither the file's size nor its recorded byte size bounds what reading it allocates
    _check_rows(path, n_rows, row_limit)
    _check_size(path, unpacked, limit, what="unpacks to")
    try:
        data = parquet.read()
    except Exception as exc:
        raise InputError(f"cannot be read as Parquet ({type(exc).__name__})", file=path) from None
    names = [_column_name(n) for n in data.column_names]
    _check_header([names], "", path)
    text = pa.table([_arrow_text(c) for c in data.columns], names=names)
    return text.to_pandas()


def _require_regular_file(path: Path) -> None:
    """Refuse, without opening it, a path that is missing, a folder, or not a regular file.

    A FIFO would block the reader forever and a device such as ``/dev/zero``
    never ends: neither is a table, whatever its name.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or type(exc).__name__})", file=path) from None
    if stat.S_ISDIR(mode):
        raise InputError("is a directory, not a file", file=path)
    if not stat.S_ISREG(mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a special file")
        raise InputError(f"is not a regular file but {kind}; give the table as an ordinary file",
                         file=path)


def read_table(
    path: str | Path, table: str | None = None, *, max_bytes: int | None = None, max_rows: int | None = None
) -> tuple[pd.DataFrame, dict]:
    """Read one table file as text cells.

    Parameters
    ----------
    path : the file (``.csv``, ``.xlsx`` or ``.parquet``).
    table : the contract table it holds (default: the file's stem), used to find
        the header and the sheet.
    max_bytes : size limit (default `max_file_bytes`).
    max_rows : row limit (default `max_table_rows`: ``HONORCALC_MAX_ROWS``, else 20,000,000).

    Returns
    -------
    frame : pandas.DataFrame
        Every column as ``str``, blank cells as ``""``; the index is 0-based, so
        a cell's spreadsheet row is ``index + 2`` (blank rows are kept, so the
        numbers match the spreadsheet's).
    info : dict
        ``format`` (csv/xlsx/parquet), ``sha256`` of the file as read (of the
        very bytes parsed, for CSV) and, for CSV, the detected ``encoding``.

    Raises
    ------
    InputError
        Unreadable, binary, too large or too many rows, mixed encodings, wrong
        delimiter, header not in row 1, a column named twice, a row with more
        fields than the header.

    Notes
    -----
    Line ends may be LF, CR LF or CR alone (Excel for Mac's "CSV (Macintosh)").
    """
    path = Path(path)
    table = table or table_of_name(path.stem) or path.stem.lower()
    suffix = path.suffix.lower()
    limit = max_file_bytes() if max_bytes is None else max_bytes
    row_limit = max_table_rows() if max_rows is None else max_rows
    _require_regular_file(path)
    try:
        if suffix == ".csv":
            frame, encoding, digest = _read_csv(path, table, limit, row_limit)
            info = {"format": "csv", "encoding": encoding, "sha256": digest}
        elif suffix == ".xlsx":
            digest = file_sha256(path)  # hashed as it is read: the run records the data it used
            frame, info = _read_xlsx(path, table, limit, row_limit), {"format": "xlsx", "sha256": digest}
        elif suffix == ".parquet":
            digest = file_sha256(path)
            frame, info = _read_parquet(path, limit, row_limit), {"format": "parquet", "sha256": digest}
        else:
            raise InputError(f"unsupported file type '{suffix}'; use .csv, .xlsx or .parquet", file=path)
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or type(exc).__name__})", file=path) from None
    except MemoryError:
        raise InputError(
            f"is too large to read in the memory available; lower "
            f"{MAX_FILE_MB_VARIABLE} or {MAX_ROWS_VARIABLE}, or split the data", file=path,
        ) from None
    return frame, info


def read_raw_tables(
    directory: str | Path, *, max_bytes: int | None = None, max_rows: int | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, Path], dict]:
    """Read every table of a dataset directory as text frames."""
    files = find_table_files(directory)
    limit = max_file_bytes() if max_bytes is None else max_bytes
    row_limit = max_table_rows() if max_rows is None else max_rows
    tables, infos = {}, {}
    for table, path in files.items():
        tables[table], infos[table] = read_table(path, table, max_bytes=limit, max_rows=row_limit)
    return tables, files, infos


def load_dataset(path: str | Path, *, max_bytes: int | None = None, max_rows: int | None = None):
    """Read and validate a dataset: a folder of table files, or one workbook.

    Parameters
    ----------
    path : the dataset folder (``units.csv``, ``评分.xlsx`` …) or a workbook
        (``测评数据.xlsx``) whose sheets are the tables (`honorcalc.data.workbook`).
    max_bytes : size limit of one table file (default `max_file_bytes`: the
        environment variable ``HONORCALC_MAX_FILE_MB``, else 1024 MB).
    max_rows : row limit of one table (default `max_table_rows`: the environment
        variable ``HONORCALC_MAX_ROWS``, else 20,000,000).

    Returns
    -------
    honorcalc.data.Dataset
        ``files`` names each table's file relative to the dataset's folder (for a
        workbook: the workbook, for every table).

    Raises
    ------
    InputError
        A file is missing, unreadable, too large, has too many rows, or is ambiguous.
    ValidationError
        Any contract violation, and any problem of a workbook (hidden data,
        formula errors …); all of them are listed at once, each at its sheet and cell.
    """
    import dataclasses

    from ..errors import ValidationError
    from .validate import validate_tables
    from .workbook import shape_tables, workbook_error

    raw = read_dataset(path, max_bytes=max_bytes, max_rows=max_rows)
    raw = shape_tables(raw)
    try:
        dataset = validate_tables(raw.tables, files=raw.display, formats=raw.formats, final_rows=raw.final_rows)
    except ValidationError as err:
        raise workbook_error(raw, err) from None
    problem = workbook_error(raw, None)
    if problem is not None:
        raise problem
    dataset = dataclasses.replace(dataset, files=dict(raw.files), notices=tuple(raw.notices) + dataset.notices)
    del raw
    release_freed_memory()
    return dataset


def release_freed_memory() -> None:
    """Give memory freed after a large step back to the system.

    Arrow's allocator keeps what was freed for its next use (a province's text read: a
    gigabyte), and so does the C library's, for blocks of up to 32 MB, in one heap per
    thread; the next step needs neither. Where the C library is not glibc, only Arrow's
    memory is returned.
    """
    import ctypes
    import ctypes.util

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    libc = ctypes.util.find_library("c")
    if libc:
        trim = getattr(ctypes.CDLL(libc), "malloc_trim", None)
        if trim is not None:
            trim(0)


def dataset_file(dataset: str | Path, file: str) -> Path:
    """The path of a table's ``file`` (as `Dataset.files` names it) in the dataset at ``dataset``:
    a folder, or a workbook (whose tables are all the workbook itself)."""
    base = Path(dataset)
    if base.suffix.lower() == ".xlsx" and not base.is_dir():
        base = base.parent
    return base / file


def read_dataset(path: str | Path, *, max_bytes: int | None = None, max_rows: int | None = None):
    """Every table of a dataset folder or workbook as text, before validation (a `RawDataset`)."""
    from .workbook import RawDataset, read_workbook

    path = Path(path)
    if path.suffix.lower() == ".xlsx" and not path.is_dir():
        _require_regular_file(path)
        digest = file_sha256(path)
        try:
            raw = read_workbook(path, max_bytes=max_bytes, max_rows=max_rows)
        except OSError as exc:
            raise InputError(f"cannot be read ({exc.strerror or type(exc).__name__})", file=path) from None
        raw.formats = {t: {"format": "xlsx", "sha256": digest} for t in raw.tables}
        return raw
    if path.exists() and not path.is_dir():
        raise InputError("expected a dataset folder or one workbook (.xlsx), got another kind of file", file=path)
    files = find_table_files(path)
    limit = max_file_bytes() if max_bytes is None else max_bytes
    row_limit = max_table_rows() if max_rows is None else max_rows
    raw = RawDataset(tables={}, display={}, files={}, formats={})
    for table, file in files.items():
        raw.files[table] = raw.display[table] = file.name
        if file.suffix.lower() != ".xlsx":
            raw.tables[table], raw.formats[table] = read_table(file, table, max_bytes=limit, max_rows=row_limit)
            continue
        # a table's workbook is read as any workbook is: hidden data, formulas, merged cells, its cells named
        _require_regular_file(file)
        digest = file_sha256(file)
        try:
            part = read_workbook(file, max_bytes=limit, max_rows=row_limit, only=table,
                                 indicators=raw.tables.get("indicators"))
        except OSError as exc:
            raise InputError(f"cannot be read ({exc.strerror or type(exc).__name__})", file=file) from None
        raw.tables[table], raw.display[table] = part.tables[table], part.display[table]
        raw.origins[table] = part.origins[table]
        raw.formats[table] = {"format": "xlsx", "sha256": digest}
        raw.notices += part.notices
        raw.problems += part.problems
    return raw
