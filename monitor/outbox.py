"""The outbox → Slack: post what waits, paced, digested when asked, each alert recorded as soon as it is sent.

One ``Outbox`` per process, built by the shell (CLI or scheduler) beside the poll's ``Deps`` and called after
each round of polls or each scheduled poll; its lock keeps two feed jobs from posting the same alert at once.
It needs only the store, the settings and a clock: it knows nothing of polling.

Each channel is delivered under the store's claim on that channel (``MonitorStore.delivering``): workers
sharing a store deliver one channel one at a time, so its pacing and order hold, and two channels at once.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from .clock import utc_now
from .records import Alert, Delivery
from .settings import FeedSettings, QuietHours, Settings
from .slack import (
    RESENT_NOTE,
    Sender,
    deliver,
    folded_moves,
    make_sender,
    merged,
    one_seeding_per_channel,
    per_alert,
    plan_digests,
    render_digest,
    unblocked,
    with_carried,
    with_note,
    with_sources,
)
from .store import MonitorStore
from .telemetry import emit

log = logging.getLogger("monitor.outbox")

BLOCKED_RETRY = timedelta(hours=1)  # alerts held by a permanent Slack error are tried again this often
MAX_CHANNELS_AT_ONCE = 4  # channels one worker delivers side by side (each holds a store connection)


@dataclass
class Outbox:
    """What the store holds for Slack and how it goes out; built once per process, shared by the feed jobs."""

    store: MonitorStore
    settings: Settings
    stream: TextIO  # where the console sender prints when no Slack credential is set
    now: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep  # Slack pacing waits (tests pass a no-op)
    _delivering: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def _feeds(self) -> dict[str, FeedSettings]:
        """Feed name → its settings as they are now (a reload may change a feed's channel)."""
        return {feed.name: feed for feed in self.settings.feeds}

    def deliver(self) -> list[Delivery]:
        """Post the outbox, oldest first in each channel (one digest per channel and period with
        ``slack.digest``), and record what happened to each alert; returns one Delivery per alert attempted.

        Each post is recorded as soon as Slack accepts it, and marked as under way just before, so a crash in
        between leaves the alert pending and "in doubt": it is posted again, saying it may repeat (at least
        once). Alerts a permanent error holds (bad token, unknown channel) wait, untried, until the Slack
        settings change, or an hour passes; the error is logged once, when it first happens.
        """
        # Two feed jobs finishing together must not post an alert twice; workers sharing the store take
        # turns per channel (the store's claims).
        with self._delivering:
            waiting = self.store.pending_alerts()
            pending, deliveries = self._deliver_all(waiting) if waiting else ([], [])
        if pending:
            _log_deliveries(pending, deliveries)
        _count(pending, deliveries)
        return deliveries

    def _deliver_all(self, waiting: Sequence[Alert]) -> tuple[list[Alert], list[Delivery]]:
        """Deliver every channel that has alerts ``waiting``: the alerts attempted and their deliveries."""
        with make_sender(self.settings.slack, stream=self.stream) as sender:
            pending, deliveries, stale = self._each_channel(list(self._by_channel(waiting, sender)), sender)
            if not stale:
                return pending, deliveries
            # A post left under way in these channels by a worker that died. Counting it as interrupted needs
            # no post under way anywhere (another worker's is not in doubt): the whole outbox, briefly.
            with self.store.delivering():
                interrupted = self.store.recover_interrupted()
            if interrupted:
                log.warning(
                    "deliver interrupted=%d (posted again, each saying it may repeat)", len(interrupted)
                )
            more, more_deliveries, _ = self._each_channel(stale, sender)
            return [*pending, *more], [*deliveries, *more_deliveries]

    def _each_channel(
        self, channels: Sequence[str], sender: Sender
    ) -> tuple[list[Alert], list[Delivery], list[str]]:
        """Deliver each channel under its claim: the alerts attempted, their deliveries, and the channels
        where a post was left under way (their alerts wait for ``recover_interrupted``)."""
        if len(channels) > 1 and sender.min_interval_s > 0:
            # Pacing is per channel: channels delivered side by side wait for Slack at the same time.
            with ThreadPoolExecutor(min(len(channels), MAX_CHANNELS_AT_ONCE), "deliver") as pool:
                done = list(pool.map(lambda channel: self._deliver_channel(channel, sender), channels))
        else:
            done = [self._deliver_channel(channel, sender) for channel in channels]
        pending = [alert for alerts, _, _ in done for alert in alerts]
        deliveries = [d for _, channel_deliveries, _ in done for d in channel_deliveries]
        return (
            pending,
            deliveries,
            [channel for channel, (_, _, stale) in zip(channels, done, strict=True) if stale],
        )

    def _deliver_channel(self, channel: str, sender: Sender) -> tuple[list[Alert], list[Delivery], bool]:
        """Hold ``channel``, then post what waits for it (read again under the claim: another worker may have
        posted it meanwhile). Returns the alerts attempted, their deliveries, and whether a post was left
        under way (a crash): then nothing is posted until it is counted as interrupted, so that it still goes
        out first."""
        with self.store.delivering(channel):
            waiting = self._by_channel(self.store.pending_alerts(), sender).get(channel, [])
            if any(alert.sending_at is not None for alert in waiting):
                return [], [], True
            return waiting, self._post(waiting, sender) if waiting else [], False

    def _by_channel(self, pending: Sequence[Alert], sender: Sender) -> dict[str, list[Alert]]:
        """The pending alerts by the channel they go to now, oldest first; a story's moves go with the story
        (they are told in its message)."""
        feeds = self._feeds
        channels = {alert.key: sender.channel_of(self._routed(alert, feeds)) for alert in pending}
        for alert in pending:
            for key in alert.carries:
                if key in channels and key != alert.key:
                    channels[key] = channels[alert.key]
        grouped: dict[str, list[Alert]] = {}
        for alert in pending:
            grouped.setdefault(channels[alert.key], []).append(alert)
        return grouped

    def _post(self, pending: Sequence[Alert], sender: Sender) -> list[Delivery]:
        store, slack = self.store, self.settings.slack
        feeds = self._feeds
        prepared = [self._prepared(alert, feeds) for alert in pending]
        ready = unblocked(prepared, sender, now=self.now(), retry=BLOCKED_RETRY)
        quiet = self.settings.alerts.quiet_hours
        ready, held, quieted = (
            after_quiet_hours(ready, sender.channel_of, now=self.now(), quiet=quiet)
            if quiet
            else (ready, [], {})
        )
        posts, members = self._messages(ready, sender)
        if slack.digest_s:
            posts, digests = plan_digests(posts, sender, now=self.now(), period_s=slack.digest_s)
            members = merged(digests, members)
        posts, members = [*held, *posts], members | quieted
        keeps = sender.keeps_posts  # two store writes per post: the price of at-least-once
        deliveries = deliver(
            posts,
            sender,
            sleep=self.sleep,
            thread_ts_for=store.thread_ts_in if slack.threads else None,
            before_post=(lambda a: _mark_sending(store, members.get(a.key, (a.key,)))) if keeps else None,
            on_sent=(lambda d: store.record_deliveries(per_alert([d], members))) if keeps else None,
        )
        deliveries = per_alert(deliveries, members)
        # What each post's own bookkeeping did not record: failures, and everything the console printed.
        store.record_deliveries([d for d in deliveries if not (d.ok and sender.keeps_posts)])
        return deliveries

    def _messages(
        self, ready: Sequence[Alert], sender: Sender
    ) -> tuple[list[Alert], dict[str, tuple[str, ...]]]:
        """The messages that tell ``ready``: each story with the moves it carries (and their thread replies,
        unless digesting), one seeding summary per channel, a flood of moves folded into one; and, per
        message, the stored alerts it tells."""
        slack = self.settings.slack
        posts, members = with_carried(ready, threads=slack.threads and not slack.digest_s)
        if sum(alert.kind == "seeded" for alert in posts) > 1:
            posts, seeded = one_seeding_per_channel(posts, sender.channel_of, self.store.feed_totals())
            members = merged(seeded, members)
        posts, folded = folded_moves(posts, sender.channel_of, limit=slack.max_moves)
        return posts, merged(folded, members)

    def _routed(self, alert: Alert, feeds: Mapping[str, FeedSettings]) -> Alert:
        """The alert to its feed's current channel (ops alerts to the ops channel), unless routed."""
        slack = self.settings.slack
        if alert.is_ops:
            return replace(alert, channel=slack.ops_channel or slack.channel)
        feed = feeds.get(alert.feed or "")
        return replace(alert, channel=feed.channel) if feed is not None and not alert.routed else alert

    def _prepared(self, alert: Alert, feeds: Mapping[str, FeedSettings]) -> Alert:
        """The alert as it goes out now: to its feed's current channel, with every source of its story, and
        saying it may repeat when an earlier post of it was interrupted."""
        alert = self._routed(alert, feeds)
        if alert.story_url is not None:
            article = self.store.find_article(guid=None, url=alert.story_url)
            alert = with_sources(alert, article.sources) if article is not None else alert
        return with_note(alert, RESENT_NOTE) if alert.in_doubt else alert


def _mark_sending(store: MonitorStore, keys: Sequence[str]) -> None:
    """Note the posts under way; a thread reply tells no stored alert, and needs no write."""
    if keys:
        store.mark_sending(keys)


def _count(pending: Sequence[Alert], deliveries: Sequence[Delivery]) -> None:
    """Tell the metrics what this delivery did: sent by kind, failed by Slack's reason, posts that were
    retries (of an alert that failed or was interrupted before), and what still waits."""
    alerts = {alert.key: alert for alert in pending}
    emit(
        "delivered",
        sent=[alerts[d.key].kind for d in deliveries if d.ok and d.key in alerts],
        failed=[_reason(d) for d in deliveries if not d.ok],
        retries=sum(1 for d in deliveries if d.key in alerts and _retried(alerts[d.key])),
        depth=len(pending) - sum(d.ok for d in deliveries),
    )


def _retried(alert: Alert) -> bool:
    return alert.attempts > 0 or alert.in_doubt


def _reason(delivery: Delivery) -> str:
    """Slack's error code when the error names one ("slack: channel_not_found for #gba (…)"), else how it
    failed (a low-cardinality label: never the whole message)."""
    code = re.match(r"slack: ([a-z_]+)\b", delivery.error or "")
    return code[1] if code else ("refused" if delivery.permanent else "failed")


def in_quiet_hours(when: datetime, quiet: QuietHours) -> bool:
    """True when ``when`` falls in the daily window (a window may run past midnight: 22:00 → 07:00)."""
    local = when.astimezone(ZoneInfo(quiet.tz)).time()
    if quiet.start <= quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end


def after_quiet_hours(
    alerts: Sequence[Alert], channel_of: Callable[[Alert], str], *, now: datetime, quiet: QuietHours
) -> tuple[list[Alert], list[Alert], dict[str, tuple[str, ...]]]:
    """Under ``alerts.quiet_hours``: the alerts that go out as usual, the digests of the ones the window held
    (one per channel), and per digest key the alerts it tells.

    In the window only ops alerts go (a failing feed is news at any hour). After it, what the window held
    goes as one digest per channel; thread replies and alerts made outside the window go as they are.
    """
    if in_quiet_hours(now, quiet):
        return [alert for alert in alerts if alert.is_ops], [], {}
    usual: list[Alert] = []
    held: dict[str, list[Alert]] = {}
    for alert in alerts:
        made = alert.created_at
        if alert.is_ops or alert.reply_to or made is None or not in_quiet_hours(made, quiet):
            usual.append(alert)
        else:
            held.setdefault(channel_of(alert), []).append(alert)
    digests, members = [], {}
    for channel, waiting in held.items():
        key = f"digest:{channel}:{waiting[0].key}"
        digests.append(render_digest(waiting, channel=waiting[0].channel, key=key))
        members[key] = tuple(alert.key for alert in waiting)
    return usual, digests, members


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
