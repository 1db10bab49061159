"""README's two commands are the ones a newcomer and CI run."""

from __future__ import annotations

import re
from pathlib import Path

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
