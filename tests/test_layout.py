"""The package's shape, stated as rules: imports point down only, steps never import each other, a package's
private modules stay inside it, each third-party package has one owner, and there is no import cycle."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "monitor"

# The layers, bottom up. A unit is a top-level module or package of ``monitor``.
LEAVES = {"records", "settings", "errors", "sparkline", "clock", "durations", "telemetry"}
LEAVES |= {"charsets", "redaction", "controls", "matching"}
STEPS = {
    "config",
    "fetch",
    "feeds",
    "articles",
    "figures",
    "signatures",
    "changes",
    "store",
    "slack",
    "output",
}
ORCHESTRATION = {"identity", "reading", "rules", "poll", "outbox", "query", "health", "probe"}
SHELLS = {"scheduler", "cli", "exporter", "logs", "__main__", "__init__"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """(absolute module name imported, line) for every import in ``path``, type-checking imports included."""
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if not node.level:
                yield node.module or "", node.lineno
                continue
            base = ".".join(package[: len(package) - node.level + 1])
            if node.module:
                yield f"{base}.{node.module}", node.lineno
            else:  # from . import _words: the names are modules
                yield from ((f"{base}.{alias.name}", node.lineno) for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)


FILES = sorted(PACKAGE.rglob("*.py"))
IMPORTS = {_module_name(path): list(_imports(path)) for path in FILES}


def _unit(module: str) -> str:
    """The top-level unit a ``monitor.…`` module belongs to (``monitor.fetch._body`` → ``fetch``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _ours(module: str) -> bool:
    return module == "monitor" or module.startswith("monitor.")


def _layer(unit: str) -> int:
    for rank, layer in enumerate((LEAVES, STEPS, ORCHESTRATION, SHELLS)):
        if unit in layer:
            return rank
    raise AssertionError(f"monitor.{unit} belongs to no layer: add it to one in {__file__}")


def test_every_unit_belongs_to_one_layer() -> None:
    for module in IMPORTS:
        _layer(_unit(module))


@pytest.mark.parametrize("module", sorted(IMPORTS))
def test_imports_point_down_and_steps_never_import_each_other(module: str) -> None:
    unit = _unit(module)
    for target, line in IMPORTS[module]:
        if not _ours(target) or _unit(target) == unit or target == "monitor":
            continue
        other = _unit(target)
        where = f"{module}:{line} imports {target}"
        if unit in LEAVES:
            raise AssertionError(f"{where}: a leaf imports nothing of the package")
        if unit in STEPS:
            assert other in LEAVES, f"{where}: a step imports leaves only"
        else:
            assert _layer(other) <= _layer(unit), f"{where}: imports point down only"


@pytest.mark.parametrize("module", sorted(IMPORTS))
def test_private_modules_are_imported_only_inside_their_package(module: str) -> None:
    for target, line in IMPORTS[module]:
        parts = target.split(".")
        private = [i for i, part in enumerate(parts) if part.startswith("_") and not part.startswith("__")]
        if _ours(target) and private:
            owner = ".".join(parts[: private[0]])
            assert module == owner or module.startswith(owner + "."), f"{module}:{line} imports {target}"


def test_each_third_party_package_has_one_owner() -> None:
    owners: dict[str, set[str]] = {}
    for module, targets in IMPORTS.items():
        for target, _ in targets:
            top = target.split(".")[0]
            if top and not _ours(target) and top not in sys.stdlib_module_names and top != "__future__":
                owners.setdefault(top, set()).add(_unit(module))
    shared = {package: sorted(units) for package, units in owners.items() if len(units) > 1}
    assert shared == {}


def test_there_is_no_import_cycle() -> None:
    """Between modules, counting every import (type-checking ones included)."""
    graph = {
        module: {t for t, _ in targets if t in IMPORTS and t != module} for module, targets in IMPORTS.items()
    }
    # A package's __init__ re-exports its private modules: importing the package means importing them.
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in graph[module]:
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module)


def test_the_rules_see_the_imports_they_judge() -> None:
    """The checks above would pass vacuously if the import reader lost its way: it must see known edges."""
    assert any(t == "monitor.fetch._fetcher" for t, _ in IMPORTS["monitor.fetch"])
    assert any(t == "monitor.records" for t, _ in IMPORTS["monitor.fetch._local"])
    assert any(t == "httpx" for t, _ in IMPORTS["monitor.fetch._body"])
    assert any(t == "monitor.figures._words" for t, _ in IMPORTS["monitor.figures._keys"])
