"""Writing tables: fixed float format and line endings, so the same frames give the same bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

__all__ = ['write_csv', 'FLOAT_FORMAT', 'table_bytes', 'write_tables', 'write_dataset', 'append_line', 'file_sha256', 'input_sha256']


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
