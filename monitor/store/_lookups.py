"""The doc_id maps the TinyDB store keeps beside its tables, so a poll finds rows without scanning them.

A TinyDB ``Query`` (and ``Table.upsert(cond)``) tests every row of a table. A poll asks, for each story,
whether its URL, GUID, content fingerprint or headline is known, and writes its article, figures, metrics and
alerts by key: by Query that is one scan of the table per story and per row, O(n) each, and a year of coverage
holds 10,000 articles and 100,000 figures. These maps answer those questions from one pass over the loaded
document; rows are then read and written through TinyDB by doc_id (``Table.get(doc_id=…)``, ``Document``).
One-off listings (history, articles, the outbox) use TinyDB's Query instead.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..records import Observation, figure_rank, fold_headline
from ._rows import KEY_FIELDS, MIN_HEADLINE_CHARS, Row, canon, history_dates, key_text
from ._schema import unreadable

Rank = tuple[str, int, bool, int, int]
NEWEST_KEPT = 50  # per metric, the newest observations kept as records (what a poll's conflict check reads)


class Lookups:
    """Keys → doc_id over one loaded version of the document, built in one pass (which also checks every
    row these maps and the history rely on: a broken file fails here) and kept current by ``add``."""

    def __init__(self, path: Path, doc: dict[str, dict[str, Row]]) -> None:
        table, doc_id = "meta", "1"  # where we are, for the error message
        try:
            self.next_id = {name: max(map(int, rows), default=0) + 1 for name, rows in doc.items()}
            self.keys: dict[str, dict[str, int]] = {}
            for table, field in KEY_FIELDS.items():
                self.keys[table] = {key_text(row[field]): int(doc_id) for doc_id, row in doc[table].items()}
            self.guids: dict[str, int] = {}
            self.aliases: dict[str, int] = {}  # URLs and GUIDs of later sightings → the stored story
            self.alias_guids: dict[str, int] = {}
            self.hashes: dict[str, int] = {}
            self.headlines: dict[str, list[int]] = {}
            table = "articles"
            for doc_id, row in doc["articles"].items():
                self._add_article(int(doc_id), row)
            table = "figures"
            self.by_metric: dict[str, list[int]] = {}
            for doc_id, row in doc["figures"].items():  # 100,000 rows: keep this loop lean
                metric, observed, published = row["metric"], row["observed_at"], row.get("published")
                if metric in self.by_metric:
                    self.by_metric[metric].append(int(doc_id))
                else:
                    self.by_metric[key_text(metric)] = [int(doc_id)]
                if not (type(observed) is str and len(observed) == 32 and observed[26:] == "+00:00"):
                    canon(observed)
                if published is not None and not (len(published) == 32 and published[26:] == "+00:00"):
                    canon(published)
        except (KeyError, TypeError, ValueError) as exc:
            problem = f"no {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
            raise unreadable(path, f"{table} row {doc_id}: {problem}") from None
        # Per metric, built on first use and kept current by add(): a poll asks for the latest and the newest
        # few figures of every metric its stories name, and sorting the whole series each time (and building
        # its records) cost more than the rest of telling the changes. Figure rows are only ever added or
        # pruned (pruning builds new lookups), so nothing kept goes stale.
        self.order: dict[str, list[tuple[str, str, int]]] = {}  # history order, oldest first
        self.latest: dict[str, Rank] = {}
        self.newest_kept: dict[str, dict[int, Observation]] = {}

    def doc_id(self, table: str, row: Row) -> tuple[int, bool]:
        """(the doc_id ``row`` goes to: the row with the same key, else a new one; True when new)."""
        field = KEY_FIELDS.get(table)
        found = self.keys[table].get(row[field]) if field else None
        if found is not None:
            return found, False
        self.next_id[table] = (new := self.next_id.get(table, 1)) + 1
        return new, True

    def add(self, table: str, doc_id: int, row: Row) -> None:
        """Note a row written under ``doc_id``."""
        if field := KEY_FIELDS.get(table):
            self.keys[table][row[field]] = doc_id
        if table == "articles":
            self._add_article(doc_id, row)
        elif table == "figures":
            metric = row["metric"]
            self.by_metric.setdefault(metric, []).append(doc_id)
            if metric in self.order:
                bisect.insort(self.order[metric], (*history_dates(row), doc_id))
            if metric in self.latest:
                self.latest[metric] = max(self.latest[metric], self.rank(row, doc_id))

    def newest_ids(self, metric: str, rows: Callable[[], Iterable[Any]], limit: int) -> list[int]:
        """The ids of the metric's newest ``limit`` figures, newest first; ``rows`` gives its figure rows
        (TinyDB Documents) when the order is not known yet."""
        order = self.order.get(metric)
        if order is None:
            order = self.order[metric] = sorted((*history_dates(row), row.doc_id) for row in rows())
        return [doc_id for *_, doc_id in reversed(order[-limit:])] if limit > 0 else []

    def latest_id(self, metric: str, rows: Callable[[], Iterable[Any]]) -> int | None:
        """The id of the metric's latest figure (see ``rank``), None when it has none."""
        if metric not in self.latest:
            ranks = [self.rank(row, row.doc_id) for row in rows()]
            if not ranks:
                return None
            self.latest[metric] = max(ranks)
        return self.latest[metric][-1]

    def _add_article(self, doc_id: int, row: Row) -> None:
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

    def rank(self, row: Row, doc_id: int) -> Rank:
        """How a figure ranks as its metric's latest value: newest observed_at, then the later article, then
        within one article as ``records.figure_rank`` ranks a story's figures ("10,577 enterprises" over a
        later "over 10,000")."""
        article = self.keys["articles"].get(row.get("article_url") or "")
        within = figure_rank(row.get("qualifier") or "", doc_id)
        return (canon(row["observed_at"]), article or 0, *within, doc_id)


def article_key(lookups: Lookups, *, url: str, guid: str | None) -> int | None:
    """The doc_id of the stored story listed under this canonical URL or GUID, by any feed; else None."""
    found = lookups.keys["articles"].get(url) or lookups.aliases.get(url)
    if found is None and guid is not None:
        found = lookups.guids.get(guid) or lookups.alias_guids.get(guid)
    return found
