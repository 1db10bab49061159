"""`run --once` as cron uses it: exit codes, back-off and Retry-After, --feed, --force and --dry-run; and
`backfill`, which keeps going past a bad target. In-process through click's runner (no process boundary)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import main
from tests.conftest import Response, Site
from tests.test_cli import OCTOBER, PAGES, World, worlds


@pytest.fixture
def world(site: Site, tmp_path: Path) -> Iterator[World]:
    yield from worlds(site, tmp_path)


def invoke(world: World, *args: str) -> Result:
    """``gba-monitor ARGS --config CONFIG`` in this process, with the world's Slack credentials."""
    env = {key: world.env.get(key) for key in ("SLACK_BOT_TOKEN", "SLACK_API_URL")}
    return CliRunner().invoke(main, [*args, "--config", str(world.config)], env=env)


def feed_requests(world: World) -> int:
    return sum(r.path == "/gba.xml" for r in world.site.requests)


def add_feed(world: World, name: str, path: str) -> None:
    text = world.config.read_text(encoding="utf-8")
    extra = f'  - {{name: {name}, url: "{world.site.url(path)}"}}\n'
    world.config.write_text(text.replace("metrics:\n", extra + "metrics:\n"), encoding="utf-8")


def test_run_once_exits_0_when_every_feed_succeeded_or_was_not_modified(world: World) -> None:
    world.publish(OCTOBER)
    assert invoke(world, "run", "--once").exit_code == 0
    assert invoke(world, "run", "--once").exit_code == 0


def test_a_feed_answering_429_with_retry_after_is_not_fetched_again_by_the_next_cron_run(
    world: World,
) -> None:
    world.site.route("/gba.xml", Response(b"slow down", 429, headers={"retry-after": "7200"}))
    first = invoke(world, "run", "--once")
    assert first.exit_code == 1 and "bay-herald" in first.stderr
    world.publish(OCTOBER)
    second = invoke(world, "run", "--once")
    assert second.exit_code == 1, "a feed backing off is still a failing feed"
    assert "backing off until" in second.stderr and "--force" in second.stderr
    assert feed_requests(world) == 1, "Retry-After: 7200 is honoured by the next run"
    forced = invoke(world, "run", "--once", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert feed_requests(world) == 2 and len(world.slack.messages) == 1


def test_feed_polls_only_the_named_feeds_and_an_unknown_name_exits_2(world: World) -> None:
    add_feed(world, "other", "/other.xml")
    world.publish(OCTOBER)
    result = invoke(world, "run", "--once", "--feed", "bay-herald")
    assert result.exit_code == 0, result.stderr
    assert not any(r.path == "/other.xml" for r in world.site.requests)
    unknown = invoke(world, "run", "--once", "--feed", "nope")
    assert unknown.exit_code == 2 and "no feed named nope" in unknown.stderr


def test_dry_run_prints_the_alerts_it_would_send_and_stores_and_posts_nothing(world: World) -> None:
    world.publish(OCTOBER)
    dry = invoke(world, "run", "--once", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert OCTOBER[0] in dry.stdout, "the alert it would post is printed"
    assert world.slack.messages == []
    stored = invoke(world, "history", "--format", "json")
    assert json.loads(stored.stdout or "[]") == []
    assert not (world.config.parent / "storage" / "monitor.json").exists()
    real = invoke(world, "run", "--once")
    assert real.exit_code == 0 and len(world.slack.messages) == 1, "the dry run left nothing behind"


def test_dry_run_and_force_need_once(world: World) -> None:
    result = invoke(world, "run", "--dry-run")
    assert result.exit_code == 2 and "--once" in result.stderr


def test_backfill_reports_each_failed_target_and_keeps_the_others(world: World) -> None:
    good = str(PAGES / "qianhai-november.html")
    result = invoke(world, "backfill", world.site.url("/missing.html"), good)
    assert result.exit_code == 1
    assert "missing.html" in result.stderr and "404" in result.stderr
    assert "backfilled 1 stories" in result.stdout and "1 failed" in result.stdout
    history = invoke(world, "history", "--format", "json", "--metric", "qianhai.hk-funded-enterprises")
    assert [row["value"] for row in json.loads(history.stdout)] == [11020]
    assert world.slack.messages == []
