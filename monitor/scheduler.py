"""APScheduler 3.11 in the foreground: one interval job per enabled feed. The only apscheduler user.

Runs of one feed never overlap (``max_instances=1``); missed runs are coalesced into one with a grace time
of half the interval (APScheduler's default of 1 s silently drops a run that starts a little late); each poll
has a deadline shorter than its interval (see ``poll.poll_feed``). SIGINT and SIGTERM stop the scheduler:
the current polls stop between pages, and the store's atomic writes mean an abandoned poll leaves nothing
half-written.
"""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from .outbox import Outbox
from .poll import Deps, poll_if_due
from .settings import FeedSettings

log = logging.getLogger("monitor.scheduler")


def run_forever(deps: Deps, outbox: Outbox) -> None:
    """Poll each enabled feed at its interval, first at start, until SIGINT or SIGTERM; after each poll,
    deliver the outbox."""
    feeds = [feed for feed in deps.settings.feeds if feed.enabled]
    scheduler = BlockingScheduler(
        timezone=UTC,
        executors={
            "default": ThreadPoolExecutor(max(1, min(deps.settings.fetch.max_concurrency, len(feeds))))
        },
    )
    for feed in feeds:
        scheduler.add_job(
            _poll_job,
            "interval",
            seconds=feed.interval_s,
            # Jitter spreads feeds that share an interval, so they do not all hit the network at once.
            jitter=min(feed.interval_s // 10, 30) or None,
            next_run_time=datetime.now(UTC),
            id=feed.name,
            name=f"poll {feed.name}",
            args=(feed, deps, outbox),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(feed.interval_s // 2, 1),
        )

    def stop(signum: int, _frame: object) -> None:
        log.info("scheduler stopping signal=%s", signal.Signals(signum).name)
        deps.stop.set()
        scheduler.shutdown(wait=False)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    log.info("scheduler started feeds=%d", len(feeds))
    try:
        scheduler.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("scheduler stopped")


def _poll_job(feed: FeedSettings, deps: Deps, outbox: Outbox) -> None:
    """One scheduled poll: skipped while the feed backs off after failures."""
    if deps.stop.is_set():
        return
    state = deps.store.feed_state(feed.name)
    if state.next_retry and state.next_retry > deps.now():
        log.info("poll feed=%s status=backing_off next_retry=%s", feed.name, state.next_retry.isoformat())
        return
    if poll_if_due(feed, deps) is None:  # another worker sharing the store polled it, or is polling it
        return
    if not deps.stop.is_set():
        outbox.deliver()
