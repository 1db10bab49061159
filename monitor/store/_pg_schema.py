"""The PostgreSQL store's tables, versioned: each migration runs once, in order, in its own transaction, and
``schema_version`` lists those applied. Private to ``store``.

Every table keeps, in ``data``, the same row the TinyDB file holds (so both engines share ``_rows`` and
``_edits`` and a store copies between them unchanged); the fields the store looks up, sorts or keeps unique
on are columns beside it: a story's URL, GUID and sources, an alert's idempotency key, a figure's metric and
dates.
"""

from __future__ import annotations

import psycopg

from ..errors import StoreError

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE meta (name text PRIMARY KEY, value text)""",
        """CREATE TABLE feeds (name text PRIMARY KEY, data jsonb NOT NULL)""",
        """CREATE TABLE metrics (key text PRIMARY KEY, data jsonb NOT NULL)""",
        """CREATE TABLE articles (
            id bigserial PRIMARY KEY,
            url text NOT NULL UNIQUE,
            guid text UNIQUE,
            feed text NOT NULL,
            content_hash text,
            headline text,
            stamp timestamptz,
            fetched_at timestamptz,
            data jsonb NOT NULL)""",
        """CREATE INDEX articles_content_hash ON articles (content_hash)""",
        """CREATE INDEX articles_headline ON articles (headline)""",
        """CREATE INDEX articles_stamp ON articles (stamp)""",
        """CREATE TABLE article_sources (
            article_id bigint NOT NULL REFERENCES articles ON DELETE CASCADE,
            position int NOT NULL,
            url text NOT NULL,
            guid text,
            PRIMARY KEY (article_id, position))""",
        """CREATE INDEX article_sources_url ON article_sources (url)""",
        """CREATE INDEX article_sources_guid ON article_sources (guid)""",
        """CREATE TABLE figures (
            id bigserial PRIMARY KEY,
            metric text NOT NULL,
            article_url text,
            feed text,
            qualifier text,
            published timestamptz,
            observed_at timestamptz NOT NULL,
            data jsonb NOT NULL)""",
        """CREATE INDEX figures_metric_published ON figures (metric, published)""",
        # history's order (published, else observed; then observed; then insertion), so a metric's newest
        # rows are read from the index, whatever the table's size
        """CREATE INDEX figures_metric_history
            ON figures (metric, (coalesce(published, observed_at)) DESC, observed_at DESC, id DESC)""",
        """CREATE INDEX figures_article_url ON figures (article_url)""",
        """CREATE INDEX figures_observed_at ON figures (observed_at)""",
        """CREATE TABLE alerts (
            id bigserial PRIMARY KEY,
            key text NOT NULL UNIQUE,
            created_at timestamptz,
            thread_key text,
            pending boolean NOT NULL DEFAULT true,
            data jsonb NOT NULL)""",
        """CREATE INDEX alerts_pending ON alerts (created_at, id) WHERE pending""",
        """CREATE INDEX alerts_thread ON alerts (thread_key) WHERE thread_key IS NOT NULL""",
    ),
    2: (
        # which worker polled each feed last, and when it may be polled again (workers claim due feeds)
        """CREATE TABLE feed_claims (
            name text PRIMARY KEY,
            worker text,
            polled_at timestamptz,
            next_poll timestamptz NOT NULL DEFAULT '-infinity')""",
    ),
    3: (
        # a message starts the thread of each metric in its roots (a story's moves): thread_ts_in finds it
        """CREATE INDEX alerts_roots ON alerts USING gin ((data->'roots'))""",
    ),
}
PG_SCHEMA_VERSION = max(MIGRATIONS)
# Any constant shared by every gba-monitor: two processes starting at once migrate one after the other.
_MIGRATION_LOCK = 0x6762_6101


def migrate(conn: psycopg.Connection, where: str) -> int:
    """Apply the migrations the database lacks; returns its schema version. StoreError for a newer one."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version"
            " (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        (version,) = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone() or (0,)
        if version > PG_SCHEMA_VERSION:
            raise StoreError(
                f"store: {where} has schema version {version}, newer than this gba-monitor's"
                f" ({PG_SCHEMA_VERSION}); upgrade gba-monitor"
            )
        for number in range(version + 1, PG_SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
    return PG_SCHEMA_VERSION
