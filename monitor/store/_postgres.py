"""The PostgreSQL engine: the same store in a database that several workers, on several machines, share.

Each poll's record is one transaction; the rows are those of the TinyDB file (``_rows``, ``_edits``), kept in
``data`` beside the columns the store looks up by (see ``_pg_schema``). Connections come from a pool shared by
the process's threads; a short-lived command (``max_connections=1``) uses one plain connection instead, and
never loads psycopg_pool. The only user of psycopg and psycopg_pool.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

from ..clock import utc_now
from ..errors import StoreError
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
from ._edits import (
    OperatorEdits,
    delivered_row,
    interrupted_row,
    sending_row,
    unsent,
)
from ._heartbeat import heartbeat_path, write_heartbeat
from ._pg_claims import WorkerClaims, reason
from ._pg_schema import migrate
from ._pg_writes import LATEST_ORDER, load_rows, prune, record_poll
from ._protocol import COPIED_TABLES, Staged, StoreInfo
from ._rows import (
    MIN_HEADLINE_CHARS,
    Row,
    figure_of,
    iso,
    observation_of,
    record_of,
    stored_article,
)

# How figures rank as history, newest first (see ``_rows.history_key``).
HISTORY_ORDER = "coalesce(f.published, f.observed_at) DESC, f.observed_at DESC, f.id DESC"
RETRIES = 3  # a deadlock between two workers' polls aborts one of them: it runs again
PARSED_ARTICLES = 5_000  # parsed articles kept between reads (a few KB each, with their body signature)


def redacted(url: str) -> str:
    """The database URL without its password, for messages and logs."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    host, port, name = info.get("host") or "localhost", info.get("port") or "5432", info.get("dbname") or ""
    user = f"{info['user']}@" if info.get("user") else ""
    return f"postgresql://{user}{host}:{port}/{name}"


class PostgresStore(WorkerClaims, OperatorEdits):
    """The monitor's memory in PostgreSQL. ``PostgresStore(url)`` connects, migrates the schema, and raises
    StoreError for a server it cannot reach or a newer schema. ``retention_days`` prunes in save_poll;
    ``heartbeat`` is the ``storage.path`` beside which ``write_heartbeat`` writes."""

    def __init__(
        self,
        url: str,
        *,
        now: Callable[[], datetime] = utc_now,
        retention_days: int | None = None,
        max_connections: int = 8,
        worker: str | None = None,
        heartbeat: Path | None = None,
    ) -> None:
        self.url, self.where = url, redacted(url)
        self.heartbeat = heartbeat  # storage.path: its heartbeat file is this worker's (see write_heartbeat)
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.retention_days = retention_days
        self._now = now
        # One connection first: an unreachable server is one clear error at once, not a pool retrying.
        try:
            first = psycopg.connect(url, connect_timeout=10, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StoreError(f"store: cannot connect to {self.where} ({reason(exc)})") from None
        try:
            self.schema_version = migrate(first, self.where)
        except BaseException:
            first.close()
            raise
        self._pool: ConnectionPool | None = None
        self._only: psycopg.Connection | None = first
        self._taking_turns = threading.RLock()  # the threads of a one-connection store (an outbox's channels)
        self._recorder, self._recorder_turns = None, threading.Lock()  # see WorkerClaims.recording
        self._parsed: dict[int, tuple[str, StoredArticle]] = {}  # article id → (row version, article)
        self._parsing = threading.Lock()
        if max_connections > 1:
            first.close()
            self._only, self._pool = None, _pool(url, max_connections, self.where)

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection (each poll is already committed)."""
        self.close_sessions()
        if self._pool is not None:
            self._pool.close()
        if self._only is not None:
            self._only.close()

    def lock_scheduler(self) -> None:
        """Nothing to claim: any number of workers share a database (feeds are claimed one by one)."""

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection (or the one connection, in turn); a database error becomes StoreError naming
        the store."""
        failures: tuple[type[Exception], ...] = (psycopg.Error,)
        if self._pool is not None:
            from psycopg_pool import PoolTimeout  # loaded with the pool

            failures = (psycopg.Error, PoolTimeout)
        try:
            with self._borrowed() as conn:
                yield conn
        except failures as exc:
            text = str(exc).strip()
            raise StoreError(
                f"store: {self.where}: {text.splitlines()[0] if text else type(exc).__name__}"
            ) from None

    @contextmanager
    def _borrowed(self) -> Iterator[psycopg.Connection]:
        if self._pool is not None:
            with self._pool.connection() as conn:
                yield conn
            return
        with self._taking_turns:
            assert self._only is not None
            yield self._only

    def _rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection() as conn:
            return conn.execute(sql, params).fetchall()

    # --- reads ---------------------------------------------------------------------------------------------

    def feed_state(self, name: str) -> FeedState:
        """The stored state of feed ``name``; a fresh FeedState(name) when it was never polled."""
        found = self._rows("SELECT data FROM feeds WHERE name = %s", (name,))
        return record_of(FeedState, found[0][0]) if found else FeedState(name)

    def feed_states(self) -> list[FeedState]:
        """Every stored feed state, by name."""
        rows = self._rows('SELECT data FROM feeds ORDER BY name COLLATE "C"')
        return [record_of(FeedState, data) for (data,) in rows]

    def is_known(self, *, guid: str | None, url: str) -> bool:
        """True when any feed already stored an article with this guid or canonical URL."""
        return self.find_article(guid=guid, url=url) is not None

    def find_article(self, *, guid: str | None, url: str) -> StoredArticle | None:
        """The stored story listed under this canonical URL or GUID, by any feed (its own or a later one)."""
        found = self._rows(
            """SELECT data FROM (
                SELECT 1 AS rank, id, data FROM articles WHERE url = %(url)s
                UNION ALL SELECT 2, a.id, a.data FROM article_sources s
                    JOIN articles a ON a.id = s.article_id WHERE s.url = %(url)s
                UNION ALL SELECT 3, id, data FROM articles WHERE guid = %(guid)s
                UNION ALL SELECT 4, a.id, a.data FROM article_sources s
                    JOIN articles a ON a.id = s.article_id WHERE s.guid = %(guid)s
            ) found ORDER BY rank, id LIMIT 1""",
            {"url": url, "guid": guid},
        )
        return stored_article(found[0][0]) if found else None

    def find_same_story(
        self, *, content_hash: str, headline: str, at: datetime, within: timedelta
    ) -> StoredArticle | None:
        """The stored story with this content fingerprint, else one whose folded headline is ``headline`` and
        that was published (or fetched) within ``within`` of ``at``."""
        # One query (a round trip under the lock identity is told in): the fingerprint's story ranks first.
        found = self._rows(
            """SELECT data FROM (
                SELECT 1 AS rank, id, data FROM articles WHERE content_hash = %(hash)s
                UNION ALL SELECT 2, id, data FROM articles
                    WHERE headline = %(headline)s AND stamp BETWEEN %(since)s AND %(until)s
            ) found ORDER BY rank, id LIMIT 1""",
            {
                "hash": content_hash or None,
                "headline": headline if len(headline) >= MIN_HEADLINE_CHARS else None,
                "since": iso(at - within),
                "until": iso(at + within),
            },
        )
        return stored_article(found[0][0]) if found else None

    def article_figures(self, url: str) -> list[Figure]:
        """The figures stored for the article's current content (its last reading), in article order."""
        rows = self._rows(
            """SELECT data FROM figures WHERE article_url = %(url)s
               AND observed_at = (SELECT max(observed_at) FROM figures WHERE article_url = %(url)s)
               ORDER BY id""",
            {"url": url},
        )
        return [figure_of(data) for (data,) in rows]

    def latest(self, metrics: Iterable[str]) -> dict[str, Observation]:
        """The newest stored observation of each metric that has one (by observed_at, then insertion)."""
        rows = self._rows(
            f"""SELECT DISTINCT ON (f.metric) f.metric, f.data FROM figures f
                LEFT JOIN articles a ON a.url = f.article_url WHERE f.metric = ANY(%s)
                ORDER BY f.metric, {LATEST_ORDER}""",
            (list(set(metrics)),),
        )
        return {metric: observation_of(data) for metric, data in rows}

    def recent(self, metrics: Iterable[str], *, limit: int = 50) -> dict[str, list[Observation]]:
        """Each metric's newest ``limit`` observations, in history order (newest first)."""
        # One query for all of them (a poll asks under the identity lock): each metric's rows from its index.
        wanted = sorted(set(metrics))
        rows = self._rows(
            f"""SELECT m.metric, f.data FROM unnest(%s::text[]) AS m (metric) CROSS JOIN LATERAL (
                    SELECT f.data, f.published, f.observed_at, f.id FROM figures f WHERE f.metric = m.metric
                    ORDER BY {HISTORY_ORDER} LIMIT %s) f
                ORDER BY m.metric, {HISTORY_ORDER}""",
            (wanted, limit),
        )
        found: dict[str, list[Observation]] = {metric: [] for metric in wanted}
        for metric, data in rows:
            found[metric].append(observation_of(data))
        return found

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
        where, params = _filters(
            ("f.metric = %s", metric),
            ("f.feed = %s", feed),
            ("coalesce(f.published, f.observed_at) >= %s", iso(since)),
            ("coalesce(f.published, f.observed_at) < %s", iso(until)),
        )
        sql = f"SELECT f.data FROM figures f {where} ORDER BY {HISTORY_ORDER} LIMIT %s"
        return [observation_of(data) for (data,) in self._rows(sql, (*params, limit))]

    def metrics(self) -> list[MetricSummary]:
        """Every metric with a stored figure, by key."""
        rows = self._rows("SELECT data FROM metrics WHERE data <> 'null' ORDER BY key COLLATE \"C\"")
        return [record_of(MetricSummary, data) for (data,) in rows]

    def articles(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        feed: str | None = None,
        limit: int | None = None,
    ) -> list[StoredArticle]:
        """Stored articles, newest first by published date (fetched_at when there is none)."""
        where, params = _filters(
            ("feed = %s", feed), ("stamp >= %s", iso(since)), ("(stamp < %s OR stamp IS NULL)", iso(until))
        )
        sql = f"SELECT id, xmin::text FROM articles {where} ORDER BY stamp DESC NULLS LAST, id DESC LIMIT %s"
        return self._read_articles(self._rows(sql, (*params, limit)))

    def _read_articles(self, found: list[tuple[Any, ...]]) -> list[StoredArticle]:
        """The articles of these (id, row version) pairs, each parsed once per version.

        Each feed's poll looks for near twins among the articles of its week (``identity``): reading and
        parsing those rows again for every poll made its cost grow with the store. Only the row versions
        travel now; a row another worker changed has a new version and is read again.
        """
        with self._parsing:
            have = {i: self._parsed[i][1] for i, version in found if self._parsed.get(i, ("",))[0] == version}
        missing = [i for i, _ in found if i not in have]
        if missing:
            rows = self._rows("SELECT id, xmin::text, data FROM articles WHERE id = ANY(%s)", (missing,))
            parsed = {i: (version, stored_article(data)) for i, version, data in rows}
            have |= {i: article for i, (_, article) in parsed.items()}
            with self._parsing:
                if len(self._parsed) + len(parsed) > PARSED_ARTICLES:
                    self._parsed.clear()  # bounded memory: later reads parse their rows again
                self._parsed.update(parsed)
        return [have[i] for i, _ in found if i in have]  # (one pruned meanwhile is gone)

    def feed_totals(self) -> dict[str, tuple[int, int]]:
        """Feed name → (articles, figures) stored from it."""
        rows = self._rows(
            """SELECT feed, sum(articles)::bigint, sum(figures)::bigint FROM (
                SELECT coalesce(feed, '') AS feed, count(*) AS articles, 0 AS figures FROM articles GROUP BY 1
                UNION ALL SELECT coalesce(feed, ''), 0, count(*) FROM figures GROUP BY 1
            ) totals GROUP BY feed"""
        )
        return {feed: (int(articles), int(figures)) for feed, articles, figures in rows}

    def pending_alerts(self) -> list[Alert]:
        """Alerts not yet delivered nor dropped, oldest first: what the next delivery posts."""
        return self._alerts("pending AND NOT data ? 'dropped_at'")

    def unsent_alerts(self) -> list[Alert]:
        """Every alert not delivered, oldest first: waiting, held by an error, or dropped (``dropped_at``)."""
        return self._alerts("pending")

    def _alerts(self, where: str) -> list[Alert]:
        rows = self._rows(f"SELECT data FROM alerts WHERE {where} ORDER BY created_at NULLS FIRST, id")
        return [record_of(Alert, data) for (data,) in rows]

    def thread_ts_in(self, channel: str, thread_key: str) -> str | None:
        """The Slack ts of the first message posted to ``channel`` that told ``thread_key`` (a metric): the
        thread its later alerts in that channel reply to. A message of another channel is never a thread."""
        found = self._rows(
            """SELECT data->>'sent_ts' FROM alerts
               WHERE (thread_key = %(key)s OR data->'roots' ? %(key)s)
                 AND coalesce(data->>'sent_ts', '') <> '' AND data->>'sent_channel' = %(channel)s
               ORDER BY created_at NULLS FIRST, id LIMIT 1""",
            {"key": thread_key, "channel": channel},
        )
        return found[0][0] if found else None

    def sent_alert(self, key: str) -> Alert | None:
        """The alert with this idempotency key once Slack accepted it (its ``sent_ts`` set), else None."""
        found = self._rows(
            "SELECT data FROM alerts WHERE key = %(key)s AND coalesce(data->>'sent_ts', '') <> ''",
            {"key": key},
        )
        return record_of(Alert, found[0][0]) if found else None

    # --- writes --------------------------------------------------------------------------------------------

    def save_poll(self, record: PollRecord) -> list[Alert]:
        """Store one poll in one transaction: the feed's state, its stories (articles, figures, metrics) and
        its alerts, skipping alerts whose key is already in the outbox. Returns the alerts enqueued."""
        return self.wait_saved(self.stage_poll(record))

    def stage_poll(self, record: PollRecord) -> Staged:
        """``save_poll``: committed at once (a transaction is already what a TinyDB batch imitates)."""
        for attempt in range(RETRIES):
            try:
                # in the pipeline too: BEGIN waits for no answer, COMMIT for one
                with self.connection() as conn, conn.pipeline(), conn.transaction():
                    return Staged(0, tuple(record_poll(conn, record, self._now(), self.retention_days)))
            except StoreError as exc:
                if attempt == RETRIES - 1 or "deadlock" not in str(exc):
                    raise
        raise AssertionError("unreachable")

    def wait_saved(self, staged: Staged) -> list[Alert]:
        """The staged poll's alerts (its transaction is committed)."""
        return list(staged.alerts)

    def mark_sending(self, keys: Iterable[str]) -> None:
        """Note, in one transaction, that posts of these alerts are starting (see ``recover_interrupted``)."""
        now = iso(self._now())
        self._edit_alerts("key = ANY(%s)", (list(keys),), lambda row: sending_row(row, now))

    def recover_interrupted(self) -> list[str]:
        """Count every post still marked as under way as interrupted (call it before delivering, when no post
        can be under way: the process that started it died). Returns the keys of those alerts."""
        return self._edit_alerts("data ? 'sending_at'", (), interrupted_row)

    def record_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Count each attempt on its alert, in one transaction: its error, or its Slack ts and when sent."""
        if not deliveries:
            return
        now = iso(self._now())
        by_key = {d.key: d for d in deliveries}
        self._edit_alerts(
            "key = ANY(%s)", (list(by_key),), lambda row: delivered_row(row, by_key[row["key"]], now)
        )

    def _edit_unsent(self, keys: Iterable[str], edit: Callable[[Row], Row]) -> list[str]:
        keys = list(keys)
        changed = set(self._edit_alerts("key = ANY(%s) AND pending", (keys,), edit))
        return [key for key in keys if key in changed]

    def _edit_alerts(self, where: str, params: Sequence[Any], edit: Callable[[Row], Row]) -> list[str]:
        with self.connection() as conn, conn.transaction():
            rows = conn.execute(f"SELECT data FROM alerts WHERE {where} ORDER BY id FOR UPDATE", params)
            keys = []
            for (data,) in rows.fetchall():
                row = edit(data)
                conn.execute(
                    "UPDATE alerts SET data = %s, pending = %s WHERE key = %s",
                    (Jsonb(row), unsent(row), row["key"]),
                )
                keys.append(row["key"])
            return keys

    def prune(self, before: datetime) -> tuple[int, int]:
        """``retention`` up to a date: prune what was last fetched or observed before ``before``."""
        with self.connection() as conn, conn.transaction():
            return prune(conn, before, self._now())

    def write_heartbeat(self, beat: Heartbeat) -> None:
        """Say this worker's scheduler is alive, in the heartbeat file beside ``storage.path`` (as the TinyDB
        engine does): `health` checks the worker on its own machine, whose pid only that machine can see."""
        if self.heartbeat is None:
            raise StoreError(f"store: {self.where} was opened without a place for the heartbeat")
        self.heartbeat.parent.mkdir(parents=True, exist_ok=True)
        write_heartbeat(heartbeat_path(self.heartbeat), beat)

    # --- copying between engines (``store migrate``, ``store info``) ----------------------------------------

    def info(self) -> StoreInfo:
        """The engine, the database (no password), its schema version, rows per table and bytes used."""
        counts = " UNION ALL ".join(
            f"SELECT '{t}', count(*), pg_total_relation_size('{t}') FROM {t}"
            + (" WHERE data <> 'null'" if t == "metrics" else "")
            for t in (*COPIED_TABLES, "article_sources")
        )
        found = self._rows(counts)
        rows = {table: int(count) for table, count, _ in found if table in COPIED_TABLES}
        size = sum(int(size) for *_, size in found)
        return StoreInfo("postgresql", self.where, self.schema_version, rows, size)

    def table_rows(self, table: str) -> list[Row]:
        """Every row of ``table``, in insertion order."""
        order = {"feeds": "name", "metrics": "key"}.get(table, "id")
        return [
            data for (data,) in self._rows(f"SELECT data FROM {table} WHERE data <> 'null' ORDER BY {order}")
        ]

    def load_rows(self, tables: dict[str, list[Row]]) -> None:
        """Add rows copied from another store, in one transaction."""
        with self.connection() as conn, conn.transaction():
            load_rows(conn, tables)


def _pool(url: str, max_connections: int, where: str) -> ConnectionPool:
    """An open pool of up to ``max_connections``; StoreError when none connects within 10 s."""
    from psycopg_pool import ConnectionPool, PoolTimeout

    # No check on checkout: it costs a round trip per query (a 100-feed poll took 45 s with it, 34 s without).
    # A connection the server dropped fails its query once (a StoreError the poll records and retries) and
    # the pool, seeing it broken when it comes back, opens a new one.
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=max_connections,
        kwargs={"autocommit": True},
        open=False,
        name="gba-monitor",
    )
    try:
        pool.open(wait=True, timeout=10)
    except PoolTimeout:
        pool.close()
        raise StoreError(f"store: cannot connect to {where} (timed out)") from None
    return pool


def _filters(*conditions: tuple[str, Any]) -> tuple[str, list[Any]]:
    """A WHERE clause of the conditions whose value is set, and their values."""
    chosen = [(sql, value) for sql, value in conditions if value is not None]
    where = " AND ".join(sql for sql, _ in chosen)
    return (f"WHERE {where}" if where else ""), [value for _, value in chosen]
