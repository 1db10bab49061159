"""The house's habits, checked with everything else: ruff's lint and format, and mypy --strict on monitor/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.slow


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing_to_say() -> None:
    checked = run("ruff", "check", "monitor", "tests", "benchmarks")
    assert checked.returncode == 0, checked.stdout


def test_the_code_is_formatted_as_ruff_formats_it() -> None:
    formatted = run("ruff", "format", "--check", "monitor", "tests", "benchmarks")
    assert formatted.returncode == 0, formatted.stdout


def test_mypy_strict_passes_on_the_package() -> None:
    """Configured in pyproject.toml ([tool.mypy]: strict, third-party packages without types named there)."""
    typed = run("mypy")
    assert typed.returncode == 0, typed.stdout
