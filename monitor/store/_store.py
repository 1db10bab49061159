"""Feed states, articles, figures, metrics and the alert outbox, in one TinyDB file: the only user of TinyDB.

The file (see ``store._file``) holds six tables a newcomer can read with ``TinyDB(path)`` or any JSON viewer:

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

Dates are UTC ISO 8601 strings with microseconds and offset, so they also sort as text.

How the threads of one process share the document, and how changes reach the file (staged, then written
together, atomically, under a file lock), is ``store._document``'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from filelock import FileLock, Timeout

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
from ._document import SharedDocument
from ._edits import (
    OperatorEdits,
    add_source,
    delivered_row,
    interrupted_row,
    prune,
    prune_due,
    queued_row,
    refresh_story,
    save_story,
    sending_row,
    unsent,
)
from ._file import PRIVATE_MODE
from ._heartbeat import heartbeat_path, write_heartbeat
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
        self._shared = SharedDocument(self.path)
        self._lock = self._shared.lock

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write what is staged, then release the scheduler lock (if taken) and the cached document."""
        try:
            self._shared.close()
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
        """Nothing to hold: one process owns a file."""
        yield

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Nothing to hold: one process owns a file (its threads take turns in ``poll``)."""
        yield

    def feed_workers(self) -> dict[str, str]:
        """Empty: one process owns a file."""
        return {}

    # --- reads ---------------------------------------------------------------------------------------------

    def feed_state(self, name: str) -> FeedState:
        """The stored state of feed ``name``; a fresh FeedState(name) when it was never polled."""
        with self._shared.reading() as (doc, index):
            doc_id = index.keys["feeds"].get(name)
            return FeedState(name) if doc_id is None else record_of(FeedState, doc["feeds"][doc_id])

    def feed_states(self) -> list[FeedState]:
        """Every stored feed state, by name."""
        with self._shared.reading() as (doc, _):
            return sorted((record_of(FeedState, row) for row in doc["feeds"].values()), key=lambda s: s.name)

    def is_known(self, *, guid: str | None, url: str) -> bool:
        """True when any feed already stored an article with this guid or canonical URL."""
        return self.find_article(guid=guid, url=url) is not None

    def find_article(self, *, guid: str | None, url: str) -> StoredArticle | None:
        """The stored story listed under this canonical URL or GUID, by any feed (its own or a later one)."""
        with self._shared.reading() as (doc, index):
            doc_id = index.keys["articles"].get(url) or index.aliases.get(url)
            if doc_id is None and guid is not None:
                doc_id = index.guids.get(guid) or index.alias_guids.get(guid)
            return None if doc_id is None else stored_article(doc["articles"][doc_id])

    def find_same_story(
        self, *, content_hash: str, headline: str, at: datetime, within: timedelta
    ) -> StoredArticle | None:
        """The stored story with this content fingerprint, else one whose folded headline is ``headline`` and
        that was published (or fetched) within ``within`` of ``at``."""
        with self._shared.reading() as (doc, index):
            doc_id = index.hashes.get(content_hash) if content_hash else None
            if doc_id is None and headline:
                low, high = iso(at - within), iso(at + within)
                for candidate in index.headlines.get(headline, ()):
                    row = doc["articles"][candidate]
                    stamp = row.get("published") or row.get("fetched_at")
                    if stamp and low <= canon(stamp) <= high:
                        doc_id = candidate
                        break
            return None if doc_id is None else stored_article(doc["articles"][doc_id])

    def article_figures(self, url: str) -> list[Figure]:
        """The figures stored for the article's current content (its last reading), in article order."""
        with self._shared.reading() as (doc, _):
            rows = [(int(i), r) for i, r in doc["figures"].items() if r.get("article_url") == url]
            if not rows:
                return []
            newest = max(canon(r["observed_at"]) for _, r in rows)
            rows.sort(key=lambda x: x[0])
            return [figure_of(r) for _, r in rows if canon(r["observed_at"]) == newest]

    def latest(self, metrics: Iterable[str]) -> dict[str, Observation]:
        """The newest stored observation of each metric that has one (by observed_at, then insertion)."""
        with self._shared.reading() as (doc, index):
            found = {metric: index.latest_id(doc, metric) for metric in set(metrics)}
            return {m: observation_of(doc["figures"][i]) for m, i in found.items() if i is not None}

    def recent(self, metrics: Iterable[str], *, limit: int = 50) -> dict[str, list[Observation]]:
        """Each metric's newest ``limit`` observations, in history order (newest first)."""
        with self._shared.reading() as (doc, index):
            return {metric: index.newest(doc, metric, limit) for metric in set(metrics)}

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
            rows = self._figures_of(metric)
            ranked = []
            for doc_id, row in rows:
                if feed is not None and row.get("feed") != feed:
                    continue
                when, observed = history_dates(row)
                if (low is None or when >= low) and (high is None or when < high):
                    ranked.append((when, observed, doc_id, row))
            ranked.sort(key=lambda r: r[:3], reverse=True)
            return [observation_of(row) for *_, row in ranked[:limit]]

    def _figures_of(self, metric: str | None) -> Iterable[tuple[int, Row]]:
        """(id, row) of the metric's figures (of all, for None). A process that has not loaded the document
        reads just these rows, by offset, when the file's index describes it: a CLI query parses ~1% of it."""
        if metric is not None and (found := self._shared.rows_where(metric)) is not None:
            return found
        doc, index = self._shared.load()
        figures = doc["figures"]
        ids = figures.keys() if metric is None else index.by_metric.get(metric, ())
        return ((int(doc_id), figures[doc_id]) for doc_id in ids)

    def metrics(self) -> list[MetricSummary]:
        """Every metric with a stored figure, by key."""
        with self._shared.reading() as (doc, _):
            summaries = (record_of(MetricSummary, row) for row in doc["metrics"].values())
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
        with self._shared.reading() as (doc, _):
            ranked = []
            for doc_id, row in doc["articles"].items():
                stamp = row.get("published") or row.get("fetched_at")
                when = canon(stamp) if stamp else ""
                if feed is not None and row.get("feed") != feed:
                    continue
                if (low is None or when >= low) and (high is None or when < high):
                    ranked.append((when, int(doc_id), row))
            ranked.sort(key=lambda r: r[:2], reverse=True)
            return [stored_article(row) for *_, row in ranked[:limit]]

    def feed_totals(self) -> dict[str, tuple[int, int]]:
        """Feed name → (articles, figures) stored from it."""
        with self._shared.reading() as (doc, _):
            totals: dict[str, list[int]] = {}
            for row in doc["articles"].values():
                totals.setdefault(row.get("feed") or "", [0, 0])[0] += 1
            for row in doc["figures"].values():
                totals.setdefault(row.get("feed") or "", [0, 0])[1] += 1
            return {name: (articles, figures) for name, (articles, figures) in totals.items()}

    def pending_alerts(self) -> list[Alert]:
        """Alerts not yet delivered nor dropped, oldest first: what the next delivery posts."""
        return [alert for alert in self.unsent_alerts() if alert.dropped_at is None]

    def unsent_alerts(self) -> list[Alert]:
        """Every alert not delivered, oldest first: waiting, held by an error, or dropped (``dropped_at``)."""
        with self._shared.reading() as (doc, _):
            waiting = [
                (canon(row.get("created_at") or ""), int(doc_id), row)
                for doc_id, row in doc["alerts"].items()
                if unsent(row)
            ]
            return [record_of(Alert, row) for *_, row in sorted(waiting, key=lambda w: w[:2])]

    def thread_ts_in(self, channel: str, thread_key: str) -> str | None:
        """The Slack ts of the first message posted to ``channel`` that told ``thread_key`` (a metric): the
        thread its later alerts in that channel reply to. A message of another channel is never a thread."""
        with self._shared.reading() as (doc, _):
            sent = [
                (canon(row.get("created_at") or ""), int(doc_id), row["sent_ts"])
                for doc_id, row in doc["alerts"].items()
                if row.get("sent_ts")
                and row.get("sent_channel") == channel
                and (row.get("thread_key") == thread_key or thread_key in (row.get("roots") or ()))
            ]
            return min(sent)[2] if sent else None

    def sent_alert(self, key: str) -> Alert | None:
        """The alert with this idempotency key once Slack accepted it (its ``sent_ts`` set), else None."""
        with self._shared.reading() as (doc, index):
            doc_id = index.keys["alerts"].get(key)
            row = doc["alerts"][doc_id] if doc_id is not None else None
            return record_of(Alert, row) if row is not None and row.get("sent_ts") else None

    # --- writes --------------------------------------------------------------------------------------------

    def save_poll(self, record: PollRecord) -> list[Alert]:
        """Store one poll in one atomic write: the feed's state, its stories (articles, figures, metrics) and
        its alerts, skipping alerts whose key is already in the outbox. Returns the alerts enqueued."""
        return self.wait_saved(self.stage_poll(record))

    def wait_saved(self, staged: Staged) -> list[Alert]:
        """The staged poll's alerts, once it is on disk (written now with every change staged by then, unless
        a write under way holds it). StoreError when the write failed: the change is then gone from memory."""
        self._shared.settle(staged.ticket)
        return list(staged.alerts)

    def stage_poll(self, record: PollRecord) -> Staged:
        """``save_poll`` in memory only: every later read in this process sees the poll at once (the next
        feed's stories are told apart from it), and ``wait_saved`` puts it on disk, atomically, with whatever
        else is staged by then. Until then the file lock stays held and a crash loses it whole."""
        with self._shared.changing() as change:
            doc, index = change.doc, change.index
            now = self._now()
            index.put(doc, "feeds", row_of(record.state))
            for story in record.stories:
                save_story(doc, index, story)
            for story in record.refreshed:
                refresh_story(doc, index, story)
            for sighting in record.sightings:
                add_source(doc, index, sighting)
            enqueued = []
            for alert in record.alerts:
                if alert.key not in index.keys["alerts"]:
                    queued = replace(alert, created_at=alert.created_at or now)
                    index.put(doc, "alerts", queued_row(queued))
                    enqueued.append(queued)
            if self.retention_days is not None and prune_due(doc, now):
                prune(doc, index, now - timedelta(days=self.retention_days), now=now)
                self._shared.reindex(doc)
        return Staged(change.ticket, tuple(enqueued))

    def mark_sending(self, keys: Iterable[str]) -> None:
        """Note, in one write, that posts of these alerts are starting. Until ``record_deliveries`` hears how
        they went, a crash leaves them in doubt: posted or not, nobody knows (see ``recover_interrupted``)."""
        with self._shared.writing() as (doc, index):
            now = iso(self._now())
            for key in keys:
                doc_id = index.keys["alerts"].get(key)
                if doc_id is not None:
                    doc["alerts"][doc_id] = sending_row(doc["alerts"][doc_id], now)

    def recover_interrupted(self) -> list[str]:
        """Count every post still marked as under way as interrupted (call it before delivering, when no post
        can be under way: the process that started it died). Returns the keys of those alerts."""
        with self._shared.reading() as (doc, _):
            if not any(row.get("sending_at") for row in doc["alerts"].values()):
                return []
        with self._shared.writing() as (doc, _):
            keys = []
            for doc_id, row in doc["alerts"].items():
                if row.get("sending_at"):
                    keys.append(row["key"])
                    doc["alerts"][doc_id] = interrupted_row(row)
            return keys

    def record_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Count each attempt on its alert, in one write: its error, or its Slack ts and when it was sent.

        A permanent error remembers the route it holds for (``Alert.blocked``); other outcomes clear it."""
        if not deliveries:
            return
        with self._shared.writing() as (doc, index):
            now = iso(self._now())
            for delivery in deliveries:
                doc_id = index.keys["alerts"].get(delivery.key)
                if doc_id is None:
                    continue
                doc["alerts"][doc_id] = delivered_row(doc["alerts"][doc_id], delivery, now)

    def prune(self, before: datetime) -> tuple[int, int]:
        """``retention`` up to a date: prune what was last fetched or observed before ``before``."""
        with self._shared.writing() as (doc, index):
            removed = prune(doc, index, before, now=self._now())
            self._shared.reindex(doc)
            return removed

    # --- copying between engines (``store migrate``, ``store info``) ----------------------------------------

    def info(self) -> StoreInfo:
        """The engine, the file, its schema version, rows per table and the file's size."""
        with self._shared.reading() as (doc, _):
            version = int(doc["meta"]["1"].get("schema_version") or 0)
            rows = {table: len(doc[table]) for table in COPIED_TABLES}
        return StoreInfo("tinydb", str(self.path), version, rows, self.path.stat().st_size)

    def table_rows(self, table: str) -> list[Row]:
        """Every row of ``table``, in insertion order."""
        with self._shared.reading() as (doc, _):
            return [row for _, row in sorted(doc[table].items(), key=lambda item: int(item[0]))]

    def load_rows(self, tables: dict[str, list[Row]]) -> None:
        """Add rows copied from another store, table by table, in one write."""
        with self._shared.writing(create=True) as (doc, index):
            for table, rows in tables.items():
                for row in rows:
                    index.put(doc, table, row)

    # --- operations (`health`, `outbox retry|drop`) -------------------------------------------------------

    def write_heartbeat(self, beat: Heartbeat) -> None:
        """Say the scheduler is alive, and how its feeds and outbox fare (``read_heartbeat`` reads it)."""
        write_heartbeat(heartbeat_path(self.path), beat)

    def _edit_unsent(self, keys: Iterable[str], edit: Callable[[Row], Row]) -> list[str]:
        with self._shared.writing() as (doc, index):
            changed = []
            for key in keys:
                doc_id = index.keys["alerts"].get(key)
                row = doc["alerts"].get(doc_id) if doc_id is not None else None
                if doc_id is not None and row is not None and unsent(row):
                    doc["alerts"][doc_id] = edit(row)
                    changed.append(key)
            return changed
