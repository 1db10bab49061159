"""Pending alerts → the messages to post: a story with the moves it carries, one seeding summary per
channel, a flood of moves folded into one message, a channel's digest; the alerts a permanent error holds
back. The private helper of ``slack``.

Each planner returns the messages and, per message key, the keys of the stored alerts it tells (``members``):
the outbox marks them all as under way before the post and records them all as sent after it, in one write
each, so a restart between two posts neither drops a story's move nor repeats one without saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from ..records import Alert, Delivery
from ._blocks import render_digest, render_seeding
from ._delivery import REPLY, Sender
from ._kit import section
from ._text import unlinked

Members = dict[str, tuple[str, ...]]


def with_carried(alerts: Sequence[Alert], *, threads: bool) -> tuple[list[Alert], Members]:
    """Each story message with the pending moves it carries folded into it (their standalone messages are
    not posted). With ``threads``, each carried move is followed by a one-line reply for the thread of its
    metric's first message in that channel (``deliver`` posts it only when that thread exists).

    A pending move whose story is no longer pending (never the case, save for a store edited by hand) is
    posted on its own: a move is never dropped."""
    pending = {alert.key: alert for alert in alerts}
    carried = {key for alert in alerts for key in alert.carries if key in pending and key != alert.key}
    posts: list[Alert] = []
    members: Members = {}
    for alert in alerts:
        if alert.key in carried:
            continue
        posts.append(alert)
        moves = [pending[key] for key in alert.carries if key in carried]
        if moves:
            members[alert.key] = (alert.key, *(move.key for move in moves))
        if threads:
            posts += [_reply(alert, move) for move in moves if move.thread_key]
            members |= {f"{REPLY}:{move.key}": () for move in moves if move.thread_key}
    return posts, members


def _reply(story: Alert, move: Alert) -> Alert:
    line = move.summary or move.text.split("\n", 1)[0]
    return Alert(
        key=f"{REPLY}:{move.key}",
        channel=story.channel,
        text=unlinked(line),
        blocks=(section(line),),
        thread_key=move.thread_key,
        feed=story.feed,
    )


def one_seeding_per_channel(
    alerts: Sequence[Alert], channel_of: Callable[[Alert], str], totals: Mapping[str, tuple[int, int]]
) -> tuple[list[Alert], Members]:
    """One "Now tracking …" summary per channel for every feed seeded since the last delivery; ``totals``
    (feed → stories, figures stored) counts what they hold."""

    def summary(group: list[Alert], key: str) -> Alert:
        feeds = {a.feed or "" for a in group}
        stories = sum(totals.get(feed, (0, 0))[0] for feed in feeds)
        figures = sum(totals.get(feed, (0, 0))[1] for feed in feeds)
        return render_seeding(len(group), stories, figures, channel=group[0].channel, key=key)

    return _folded(alerts, "seeded", channel_of, over=1, into=summary)


def folded_moves(
    alerts: Sequence[Alert], channel_of: Callable[[Alert], str], *, limit: int
) -> tuple[list[Alert], Members]:
    """A channel's standalone moves, when more than ``limit`` wait at once, folded into one message that
    says how many it folded (a page or feed cannot flood a channel)."""

    def digest(group: list[Alert], key: str) -> Alert:
        heading = f"{len(group):,} figure changes folded into one message (more than {limit} at once)"
        return render_digest(
            group, channel=group[0].channel, key=key.replace("figure:", "folded:", 1), heading=heading
        )

    return _folded(alerts, "figure", channel_of, over=limit, into=digest)


def _folded(
    alerts: Sequence[Alert],
    kind: str,
    channel_of: Callable[[Alert], str],
    *,
    over: int,
    into: Callable[[list[Alert], str], Alert],
) -> tuple[list[Alert], Members]:
    """``alerts`` with each channel's alerts of ``kind``, when more than ``over`` wait, made ``into`` one
    message (keyed "kind:channel:first alert's key"), posted where the first of them was."""
    groups: dict[str, list[Alert]] = {}
    for alert in alerts:
        if alert.kind == kind:
            groups.setdefault(channel_of(alert), []).append(alert)
    posts, members = [], {}
    for alert in alerts:
        group = groups.get(channel_of(alert)) if alert.kind == kind else None
        if group is None or len(group) <= over:
            posts.append(alert)
        elif alert is group[0]:
            message = into(group, f"{kind}:{channel_of(alert)}:{alert.key}")
            posts.append(message)
            members[message.key] = tuple(a.key for a in group)
    return posts, members


def merged(outer: Mapping[str, tuple[str, ...]], inner: Members) -> Members:
    """The members of a later planning step (``outer``) in terms of stored alerts, through an earlier
    step's (``inner``): a digest of story messages tells each story and each move it carries."""
    expanded = {key: tuple(k for m in keys for k in inner.get(m, (m,))) for key, keys in outer.items()}
    return {**inner, **expanded}


def plan_digests(
    alerts: Sequence[Alert], sender: Sender, *, now: datetime, period_s: int
) -> tuple[list[Alert], dict[str, tuple[str, ...]]]:
    """What to post now under ``slack.digest``: ops alerts one by one, and one digest per channel whose oldest
    pending alert has waited ``period_s``; the other channels' alerts wait. Returns the messages to post and,
    per digest key, the keys of the alerts it tells (all of them are sent when it is)."""
    posts = [alert for alert in alerts if alert.is_ops]  # a failing feed is news now, not in an hour
    by_channel: dict[str, list[Alert]] = {}
    for alert in alerts:
        if not alert.is_ops:
            by_channel.setdefault(sender.channel_of(alert), []).append(alert)
    members: dict[str, tuple[str, ...]] = {}
    for channel, waiting in by_channel.items():
        oldest = min(alert.created_at or now for alert in waiting)
        if now - oldest < timedelta(seconds=period_s):
            continue
        key = f"digest:{channel}:{waiting[0].key}"
        posts.append(render_digest(waiting, channel=waiting[0].channel, key=key))
        members[key] = tuple(alert.key for alert in waiting)
    return posts, members


def per_alert(deliveries: Sequence[Delivery], members: Mapping[str, tuple[str, ...]]) -> list[Delivery]:
    """One Delivery per alert: a digest's outcome (``members``: digest key → its alerts) is each alert's."""
    return [replace(d, key=key) for d in deliveries for key in members.get(d.key, (d.key,))]


def unblocked(alerts: Sequence[Alert], sender: Sender, *, now: datetime, retry: timedelta) -> list[Alert]:
    """The alerts not held back by a permanent error. One is held when its route (credentials and channel as
    configured now) is one Slack refused less than ``retry`` ago: a changed config is a new route, tried at
    once; an unchanged one is tried again after ``retry`` (inviting the bot is a fix outside the config).
    """
    refused: dict[str, datetime] = {}
    for alert in alerts:
        if alert.blocked is not None and alert.attempted_at is not None:
            refused[alert.blocked] = max(refused.get(alert.blocked, alert.attempted_at), alert.attempted_at)
    return [
        alert
        for alert in alerts
        if (when := refused.get(sender.route_of(alert))) is None or now - when >= retry
    ]
