"""README's two commands are the ones a newcomer and CI run."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.test_layout import LEAVES, ORCHESTRATION, SHELLS, STEPS

ROOT = Path(__file__).parent.parent


def readme_commands() -> dict[str, str]:
    """The commands in README's fenced blocks tagged <!-- demo --> and <!-- test -->."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"<!-- (demo|test) -->\s*```(?:sh|bash)?\n(.+?)\n```", text))


def test_ci_runs_exactly_the_readme_test_command() -> None:
    command = readme_commands()["test"]
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci_lines


def test_the_demo_command_runs_the_offline_example() -> None:
    assert "gba-monitor run --once --config examples/demo.yaml" in readme_commands()["demo"]


# The pipeline's order, then the layers around it: README's table lists every unit of the package so.
PIPELINE = ("config", "fetch", "feeds", "articles", "figures", "store", "changes", "slack")


def _summary(unit: str) -> tuple[str, str]:
    """(where, first line of its docstring) of a top-level module or package of ``monitor``."""
    package = ROOT / "monitor" / unit / "__init__.py"
    path, where = (
        (package, f"`{unit}/`") if package.exists() else (ROOT / "monitor" / f"{unit}.py", f"`{unit}.py`")
    )
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return where, docstring.splitlines()[0] if docstring else ""


def poll_table() -> str:
    """README's "How one poll works" table, made from the package: a row per unit, its docstring's summary."""
    layers = [
        ("step", [*PIPELINE, *sorted(STEPS - set(PIPELINE))]),
        ("orchestration", sorted(ORCHESTRATION)),
        ("shell", sorted(SHELLS - {"__init__", "__main__"})),
        ("leaf", sorted(LEAVES)),
    ]
    rows = ["| layer | where | what it does |", "|---|---|---|"]
    for layer, units in layers:
        for unit in units:
            where, summary = _summary(unit)
            rows.append(f"| {layer} | {where} | {summary} |")
    return "\n".join(rows)


def test_the_poll_table_is_the_package_as_it_is() -> None:
    """Run ``python -m tests.test_readme`` to print the table to paste when a docstring or a unit changes."""
    assert poll_table() in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_unit_of_the_package_has_a_one_line_summary() -> None:
    for unit in [*STEPS, *ORCHESTRATION, *LEAVES, "scheduler", "cli"]:
        where, summary = _summary(unit)
        assert summary.endswith((".", ")")), f"{where}: the docstring's first line is not a whole sentence"


if __name__ == "__main__":
    print(poll_table())
