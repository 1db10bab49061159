"""The store's rows: records ↔ JSON rows, and the lookups (``Index``) built over one loaded document.

Private to ``store``: nothing else reads rows.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from ..records import Figure, Observation, Source, StoredArticle, figure_rank, fold_headline
from ._schema import Document, unreadable

KEY_FIELDS = {"feeds": "name", "metrics": "key", "alerts": "key", "articles": "url"}
# Row fields holding dates (stored as text, read back as aware datetimes).
DATE_FIELDS = frozenset(
    {
        *("last_poll", "last_success", "next_retry", "failing_since"),  # feeds
        *("published", "observed_at", "fetched_at", "updated"),  # articles, figures
        *("created_at", "sent_at", "sending_at", "attempted_at", "dropped_at"),  # alerts
        *("latest_published", "latest_observed_at", "previous_published", "previous_observed_at"),  # metrics
    }
)
Row = dict[str, Any]
# Alert fields stored only when they differ from these defaults.
SPARSE_ALERT_FIELDS: dict[str, Any] = {
    **dict.fromkeys(
        ("feed", "story_url", "sending_at", "attempted_at", "blocked", "sent_channel", "dropped_at")
    ),
    "carries": [],
    "roots": [],
    "summary": "",
    "interrupted": 0,
    "routed": False,
    "reply_to": None,
}
MIN_HEADLINE_CHARS = 12  # shorter folded headlines ("Market wrap") say too little to identify a story


NEWEST_KEPT = 50  # per metric, the newest observations kept as records (what a poll's conflict check reads)


class Index:
    """Lookups over one loaded version of the document, built in one pass and kept current by put()."""

    def __init__(self, path: Path, doc: Document) -> None:
        table, doc_id = "meta", "1"  # where we are, for the error message
        try:
            self.next_id = {name: max(map(int, rows), default=0) + 1 for name, rows in doc.items()}
            self.keys: dict[str, dict[str, str]] = {}
            for table, field in KEY_FIELDS.items():
                found = self.keys[table] = {}
                for doc_id, row in doc[table].items():
                    found[key_text(row[field])] = doc_id
            self.guids: dict[str, str] = {}
            self.aliases: dict[str, str] = {}  # URLs and GUIDs of later sightings → the stored story
            self.alias_guids: dict[str, str] = {}
            self.hashes: dict[str, str] = {}
            self.headlines: dict[str, list[str]] = {}
            table = "articles"
            for doc_id, row in doc["articles"].items():
                self._add_article(doc_id, row)
            table = "figures"
            by_metric: dict[str, list[str]] = {}
            for doc_id, row in doc["figures"].items():  # 100,000 rows: keep this loop lean
                metric, observed, published = row["metric"], row["observed_at"], row.get("published")
                if metric in by_metric:
                    by_metric[metric].append(doc_id)
                else:
                    by_metric[key_text(metric)] = [doc_id]
                if not (type(observed) is str and len(observed) == 32 and observed[26:] == "+00:00"):
                    canon(observed)
                if published is not None and not (len(published) == 32 and published[26:] == "+00:00"):
                    canon(published)
            self.by_metric = by_metric
        except (KeyError, TypeError, ValueError) as exc:
            problem = f"no {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
            raise unreadable(path, f"{table} row {doc_id}: {problem}") from None
        self.latest: dict[
            str, tuple[str, int, bool, int, str]
        ] = {}  # metric → rank (see rank()), filled lazily
        # metric → its figures in history order (see history_key), built on first use and kept sorted by
        # put(): a poll asks for the newest few of each metric it saw, and an alert for a sparkline; sorting
        # the whole series again each time cost more than the rest of telling the changes.
        self.history: dict[str, list[tuple[str, str, int, str]]] = {}
        # metric → its newest observations as records, by id: building them was most of the rest. Figure rows
        # are only ever added or pruned (pruning builds a new Index), so a kept record never goes stale.
        self.newest_kept: dict[str, dict[str, Observation]] = {}

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
            if row["metric"] in self.history:
                bisect.insort(self.history[row["metric"]], history_key(row, doc_id))
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
        within one article as ``records.figure_rank`` ranks a story's figures ("10,577 enterprises" over a
        later "over 10,000")."""
        article = self.keys["articles"].get(row.get("article_url") or "")
        within = figure_rank(row.get("qualifier") or "", int(doc_id))
        return (canon(row["observed_at"]), int(article or 0), *within, doc_id)

    def newest(self, doc: Document, metric: str, limit: int) -> list[Observation]:
        """The metric's newest ``limit`` observations in history order (newest first, see ``history_key``)."""
        order = self.history.get(metric)
        if order is None:
            figures = doc["figures"]
            ids = self.by_metric.get(metric, ())
            order = self.history[metric] = sorted(history_key(figures[i], i) for i in ids)
        kept = self.newest_kept.get(metric, {})
        tail = [doc_id for *_, doc_id in reversed(order[-max(limit, NEWEST_KEPT) :])]
        fresh = {i: kept.get(i) or observation_of(doc["figures"][i]) for i in tail}
        self.newest_kept[metric] = fresh  # only the newest: a long-running process must not keep them all
        return list(fresh.values())[:limit]

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


def metric_row(old: Row | None, figure: Row) -> Row:
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
    if latest_at is None or figure["observed_at"] >= canon(latest_at):
        if figure["value"] != old.get("latest_value"):
            row |= {f"previous_{f}": old.get(f"latest_{f}") for f in seen}
        row |= {"label": figure["label"], "unit": figure["unit"]}
        row |= {f"latest_{f}": v for f, v in seen.items()}
    elif figure["value"] != old.get("latest_value") and (
        previous_at is None or figure["observed_at"] >= canon(previous_at)
    ):
        row |= {f"previous_{f}": v for f, v in seen.items()}
    return row


def row_of(record: Any) -> Row:
    """A record's fields as a row of JSON values."""
    return cells(**{f.name: getattr(record, f.name) for f in fields(record)})


def cells(**values: Any) -> Row:
    """Keyword values as a row of JSON values."""
    return {name: cell(value) for name, value in values.items()}


def cell(value: Any) -> Any:
    """One value as JSON holds it: dates as ISO text, tuples as lists, text made encodable."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, str):
        return json_text(value)
    if isinstance(value, Mapping):
        return {str(k): cell(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [cell(v) for v in value]
    return value


def record_of(cls: type, row: Row) -> Any:
    """The record ``cls`` built from a row; missing fields take their defaults."""
    values = {}
    for f in fields(cls):
        if f.name in row:
            value = row[f.name]
            if f.name in DATE_FIELDS:
                value = parse_datetime(value)
            elif isinstance(value, list):
                value = tuple(value)
            values[f.name] = value
    return cls(**values)


def sparse(alert: Row) -> Row:
    """An alert row without the bookkeeping fields that hold their defaults (most alerts never need them)."""
    return {k: v for k, v in alert.items() if k not in SPARSE_ALERT_FIELDS or v != SPARSE_ALERT_FIELDS[k]}


def sources_of(row: Row) -> list[Row]:
    """The article's sources; a row from before sources were kept has its own feed as the only one."""
    if row.get("sources"):
        return list(row["sources"])
    return [cells(feed=row["feed"], outlet=row.get("outlet") or row["feed"], url=row["url"],
                   title=row.get("title") or "", guid=row.get("guid"))]  # fmt: skip


def with_source(sources: list[Row], source: Source) -> list[Row]:
    """The sources with ``source`` added, unless that feed already reported that URL."""
    if any(s["feed"] == source.feed and s["url"] == source.url for s in sources):
        return sources
    return [*sources, row_of(source)]


def stored_article(row: Row) -> StoredArticle:
    """An article row as the StoredArticle record, with its sources."""
    article: StoredArticle = record_of(StoredArticle, row)
    return replace(article, sources=tuple(record_of(Source, s) for s in sources_of(row)))


def figure_extras(figure: Figure) -> Row:
    """What a figure row keeps beyond its Observation, when set: enough to compare a revised article again."""
    extras: dict[str, int | float | str | None] = {
        "conversion_of": figure.conversion_of,
        "direction": figure.direction,
        "aspect": None if figure.aspect == "level" else figure.aspect,  # a level's row stays as it was
    }
    extras["range_high"] = figure.range_high
    return cells(**{name: value for name, value in extras.items() if value is not None})


def figure_of(row: Row) -> Figure:
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
        aspect=row.get("aspect") or "level",
    )


def observation_of(row: Row) -> Observation:
    """A figure row as an Observation (a value a hand edit removed reads as NaN, never as a number)."""
    observation: Observation = record_of(Observation, row)
    return observation if observation.value is not None else replace(observation, value=float("nan"))


def key_text(value: Any) -> str:
    """A lookup key as it is, or TypeError when a hand edit made it something other than text."""
    if type(value) is not str:
        raise TypeError(f"{value!r} is not text")
    return value


def json_text(value: Any) -> str:
    """``value`` as a string JSON can hold: lone surrogates (from odd feeds) become U+FFFD."""
    if type(value) is not str:
        raise TypeError(f"{value!r} is not text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: None) -> None: ...
@overload
def iso(value: datetime | None) -> str | None: ...


def iso(value: datetime | None) -> str | None:
    """The stored form of a date: UTC ISO 8601 with microseconds (naive dates are taken as UTC)."""
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat("T", "microseconds")


def history_key(row: Row, doc_id: str) -> tuple[str, str, int, str]:
    """Where a figure row sorts in its metric's history, oldest first: by ``history_dates``, then insertion
    (``Store.history`` lists them newest first)."""
    return (*history_dates(row), int(doc_id), doc_id)


def history_dates(row: Row) -> tuple[str, str]:
    """(the date a figure row is history at: published, else observed; its observed_at)."""
    observed = canon(row["observed_at"])
    return (canon(row["published"]) if row.get("published") else observed, observed)


def canon(value: str) -> str:
    """A stored date string in the stored form (a hand-edited one may carry another offset)."""
    if len(value) == 32 and value.endswith("+00:00"):
        return value
    return iso(datetime.fromisoformat(value)) or ""


@overload
def parse_datetime(value: str) -> datetime: ...
@overload
def parse_datetime(value: None) -> None: ...
@overload
def parse_datetime(value: str | None) -> datetime | None: ...


def parse_datetime(value: str | None) -> datetime | None:
    """A stored date as an aware UTC datetime."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
