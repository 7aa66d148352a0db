"""Writing tables: fixed float format and line endings, so the same frames give the same bytes.

Every CSV honorcalc writes (`write_csv`, `write_dataset`, a run's tables through
`table_bytes`) is inert in a spreadsheet. A text cell that starts with a
character a spreadsheet reads as the start of a formula (`FORMULA_START`: ``=``
``+`` ``-`` ``@``, tab, carriage return, line feed, NUL and the full-width
``＝`` ``＋`` ``－`` ``＠``) is written with one ``'`` in front, as OWASP advises
against CSV injection: ``=HYPERLINK(…)`` is written ``'=HYPERLINK(…)``, so Excel
and WPS show it as text and run nothing. Only text is escaped, never a number: a
numeric column's ``-3`` stays ``-3``; a text column's ``-3`` (an id) is text and
is written ``'-3``. Column names are text and escaped alike.

The escape is reversible (`escape_cell`, `unescape_cell`): a cell that already
starts with ``'`` and then, after any more ``'``, a formula character gets one
``'`` more, so reading strips exactly one ``'`` from exactly the cells that got
one, and every text reads back as it was
(`honorcalc.runs.notebook.read_table`). A cell holding a carriage return is
quoted like one holding a line feed (RFC 4180), so a bare CR never splits a row.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ['write_csv', 'FLOAT_FORMAT', 'table_bytes', 'write_tables', 'write_dataset', 'append_line', 'file_sha256',
           'input_sha256', 'csv_text', 'FORMULA_START', 'escape_cell', 'unescape_cell', 'neutralise_formulas', 'restore_text',
           'stable_zip', 'fit_to_page', 'DIRECTION_CONTROLS']


# --------------------------------------------------------------------------- spreadsheet formulas


#: First characters that make a spreadsheet read a cell as a formula (or strip them and read
#: on): OWASP's ``=`` ``+`` ``-`` ``@``, tab and carriage return; line feed and NUL (OWASP ASVS);
#: and the full-width forms, which an East Asian input method turns into the ASCII ones.
FORMULA_START = frozenset("=+-@\t\r\n\0\uff1d\uff0b\uff0d\uff20")

#: A text that gets a ``'`` in front: a formula character after any number of ``'``.
_ESCAPED = re.compile("'*[" + "".join(re.escape(c) for c in sorted(FORMULA_START)) + "]")
#: The first characters of the texts `_ESCAPED` may match.
_LEADING = sorted(FORMULA_START | {"'"})
#: A cell that got one.
_UNESCAPED = re.compile("'+[" + "".join(re.escape(c) for c in sorted(FORMULA_START)) + "]")


#: Characters that change the direction of the text after them: embeddings, overrides, isolates and
#: marks (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C). A name holding U+202E would show the
#: rest of a sentence reversed ("Trojan Source"): validation tells of them, reports show names without
#: them, and ``explain`` spells them out.
DIRECTION_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"

def escape_cell(text: str) -> str:
    """``text`` as written into a CSV: with one ``'`` in front when it would start a formula.

    Also when ``text`` is ``'`` (any number of them) before a formula character,
    so `unescape_cell` gives back exactly ``text``: ``'=x`` is written ``''=x``.
    Any other text is written as it is.

    >>> print(escape_cell('=HYPERLINK("http://x","y")'), escape_cell("-3"), escape_cell("'=x"), escape_cell("a=b"))
    '=HYPERLINK("http://x","y") '-3 ''=x a=b
    """
    return "'" + text if _ESCAPED.match(text) else text


def unescape_cell(text: str) -> str:
    """A cell written by `escape_cell`, as it was: one leading ``'`` dropped where `escape_cell` added it.

    >>> print(unescape_cell("'=x"), unescape_cell("''=x"), unescape_cell("'plain"))
    =x '=x 'plain
    """
    return text[1:] if _UNESCAPED.match(text) else text


def _text_values(column: pd.Series) -> bool:
    """Whether ``column`` may hold text (object or string dtype)."""
    return column.dtype == object or pd.api.types.is_string_dtype(column.dtype)


def _escape_column(column: pd.Series) -> pd.Series:
    """``column`` with every text cell escaped (`escape_cell`); the same object when none needs it."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = column.cat.categories
        if not _text_values(pd.Series(categories)):
            return column
        escaped = [escape_cell(c) if isinstance(c, str) else c for c in categories]
        return column if escaped == list(categories) else column.cat.rename_categories(escaped)
    if not _text_values(column):
        return column
    if column.dtype == object:
        needs = np.fromiter((isinstance(v, str) and _ESCAPED.match(v) is not None for v in column.array),
                            dtype=bool, count=len(column))
    else:  # a string dtype: the few cells that start with a formula character or a quote, then exactly
        needs = column.str.slice(0, 1).isin(_LEADING).to_numpy(dtype=bool, na_value=False, copy=True)
        if needs.any():
            needs[needs] = [_ESCAPED.match(v) is not None for v in column[needs]]
    if not needs.any():
        return column
    out = column.copy()
    out[needs] = ["'" + v for v in column[needs]]
    return out


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as it is written: every text cell and column name escaped (`escape_cell`).

    Numbers, booleans, dates, tuples and missing values are left as they are.
    ``frame`` itself is not changed; it is returned unchanged (the same
    object) when nothing needs escaping.
    """
    columns = {name: _escape_column(frame[name]) for name in frame.columns} if frame.columns.is_unique else None
    if columns is None:  # repeated column names: column by column, by position
        escaped = [_escape_column(frame.iloc[:, k]) for k in range(frame.shape[1])]
        changed = any(e is not frame.iloc[:, k] for k, e in enumerate(escaped))
        out = pd.concat(escaped, axis=1) if changed else frame
    else:
        changed = any(columns[name] is not frame[name] for name in frame.columns)
        out = pd.DataFrame(columns, index=frame.index) if changed else frame
    names = [escape_cell(n) if isinstance(n, str) else n for n in frame.columns]
    if names != list(frame.columns):
        out = out.copy() if out is frame else out
        out.columns = names
    return out


def restore_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A table honorcalc wrote, read back with every cell as text, as it was before it was written:
    every cell and column name unescaped (`unescape_cell`).

    For a reader that takes a run's CSV as text (``pd.read_csv(..., dtype=str)``);
    `honorcalc.runs.notebook.read_table` also gives each column its type.
    """
    out = frame.copy()
    for k in range(out.shape[1]):
        column = out.iloc[:, k]
        if _text_values(column):
            out.iloc[:, k] = column.map(unescape_cell, na_action="ignore")
    out.columns = [unescape_cell(n) if isinstance(n, str) else n for n in frame.columns]
    return out


# --------------------------------------------------------------------------- CSV


#: Ten significant digits: far below any published precision, and stable
#: against the last-bit noise of a float sum.
FLOAT_FORMAT = "%.10g"


def csv_text(frame: pd.DataFrame, **options) -> str:
    """``frame`` as CSV text: its formulas neutralised (`neutralise_formulas`), rows ending in ``\n``.

    A cell holding a carriage return is quoted (RFC 4180), as one holding a line
    feed always is. ``options`` go to `pandas.DataFrame.to_csv` (``float_format``).
    """
    # the csv module quotes the characters of the line terminator: written with CRLF, a cell
    # holding a CR is quoted; outside quotes a CR then only ever ends a row, and goes
    text = neutralise_formulas(frame).to_csv(index=False, lineterminator="\r\n", **options)
    parts = text.split('"')
    parts[::2] = [part.replace("\r\n", "\n") for part in parts[::2]]
    return '"'.join(parts)


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as UTF-8 CSV, byte-identical for identical frames (`csv_text`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text(frame).encode("utf-8"))
    return path


def table_bytes(frame: pd.DataFrame) -> bytes:
    """The exact bytes a result table is written as (UTF-8 CSV, fixed float format, `csv_text`)."""
    return csv_text(frame, float_format=FLOAT_FORMAT).encode("utf-8")


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
    """Write each table as ``<directory>/<name>.csv`` (UTF-8, `write_csv`); return the paths."""
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


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_sha256(dataset, table: str, path: str | Path) -> str:
    """The sha256 of a table's file as it was read: the data a run used, even if the file changed
    since (verify then names the input as edited after the run). Files of a dataset validated
    without that record are hashed now."""
    return dataset.formats.get(table, {}).get("sha256") or file_sha256(path)


def stable_zip(data: bytes, when, replace: dict[str, bytes] | None = None) -> bytes:
    """``data`` (a zip archive: a workbook, a Word document) rewritten so that its bytes depend only
    on its members' contents.

    Every member keeps its name, order and content (or the content ``replace``
    gives for its name), and gets the time ``when`` (a datetime, at least
    1980-01-01, the zip format's first day), the same attributes (MS-DOS, no
    permissions) and deflate compression at one level.
    """
    import datetime as dt
    import io
    import zipfile

    replace = replace or {}
    when = max(when, dt.datetime(1980, 1, 1))
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second // 2 * 2)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as target:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            content = replace[member.filename] if member.filename in replace else source.read(member)
            target.writestr(info, content, compresslevel=6)
    return out.getvalue()


def fit_to_page(ws, landscape: bool) -> None:
    """A worksheet printed on A4, as wide as one page and as long as it needs: every workbook honorcalc
    writes (the results a 创文办 prints, the template it fills in) prints so."""
    from openpyxl.worksheet.properties import PageSetupProperties

    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
