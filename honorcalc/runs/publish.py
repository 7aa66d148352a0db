"""`honorcalc publish`: append a verified run's lists to the city's ledger.

What is published comes from the run recomputed, never from its manifest's
claims: the round (id, kind, topic, date) from the run's data and parameters,
the lists from the recomputed ``ranking.csv``. The ledger's lock is held from
reading the ledger to appending the entry (`honorcalc.runs.ledger.append_entry`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError
from .recorded import load_run
from .verify import check_run

__all__ = ['default_ledger', 'publish_run']


def default_ledger(city: str) -> Path:
    """Where a city's ledger lives unless told otherwise: ``ledger/<city>.jsonl``."""
    from .folder import safe_name

    return Path("ledger") / f"{safe_name(city or 'city')}.jsonl"


def publish_run(run_dir: str | Path, ledger: str | Path | None = None, *, supersede: bool = False,
                reason: str | None = None) -> dict[str, Any]:
    """Append a run's lists to its city's ledger; return the new entry.

    The run must verify first: a list whose run no longer reproduces, or whose
    manifest claims another round than the run computes, is not published.
    Raises `InputError` for a second publication of a round without
    ``supersede`` and a reason.
    """
    import datetime as dt

    from . import ledger as ledger_mod

    run = load_run(run_dir)
    if run.params.report == "annual":
        raise InputError("an annual run has no round lists to publish; publish the runs of its rounds",
                         file=run.run_dir)
    check = check_run(run.run_dir)
    if check.problems:
        raise InputError("the run does not verify, so it cannot be published: " + "; ".join(check.problems[:3]),
                         file=run.run_dir)
    if check.round_info is None or "ranking.csv" not in check.tables:  # verified runs always have both
        raise InputError(f"the run's round {run.params.round!r} cannot be recomputed, so it cannot be published",
                         file=run.run_dir)
    round_info = check.round_info
    path = Path(ledger) if ledger else default_ledger(run.params.city)

    def entry(entries: list[dict[str, Any]]) -> dict[str, Any]:
        ledger_mod.check_publishable(entries, round_info["round_id"], supersede=supersede, reason=reason)
        return ledger_mod.make_entry(
            entries=entries, manifest=check.run.manifest, manifest_sha256=check.run.manifest_sha256,
            ranking=check.tables["ranking.csv"], round_info=round_info,
            published_utc=dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
            supersede_reason=reason if supersede else None,
        )

    return ledger_mod.append_entry(path, entry)
