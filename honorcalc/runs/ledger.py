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

`append_entry` holds an exclusive lock, ``<ledger>.lock`` beside the ledger, from
reading the ledger to appending to it, so that two publications at once are
made one after the other and never fork the chain (the ``filelock`` package:
the same on Linux, macOS and Windows). Lines are split on ``\n`` only, so that
a name holding a Unicode line separator never splits an entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from ..data.write import FLOAT_FORMAT, append_line
from ..errors import InputError

__all__ = [
    "GENESIS",
    "entry_hash",
    "read_ledger",
    "listed_units",
    "make_entry",
    "check_publishable",
    "append_entry",
    "lock_path",
    "chain_problems",
    "verify_ledger",
    "effective_entries",
    "ledger_points",
    "ledger_escalations",
]

#: The ``previous_sha256`` of the first entry.
GENESIS = "0" * 64
LEDGER_VERSION = 1
#: Seconds a publication waits for another one to release the ledger.
LOCK_TIMEOUT = 60.0


def _canonical(entry: dict[str, Any]) -> bytes:
    body = {k: v for k, v in entry.items() if k != "entry_sha256"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def entry_hash(entry: dict[str, Any]) -> str:
    """sha256 of an entry's canonical JSON, its own hash field left out."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


def read_ledger(path: str | Path) -> list[dict[str, Any]]:
    """Every entry of a ledger file, in order; an absent file is an empty ledger.

    Entries are separated by ``\n`` alone: U+2028, U+2029, NEL and the other
    characters `str.splitlines` breaks on may stand inside a name.

    Raises
    ------
    InputError
        A line that is not UTF-8 or not a JSON object (naming the line).
    """
    path = Path(path)
    if not path.exists():
        return []
    entries = []
    for number, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 (byte {exc.start + 1} of the line)", file=path, row=number) from None
        if not line.strip(" \t\r"):
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


def _as_written(value) -> float:
    """A number as the run's CSV tables hold it (`FLOAT_FORMAT`), so that an entry made from the
    recomputed table equals one made from the table's file."""
    return float(FLOAT_FORMAT % float(value))


def _listed(ranking: pd.DataFrame, which: str) -> list[dict[str, Any]]:
    rows = ranking[ranking["list"] == which].sort_values(["group", "rank", "unit_id"], kind="stable")
    return [
        {
            "unit_id": str(r.unit_id), "name": str(r.name), "group": str(r.group),
            "score": round(_as_written(r.score), 6), "rank": int(r.rank), "points": _as_written(r.points),
        }
        for r in rows.itertuples(index=False)
    ]


def listed_units(ranking: pd.DataFrame) -> dict[str, list]:
    """A round's ``red`` and ``black`` lists and its ``escalated`` unit ids, as a ledger entry records them.

    Parameters
    ----------
    ranking : DataFrame
        The ``ranking.csv`` table, as computed or as read back from the file.
    """
    return {
        "red": _listed(ranking, "red"),
        "black": _listed(ranking, "black"),
        "escalated": sorted(ranking.loc[ranking["escalated"].astype(str) == "True", "unit_id"].astype(str)),
    }


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
    """The next ledger entry for a run's round (pure: the caller appends it).

    ``round_info`` (``round_id``, ``kind``, ``topic``, ``date``) and ``ranking``
    are the recomputed run's; ``manifest`` gives the city, run id and parameters' hash.
    """
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
        **listed_units(ranking),
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


def lock_path(path: str | Path) -> Path:
    """The lock file of a ledger: ``<ledger>.lock`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".lock")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold the ledger's exclusive lock, waiting up to `LOCK_TIMEOUT` seconds for it.

    The operating system releases it when the holder ends, however it ends:
    a lock file left behind by a crashed publication does not block the next one.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(lock_path(path), timeout=LOCK_TIMEOUT)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        raise InputError(
            f"the ledger is locked by another publication (waited {LOCK_TIMEOUT:g} s for "
            f"{lock_path(path).name}); publish again when it has finished",
            file=path,
        ) from None
    except OSError as exc:  # e.g. a folder this user may not write to (Timeout is an OSError: caught above)
        raise InputError(f"cannot lock the ledger ({exc.strerror or exc}: {lock_path(path).name})",
                         file=path) from None
    try:
        yield
    finally:
        lock.release()


def append_entry(path: str | Path, build: Callable[[list[dict[str, Any]]], dict[str, Any]]) -> dict[str, Any]:
    """Append the entry ``build`` makes from the ledger's entries; return it.

    The ledger's lock is held from reading the ledger, through checking its
    chain and ``build`` (which may refuse with `InputError`), to appending: two
    publications at once are made one after the other, the second one chained
    to the first.

    Raises
    ------
    InputError
        The ledger is damaged, locked for longer than `LOCK_TIMEOUT`, or ``build`` refuses.
    """
    path = Path(path)
    with _locked(path):
        entries = read_ledger(path)
        broken = chain_problems(entries)
        if broken:
            raise InputError("the ledger is damaged; fix it before publishing: " + broken[0], file=path)
        entry = build(entries)
        append_line(path, json.dumps(entry, ensure_ascii=False))
    return entry


def chain_problems(entries: list[dict[str, Any]], *, head: str | None = None) -> list[str]:
    """Every broken link or edited entry among a ledger's entries (`read_ledger`); empty when intact."""
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


def verify_ledger(path: str | Path, *, head: str | None = None) -> list[str]:
    """Every broken link or edited entry of a ledger; empty when the chain is intact."""
    return chain_problems(read_ledger(path), head=head)


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
