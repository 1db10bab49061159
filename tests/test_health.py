"""`gba-monitor health`: the heartbeat a running scheduler writes, and the verdict drawn from it alone. A
killed scheduler and a hung one both fail it; it never parses the store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import main
from monitor.records import Heartbeat
from monitor.settings import StorageSettings
from monitor.store import Store, open_store
from tests.conftest import Site
from tests.test_cli import OCTOBER, World, worlds

NOW = datetime.now(UTC)


@pytest.fixture
def world(site: Site, tmp_path: Path) -> Iterator[World]:
    yield from worlds(site, tmp_path)


def health(world: World) -> Result:
    return CliRunner().invoke(main, ["health", "--config", str(world.config)])


def store_path(world: World) -> Path:
    return world.config.parent / "storage" / "monitor.json"


def write_beat(world: World, **fields: object) -> None:
    """A heartbeat as this (live) process's scheduler would write it, with ``fields`` changed."""
    beat = {"at": NOW, "started_at": NOW - timedelta(minutes=1), "pid": os.getpid(), "last_success": NOW}
    with Store(store_path(world)) as store:
        store.write_heartbeat(Heartbeat(**(beat | fields)))  # type: ignore[arg-type]


def set_health(world: World, settings: str) -> None:
    text = world.config.read_text(encoding="utf-8")
    world.config.write_text(text.replace("feeds:\n", f"health: {{{settings}}}\nfeeds:\n"), encoding="utf-8")


def test_health_fails_before_any_scheduler_ran(world: World) -> None:
    result = health(world)
    assert result.exit_code == 1
    assert "no scheduler has written a heartbeat" in result.stderr


@pytest.mark.slow
def test_health_passes_for_a_live_scheduler_and_fails_once_it_is_killed(world: World) -> None:
    world.publish(OCTOBER)
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(world.config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=world.env, cwd=world.config.parent,
    )  # fmt: skip
    try:
        assert world.slack.posted.wait(60), "the scheduler polled and delivered"
        alive = health(world)
        assert alive.exit_code == 0, alive.stderr
        assert alive.stdout.strip() == "healthy"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
    dead = health(world)
    assert dead.exit_code == 1
    assert f"the scheduler (pid {process.pid}) is not running" in dead.stderr


def test_health_fails_for_a_hung_scheduler_whose_heartbeat_stopped_advancing(world: World) -> None:
    """The process lives, but its last successful poll is far older than 3 × the 15-minute interval."""
    hung = NOW - timedelta(hours=10)
    write_beat(world, at=hung, started_at=hung - timedelta(hours=1), last_success=hung)
    result = health(world)
    assert result.exit_code == 1
    assert "no poll has succeeded for 10h" in result.stderr and "limit 45m" in result.stderr


def test_health_fails_when_a_feed_fails_longer_than_max_failing(world: World) -> None:
    set_health(world, "max_failing: 1h")
    write_beat(world, failing=(("bay-herald", NOW - timedelta(hours=2)),))
    result = health(world)
    assert result.exit_code == 1 and "feed bay-herald has failed for 2h" in result.stderr


def test_health_fails_when_an_alert_waits_longer_than_max_outbox_age(world: World) -> None:
    set_health(world, "max_outbox_age: 30m")
    write_beat(world, oldest_pending=NOW - timedelta(hours=1))
    result = health(world)
    assert result.exit_code == 1 and "waited in the outbox for 1h" in result.stderr


def test_health_reads_the_heartbeat_alone_never_the_store(world: World) -> None:
    """A store file no JSON parser could read would fail any command that loads it (exit 3)."""
    write_beat(world)
    store_path(world).write_bytes(b"{" + b"x" * 5_000_000)
    result = health(world)
    assert result.exit_code == 0, result.stderr
    status = CliRunner().invoke(main, ["status", "--config", str(world.config)])
    assert status.exit_code == 3, "while status, which reads the store, sees it broken"


def test_health_on_a_postgresql_store_reads_this_workers_heartbeat_file_never_the_database(
    world: World, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker sharing a database writes its heartbeat beside storage.path (its pid is this machine's to
    check); `health` answers from that file even while the database is unreachable."""
    settings = StorageSettings(path=store_path(world), url=database_url)
    with open_store(settings) as store:
        store.write_heartbeat(Heartbeat(at=NOW, started_at=NOW, pid=os.getpid(), last_success=NOW))
    assert not settings.path.exists(), "only the heartbeat lives beside storage.path"
    monkeypatch.setenv("GBA_MONITOR_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = health(world)
    assert result.exit_code == 0, result.stderr
    status = CliRunner().invoke(main, ["status", "--config", str(world.config)])
    assert status.exit_code == 3 and "cannot connect" in status.stderr
