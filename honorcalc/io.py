"""Reading and writing data: the only module that opens dataset files.

A dataset is a directory with one file per table of the contract (DESIGN.md):
``units``, ``indicators``, ``rounds``, ``scores`` and optionally ``deductions``
and ``surveys``, each as ``.csv`` (UTF-8, UTF-8 with BOM, or GBK/GB18030,
detected), ``.xlsx`` or ``.parquet``.

Every cell is read as text, exactly as the user typed it (ids keep their leading
zeros; "NA" and "无" stay strings), and typed later by `honorcalc.validation`,
which knows what each column should hold. Row numbers in messages are the rows a
spreadsheet program shows: the header is row 1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io as _io
import math
from pathlib import Path

import pandas as pd

from .errors import InputError

__all__ = [
    "TABLES",
    "REQUIRED_TABLES",
    "SUFFIXES",
    "find_table_files",
    "read_table",
    "read_raw_tables",
    "load_dataset",
    "write_dataset",
    "write_csv",
    "write_tables",
    "table_bytes",
    "FLOAT_FORMAT",
    "file_sha256",
    "archive_inputs",
    "extract_inputs",
    "append_line",
]

TABLES = ("units", "indicators", "rounds", "scores", "deductions", "surveys")
REQUIRED_TABLES = ("units", "indicators", "rounds", "scores")
SUFFIXES = (".csv", ".xlsx", ".parquet")

# Tried in this order. UTF-8 is strict enough that GBK text almost never decodes
# as UTF-8 by accident; GB18030 is the superset of GBK that Excel's "CSV" export
# on a Chinese Windows produces.
_ENCODINGS = ("utf-8", "gb18030")


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
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.suffix.lower() in SUFFIXES and path.stem.lower() in by_table:
            by_table[path.stem.lower()].append(path)
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
            raise InputError(
                f"required table '{table}' is missing: expected {table}.csv, {table}.xlsx "
                f"or {table}.parquet",
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
    for encoding in _ENCODINGS:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InputError("is neither UTF-8 nor GBK/GB18030 text", file=path)


def _read_csv(path: Path) -> tuple[pd.DataFrame, str]:
    raw = path.read_bytes()
    if b"\x00" in raw[:65536] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("is not a CSV text file (it contains binary data)", file=path)
    text, encoding = _decode(raw, path)
    if not text.strip():
        raise InputError("is empty; expected a header row naming the columns", file=path)
    try:
        frame = pd.read_csv(
            _io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False,
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as exc:
        raise InputError(f"cannot be parsed as CSV: {exc}", file=path) from None
    return frame, encoding


def _cell_text(value) -> str:
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
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        out[str(column)] = frame[column].map(_cell_text).astype(str)
    return out


def _read_xlsx(path: Path, table: str) -> pd.DataFrame:
    try:
        sheets = pd.read_excel(
            path, sheet_name=None, dtype=object, engine="openpyxl", na_filter=False
        )
    except Exception as exc:  # openpyxl raises many types for a file that is not XLSX
        raise InputError(f"cannot be read as an XLSX workbook ({type(exc).__name__})", file=path) from None
    filled = {name: sheet for name, sheet in sheets.items() if not sheet.empty or len(sheet.columns)}
    if table in filled:
        sheet = filled[table]
    elif len(filled) == 1:
        sheet = next(iter(filled.values()))
    elif not filled:
        raise InputError("is empty; expected a header row naming the columns", file=path)
    else:
        names = ", ".join(filled)
        raise InputError(
            f"has several sheets ({names}); keep one, or name the one to use '{table}'",
            file=path,
        )
    return _as_text(sheet)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(f"cannot be read as Parquet ({type(exc).__name__})", file=path) from None
    return _as_text(frame.reset_index(drop=True))


def read_table(path: str | Path, table: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Read one table file as text cells.

    Returns
    -------
    frame : pandas.DataFrame
        Every column as ``str``, blank cells as ``""``; the index is 0-based, so
        a cell's spreadsheet row is ``index + 2``.
    info : dict
        ``format`` (csv/xlsx/parquet) and, for CSV, the detected ``encoding``.
    """
    path = Path(path)
    table = table or path.stem.lower()
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError("file not found", file=path)
    if suffix == ".csv":
        frame, encoding = _read_csv(path)
        info = {"format": "csv", "encoding": encoding}
    elif suffix == ".xlsx":
        frame, info = _read_xlsx(path, table), {"format": "xlsx"}
    elif suffix == ".parquet":
        frame, info = _read_parquet(path), {"format": "parquet"}
    else:
        raise InputError(f"unsupported file type '{suffix}'; use .csv, .xlsx or .parquet", file=path)
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    return frame.reset_index(drop=True), info


def read_raw_tables(directory: str | Path) -> tuple[dict[str, pd.DataFrame], dict[str, Path], dict]:
    """Read every table of a dataset directory as text frames."""
    files = find_table_files(directory)
    tables, infos = {}, {}
    for table, path in files.items():
        tables[table], infos[table] = read_table(path, table)
    return tables, files, infos


def load_dataset(directory: str | Path):
    """Read and validate a dataset directory.

    Returns
    -------
    honorcalc.validation.Dataset

    Raises
    ------
    InputError
        A file is missing, unreadable or ambiguous.
    ValidationError
        Any contract violation; all of them are listed at once.
    """
    from .validation import validate_tables

    tables, files, infos = read_raw_tables(directory)
    return validate_tables(tables, files=files, formats=infos)


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as UTF-8 CSV, byte-identical for identical frames."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


#: Ten significant digits: far below any published precision, and stable
#: against the last-bit noise of a float sum.
FLOAT_FORMAT = "%.10g"


def table_bytes(frame: pd.DataFrame) -> bytes:
    """The exact bytes a result table is written as (UTF-8 CSV, fixed float format)."""
    return frame.to_csv(index=False, lineterminator="\n", float_format=FLOAT_FORMAT).encode("utf-8")


def write_tables(tables: dict[str, pd.DataFrame], run_dir: str | Path) -> list[Path]:
    """Write result tables (keyed by file name) into ``run_dir``; return the paths."""
    run_dir = Path(run_dir)
    paths = []
    for name, frame in tables.items():
        path = run_dir / name
        path.write_bytes(table_bytes(frame))
        paths.append(path)
    return paths


def write_dataset(tables: dict[str, pd.DataFrame], directory: str | Path) -> list[Path]:
    """Write each table as ``<directory>/<name>.csv`` (UTF-8); return the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return [write_csv(frame, directory / f"{name}.csv") for name, frame in tables.items()]


def append_line(path: str | Path, line: str) -> Path:
    """Append one line to a text file (created with its folder if absent) and flush it to disk."""
    import os

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if "\n" in line:
        raise ValueError("append_line writes exactly one line")
    with open(path, "a", encoding="utf-8", newline="\n") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return path


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same inputs give the same archive bytes


def archive_inputs(files: dict[str, str | Path], archive: str | Path) -> Path:
    """Store the exact input files (by their own names) in a deterministic zip archive."""
    import zipfile

    archive = Path(archive)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(Path(f) for f in files.values()):
            info = zipfile.ZipInfo(path.name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    return archive


def extract_inputs(archive: str | Path, directory: str | Path) -> Path:
    """Unpack an inputs archive into ``directory`` (member names are plain file names)."""
    import zipfile

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            if Path(name).name != name or name.startswith("."):
                raise InputError(f"unexpected member {name!r} in the inputs archive", file=archive)
            (directory / name).write_bytes(zf.read(name))
    return directory


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
