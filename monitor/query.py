"""What the CLI asks of the store and of one page (read-only): history rows, a page's figures and message.

A page's message is the one the bot would post for it (``preview``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .clock import utc_now
from .durations import format_duration, parse_duration
from .records import Alert, Entry, FeedState, Figure, FigureChanged, NewStory, Observation, Story, key_figures
from .redaction import redact
from .settings import FetchSettings, Settings, StorageSettings, TrackedMetric
from .sparkline import sparkline

if TYPE_CHECKING:
    from .store import MonitorStore

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


def parse_when(text: str, *, now: datetime) -> datetime:
    """An ISO date or timestamp ("2025-01-31", "2025-01-31T08:00+08:00") or a duration ago ("7d", "1h30m")."""
    text = text.strip()
    try:
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f'"{text}" is not a date (use 2025-01-31, a full ISO timestamp, or 7d / 12h / 1h30m ago)'
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
    if (store := _opened(storage)) is None:
        return []
    with store:
        found = store.history(metric=metric, since=since, until=until, feed=feed, limit=limit)
    return [observation_row(o) for o in found]


def _opened(storage: StorageSettings) -> MonitorStore | None:
    """The store, opened for one short command (PostgreSQL: one connection, no pool); None when nothing
    has been stored yet."""
    from .store import has_store, open_store  # the store's queries load it; extract and preview need none

    return open_store(storage, max_connections=1) if has_store(storage) else None


def observation_row(observation: Observation) -> dict[str, Any]:
    """One stored figure as a flat row with the contract's field names."""
    # Read field by field: asdict() deep-copies every value, 20 ms for a metric's 500 rows.
    return {name: getattr(observation, name) for name in HISTORY_FIELDS}


def extract(
    target: str,
    *,
    selector: str | None = None,
    metrics: tuple[TrackedMetric, ...] = (),
    fetch: FetchSettings | None = None,
) -> list[dict[str, Any]]:
    """The figures of one article page, given as a URL or a local file path."""
    # Imported here: bs4 and lxml cost ~100 ms, which every other query would pay at start-up (and httpx
    # loads only for a URL).
    from .articles import read_article
    from .fetch import fetch_named_page
    from .figures import extract_figures

    page = fetch_named_page(target, fetch or FetchSettings())
    figures = extract_figures(read_article(page, selector=selector), metrics=metrics)
    return [figure_row(f) for f in figures]


def preview(
    target: str,
    *,
    previous: float | None = None,
    metrics: tuple[TrackedMetric, ...] = (),
    fetch: FetchSettings | None = None,
    now: datetime | None = None,
) -> Alert:
    """The message the bot would post for one article page (a URL or a local file, fetched as a page) as
    a new story; with ``previous``, as if its first tracked figure (else its first) had moved from it."""
    from .articles import read_article
    from .fetch import fetch_named_page
    from .figures import extract_figures
    from .slack import render_alert  # imported here like the others: the other queries need none of them

    page = fetch_named_page(target, fetch or FetchSettings())
    url = page.url
    article = read_article(page)
    figures = tuple(extract_figures(article, metrics=metrics))
    entry = Entry(feed="preview", title=article.title, link=url, published=article.published)
    outlet = urlsplit(url).hostname or "preview"
    told = Story("preview", outlet, entry, url, article.title, (), figures, now or utc_now())
    return render_alert(_previewed(told, previous), channel=None)


def _previewed(story: Story, previous: float | None) -> NewStory:
    """The story as new, moving its first tracked (else first) key figure from ``previous``."""
    from .changes import same_value

    chosen = sorted(key_figures(story.figures), key=lambda f: not f.label)
    if previous is None or not chosen:
        return NewStory(story)
    new = Observation.of(story, chosen[0])
    old = replace(
        new, value=previous, text=f"{previous:,g}", article_url="", article_title="", outlet="--previous"
    )
    if same_value(old, new):
        return NewStory(story, same=(new.metric,))
    return NewStory(story, moves=(FigureChanged(new=new, old=old),))


def figure_row(figure: Figure) -> dict[str, Any]:
    """One extracted figure as a flat row."""
    return asdict(figure)


METRIC_COLUMNS = ("key", "label", "latest", "latest_published", "previous", "change", "observations", "trend")
ARTICLE_COLUMNS = ("published", "outlet", "feed", "lang", "figures", "title")
STATUS_COLUMNS = (
    "feed", "enabled", "interval", "last_poll", "last_success", "failures", "last_error", "next_retry",
    "stories", "figures", "worker",
)  # fmt: skip


def metrics(storage: StorageSettings, *, trend_points: int = 20) -> list[dict[str, Any]]:
    """Every stored metric: latest and previous value, the change, how often seen, and a sparkline."""
    if (store := _opened(storage)) is None:
        return []
    with store:
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
    if (store := _opened(storage)) is None:
        return []
    with store:
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
    if (store := _opened(storage)) is None:
        states, totals, pending, workers = {}, {}, [], {}
    else:
        with store:
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
                "last_error": redact(state.last_error or "") or None,  # a store older than redaction
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
            "last_error": redact(a.last_error or "") or None,
        }
        for a in pending
    ]
    return Health(rows, outbox, unhealthy)


OUTBOX_COLUMNS = ("id", "kind", "channel", "state", "attempts", "age", "reason")


def outbox(storage: StorageSettings, *, now: datetime) -> list[dict[str, Any]]:
    """Every undelivered alert, oldest first: its id (the key), state (waiting, failed, held by a permanent
    error, in doubt after a crash, or dropped), attempts, age and the last error."""
    if (store := _opened(storage)) is None:
        return []
    with store:
        alerts = store.unsent_alerts()
    return [
        {
            "id": alert.key,
            "kind": alert.kind,
            "channel": alert.channel,
            "state": _alert_state(alert),
            "attempts": alert.attempts,
            "created_at": alert.created_at,
            "age": format_duration(int((now - alert.created_at).total_seconds()))
            if alert.created_at
            else None,
            "reason": alert.last_error,
        }
        for alert in alerts
    ]


def _alert_state(alert: Alert) -> str:
    if alert.dropped_at is not None:
        return "dropped"
    if alert.in_doubt:
        return "in doubt"
    if alert.blocked is not None:
        return "held"
    return "failed" if alert.last_error else "waiting"


def alert_keys(ids: Sequence[str], known: Sequence[str]) -> list[str]:
    """The outbox keys ``ids`` name, each the whole key or a prefix of exactly one; ValueError otherwise."""
    keys = []
    for wanted in ids:
        found = [key for key in known if key == wanted] or [key for key in known if key.startswith(wanted)]
        if len(found) != 1:
            problem = "matches no undelivered alert" if not found else f"matches {len(found)} alerts"
            raise ValueError(f"{wanted!r} {problem} (see `gba-monitor outbox list`)")
        keys.append(found[0])
    return keys
