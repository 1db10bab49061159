"""What a poll and an operator change, row by row: each function returns a new row, the same in both engines.

Private to ``store``. The TinyDB engine writes these rows through its tables (``store._writes``), the
PostgreSQL engine in its transactions (``store._pg_writes``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from ..records import Alert, Delivery, Observation, Sighting, Story, key_figures
from ._rows import (
    Row,
    cells,
    figure_extras,
    iso,
    parse_datetime,
    row_of,
    sources_of,
    sparse,
    with_source,
)

PRUNE_EVERY = timedelta(hours=1)  # with retention_days, save_poll prunes at most this often


def article_row(story: Story, old: Row) -> Row:
    """The story's article row; a revision of ``old`` (the stored row, or {}) keeps its feed and sources."""
    row = cells(
        url=story.url,
        guid=story.entry.guid,
        title=story.title,
        outlet=story.outlet,
        feed=story.feed,
        published=story.published,
        updated=story.entry.updated,
        fetched_at=story.fetched_at,
        content_hash=story.content_hash,
        figures=len(story.figures),
        keywords=story.keywords,
        lang=story.lang,
        minhash=story.minhash,
        numbers=story.numbers,
    )
    if old:
        row |= {"feed": old["feed"], "outlet": old.get("outlet", row["outlet"])}
    return row | {"sources": with_source(sources_of(old or row), story.source)}


def figure_rows(story: Story) -> list[Row]:
    """The story's figures as figure rows, in article order."""
    return [row_of(Observation.of(story, figure)) | figure_extras(figure) for figure in story.figures]


def summary_rows(story: Story) -> list[Row]:
    """The rows of the figures that represent a metric in the story (``records.key_figures``): only they move
    a metric's latest and previous value ("over 10,000" beside "10,577" in one story is not a change)."""
    return [row_of(Observation.of(story, figure)) for figure in key_figures(story.figures)]


def refreshed_row(old: Row, story: Story) -> Row:
    """The stored article row ``old`` after its story was read again with no new figures."""
    row = old | cells(
        content_hash=story.content_hash or old.get("content_hash") or "",
        updated=story.entry.updated,
        fetched_at=story.fetched_at,
    )
    return row | cells(title=story.title) if story.feed == old.get("feed") else row


def sighted_row(row: Row, sighting: Sighting) -> Row:
    """The stored article row with the sighting's source added."""
    return row | {"sources": with_source(sources_of(row), sighting.source)}


# --- the outbox: one alert row at a time, the same way in every engine --------------------------------------


def queued_row(alert: Alert) -> Row:
    """A new alert's outbox row."""
    return sparse(row_of(alert) | {"sent_at": None})


def sending_row(row: Row, now: str | None) -> Row:
    """The alert row once a post of it started at ``now``."""
    return sparse(row | {"sending_at": now})


def interrupted_row(row: Row) -> Row:
    """The alert row of a post whose outcome was never recorded: one more interruption, no longer sending."""
    return sparse(row | {"sending_at": None, "interrupted": int(row.get("interrupted") or 0) + 1})


def delivered_row(row: Row, delivery: Delivery, now: str | None) -> Row:
    """The alert row after one more attempt: its error, or its Slack ts and when it was sent.

    A permanent error remembers the route it holds for (``Alert.blocked``); other outcomes clear it."""
    row = row | {
        "attempts": int(row.get("attempts") or 0) + 1,
        "last_error": delivery.error,
        "attempted_at": None if delivery.ok else now,
        "sending_at": None,
        "blocked": delivery.route if delivery.permanent else None,
    }
    if delivery.ok:
        row |= {"sent_ts": delivery.ts, "sent_at": now, "sent_channel": delivery.channel}
    return sparse(row)


def unsent(row: Row) -> bool:
    """True while the alert row was never delivered (waiting, held by an error, or dropped)."""
    return row.get("sent_at") is None and row.get("sent_ts") is None


def retried_row(row: Row) -> Row:
    """The undelivered alert row due at the next delivery: the error that held it forgotten, a drop undone."""
    return sparse(row | {"blocked": None, "attempted_at": None, "dropped_at": None})


def dropped_row(row: Row, now: str | None) -> Row:
    """The undelivered alert row an operator dropped at ``now``: kept, never posted."""
    return sparse(row | {"dropped_at": now, "sending_at": None})


class OperatorEdits:
    """What operators change the same way in every engine (`outbox retry|drop`, `prune`); an engine
    inherits it and supplies ``_now``, ``_edit_unsent`` (edit each named undelivered alert row, returning
    the keys changed in the order given) and ``prune``."""

    _now: Callable[[], datetime]

    def _edit_unsent(self, keys: Iterable[str], edit: Callable[[Row], Row]) -> list[str]:
        raise NotImplementedError

    def prune(self, before: datetime) -> tuple[int, int]:
        """Prune what was last fetched or observed before ``before``; returns (articles, figures)."""
        raise NotImplementedError

    def retention(self, days: int) -> tuple[int, int]:
        """Prune articles last fetched and figures observed more than ``days`` ago, keeping each metric's
        latest figure (and its article). Returns (articles, figures) pruned."""
        return self.prune(self._now() - timedelta(days=days))

    def retry_alerts(self, keys: Iterable[str]) -> list[str]:
        """Make these undelivered alerts due at the next delivery: forget the error that held them, and undo
        a drop. Returns the keys changed (sent or unknown keys are left alone)."""
        return self._edit_unsent(keys, retried_row)

    def drop_alerts(self, keys: Iterable[str]) -> list[str]:
        """Never post these undelivered alerts; they stay in the outbox, marked dropped. Returns the keys
        changed."""
        now = iso(self._now())
        return self._edit_unsent(keys, lambda row: dropped_row(row, now))


def prune_due(meta: Row, now: datetime) -> bool:
    """True when the store was never pruned, or last pruned PRUNE_EVERY or more before ``now`` (its meta row
    says when)."""
    pruned_at = meta.get("pruned_at")
    return pruned_at is None or now - parse_datetime(pruned_at) >= PRUNE_EVERY
