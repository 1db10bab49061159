"""Is the scheduler alive and doing its job? Its heartbeat, and the health verdict drawn from it.

The heartbeat a running scheduler writes after each poll, and the
verdict `gba-monitor health` draws from it alone, in milliseconds on any store size (``status`` keeps the full
report, which reads the whole store).

Unhealthy when: no scheduler wrote a heartbeat, or the one that did is no longer running (killed); no poll
has succeeded within ``health.missed_polls`` × the shortest interval (dead, hung, or every feed failing); a
feed has failed for longer than ``health.max_failing``; an alert has waited longer than
``health.max_outbox_age``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from .durations import format_duration
from .records import Heartbeat
from .settings import Settings
from .store import MonitorStore, read_heartbeat


def beat(store: MonitorStore, settings: Settings, *, started_at: datetime, now: datetime) -> Heartbeat:
    """Write (and return) the heartbeat of this process's scheduler, from the feed states and the outbox."""
    enabled = {feed.name for feed in settings.feeds if feed.enabled}
    states = [state for state in store.feed_states() if state.name in enabled]
    successes = [state.last_success for state in states if state.last_success is not None]
    pending = [alert.created_at for alert in store.pending_alerts() if alert.created_at is not None]
    heartbeat = Heartbeat(
        at=now,
        started_at=started_at,
        pid=os.getpid(),
        last_success=max(successes, default=None),
        failing=tuple((s.name, s.failing_since) for s in states if s.failing_since is not None),
        oldest_pending=min(pending, default=None),
    )
    store.write_heartbeat(heartbeat)
    return heartbeat


def problems(settings: Settings, *, now: datetime) -> list[str]:
    """What is wrong with the running scheduler, one line each; empty when it is healthy."""
    heartbeat = read_heartbeat(settings.storage.path)
    if heartbeat is None:
        return [
            f"no scheduler has written a heartbeat for {settings.storage.path} (is `gba-monitor run` up?)"
        ]
    if not _running(heartbeat.pid):
        last = _ago(now, heartbeat.at)
        return [f"the scheduler (pid {heartbeat.pid}) is not running; its last heartbeat was {last}"]
    found = []
    health = settings.health
    intervals = [feed.interval_s for feed in settings.feeds if feed.enabled]
    if intervals:
        limit = timedelta(seconds=health.missed_polls * min(intervals))
        since = max(heartbeat.started_at, heartbeat.last_success or heartbeat.started_at)
        if now - since > limit:
            found.append(
                f"no poll has succeeded for {_span(now - since)} (limit {_span(limit)}: "
                f"{health.missed_polls} × the shortest interval); the scheduler is hung or every feed fails"
            )
    max_failing = timedelta(seconds=health.max_failing_s)
    for feed, since in heartbeat.failing:
        if now - since > max_failing:
            found.append(f"feed {feed} has failed for {_span(now - since)} (limit {_span(max_failing)})")
    max_age = timedelta(seconds=health.max_outbox_age_s)
    if heartbeat.oldest_pending is not None and now - heartbeat.oldest_pending > max_age:
        found.append(
            f"an alert has waited in the outbox for {_span(now - heartbeat.oldest_pending)} "
            f"(limit {_span(max_age)}; see `gba-monitor outbox list`)"
        )
    return found


def _running(pid: int) -> bool:
    """True when a process with this pid exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _ago(now: datetime, when: datetime) -> str:
    return f"{_span(now - when)} ago"


def _span(delta: timedelta) -> str:
    return format_duration(max(int(delta.total_seconds()), 0))
