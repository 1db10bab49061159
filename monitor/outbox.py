"""The outbox → Slack: post what waits, paced, digested when asked, each alert recorded as soon as it is sent.

One ``Outbox`` per process, built by the shell (CLI or scheduler) beside the poll's ``Deps`` and called after
each round of polls or each scheduled poll; its lock keeps two feed jobs from posting the same alert at once.
It needs only the store, the settings and a clock: it knows nothing of polling.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TextIO

from .clock import utc_now
from .records import Alert, Delivery
from .settings import Settings
from .slack import (
    RESENT_NOTE,
    deliver,
    make_sender,
    per_alert,
    plan_digests,
    unblocked,
    with_note,
    with_sources,
)
from .store import MonitorStore

log = logging.getLogger("monitor.outbox")

BLOCKED_RETRY = timedelta(hours=1)  # alerts held by a permanent Slack error are tried again this often


@dataclass
class Outbox:
    """What the store holds for Slack and how it goes out; built once per process, shared by the feed jobs."""

    store: MonitorStore
    settings: Settings
    stream: TextIO  # where the console sender prints when no Slack credential is set
    now: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep  # Slack pacing waits (tests pass a no-op)
    _delivering: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def deliver(self) -> list[Delivery]:
        """Post the outbox, oldest first (one digest per channel and period with ``slack.digest``), and
        record what happened to each alert; returns one Delivery per alert attempted.

        Each post is recorded as soon as Slack accepts it, and marked as under way just before, so a crash in
        between leaves the alert pending and "in doubt": it is posted again, saying it may repeat (at least
        once). Alerts a permanent error holds (bad token, unknown channel) wait, untried, until the Slack
        settings change, or an hour passes; the error is logged once, when it first happens.
        """
        # Two feed jobs finishing together, or two workers sharing the store, must not post an alert twice.
        with self._delivering, self.store.delivering():
            interrupted = self.store.recover_interrupted()
            if interrupted:
                log.warning(
                    "deliver interrupted=%d (posted again, each saying it may repeat)", len(interrupted)
                )
            pending = self.store.pending_alerts()
            if not pending:
                return []
            deliveries = self._post(pending)
        _log_deliveries(pending, deliveries)
        return deliveries

    def _post(self, pending: Sequence[Alert]) -> list[Delivery]:
        store, slack = self.store, self.settings.slack
        with make_sender(slack, stream=self.stream) as sender:
            prepared = [self._prepared(alert) for alert in pending]
            ready = unblocked(prepared, sender, now=self.now(), retry=BLOCKED_RETRY)
            posts, members = (
                plan_digests(ready, sender, now=self.now(), period_s=slack.digest_s)
                if slack.digest_s
                else (ready, {})
            )
            bookkeeping = {}
            if sender.keeps_posts:  # two store writes per post: the price of at-least-once
                bookkeeping = {
                    "before_post": lambda alert: store.mark_sending(members.get(alert.key, (alert.key,))),
                    "on_sent": lambda delivery: store.record_deliveries(per_alert([delivery], members)),
                }
            deliveries = deliver(
                posts,
                sender,
                sleep=self.sleep,
                thread_ts_for=store.thread_ts if slack.threads else None,
                **bookkeeping,
            )
        deliveries = per_alert(deliveries, members)
        # What each post's own bookkeeping did not record: failures, and everything the console printed.
        store.record_deliveries([d for d in deliveries if not (d.ok and sender.keeps_posts)])
        return deliveries

    def _prepared(self, alert: Alert) -> Alert:
        """The alert as it goes out now: to its feed's current channel, with every source of its story, and
        saying it may repeat when an earlier post of it was interrupted."""
        slack, feeds = self.settings.slack, {feed.name: feed for feed in self.settings.feeds}
        if alert.is_ops:
            alert = replace(alert, channel=slack.ops_channel or slack.channel)
        elif alert.feed in feeds:
            alert = replace(alert, channel=feeds[alert.feed].channel)
        if alert.story_url is not None:
            article = self.store.find_article(guid=None, url=alert.story_url)
            alert = with_sources(alert, article.sources) if article is not None else alert
        return with_note(alert, RESENT_NOTE) if alert.in_doubt else alert


def _log_deliveries(pending: Sequence[Alert], deliveries: Sequence[Delivery]) -> None:
    """One line per delivery; a permanent error once, when it first holds alerts (not at every retry)."""
    known = {(alert.blocked, alert.last_error) for alert in pending if alert.blocked}
    refused: dict[str, int] = {}
    for d in deliveries:
        if d.permanent and (d.route, d.error) not in known:
            refused[d.error or ""] = refused.get(d.error or "", 0) + 1
    for error, count in refused.items():
        log.error("deliver refused alerts=%d error=%r (kept until the config is fixed)", count, error)
    sent = sum(d.ok for d in deliveries)
    failed = [d for d in deliveries if not d.ok and not d.permanent]
    if failed:
        log.warning("deliver sent=%d failed=%d error=%s", sent, len(failed), failed[0].error)
    else:
        log.info("deliver sent=%d held=%d", sent, len(pending) - len(deliveries))
