"""The package's layout holds: imports point one way, and no module reaches into another's private names.

The layers, from the bottom (README, "Layout"): ``errors``; ``messages``; ``params``; ``data``
and ``stats``; ``rules`` and ``datasets``; ``fairness``; ``explain``; ``report``;
``runs``; ``cli``. A module may import from its own package and from
lower layers only — imports inside functions included, since a lazy import is
still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "honorcalc"

LAYERS = (
    ("__init__", "errors"),
    ("messages",),
    ("params",),
    ("data", "stats"),
    ("rules", "datasets"),
    ("fairness",),
    ("explain",),
    ("report",),
    ("runs",),
    ("cli",),
)
LEVEL = {part: level for level, parts in enumerate(LAYERS) for part in parts}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        yield path, parts[:-1] if parts[-1] == "__init__" else parts, parts[-1] == "__init__"


def _imports(path: Path, name: tuple[str, ...], is_package: bool):
    """(line, imported module as a tuple, names) for every import of honorcalc in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(name if is_package else name[:-1])
                base = base[: len(base) - (node.level - 1)]
                module = tuple(base + (node.module.split(".") if node.module else []))
            else:
                module = tuple((node.module or "").split("."))
            if module[0] == "honorcalc":
                yield node.lineno, module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "honorcalc":
                    yield node.lineno, tuple(alias.name.split(".")), []


def _part(module: tuple[str, ...]) -> str:
    return module[1] if len(module) > 1 else "__init__"


def _is_module(module: tuple[str, ...], name: str) -> bool:
    path = PACKAGE.parent.joinpath(*module, name)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


MODULES = list(_modules())


@pytest.mark.parametrize("path,name,is_package", MODULES, ids=[".".join(n) for _, n, _ in MODULES])
def test_imports_point_down(path, name, is_package):
    here = _part(name)
    wrong = []
    for line, module, names in _imports(path, name, is_package):
        targets = [module + (n,) for n in names if _is_module(module, n)] if len(module) == 1 else [module]
        for target in targets or [module]:
            there = _part(target)
            if there == here or there == "__init__" and len(target) == 1 and not names:
                continue
            if LEVEL[there] >= LEVEL[here] and not (here == "__init__"):
                wrong.append(f"line {line}: {'.'.join(target)} ({there}) from layer {here}")
    assert wrong == []


@pytest.mark.parametrize("path,name,is_package", MODULES, ids=[".".join(n) for _, n, _ in MODULES])
def test_no_private_names_across_modules(path, name, is_package):
    private = [
        f"line {line}: {'.'.join(module)}.{n}"
        for line, module, names in _imports(path, name, is_package)
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert private == []


def test_every_layer_is_known():
    assert {_part(name) for _, name, _ in MODULES} <= set(LEVEL)


def test_the_public_api_resolves():
    import honorcalc

    missing = [name for name in honorcalc.API if not hasattr(honorcalc, name)]
    assert missing == []
    assert set(honorcalc.API) <= set(dir(honorcalc))
    with pytest.raises(AttributeError):
        honorcalc.no_such_name  # noqa: B018
