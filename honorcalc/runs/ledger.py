"""The city's ledger of published lists: append-only, hash-chained, readable by a person.

One file per city, JSON Lines (one entry per line, UTF-8, Chinese kept as is).
Each entry records the round's red and black lists, the escalations, the run it
came from (run id and the sha256 of its ``manifest.json``), the previous
entry's hash and its own hash: the sha256 of the entry's canonical JSON
without the ``entry_sha256`` field. Editing an entry breaks its hash; removing
or reordering one breaks the chain. Removing the *newest* entries leaves a
shorter valid chain, which only a hash kept elsewhere can expose: `publish`
returns the new head hash to print in the published notice, and
`verify_ledger(path, head=...)` checks that the chain still reaches it.

Publishing a round that is already in the ledger needs ``supersede=True`` and
a reason, both recorded; the superseded entry stays in the ledger, and only
the newest entry of a round counts in `ledger_points`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError

__all__ = [
    "GENESIS",
    "entry_hash",
    "read_ledger",
    "make_entry",
    "check_publishable",
    "verify_ledger",
    "effective_entries",
    "ledger_points",
    "ledger_escalations",
]

#: The ``previous_sha256`` of the first entry.
GENESIS = "0" * 64
LEDGER_VERSION = 1


def _canonical(entry: dict[str, Any]) -> bytes:
    body = {k: v for k, v in entry.items() if k != "entry_sha256"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def entry_hash(entry: dict[str, Any]) -> str:
    """sha256 of an entry's canonical JSON, its own hash field left out."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


def read_ledger(path: str | Path) -> list[dict[str, Any]]:
    """Every entry of a ledger file, in order; an absent file is an empty ledger.

    Raises
    ------
    InputError
        A line that is not a JSON object (naming the line).
    """
    path = Path(path)
    if not path.exists():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"not a JSON entry ({exc.msg})", file=path, row=number) from None
        if not isinstance(entry, dict):
            raise InputError("not a JSON object", file=path, row=number)
        entry["_line"] = number
        entries.append(entry)
    return entries


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if not k.startswith("_")}


def _listed(ranking: pd.DataFrame, which: str) -> list[dict[str, Any]]:
    rows = ranking[ranking["list"] == which].sort_values(["group", "rank", "unit_id"], kind="stable")
    return [
        {
            "unit_id": str(r.unit_id), "name": str(r.name), "group": str(r.group),
            "score": round(float(r.score), 6), "rank": int(r.rank), "points": float(r.points),
        }
        for r in rows.itertuples(index=False)
    ]


def make_entry(
    *,
    entries: list[dict[str, Any]],
    manifest: dict[str, Any],
    manifest_sha256: str,
    ranking: pd.DataFrame,
    round_info: dict[str, Any],
    published_utc: str,
    supersede_reason: str | None = None,
) -> dict[str, Any]:
    """The next ledger entry for a run's round (pure: the caller appends it)."""
    previous = _public(entries[-1]) if entries else None
    earlier = [e for e in effective_entries(entries) if e["round_id"] == round_info["round_id"]]
    entry = {
        "ledger_version": LEDGER_VERSION,
        "seq": (previous["seq"] + 1) if previous else 1,
        "city": manifest["params"].get("city", ""),
        "round_id": round_info["round_id"],
        "round_kind": round_info["kind"],
        "topic": round_info.get("topic"),
        "date": round_info["date"],
        "published_utc": published_utc,
        "run_id": manifest["run_id"],
        "manifest_sha256": manifest_sha256,
        "params_sha256": manifest["params_sha256"],
        "red": _listed(ranking, "red"),
        "black": _listed(ranking, "black"),
        "escalated": sorted(ranking.loc[ranking["escalated"].astype(str) == "True", "unit_id"].astype(str)),
        "supersedes": earlier[-1]["seq"] if earlier else None,
        "supersede_reason": supersede_reason,
        "previous_sha256": previous["entry_sha256"] if previous else GENESIS,
    }
    entry["entry_sha256"] = entry_hash(entry)
    return entry


def check_publishable(entries: list[dict[str, Any]], round_id: str, *, supersede: bool,
                      reason: str | None) -> None:
    """Refuse a second publication of a round unless it explicitly supersedes, with a reason."""
    earlier = [e for e in effective_entries(entries) if e["round_id"] == round_id]
    if earlier and not supersede:
        raise InputError(
            f"round '{round_id}' is already published (ledger entry {earlier[-1]['seq']}); "
            "to replace it, publish again with --supersede --reason \"…\""
        )
    if supersede and not earlier:
        raise InputError(f"--supersede given, but round '{round_id}' has not been published")
    if supersede and not (reason and reason.strip()):
        raise InputError("--supersede needs a --reason saying why the published list is replaced")


def verify_ledger(path: str | Path, *, head: str | None = None) -> list[str]:
    """Every broken link or edited entry of a ledger; empty when the chain is intact."""
    entries = read_ledger(path)
    problems = []
    previous = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        line = entry["_line"]
        body = _public(entry)
        if body.get("seq") != expected_seq:
            problems.append(f"line {line}: entry seq {body.get('seq')} where {expected_seq} was expected "
                            "(an entry was removed or reordered)")
        if body.get("previous_sha256") != previous:
            problems.append(f"line {line}: previous_sha256 does not match the entry before it "
                            "(an entry was removed, inserted or edited)")
        if entry_hash(body) != body.get("entry_sha256"):
            problems.append(f"line {line}: entry {body.get('seq')} was edited (its sha256 differs)")
        previous = body.get("entry_sha256")
    if head is not None and head not in {e.get("entry_sha256") for e in entries}:
        problems.append(f"the published head {head[:16]}… is not in the ledger (entries were removed)")
    return problems


def effective_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries that count: for each round, its newest publication."""
    newest = {}
    for entry in entries:
        newest[entry["round_id"]] = entry
    keep = {id(e) for e in newest.values()}
    return [e for e in entries if id(e) in keep]


def ledger_points(entries: list[dict[str, Any]], *, year: int | None = None,
                  until: str | None = None) -> pd.DataFrame:
    """Annual-assessment points per unit from the published lists.

    Returns
    -------
    DataFrame
        ``unit_id``, ``year``, ``points``, ``listings``: the sum over the
        effective entries (of ``year``, dated on or before ``until`` when given).
    """
    rows = []
    for entry in effective_entries(entries):
        date = dt.date.fromisoformat(entry["date"])
        if (year is not None and date.year != year) or (until is not None and entry["date"] > until):
            continue
        for which in ("red", "black"):
            for unit in entry[which]:
                rows.append((unit["unit_id"], date.year, unit["points"]))
    frame = pd.DataFrame(rows, columns=["unit_id", "year", "points"])
    out = frame.groupby(["unit_id", "year"], sort=True).agg(
        points=("points", "sum"), listings=("points", "size")
    )
    return out.reset_index()


def ledger_escalations(entries: list[dict[str, Any]]) -> pd.DataFrame:
    """Every escalation (核查程序) the published lists recorded: ``round_id``, ``date``, ``unit_id``."""
    rows = [
        (entry["round_id"], entry["date"], unit)
        for entry in effective_entries(entries)
        for unit in entry["escalated"]
    ]
    return pd.DataFrame(rows, columns=["round_id", "date", "unit_id"])
