"""Working with finished run folders: explain a unit, verify a run, diff two runs.

Each function reads what the run recorded (``manifest.json``: the resolved
parameters and the inputs' paths and hashes) and recomputes from it with the
same `honorcalc.pipeline.run_tables` the notebook used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .audit import MANIFEST, check_manifest
from .errors import InputError
from .io import load_dataset, table_bytes
from .params import Params, params_from_mapping
from .pipeline import run_tables
from .validation import Dataset

__all__ = ["RecordedRun", "load_run", "verify_run", "diff_runs", "explain_in_run"]


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


def _recorded_dataset(run: RecordedRun) -> Dataset:
    return load_dataset(run.params.dataset)


def _row_differences(name: str, recorded: bytes, fresh: bytes, limit: int = 10) -> list[str]:
    old = recorded.decode("utf-8").splitlines()
    new = fresh.decode("utf-8").splitlines()
    out = []
    for i in range(max(len(old), len(new))):
        a = old[i] if i < len(old) else "<missing>"
        b = new[i] if i < len(new) else "<missing>"
        if a != b:
            out.append(f"{name} line {i + 1}: recorded {a!r}, recomputed {b!r}")
            if len(out) >= limit:
                out.append(f"{name}: … more lines differ")
                break
    return out


def verify_run(run_dir: str | Path) -> list[str]:
    """Everything in a run that no longer matches; empty when the run is reproduced exactly.

    Checks that every output still has its recorded sha256, that every input
    still has its recorded sha256, and that recomputing the tables from the
    recorded parameters and inputs gives the same bytes (naming differing rows).
    """
    run = load_run(run_dir)
    problems = check_manifest(run.run_dir)
    if any(p.startswith("input") for p in problems):
        return problems  # recomputing from changed inputs would only repeat the finding
    tables = run_tables(run.params, _recorded_dataset(run))
    for name, frame in tables.items():
        path = run.run_dir / name
        fresh = table_bytes(frame)
        if not path.exists():
            if name in run.manifest["outputs"]:
                continue  # already reported missing
            problems.append(f"{name} is not in the run but would be produced now")
            continue
        recorded = path.read_bytes()
        if recorded != fresh:
            problems.append(f"{name}: recomputing gives a different result")
            problems += _row_differences(name, recorded, fresh)
    return problems


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): data}


def _plain(value):
    """A numpy scalar as the Python value JSON can hold."""
    return value.item() if hasattr(value, "item") else value


def diff_runs(run_a: str | Path, run_b: str | Path) -> dict[str, Any]:
    """What differs between two runs: parameters, inputs, and per unit rank and list."""
    a, b = load_run(run_a), load_run(run_b)
    pa_, pb = _flatten(a.manifest["params"]), _flatten(b.manifest["params"])
    params = [
        {"parameter": k, "a": pa_.get(k), "b": pb.get(k)}
        for k in sorted(set(pa_) | set(pb)) if pa_.get(k) != pb.get(k)
    ]
    ia, ib = a.manifest["inputs"], b.manifest["inputs"]
    inputs = [
        {"table": t, "a": ia.get(t, {}).get("sha256"), "b": ib.get(t, {}).get("sha256")}
        for t in sorted(set(ia) | set(ib))
        if ia.get(t, {}).get("sha256") != ib.get(t, {}).get("sha256")
    ]
    units = []
    ra, rb = a.run_dir / "ranking.csv", b.run_dir / "ranking.csv"
    if ra.exists() and rb.exists():
        read = lambda p: pd.read_csv(p, dtype={"unit_id": str, "list": str}, keep_default_na=False)  # noqa: E731
        fa, fb = read(ra).set_index("unit_id"), read(rb).set_index("unit_id")
        for unit in sorted(set(fa.index) | set(fb.index)):
            row_a = fa.loc[unit] if unit in fa.index else None
            row_b = fb.loc[unit] if unit in fb.index else None
            pick = lambda row, col: None if row is None else _plain(row[col])  # noqa: E731
            change = {
                "unit_id": unit,
                "name": pick(row_b if row_b is not None else row_a, "name"),
                "score": [pick(row_a, "score"), pick(row_b, "score")],
                "rank": [pick(row_a, "rank"), pick(row_b, "rank")],
                "list": [pick(row_a, "list"), pick(row_b, "list")],
            }
            if change["rank"][0] != change["rank"][1] or change["list"][0] != change["list"][1]:
                units.append(change)
    lines = [f"A: {a.run_dir}", f"B: {b.run_dir}"]
    lines += ["parameters changed:"] + [f"  {p['parameter']}: {p['a']!r} → {p['b']!r}" for p in params] \
        if params else ["parameters: identical"]
    lines += ["inputs changed:"] + [f"  {i['table']}" for i in inputs] if inputs else ["inputs: identical"]
    if units:
        lines.append(f"units whose rank or list changed ({len(units)}):")
        for u in units:
            la, lb = (x or "—" for x in u["list"])
            lines.append(
                f"  {u['unit_id']} {u['name']}: rank {u['rank'][0]} → {u['rank'][1]}, "
                f"score {u['score'][0]} → {u['score'][1]}, list {la} → {lb}"
            )
    else:
        lines.append("ranks and lists: identical")
    return {"parameters": params, "inputs": inputs, "units": units, "text": "\n".join(lines)}


def explain_in_run(run_dir: str | Path, unit_id: str, *, lang: str | None = None,
                   as_json: bool = False) -> str:
    """The explanation of one unit's score, rank and list, recomputed from the run's record."""
    from .explain import explain_unit, explain_unit_dict
    from .rules import evaluate_round

    run = load_run(run_dir)
    result = evaluate_round(_recorded_dataset(run), run.params, run.params.round)
    if as_json:
        return json.dumps(explain_unit_dict(result, unit_id), ensure_ascii=False, indent=2, default=str)
    return explain_unit(result, unit_id, lang=lang or run.params.lang)
