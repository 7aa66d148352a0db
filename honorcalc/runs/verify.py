"""`honorcalc verify`: recompute a run from its recorded inputs and parameters, table by table.

`check_run` recomputes a run and says what no longer matches; nothing in
``manifest.json`` is taken on trust where it can be recomputed (the round it
claims is checked against the run's data and parameters). A manifest that was
edited and re-hashed consistently can only be exposed by a hash kept elsewhere:
`published_problems` checks a run against its entry in the city's ledger, which
recorded the sha256 of the manifest and the lists when the run was published.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..data.write import table_bytes
from ..errors import InputError
from ..params import Params
from .folder import INPUTS_ARCHIVE
from .ledger import effective_entries, listed_units
from .manifest import MANIFEST, check_manifest, round_info
from .pipeline import run_tables
from .recorded import RecordedRun, load_run, recorded_dataset

__all__ = ['RunCheck', 'check_run', 'verify_run', 'round_info', 'published_problems']

#: The fields of a manifest's ``round_info`` that the run's data and parameters determine.
ROUND_FIELDS = ("round_id", "kind", "topic", "date", "report")


@dataclass(frozen=True)
class RunCheck:
    """A run recomputed: what no longer matches, and what the recomputation gave.

    Attributes
    ----------
    run : RecordedRun
    problems : list of str
        Empty when the run is reproduced exactly.
    tables : dict
        The recomputed tables, keyed by file name; empty when the recorded
        inputs could not be loaded.
    round_info : dict or None
        The run's round as its data and parameters give it (`round_info`);
        None when the recorded inputs could not be loaded.
    """

    run: RecordedRun
    problems: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    round_info: dict[str, Any] | None = None


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


def _claims_problems(manifest: dict[str, Any], info: dict[str, Any] | None, params: Params) -> list[str]:
    """What ``manifest.json`` says about the run's round that its data and parameters contradict."""
    problems = []
    if manifest.get("round", params.round) != params.round:
        problems.append(f"{MANIFEST}: round records {manifest.get('round')!r}, but the run's parameters "
                        f"give {params.round!r} (the manifest was edited)")
    claimed = manifest.get("round_info")
    if info is None or not isinstance(claimed, dict):
        return problems
    for key in ROUND_FIELDS:
        if key in claimed and claimed[key] != info[key]:
            problems.append(f"{MANIFEST}: round_info.{key} records {claimed[key]!r}, but the run's inputs and "
                            f"parameters give {info[key]!r} (the manifest was edited)")
    return problems


def check_run(run_dir: str | Path) -> RunCheck:
    """Recompute a run and compare everything it records; see `verify_run`."""
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
            return RunCheck(run, problems + [f"the recorded inputs cannot be loaded: {err}"])
        problems += archive_problems
        tables = run_tables(run.params, dataset)
    info = round_info(dataset, run.params)
    problems += _claims_problems(run.manifest, info, run.params)
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
    return RunCheck(run, problems, tables, info)


def verify_run(run_dir: str | Path) -> list[str]:
    """Everything in a run that no longer matches; empty when the run is reproduced exactly.

    Checks that every output still has its recorded sha256; that the original
    input files, where they still exist, still have theirs; that the round the
    manifest names is the one the run's data and parameters give; and that
    recomputing the tables from the run's exact inputs (its ``inputs.zip`` when
    kept, so a run can be re-checked after the dataset moved) and recorded
    parameters gives the same bytes, naming the rows and columns that differ.
    """
    return check_run(run_dir).problems


def _list_difference(which: str, published: list, recomputed: list) -> str | None:
    """How an entry's list differs from the recomputed one, or None when it does not."""
    if published == recomputed:
        return None
    ids = lambda units: {str(u.get("unit_id")) if isinstance(u, dict) else str(u) for u in units}  # noqa: E731
    only_published = sorted(ids(published) - ids(recomputed))
    only_recomputed = sorted(ids(recomputed) - ids(published))
    detail = "; ".join(
        text for text in (
            f"published but not recomputed: {', '.join(only_published)}" if only_published else "",
            f"recomputed but not published: {', '.join(only_recomputed)}" if only_recomputed else "",
        ) if text
    ) or "the same units, with other names, scores, ranks or points"
    return f"its {which} list differs from the run's recomputed one ({detail})"


def published_problems(check: RunCheck, entries: list[dict[str, Any]]) -> list[str]:
    """Everything in which a round run differs from its entries in a ledger (`read_ledger`'s).

    The run must be in the ledger (an entry with its run id); each of its
    entries must have recorded the sha256 of the run's ``manifest.json`` as it
    is now (so that outputs re-hashed into the manifest after publication are
    exposed), and the round and lists the run recomputes. An annual run
    publishes nothing and has nothing to check.
    """
    run = check.run
    if run.params.report == "annual":
        return []
    run_id = run.manifest.get("run_id")
    round_id = check.round_info["round_id"] if check.round_info else run.params.round
    mine = [e for e in entries if e.get("run_id") == run_id]
    if not mine:
        current = [e for e in effective_entries(entries) if e.get("round_id") == round_id]
        where = (f"; round {round_id} was published from run {current[-1].get('run_id')} "
                 f"(entry {current[-1].get('seq')})" if current else "")
        return [f"run {run_id} (round {round_id}) is not in the ledger{where}"]
    recomputed = listed_units(check.tables["ranking.csv"]) if "ranking.csv" in check.tables else None
    problems = []
    for entry in mine:
        seq = entry.get("seq")
        if entry.get("manifest_sha256") != run.manifest_sha256:
            problems.append(f"entry {seq}: the run's {MANIFEST} is not the one published (its sha256 differs "
                            "from the ledger's manifest_sha256): the run was changed after publication")
        if check.round_info is not None:
            for key, claimed in (("round_id", "round_id"), ("kind", "round_kind"), ("topic", "topic"),
                                 ("date", "date")):
                if entry.get(claimed) != check.round_info[key]:
                    problems.append(f"entry {seq}: {claimed} records {entry.get(claimed)!r}, but the run "
                                    f"recomputes {check.round_info[key]!r}")
        if recomputed is not None:
            for which in ("red", "black", "escalated"):
                published = entry.get(which) if isinstance(entry.get(which), list) else []
                difference = _list_difference(which, published, recomputed[which])
                if difference:
                    problems.append(f"entry {seq}: {difference}")
    return problems
