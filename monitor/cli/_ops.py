"""The operator's commands: check, health, init, prune and outbox."""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from .. import output, query
from ..clock import utc_now
from ..durations import format_duration
from ._shared import (
    EXIT_CONFIG,
    EXIT_FAILED,
    config_option,
    epilog,
    fail,
    format_option,
    handles_errors,
    load,
    parse_date,
)
from ._starter import STARTER

PROBE_COLUMNS = ("target", "status", "entries", "matches", "detail")


@click.command(epilog=epilog("gba-monitor check --online", "a feed or Slack failed the --online check"))
@config_option
@click.option("--online", is_flag=True, help="Also fetch each feed once and try Slack (auth.test, channels).")
@handles_errors
def check(config_file: str | None, online: bool) -> None:
    """Validate the config and print what it resolves to, with the mistakes it probably holds."""
    from ..config import likely_mistakes
    from ..store import describe

    settings = load(config_file)
    enabled = [f for f in settings.feeds if f.enabled]
    if settings.slack.token:
        slack = "Web API (SLACK_BOT_TOKEN)"
    elif settings.slack.webhook_url:
        slack = "incoming webhook (SLACK_WEBHOOK_URL)"
    else:
        slack = "none: alerts are printed"
    click.echo(f"{settings.source}: ok")
    for warning in likely_mistakes(settings):
        click.echo(f"  warning: {warning}")
    click.echo(f"  storage: {describe(settings.storage)}")
    click.echo(f"  slack: {slack}; first run: {settings.slack.on_first_run}")
    click.echo(f"  feeds: {len(settings.feeds)} ({len(enabled)} enabled)")
    for feed in settings.feeds:
        keywords = ", ".join(feed.keywords) or "(all entries)"
        if len(keywords) > 60:
            keywords = f"{keywords[:60].rsplit(', ', 1)[0]}, … ({len(feed.keywords)} in all)"
        disabled = " (disabled)" if not feed.enabled else ""
        click.echo(
            f"  - {feed.name}{disabled}: every {format_duration(feed.interval_s)} → "
            f"{feed.channel or '(no channel)'}; keywords: {keywords}"
        )
    click.echo(f"  metrics: {len(settings.metrics)}")
    for metric in settings.metrics:
        click.echo(f"  - {metric.key}: {metric.label}")
    if online:
        from ..probe import probe

        probes = probe(settings, enabled)
        click.echo()
        output.write_rows([asdict(p) for p in probes], PROBE_COLUMNS, "table", sys.stdout)
        failed = [p.target for p in probes if p.status == "error"]
        if failed:
            fail(f"online check failed: {', '.join(failed)}", EXIT_FAILED)


@click.command(epilog=epilog("gba-monitor health", "the scheduler is dead, hung or falling behind"))
@config_option
@handles_errors
def health(config_file: str | None) -> None:
    """Is the scheduler alive and keeping up? Reads only its heartbeat (fast on any store size), for a
    container HEALTHCHECK or a cron job: exit 1 when no scheduler runs, no poll succeeded within
    health.missed_polls × the shortest interval, a feed has failed longer than health.max_failing, or an
    alert has waited longer than health.max_outbox_age. `status` has the full report."""
    from ..health import problems

    found = problems(load(config_file), now=utc_now())
    if found:
        for problem in found[:-1]:
            click.echo(f"gba-monitor: unhealthy: {problem}", err=True)
        fail(f"unhealthy: {found[-1]}", EXIT_FAILED)
    click.echo("healthy")


@click.command(epilog=epilog("gba-monitor init /etc/gba-monitor/feeds.yaml", "the file already exists"))
@click.argument("path", default="feeds.yaml", type=click.Path(dir_okay=False, path_type=Path))
@handles_errors
def init(path: Path) -> None:
    """Write a commented starter config to PATH (default ./feeds.yaml); it passes `check` as written."""
    if path.exists():
        fail(f"{path} already exists (edit it, or pick another path)", EXIT_FAILED)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(STARTER, encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot write ({exc.strerror})", EXIT_CONFIG)
    click.echo(f"wrote {path}: edit the feeds and metrics, then `gba-monitor check --config {path}`")


@click.command(epilog=epilog("gba-monitor prune --before 2024-01-01", "never"))
@config_option
@click.option(
    "--before", metavar="DATE", help="Prune what is older than this (default: storage.retention_days)."
)
@handles_errors
def prune(config_file: str | None, before: str | None) -> None:
    """Apply retention now: remove stories last fetched and figures observed before DATE, keeping each
    metric's latest figure and its story, and say what was removed."""
    from ..store import open_store

    settings = load(config_file)
    cutoff = parse_date(before, "--before")
    if cutoff is None:
        days = settings.storage.retention_days
        if days is None:
            raise click.UsageError("pass --before DATE, or set storage.retention_days in the config")
        cutoff = utc_now() - timedelta(days=days)
    with open_store(settings.storage, max_connections=1) as store:
        stories, figures = store.prune(cutoff)
    click.echo(
        f"pruned {stories} stories and {figures} figures from before {cutoff.isoformat(timespec='seconds')}"
    )


@click.group(epilog=epilog("gba-monitor outbox retry --all", "an alert could not be posted"))
def outbox() -> None:
    """The alerts waiting for Slack: list them, retry them, or drop one."""


@outbox.command("list", epilog=epilog("gba-monitor outbox list --format json", "never"))
@config_option
@format_option
@handles_errors
def list_alerts(config_file: str | None, fmt: str) -> None:
    """Undelivered alerts, oldest first: id, kind, channel, state, attempts, age and the last error."""
    settings = load(config_file)
    rows = query.outbox(settings.storage, now=utc_now())
    output.write_rows(rows, query.OUTBOX_COLUMNS, fmt, sys.stdout, empty="the outbox is empty")


@outbox.command(epilog=epilog("gba-monitor outbox retry figure:qianhai", "an alert could not be posted"))
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--all", "every", is_flag=True, help="Every undelivered alert that is not dropped.")
@config_option
@handles_errors
def retry(ids: tuple[str, ...], every: bool, config_file: str | None) -> None:
    """Post these alerts again now (ID: the id from `outbox list`, or a unique prefix of it), forgetting
    the error that held them; a dropped alert named here is taken back. With a scheduler running, it posts
    them after its next poll."""
    from ..errors import StoreLocked
    from ..outbox import Outbox
    from ..store import open_store

    if bool(ids) == every:
        raise click.UsageError("name the alerts to retry, or pass --all")
    settings = load(config_file)
    with open_store(settings.storage, max_connections=1) as store:
        unsent = store.unsent_alerts()
        keys = [a.key for a in unsent if a.dropped_at is None] if every else _keys(ids, unsent)
        retried = store.retry_alerts(keys)
        try:
            store.lock_scheduler()
        except StoreLocked:
            click.echo(
                f"{len(retried)} alerts marked for retry: the running scheduler posts them after a poll"
            )
            return
        deliveries = Outbox(store, settings, stream=sys.stdout).deliver()
    sent = sum(d.ok for d in deliveries)
    click.echo(f"{len(retried)} alerts retried: {sent} posted, {len(deliveries) - sent} failed")
    if sent < len(deliveries):
        fail(next(d.error for d in deliveries if not d.ok) or "an alert failed", EXIT_FAILED)


@outbox.command(epilog=epilog("gba-monitor outbox drop conflict:qianhai", "never"))
@click.argument("alert_id", metavar="ID")
@config_option
@handles_errors
def drop(alert_id: str, config_file: str | None) -> None:
    """Never post this alert. It stays in the outbox, marked dropped (`outbox retry ID` takes it back)."""
    from ..store import open_store

    settings = load(config_file)
    with open_store(settings.storage, max_connections=1) as store:
        [key] = _keys((alert_id,), store.unsent_alerts())
        store.drop_alerts([key])
    click.echo(f"dropped {key}")


def _keys(ids: tuple[str, ...], unsent: list[Any]) -> list[str]:
    try:
        return query.alert_keys(ids, [alert.key for alert in unsent])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="ID") from None
