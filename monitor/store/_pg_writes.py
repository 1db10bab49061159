"""What a poll changes in the PostgreSQL store, in the caller's transaction. Private to ``store``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from ..records import Alert, PollRecord, fold_headline
from ._edits import (
    PRUNE_EVERY,
    article_row,
    figure_rows,
    queued_row,
    refreshed_row,
    sighted_row,
    summary_rows,
    unsent,
)
from ._rows import MIN_HEADLINE_CHARS, Row, iso, json_text, metric_row, parse_datetime, row_of, sources_of

# How a metric's figures rank as its latest value (see ``_lookups.Lookups.rank``; within one article, as
# ``records.figure_rank``: an exact figure first, then the earlier).
LATEST_ORDER = "f.observed_at DESC, coalesce(a.id, 0) DESC, coalesce(f.qualifier = 'exact', false) DESC, f.id"


def record_poll(
    conn: psycopg.Connection, record: PollRecord, now: datetime, retention_days: int | None
) -> list[Alert]:
    """Store the poll's record in the caller's transaction; returns the alerts it enqueued."""
    state = row_of(record.state)
    conn.execute(
        """INSERT INTO feeds (name, data) VALUES (%s, %s)
           ON CONFLICT (name) DO UPDATE SET data = EXCLUDED.data""",
        (state["name"], Jsonb(state)),
    )
    summaries = _locked_metrics(conn, record)
    figures, summarised = [], []
    for story in record.stories:
        stored = _article(conn, story.url) or {}
        put_article(conn, article_row(story, stored))
        if not (story.content_hash and stored.get("content_hash") == story.content_hash):
            figures += figure_rows(story)
            summarised += summary_rows(story)
    for row in summarised:  # in poll order, as the TinyDB engine folds them
        summaries[row["metric"]] = metric_row(summaries[row["metric"]], row)
    insert_figures(conn, figures)
    _put_metrics(conn, {key: summary for key, summary in summaries.items() if summary is not None})
    for story in record.refreshed:
        if (old := _article(conn, story.url)) is not None:
            put_article(conn, refreshed_row(old, story))
    for sighting in record.sightings:
        if (old := _article(conn, sighting.article_url)) is not None:
            put_article(conn, sighted_row(old, sighting))
    if summaries:  # those of stories stored again unchanged got no figure
        conn.execute("DELETE FROM metrics WHERE key = ANY(%s) AND data = 'null'", (list(summaries),))
    enqueued = []
    for alert in record.alerts:
        queued = replace(alert, created_at=alert.created_at or now)
        row = queued_row(queued)
        if insert_alert(conn, row):
            enqueued.append(queued)
    if retention_days is not None and prune_due(conn, now):
        prune(conn, now - timedelta(days=retention_days), now)
    return enqueued


def _article(conn: psycopg.Connection, url: str) -> Row | None:
    found = conn.execute("SELECT data FROM articles WHERE url = %s FOR UPDATE", (url,)).fetchone()
    return found[0] if found else None


def put_article(conn: psycopg.Connection, row: Row) -> None:
    """Insert or replace the article row with its URL, and list its sources."""
    if row.get("guid") is not None:  # the newest story with a GUID holds it (as TinyDB's index does)
        conn.execute(
            "UPDATE articles SET guid = NULL WHERE guid = %s AND url <> %s", (row["guid"], row["url"])
        )
    headline = fold_headline(row.get("title") or "")
    inserted = conn.execute(
        """INSERT INTO articles (url, guid, feed, content_hash, headline, stamp, fetched_at, data)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (url) DO UPDATE SET guid = EXCLUDED.guid, feed = EXCLUDED.feed,
               content_hash = EXCLUDED.content_hash, headline = EXCLUDED.headline, stamp = EXCLUDED.stamp,
               fetched_at = EXCLUDED.fetched_at, data = EXCLUDED.data
           RETURNING id""",
        (
            row["url"],
            row.get("guid"),
            row["feed"],
            row.get("content_hash") or None,
            headline if len(headline) >= MIN_HEADLINE_CHARS else None,
            row.get("published") or row.get("fetched_at"),
            row.get("fetched_at"),
            Jsonb(row),
        ),
    ).fetchone()
    assert inserted is not None  # RETURNING gives the row it wrote
    (article_id,) = inserted
    conn.execute("DELETE FROM article_sources WHERE article_id = %s", (article_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO article_sources (article_id, position, url, guid) VALUES (%s, %s, %s, %s)",
            [(article_id, i, s["url"], s.get("guid")) for i, s in enumerate(sources_of(row))],
        )


def _locked_metrics(conn: psycopg.Connection, record: PollRecord) -> dict[str, Row | None]:
    """The summary rows of the poll's metrics (None for a new one), locked in one order: two workers storing
    the same metrics never deadlock on them."""
    metrics = sorted({json_text(f.metric) for story in record.stories for f in story.figures})
    if not metrics:
        return {}
    conn.execute(
        "INSERT INTO metrics (key, data) SELECT unnest(%s::text[]), 'null' ON CONFLICT DO NOTHING", (metrics,)
    )
    found = conn.execute(
        "SELECT key, data FROM metrics WHERE key = ANY(%s) ORDER BY key FOR UPDATE", (metrics,)
    ).fetchall()
    return dict(found)


def _put_metrics(conn: psycopg.Connection, summaries: dict[str, Row]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE metrics SET data = %s WHERE key = %s",
            [(Jsonb(row), key) for key, row in summaries.items()],
        )


def insert_figures(conn: psycopg.Connection, rows: list[Row]) -> None:
    """Insert figure rows, nothing else (one round trip: psycopg pipelines executemany)."""
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO figures (metric, article_url, feed, qualifier, published, observed_at, data)
               VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            [(row["metric"], row.get("article_url"), row.get("feed"), row.get("qualifier"),
              row.get("published"), row["observed_at"], Jsonb(row)) for row in rows],
        )  # fmt: skip


def prune_due(conn: psycopg.Connection, now: datetime) -> bool:
    found = conn.execute("SELECT value FROM meta WHERE name = 'pruned_at'").fetchone()
    return found is None or now - (parse_datetime(found[0]) or now) >= PRUNE_EVERY


def prune(conn: psycopg.Connection, cutoff: datetime, now: datetime) -> tuple[int, int]:
    """Drop figures observed and articles fetched before ``cutoff``, keeping each metric's latest figure and
    the articles figures still cite. Returns (articles, figures) removed."""
    figures = conn.execute(
        f"""DELETE FROM figures WHERE observed_at < %s AND id NOT IN (
                SELECT DISTINCT ON (f.metric) f.id FROM figures f
                LEFT JOIN articles a ON a.url = f.article_url ORDER BY f.metric, {LATEST_ORDER})""",
        (iso(cutoff),),
    ).rowcount
    articles = conn.execute(
        """DELETE FROM articles a WHERE fetched_at < %s
           AND NOT EXISTS (SELECT 1 FROM figures f WHERE f.article_url = a.url)""",
        (iso(cutoff),),
    ).rowcount
    conn.execute(
        """INSERT INTO meta (name, value) VALUES ('pruned_at', %s)
           ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value""",
        (iso(now),),
    )
    return articles, figures


def insert_alert(conn: psycopg.Connection, row: Row) -> bool:
    """Insert an alert row unless its key is in the outbox; True when it was inserted."""
    inserted = conn.execute(
        """INSERT INTO alerts (key, created_at, thread_key, pending, data) VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (key) DO NOTHING RETURNING id""",
        (row["key"], row.get("created_at"), row.get("thread_key"), unsent(row), Jsonb(row)),
    ).fetchone()
    return inserted is not None


def load_rows(conn: psycopg.Connection, tables: dict[str, list[Row]]) -> None:
    """Add rows copied from another store, in the caller's transaction."""
    for table, rows in tables.items():
        if table == "figures":
            insert_figures(conn, rows)
        for row in rows:
            if table == "articles":
                put_article(conn, row)
            elif table == "alerts":
                insert_alert(conn, row)
            elif table in ("feeds", "metrics"):
                key = "name" if table == "feeds" else "key"
                conn.execute(f"INSERT INTO {table} ({key}, data) VALUES (%s, %s)", (row[key], Jsonb(row)))
