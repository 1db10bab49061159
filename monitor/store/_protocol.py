"""The storage interface: what poll, identity, outbox, query and the CLI may ask of a store, whatever engine
keeps it (a TinyDB file or a PostgreSQL database). Both engines take and return the records of ``records``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, Self

from ..records import (
    Alert,
    Delivery,
    FeedState,
    Figure,
    Heartbeat,
    MetricSummary,
    Observation,
    PollRecord,
    StoredArticle,
)


@dataclass(frozen=True, slots=True)
class Staged:
    """A poll's change, made (see ``MonitorStore.stage_poll``) and not known to be durable yet."""

    ticket: int
    alerts: tuple[Alert, ...]  # the alerts it enqueues


# What ``store migrate`` copies and ``store info`` counts, in an order that keeps references valid.
COPIED_TABLES = ("feeds", "metrics", "articles", "figures", "alerts")


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """What ``store info`` tells: the engine, where it is, its schema version, rows per table, bytes used."""

    engine: str
    where: str
    schema_version: int
    rows: dict[str, int]
    size_bytes: int


class MonitorStore(Protocol):
    """The monitor's memory: feed states, articles, figures, metrics and the alert outbox."""

    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
    def close(self) -> None:
        """Make what is staged durable and release the store's resources (locks, connections)."""

    def lock_scheduler(self) -> None:
        """Claim the right to run a scheduler on this store; StoreLocked when that right is taken."""

    # several workers on one store
    def claim_feed(
        self, name: str, interval_s: int, *, due_only: bool = True
    ) -> AbstractContextManager[bool]:
        """Hold feed ``name`` for one poll: True inside when this worker may poll it now (no other worker
        holds it, and with ``due_only`` its last poll was an interval ago); the poll is recorded on exit."""

    def recording(self) -> AbstractContextManager[None]:
        """Hold the right to tell stories' identity and store them: workers sharing the store take turns, so
        a story two feeds carry is stored once."""

    def delivering(self, channel: str | None = None) -> AbstractContextManager[None]:
        """Wait for, then hold, ``channel`` of the outbox (``None``: the whole outbox, while no channel is
        held): one worker at a time delivers a channel (so its pacing and order hold), two workers deliver
        two channels at once."""

    def feed_workers(self) -> dict[str, str]:
        """Feed name → the worker that polled it last (empty when one process owns the store)."""

    # reads
    def feed_state(self, name: str) -> FeedState:
        """The stored state of feed ``name``; a fresh FeedState(name) when it was never polled."""

    def feed_states(self) -> list[FeedState]:
        """Every stored feed state, by name."""

    def is_known(self, *, guid: str | None, url: str) -> bool:
        """True when any feed already stored an article with this guid or canonical URL."""

    def find_article(self, *, guid: str | None, url: str) -> StoredArticle | None:
        """The stored story listed under this canonical URL or GUID, by any feed."""

    def find_same_story(
        self, *, content_hash: str, headline: str, at: datetime, within: timedelta
    ) -> StoredArticle | None:
        """The stored story with this content fingerprint, else one with this folded headline near ``at``."""

    def article_figures(self, url: str) -> list[Figure]:
        """The figures stored for the article's current content, in article order."""

    def latest(self, metrics: Iterable[str]) -> dict[str, Observation]:
        """The newest stored observation of each metric that has one."""

    def recent(self, metrics: Iterable[str], *, limit: int = 50) -> dict[str, list[Observation]]:
        """Each metric's newest ``limit`` observations, newest first."""

    def series(self, metric: str, *, limit: int = 20) -> list[float]:
        """The metric's last ``limit`` values, oldest → newest."""

    def history(
        self,
        *,
        metric: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        feed: str | None = None,
        limit: int | None = None,
    ) -> list[Observation]:
        """Stored observations, newest first by published date (observed_at when there is none)."""

    def metrics(self) -> list[MetricSummary]:
        """Every metric with a stored figure, by key."""

    def articles(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        feed: str | None = None,
        limit: int | None = None,
    ) -> list[StoredArticle]:
        """Stored articles, newest first by published date (fetched_at when there is none)."""

    def feed_totals(self) -> dict[str, tuple[int, int]]:
        """Feed name → (articles, figures) stored from it."""

    def pending_alerts(self) -> list[Alert]:
        """Alerts not yet delivered nor dropped, oldest first: what the next delivery posts."""

    def unsent_alerts(self) -> list[Alert]:
        """Every alert not delivered, oldest first: waiting, held by an error, or dropped (``dropped_at``)."""

    def thread_ts_in(self, channel: str, thread_key: str) -> str | None:
        """The Slack ts of the first message posted to ``channel`` that told ``thread_key`` (its own thread
        key, or one of its ``roots``): the thread later alerts about that metric in that channel reply to."""

    def sent_alert(self, key: str) -> Alert | None:
        """The alert with this idempotency key once Slack accepted it (its ``sent_ts`` set), else None."""

    # writes
    def save_poll(self, record: PollRecord) -> list[Alert]:
        """Store one poll atomically; returns the alerts enqueued (keys already in the outbox are skipped)."""

    def stage_poll(self, record: PollRecord) -> Staged:
        """Make the poll visible to this process's later reads; ``wait_saved`` makes it durable."""

    def wait_saved(self, staged: Staged) -> list[Alert]:
        """The staged poll's alerts, once it is durable; StoreError when that failed."""

    def mark_sending(self, keys: Iterable[str]) -> None:
        """Note that posts of these alerts are starting."""

    def recover_interrupted(self) -> list[str]:
        """Count every post still marked as under way as interrupted; returns those alerts' keys."""

    def record_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Count each attempt on its alert: its error, or its Slack ts, channel and when it was sent."""

    def retry_alerts(self, keys: Iterable[str]) -> list[str]:
        """Make these undelivered alerts due at the next delivery (their error forgotten, a drop undone);
        returns the keys changed, in the order given (sent or unknown keys are left alone)."""

    def drop_alerts(self, keys: Iterable[str]) -> list[str]:
        """Never post these undelivered alerts (kept, marked dropped); returns the keys changed."""

    def retention(self, days: int) -> tuple[int, int]:
        """Prune history older than ``days``, keeping each metric's latest; returns (articles, figures)."""

    def prune(self, before: datetime) -> tuple[int, int]:
        """``retention`` up to a date: prune what was last fetched or observed before ``before``."""

    # operations
    def write_heartbeat(self, beat: Heartbeat) -> None:
        """Say the scheduler is alive, and how its feeds and outbox fare (``read_heartbeat`` reads it)."""


class CopyableStore(MonitorStore, Protocol):
    """What ``store migrate`` and ``store info`` need of an engine, beyond what the monitor asks."""

    def info(self) -> StoreInfo:
        """The engine, where it is, its schema version, rows per table and bytes used."""

    def table_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of ``table`` as the TinyDB file keeps it, in insertion order."""

    def load_rows(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        """Add rows copied from another store, in one write."""
