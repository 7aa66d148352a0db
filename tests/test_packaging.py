"""Packaging: environment.yml (conda) and pyproject.toml (pip) declare the same dependencies, each one
used; the built wheel, installed into a fresh environment, runs the demo from any folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "honorcalc"
# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {}


def _split(requirement: str) -> tuple[str, str]:
    requirement = requirement.split(";")[0].strip()
    match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)$", requirement)
    name, _, spec = match.groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _pip_requirements(project: dict) -> dict[str, str]:
    """The dependencies and those of every extra; an extra naming honorcalc itself adds nothing new."""
    requirements = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values()
                                                for r in extra)]
    return dict(item for item in map(_split, requirements) if item[0] != project["name"])


def test_environment_yml_matches_pyproject():
    """The conda environment is the development one: the dependencies and every extra."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = [d for d in env["dependencies"] if isinstance(d, dict) for d in d.get("pip", [])]
    conda_deps = dict(
        _split(d) for d in env["dependencies"] + pip_section
        if isinstance(d, str) and _split(d)[0] not in ("python", "pip")
    )
    conda_deps = {CONDA_TO_PYPI.get(k, k): v for k, v in conda_deps.items()}
    assert conda_deps == _pip_requirements(_project())


def test_python_requirement_agrees():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    python = next(d for d in env["dependencies"] if isinstance(d, str) and _split(d)[0] == "python")
    assert python.removeprefix("python") == _project()["requires-python"]


def test_reports_folder_is_ignored():
    ignore = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/reports/*" in ignore


# --------------------------------------------------------------------------- every dependency used

#: Import names that differ from the distribution's.
IMPORT_NAMES = {"pillow": "PIL", "pyyaml": "yaml", "python-docx": "docx"}
#: Dependencies used without an import of their own, and the text of honorcalc that uses them.
USED_WITHOUT_IMPORT = {
    "openpyxl": 'engine="openpyxl"',  # pandas.read_excel's engine (data/read.py)
    "ipykernel": "IPKernelApp",  # the kernel the report notebooks run on (report/execute.py)
}


def _sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py")))


def test_every_dependency_is_used():
    project = _project()
    sources = _sources()
    required = [_split(r)[0] for r in project["dependencies"]]
    required += [_split(r)[0] for r in project["optional-dependencies"]["distributed"]]
    for name in required:
        if name in USED_WITHOUT_IMPORT:
            assert USED_WITHOUT_IMPORT[name] in sources, name
            continue
        module = IMPORT_NAMES.get(name, name.replace("-", "_"))
        assert re.search(rf"^\s*(import|from) {re.escape(module)}\b", sources, re.M), f"{name} is never imported"
    assert "jupyter lab" in (ROOT / "Makefile").read_text(encoding="utf-8")  # the [lab] extra
    # what the batch's error message tells to install, and what the tests need
    assert set(project["optional-dependencies"]) == {"distributed", "lab", "test"}
    assert "honorcalc[distributed]" in project["optional-dependencies"]["test"]


# --------------------------------------------------------------------------- the wheel


def _run(args, *, cwd, env=None, timeout=600) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


#: Run by the fresh environment's Python: where honorcalc and its package data are, and which Python
#: the report's kernel runs, asked of a kernel started as `honorcalc run` starts it.
INSPECT = """
import json, sys
from jupyter_core.utils import run_sync
import honorcalc
from honorcalc.report import execute
from honorcalc.report.figures import style

km = execute.start_kernel(("honorcalc",))
seen = []
try:
    kc = km.client()
    kc.start_channels()
    run_sync(kc.wait_for_ready)(timeout=120)
    run_sync(kc.execute_interactive)(
        "import sys, honorcalc; print(sys.executable); print(honorcalc.__file__)", timeout=120,
        output_hook=lambda msg: seen.append(msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None)
finally:
    km.stop()
kernel_python, kernel_honorcalc = "".join(seen).split()
print(json.dumps({
    "executable": sys.executable, "honorcalc": honorcalc.__file__,
    "editable_hooks": sorted(m for m in sys.modules if m.startswith("__editable__")),
    "notebooks": [str(execute.ROUND_NOTEBOOK), str(execute.ANNUAL_NOTEBOOK)],
    "font": str(style.FONT_PATH), "font_folder": sorted(p.name for p in style.FONT_PATH.parent.iterdir()),
    "kernel": km.kernel_name, "kernel_python": kernel_python, "kernel_honorcalc": kernel_honorcalc,
}))
"""


@pytest.mark.slow
def test_the_wheel_runs_the_demo_from_another_folder(tmp_path):
    """Build the wheel, install it alone into a new venv that sees the installed third-party packages
    (not the checkout), and run the demo from an unrelated folder."""
    started = time.perf_counter()
    # from a copy of the sources: a build/ left in the checkout cannot leak into the wheel
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(PACKAGE, src / "honorcalc", ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "--no-index",
          "-w", wheels], cwd=src)
    [wheel] = wheels.glob("honorcalc-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet", wheel],
         cwd=tmp_path)
    # the third-party packages already installed here, by path: a path listed in a .pth file joins
    # sys.path, but the .pth files inside it (the checkout's editable honorcalc among them) are not read
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     cwd=tmp_path).stdout.strip())
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site / "installed-packages.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")
    # and the data files their wheels put under the environment's prefix: nbconvert's templates and
    # ipykernel's "python3" kernel (not the "honorcalc" kernel `make setup` adds for JupyterLab)
    shared = Path(sys.prefix) / "share" / "jupyter"
    for part in ("nbconvert", "kernels/python3"):
        if (shared / part).is_dir():
            (venv / "share" / "jupyter" / part).parent.mkdir(parents=True, exist_ok=True)
            (venv / "share" / "jupyter" / part).symlink_to(shared / part, target_is_directory=True)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "JUPYTER_PATH")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    honorcalc = venv / "bin" / "honorcalc"
    _run([honorcalc, "demo", "data"], cwd=elsewhere, env=env)
    (elsewhere / "params.yaml").write_text("dataset: data\nround: C2026Q2\n", encoding="utf-8")
    done = _run([honorcalc, "run", "params.yaml"], cwd=elsewhere, env=env)
    html = Path(done.stdout.strip().splitlines()[-1])
    if not html.is_absolute():
        html = elsewhere / html
    assert html.is_file() and elsewhere in html.parents
    page = html.read_text(encoding="utf-8")
    assert "<img" in page and "红榜" in page

    seen = json.loads(_run([python, "-c", INSPECT], cwd=elsewhere, env=env).stdout.strip().splitlines()[-1])
    assert seen["executable"] == str(python)
    assert venv in Path(seen["honorcalc"]).parents and ROOT not in Path(seen["honorcalc"]).parents
    assert seen["editable_hooks"] == []
    # the notebooks and the font as package data of the installed wheel
    for path in (*seen["notebooks"], seen["font"]):
        assert venv in Path(path).parents and Path(path).is_file(), path
    assert {"copyright", "LICENSE-Apache-2.0", "README.md"} <= set(seen["font_folder"])  # the font's licence
    # the report's kernel is the fresh environment's Python, importing the installed honorcalc
    assert seen["kernel_python"] == str(python), seen
    assert Path(seen["kernel_honorcalc"]) == Path(seen["honorcalc"]), seen
    print(f"wheel built, installed and run in {time.perf_counter() - started:.1f} s (kernel {seen['kernel']})")
