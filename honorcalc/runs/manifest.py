"""The run manifest: what went into a run and what came out, by hash.

`build_manifest` records the sha256 of every input file and of the resolved
parameters, the package version and git commit, Python and library versions,
the seeds, the notices the loader raised, papermill's recorded parameters, and
the sha256 of every output file. `check_manifest` re-hashes a run folder and its
inputs and says what no longer matches.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..data.contract import Dataset
from ..data.read import dataset_file
from ..data.write import file_sha256, input_sha256
from ..params import Params, params_sha256

__all__ = ["build_manifest", "input_sha256", "params_sha256", "check_manifest", "MANIFEST", "LIBRARIES", "round_info"]

MANIFEST = "manifest.json"
LIBRARIES = (
    "numpy", "pandas", "scipy", "matplotlib", "pandera", "pydantic", "pyyaml",
    "papermill", "nbconvert", "nbformat", "ipykernel", "openpyxl", "pyarrow",
    # the Word notice's bytes depend on it as the workbook's on openpyxl
    "python-docx",
)


def _git_commit() -> str | None:
    """The commit of the source checkout honorcalc runs from, or None for an installed package.

    Only a package imported from its own checkout (``<root>/honorcalc`` beside
    ``<root>/pyproject.toml`` and ``<root>/.git``) has a commit: an installed wheel
    has none, even when its environment lies inside some repository.
    """
    root = Path(__file__).resolve().parents[2]
    if not ((root / ".git").exists() and (root / "pyproject.toml").is_file()):
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _versions() -> dict[str, str | None]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def build_manifest(
    *,
    run_id: str,
    round_id: str,
    round_info: dict[str, Any],
    created_utc: str,
    params_dict: dict[str, Any],
    dataset,
    run_dir: Path,
    notebook_parameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Describe a finished run folder (before the manifest itself is written)."""
    inputs = {}
    for table, file in sorted(dataset.files.items()):
        path = dataset_file(params_dict["dataset"], file)
        read = {k: v for k, v in dataset.formats.get(table, {}).items() if k != "sha256"}
        inputs[table] = {
            "file": str(path),
            "sha256": input_sha256(dataset, table, path),
            "bytes": path.stat().st_size,
            **read,
        }
    outputs = {
        p.name: file_sha256(p)
        for p in sorted(run_dir.iterdir())
        if p.is_file() and p.name != MANIFEST
    }
    return {
        "run_id": run_id,
        "round": round_id,
        "round_info": round_info,
        "created_utc": created_utc,
        "honorcalc_version": __version__,
        "git_commit": _git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": _versions(),
        "params_sha256": params_sha256(params_dict),
        "params": params_dict,
        "seeds": {"seed": params_dict.get("seed")},
        "inputs": inputs,
        "notices": list(dataset.notices),
        "notebook_parameters": notebook_parameters or {},
        "outputs": outputs,
    }


def check_manifest(run_dir: str | Path) -> list[str]:
    """Re-hash a run's outputs and inputs; return what no longer matches (empty: all match)."""
    run_dir = Path(run_dir)
    manifest = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    problems = []
    for name, digest in manifest["outputs"].items():
        path = run_dir / name
        if not path.exists():
            problems.append(f"output {name} is missing")
        elif file_sha256(path) != digest:
            problems.append(f"output {name} was changed after the run (sha256 differs)")
    for table, entry in manifest["inputs"].items():
        path = Path(entry["file"])
        if not path.exists():
            problems.append(f"input {table} ({path}) is missing")
        elif file_sha256(path) != entry["sha256"]:
            problems.append(f"input {table} ({path}) no longer matches its recorded sha256")
    if params_sha256(manifest["params"]) != manifest["params_sha256"]:
        problems.append("the recorded parameters were edited (params_sha256 differs)")
    return problems


def round_info(dataset: Dataset, params: Params) -> dict[str, Any] | None:
    """The run's round from its data: ``round_id``, ``kind``, ``topic``, ``date`` (ISO) and ``report``
    (the run's kind of report); None when the round is not in the dataset."""
    rows = dataset.rounds.loc[dataset.rounds["round_id"] == params.round]
    if rows.empty:
        return None
    row = rows.iloc[0]
    return {
        "round_id": params.round, "kind": row["kind"],
        "topic": None if pd.isna(row["topic"]) else row["topic"],
        "date": row["date"].date().isoformat(),
        "report": params.report,
    }
