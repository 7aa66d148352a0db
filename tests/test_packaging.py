"""environment.yml (conda) and pyproject.toml (pip) declare the same dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {}


def _split(requirement: str) -> tuple[str, str]:
    requirement = requirement.split(";")[0].strip()
    match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)$", requirement)
    name, _, spec = match.groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pip_deps = dict(_split(r) for r in project["dependencies"])
    pip_deps.update(_split(r) for r in project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = [d for d in env["dependencies"] if isinstance(d, dict) for d in d.get("pip", [])]
    conda_deps = dict(
        _split(d) for d in env["dependencies"] + pip_section
        if isinstance(d, str) and not d.startswith("python") and d != "pip"
    )
    conda_deps = {CONDA_TO_PYPI.get(k, k): v for k, v in conda_deps.items()}
    assert conda_deps == pip_deps


def test_python_requirement_agrees():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.removeprefix("python") == project["requires-python"]


def test_reports_folder_is_ignored():
    ignore = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/reports/*" in ignore
