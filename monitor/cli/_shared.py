"""What every command shares: the exit codes, the common options, error handling and loading the config."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, NoReturn

import click
from click.shell_completion import CompletionItem

from .. import output, query
from ..clock import utc_now
from ..errors import ArticleError, ConfigError, FeedError, FetchError, MonitorError, StoreError
from ..redaction import redact
from ..settings import FeedSettings, Settings, StorageSettings

EXIT_FAILED, EXIT_CONFIG, EXIT_STORE = 1, 2, 3
EXIT_CODES = (
    "\b\nExit codes:\n  0  done\n  1  {failed}\n  2  the config or the command line is wrong\n"
    "  3  the store is broken, newer than this version, or owned by another scheduler"
)
ENV = "GBA_MONITOR_"  # every option can also come from GBA_MONITOR_<OPTION> (see README, Deployment)


def epilog(example: str, failed: str = "a feed, page or alert failed") -> str:
    """A command's --help tail: one example and the exit codes (``failed``: what exit 1 means for it)."""
    return f"\b\nExample:\n  {example}\n\n{EXIT_CODES.format(failed=failed)}"


def _settings_for_completion(ctx: click.Context) -> Settings | None:
    """The settings completion works from: --config if typed, else the default; None when unreadable."""
    try:
        return load(ctx.params.get("config_file"))
    except (MonitorError, OSError):
        return None


def complete_feeds(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Feed names from the config, for shell completion of --feed."""
    settings = _settings_for_completion(ctx)
    names = [feed.name for feed in settings.feeds] if settings else []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def complete_metrics(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Metric keys from the config and the store, for shell completion of metrics KEY and --metric."""
    settings = _settings_for_completion(ctx)
    if settings is None:
        return []
    keys = {metric.key for metric in settings.metrics}
    keys |= {row["key"] for row in query.metrics(settings.storage, trend_points=0)}
    return [CompletionItem(key) for key in sorted(keys) if key.startswith(incomplete)]


config_option = click.option(
    "--config",
    "config_file",
    metavar="PATH",
    envvar=f"{ENV}CONFIG",
    is_eager=True,  # read first, so completion of --feed can use it
    help="Config file (default: $GBA_MONITOR_CONFIG, else ./feeds.yaml).",
)

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(output.FORMATS),
    default="table",
    show_default=True,
    envvar=f"{ENV}FORMAT",
    help="table for people; json, jsonl or csv for scripts (clean when piped).",
)


def window_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--since, --until, --feed and --limit, as every stored listing takes them."""
    options = (
        click.option("--since", help="From this date: 2025-01-31, an ISO timestamp, or 7d / 12h ago."),
        click.option("--until", help="Up to this date (same forms as --since)."),
        click.option("--feed", help="Only rows from this feed.", shell_complete=complete_feeds),
        click.option("--limit", type=click.IntRange(min=1), help="At most this many rows."),
    )
    for option in reversed(options):
        command = option(command)
    return command


def fail(message: str, code: int) -> NoReturn:
    """One line on stderr, then exit with ``code``."""
    click.echo(f"gba-monitor: {redact(message)}", err=True)
    sys.exit(code)


def handles_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can act on into one line on stderr and an exit code; tracebacks are for bugs."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            fail(str(exc), EXIT_CONFIG)
        except StoreError as exc:
            fail(str(exc), EXIT_STORE)
        except (FetchError, FeedError, ArticleError) as exc:
            fail(str(exc), EXIT_FAILED)
        except MonitorError as exc:
            fail(str(exc), EXIT_FAILED)

    return wrapper


def load(config_file: str | None) -> Settings:
    """The validated settings for --config (or its defaults)."""
    # Imported on use: pydantic and ruamel.yaml cost ~110 ms that `--help` need not pay.
    from .. import config

    return config.load_settings(config.config_path(config_file))


def load_storage(config_file: str | None) -> StorageSettings:
    """Only the store's settings for --config, for commands that read the store and nothing else: the rest of
    the file is not validated (pydantic, a fifth of a second, is not even loaded)."""
    from .. import config

    return config.load_storage(config.config_path(config_file))


def parse_date(text: str | None, param: str) -> datetime | None:
    """A --since / --until / --before value as an aware datetime; a bad one is a usage error (exit 2)."""
    if text is None:
        return None
    try:
        return query.parse_when(text, now=utc_now())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=param) from None


def pick_feeds(settings: Settings, names: tuple[str, ...]) -> list[FeedSettings]:
    """The feeds named (all enabled ones when none is); an unknown name is a usage error (exit 2)."""
    by_name = {feed.name: feed for feed in settings.feeds}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise click.BadParameter(
            f"no feed named {', '.join(unknown)} in {settings.source}", param_hint="--feed"
        )
    return [by_name[name] for name in names] or [feed for feed in settings.feeds if feed.enabled]
