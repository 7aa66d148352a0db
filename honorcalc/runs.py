"""Working with finished run folders: explain a unit, verify a run, diff two runs.

Each function reads what the run recorded (``manifest.json``: the resolved
parameters and the inputs' paths and hashes) and recomputes from it with the
same `honorcalc.pipeline.run_tables` the notebook used.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .audit import MANIFEST, check_manifest
from .errors import InputError
from .io import append_line, extract_inputs, file_sha256, load_dataset, table_bytes
from .params import Params, params_from_mapping
from .pipeline import run_tables
from .report import INPUTS_ARCHIVE
from .validation import Dataset

__all__ = [
    "RecordedRun", "load_run", "verify_run", "diff_runs", "explain_in_run", "publish_run",
    "default_ledger",
]


@dataclass(frozen=True)
class RecordedRun:
    run_dir: Path
    manifest: dict[str, Any]
    params: Params


def load_run(run_dir: str | Path) -> RecordedRun:
    """Read a run folder's manifest and parameters.

    Raises
    ------
    InputError
        The folder does not exist or is not a run folder.
    """
    run_dir = Path(run_dir)
    path = run_dir / MANIFEST
    if not run_dir.is_dir():
        raise InputError("run folder not found", file=run_dir)
    if not path.is_file():
        raise InputError(f"not a run folder (no {MANIFEST})", file=run_dir)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        params = params_from_mapping(manifest["params"], source=path)
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"unreadable manifest ({type(exc).__name__})", file=path) from None
    return RecordedRun(run_dir=run_dir, manifest=manifest, params=params)


def _recorded_dataset(run: RecordedRun, workdir: Path) -> tuple[Dataset, list[str]]:
    """The run's exact inputs: its archived copy when kept, else the recorded dataset folder.

    Returns the dataset and the problems found with the archive itself.
    """
    archive = run.run_dir / INPUTS_ARCHIVE
    if not archive.exists():
        return load_dataset(run.params.dataset), []
    directory = extract_inputs(archive, workdir / "inputs")
    problems = []
    for table, entry in run.manifest["inputs"].items():
        copy = directory / Path(entry["file"]).name
        if not copy.exists():
            problems.append(f"input {table} is missing from {INPUTS_ARCHIVE}")
        elif file_sha256(copy) != entry["sha256"]:
            problems.append(f"input {table} in {INPUTS_ARCHIVE} does not match its recorded sha256")
    return load_dataset(directory), problems


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
            dataset, archive_problems = _recorded_dataset(run, Path(work))
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


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): data}


def _set(data: dict, dotted: str, value) -> dict:
    out = json.loads(json.dumps(data))
    node = out
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def _input_changes(a: Dataset, b: Dataset) -> list[dict[str, Any]]:
    """Per table: rows added, removed and changed (by the table's key), with examples."""
    from .validation import CONTRACT, KEYS

    out = []
    for table in CONTRACT:
        fa, fb = a.table(table), b.table(table)
        columns = [c.name for c in CONTRACT[table]]
        ta = fa[columns].astype(str).fillna("")
        tb = fb[columns].astype(str).fillna("")
        key = list(KEYS[table] or columns)
        ia, ib = ta.set_index(key), tb.set_index(key)
        added = ib.index.difference(ia.index)
        removed = ia.index.difference(ib.index)
        common = ia.index.intersection(ib.index)
        value_cols = [c for c in columns if c not in key]
        changed = []
        if value_cols and len(common):
            ca = ia.loc[common, value_cols]
            cb = ib.loc[common, value_cols]
            diff = (ca != cb).any(axis=1)
            for k in common[diff.to_numpy()][:5]:
                cols = [c for c in value_cols if ca.at[k, c] != cb.at[k, c]]
                changed.append({"key": list(k) if isinstance(k, tuple) else [k],
                                "columns": {c: [ca.at[k, c], cb.at[k, c]] for c in cols}})
            n_changed = int(diff.sum())
        else:
            n_changed = 0
        if len(added) or len(removed) or n_changed:
            out.append({"table": table, "added": int(len(added)), "removed": int(len(removed)),
                        "changed": n_changed, "examples": changed})
    return out


def _outcomes(dataset: Dataset, params: Params) -> pd.DataFrame:
    """Per unit: name, score, rank and list; for an annual run the year's points, their rank
    in the group and the year's outcome (末位淘汰 passed or not, else the tier, else empty)."""
    if params.report == "annual":
        from .annual import evaluate_year

        s = evaluate_year(dataset, params).standing
        outcome = (s["passed"].map({True: "passed", False: "not passed"}) if "passed" in s.columns
                   else s["tier"].fillna("") if "tier" in s.columns else pd.Series("", index=s.index))
        return pd.DataFrame({"name": s["name"].to_numpy(), "score": s["points"].to_numpy(),
                             "rank": s["points_rank"].to_numpy(), "list": outcome.astype(str).to_numpy()},
                            index=pd.Index(s["unit_id"], name="unit_id"))
    from .rules import evaluate_round

    units = evaluate_round(dataset, params, params.round).units
    return units.set_index("unit_id")[["name", "score", "rank", "list"]]


def _same_direction(before: tuple, alone: tuple, after: tuple) -> bool:
    """Does a change applied alone move the unit the way the two runs differ?

    A list change must be reproduced exactly; a rank change needs the same
    direction (other changes may add or take away a place).
    """
    if before[1] != after[1]:
        return alone[1] == after[1]
    # the rank, else (an annual run) the year's points: the first of them that moved
    k = 0 if before[0] != after[0] else 2
    if None in (before[k], after[k], alone[k]):
        return alone == after
    return (alone[k] - before[k]) * (after[k] - before[k]) > 0


def diff_runs(run_a: str | Path, run_b: str | Path) -> dict[str, Any]:
    """What differs between two runs, and which change caused each unit's new rank or list.

    Each parameter change, and the data change as a whole, is applied alone to
    run A; a unit's change is attributed to every single change that
    reproduces it, and to "a combination of changes" when none does alone.

    Returns
    -------
    dict
        ``parameters`` (parameter, a, b); ``inputs`` (table, added, removed,
        changed, examples); ``units`` (unit_id, name, score, rank, list as
        [a, b], ``causes``); ``text``: the same for people.
    """
    a, b = load_run(run_a), load_run(run_b)
    if a.params.report != b.params.report:
        raise InputError(f"cannot compare a {a.params.report} run with a {b.params.report} run",
                         file=b.run_dir)
    pa_, pb = _flatten(a.manifest["params"]), _flatten(b.manifest["params"])
    params = [
        {"parameter": k, "a": pa_.get(k), "b": pb.get(k)}
        for k in sorted(set(pa_) | set(pb)) if pa_.get(k) != pb.get(k) and k != "dataset"
    ]
    with tempfile.TemporaryDirectory() as work:
        data_a, _ = _recorded_dataset(a, Path(work) / "a")
        data_b, _ = _recorded_dataset(b, Path(work) / "b")
    inputs = _input_changes(data_a, data_b)

    base = _outcomes(data_a, a.params)
    final = _outcomes(data_b, b.params)
    single: list[tuple[str, pd.DataFrame | None]] = []
    for change in params:
        label = f"parameter {change['parameter']}: {change['a']!r} → {change['b']!r}"
        try:
            alone = params_from_mapping(_set(a.manifest["params"], change["parameter"], change["b"]))
        except InputError:
            single.append((label + " (cannot be applied alone)", None))
            continue
        single.append((label, _outcomes(data_a, alone)))
    if inputs:
        tables = ", ".join(i["table"] for i in inputs)
        single.append((f"data: {tables} changed", _outcomes(data_b, a.params)))

    annual = a.params.report == "annual"

    def state(frame: pd.DataFrame, unit: str):
        """(rank, list), and for an annual run the year's points too: a change in any is reported."""
        if unit not in frame.index:
            return (None, None, None)
        r = frame.loc[unit]
        points = float(r["score"]) if annual else None
        return (None if pd.isna(r["rank"]) else int(r["rank"]), str(r["list"]), points)

    units = []
    for unit in sorted(set(base.index) | set(final.index)):
        before, after = state(base, unit), state(final, unit)
        if before == after:
            continue
        causes = [label for label, frame in single
                  if frame is not None and _same_direction(before, state(frame, unit), after)]
        src = final if unit in final.index else base
        units.append({
            "unit_id": unit,
            "name": str(src.loc[unit, "name"]),
            "score": [None if unit not in base.index else round(float(base.loc[unit, "score"]), 6),
                      None if unit not in final.index else round(float(final.loc[unit, "score"]), 6)],
            "rank": [before[0], after[0]],
            "list": [before[1], after[1]],
            "causes": causes or ["a combination of the changes (no single change does it alone)"],
        })

    lines = [f"A: {a.run_dir}", f"B: {b.run_dir}"]
    if params:
        lines.append("parameters changed:")
        lines += [f"  {p['parameter']}: {p['a']!r} → {p['b']!r}" for p in params]
    else:
        lines.append("parameters: identical")
    if inputs:
        lines.append("inputs changed:")
        for i in inputs:
            lines.append(f"  {i['table']}: {i['added']} added, {i['removed']} removed, {i['changed']} changed")
            for ex in i["examples"]:
                cols = "; ".join(f"{c} {v[0]} → {v[1]}" for c, v in ex["columns"].items())
                lines.append(f"    {'/'.join(ex['key'])}: {cols}")
    else:
        lines.append("inputs: identical")
    moved = [u for u in units if u["list"][0] != u["list"][1]]
    ranked = [u for u in units if u["list"][0] == u["list"][1]]
    rank_word, list_word = ("points rank", "outcome") if annual else ("rank", "list")
    titles = ("outcome changed", "points or their rank changed only") if annual \
        else ("list changed", "rank changed only")
    for title, group, limit in ((titles[0], moved, None), (titles[1], ranked, 20)):
        if not group:
            continue
        lines.append(f"units whose {title} ({len(group)}):")
        for u in group[:limit]:
            la, lb = (x or "—" for x in u["list"])
            points = f"points {u['score'][0]:+g} → {u['score'][1]:+g}, " \
                if annual and None not in u["score"] else ""
            lines.append(f"  {u['unit_id']} {u['name']}: {points}{rank_word} {u['rank'][0]} → {u['rank'][1]}, "
                         f"{list_word} {la} → {lb}; because of {' and '.join(u['causes'])}")
        if limit and len(group) > limit:
            lines.append(f"  … and {len(group) - limit} more (see --json)")
    if not units:
        lines.append("points, ranks and outcomes: identical" if annual else "ranks and lists: identical")
    return {"parameters": params, "inputs": inputs, "units": units, "text": "\n".join(lines)}


def explain_in_run(run_dir: str | Path, unit_id: str, *, lang: str | None = None,
                   as_json: bool = False) -> str:
    """The explanation of one unit's score, rank and list, recomputed from the run's record.

    In an annual run: the unit's year, round by round (`honorcalc.annual.explain_year`).
    """
    from .explain import explain_unit, explain_unit_dict
    from .rules import evaluate_round

    run = load_run(run_dir)
    with tempfile.TemporaryDirectory() as work:
        dataset, _ = _recorded_dataset(run, Path(work))
    if run.params.report == "annual":
        from .annual import evaluate_year, explain_year

        year = evaluate_year(dataset, run.params)
        return explain_year(year, unit_id, lang=lang or run.params.lang, as_json=as_json)
    result = evaluate_round(dataset, run.params, run.params.round)
    if as_json:
        return json.dumps(explain_unit_dict(result, unit_id), ensure_ascii=False, indent=2, default=str)
    return explain_unit(result, unit_id, lang=lang or run.params.lang)


def default_ledger(city: str) -> Path:
    """Where a city's ledger lives unless told otherwise: ``ledger/<city>.jsonl``."""
    from .report import safe_name

    return Path("ledger") / f"{safe_name(city or 'city')}.jsonl"


def publish_run(run_dir: str | Path, ledger: str | Path | None = None, *, supersede: bool = False,
                reason: str | None = None) -> dict[str, Any]:
    """Append a run's lists to its city's ledger; return the new entry.

    The run must verify first: a list whose run no longer reproduces is not
    published. Raises `InputError` for a second publication of a round without
    ``supersede`` and a reason.
    """
    import datetime as dt

    from . import ledger as ledger_mod

    run = load_run(run_dir)
    if run.params.report == "annual":
        raise InputError("an annual run has no round lists to publish; publish the runs of its rounds",
                         file=run.run_dir)
    problems = verify_run(run.run_dir)
    if problems:
        raise InputError("the run does not verify, so it cannot be published: " + "; ".join(problems[:3]),
                         file=run.run_dir)
    path = Path(ledger) if ledger else default_ledger(run.params.city)
    entries = ledger_mod.read_ledger(path)
    broken = ledger_mod.verify_ledger(path)
    if broken:
        raise InputError("the ledger is damaged; fix it before publishing: " + broken[0], file=path)
    round_info = run.manifest["round_info"]
    ledger_mod.check_publishable(entries, round_info["round_id"], supersede=supersede, reason=reason)
    ranking = pd.read_csv(run.run_dir / "ranking.csv", dtype={"unit_id": str, "list": str, "name": str,
                                                             "group": str}, keep_default_na=False)
    entry = ledger_mod.make_entry(
        entries=entries, manifest=run.manifest,
        manifest_sha256=file_sha256(run.run_dir / MANIFEST), ranking=ranking, round_info=round_info,
        published_utc=dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        supersede_reason=reason if supersede else None,
    )
    append_line(path, json.dumps(entry, ensure_ascii=False))
    return entry
