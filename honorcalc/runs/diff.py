"""`honorcalc diff`: what changed between two runs, and which change moved which unit.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from ..data.contract import Dataset
from ..errors import InputError
from ..params import Params, params_from_mapping
from .recorded import load_run, recorded_dataset

__all__ = ['diff_runs']


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
    from ..data.contract import CONTRACT, KEYS

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
        from ..rules.annual import evaluate_year

        s = evaluate_year(dataset, params).standing
        outcome = (s["passed"].map({True: "passed", False: "not passed"}) if "passed" in s.columns
                   else s["tier"].fillna("") if "tier" in s.columns else pd.Series("", index=s.index))
        return pd.DataFrame({"name": s["name"].to_numpy(), "score": s["points"].to_numpy(),
                             "rank": s["points_rank"].to_numpy(), "list": outcome.astype(str).to_numpy()},
                            index=pd.Index(s["unit_id"], name="unit_id"))
    from ..rules.evaluate import evaluate_round

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
        data_a, _ = recorded_dataset(a, Path(work) / "a")
        data_b, _ = recorded_dataset(b, Path(work) / "b")
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
