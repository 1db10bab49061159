"""One poll, told top to bottom: feed → entries → articles → figures → store → changes → Slack.

``poll_feed`` runs the steps for one feed; ``run_once`` polls every enabled feed (a failing feed is a recorded
outcome, never a crash) and then delivers what waits in the outbox. The scheduler and the CLI are thin shells
over these two functions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from .articles import read_article
from .changes import detect_changes, health_change
from .errors import ArticleError, FeedError, FetchError
from .feeds import canonical_url, matched_keywords, parse_entries
from .fetch import Fetcher, RateLimited
from .figures import extract_figures
from .records import (
    Alert,
    Article,
    Change,
    Delivery,
    Entry,
    FeedSettings,
    FeedState,
    FigureChanged,
    PollRecord,
    Settings,
    Story,
)
from .slack import deliver, make_sender, render_alert
from .store import Store

log = logging.getLogger("monitor.poll")

MAX_BACKOFF_S = 6 * 3600


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll of one feed did, for logs, the CLI and tests."""

    feed: str
    status: str  # ok | not_modified | error | stopped
    entries: int = 0
    new: int = 0
    figures: int = 0
    alerts: int = 0
    error: str | None = None
    ms: int = 0


@dataclass
class Deps:
    """The long-lived parts one poll needs; built once per process by ``open_deps``."""

    settings: Settings
    store: Store
    fetcher: Fetcher
    pages: ThreadPoolExecutor
    now: Callable[[], datetime] = utc_now
    stop: threading.Event = field(default_factory=threading.Event)
    delivering: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        """Release the thread pool, the HTTP client and the store."""
        self.pages.shutdown(wait=True, cancel_futures=True)
        self.fetcher.close()
        self.store.close()


def open_deps(settings: Settings, *, now: Callable[[], datetime] = utc_now) -> Deps:
    """Open the store (taking the scheduler lock: one poller per store) and the HTTP client."""
    store = Store(settings.storage.path, now=now, retention_days=settings.storage.retention_days)
    try:
        store.lock_scheduler()
    except BaseException:
        store.close()
        raise
    pool = ThreadPoolExecutor(settings.fetch.max_concurrency, thread_name_prefix="page")
    return Deps(settings=settings, store=store, fetcher=Fetcher(settings.fetch), pages=pool, now=now)


def poll_feed(feed: FeedSettings, deps: Deps, *, post: bool = True) -> PollResult:
    """Poll one feed: fetch, keep relevant new entries, read their articles, store, and queue the alerts.

    With ``post=False`` (backfill) the stories only become history: no alert is queued.
    """
    started = time.monotonic()
    state = deps.store.feed_state(feed.name)
    try:
        fetched = deps.fetcher.fetch_feed(feed, etag=state.etag, last_modified=state.last_modified)
        if fetched.not_modified:
            return _logged(PollResult(feed.name, "not_modified", ms=_ms(started)))
        entries = parse_entries(fetched, feed=feed.name)
    except (FetchError, FeedError) as exc:
        retry_after = exc.retry_after_s if isinstance(exc, RateLimited) else None
        failed = _failed(state, feed, str(exc), deps.now(), retry_after_s=retry_after)
        deps.store.save_poll(PollRecord(failed, alerts=_health_alerts(state, failed, deps)))
        return _logged(PollResult(feed.name, "error", error=str(exc), ms=_ms(started)))

    # A feed with no keywords is relevant as a whole.
    matched = [(entry, matched_keywords(entry, feed.keywords)) for entry in entries]
    relevant = [(entry, kws) for entry, kws in matched if kws or not feed.keywords]
    fresh = [
        (entry, kws)
        for entry, kws in relevant
        if entry.link and not deps.store.is_known(guid=entry.guid, url=canonical_url(entry.link))
    ]
    deadline = started + min(feed.interval_s * 0.8, 600)
    stories, complete = _read_stories(fresh, feed, deps, deadline)
    # Oldest first, so that a metric's changes chain in the order the news was published.
    stories.sort(key=lambda story: story.published or story.fetched_at)
    if deps.stop.is_set():
        return _logged(PollResult(feed.name, "stopped", entries=len(entries), ms=_ms(started)))

    seeding = not state.seeded and deps.settings.slack.on_first_run == "seed"
    figures = {f.metric for story in stories for f in story.figures}
    changes = (
        detect_changes(
            stories, deps.store.latest(figures), seeding=seeding, feed=feed.name, channel=feed.channel
        )
        if post
        else []
    )
    now = deps.now()
    # Keep the old validators while some page is still unread, so the next poll sees those entries again
    # instead of a 304 that would lose them.
    validators = (fetched.etag, fetched.last_modified) if complete else (state.etag, state.last_modified)
    new_state = replace(
        state,
        etag=validators[0],
        last_modified=validators[1],
        last_poll=now,
        last_success=now,
        last_error=None,
        failures=0,
        failing_since=None,
        next_retry=None,
        seeded=True,
    )
    alerts = [_render(change, feed, deps) for change in changes] + _health_alerts(state, new_state, deps)
    queued = deps.store.save_poll(PollRecord(new_state, tuple(stories), tuple(alerts)))
    return _logged(
        PollResult(
            feed.name,
            "ok",
            entries=len(entries),
            new=len(stories),
            figures=sum(len(s.figures) for s in stories),
            alerts=len(queued),
            ms=_ms(started),
        )
    )


def run_once(
    deps: Deps,
    *,
    stream: TextIO,
    feeds: Sequence[FeedSettings] | None = None,
    on_result: Callable[[PollResult], None] | None = None,
) -> list[PollResult]:
    """Poll every enabled feed (due or not) concurrently, then deliver the outbox. Never raises for a feed.

    ``on_result`` hears of each feed as it finishes (a progress bar).
    """
    feeds = [f for f in (feeds if feeds is not None else deps.settings.feeds) if f.enabled]
    workers = max(1, min(deps.settings.fetch.max_concurrency, len(feeds)))

    def poll(feed: FeedSettings) -> PollResult:
        result = poll_feed(feed, deps)
        if on_result is not None:
            on_result(result)
        return result

    with ThreadPoolExecutor(workers, thread_name_prefix="feed") as pool:
        results = list(pool.map(poll, feeds))
    deliver_pending(deps, stream=stream)
    return results


def backfill_pages(targets: Sequence[str], deps: Deps, *, feed: str = "backfill") -> int:
    """Learn history from article pages (URLs or local files) without posting; returns the stories stored."""
    source = FeedSettings(name=feed, url="", interval_s=3600, outlet=feed)
    stories = []
    for target in targets:
        url = target if "://" in target else Path(target).resolve().as_uri()
        if deps.store.is_known(guid=None, url=canonical_url(url)):
            continue
        page = deps.fetcher.fetch_feed(
            replace(source, url=target if "://" in target else str(Path(target).resolve()))
        )
        article = read_article(page)
        entry = Entry(feed=feed, title=article.title, link=url, published=article.published)
        stories.append(_story(entry, (), source, article, deps))
    deps.store.save_poll(PollRecord(deps.store.feed_state(feed), tuple(stories)))
    return len(stories)


def deliver_pending(deps: Deps, *, stream: TextIO) -> list[Delivery]:
    """Post every undelivered alert in the outbox, oldest first, and record what happened to each."""
    with deps.delivering:  # two feed jobs finishing together must not post the same alert twice
        pending = deps.store.pending_alerts()
        if not pending:
            return []
        with make_sender(deps.settings.slack, stream=stream) as sender:
            threads = deps.store.thread_ts if deps.settings.slack.threads else None
            deliveries = deliver(pending, sender, thread_ts_for=threads)
        deps.store.record_deliveries(deliveries)
    failed = [d for d in deliveries if not d.ok]
    if failed:
        log.warning(
            "deliver sent=%d failed=%d error=%s", len(deliveries) - len(failed), len(failed), failed[0].error
        )
    else:
        log.info("deliver sent=%d", len(deliveries))
    return deliveries


def _read_stories(
    fresh: Sequence[tuple[Entry, tuple[str, ...]]], feed: FeedSettings, deps: Deps, deadline: float
) -> tuple[list[Story], bool]:
    """Fetch and read each new entry's article; False in second place when some page must be tried again."""
    futures = [deps.pages.submit(_read_story, entry, kws, feed, deps, deadline) for entry, kws in fresh]
    stories = [story for future in futures if (story := future.result()) is not None]
    return stories, len(stories) == len(fresh)


def _read_story(entry: Entry, keywords: tuple[str, ...], feed: FeedSettings, deps: Deps, deadline: float):
    if deps.stop.is_set() or time.monotonic() > deadline:
        return None
    assert entry.link is not None
    try:
        page = deps.fetcher.fetch_page(entry.link, feed=feed)
        article = read_article(page, selector=feed.selector)
    except (FetchError, ArticleError) as exc:
        log.warning("article feed=%s url=%s error=%s", feed.name, entry.link, exc)
        return None
    return _story(entry, keywords, feed, article, deps)


def _story(
    entry: Entry, keywords: tuple[str, ...], feed: FeedSettings, article: Article, deps: Deps
) -> Story:
    """The story an entry and its article make, with the article's figures."""
    assert entry.link is not None
    return Story(
        feed=feed.name,
        outlet=feed.outlet or feed.name,
        entry=entry
        if entry.published or not article.published
        else replace(entry, published=article.published),
        url=canonical_url(entry.link),
        title=entry.title or article.title,
        keywords=keywords,
        figures=tuple(extract_figures(article, metrics=deps.settings.metrics)),
        fetched_at=deps.now(),
        content_hash=article.content_hash,
        channel=feed.channel,
    )


def _render(change: Change, feed: FeedSettings, deps: Deps) -> Alert:
    history: list[float] = []
    if isinstance(change, FigureChanged):
        history = [*deps.store.series(change.new.metric), change.new.value]
    return render_alert(change, channel=feed.channel, history=history)


def _health_alerts(before: FeedState, after: FeedState, deps: Deps) -> list[Alert]:
    """The ops alert this poll's outcome calls for, if any (a streak reaching the threshold, or its end)."""
    slack = deps.settings.slack
    change = health_change(
        before,
        after,
        threshold=deps.settings.health.alert_after_failures,
        channel=slack.ops_channel or slack.channel,
    )
    return [render_alert(change, channel=change.channel)] if change else []


def _failed(
    state: FeedState, feed: FeedSettings, error: str, now: datetime, *, retry_after_s: float | None = None
) -> FeedState:
    """The state after a failed poll: one more failure in a row, and an exponential back-off (capped at 6 h),
    never shorter than the server's own Retry-After."""
    failures = state.failures + 1
    backoff = min(feed.interval_s * 2 ** (failures - 1), MAX_BACKOFF_S)
    if retry_after_s is not None:
        backoff = max(backoff, min(retry_after_s, MAX_BACKOFF_S))
    return replace(
        state,
        last_poll=now,
        last_error=error,
        failures=failures,
        failing_since=state.failing_since or now,
        next_retry=now + timedelta(seconds=backoff),
    )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _logged(result: PollResult) -> PollResult:
    level = logging.WARNING if result.status == "error" else logging.INFO
    log.log(
        level,
        "poll feed=%s status=%s entries=%d new=%d figures=%d alerts=%d ms=%d%s",
        result.feed,
        result.status,
        result.entries,
        result.new,
        result.figures,
        result.alerts,
        result.ms,
        f" error={result.error!r}" if result.error else "",
    )
    return result
