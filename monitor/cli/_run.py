"""The scheduler's commands: ``run`` (on schedule, or ``--once`` for cron) and ``backfill``."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ..settings import FeedSettings, Settings
from ._shared import (
    ENV,
    EXIT_FAILED,
    complete_feeds,
    config_option,
    epilog,
    handles_errors,
    load,
    pick_feeds,
)

feed_option = click.option(
    "--feed",
    "feed_names",
    multiple=True,
    metavar="NAME",
    shell_complete=complete_feeds,
    help="Only this feed (repeatable; default: every enabled feed).",
)


@click.command(
    epilog=epilog("gba-monitor run --once --feed scmp-gba --dry-run", "an enabled feed failed (--once)")
)
@config_option
@click.option("--once", is_flag=True, help="Poll every due feed once, deliver, and exit (for cron).")
@feed_option
@click.option(
    "--dry-run", is_flag=True, help="With --once: print the alerts it would send; store and post nothing."
)
@click.option(
    "--force", is_flag=True, help="With --once: poll feeds that are backing off after failures too."
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    envvar=f"{ENV}METRICS_PORT",
    help="Serve Prometheus metrics at http://HOST:PORT/metrics.",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True, envvar=f"{ENV}METRICS_HOST")
@handles_errors
def run(
    config_file: str | None,
    once: bool,
    feed_names: tuple[str, ...],
    dry_run: bool,
    force: bool,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """Poll the feeds on their schedule until SIGINT/SIGTERM, writing a heartbeat after each poll (see
    `health`); with --once, poll every due feed once (a feed backing off after failures waits for its
    retry time, as the server's Retry-After asks, unless --force), deliver the alerts, and exit 1 if any
    failed."""
    from ..logs import redact

    if (dry_run or force) and not once:
        raise click.UsageError("--dry-run and --force go with --once")
    settings = load(config_file)
    secrets = (settings.slack.token, settings.slack.webhook_url)  # a dry run's settings have none: kept here
    redact(secrets)
    feeds = pick_feeds(settings, feed_names)
    served = None
    if metrics_port is not None:
        from ..exporter import serve_metrics

        served = serve_metrics(metrics_port, host=metrics_host)
        click.echo(f"metrics: http://{metrics_host}:{served.port}/metrics", err=True)
    try:
        if not once:
            _serve(settings, feeds)
        elif dry_run:
            with _throwaway(settings) as trial:
                _once(trial, feeds, force=force, secrets=secrets)
        else:
            _once(settings, feeds, force=force, secrets=secrets)
    finally:
        if served is not None:
            served.stop()


def _serve(settings: Settings, feeds: Sequence[FeedSettings]) -> None:
    from ..outbox import Outbox
    from ..poll import open_deps
    from ..scheduler import run_forever

    deps = open_deps(settings)
    try:
        run_forever(deps, Outbox(deps.store, settings, stream=sys.stdout, now=deps.now), feeds=feeds)
    finally:
        deps.close()


def _once(
    settings: Settings, feeds: Sequence[FeedSettings], *, force: bool, secrets: Sequence[str | None]
) -> None:
    """One round: poll the due feeds, deliver, report; exit 1 when any failed or is still backing off."""
    from ..logs import scrub
    from ..outbox import Outbox
    from ..poll import open_deps, run_once

    deps = open_deps(settings)
    try:
        outbox = Outbox(deps.store, settings, stream=sys.stdout, now=deps.now)
        results = _with_progress(
            len(feeds), lambda tick: run_once(deps, feeds=feeds, on_result=tick, force=force)
        )
        outbox.deliver()
    finally:
        deps.close()
    failed = [r for r in results if r.status == "error"]
    waiting = [r for r in results if r.status == "backing_off"]
    for result in failed:
        click.echo(f"gba-monitor: feed {result.feed}: {scrub(result.error or '', secrets)}", err=True)
    for result in waiting:
        when = result.next_retry.isoformat(timespec="seconds") if result.next_retry else "?"
        error = scrub(result.error or "", secrets)
        click.echo(f"gba-monitor: feed {result.feed}: backing off until {when} (--force polls it now; "
                   f"last error: {error})", err=True)  # fmt: skip
    click.echo(
        f"polled {len(results) - len(waiting)} feeds: {sum(r.new for r in results)} new stories, "
        f"{sum(r.figures for r in results)} figures, {len(failed)} failed, {len(waiting)} backing off",
        err=True,
    )
    if failed or waiting:
        sys.exit(EXIT_FAILED)


@contextmanager
def _throwaway(settings: Settings) -> Iterator[Settings]:
    """The settings over a copy of the store, with no Slack credential: what a run would store is thrown
    away, and what it would post is printed (the console sender) instead."""
    from ..store import scratch_copy

    with tempfile.TemporaryDirectory(prefix="gba-monitor-dry-run-") as folder:
        storage = scratch_copy(settings.storage, Path(folder) / settings.storage.path.name)
        slack = replace(settings.slack, token=None, webhook_url=None)
        yield replace(settings, storage=storage, slack=slack)


def _with_progress(total: int, work: Any) -> Any:
    """``work(tick)``, with a progress bar that ticks once per item when stderr is a terminal."""
    if not sys.stderr.isatty() or total < 2:
        return work(lambda *_: None)
    with click.progressbar(length=total, label="working", file=sys.stderr) as bar:
        return work(lambda *_: bar.update(1))


@click.command(
    epilog=epilog(
        "gba-monitor backfill --feed scmp-gba https://example.com/news/qianhai.html",
        "some targets could not be read (the others are kept)",
    )
)
@click.argument("targets", nargs=-1, metavar="[URL_OR_FILE]...")
@config_option
@click.option(
    "--feed",
    "feed_names",
    multiple=True,
    shell_complete=complete_feeds,
    help="Learn from this feed's current items (repeatable).",
)
@handles_errors
def backfill(targets: tuple[str, ...], config_file: str | None, feed_names: tuple[str, ...]) -> None:
    """Learn history from feeds' current items, or from article URLs/files, without posting to Slack. A
    target that fails is reported and the others are kept."""
    from ..poll import open_deps

    settings = load(config_file)
    feeds = pick_feeds(settings, feed_names) if feed_names or not targets else []
    deps = open_deps(settings)
    try:
        stories, failures = _with_progress(
            len(feeds) + len(targets), lambda tick: _learn(feeds, targets, deps, tick)
        )
    finally:
        deps.close()
    for failure in failures:
        click.echo(f"gba-monitor: {failure}", err=True)
    click.echo(
        f"backfilled {stories} stories from {len(feeds)} feeds and {len(targets)} pages; nothing posted"
        + (f"; {len(failures)} failed" if failures else "")
    )
    if failures:
        sys.exit(EXIT_FAILED)


def _learn(
    feeds: Sequence[FeedSettings], targets: Sequence[str], deps: Any, tick: Any
) -> tuple[int, list[str]]:
    """Backfill each feed, then the pages; (stories stored, one line per feed or page that failed)."""
    from ..poll import backfill_pages, poll_feed

    stories, failures = 0, []
    for feed in feeds:
        result = poll_feed(feed, deps, post=False)
        tick()
        stories += result.new
        if result.status == "error":
            failures.append(f"feed {feed.name}: {result.error}")
    learned, failed = backfill_pages(targets, deps, on_target=tick)
    return stories + learned, failures + failed
