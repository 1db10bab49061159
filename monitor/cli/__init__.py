"""The command line: a thin shell over ``poll``, ``outbox``, ``health`` and ``query``; the only click user.

It is the only argv reader. ``_shared`` holds the options and error handling every command uses; ``_run``
the scheduler's commands (run, backfill); ``_ops`` the operator's (check, health, init, prune, outbox);
``_store`` the store's own (store info, store migrate).

Exit codes: 0 done; 1 a feed, page or alert failed (or, for ``status`` and ``health``, the monitor is
unhealthy); 2 the config or the command line is wrong; 3 the store is broken, newer than this version, or
owned by another scheduler. Every option can also be set as ``GBA_MONITOR_<OPTION>`` (README, Deployment).
"""

from __future__ import annotations

import json
import sys

import click

from .. import output, query
from ..clock import utc_now
from ..settings import FetchSettings, TrackedMetric
from ..sparkline import sparkline
from ._ops import check, health, init, outbox, prune
from ._run import backfill, run
from ._shared import (
    EXIT_FAILED,
    complete_metrics,
    config_option,
    epilog,
    fail,
    format_option,
    handles_errors,
    load,
    load_storage,
    parse_date,
    window_options,
)
from ._store import store


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "GBA_MONITOR"},
    epilog=epilog("gba-monitor --log-format json run --metrics-port 9464"),
)
@click.version_option(package_name="gba-monitor", prog_name="gba-monitor")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="info",
    show_default=True,
    envvar="GBA_MONITOR_LOG_LEVEL",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    envvar="GBA_MONITOR_LOG_FORMAT",
    help="text: one line of key=value per event; json: one object per line, the fields as keys.",
)
def main(log_level: str, log_format: str) -> None:
    """Watch Greater Bay Area and Qianhai news, extract key figures, and tell Slack what changed."""
    from ..logs import setup_logging

    setup_logging(log_level, log_format)


for command in (run, backfill, check, health, init, prune, outbox, store):
    main.add_command(command)


@main.command(
    epilog=epilog(
        "gba-monitor extract https://example.com/news/qianhai.html --format table",
        "the page could not be read",
    )
)
@click.argument("target", metavar="PATH_OR_URL")
@config_option
@click.option("--selector", help="CSS selector of the article body (default: found automatically).")
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True)
@handles_errors
def extract(target: str, config_file: str | None, selector: str | None, fmt: str) -> None:
    """Print the figures of one article page."""
    metrics, fetch = _optional_reading(config_file)
    rows = query.extract(target, selector=selector, metrics=metrics, fetch=fetch)
    if fmt == "table":
        rows = [{**row, "value": output.format_value(row["value"])} for row in rows]
    output.write_rows(rows, query.FIGURE_COLUMNS, fmt, sys.stdout, empty="no figures found")


@main.command(
    epilog=epilog(
        "gba-monitor preview tests/data/site/qianhai-november.html --previous 10577 --format text",
        "the page could not be read",
    )
)
@click.argument("target", metavar="PAGE_OR_URL")
@config_option
@click.option("--previous", type=float, help="Show the page's first tracked figure as moved from this value.")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json", show_default=True)
@handles_errors
def preview(target: str, config_file: str | None, previous: float | None, fmt: str) -> None:
    """Print the Slack message the bot would post for one article page: Block Kit JSON (paste it into
    Slack's Block Kit Builder) or, with --format text, the notification's fallback line."""
    metrics, fetch = _optional_reading(config_file)
    alert = query.preview(target, previous=previous, metrics=metrics, fetch=fetch)
    if fmt == "text":
        click.echo(alert.text)
    else:
        click.echo(
            json.dumps({"text": alert.text, "blocks": list(alert.blocks)}, ensure_ascii=False, indent=2)
        )


@main.command(
    epilog=epilog("gba-monitor history --metric qianhai.hk-funded-enterprises --since 30d", "never")
)
@config_option
@click.option("--metric", help="Only this metric key.", shell_complete=complete_metrics)
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
    storage = load_storage(config_file)
    since_at, until_at = parse_date(since, "--since"), parse_date(until, "--until")
    rows = query.history(storage, metric=metric, since=since_at, until=until_at, feed=feed, limit=limit)
    output.write_rows(rows, query.HISTORY_COLUMNS, fmt, sys.stdout, empty="no figures stored yet")


@main.command(
    epilog=epilog("gba-monitor metrics qianhai.hk-funded-enterprises", "KEY is not a stored metric")
)
@click.argument("key", required=False, shell_complete=complete_metrics)
@config_option
@format_option
@handles_errors
def metrics(key: str | None, config_file: str | None, fmt: str) -> None:
    """Every tracked metric with its latest value, change and trend; with KEY, that metric's full series."""
    storage = load_storage(config_file)
    if key is None:
        rows = query.metrics(storage)
        output.write_rows(rows, query.METRIC_COLUMNS, fmt, sys.stdout, empty="no metrics stored yet")
        return
    rows = query.history(storage, metric=key)
    if not rows:
        fail(f"no stored figures for metric {key!r} (see `gba-monitor metrics` for the keys)", EXIT_FAILED)
    if fmt == "table":
        values = [row["value"] for row in reversed(rows)]
        click.echo(f"{rows[0]['label']} ({key}): {len(rows)} observations  {sparkline(values)}")
    columns = ("published", "value", "unit", "qualifier", "feed", "article_title", "article_url")
    output.write_rows(rows, columns, fmt, sys.stdout)


@main.command(epilog=epilog("gba-monitor articles --since 7d --format csv", "never"))
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
    storage = load_storage(config_file)
    since_at, until_at = parse_date(since, "--since"), parse_date(until, "--until")
    rows = query.articles(storage, since=since_at, until=until_at, feed=feed, limit=limit)
    output.write_rows(rows, query.ARTICLE_COLUMNS, fmt, sys.stdout, empty="no stories stored yet")


@main.command(
    epilog=epilog("gba-monitor status --format json", "a feed has failed for longer than health.max_failing")
)
@config_option
@format_option
@handles_errors
def status(config_file: str | None, fmt: str) -> None:
    """Each feed's polls and failures, and the undelivered alerts (the full report; `health` is the quick
    check a container runs)."""
    settings = load(config_file)
    health = query.status(settings, now=utc_now())
    output.write_rows(health.feeds, query.STATUS_COLUMNS, fmt, sys.stdout)
    if fmt == "table":
        click.echo(f"outbox: {len(health.outbox)} undelivered alerts")
        for alert in health.outbox[:10]:
            click.echo(
                f"  {alert['key']} → {alert['channel'] or '-'} ({alert['attempts']} attempts) "
                f"{alert['last_error'] or ''}"
            )
    if health.unhealthy:
        fail(
            f"failing for longer than {settings.health.max_failing_s}s: {', '.join(health.unhealthy)}",
            EXIT_FAILED,
        )


def _optional_reading(config_file: str | None) -> tuple[tuple[TrackedMetric, ...], FetchSettings | None]:
    """The tracked metrics and fetch settings when a config is given or present (extract and preview also
    work without one); the rest of the config is not checked."""
    from ..config import config_path, load_reading

    if config_file is None and not config_path(None).exists():
        return (), None
    return load_reading(config_path(config_file))
