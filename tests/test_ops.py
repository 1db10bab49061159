"""The commands operators reach for, through the CLI: init, check --online, outbox list/retry/drop, prune,
--version, --help, shell completion and options from the environment."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from monitor.cli import main
from tests.conftest import Response, Site
from tests.slack_api import SlackStandIn
from tests.test_cli import NOVEMBER, OCTOBER, World, worlds


@pytest.fixture
def world(site: Site, tmp_path: Path) -> Iterator[World]:
    yield from worlds(site, tmp_path)


@pytest.fixture(params=["tinydb", "postgresql"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The outbox and prune commands run on both engines: the world's TinyDB file, or a new database."""
    if request.param == "postgresql":
        monkeypatch.setenv("GBA_MONITOR_DATABASE_URL", request.getfixturevalue("database_url"))
    return request.param


def invoke(world: World, *args: str, **env: str) -> Result:
    """``gba-monitor ARGS --config CONFIG`` in this process, with the world's Slack credentials."""
    env = {"SLACK_BOT_TOKEN": world.slack.token, "SLACK_API_URL": world.slack.api_url, **env}
    return CliRunner().invoke(main, [*args, "--config", str(world.config)], env=env)


def every_command() -> Iterator[tuple[str, ...]]:
    def walk(group: click.Group, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        for name, command in group.commands.items():
            yield (*path, name)
            if isinstance(command, click.Group):
                yield from walk(command, (*path, name))

    yield ()
    yield from walk(main, ())


@pytest.mark.parametrize("command", list(every_command()), ids=" ".join)
def test_every_help_shows_an_example_and_the_exit_codes(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert re.search(r"Example:\n +gba-monitor ", result.output) and "Exit codes:" in result.output


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("gba-monitor, version ")


def test_init_writes_a_starter_config_that_passes_check_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "feeds.yaml"
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(path)]).exit_code == 0
    assert path.read_text(encoding="utf-8").startswith("# gba-monitor config")
    check = runner.invoke(main, ["check", "--config", str(path)], env={"SLACK_BOT_TOKEN": None})
    assert check.exit_code == 0, check.output
    again = runner.invoke(main, ["init", str(path)])
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_check_online_fetches_each_feed_and_tries_slack(world: World) -> None:
    world.publish(OCTOBER, NOVEMBER)
    result = invoke(world, "check", "--online")
    assert result.exit_code == 0, result.output
    [feed] = [line for line in result.stdout.splitlines() if "feed bay-herald" in line]
    assert " ok " in feed and " 2 " in feed, "status, entries and keyword matches"
    assert "slack auth.test" in result.stdout and "bot gba-monitor" in result.stdout
    assert "the bot is a member" in result.stdout


def test_check_online_exits_1_when_the_bot_is_not_in_the_channel_or_a_feed_fails(world: World) -> None:
    with SlackStandIn(token=world.slack.token, channels=["#gba"], not_in=["#gba"]) as outside:
        result = invoke(world, "check", "--online", SLACK_API_URL=outside.api_url)
    assert result.exit_code == 1
    assert "not in it" in result.stdout and "404" in result.stdout
    assert "online check failed: feed bay-herald, slack #gba" in result.stderr
    bad_token = invoke(world, "check", "--online", SLACK_BOT_TOKEN="xoxb-wrong")
    assert bad_token.exit_code == 1 and "invalid_auth" in bad_token.stdout


def outbox(world: World) -> list[dict]:
    listing = invoke(world, "outbox", "list", "--format", "json")
    assert listing.exit_code == 0, listing.output
    return json.loads(listing.stdout or "[]")


def test_outbox_lists_held_alerts_drops_one_and_retries_the_rest(world: World, engine: str) -> None:
    world.publish(OCTOBER, NOVEMBER)
    world.slack.fail_next("channel_not_found")
    assert invoke(world, "run", "--once").exit_code == 0
    held = outbox(world)
    assert len(held) >= 2 and {row["state"] for row in held} == {"held"}
    assert all("channel_not_found" in row["reason"] and row["age"] for row in held)
    first = held[0]["id"]

    dropped = invoke(world, "outbox", "drop", first[:-4])  # a unique prefix will do
    assert dropped.exit_code == 0 and first in dropped.stdout
    assert invoke(world, "outbox", "retry", "--all").exit_code == 0
    posted = len(world.slack.messages)
    assert posted >= 1, "the others are posted (a story and the move it carries make one message)"
    assert [(row["id"], row["state"]) for row in outbox(world)] == [(first, "dropped")], "kept, not deleted"

    taken_back = invoke(world, "outbox", "retry", first)
    assert taken_back.exit_code == 0 and "1 posted" in taken_back.stdout
    assert len(world.slack.messages) == posted + 1 and outbox(world) == []


def test_outbox_retry_and_drop_refuse_an_unknown_id(world: World) -> None:
    assert invoke(world, "outbox", "retry").exit_code == 2
    unknown = invoke(world, "outbox", "drop", "story:nope")
    assert unknown.exit_code == 2 and "matches no undelivered alert" in unknown.stderr


def test_prune_applies_retention_now_and_reports_what_it_removed(world: World, engine: str) -> None:
    world.publish(OCTOBER, NOVEMBER)
    assert invoke(world, "run", "--once").exit_code == 0
    assert invoke(world, "prune").exit_code == 2, "no --before and no storage.retention_days"
    result = invoke(world, "prune", "--before", "2100-01-01")
    assert result.exit_code == 0, result.output
    assert re.match(r"pruned \d+ stories and [1-9]\d* figures from before 2100-01-01", result.stdout)
    history = invoke(world, "history", "--format", "json", "--metric", "qianhai.hk-funded-enterprises")
    assert len(json.loads(history.stdout)) == 1, "each metric keeps its latest figure"


def test_feed_names_and_metric_keys_complete_in_the_shell(world: World) -> None:
    def complete(words: str) -> list[str]:
        env = {
            "_GBA_MONITOR_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        }
        result = CliRunner().invoke(main, [], env=env, prog_name="gba-monitor")
        return [line.split(",", 1)[1] for line in result.output.splitlines()]

    assert complete(f"gba-monitor run --config {world.config} --feed bay") == ["bay-herald"]
    assert complete(f"gba-monitor metrics --config {world.config} qian") == ["qianhai.hk-funded-enterprises"]


def test_options_come_from_the_environment(world: World) -> None:
    world.site.route("/gba.xml", Response(b"gone", 404))
    env = {"GBA_MONITOR_CONFIG": str(world.config), "GBA_MONITOR_FORMAT": "json"}
    listing = CliRunner().invoke(main, ["outbox", "list"], env=env)
    assert listing.exit_code == 0 and json.loads(listing.stdout) == []
    once = CliRunner().invoke(main, ["run"], env={**env, "GBA_MONITOR_RUN_ONCE": "1"})
    assert once.exit_code == 1 and "polled 1 feeds" in once.stderr, "auto_envvar_prefix: GBA_MONITOR_RUN_ONCE"
