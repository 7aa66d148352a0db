"""Every table of the demo's round and annual runs, byte for byte, against recorded hashes.

The hashes in ``tests/data/golden_tables.json`` were written from the tables
before the package was reorganised; a refactoring must leave every one of them
unchanged. A deliberate change of a rule or a statistic changes them too, and is
recorded by running this module as a script (``python tests/test_golden_tables.py``),
which rewrites the file; the diff then shows which tables moved.

Four variants cover the rule options whose code paths differ most: the defaults,
``tie_policy: none_in``, ``veto.action: exclude`` and whole-number precision, plus
the annual run with tiers and the pass quota.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "data" / "golden_tables.json"
ROOT = Path(__file__).resolve().parent.parent

#: name → (params file of the repository, overrides)
VARIANTS = {
    "round": ("params/demo.yaml", []),
    "round-none_in": ("params/demo.yaml", ["lists.tie_policy=none_in"]),
    "round-veto_exclude": ("params/demo.yaml", ["veto.action=exclude"]),
    "round-precision0": ("params/demo.yaml", ["lists.precision=0"]),
    "annual": ("params/demo-annual.yaml", []),
}


def _hashes(variant: str, dataset_dir: Path) -> dict[str, str]:
    from honorcalc.data.read import load_dataset
    from honorcalc.data.write import table_bytes
    from honorcalc.params import load_params
    from honorcalc.runs.pipeline import run_tables

    params_file, overrides = VARIANTS[variant]
    params = load_params(ROOT / params_file, [*overrides, f"dataset={dataset_dir}"])
    tables = run_tables(params, load_dataset(params.dataset))
    return {name: hashlib.sha256(table_bytes(frame)).hexdigest() for name, frame in sorted(tables.items())}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    from honorcalc.datasets.demo import write_demo

    directory = tmp_path_factory.mktemp("demo")
    write_demo(directory)
    return directory


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_tables_unchanged(variant, demo_dir):
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))[variant]
    assert _hashes(variant, demo_dir) == expected


if __name__ == "__main__":
    import tempfile

    from honorcalc.datasets.demo import write_demo

    with tempfile.TemporaryDirectory() as tmp:
        write_demo(tmp)
        golden = {v: _hashes(v, Path(tmp)) for v in sorted(VARIANTS)}
    GOLDEN.write_text(json.dumps(golden, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {GOLDEN}\n")
