"""`honorcalc publish`: append a verified run's lists to the city's ledger.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..data.write import append_line, file_sha256
from ..errors import InputError
from .manifest import MANIFEST
from .recorded import load_run
from .verify import verify_run

__all__ = ['default_ledger', 'publish_run']


def default_ledger(city: str) -> Path:
    """Where a city's ledger lives unless told otherwise: ``ledger/<city>.jsonl``."""
    from .folder import safe_name

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
