"""`honorcalc verify`: recompute a run from its recorded inputs and parameters, table by table.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from ..data.write import table_bytes
from ..errors import InputError
from .folder import INPUTS_ARCHIVE
from .manifest import check_manifest
from .pipeline import run_tables
from .recorded import load_run, recorded_dataset

__all__ = ['verify_run']


def _key_columns(frame: pd.DataFrame) -> list[str]:
    for key in (["unit_id"], ["rater_id"], ["unit_id", "rule"]):
        if set(key) <= set(frame.columns) and not frame.duplicated(key).any():
            return key
    return []


def _row_differences(name: str, recorded: bytes, fresh: bytes, limit: int = 20) -> list[str]:
    """Name the rows (by unit or rater) and columns that differ; lines when rows have no key."""
    import io

    read = lambda b: pd.read_csv(io.BytesIO(b), dtype=str, keep_default_na=False)  # noqa: E731
    try:
        old, new = read(recorded), read(fresh)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError):
        return [f"{name}: the recorded file is no longer a readable table"]
    key = _key_columns(new)
    out: list[str] = []
    if key and list(old.columns) == list(new.columns) and _key_columns(old) == key:
        old_i, new_i = old.set_index(key), new.set_index(key)
        for k in old_i.index.difference(new_i.index):
            out.append(f"{name}: {'/'.join(key)} {k}: recorded but not recomputed")
        for k in new_i.index.difference(old_i.index):
            out.append(f"{name}: {'/'.join(key)} {k}: recomputed but not recorded")
        common = old_i.index.intersection(new_i.index, sort=False)
        a, b = old_i.loc[common], new_i.loc[common]
        for k, row in (a != b).iterrows():
            for column in row.index[row.to_numpy()]:
                out.append(f"{name}: {'/'.join(key)} {k}: {column} recorded {a.at[k, column]!r}, "
                           f"recomputed {b.at[k, column]!r}")
    else:
        old_lines, new_lines = recorded.decode("utf-8", "replace").splitlines(), fresh.decode().splitlines()
        for i in range(max(len(old_lines), len(new_lines))):
            x = old_lines[i] if i < len(old_lines) else "<missing>"
            y = new_lines[i] if i < len(new_lines) else "<missing>"
            if x != y:
                out.append(f"{name} line {i + 1}: recorded {x!r}, recomputed {y!r}")
    if len(out) > limit:
        out = out[:limit] + [f"{name}: … and {len(out) - limit} more differences"]
    return out


def verify_run(run_dir: str | Path) -> list[str]:
    """Everything in a run that no longer matches; empty when the run is reproduced exactly.

    Checks that every output still has its recorded sha256; that the original
    input files, where they still exist, still have theirs; and that recomputing
    the tables from the run's exact inputs (its ``inputs.zip`` when kept, so a
    run can be re-checked after the dataset moved) and recorded parameters gives
    the same bytes, naming the rows and columns that differ.
    """
    run = load_run(run_dir)
    problems = [
        p for p in check_manifest(run.run_dir)
        # a moved dataset is not a difference when the run kept its own copy
        if not (p.endswith("is missing") and p.startswith("input") and (run.run_dir / INPUTS_ARCHIVE).exists())
    ]
    with tempfile.TemporaryDirectory() as work:
        try:
            dataset, archive_problems = recorded_dataset(run, Path(work))
        except InputError as err:
            return problems + [f"the recorded inputs cannot be loaded: {err}"]
        problems += archive_problems
        tables = run_tables(run.params, dataset)
    for name, frame in tables.items():
        path = run.run_dir / name
        fresh = table_bytes(frame)
        if not path.exists():
            if name not in run.manifest["outputs"]:
                problems.append(f"{name} is not in the run but would be produced now")
            continue
        recorded = path.read_bytes()
        if recorded != fresh:
            problems.append(f"{name}: recomputing from the recorded inputs gives a different result")
            problems += _row_differences(name, recorded, fresh)
    return problems
