"""What the CLI asks of the store and of one page: history rows, and the figures of an article (read-only)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .records import FeedState, Figure, Observation
from .settings import FeedSettings, FetchSettings, Settings, StorageSettings, TrackedMetric
from .sparkline import sparkline
from .store import has_store, open_store

HISTORY_COLUMNS = (
    "published",
    "metric",
    "value",
    "unit",
    "qualifier",
    "subject",
    "place",
    "feed",
    "article_title",
)
HISTORY_FIELDS = (
    "metric", "label", "value", "unit", "qualifier", "subject", "place", "period", "text", "sentence",
    "article_title", "article_url", "feed", "outlet", "published", "observed_at", "extractor",
)  # fmt: skip
FIGURE_COLUMNS = ("value", "unit", "qualifier", "subject", "place", "text")

_RELATIVE = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_when(text: str, *, now: datetime) -> datetime:
    """An ISO date or timestamp ("2025-01-31", "2025-01-31T08:00+08:00") or a relative one ("7d", "12h")."""
    text = text.strip()
    if match := _RELATIVE.fullmatch(text):
        return now - timedelta(seconds=int(match[1]) * _UNIT_S[match[2]])
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f'"{text}" is not a date (use 2025-01-31, a full ISO timestamp, or 7d / 12h)'
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def history(
    storage: StorageSettings,
    *,
    metric: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    feed: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Stored figures as rows, newest first; no rows when nothing has been stored yet."""
    if not has_store(storage):
        return []
    with open_store(storage, max_connections=1) as store:
        found = store.history(metric=metric, since=since, until=until, feed=feed, limit=limit)
    return [observation_row(o) for o in found]


def observation_row(observation: Observation) -> dict[str, Any]:
    """One stored figure as a flat row with the contract's field names."""
    row = asdict(observation)
    return {name: row[name] for name in HISTORY_FIELDS}


def extract(
    target: str,
    *,
    selector: str | None = None,
    metrics: tuple[TrackedMetric, ...] = (),
    fetch: FetchSettings | None = None,
) -> list[dict[str, Any]]:
    """The figures of one article page, given as a URL or a local file path."""
    # Imported here: bs4, lxml and httpx cost ~150 ms, which every other query would pay at start-up.
    from .articles import read_article
    from .fetch import Fetcher
    from .figures import extract_figures

    source = FeedSettings(
        name="extract", url=target if "://" in target else str(Path(target).resolve()), interval_s=60
    )
    with Fetcher(fetch or FetchSettings()) as fetcher:
        page = fetcher.fetch_feed(source)
    figures = extract_figures(read_article(page, selector=selector), metrics=metrics)
    return [figure_row(f) for f in figures]


def figure_row(figure: Figure) -> dict[str, Any]:
    """One extracted figure as a flat row."""
    return asdict(figure)


METRIC_COLUMNS = ("key", "label", "latest", "latest_published", "previous", "change", "observations", "trend")
ARTICLE_COLUMNS = ("published", "outlet", "feed", "figures", "title")
STATUS_COLUMNS = (
    "feed", "enabled", "interval", "last_poll", "last_success", "failures", "last_error", "next_retry",
    "stories", "figures", "worker",
)  # fmt: skip


def metrics(storage: StorageSettings, *, trend_points: int = 20) -> list[dict[str, Any]]:
    """Every stored metric: latest and previous value, the change, how often seen, and a sparkline."""
    if not has_store(storage):
        return []
    with open_store(storage, max_connections=1) as store:
        rows = []
        for summary in store.metrics():
            change = None
            if summary.previous_value is not None:
                change = summary.latest_value - summary.previous_value
            rows.append(
                {
                    **asdict(summary),
                    "latest": summary.latest_value,
                    "previous": summary.previous_value,
                    "change": change,
                    "trend": sparkline(store.series(summary.key, limit=trend_points)),
                }
            )
        return rows


def articles(
    storage: StorageSettings,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    feed: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Stored stories, newest first."""
    if not has_store(storage):
        return []
    with open_store(storage, max_connections=1) as store:
        return [asdict(a) for a in store.articles(since=since, until=until, feed=feed, limit=limit)]


@dataclass(frozen=True, slots=True)
class Health:
    """Each configured feed's status row, the undelivered alerts, and the feeds failing for too long."""

    feeds: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    unhealthy: list[str]


def status(settings: Settings, *, now: datetime) -> Health:
    """Per feed: polls, failures and what is stored; the outbox; which feeds failed longer than allowed."""
    storage = settings.storage
    if not has_store(storage):
        states, totals, pending, workers = {}, {}, [], {}
    else:
        with open_store(storage, max_connections=1) as store:
            states = {s.name: s for s in store.feed_states()}
            workers = store.feed_workers()
            totals = store.feed_totals()
            pending = store.pending_alerts()
    limit = timedelta(seconds=settings.health.max_failing_s)
    rows, unhealthy = [], []
    for feed in settings.feeds:
        state = states.get(feed.name) or FeedState(feed.name)
        stories, figures = totals.get(feed.name, (0, 0))
        rows.append(
            {
                "feed": feed.name,
                "enabled": feed.enabled,
                "interval": feed.interval_s,
                "last_poll": state.last_poll,
                "last_success": state.last_success,
                "failures": state.failures,
                "failing_since": state.failing_since,
                "last_error": state.last_error,
                "next_retry": state.next_retry,
                "stories": stories,
                "figures": figures,
                "worker": workers.get(feed.name),  # several workers sharing a database: who polled it last
            }
        )
        if feed.enabled and state.failing_since is not None and now - state.failing_since > limit:
            unhealthy.append(feed.name)
    outbox = [
        {
            "key": a.key,
            "channel": a.channel,
            "created_at": a.created_at,
            "attempts": a.attempts,
            "last_error": a.last_error,
        }
        for a in pending
    ]
    return Health(rows, outbox, unhealthy)
