"""Feed states, articles, figures, metrics and the alert outbox, in one TinyDB file: the only user of TinyDB.

The file (see ``storage_file``) holds six tables a newcomer can read with ``TinyDB(path)`` or any JSON viewer:

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

Every change is a read-modify-write of the whole document under a file lock (``<store>.lock``): the file
is read again first when another process replaced it (a long-lived in-memory copy would lose its updates),
then written whole, atomically. A change can be staged first (``stage_poll``): made in memory, where every
later read in this process sees it, and written by the next write, which carries every change staged by
then, so threads saving at once share one write; the file lock is held until nothing staged waits for the
disk. Readers take no lock: the file is only ever replaced whole. Lookups (metric → figures, URL → article,
key → alert) are built once per loaded version of the file and kept current by our own changes. A
threading.RLock makes every method thread-safe.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import StoreError, StoreLocked
from .records import (
    Alert,
    Delivery,
    FeedState,
    Figure,
    MetricSummary,
    Observation,
    PollRecord,
    Sighting,
    StoredArticle,
    Story,
)
from .storage_file import SCHEMA_VERSION, AtomicJSONStorage, Document, new_document
from .store_rows import (
    Index,
    Row,
    canon,
    cells,
    figure_extras,
    figure_of,
    iso,
    metric_row,
    observation_of,
    parse_datetime,
    record_of,
    row_of,
    sources_of,
    sparse,
    stored_article,
    with_source,
)

LOCK_TIMEOUT_S = 60.0  # a write of 100,000 figures takes well under a second; a minute means a stuck process
PRUNE_EVERY = timedelta(hours=1)  # with retention_days, save_poll prunes at most this often


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Staged:
    """A poll's change, made in memory (see ``Store.stage_poll``) and not known to be on disk yet."""

    ticket: int
    alerts: tuple[Alert, ...]  # the alerts it enqueues


@dataclass(slots=True)
class _Change:
    """The document and lookups a change edits in place, and the ticket it gets once staged."""

    doc: Document
    index: Index
    ticket: int = 0


class Store:
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
        self._lock = threading.RLock()
        self._storage = AtomicJSONStorage(self.path, immutable_rows=True, index=("figures", "metric"))
        # Not thread-local: the thread that stages a change may not be the one whose write settles it.
        self._write_lock = FileLock(f"{self.path}.lock", timeout=LOCK_TIMEOUT_S, thread_local=False)
        self._file_locked = False
        self._flushing = threading.Lock()  # one write of the file at a time
        self._staged = self._saved = 0  # changes staged in memory / of those, the ones known to be on disk
        self._unsaved: Document | None = None  # the document holding staged changes not on disk yet
        self._dropped: dict[int, str] = {}  # staged changes a failed write lost → why
        self._scheduler_lock: FileLock | None = None
        self._index: Index | None = None
        self._indexed = -1  # the storage generation self._index describes
        self._swept = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"store: cannot create the folder for {self.path} ({exc.strerror})") from None
        with self._lock:
            if self._storage.indexed():
                return  # we wrote this file whole and at our version: no need to parse it now
            if self._storage.read() is None or self._storage.found_version < SCHEMA_VERSION:
                with self._writing(create=True):
                    pass
            self._load()  # checks every row the lookups rely on, so a broken file fails here

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write what is staged, then release the scheduler lock (if taken) and the cached document."""
        try:
            if self._staged > self._saved:
                self._settle(self._staged)
        finally:
            self._close()

    def _close(self) -> None:
        with self._lock:
            self._release_file()
            if self._scheduler_lock is not None:
                self._scheduler_lock.release()
                self._scheduler_lock = None
            self._storage.close()
            self._index, self._indexed = None, -1

    def lock_scheduler(self) -> None:
        """Claim the store for this process's scheduler until close(); StoreLocked if another one holds it."""
        with self._lock:
            if self._scheduler_lock is not None:
                return
            lock = FileLock(f"{self.path}.scheduler.lock", blocking=False, thread_local=False)
            try:
                lock.acquire()
            except Timeout:
                raise StoreLocked(f"store: another scheduler is already running on {self.path}") from None
            self._scheduler_lock = lock

    # --- reads ---------------------------------------------------------------------------------------------

    def feed_state(self, name: str) -> FeedState:
        """The stored state of feed ``name``; a fresh FeedState(name) when it was never polled."""
        with self._lock:
            doc, index = self._load()
            doc_id = index.keys["feeds"].get(name)
            return FeedState(name) if doc_id is None else record_of(FeedState, doc["feeds"][doc_id])

    def feed_states(self) -> list[FeedState]:
        """Every stored feed state, by name."""
        with self._lock:
            doc, _ = self._load()
            return sorted((record_of(FeedState, row) for row in doc["feeds"].values()), key=lambda s: s.name)

    def is_known(self, *, guid: str | None, url: str) -> bool:
        """True when any feed already stored an article with this guid or canonical URL."""
        return self.find_article(guid=guid, url=url) is not None

    def find_article(self, *, guid: str | None, url: str) -> StoredArticle | None:
        """The stored story listed under this canonical URL or GUID, by any feed (its own or a later one)."""
        with self._lock:
            doc, index = self._load()
            doc_id = index.keys["articles"].get(url) or index.aliases.get(url)
            if doc_id is None and guid is not None:
                doc_id = index.guids.get(guid) or index.alias_guids.get(guid)
            return None if doc_id is None else stored_article(doc["articles"][doc_id])

    def find_same_story(
        self, *, content_hash: str, headline: str, at: datetime, within: timedelta
    ) -> StoredArticle | None:
        """The stored story with this content fingerprint, else one whose folded headline is ``headline`` and
        that was published (or fetched) within ``within`` of ``at``."""
        with self._lock:
            doc, index = self._load()
            doc_id = index.hashes.get(content_hash) if content_hash else None
            if doc_id is None and headline:
                low, high = iso(at - within), iso(at + within)
                for candidate in index.headlines.get(headline, ()):
                    row = doc["articles"][candidate]
                    stamp = row.get("published") or row.get("fetched_at")
                    if stamp and low <= canon(stamp) <= high:  # type: ignore[operator]
                        doc_id = candidate
                        break
            return None if doc_id is None else stored_article(doc["articles"][doc_id])

    def article_figures(self, url: str) -> list[Figure]:
        """The figures stored for the article's current content (its last reading), in article order."""
        with self._lock:
            doc, _ = self._load()
            rows = [(int(i), r) for i, r in doc["figures"].items() if r.get("article_url") == url]
            if not rows:
                return []
            newest = max(canon(r["observed_at"]) for _, r in rows)
            rows.sort(key=lambda x: x[0])
            return [figure_of(r) for _, r in rows if canon(r["observed_at"]) == newest]

    def latest(self, metrics: Iterable[str]) -> dict[str, Observation]:
        """The newest stored observation of each metric that has one (by observed_at, then insertion)."""
        with self._lock:
            doc, index = self._load()
            found = {metric: index.latest_id(doc, metric) for metric in set(metrics)}
            return {m: index.observation(doc, i) for m, i in found.items() if i is not None}

    def recent(self, metrics: Iterable[str], *, limit: int = 50) -> dict[str, list[Observation]]:
        """Each metric's newest ``limit`` observations, in history order (newest first)."""
        with self._lock:
            doc, index = self._load()
            return {metric: index.newest(doc, metric, limit) for metric in set(metrics)}

    def series(self, metric: str, *, limit: int = 20) -> list[float]:
        """The metric's last ``limit`` values, oldest → newest (history order), for sparklines."""
        return [o.value for o in reversed(self.history(metric=metric, limit=limit))]

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
                observed = canon(row["observed_at"])
                when = canon(row["published"]) if row.get("published") else observed
                if (low is None or when >= low) and (high is None or when < high):
                    ranked.append((when, observed, doc_id, row))
            ranked.sort(key=lambda r: r[:3], reverse=True)
            return [observation_of(row) for *_, row in ranked[:limit]]

    def _figures_of(self, metric: str | None) -> Iterable[tuple[int, Row]]:
        """(id, row) of the metric's figures (of all, for None). A process that has not loaded the document
        reads just these rows, by offset, when the file's index describes it: a CLI query parses ~1% of it."""
        if metric is not None and not self._storage.cached:
            found = self._storage.rows_where(metric)
            if found is not None:
                return found
        doc, index = self._load()
        figures = doc["figures"]
        ids = figures.keys() if metric is None else index.by_metric.get(metric, ())
        return ((int(doc_id), figures[doc_id]) for doc_id in ids)

    def metrics(self) -> list[MetricSummary]:
        """Every metric with a stored figure, by key."""
        with self._lock:
            doc, _ = self._load()
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
        with self._lock:
            doc, _ = self._load()
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
        with self._lock:
            doc, _ = self._load()
            totals: dict[str, list[int]] = {}
            for row in doc["articles"].values():
                totals.setdefault(row.get("feed") or "", [0, 0])[0] += 1
            for row in doc["figures"].values():
                totals.setdefault(row.get("feed") or "", [0, 0])[1] += 1
            return {name: (articles, figures) for name, (articles, figures) in totals.items()}

    def pending_alerts(self) -> list[Alert]:
        """Alerts not yet delivered, oldest first."""
        with self._lock:
            doc, _ = self._load()
            waiting = [
                (canon(row.get("created_at") or ""), int(doc_id), row)
                for doc_id, row in doc["alerts"].items()
                if row.get("sent_at") is None and row.get("sent_ts") is None
            ]
            return [record_of(Alert, row) for *_, row in sorted(waiting, key=lambda w: w[:2])]

    def thread_ts(self, thread_key: str) -> str | None:
        """The Slack ts of the first delivered alert with this thread_key (what later alerts reply to)."""
        with self._lock:
            doc, _ = self._load()
            sent = [
                (canon(row.get("created_at") or ""), int(doc_id), row["sent_ts"])
                for doc_id, row in doc["alerts"].items()
                if row.get("thread_key") == thread_key and row.get("sent_ts")
            ]
            return min(sent)[2] if sent else None

    # --- writes --------------------------------------------------------------------------------------------

    def save_poll(self, record: PollRecord) -> list[Alert]:
        """Store one poll in one atomic write: the feed's state, its stories (articles, figures, metrics) and
        its alerts, skipping alerts whose key is already in the outbox. Returns the alerts enqueued."""
        return self.wait_saved(self.stage_poll(record))

    def wait_saved(self, staged: Staged) -> list[Alert]:
        """The staged poll's alerts, once it is on disk (written now with every change staged by then, unless
        a write under way holds it). StoreError when the write failed: the change is then gone from memory."""
        self._settle(staged.ticket)
        return list(staged.alerts)

    def stage_poll(self, record: PollRecord) -> Staged:
        """``save_poll`` in memory only: every later read in this process sees the poll at once (the next
        feed's stories are told apart from it), and ``wait_saved`` puts it on disk, atomically, with whatever
        else is staged by then. Until then the file lock stays held and a crash loses it whole."""
        with self._changing() as change:
            doc, index = change.doc, change.index
            now = self._now()
            index.put(doc, "feeds", row_of(record.state))
            for story in record.stories:
                self._save_story(doc, index, story)
            for story in record.refreshed:
                self._refresh_story(doc, index, story)
            for sighting in record.sightings:
                self._add_source(doc, index, sighting)
            enqueued = []
            for alert in record.alerts:
                if alert.key not in index.keys["alerts"]:
                    queued = replace(alert, created_at=alert.created_at or now)
                    index.put(doc, "alerts", sparse(row_of(queued) | {"sent_at": None}))
                    enqueued.append(queued)
            if self.retention_days is not None and self._prune_due(doc, now):
                self._prune(doc, index, now - timedelta(days=self.retention_days))
        return Staged(change.ticket, tuple(enqueued))

    def mark_sending(self, keys: Iterable[str]) -> None:
        """Note, in one write, that posts of these alerts are starting. Until ``record_deliveries`` hears how
        they went, a crash leaves them in doubt: posted or not, nobody knows (see ``recover_interrupted``)."""
        with self._writing() as (doc, index):
            now = iso(self._now())
            for key in keys:
                doc_id = index.keys["alerts"].get(key)
                if doc_id is not None:
                    doc["alerts"][doc_id] = sparse(doc["alerts"][doc_id] | {"sending_at": now})

    def recover_interrupted(self) -> list[str]:
        """Count every post still marked as under way as interrupted (call it before delivering, when no post
        can be under way: the process that started it died). Returns the keys of those alerts."""
        with self._lock:
            doc, _ = self._load()
            if not any(row.get("sending_at") for row in doc["alerts"].values()):
                return []
        with self._writing() as (doc, _):
            keys = []
            for doc_id, row in doc["alerts"].items():
                if row.get("sending_at"):
                    keys.append(row["key"])
                    interrupted = int(row.get("interrupted") or 0) + 1
                    doc["alerts"][doc_id] = sparse(row | {"sending_at": None, "interrupted": interrupted})
            return keys

    def record_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Count each attempt on its alert, in one write: its error, or its Slack ts and when it was sent.

        A permanent error remembers the route it holds for (``Alert.blocked``); other outcomes clear it."""
        if not deliveries:
            return
        with self._writing() as (doc, index):
            now = iso(self._now())
            for delivery in deliveries:
                doc_id = index.keys["alerts"].get(delivery.key)
                if doc_id is None:
                    continue
                row = doc["alerts"][doc_id]
                row = row | {
                    "attempts": int(row.get("attempts") or 0) + 1,
                    "last_error": delivery.error,
                    "attempted_at": None if delivery.ok else now,
                    "sending_at": None,
                    "blocked": delivery.route if delivery.permanent else None,
                }
                if delivery.ok:
                    row |= {"sent_ts": delivery.ts, "sent_at": now}
                doc["alerts"][doc_id] = sparse(row)

    def retention(self, days: int) -> tuple[int, int]:
        """Prune articles last fetched and figures observed more than ``days`` ago, keeping each metric's
        latest figure (and its article); the file is written compact. Returns (articles, figures) pruned."""
        with self._writing() as (doc, index):
            return self._prune(doc, index, self._now() - timedelta(days=days))

    # --- inside a write ------------------------------------------------------------------------------------

    def _save_story(self, doc: Document, index: Index, story: Story) -> None:
        """The story's article row, and its figures unless this same content was stored before."""
        old_id = index.keys["articles"].get(story.url)
        old = doc["articles"][old_id] if old_id is not None else {}
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
        )
        if old:  # a revision: the story keeps its first feed and every source
            row |= {"feed": old["feed"], "outlet": old.get("outlet", row["outlet"])}
        index.put(doc, "articles", row | {"sources": with_source(sources_of(old or row), story.source)})
        if story.content_hash and old.get("content_hash") == story.content_hash:
            return
        for figure in story.figures:
            row = row_of(Observation.of(story, figure)) | figure_extras(figure)
            index.put(doc, "figures", row)
            summary = index.keys["metrics"].get(row["metric"])
            index.put(doc, "metrics", metric_row(doc["metrics"][summary] if summary else None, row))

    def _refresh_story(self, doc: Document, index: Index, story: Story) -> None:
        """A stored story read again with no new figures: its content fingerprint, updated time and title."""
        doc_id = index.keys["articles"].get(story.url)
        if doc_id is None:
            return
        old = doc["articles"][doc_id]
        row = old | cells(
            content_hash=story.content_hash or old.get("content_hash") or "",
            updated=story.entry.updated,
            fetched_at=story.fetched_at,
        )
        if story.feed == old.get("feed"):
            row |= cells(title=story.title)
        index.put(doc, "articles", row)

    def _add_source(self, doc: Document, index: Index, sighting: Sighting) -> None:
        """One more source of a stored story (nothing when that feed already listed it under that URL)."""
        doc_id = index.keys["articles"].get(sighting.article_url)
        if doc_id is None:
            return  # pruned meanwhile
        row = doc["articles"][doc_id]
        index.put(doc, "articles", row | {"sources": with_source(sources_of(row), sighting.source)})

    def _prune_due(self, doc: Document, now: datetime) -> bool:
        pruned_at = doc["meta"]["1"].get("pruned_at")
        return pruned_at is None or now - parse_datetime(pruned_at) >= PRUNE_EVERY

    def _prune(self, doc: Document, index: Index, cutoff: datetime) -> tuple[int, int]:
        limit = iso(cutoff)
        keep = {index.latest_id(doc, metric) for metric in index.by_metric}
        figures = {i: r for i, r in doc["figures"].items() if i in keep or canon(r["observed_at"]) >= limit}
        cited = {row.get("article_url") for row in figures.values()}
        articles = {
            i: r
            for i, r in doc["articles"].items()
            if r["url"] in cited or canon(r.get("fetched_at") or limit) >= limit
        }
        removed = (len(doc["articles"]) - len(articles), len(doc["figures"]) - len(figures))
        doc["articles"], doc["figures"] = articles, figures
        doc["meta"]["1"] = doc["meta"]["1"] | {"pruned_at": iso(self._now())}
        self._index = Index(self.path, doc)
        return removed

    # --- loading and writing -------------------------------------------------------------------------------

    def _load(self) -> tuple[Document, Index]:
        """The current document (read again only when the file changed) and its lookups."""
        doc = self._storage.read()
        if doc is None:
            raise StoreError(f"store: {self.path} disappeared while in use; restart to create a new one")
        if self._index is None or self._indexed != self._storage.generation:
            self._index, self._indexed = Index(self.path, doc), self._storage.generation
        return doc, self._index

    @contextmanager
    def _writing(self, *, create: bool = False) -> Iterator[tuple[Document, Index]]:
        """One change to the document, on disk (with any staged before it) when the block ends."""
        with self._changing(create=create) as change:
            yield change.doc, change.index
        self._settle(change.ticket)

    @contextmanager
    def _changing(self, *, create: bool = False) -> Iterator[_Change]:
        """Under the thread lock: the document to change in place. The change is then staged: every later
        read in this process sees it, and ``_settle(change.ticket)`` returns once it is on disk.

        The file lock is taken with the first staged change and let go when none waits for the disk, so the
        document in memory is the file's plus our staged changes: no other process writes meanwhile. Rows are
        replaced, never mutated (the storage reuses the bytes of unchanged rows). On any error the cached
        document is dropped, and every staged change with it: nothing half-changed survives in memory."""
        with self._lock:
            if not self._file_locked:
                try:
                    self._write_lock.acquire(poll_interval=0.01)  # writes are short: check often
                except Timeout:
                    raise StoreError(
                        f"store: {self.path} stayed locked by another process for {LOCK_TIMEOUT_S:g}s "
                        f"({self.path}.lock)"
                    ) from None
                self._file_locked = True
            try:
                if not self._swept:
                    self._storage.remove_temporaries()
                    self._swept = True
                if create and self._storage.read() is None:
                    doc = new_document()
                    self._index, self._indexed = Index(self.path, doc), -1
                else:
                    doc, _ = self._load()
                    self._back_up_older()
                assert self._index is not None
                change = _Change(doc, self._index)
                yield change
                doc["meta"]["1"] = doc["meta"]["1"] | {"revision": doc["meta"]["1"].get("revision", 0) + 1}
            except BaseException as exc:
                self._drop(exc)
                raise
            self._unsaved = doc
            self._staged += 1
            change.ticket = self._staged

    def _settle(self, ticket: int) -> None:
        """Return once staged change ``ticket`` is on disk: write it now, with every change staged by then,
        unless a write already made holds it. Threads arriving during a write share the next one: a poll of
        200 feeds then makes a few dozen writes of the whole file instead of 200. StoreError when the write
        that held it failed. Never call it holding the thread lock (the writer needs it to swap the file)."""
        with self._flushing:
            with self._lock:
                if ticket in self._dropped:
                    raise StoreError(f"store: not saved to {self.path} ({self._dropped[ticket]})")
                if ticket <= self._saved:
                    return
                target = self._staged
            try:
                with self._lock:
                    assert self._unsaved is not None
                    version = self._storage.prepare(self._unsaved)
                # Bytes go to disk while other threads read and stage: only the swap needs the lock.
                self._storage.write_temporary(version)
                with self._lock:
                    self._storage.install(version)
                    self._indexed = self._storage.generation
                self._storage.settle(version)
            except BaseException as exc:
                with self._lock:
                    self._drop(exc)
                raise
            with self._lock:
                self._saved = target
                if self._saved == self._staged:
                    self._unsaved = None
                    self._release_file()

    def _drop(self, exc: BaseException) -> None:
        """Forget every staged change (the cached document holds them) after ``exc``; their _settle raises."""
        self._storage.forget()
        reason = str(exc) if isinstance(exc, StoreError) else f"an earlier change failed: {exc!r}"
        self._dropped.update(dict.fromkeys(range(self._saved + 1, self._staged + 1), reason))
        self._saved, self._unsaved = self._staged, None
        self._release_file()

    def _release_file(self) -> None:
        if self._file_locked:
            self._write_lock.release()
            self._file_locked = False

    def _back_up_older(self) -> None:
        """Before a migrated document replaces an older file, copy that file to <store>.v<N>.bak."""
        found = self._storage.found_version
        backup = self.path.with_name(f"{self.path.name}.v{found}.bak")
        if found < SCHEMA_VERSION and not backup.exists():
            try:
                shutil.copy2(self.path, backup)
            except OSError as exc:
                raise StoreError(f"store: cannot back up {self.path} before migrating it ({exc})") from None
