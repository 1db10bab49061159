"""APScheduler 3.11: one interval job per enabled feed, until SIGINT or SIGTERM. The only apscheduler user.

Runs of one feed never overlap (``max_instances=1``); missed runs are coalesced into one with a grace time
of half the interval (APScheduler's default of 1 s silently drops a run that starts a little late); each poll
has a deadline shorter than its interval (see ``poll.poll_feed``); a feed backing off after failures waits for
its retry time. After each poll the scheduler writes its heartbeat (``health``). SIGINT and SIGTERM stop it:
the current polls stop between pages, and the store's atomic writes mean an abandoned poll leaves nothing
half-written.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from .clock import utc_now
from .errors import StoreError
from .health import beat
from .outbox import Outbox
from .poll import Deps, poll_due
from .settings import FeedSettings

log = logging.getLogger("monitor.scheduler")


def run_forever(deps: Deps, outbox: Outbox, *, feeds: Sequence[FeedSettings] | None = None) -> None:
    """Poll each enabled feed (of ``feeds``, default all) at its interval, first at start, until SIGINT or
    SIGTERM; after each poll, deliver the outbox and write the heartbeat."""
    feeds = [feed for feed in (deps.settings.feeds if feeds is None else feeds) if feed.enabled]
    started_at = deps.now()
    beat(deps.store, deps.settings, started_at=started_at, now=started_at)
    scheduler = BackgroundScheduler(
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
            next_run_time=utc_now(),
            id=feed.name,
            name=f"poll {feed.name}",
            args=(feed, deps, outbox, started_at),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(feed.interval_s // 2, 1),
        )

    stopping = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        log.info("scheduler stopping signal=%s", signal.Signals(signum).name)
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    scheduler.start()
    log.info("scheduler started feeds=%d", len(feeds))
    try:
        # Python runs a signal handler in the main thread, and only once that thread wakes up. The kernel may
        # hand SIGTERM to a job's thread, and a main thread asleep until the next job (BlockingScheduler's
        # way) would hear of it only then, minutes later: so it wakes twice a second.
        while not stopping.wait(0.5):
            pass
    finally:
        deps.stop.set()
        scheduler.shutdown(wait=False)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("scheduler stopped")


def _poll_job(feed: FeedSettings, deps: Deps, outbox: Outbox, started_at: datetime) -> None:
    """One scheduled poll (none while the feed backs off or another worker has it), outbox, heartbeat."""
    if deps.stop.is_set():
        return
    try:
        result = poll_due(feed, deps, scheduled=True)
        if not deps.stop.is_set():
            if result.status != "claimed":  # else another worker sharing the store delivers after its poll
                outbox.deliver()
            beat(deps.store, deps.settings, started_at=started_at, now=deps.now())
    except StoreError as exc:  # a full disk: the store kept its last version whole; the next poll tries again
        log.error("poll feed=%s status=error error=%s action=retry_next_poll", feed.name, exc)
    except Exception:
        if not deps.stop.is_set():
            raise
        # The process is stopping and closed the page pool, reader or store under this poll: nothing of it
        # was stored, and the next start polls the feed again.
        log.info("poll feed=%s status=stopped", feed.name)
