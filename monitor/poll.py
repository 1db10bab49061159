"""One poll, told top to bottom: feed → entries → articles → figures → store → changes → Slack.

``poll_feed`` runs the steps for one feed; ``run_once`` polls every enabled feed (a failing feed is a
recorded outcome, never a crash). A poll queues its alerts in the store; posting them is ``outbox``'s job,
which the shells (scheduler, CLI) call after polling.

Which entries are stories already stored, and which stored story a new page repeats, is ``identity``'s job.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from . import charsets
from .changes import detect_changes, health_change, with_moves, worth_posting
from .clock import utc_now
from .errors import ArticleError, FeedError, FetchError
from .feeds import canonical_url, parse_entries, screen_entry, unique_guids
from .fetch import Fetcher, RateLimited, fetch_named_page
from .figures import EXTRACTOR_VERSION
from .identity import Found, identify, thread_replies, worth_reading
from .reading import Reading, ReadPool
from .records import (
    Alert,
    Change,
    Entry,
    FeedState,
    Fetched,
    FigureChanged,
    PollRecord,
    Story,
    key_figures,
)
from .redaction import redact
from .rules import routed_alerts, screen_story
from .settings import FeedSettings, Settings
from .slack import render_alert
from .store import MonitorStore, open_store
from .telemetry import emit

log = logging.getLogger("monitor.poll")

MAX_BACKOFF_S = 6 * 3600


# claimed: another worker sharing the store polls the feed (see ``poll_due``)
PollStatus = Literal["ok", "not_modified", "error", "stopped", "backing_off", "claimed"]


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll of one feed did, for logs, the CLI and tests."""

    feed: str
    status: PollStatus
    entries: int = 0
    new: int = 0
    figures: int = 0
    alerts: int = 0
    error: str | None = None
    ms: int = 0
    next_retry: datetime | None = None  # backing_off: when the feed is due again


@dataclass
class Deps:
    """The long-lived parts one poll needs; built once per process by ``open_deps``."""

    settings: Settings
    store: MonitorStore
    fetcher: Fetcher
    pages: ThreadPoolExecutor
    now: Callable[[], datetime] = utc_now
    reader: ReadPool = field(default_factory=lambda: ReadPool(0))  # pages → articles and figures
    stop: threading.Event = field(default_factory=threading.Event)
    # Telling a story's identity and staging it in the store is one step per feed at a time: two feeds
    # polled together may carry the same new story, and the second must find the first one's. Writing the
    # staged stories to disk happens outside it (Store.wait_saved), shared by the feeds that finish meanwhile.
    recording: threading.Lock = field(default_factory=threading.Lock)
    # Pages read and dropped by a feed's body or language filter: not fetched again while the process runs.
    screened_out: set[str] = field(default_factory=set)

    def close(self) -> None:
        """Release the thread pool, the reader processes, the HTTP client and the store."""
        self.pages.shutdown(wait=True, cancel_futures=True)
        self.reader.close()
        self.fetcher.close()
        self.store.close()


def open_deps(settings: Settings, *, now: Callable[[], datetime] = utc_now) -> Deps:
    """Open the store (taking the scheduler lock: one poller per store) and the HTTP client."""
    store = open_store(settings.storage, now=now)
    try:
        store.lock_scheduler()
    except BaseException:
        store.close()
        raise
    # Each feed polled at once fetches its pages max_per_host at a time (see _read_stories).
    pages = settings.fetch.max_concurrency * settings.fetch.max_per_host
    pool = ThreadPoolExecutor(pages, thread_name_prefix="page")
    fetcher = Fetcher(settings.fetch)
    reader = ReadPool(settings.fetch.read_processes)
    return Deps(settings=settings, store=store, fetcher=fetcher, pages=pool, now=now, reader=reader)


def poll_feed(feed: FeedSettings, deps: Deps, *, post: bool = True) -> PollResult:
    """Poll one feed: fetch, keep relevant entries, read the new and updated ones, tell each story's identity,
    store, and queue the alerts. With ``post=False`` (backfill) the stories only become history."""
    started = time.monotonic()
    state = deps.store.feed_state(feed.name)
    try:
        fetched = deps.fetcher.fetch_feed(feed, etag=state.etag, last_modified=state.last_modified)
        if fetched.not_modified:
            return _logged(PollResult(feed.name, "not_modified", ms=_ms(started)))
        entries = unique_guids(parse_entries(fetched, feed=feed.name, encoding=feed.encoding), feed=feed.name)
    except (FetchError, FeedError) as exc:
        retry_after = exc.retry_after_s if isinstance(exc, RateLimited) else None
        error = redact(str(exc))  # stored, shown by status and posted to ops: never the URL's credentials
        failed = _failed(state, feed, error, deps.now(), retry_after_s=retry_after)
        _queued(deps.store.save_poll(PollRecord(failed, alerts=tuple(_health_alerts(state, failed, deps)))))
        return _logged(PollResult(feed.name, "error", error=error, ms=_ms(started)))

    # A feed with no keywords is relevant as a whole; the body and the language are screened once read.
    screened = [(entry, screen_entry(entry, feed)) for entry in entries if entry.link]
    relevant = [(entry, kws) for entry, kws in screened if kws is not None]
    wanted = [(entry, kws) for entry, kws in relevant if _worth_reading(entry, deps)]
    deadline = started + min(feed.interval_s * 0.8, 600)
    read, complete = _read_stories(wanted, feed, deps, deadline)
    if deps.stop.is_set():
        return _logged(PollResult(feed.name, "stopped", entries=len(entries), ms=_ms(started)))

    with deps.recording, deps.store.recording():  # the store's: workers sharing it take turns too
        found = identify([entry for entry, _ in relevant], read, feed, deps.store)
        seeding = not state.seeded and feed.on_first_run == "seed"
        changes = _changes(found, feed, deps, seeding=seeding) if post else []
        new_state = _succeeded(state, fetched, complete, deps.now())
        render = functools.partial(_render, feed=feed, deps=deps)
        alerts = [a for c in changes for a in routed_alerts(c, render, deps.settings.routes, feed.channel)]
        alerts += thread_replies(found, deps.store) + _health_alerts(state, new_state, deps)
        record = PollRecord(new_state, found.stored, tuple(alerts), found.sightings, tuple(found.refreshed))
        staged = deps.store.stage_poll(record)  # the next feed's identity checks see these stories at once
    queued = _queued(deps.store.wait_saved(staged))  # on disk, in a write shared with the feeds staged then
    return _logged(
        PollResult(
            feed.name,
            "ok",
            entries=len(entries),
            new=len(found.new),
            figures=sum(len(s.figures) for s in found.stored),
            alerts=len(queued),
            ms=_ms(started),
        )
    )


def _changes(found: Found, feed: FeedSettings, deps: Deps, *, seeding: bool) -> list[Change]:
    """New stories, moved and conflicting figures, and revisions (a first poll that seeds: one summary)."""
    revised = {change.story.url for change in found.revised}
    stories = [story for story in found.stored if story.url not in revised]
    # A seeding poll only counts its stories: the stored history would be looked up for nothing.
    metrics = set() if seeding else {f.metric for story in stories for f in key_figures(story.figures)}
    latest = deps.store.latest(metrics)
    changes = detect_changes(
        stories,
        latest,
        seeding=seeding,
        feed=feed.name,
        channel=feed.channel,
        recent=deps.store.recent(metrics),
        echoes={story.url for story in found.echoes},
    )
    if seeding:
        return changes
    thresholds, floor = deps.settings.thresholds, deps.settings.alerts.min_change
    kept = [c for c in changes if not isinstance(c, FigureChanged) or worth_posting(c, thresholds, floor)]
    return [*with_moves(kept, latest), *found.revised]


def _succeeded(state: FeedState, fetched: Fetched, complete: bool, now: datetime) -> FeedState:
    """The state after a poll that read the feed: no failures, and the feed's new validators."""
    # Keep the old validators while some page is still unread, so the next poll sees those entries again
    # instead of a 304 that would lose them.
    validators = (fetched.etag, fetched.last_modified) if complete else (state.etag, state.last_modified)
    return replace(
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


def poll_due(feed: FeedSettings, deps: Deps, *, force: bool = False, scheduled: bool = False) -> PollResult:
    """``poll_feed``, unless the feed backs off or another worker has it: every poll of the scheduler,
    ``run --once`` and ``run_once`` goes through here.

    A feed backing off after failures (its ``next_retry``, never earlier than the server's own Retry-After, is
    still ahead) gets no request and a "backing_off" result; ``force`` polls it anyway. Then the feed is
    claimed in the store: one another worker sharing it holds, or (``scheduled``) polled less than an interval
    ago, gets a "claimed" result (only a shared PostgreSQL store has other workers)."""
    state = deps.store.feed_state(feed.name)
    if not force and state.next_retry is not None and state.next_retry > deps.now():
        log.info("poll feed=%s status=backing_off next_retry=%s", feed.name, state.next_retry.isoformat())
        emit("poll", feed=feed.name, status="backing_off", seconds=0.0, stories=0, figures=0)
        return PollResult(feed.name, "backing_off", error=state.last_error, next_retry=state.next_retry)
    with deps.store.claim_feed(feed.name, feed.interval_s, due_only=scheduled) as mine:
        if mine:
            return poll_feed(feed, deps)
    log.debug("poll feed=%s status=claimed (another worker sharing the store has it)", feed.name)
    return PollResult(feed.name, "claimed")


def run_once(
    deps: Deps,
    *,
    feeds: Sequence[FeedSettings] | None = None,
    on_result: Callable[[PollResult], None] | None = None,
    force: bool = False,
) -> list[PollResult]:
    """Poll every enabled feed that is due (not backing off, unless ``force``; not held by another worker)
    concurrently; one PollResult per feed. Never raises for a feed.

    ``on_result`` hears of each feed as it finishes (a progress bar).
    """
    feeds = [f for f in (feeds if feeds is not None else deps.settings.feeds) if f.enabled]
    # Twice max_concurrency: a feed spends part of its poll off the network (parsing, waiting for its pages
    # to be read, saving), and meanwhile another can use the requests; the fetcher caps those in any case.
    workers = max(1, min(2 * deps.settings.fetch.max_concurrency, len(feeds)))

    def poll(feed: FeedSettings) -> PollResult:
        result = poll_due(feed, deps, force=force)
        if on_result is not None:
            on_result(result)
        return result

    with ThreadPoolExecutor(workers, thread_name_prefix="feed") as pool:
        return list(pool.map(poll, feeds))


def backfill_pages(
    targets: Sequence[str],
    deps: Deps,
    *,
    feed: str = "backfill",
    on_target: Callable[[], None] = lambda: None,
) -> tuple[int, list[str]]:
    """Learn history from article pages (URLs or local files) without posting: (stories stored, one line per
    page that could not be read). A bad page is reported and the others are kept."""
    source = FeedSettings(name=feed, url="", interval_s=3600, outlet=feed)
    stories, failures = [], []
    for target in targets:
        url = target if "://" in target else Path(target).resolve().as_uri()
        try:
            if not deps.store.is_known(guid=None, url=canonical_url(url)):
                stories.append(_page_story(target, url, source, deps))
        except (FetchError, FeedError, ArticleError) as exc:
            log.warning("backfill url=%s error=%s", target, exc)
            failures.append(f"{target}: {exc}")
        on_target()
    if targets:
        deps.store.save_poll(PollRecord(deps.store.feed_state(feed), tuple(stories)))
    return len(stories), failures


def _page_story(target: str, url: str, source: FeedSettings, deps: Deps) -> Story:
    page = fetch_named_page(target, deps.settings.fetch, deps.fetcher)
    reading = deps.reader.read(page, metrics=deps.settings.metrics)
    article = reading.article
    entry = Entry(feed=source.name, title=article.title, link=url, published=article.published)
    return _story(entry, (), source, reading, deps)


def _read_stories(
    wanted: Sequence[tuple[Entry, tuple[str, ...]]], feed: FeedSettings, deps: Deps, deadline: float
) -> tuple[dict[Entry, Story], bool]:
    """Fetch and read each wanted entry's article: the stories by entry, and False in second place
    when some page must be tried again.

    Pages are fetched ``max_per_host`` at a time (they share the feed's host: more workers would only wait
    for its slots while other feeds' pages wait for a worker) and read on the reader's processes meanwhile.
    """
    todo = deque(wanted)
    readings: list[tuple[Entry, tuple[str, ...], Future[Reading]]] = []

    def lane() -> None:
        while True:
            try:
                entry, keywords = todo.popleft()
            except IndexError:  # another lane took the last one
                return
            if (page := _fetch_page(entry, feed, deps, deadline)) is not None:
                reading = deps.reader.submit(page, selector=feed.selector, metrics=deps.settings.metrics)
                readings.append((entry, keywords, reading))

    lanes = [deps.pages.submit(lane) for _ in range(min(len(wanted), deps.settings.fetch.max_per_host))]
    for done in lanes:
        done.result()
    stories: dict[Entry, Story] = {}
    failed = 0
    for entry, keywords, reading in readings:
        try:
            # Reading counts against the poll's deadline too; a page past it is read again next poll.
            read = reading.result(timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            log.warning("article feed=%s url=%s error=article: too slow (past the poll's deadline)",
                        feed.name, entry.link)  # fmt: skip
            failed += 1
            continue
        except ArticleError as exc:
            log.warning("article feed=%s url=%s error=%s", feed.name, entry.link, exc)
            failed += 1
            continue
        story = screen_story(_story(entry, keywords, feed, read, deps), read.article, feed)
        if story is None:
            deps.screened_out.add(canonical_url(entry.link or ""))
        else:
            stories[entry] = story
    return stories, len(readings) - failed == len(wanted)


def _worth_reading(entry: Entry, deps: Deps) -> bool:
    assert entry.link is not None
    return canonical_url(entry.link) not in deps.screened_out and worth_reading(entry, deps.store)


def _fetch_page(entry: Entry, feed: FeedSettings, deps: Deps, deadline: float) -> Fetched | None:
    if deps.stop.is_set() or time.monotonic() > deadline:
        return None
    assert entry.link is not None
    try:
        page = deps.fetcher.fetch_page(entry.link, feed=feed)
    except FetchError as exc:
        log.warning("article feed=%s url=%s error=%s", feed.name, entry.link, exc)
        return None
    if feed.encoding:  # the feed's `encoding:` beats any declared charset; UTF-8 bytes are read as such
        page = replace(page, body=charsets.decode(page.body, override=feed.encoding).encode("utf-8"))
    return page


def _story(
    entry: Entry, keywords: tuple[str, ...], feed: FeedSettings, reading: Reading, deps: Deps
) -> Story:
    """The story an entry and its article make, with the article's figures."""
    assert entry.link is not None
    article = reading.article
    signature = reading.signature
    return Story(
        feed=feed.name,
        outlet=feed.outlet or feed.name,
        entry=entry
        if entry.published or not article.published
        else replace(entry, published=article.published),
        url=canonical_url(entry.link),
        title=entry.title or article.title,
        keywords=keywords,
        figures=reading.figures,
        fetched_at=deps.now(),
        content_hash=article.content_hash,
        channel=feed.channel,
        text_chars=len(article.text),
        extractor=EXTRACTOR_VERSION,
        lang=article.lang,
        minhash=signature.minhash,
        numbers=signature.numbers,
    )


def _render(change: Change, *, feed: FeedSettings, deps: Deps) -> Alert:
    history: list[float] = []
    if isinstance(change, FigureChanged):
        history = [*deps.store.series(change.new.metric), change.new.value]
    return render_alert(change, channel=feed.channel, history=history, feed=feed.name)


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


def _queued(alerts: list[Alert]) -> list[Alert]:
    if alerts:
        emit("queued", kinds=[alert.kind for alert in alerts])
    return alerts


def _logged(result: PollResult) -> PollResult:
    emit(
        "poll",
        feed=result.feed,
        status=result.status,
        seconds=result.ms / 1000,
        stories=result.new,
        figures=result.figures,
    )
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
