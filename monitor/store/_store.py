"""Feed states, articles, figures, metrics and the alert outbox in one TinyDB file, through TinyDB's own API.

``Store`` opens ``TinyDB(path, storage=BatchingMiddleware(AtomicJSONStorage))`` and works with its tables, a
newcomer can read with ``TinyDB(path)`` or any JSON viewer:

    meta      schema_version, revision (one more per change), pruned_at
    feeds     one row per feed: the FeedState fields (etag, last_modified, last_poll, failures, ...)
    metrics   one row per metric key: label, unit, latest_* and previous_* (value, published, observed_at,
              article_url; "previous" is the last earlier value that differs), observations (ever stored)
    alerts    the outbox, one row per idempotency key: the Alert fields, plus sent_at once delivered;
              sending_at while a post is under way (a crash leaves it set: the alert is in doubt)
    articles  one row per canonical URL: guid, title, outlet, feed, published, updated, fetched_at,
              content_hash, figures (how many), keywords, sources (every feed that listed the story, with
              the URL and GUID it gave: later sightings under another URL or GUID are the same story)
    figures   one row per stored figure: the Observation fields, plus conversion_of, direction and
              range_high when set, so an article's figures can be compared again when it is revised

Dates are UTC ISO 8601 strings with microseconds and offset, so they also sort as text. Listings use TinyDB's
``Query``; what a poll asks for each story goes by doc_id (``store._lookups`` says why); writes go through
``store._writes``, one atomic write of the file per poll (``store._batching``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from tinydb import TinyDB, where
from tinydb.table import Document, Table

from ..clock import utc_now
from ..errors import StoreError, StoreLocked
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
from ._batching import BatchingMiddleware, Ticket
from ._edits import (
    OperatorEdits,
    delivered_row,
    interrupted_row,
    prune_due,
    queued_row,
    sending_row,
    unsent,
)
from ._file import PRIVATE_MODE, AtomicJSONStorage
from ._heartbeat import heartbeat_path, write_heartbeat
from ._lookups import NEWEST_KEPT, Lookups, article_key
from ._protocol import COPIED_TABLES, Staged, StoreInfo
from ._rows import (
    Row,
    canon,
    figure_of,
    history_dates,
    iso,
    observation_of,
    record_of,
    row_of,
    stored_article,
)
from ._schema import SCHEMA_VERSION
from ._writes import Writes, add_source, keys_in, prune, refresh_story, save_story, table


class Store(OperatorEdits):
    """The monitor's memory. ``Store(path)`` creates the folder and file, or raises StoreError for a broken or
    newer file (which it leaves untouched). With ``retention_days``, ``save_poll`` also prunes (hourly)."""

    def __init__(
        self,
        path: Path,
        *,
        now: Callable[[], datetime] = utc_now,
        retention_days: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self._now = now
        self._scheduler_lock: FileLock | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"store: cannot create the folder for {self.path} ({exc.strerror})") from None
        self._batching = BatchingMiddleware(AtomicJSONStorage)
        self._db = TinyDB(self.path, index=("figures", "metric"), storage=self._batching)
        self._lock = self._batching.lock  # TinyDB is not thread-safe: every use of the db holds it
        self._lookups: Lookups | None = None
        self._lookups_of = -1  # the middleware generation self._lookups describes
        with self._lock:
            if self._batching.file.indexed():
                return  # we wrote this file whole and at our version: no need to parse it now
            self._batching.refresh()  # reads and checks the file: a broken or newer one fails here
            if not (self._batching.missing or self._batching.found_version < SCHEMA_VERSION):
                self._current()  # checks every row the lookups rely on
                return
        with self._changing():  # a new file, or an older one migrated (after its backup)
            pass

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write what is staged, then release the scheduler lock (if taken) and the cached document."""
        try:
            self._db.close()
        finally:
            with self._lock:
                if self._scheduler_lock is not None:
                    self._scheduler_lock.release()
                    self._scheduler_lock = None

    def lock_scheduler(self) -> None:
        """Claim the store for this process's scheduler until close(); StoreLocked if another one holds it."""
        with self._lock:
            if self._scheduler_lock is not None:
                return
            lock = FileLock(
                f"{self.path}.scheduler.lock", blocking=False, mode=PRIVATE_MODE, thread_local=False
            )
            try:
                lock.acquire()
            except Timeout:
                raise StoreLocked(f"store: another scheduler is already running on {self.path}") from None
            self._scheduler_lock = lock

    @contextmanager
    def claim_feed(self, name: str, interval_s: int, *, due_only: bool = True) -> Iterator[bool]:
        """Always True: one scheduler owns a file (see ``lock_scheduler``), and it keeps the intervals."""
        yield True

    @contextmanager
    def delivering(self, channel: str | None = None) -> Iterator[None]:
        """Nothing to hold, whatever the channel: one process owns a file."""
        yield

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Nothing to hold: one process owns a file (its threads take turns in ``poll``)."""
        yield

    def feed_workers(self) -> dict[str, str]:
        """Empty: one process owns a file."""
        return {}

    # --- the db, its lookups and its changes ---------------------------------------------------------------

    def _table(self, name: str) -> Table:
        return table(self._db, name)

    def _current(self) -> Lookups:
        """The lookups of the current document (read again when another process replaced the file). Hold the
        lock."""
        self._batching.refresh()
        if self._lookups is None or self._lookups_of != self._batching.generation:
            self._lookups = Lookups(self.path, self._batching.read())
            self._lookups_of = self._batching.generation
        return self._lookups

    @contextmanager
    def _reading(self) -> Iterator[Lookups]:
        with self._lock:
            yield self._current()

    @contextmanager
    def _staging(self) -> Iterator[tuple[Writes, Ticket]]:
        """One change: its rows, written to the tables when the block ends and staged for ``settle``."""
        with self._batching.changing() as ticket:
            writes = Writes(self._db, self._current())
            yield writes, ticket
            writes.apply()
            revision = int(self._meta().get("revision") or 0) + 1
            self._table("meta").upsert(Document({"revision": revision}, doc_id=1))

    @contextmanager
    def _changing(self) -> Iterator[Writes]:
        """One change, on disk (with any staged before it) when the block ends."""
        with self._staging() as (writes, ticket):
            yield writes
        self._batching.settle(ticket)

    def _meta(self) -> Row:
        return dict(self._table("meta").get(doc_id=1) or {})

    # --- reads ---------------------------------------------------------------------------------------------

    def feed_state(self, name: str) -> FeedState:
        """The stored state of feed ``name``; a fresh FeedState(name) when it was never polled."""
        with self._reading():
            row = self._table("feeds").get(where("name") == name)
            return FeedState(name) if row is None else record_of(FeedState, row)

    def feed_states(self) -> list[FeedState]:
        """Every stored feed state, by name."""
        with self._reading():
            states = (record_of(FeedState, row) for row in self._table("feeds").all())
            return sorted(states, key=lambda s: s.name)

    def is_known(self, *, guid: str | None, url: str) -> bool:
        """True when any feed already stored an article with this guid or canonical URL."""
        return self.find_article(guid=guid, url=url) is not None

    def find_article(self, *, guid: str | None, url: str) -> StoredArticle | None:
        """The stored story listed under this canonical URL or GUID, by any feed (its own or a later one)."""
        with self._reading() as lookups:
            row = self._table("articles").get(doc_id=article_key(lookups, url=url, guid=guid) or 0)
            return None if row is None else stored_article(row)

    def find_same_story(
        self, *, content_hash: str, headline: str, at: datetime, within: timedelta
    ) -> StoredArticle | None:
        """The stored story with this content fingerprint, else one whose folded headline is ``headline`` and
        that was published (or fetched) within ``within`` of ``at``."""
        with self._reading() as lookups:
            articles = self._table("articles")
            doc_id = lookups.hashes.get(content_hash) if content_hash else None
            if doc_id is not None:
                found = articles.get(doc_id=doc_id)
                return None if found is None else stored_article(found)
            low, high = iso(at - within), iso(at + within)
            for candidate in lookups.headlines.get(headline, ()) if headline else ():
                row = articles.get(doc_id=candidate)
                stamp = row and (row.get("published") or row.get("fetched_at"))
                if row is not None and stamp and low <= canon(stamp) <= high:
                    return stored_article(row)
            return None

    def article_figures(self, url: str) -> list[Figure]:
        """The figures stored for the article's current content (its last reading), in article order."""
        with self._reading():
            rows = sorted(self._table("figures").search(where("article_url") == url), key=lambda r: r.doc_id)
            newest = max((canon(r["observed_at"]) for r in rows), default=None)
            return [figure_of(r) for r in rows if canon(r["observed_at"]) == newest]

    def _metric_rows(self, lookups: Lookups, metric: str) -> list[Document]:
        """The metric's figure rows, by doc_id: a poll asks for the metrics of every story it stores."""
        figures = self._table("figures")
        found = (figures.get(doc_id=doc_id) for doc_id in lookups.by_metric.get(metric, ()))
        return [row for row in found if row is not None]

    def latest(self, metrics: Iterable[str]) -> dict[str, Observation]:
        """The newest stored observation of each metric that has one (by observed_at, then insertion)."""
        with self._reading() as lookups:
            figures, found = self._table("figures"), {}
            for metric in set(metrics):
                doc_id = lookups.latest_id(metric, partial(self._metric_rows, lookups, metric))
                row = figures.get(doc_id=doc_id) if doc_id is not None else None
                if row is not None:
                    found[metric] = observation_of(row)
            return found

    def recent(self, metrics: Iterable[str], *, limit: int = 50) -> dict[str, list[Observation]]:
        """Each metric's newest ``limit`` observations, in history order (newest first)."""
        with self._reading() as lookups:
            figures, recent = self._table("figures"), {}
            for metric in set(metrics):
                rows = partial(self._metric_rows, lookups, metric)
                ids = lookups.newest_ids(metric, rows, max(limit, NEWEST_KEPT))
                kept = lookups.newest_kept.get(metric, {})
                fresh = {doc_id: kept.get(doc_id) or self._observation(figures, doc_id) for doc_id in ids}
                lookups.newest_kept[metric] = fresh  # the newest only: a long-running process keeps no more
                recent[metric] = list(fresh.values())[:limit]
            return recent

    @staticmethod
    def _observation(figures: Table, doc_id: int) -> Observation:
        row = figures.get(doc_id=doc_id)
        assert row is not None, doc_id  # the lookups list only rows of the loaded document
        return observation_of(row)

    def series(self, metric: str, *, limit: int = 20) -> list[float]:
        """The metric's last ``limit`` values, oldest → newest (history order), for sparklines."""
        return [o.value for o in reversed(self.recent([metric], limit=limit)[metric])]

    def history(
        self,
        *,
        metric: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        feed: str | None = None,
        limit: int | None = None,
    ) -> list[Observation]:
        """Stored observations, newest first by published date (observed_at when there is none), then by
        observed_at and insertion. ``since`` is inclusive and ``until`` exclusive, on that same date."""
        low, high = iso(since), iso(until)
        with self._lock:
            rows = self._indexed_rows(metric)
            if rows is None:
                self._current()
                figures = self._table("figures")
                on = (where("metric") == metric) if metric is not None else None
                if feed is not None:
                    on = (where("feed") == feed) if on is None else on & (where("feed") == feed)
                rows = [(row.doc_id, row) for row in (figures.all() if on is None else figures.search(on))]
            ranked = []
            for doc_id, row in rows:
                when, observed = history_dates(row)
                if feed is not None and row.get("feed") != feed:
                    continue
                if (low is None or when >= low) and (high is None or when < high):
                    ranked.append((when, observed, doc_id, row))
            ranked.sort(key=lambda r: r[:3], reverse=True)
            return [observation_of(row) for *_, row in ranked[:limit]]

    def _indexed_rows(self, metric: str | None) -> list[tuple[int, Row]] | None:
        """(doc_id, row) of the metric's figures read at their offsets in the file, when this process has not
        read the document and ``<store>.index`` describes the file (a CLI query then parses ~1% of it)."""
        if metric is None or self._batching.loaded:
            return None
        return self._batching.file.rows_where(metric)

    def metrics(self) -> list[MetricSummary]:
        """Every metric with a stored figure, by key."""
        with self._reading():
            summaries = (record_of(MetricSummary, row) for row in self._table("metrics").all())
            return sorted(summaries, key=lambda m: m.key)

    def articles(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        feed: str | None = None,
        limit: int | None = None,
    ) -> list[StoredArticle]:
        """Stored articles, newest first by published date (fetched_at when there is none)."""
        low, high = iso(since), iso(until)

        def when(row: Mapping[str, Any]) -> str:
            stamp = row.get("published") or row.get("fetched_at")
            return canon(stamp) if stamp else ""

        def wanted(value: Mapping[str, Any]) -> bool:
            """The Query: a poll asks for the few articles near each new story's date, of thousands."""
            at = when(value)
            in_range = (low is None or at >= low) and (high is None or at < high)
            return in_range and (feed is None or value.get("feed") == feed)

        with self._reading():
            rows = self._table("articles").search(wanted)
            rows.sort(key=lambda row: (when(row), row.doc_id), reverse=True)
            return [stored_article(row) for row in rows[:limit]]

    def feed_totals(self) -> dict[str, tuple[int, int]]:
        """Feed name → (articles, figures) stored from it."""
        with self._reading():
            totals: dict[str, list[int]] = {}
            for column, name in enumerate(("articles", "figures")):
                for row in self._table(name):
                    totals.setdefault(row.get("feed") or "", [0, 0])[column] += 1
            return {name: (articles, figures) for name, (articles, figures) in totals.items()}

    def pending_alerts(self) -> list[Alert]:
        """Alerts not yet delivered nor dropped, oldest first: what the next delivery posts."""
        return [alert for alert in self.unsent_alerts() if alert.dropped_at is None]

    def unsent_alerts(self) -> list[Alert]:
        """Every alert not delivered, oldest first: waiting, held by an error, or dropped (``dropped_at``)."""
        with self._reading():
            waiting = [row for row in self._table("alerts") if unsent(row)]
            waiting.sort(key=lambda row: (canon(row.get("created_at") or ""), row.doc_id))
            return [record_of(Alert, row) for row in waiting]

    def thread_ts_in(self, channel: str, thread_key: str) -> str | None:
        """The Slack ts of the first message posted to ``channel`` that told ``thread_key`` (a metric): the
        thread its later alerts in that channel reply to. A message of another channel is never a thread."""

        tells = (where("thread_key") == thread_key) | where("roots").any([thread_key])
        posted = (where("sent_channel") == channel) & where("sent_ts").test(bool)
        with self._reading():
            sent = self._table("alerts").search(posted & tells)
            first = min(sent, key=lambda row: (canon(row.get("created_at") or ""), row.doc_id), default=None)
            return None if first is None else str(first["sent_ts"])

    def sent_alert(self, key: str) -> Alert | None:
        """The alert with this idempotency key once Slack accepted it (its ``sent_ts`` set), else None."""
        with self._reading() as lookups:
            row = self._table("alerts").get(doc_id=lookups.keys["alerts"].get(key) or 0)
            return record_of(Alert, row) if row is not None and row.get("sent_ts") else None

    # --- writes --------------------------------------------------------------------------------------------

    def save_poll(self, record: PollRecord) -> list[Alert]:
        """Store one poll in one atomic write: the feed's state, its stories (articles, figures, metrics) and
        its alerts, skipping alerts whose key is already in the outbox. Returns the alerts enqueued."""
        return self.wait_saved(self.stage_poll(record))

    def wait_saved(self, staged: Staged) -> list[Alert]:
        """The staged poll's alerts, once it is on disk (written now with every change staged by then, unless
        a write under way holds it). StoreError when the write failed: the change is then gone from memory."""
        self._batching.settle(Ticket(staged.ticket))
        return list(staged.alerts)

    def stage_poll(self, record: PollRecord) -> Staged:
        """``save_poll`` in memory only: every later read in this process sees the poll at once (the next
        feed's stories are told apart from it), and ``wait_saved`` puts it on disk, atomically, with whatever
        else is staged by then. Until then the file lock stays held and a crash loses it whole."""
        with self._staging() as (writes, ticket):
            now = self._now()
            writes.put("feeds", row_of(record.state))
            for story in record.stories:
                save_story(writes, story)
            for story in record.refreshed:
                refresh_story(writes, story)
            for sighting in record.sightings:
                add_source(writes, sighting)
            enqueued = []
            for alert in record.alerts:
                if alert.key not in writes.lookups.keys["alerts"]:
                    queued = replace(alert, created_at=alert.created_at or now)
                    writes.put("alerts", queued_row(queued))
                    enqueued.append(queued)
            if self.retention_days is not None and prune_due(self._meta(), now):
                writes.apply()
                writes.rows = {name: {} for name in writes.rows}
                self._prune(now - timedelta(days=self.retention_days), now)
        return Staged(ticket.number, tuple(enqueued))

    def _prune(self, cutoff: datetime, now: datetime) -> tuple[int, int]:
        """Prune inside a change and note when; the lookups are built again (they only know how to add)."""
        assert self._lookups is not None
        removed = prune(self._db, self._lookups, cutoff)
        self._table("meta").upsert(Document({"pruned_at": iso(now)}, doc_id=1))
        self._lookups = None
        return removed

    def mark_sending(self, keys: Iterable[str]) -> None:
        """Note, in one write, that posts of these alerts are starting. Until ``record_deliveries`` hears how
        they went, a crash leaves them in doubt: posted or not, nobody knows (see ``recover_interrupted``)."""
        with self._changing() as writes:
            now = iso(self._now())
            for _, row in list(keys_in(writes, "alerts", keys)):
                writes.put("alerts", sending_row(row, now))

    def recover_interrupted(self) -> list[str]:
        """Count every post still marked as under way as interrupted (call it before delivering, when no post
        can be under way: the process that started it died). Returns the keys of those alerts."""
        sending = where("sending_at").test(bool)
        with self._reading():
            if not self._table("alerts").search(sending):
                return []
        with self._changing() as writes:
            rows = self._table("alerts").search(sending)
            for row in rows:
                writes.put("alerts", interrupted_row(dict(row)))
            return [row["key"] for row in rows]

    def record_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Count each attempt on its alert, in one write: its error, or its Slack ts and when it was sent.

        A permanent error remembers the route it holds for (``Alert.blocked``); other outcomes clear it."""
        if not deliveries:
            return
        with self._changing() as writes:
            now = iso(self._now())
            for delivery in deliveries:
                for _, row in keys_in(writes, "alerts", [delivery.key]):
                    writes.put("alerts", delivered_row(row, delivery, now))

    def prune(self, before: datetime) -> tuple[int, int]:
        """``retention`` up to a date: prune what was last fetched or observed before ``before``."""
        with self._changing():
            return self._prune(before, self._now())

    # --- copying between engines (``store migrate``, ``store info``) ----------------------------------------

    def info(self) -> StoreInfo:
        """The engine, the file, its schema version, rows per table and the file's size."""
        with self._reading():
            version = int(self._meta().get("schema_version") or 0)
            rows = {name: len(self._table(name)) for name in COPIED_TABLES}
        return StoreInfo("tinydb", str(self.path), version, rows, self.path.stat().st_size)

    def table_rows(self, table: str) -> list[Row]:
        """Every row of ``table``, in insertion order."""
        with self._reading():
            return [dict(row) for row in sorted(self._table(table).all(), key=lambda row: row.doc_id)]

    def load_rows(self, tables: dict[str, list[Row]]) -> None:
        """Add rows copied from another store, table by table, in one write."""
        with self._changing() as writes:
            for name, rows in tables.items():
                for row in rows:
                    writes.put(name, row)

    # --- operations (`health`, `outbox retry|drop`) -------------------------------------------------------

    def write_heartbeat(self, beat: Heartbeat) -> None:
        """Say the scheduler is alive, and how its feeds and outbox fare (``read_heartbeat`` reads it)."""
        write_heartbeat(heartbeat_path(self.path), beat)

    def _edit_unsent(self, keys: Iterable[str], edit: Callable[[Row], Row]) -> list[str]:
        with self._changing() as writes:
            changed = []
            for key, row in list(keys_in(writes, "alerts", keys)):
                if unsent(row):
                    writes.put("alerts", edit(row))
                    changed.append(key)
            return changed
