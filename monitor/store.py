"""Feed states, articles, figures, metrics and the alert outbox, in one TinyDB file: the only user of TinyDB.

The file (see ``storage_file``) holds six tables a newcomer can read with ``TinyDB(path)`` or any JSON viewer:

    meta      schema_version, revision (one more per write), pruned_at
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

Every change is one read-modify-write of the whole document under a file lock (``<store>.lock``): the file
is read again first when another process replaced it (a long-lived in-memory copy would lose its updates),
then written once, atomically, so a poll is one write whatever it holds. Readers take no lock: the file is
only ever replaced whole. Lookups (metric → figures, URL → article, key → alert) are built once per loaded
version of the file and kept current by our own writes. A threading.RLock makes every method thread-safe.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
    Source,
    StoredArticle,
    Story,
    fold_headline,
)
from .storage_file import SCHEMA_VERSION, AtomicJSONStorage, Document, new_document, unreadable

LOCK_TIMEOUT_S = 60.0  # a write of 100,000 figures takes well under a second; a minute means a stuck process
PRUNE_EVERY = timedelta(hours=1)  # with retention_days, save_poll prunes at most this often
KEY_FIELDS = {"feeds": "name", "metrics": "key", "alerts": "key", "articles": "url"}
# Row fields holding dates (stored as text, read back as aware datetimes).
DATE_FIELDS = frozenset(
    {
        *("last_poll", "last_success", "next_retry", "failing_since"),  # feeds
        *("published", "observed_at", "fetched_at", "updated"),  # articles, figures
        *("created_at", "sent_at", "sending_at", "attempted_at"),  # alerts
        *("latest_published", "latest_observed_at", "previous_published", "previous_observed_at"),  # metrics
    }
)
Row = dict[str, Any]
# Alert fields stored only when they differ from these defaults.
SPARSE_ALERT_FIELDS: dict[str, Any] = {
    **dict.fromkeys(("feed", "story_url", "sending_at", "attempted_at", "blocked")),
    "summary": "",
    "interrupted": 0,
}
MIN_HEADLINE_CHARS = 12  # shorter folded headlines ("Market wrap") say too little to identify a story


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


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
        self._write_lock = FileLock(f"{self.path}.lock", timeout=LOCK_TIMEOUT_S)
        self._scheduler_lock: FileLock | None = None
        self._index: _Index | None = None
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
        """Release the scheduler lock (if taken) and the cached document."""
        with self._lock:
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
            return FeedState(name) if doc_id is None else _record(FeedState, doc["feeds"][doc_id])

    def feed_states(self) -> list[FeedState]:
        """Every stored feed state, by name."""
        with self._lock:
            doc, _ = self._load()
            return sorted((_record(FeedState, row) for row in doc["feeds"].values()), key=lambda s: s.name)

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
            return None if doc_id is None else _stored_article(doc["articles"][doc_id])

    def find_same_story(
        self, *, content_hash: str, headline: str, at: datetime, within: timedelta
    ) -> StoredArticle | None:
        """The stored story with this content fingerprint, else one whose folded headline is ``headline`` and
        that was published (or fetched) within ``within`` of ``at``."""
        with self._lock:
            doc, index = self._load()
            doc_id = index.hashes.get(content_hash) if content_hash else None
            if doc_id is None and headline:
                low, high = _iso(at - within), _iso(at + within)
                for candidate in index.headlines.get(headline, ()):
                    row = doc["articles"][candidate]
                    stamp = row.get("published") or row.get("fetched_at")
                    if stamp and low <= _canon(stamp) <= high:  # type: ignore[operator]
                        doc_id = candidate
                        break
            return None if doc_id is None else _stored_article(doc["articles"][doc_id])

    def article_figures(self, url: str) -> list[Figure]:
        """The figures stored for the article's current content (its last reading), in article order."""
        with self._lock:
            doc, _ = self._load()
            rows = [(int(i), r) for i, r in doc["figures"].items() if r.get("article_url") == url]
            if not rows:
                return []
            newest = max(_canon(r["observed_at"]) for _, r in rows)
            rows.sort(key=lambda x: x[0])
            return [_figure(r) for _, r in rows if _canon(r["observed_at"]) == newest]

    def latest(self, metrics: Iterable[str]) -> dict[str, Observation]:
        """The newest stored observation of each metric that has one (by observed_at, then insertion)."""
        with self._lock:
            doc, index = self._load()
            found = {metric: index.latest_id(doc, metric) for metric in set(metrics)}
            return {m: _observation(doc["figures"][i]) for m, i in found.items() if i is not None}

    def recent(self, metrics: Iterable[str], *, limit: int = 50) -> dict[str, list[Observation]]:
        """Each metric's last ``limit`` observations, newest first (history order)."""
        return {metric: self.history(metric=metric, limit=limit) for metric in set(metrics)}

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
        low, high = _iso(since), _iso(until)
        with self._lock:
            rows = self._figures_of(metric)
            ranked = []
            for doc_id, row in rows:
                if feed is not None and row.get("feed") != feed:
                    continue
                observed = _canon(row["observed_at"])
                when = _canon(row["published"]) if row.get("published") else observed
                if (low is None or when >= low) and (high is None or when < high):
                    ranked.append((when, observed, doc_id, row))
            ranked.sort(key=lambda r: r[:3], reverse=True)
            return [_observation(row) for *_, row in ranked[:limit]]

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
            summaries = (_record(MetricSummary, row) for row in doc["metrics"].values())
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
        low, high = _iso(since), _iso(until)
        with self._lock:
            doc, _ = self._load()
            ranked = []
            for doc_id, row in doc["articles"].items():
                stamp = row.get("published") or row.get("fetched_at")
                when = _canon(stamp) if stamp else ""
                if feed is not None and row.get("feed") != feed:
                    continue
                if (low is None or when >= low) and (high is None or when < high):
                    ranked.append((when, int(doc_id), row))
            ranked.sort(key=lambda r: r[:2], reverse=True)
            return [_stored_article(row) for *_, row in ranked[:limit]]

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
                (_canon(row.get("created_at") or ""), int(doc_id), row)
                for doc_id, row in doc["alerts"].items()
                if row.get("sent_at") is None and row.get("sent_ts") is None
            ]
            return [_record(Alert, row) for *_, row in sorted(waiting, key=lambda w: w[:2])]

    def thread_ts(self, thread_key: str) -> str | None:
        """The Slack ts of the first delivered alert with this thread_key (what later alerts reply to)."""
        with self._lock:
            doc, _ = self._load()
            sent = [
                (_canon(row.get("created_at") or ""), int(doc_id), row["sent_ts"])
                for doc_id, row in doc["alerts"].items()
                if row.get("thread_key") == thread_key and row.get("sent_ts")
            ]
            return min(sent)[2] if sent else None

    # --- writes --------------------------------------------------------------------------------------------

    def save_poll(self, record: PollRecord) -> list[Alert]:
        """Store one poll in one atomic write: the feed's state, its stories (articles, figures, metrics) and
        its alerts, skipping alerts whose key is already in the outbox. Returns the alerts enqueued."""
        with self._writing() as (doc, index):
            now = self._now()
            index.put(doc, "feeds", _row(record.state))
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
                    index.put(doc, "alerts", _sparse(_row(queued) | {"sent_at": None}))
                    enqueued.append(queued)
            if self.retention_days is not None and self._prune_due(doc, now):
                self._prune(doc, index, now - timedelta(days=self.retention_days))
        return enqueued

    def mark_sending(self, keys: Iterable[str]) -> None:
        """Note, in one write, that posts of these alerts are starting. Until ``record_deliveries`` hears how
        they went, a crash leaves them in doubt: posted or not, nobody knows (see ``recover_interrupted``)."""
        with self._writing() as (doc, index):
            now = _iso(self._now())
            for key in keys:
                doc_id = index.keys["alerts"].get(key)
                if doc_id is not None:
                    doc["alerts"][doc_id] = _sparse(doc["alerts"][doc_id] | {"sending_at": now})

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
                    doc["alerts"][doc_id] = _sparse(row | {"sending_at": None, "interrupted": interrupted})
            return keys

    def record_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Count each attempt on its alert, in one write: its error, or its Slack ts and when it was sent.

        A permanent error remembers the route it holds for (``Alert.blocked``); other outcomes clear it."""
        if not deliveries:
            return
        with self._writing() as (doc, index):
            now = _iso(self._now())
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
                doc["alerts"][doc_id] = _sparse(row)

    def retention(self, days: int) -> tuple[int, int]:
        """Prune articles last fetched and figures observed more than ``days`` ago, keeping each metric's
        latest figure (and its article); the file is written compact. Returns (articles, figures) pruned."""
        with self._writing() as (doc, index):
            return self._prune(doc, index, self._now() - timedelta(days=days))

    # --- inside a write ------------------------------------------------------------------------------------

    def _save_story(self, doc: Document, index: _Index, story: Story) -> None:
        """The story's article row, and its figures unless this same content was stored before."""
        old_id = index.keys["articles"].get(story.url)
        old = doc["articles"][old_id] if old_id is not None else {}
        row = _cells(
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
        index.put(doc, "articles", row | {"sources": _with_source(_sources_of(old or row), story.source)})
        if story.content_hash and old.get("content_hash") == story.content_hash:
            return
        for figure in story.figures:
            row = _row(Observation.of(story, figure)) | _figure_extras(figure)
            index.put(doc, "figures", row)
            summary = index.keys["metrics"].get(row["metric"])
            index.put(doc, "metrics", _metric_row(doc["metrics"][summary] if summary else None, row))

    def _refresh_story(self, doc: Document, index: _Index, story: Story) -> None:
        """A stored story read again with no new figures: its content fingerprint, updated time and title."""
        doc_id = index.keys["articles"].get(story.url)
        if doc_id is None:
            return
        old = doc["articles"][doc_id]
        row = old | _cells(
            content_hash=story.content_hash or old.get("content_hash") or "",
            updated=story.entry.updated,
            fetched_at=story.fetched_at,
        )
        if story.feed == old.get("feed"):
            row |= _cells(title=story.title)
        index.put(doc, "articles", row)

    def _add_source(self, doc: Document, index: _Index, sighting: Sighting) -> None:
        """One more source of a stored story (nothing when that feed already listed it under that URL)."""
        doc_id = index.keys["articles"].get(sighting.article_url)
        if doc_id is None:
            return  # pruned meanwhile
        row = doc["articles"][doc_id]
        index.put(doc, "articles", row | {"sources": _with_source(_sources_of(row), sighting.source)})

    def _prune_due(self, doc: Document, now: datetime) -> bool:
        pruned_at = doc["meta"]["1"].get("pruned_at")
        return pruned_at is None or now - _datetime(pruned_at) >= PRUNE_EVERY

    def _prune(self, doc: Document, index: _Index, cutoff: datetime) -> tuple[int, int]:
        limit = _iso(cutoff)
        keep = {index.latest_id(doc, metric) for metric in index.by_metric}
        figures = {i: r for i, r in doc["figures"].items() if i in keep or _canon(r["observed_at"]) >= limit}
        cited = {row.get("article_url") for row in figures.values()}
        articles = {
            i: r
            for i, r in doc["articles"].items()
            if r["url"] in cited or _canon(r.get("fetched_at") or limit) >= limit
        }
        removed = (len(doc["articles"]) - len(articles), len(doc["figures"]) - len(figures))
        doc["articles"], doc["figures"] = articles, figures
        doc["meta"]["1"] = doc["meta"]["1"] | {"pruned_at": _iso(self._now())}
        self._index = _Index(self.path, doc)
        return removed

    # --- loading and writing -------------------------------------------------------------------------------

    def _load(self) -> tuple[Document, _Index]:
        """The current document (read again only when the file changed) and its lookups."""
        doc = self._storage.read()
        if doc is None:
            raise StoreError(f"store: {self.path} disappeared while in use; restart to create a new one")
        if self._index is None or self._indexed != self._storage.generation:
            self._index, self._indexed = _Index(self.path, doc), self._storage.generation
        return doc, self._index

    @contextmanager
    def _writing(self, *, create: bool = False) -> Iterator[tuple[Document, _Index]]:
        """Under the thread and file locks: the freshly read document to change in place, then one write.

        Rows are replaced, never mutated (the storage reuses the bytes of unchanged rows). On any error the
        cached document is dropped, so nothing half-changed survives in memory either."""
        with self._lock:
            try:
                self._write_lock.acquire(poll_interval=0.01)  # writes are short: check often
            except Timeout:
                raise StoreError(
                    f"store: {self.path} stayed locked by another process for {LOCK_TIMEOUT_S:g}s "
                    f"({self.path}.lock)"
                ) from None
            try:
                if not self._swept:
                    self._storage.remove_temporaries()
                    self._swept = True
                if create and self._storage.read() is None:
                    doc = new_document()
                    self._index, self._indexed = _Index(self.path, doc), -1
                else:
                    doc, _ = self._load()
                    self._back_up_older()
                yield doc, self._index
                doc["meta"]["1"] = doc["meta"]["1"] | {"revision": doc["meta"]["1"].get("revision", 0) + 1}
                self._storage.write(doc)
                self._indexed = self._storage.generation
            except BaseException:
                self._storage.forget()
                raise
            finally:
                self._write_lock.release()

    def _back_up_older(self) -> None:
        """Before a migrated document replaces an older file, copy that file to <store>.v<N>.bak."""
        found = self._storage.found_version
        backup = self.path.with_name(f"{self.path.name}.v{found}.bak")
        if found < SCHEMA_VERSION and not backup.exists():
            try:
                shutil.copy2(self.path, backup)
            except OSError as exc:
                raise StoreError(f"store: cannot back up {self.path} before migrating it ({exc})") from None


class _Index:
    """Lookups over one loaded version of the document, built in one pass and kept current by put()."""

    def __init__(self, path: Path, doc: Document) -> None:
        table, doc_id = "meta", "1"  # where we are, for the error message
        try:
            self.next_id = {name: max(map(int, rows), default=0) + 1 for name, rows in doc.items()}
            self.keys: dict[str, dict[str, str]] = {}
            for table, field in KEY_FIELDS.items():
                found = self.keys[table] = {}
                for doc_id, row in doc[table].items():
                    found[_key(row[field])] = doc_id
            self.guids: dict[str, str] = {}
            self.aliases: dict[str, str] = {}  # URLs and GUIDs of later sightings → the stored story
            self.alias_guids: dict[str, str] = {}
            self.hashes: dict[str, str] = {}
            self.headlines: dict[str, list[str]] = {}
            table = "articles"
            for doc_id, row in doc["articles"].items():
                self._add_article(doc_id, row)
            table, by_metric = "figures", {}
            for doc_id, row in doc["figures"].items():  # 100,000 rows: keep this loop lean
                metric, observed, published = row["metric"], row["observed_at"], row.get("published")
                if metric in by_metric:
                    by_metric[metric].append(doc_id)
                else:
                    by_metric[_key(metric)] = [doc_id]
                if not (type(observed) is str and len(observed) == 32 and observed[26:] == "+00:00"):
                    _canon(observed)
                if published is not None and not (len(published) == 32 and published[26:] == "+00:00"):
                    _canon(published)
            self.by_metric: dict[str, list[str]] = by_metric
        except (KeyError, TypeError, ValueError) as exc:
            problem = f"no {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
            raise unreadable(path, f"{table} row {doc_id}: {problem}") from None
        self.latest: dict[
            str, tuple[str, int, bool, int, str]
        ] = {}  # metric → rank (see rank()), filled lazily

    def put(self, doc: Document, table: str, row: Row) -> str:
        """Insert ``row``, or replace the row with the same key; returns its id."""
        field = KEY_FIELDS.get(table)
        doc_id = self.keys[table].get(row[field]) if field else None
        if doc_id is None:
            doc_id = str(self.next_id[table])
            self.next_id[table] += 1
            if field:
                self.keys[table][row[field]] = doc_id
        doc[table][doc_id] = row
        if table == "articles":
            self._add_article(doc_id, row)
        if table == "figures":
            self.by_metric.setdefault(row["metric"], []).append(doc_id)
            rank = self.rank(row, doc_id)
            if row["metric"] in self.latest and rank > self.latest[row["metric"]]:
                self.latest[row["metric"]] = rank
        return doc_id

    def _add_article(self, doc_id: str, row: Row) -> None:
        """Index an article row by GUID, content fingerprint, folded headline, and its sources' URLs/GUIDs."""
        if row.get("guid") is not None:
            self.guids[row["guid"]] = doc_id
        if row.get("content_hash"):
            self.hashes.setdefault(row["content_hash"], doc_id)
        headline = fold_headline(row.get("title") or "")
        if len(headline) >= MIN_HEADLINE_CHARS and doc_id not in self.headlines.get(headline, ()):
            self.headlines.setdefault(headline, []).append(doc_id)
        for source in row.get("sources") or ():
            self.aliases.setdefault(source["url"], doc_id)
            if source.get("guid") is not None:
                self.alias_guids.setdefault(source["guid"], doc_id)

    def rank(self, row: Row, doc_id: str) -> tuple[str, int, bool, int, str]:
        """How a figure ranks as its metric's latest value: newest observed_at, then the later article, then
        within one article its first exact figure ("10,577 enterprises" over a later "over 10,000")."""
        article = self.keys["articles"].get(row.get("article_url") or "")
        return (
            _canon(row["observed_at"]),
            int(article or 0),
            row.get("qualifier") == "exact",
            -int(doc_id),
            doc_id,
        )

    def latest_id(self, doc: Document, metric: str) -> str | None:
        """The id of the metric's latest figure (see ``rank``)."""
        if metric not in self.latest:
            ids = self.by_metric.get(metric)
            if not ids:
                return None
            figures = doc["figures"]
            self.latest[metric] = max(self.rank(figures[i], i) for i in ids)
        return self.latest[metric][-1]


# --- rows ↔ records ----------------------------------------------------------------------------------------


def _metric_row(old: Row | None, figure: Row) -> Row:
    """The metric's summary row after ``figure`` was stored."""
    seen = {f: figure[f] for f in ("value", "published", "observed_at", "article_url")}
    if old is None:
        return {
            "key": figure["metric"],
            "label": figure["label"],
            "unit": figure["unit"],
            **{f"latest_{f}": v for f, v in seen.items()},
            **{f"previous_{f}": None for f in seen},
            "observations": 1,
        }
    row = old | {"observations": int(old.get("observations") or 0) + 1}
    latest_at, previous_at = old.get("latest_observed_at"), old.get("previous_observed_at")
    if latest_at is None or figure["observed_at"] >= _canon(latest_at):
        if figure["value"] != old.get("latest_value"):
            row |= {f"previous_{f}": old.get(f"latest_{f}") for f in seen}
        row |= {"label": figure["label"], "unit": figure["unit"]}
        row |= {f"latest_{f}": v for f, v in seen.items()}
    elif figure["value"] != old.get("latest_value") and (
        previous_at is None or figure["observed_at"] >= _canon(previous_at)
    ):
        row |= {f"previous_{f}": v for f, v in seen.items()}
    return row


def _row(record: Any) -> Row:
    """A record's fields as a row of JSON values."""
    return _cells(**{f.name: getattr(record, f.name) for f in fields(record)})


def _cells(**values: Any) -> Row:
    return {name: _cell(value) for name, value in values.items()}


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, Mapping):
        return {str(k): _cell(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cell(v) for v in value]
    return value


def _record(cls: type, row: Row) -> Any:
    """The record ``cls`` built from a row; missing fields take their defaults."""
    values = {}
    for f in fields(cls):
        if f.name in row:
            value = row[f.name]
            if f.name in DATE_FIELDS:
                value = _datetime(value)
            elif isinstance(value, list):
                value = tuple(value)
            values[f.name] = value
    return cls(**values)


def _sparse(alert: Row) -> Row:
    """An alert row without the bookkeeping fields that hold their defaults (most alerts never need them)."""
    return {k: v for k, v in alert.items() if k not in SPARSE_ALERT_FIELDS or v != SPARSE_ALERT_FIELDS[k]}


def _sources_of(row: Row) -> list[Row]:
    """The article's sources; a row from before sources were kept has its own feed as the only one."""
    if row.get("sources"):
        return list(row["sources"])
    return [_cells(feed=row["feed"], outlet=row.get("outlet") or row["feed"], url=row["url"],
                   title=row.get("title") or "", guid=row.get("guid"))]  # fmt: skip


def _with_source(sources: list[Row], source: Source) -> list[Row]:
    if any(s["feed"] == source.feed and s["url"] == source.url for s in sources):
        return sources
    return [*sources, _row(source)]


def _stored_article(row: Row) -> StoredArticle:
    article: StoredArticle = _record(StoredArticle, row)
    return replace(article, sources=tuple(_record(Source, s) for s in _sources_of(row)))


def _figure_extras(figure: Figure) -> Row:
    """What a figure row keeps beyond its Observation, when set: enough to compare a revised article again."""
    extras = {"conversion_of": figure.conversion_of, "direction": figure.direction}
    extras["range_high"] = figure.range_high
    return _cells(**{name: value for name, value in extras.items() if value is not None})


def _figure(row: Row) -> Figure:
    """A stored figure as the Figure it was (what a later reading of its article is compared with)."""
    return Figure(
        value=row["value"],
        unit=row["unit"],
        qualifier=row["qualifier"],
        subject=row["subject"],
        text=row["text"],
        sentence=row["sentence"],
        metric=row["metric"],
        label=row.get("label") or "",
        place=row.get("place"),
        period=row.get("period"),
        direction=row.get("direction"),
        conversion_of=row.get("conversion_of"),
        range_high=row.get("range_high"),
    )


def _observation(row: Row) -> Observation:
    observation: Observation = _record(Observation, row)
    return observation if observation.value is not None else replace(observation, value=float("nan"))


def _key(value: Any) -> str:
    if type(value) is not str:
        raise TypeError(f"{value!r} is not text")
    return value


def _text(value: Any) -> str:
    """``value`` as a string JSON can hold: lone surrogates (from odd feeds) become U+FFFD."""
    if type(value) is not str:
        raise TypeError(f"{value!r} is not text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _iso(value: datetime | None) -> str | None:
    """The stored form of a date: UTC ISO 8601 with microseconds (naive dates are taken as UTC)."""
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat("T", "microseconds")


def _canon(value: str) -> str:
    """A stored date string in the stored form (a hand-edited one may carry another offset)."""
    if len(value) == 32 and value.endswith("+00:00"):
        return value
    return _iso(datetime.fromisoformat(value)) or ""


def _datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
