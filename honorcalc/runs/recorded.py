"""A recorded run folder: its manifest, parameters and inputs, loaded back for audit.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data.archive import extract_inputs
from ..data.contract import Dataset, table_of_name
from ..data.read import load_dataset
from ..data.write import file_sha256
from ..errors import InputError
from ..params import Params, params_from_mapping
from .folder import INPUTS_ARCHIVE
from .manifest import MANIFEST

__all__ = ['RecordedRun', 'load_run', 'explain_in_run', 'recorded_dataset']


#: What every manifest holds, and the objects among it.
_MANIFEST_KEYS = ("run_id", "params", "params_sha256", "inputs", "outputs")
_MANIFEST_OBJECTS = ("params", "inputs", "outputs")


@dataclass(frozen=True)
class RecordedRun:
    """A run folder as recorded: ``manifest_sha256`` is the sha256 of the very
    ``manifest.json`` bytes ``manifest`` was read from."""

    run_dir: Path
    manifest: dict[str, Any]
    params: Params
    manifest_sha256: str = ""


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
    data = path.read_bytes()
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"unreadable manifest ({type(exc).__name__})", file=path) from None
    if not isinstance(manifest, dict):
        raise InputError("unreadable manifest (not a JSON object)", file=path)
    for key in _MANIFEST_KEYS:
        if key not in manifest or (key in _MANIFEST_OBJECTS and not isinstance(manifest[key], dict)):
            raise InputError(f"unreadable manifest (no '{key}')", file=path)
    try:
        params = params_from_mapping(manifest["params"], source=path)
    except (KeyError, TypeError) as exc:
        raise InputError(f"unreadable manifest ({type(exc).__name__})", file=path) from None
    return RecordedRun(run_dir=run_dir, manifest=manifest, params=params,
                       manifest_sha256=hashlib.sha256(data).hexdigest())


def recorded_dataset(run: RecordedRun, workdir: Path) -> tuple[Dataset, list[str]]:
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
    named = {Path(entry["file"]).name for entry in run.manifest["inputs"].values()}
    only = next(iter(named)) if len(named) == 1 else ""
    workbook = only if only.lower().endswith(".xlsx") and table_of_name(Path(only).stem) is None else None
    return load_dataset(directory / workbook if workbook else directory), problems


def explain_in_run(run_dir: str | Path, unit_id: str, *, lang: str | None = None,
                   as_json: bool = False) -> str:
    """The explanation of one unit's score, rank and list, recomputed from the run's record.

    In an annual run: the unit's year, round by round (`honorcalc.explain.year.explain_year`).
    """
    from ..explain.unit import explain_unit, explain_unit_dict
    from ..rules.evaluate import evaluate_round

    run = load_run(run_dir)
    with tempfile.TemporaryDirectory() as work:
        dataset, _ = recorded_dataset(run, Path(work))
    if run.params.report == "annual":
        from ..explain.year import explain_year
        from ..rules.annual import evaluate_year

        year = evaluate_year(dataset, run.params)
        return explain_year(year, unit_id, lang=lang or run.params.lang, as_json=as_json)
    result = evaluate_round(dataset, run.params, run.params.round)
    if as_json:
        return json.dumps(explain_unit_dict(result, unit_id), ensure_ascii=False, indent=2, default=str)
    return explain_unit(result, unit_id, lang=lang or run.params.lang)
