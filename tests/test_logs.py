"""Logs for operators: key=value text lines, JSON objects whose keys are those fields, and never a secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.logs import fields_of
from tests.conftest import Site
from tests.test_cli import World, worlds

TOKEN = "xoxb-test"  # the stand-in's token


@pytest.fixture
def world(site: Site, tmp_path: Path) -> Iterator[World]:
    yield from worlds(site, tmp_path)


CASES = [
    (
        "poll feed=a status=ok entries=12 ms=431",
        {"event": "poll", "feed": "a", "status": "ok", "entries": 12, "ms": 431},
    ),
    (
        "poll feed=a status=error error='fetch: HTTP 404 (http://x/a b)'",
        {"event": "poll", "feed": "a", "status": "error", "error": "fetch: HTTP 404 (http://x/a b)"},
    ),
    (
        "deliver refused alerts=2 error='bad' (kept until the config is fixed)",
        {
            "event": "deliver refused",
            "alerts": 2,
            "error": "bad",
            "message": "(kept until the config is fixed)",
        },
    ),
    ("scheduler stopped", {"event": "scheduler stopped"}),
    ("scheduler started level=3", {"event": "scheduler started", "level_": 3}),
]


@pytest.mark.parametrize(("message", "fields"), CASES)
def test_a_log_message_becomes_its_event_and_fields(message: str, fields: dict) -> None:
    assert fields_of(message) == fields


def leaky(world: World) -> None:
    """A feed whose URL carries the token, and which fails: its error line repeats the URL."""
    text = world.config.read_text(encoding="utf-8")
    world.config.write_text(text.replace('/gba.xml"', f'/gba.xml?feed={TOKEN}"'), encoding="utf-8")


def test_json_logs_carry_the_fields_as_keys_and_never_the_token(world: World) -> None:
    leaky(world)
    env = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": world.env["SLACK_API_URL"],
        "GBA_MONITOR_LOG_FORMAT": "json",
    }
    result = CliRunner().invoke(main, ["run", "--once", "--config", str(world.config)], env=env)
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    [poll] = [line for line in lines if line["event"] == "poll"]
    assert poll["feed"] == "bay-herald" and poll["status"] == "error" and isinstance(poll["ms"], int)
    assert poll["level"] == "warning" and poll["logger"] == "monitor.poll"
    assert "xox-***" in poll["error"], "the error is still shown, the token masked"
    assert TOKEN not in result.stderr and TOKEN not in result.stdout


def test_text_logs_are_one_key_value_line_per_event_and_never_the_token(world: World) -> None:
    leaky(world)
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": world.env["SLACK_API_URL"]}
    result = CliRunner().invoke(main, ["run", "--once", "--config", str(world.config)], env=env)
    [poll] = [line for line in result.stderr.splitlines() if " monitor.poll poll " in line]
    assert "feed=bay-herald status=error" in poll and "xox-***" in poll
    assert TOKEN not in result.stderr
