"""One change to the TinyDB store: its rows gathered by doc_id, then handed to TinyDB's tables once per table.

TinyDB reads and rebuilds a whole table on every write call (``Table._update_table``), so a poll that wrote
its story's article, figures and metrics row by row would rebuild the 100,000-figure table once per figure.
``Writes`` keeps the change's rows by doc_id (found with ``store._lookups``; later rows of the same change see
earlier ones) and ``apply`` calls ``insert_multiple`` with the new rows and ``update`` with the replaced ones:
two passes per table whatever the change holds. Rows are replaced whole (an alert row loses the fields that
returned to their defaults), never merged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from datetime import datetime
from typing import Any

from tinydb import TinyDB
from tinydb.table import Document, Table

from ..records import Sighting, Story
from ._edits import article_row, figure_rows, refreshed_row, sighted_row, summary_rows
from ._lookups import Lookups
from ._rows import KEY_FIELDS, Row, canon, iso, metric_row
from ._schema import TABLES


def table(db: TinyDB, name: str) -> Table:
    """The TinyDB table ``name``, without a query cache: TinyDB clears it only on its own writes, and another
    process may replace the file."""
    return db.table(name, cache_size=0)


class Writes:
    """The rows one change writes, by table and doc_id, until ``apply``."""

    def __init__(self, db: TinyDB, lookups: Lookups) -> None:
        self.db, self.lookups = db, lookups
        self.rows: dict[str, dict[int, Row]] = {name: {} for name in TABLES}
        self.new: dict[str, set[int]] = {name: set() for name in TABLES}

    def row(self, name: str, doc_id: int | None) -> Row | None:
        """The row at ``doc_id`` as this change left it so far (None for no row)."""
        if doc_id is None:
            return None
        if doc_id in self.rows[name]:
            return self.rows[name][doc_id]
        found = table(self.db, name).get(doc_id=doc_id)
        return dict(found) if found is not None else None

    def put(self, name: str, row: Row) -> int:
        """Write ``row``: it replaces the row with the same key, else it is inserted. Returns its doc_id."""
        doc_id, new = self.lookups.doc_id(name, row)
        self.rows[name][doc_id] = row
        if new:
            self.new[name].add(doc_id)
        self.lookups.add(name, doc_id, row)
        return doc_id

    def apply(self) -> None:
        """Hand the rows to TinyDB: one ``insert_multiple`` and one ``update`` per table written."""
        for name, rows in self.rows.items():
            if not rows:
                continue
            target = table(self.db, name)
            new = self.new[name]
            if new:
                # Document(row, doc_id): the id our lookups gave it. TinyDB's own next id is cached per Table
                # and goes stale when another process adds rows.
                target.insert_multiple(Document(row, doc_id) for doc_id, row in rows.items() if doc_id in new)
            replaced = {doc_id: row for doc_id, row in rows.items() if doc_id not in new}
            if replaced:
                target.update(_replace_with(name, replaced), doc_ids=list(replaced))


def _replace_with(name: str, rows: dict[int, Row]) -> Callable[[MutableMapping[str, Any]], None]:
    """An update function that replaces each stored row with its new version, found by the row's key (TinyDB
    hands an update function the row, not its id; a keyed table's key never changes under one id)."""
    field = KEY_FIELDS[name]
    by_key = {row[field]: row for row in rows.values()}

    def replace(stored: MutableMapping[str, Any]) -> None:
        new = by_key[stored[field]]
        stored.clear()
        stored.update(new)

    return replace


# --- a poll ------------------------------------------------------------------------------------------------


def save_story(writes: Writes, story: Story) -> None:
    """The story's article row, and its figures and metrics unless this same content was stored before."""
    old = writes.row("articles", writes.lookups.keys["articles"].get(story.url)) or {}
    writes.put("articles", article_row(story, old))
    if story.content_hash and old.get("content_hash") == story.content_hash:
        return
    for row in figure_rows(story):
        writes.put("figures", row)
    for row in summary_rows(story):
        summary = writes.row("metrics", writes.lookups.keys["metrics"].get(row["metric"]))
        writes.put("metrics", metric_row(summary, row))


def refresh_story(writes: Writes, story: Story) -> None:
    """A stored story read again with no new figures: its content fingerprint, updated time and title."""
    old = writes.row("articles", writes.lookups.keys["articles"].get(story.url))
    if old is not None:
        writes.put("articles", refreshed_row(old, story))


def add_source(writes: Writes, sighting: Sighting) -> None:
    """One more source of a stored story (nothing when that feed already listed it under that URL)."""
    old = writes.row("articles", writes.lookups.keys["articles"].get(sighting.article_url))
    if old is not None:  # else pruned meanwhile
        writes.put("articles", sighted_row(old, sighting))


# --- retention ---------------------------------------------------------------------------------------------


def prune(db: TinyDB, lookups: Lookups, cutoff: datetime) -> tuple[int, int]:
    """Remove figures observed and articles fetched before ``cutoff``, keeping each metric's latest figure and
    the articles figures still cite. Returns (articles, figures) removed; the lookups must be built again."""
    limit = iso(cutoff)
    figures, articles = table(db, "figures"), table(db, "articles")
    latest: dict[str, tuple[tuple[str, int, bool, int, int], int]] = {}
    old_figures, cited = [], set()
    for row in figures:
        rank = lookups.rank(row, row.doc_id)
        if row["metric"] not in latest or rank > latest[row["metric"]][0]:
            latest[row["metric"]] = (rank, row.doc_id)
        if canon(row["observed_at"]) < limit:
            old_figures.append(row.doc_id)
        else:
            cited.add(row.get("article_url"))
    kept = {doc_id for _, doc_id in latest.values()}
    gone = [doc_id for doc_id in old_figures if doc_id not in kept]
    cited |= {row.get("article_url") for row in figures.get(doc_ids=list(kept))}
    removed = figures.remove(doc_ids=gone) if gone else []
    stale = articles.remove(
        lambda row: row["url"] not in cited and canon(row.get("fetched_at") or limit) < limit
    )
    return len(stale), len(removed)


def keys_in(writes: Writes, name: str, keys: Iterable[str]) -> Iterable[tuple[str, Row]]:
    """(key, row) of the keyed rows that exist, in the order given."""
    for key in keys:
        row = writes.row(name, writes.lookups.keys[name].get(key))
        if row is not None:
            yield key, row
