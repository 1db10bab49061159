# ruff: noqa: F811 (tests take the imported `world` fixture by name)
"""`gba-monitor store info|migrate`, and the monitor run on PostgreSQL, through the CLI (in this process):
a demo store round-trips TinyDB → PostgreSQL → TinyDB with the same history; errors are one line with
exit code 3."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

from tests.test_cli import NOVEMBER, OCTOBER, World, world  # noqa: F401 (world is a fixture)


def info(world: World, **env: str) -> dict:
    result = world.cli("store", "info", "--format", "json", env=env)
    assert result.exit_code == 0, result.stderr
    [row] = json.loads(result.stdout)
    return row


def history(world: World, **env: str) -> list[dict]:
    result = world.cli("history", "--format", "json", env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_store_migrate_round_trips_a_demo_store_through_postgresql(world: World, database_url: str) -> None:
    world.publish(OCTOBER)
    assert world.cli("run", "--once").exit_code == 0
    world.publish(NOVEMBER, OCTOBER)
    assert world.cli("run", "--once").exit_code == 0
    on_file, file_info = history(world), info(world)
    assert file_info["engine"] == "tinydb" and file_info["figures"] == len(on_file) > 0

    copied = world.cli("store", "migrate", "--to", database_url)
    assert copied.exit_code == 0, copied.stderr
    assert f"figures={len(on_file)}" in copied.stdout and "counts verified" in copied.stdout
    database = {"GBA_MONITOR_DATABASE_URL": database_url}
    assert history(world, **database) == on_file
    in_database = info(world, **database)
    assert in_database["engine"] == "postgresql" and in_database["schema_version"] >= 1
    counted = ("feeds", "metrics", "articles", "figures", "alerts")
    assert {t: in_database[t] for t in counted} == {t: file_info[t] for t in counted}

    back = world.cli("store", "migrate", "--to", "back.json", env=database)
    assert back.exit_code == 0, back.stderr
    world.config.write_text(world.config.read_text().replace("storage/monitor.json", "back.json"))
    assert history(world) == on_file


def test_migrating_into_a_store_that_holds_rows_is_refused(world: World, database_url: str) -> None:
    world.publish(OCTOBER)
    assert world.cli("run", "--once").exit_code == 0
    assert world.cli("store", "migrate", "--to", database_url).exit_code == 0
    again = world.cli("store", "migrate", "--to", database_url)
    assert again.exit_code == 3
    assert again.stderr.startswith("gba-monitor: store: postgresql://***@127.0.0.1:")  # errors mask users
    assert "is not empty" in again.stderr and len(again.stderr.splitlines()) == 1


def test_runs_on_postgresql_post_each_alert_once(world: World, database_url: str) -> None:
    database = {"GBA_MONITOR_DATABASE_URL": database_url}
    world.publish(OCTOBER)
    assert world.cli("run", "--once", env=database).exit_code == 0
    posted = list(world.slack.messages)
    assert len(posted) == 1
    assert world.cli("run", "--once", env=database).exit_code == 0
    assert world.slack.messages == posted
    assert not Path(world.config.parent / "storage" / "monitor.json").exists()  # nothing went to a file
    status = world.cli("status", "--format", "json", env=database)
    assert status.exit_code == 0, status.stderr
    [row] = json.loads(status.stdout)
    assert row["stories"] == 1
    assert re.fullmatch(r".+:\d+", row["worker"])  # the host:pid that polled it last


def test_an_unreachable_database_is_one_line_without_its_password(world: World) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://monitor:s3cret@127.0.0.1:{port}/gba?connect_timeout=1"
    result = world.cli("store", "info", env={"GBA_MONITOR_DATABASE_URL": url})
    assert result.exit_code == 3
    [line] = result.stderr.splitlines()
    where = f"postgresql://***@127.0.0.1:{port}/gba"  # an error line masks the user too (redaction)
    assert line.startswith(f"gba-monitor: store: cannot connect to {where} (")
    assert "s3cret" not in result.stdout + result.stderr


def test_a_database_url_that_is_not_postgresql_is_a_config_error(world: World) -> None:
    result = world.cli("store", "info", env={"GBA_MONITOR_DATABASE_URL": "mysql://u:pw@host/db"})
    assert result.exit_code == 2
    assert "GBA_MONITOR_DATABASE_URL" in result.stderr and "pw" not in result.stderr


def test_a_dry_run_on_postgresql_works_on_a_scratch_copy_and_changes_nothing(
    world: World, database_url: str
) -> None:
    database = {"GBA_MONITOR_DATABASE_URL": database_url}
    world.publish(OCTOBER)
    assert world.cli("run", "--once", env=database).exit_code == 0
    before, posted = history(world, **database), list(world.slack.messages)
    world.publish(NOVEMBER, OCTOBER)
    trial = world.cli("run", "--once", "--dry-run", env=database)
    assert trial.exit_code == 0, trial.stderr
    assert "11,020" in trial.stdout, "the move it would post, told against the database's history"
    assert world.slack.messages == posted and history(world, **database) == before
