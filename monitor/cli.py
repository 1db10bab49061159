"""The command line: a thin shell over ``poll`` and ``query``. The only click user and argv reader.

Exit codes: 0 done; 1 a page or feed could not be read (extract); 2 the config or the command line is wrong;
3 the store is broken, newer than this version, or owned by another scheduler.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

import click

from . import output, query
from .errors import ArticleError, ConfigError, FeedError, FetchError, MonitorError, StoreError
from .settings import Settings
from .sparkline import sparkline
from .store import copy_store, describe, storage_at, store_info

EXIT_FAILED, EXIT_CONFIG, EXIT_STORE = 1, 2, 3

config_option = click.option(
    "--config",
    "config_file",
    metavar="PATH",
    help="Config file (default: $GBA_MONITOR_CONFIG, else ./feeds.yaml).",
)

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(output.FORMATS),
    default="table",
    show_default=True,
    help="table for people; json, jsonl or csv for scripts (clean when piped).",
)


def window_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--since, --until, --feed and --limit, as every stored listing takes them."""
    options = (
        click.option("--since", help="From this date: 2025-01-31, an ISO timestamp, or 7d / 12h ago."),
        click.option("--until", help="Up to this date (same forms as --since)."),
        click.option("--feed", help="Only rows from this feed."),
        click.option("--limit", type=click.IntRange(min=1), help="At most this many rows."),
    )
    for option in reversed(options):
        command = option(command)
    return command


def _fail(message: str, code: int) -> None:
    click.echo(f"gba-monitor: {message}", err=True)
    sys.exit(code)


def handles_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can act on into one line on stderr and an exit code; tracebacks are for bugs."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            _fail(str(exc), EXIT_CONFIG)
        except StoreError as exc:
            _fail(str(exc), EXIT_STORE)
        except (FetchError, FeedError, ArticleError) as exc:
            _fail(str(exc), EXIT_FAILED)
        except MonitorError as exc:
            _fail(str(exc), EXIT_FAILED)

    return wrapper


def load(config_file: str | None) -> Settings:
    """The validated settings for --config (or its defaults)."""
    # Imported on use: pydantic and ruamel.yaml cost ~110 ms that `--help` need not pay.
    from . import config

    return config.load_settings(config.config_path(config_file))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for platforms that collect logs."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RedactSecrets(logging.Filter):
    """Replace the Slack token and webhook URL wherever a log line would repeat them."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "[redacted]")
            record.msg, record.args = message, ()
        return True


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="info",
    show_default=True,
)
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def main(log_level: str, log_format: str) -> None:
    """Watch Greater Bay Area and Qianhai news, extract key figures, and tell Slack what changed."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=log_level.upper(), handlers=[handler])
    # httpx logs every request at INFO; the house rule is one line per feed per poll.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))


@main.command()
@config_option
@click.option("--once", is_flag=True, help="Poll every enabled feed once, deliver, and exit.")
@handles_errors
def run(config_file: str | None, once: bool) -> None:
    """Poll the feeds on their schedule until SIGINT/SIGTERM (or once, with --once)."""
    from .outbox import Outbox
    from .poll import open_deps, run_once

    settings = load(config_file)
    secrets = RedactSecrets([settings.slack.token or "", settings.slack.webhook_url or ""])
    for handler in logging.getLogger().handlers:
        handler.addFilter(secrets)
    deps = open_deps(settings)
    outbox = Outbox(deps.store, settings, stream=sys.stdout, now=deps.now)
    try:
        if once:
            results = _run_once_with_progress(deps, run_once)
            outbox.deliver()
            failed = [r for r in results if r.status == "error"]
            for result in failed:
                click.echo(f"gba-monitor: feed {result.feed}: {result.error}", err=True)
            click.echo(
                f"polled {len(results)} feeds: {sum(r.new for r in results)} new stories, "
                f"{sum(r.figures for r in results)} figures, {len(failed)} failed",
                err=True,
            )
        else:
            from .scheduler import run_forever

            run_forever(deps, outbox)
    finally:
        deps.close()


def _run_once_with_progress(deps: Any, run_once: Callable[..., Any]) -> Any:
    """run_once, with a progress bar over the feeds when stderr is a terminal (hidden otherwise)."""
    feeds = [feed for feed in deps.settings.feeds if feed.enabled]
    if not sys.stderr.isatty() or len(feeds) < 2:
        return run_once(deps)
    with click.progressbar(length=len(feeds), label="polling", file=sys.stderr) as bar:
        return run_once(deps, on_result=lambda _result: bar.update(1))


@main.command()
@config_option
@handles_errors
def check(config_file: str | None) -> None:
    """Validate the config and print what it resolves to, with the mistakes it probably holds."""
    from .config import likely_mistakes

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
            f"  - {feed.name}{disabled}: every {output.format_duration(feed.interval_s)} → "
            f"{feed.channel or '(no channel)'}; keywords: {keywords}"
        )
    click.echo(f"  metrics: {len(settings.metrics)}")
    for metric in settings.metrics:
        click.echo(f"  - {metric.key}: {metric.label}")


@main.command()
@click.argument("target", metavar="PATH_OR_URL")
@config_option
@click.option("--selector", help="CSS selector of the article body (default: found automatically).")
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True)
@handles_errors
def extract(target: str, config_file: str | None, selector: str | None, fmt: str) -> None:
    """Print the figures of one article page."""
    settings = _optional_settings(config_file)
    rows = query.extract(
        target,
        selector=selector,
        metrics=settings.metrics if settings else (),
        fetch=settings.fetch if settings else None,
    )
    if fmt == "table":
        rows = [{**row, "value": output.format_value(row["value"])} for row in rows]
    output.write_rows(rows, query.FIGURE_COLUMNS, fmt, sys.stdout, empty="no figures found")


@main.command()
@config_option
@click.option("--metric", help="Only this metric key.")
@window_options
@format_option
@handles_errors
def history(
    config_file: str | None,
    metric: str | None,
    since: str | None,
    until: str | None,
    feed: str | None,
    fmt: str,
    limit: int | None,
) -> None:
    """Stored figures, newest first."""
    settings = load(config_file)
    since_at, until_at = _dates(since, until)
    rows = query.history(
        settings.storage, metric=metric, since=since_at, until=until_at, feed=feed, limit=limit
    )
    output.write_rows(rows, query.HISTORY_COLUMNS, fmt, sys.stdout, empty="no figures stored yet")


def _dates(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """--since / --until as aware datetimes; a bad one is a usage error (exit 2)."""
    now = datetime.now(UTC)
    try:
        return (
            query.parse_when(since, now=now) if since else None,
            query.parse_when(until, now=now) if until else None,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.argument("key", required=False)
@config_option
@format_option
@handles_errors
def metrics(key: str | None, config_file: str | None, fmt: str) -> None:
    """Every tracked metric with its latest value, change and trend; with KEY, that metric's full series."""
    settings = load(config_file)
    if key is None:
        rows = query.metrics(settings.storage)
        output.write_rows(rows, query.METRIC_COLUMNS, fmt, sys.stdout, empty="no metrics stored yet")
        return
    rows = query.history(settings.storage, metric=key)
    if not rows:
        _fail(f"no stored figures for metric {key!r} (see `gba-monitor metrics` for the keys)", EXIT_FAILED)
    if fmt == "table":
        values = [row["value"] for row in reversed(rows)]
        click.echo(f"{rows[0]['label']} ({key}): {len(rows)} observations  {sparkline(values)}")
    columns = ("published", "value", "unit", "qualifier", "feed", "article_title", "article_url")
    output.write_rows(rows, columns, fmt, sys.stdout)


@main.command()
@config_option
@window_options
@format_option
@handles_errors
def articles(
    config_file: str | None,
    since: str | None,
    until: str | None,
    feed: str | None,
    fmt: str,
    limit: int | None,
) -> None:
    """Stored stories, newest first, with their outlet and number of figures."""
    settings = load(config_file)
    since_at, until_at = _dates(since, until)
    rows = query.articles(settings.storage, since=since_at, until=until_at, feed=feed, limit=limit)
    output.write_rows(rows, query.ARTICLE_COLUMNS, fmt, sys.stdout, empty="no stories stored yet")


@main.command()
@config_option
@format_option
@handles_errors
def status(config_file: str | None, fmt: str) -> None:
    """Each feed's polls and failures, and the undelivered alerts.

    Exits 1 when an enabled feed has failed for longer than health.max_failing (for cron and health checks).
    """
    settings = load(config_file)
    health = query.status(settings, now=datetime.now(UTC))
    output.write_rows(health.feeds, query.STATUS_COLUMNS, fmt, sys.stdout)
    if fmt == "table":
        click.echo(f"outbox: {len(health.outbox)} undelivered alerts")
        for alert in health.outbox[:10]:
            click.echo(
                f"  {alert['key']} → {alert['channel'] or '-'} ({alert['attempts']} attempts) "
                f"{alert['last_error'] or ''}"
            )
    if health.unhealthy:
        _fail(
            f"failing for longer than {settings.health.max_failing_s}s: {', '.join(health.unhealthy)}",
            EXIT_FAILED,
        )


@main.command()
@click.argument("targets", nargs=-1, metavar="[URL_OR_FILE]...")
@config_option
@click.option(
    "--feed", "feed_names", multiple=True, help="Learn from this feed's current items (repeatable)."
)
@handles_errors
def backfill(targets: tuple[str, ...], config_file: str | None, feed_names: tuple[str, ...]) -> None:
    """Learn history from feeds' current items, or from article URLs/files, without posting to Slack."""
    from .poll import backfill_pages, open_deps, poll_feed

    settings = load(config_file)
    by_name = {feed.name: feed for feed in settings.feeds}
    unknown = [name for name in feed_names if name not in by_name]
    if unknown:
        raise click.BadParameter(
            f"no feed named {', '.join(unknown)} in {settings.source}", param_hint="--feed"
        )
    feeds = [by_name[name] for name in feed_names] or (
        [] if targets else [f for f in settings.feeds if f.enabled]
    )
    deps = open_deps(settings)
    try:
        stories = sum(poll_feed(feed, deps, post=False).new for feed in feeds)
        if targets:
            stories += backfill_pages(targets, deps)
    finally:
        deps.close()
    click.echo(
        f"backfilled {stories} stories from {len(feeds)} feeds and {len(targets)} pages; nothing posted"
    )


def _optional_settings(config_file: str | None) -> Settings | None:
    """The settings when a config is given or present; extract also works without one."""
    from .config import config_path

    if config_file is None and not config_path(None).exists():
        return None
    return load(config_file)


@main.group()
def store() -> None:
    """The store itself: what it holds, and copying it to another engine (TinyDB file ↔ PostgreSQL)."""


@store.command("info")
@config_option
@format_option
@handles_errors
def store_info_command(config_file: str | None, fmt: str) -> None:
    """The store's engine, place, schema version, rows per table and size."""
    info = store_info(load(config_file).storage)
    row = {"engine": info.engine, "store": info.where, "schema_version": info.schema_version}
    row |= {**info.rows, "size_bytes": info.size_bytes}
    output.write_rows([row], tuple(row), fmt, sys.stdout)


@store.command("migrate")
@click.option("--to", "target", required=True, metavar="URL_OR_PATH", help="An empty store to copy into.")
@config_option
@handles_errors
def store_migrate(target: str, config_file: str | None) -> None:
    """Copy the configured store into another engine's empty store, and check every table's count.

    Then point storage.path or storage.url (or GBA_MONITOR_DATABASE_URL) at the copy."""
    source = load(config_file).storage
    destination = storage_at(target, like=source)
    copied = copy_store(source, destination)
    counts = ", ".join(f"{table}={count}" for table, count in copied.items())
    click.echo(f"copied {describe(source)} → {describe(destination)}: {counts} (counts verified)")
