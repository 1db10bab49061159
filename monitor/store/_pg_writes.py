"""What a poll changes in the PostgreSQL store, in the caller's transaction. Private to ``store``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

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
    """Store the poll's record in the caller's transaction; returns the alerts it enqueued.

    Two round trips whatever the poll's size, in a pipeline: the rows the poll changes are read (and locked)
    at once, then every write is sent without waiting for the one before, and read back once (the alerts'
    inserts tell which keys were new). The record is written while workers take turns telling stories'
    identity (see ``poll``): each round trip to the server kept every other feed waiting.
    """
    with conn.pipeline():
        state = row_of(record.state)
        conn.execute(
            """INSERT INTO feeds (name, data) VALUES (%s, %s)
               ON CONFLICT (name) DO UPDATE SET data = EXCLUDED.data""",
            (state["name"], Jsonb(state)),
        )
        metrics = _lock_metrics(conn, record)
        articles = conn.execute(
            "SELECT url, data FROM articles WHERE url = ANY(%s) ORDER BY url FOR UPDATE", (_urls(record),)
        )
        summaries = dict(metrics.fetchall()) if metrics else {}
        _write_stories(conn, record, summaries, dict(articles.fetchall()))
        queued = [replace(alert, created_at=alert.created_at or now) for alert in record.alerts]
        inserted = [(alert, _insert_alert(conn, queued_row(alert))) for alert in queued]
        # Read last, whatever the poll: an error of any write before it is raised here, in the transaction
        # (the pipeline's end would raise it too, and log it besides).
        pruned_at = conn.execute("SELECT value FROM meta WHERE name = 'pruned_at'").fetchone()
        enqueued = [alert for alert, cursor in inserted if cursor.fetchone() is not None]
        if retention_days is not None and _prune_due(pruned_at, now):
            prune(conn, now - timedelta(days=retention_days), now)  # (its counts, unread, need no answer)
    return enqueued


def _urls(record: PollRecord) -> list[str]:
    """The URLs of the article rows the poll may rewrite."""
    urls = {story.url for story in (*record.stories, *record.refreshed)}
    return sorted(urls | {sighting.article_url for sighting in record.sightings})


def _write_stories(
    conn: psycopg.Connection, record: PollRecord, summaries: dict[str, Row | None], stored: dict[str, Row]
) -> None:
    """Send the writes of the poll's stories, stories read again and sightings. ``stored`` holds their
    article rows by URL; each edit applies to the row as the poll's writes before it left it."""
    figures, summarised, written = [], [], []

    def write(row: Row) -> None:
        written.append(row)
        stored[row["url"]] = row

    for story in record.stories:
        old = stored.get(story.url) or {}
        write(article_row(story, old))
        if not (story.content_hash and old.get("content_hash") == story.content_hash):
            figures += figure_rows(story)
            summarised += summary_rows(story)
    for row in summarised:  # in poll order, as the TinyDB engine folds them
        summaries[row["metric"]] = metric_row(summaries[row["metric"]], row)
    for story in record.refreshed:
        if story.url in stored:
            write(refreshed_row(stored[story.url], story))
    for sighting in record.sightings:
        if sighting.article_url in stored:
            write(sighted_row(stored[sighting.article_url], sighting))
    put_articles(conn, written)
    insert_figures(conn, figures)
    _put_metrics(conn, {key: summary for key, summary in summaries.items() if summary is not None})
    if summaries:  # those of stories stored again unchanged got no figure
        conn.execute("DELETE FROM metrics WHERE key = ANY(%s) AND data = 'null'", (list(summaries),))


def put_articles(conn: psycopg.Connection, written: list[Row]) -> None:
    """Store article rows and their sources as writing them one after another would, in four statements.

    Each row replaces the one with its URL; a GUID belongs to the row written last with it (as in TinyDB's
    index): the others that carry it keep it in their data, not in the unique column.
    """
    if not written:
        return
    final = {row["url"]: row for row in written}  # each URL's last row, where it was first written
    holders = {row["guid"]: row["url"] for row in written if row.get("guid") is not None}
    if holders:
        conn.execute(
            """UPDATE articles a SET guid = NULL FROM unnest(%s::text[], %s::text[]) AS h (guid, url)
               WHERE a.guid = h.guid AND a.url <> h.url""",
            (list(holders), list(holders.values())),
        )
    conn.execute(
        f"""INSERT INTO articles (url, guid, feed, content_hash, headline, stamp, fetched_at, data)
            SELECT url, guid, feed, content_hash, headline, stamp, fetched_at, data
            FROM ROWS FROM (jsonb_to_recordset(%s) AS ({ARTICLE_COLUMNS})) WITH ORDINALITY
            ORDER BY ordinality
            ON CONFLICT (url) DO UPDATE SET guid = EXCLUDED.guid, feed = EXCLUDED.feed,
                content_hash = EXCLUDED.content_hash, headline = EXCLUDED.headline, stamp = EXCLUDED.stamp,
                fetched_at = EXCLUDED.fetched_at, data = EXCLUDED.data""",
        (Jsonb([_article_columns(row, holders) for row in final.values()]),),
    )
    conn.execute(
        "DELETE FROM article_sources WHERE article_id IN (SELECT id FROM articles WHERE url = ANY(%s))",
        (list(final),),
    )
    sources = [
        {"article": url, "position": i, "url": source["url"], "guid": source.get("guid")}
        for url, row in final.items()
        for i, source in enumerate(sources_of(row))
    ]
    conn.execute(
        """INSERT INTO article_sources (article_id, position, url, guid)
           SELECT a.id, s.position, s.url, s.guid
           FROM jsonb_to_recordset(%s) AS s (article text, position int, url text, guid text)
           JOIN articles a ON a.url = s.article""",
        (Jsonb(sources),),
    )


# The columns of an article row beside its data, as jsonb_to_recordset reads them.
ARTICLE_COLUMNS = """url text, guid text, feed text, content_hash text, headline text, stamp timestamptz,
    fetched_at timestamptz, data jsonb"""


def _article_columns(row: Row, holders: dict[str, str]) -> Row:
    """The article's columns, its row as ``data``; the GUID only when the row holds it."""
    headline = fold_headline(row.get("title") or "")
    guid = row.get("guid")
    return {
        "url": row["url"],
        "guid": guid if guid is not None and holders.get(guid) == row["url"] else None,
        "feed": row["feed"],
        "content_hash": row.get("content_hash") or None,
        "headline": headline if len(headline) >= MIN_HEADLINE_CHARS else None,
        "stamp": row.get("published") or row.get("fetched_at"),
        "fetched_at": row.get("fetched_at"),
        "data": row,
    }


def _lock_metrics(conn: psycopg.Connection, record: PollRecord) -> psycopg.Cursor[tuple[Any, ...]] | None:
    """The summary rows of the poll's metrics (None for a new one) to fetch, locked in one order: two workers
    storing the same metrics never deadlock on them. None when the poll has no figure."""
    metrics = sorted({json_text(f.metric) for story in record.stories for f in story.figures})
    if not metrics:
        return None
    conn.execute(
        "INSERT INTO metrics (key, data) SELECT unnest(%s::text[]), 'null' ON CONFLICT DO NOTHING", (metrics,)
    )
    return conn.execute(
        "SELECT key, data FROM metrics WHERE key = ANY(%s) ORDER BY key FOR UPDATE", (metrics,)
    )


def _put_metrics(conn: psycopg.Connection, summaries: dict[str, Row]) -> None:
    """Replace the metrics' summary rows, in one statement."""
    if summaries:
        conn.execute(
            "UPDATE metrics m SET data = s.value FROM jsonb_each(%s) AS s WHERE m.key = s.key",
            (Jsonb(summaries),),
        )


def insert_figures(conn: psycopg.Connection, rows: list[Row]) -> None:
    """Insert figure rows, nothing else, in one statement (their ids in the order given)."""
    if rows:
        conn.execute(
            """INSERT INTO figures (metric, article_url, feed, qualifier, published, observed_at, data)
               SELECT r->>'metric', r->>'article_url', r->>'feed', r->>'qualifier',
                   (r->>'published')::timestamptz, (r->>'observed_at')::timestamptz, r
               FROM jsonb_array_elements(%s) WITH ORDINALITY AS f (r, n) ORDER BY n""",
            (Jsonb(rows),),
        )


def _prune_due(found: tuple[Any, ...] | None, now: datetime) -> bool:
    """True when the store was never pruned (``found``: its ``pruned_at`` row) or PRUNE_EVERY ago."""
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
    return _insert_alert(conn, row).fetchone() is not None


def _insert_alert(conn: psycopg.Connection, row: Row) -> psycopg.Cursor[tuple[Any, ...]]:
    """Send the alert row's insert (unless its key is in the outbox): its cursor holds the new id, if any."""
    return conn.execute(
        """INSERT INTO alerts (key, created_at, thread_key, pending, data) VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (key) DO NOTHING RETURNING id""",
        (row["key"], row.get("created_at"), row.get("thread_key"), unsent(row), Jsonb(row)),
    )


def load_rows(conn: psycopg.Connection, tables: dict[str, list[Row]]) -> None:
    """Add rows copied from another store, in the caller's transaction."""
    for table, rows in tables.items():
        if table == "figures":
            insert_figures(conn, rows)
        if table == "articles":
            put_articles(conn, rows)
        for row in rows:
            if table == "alerts":
                insert_alert(conn, row)
            elif table in ("feeds", "metrics"):
                key = "name" if table == "feeds" else "key"
                conn.execute(f"INSERT INTO {table} ({key}, data) VALUES (%s, %s)", (row[key], Jsonb(row)))
