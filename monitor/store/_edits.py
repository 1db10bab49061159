"""What a poll changes in the document, row by row, keeping the lookups current. Private to ``store``.

Each function edits the document in place inside ``SharedDocument.changing``: rows are replaced whole (never
mutated: the storage reuses the bytes of unchanged rows), and every insert goes through ``Index.put``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..records import Observation, Sighting, Story
from ._rows import (
    Index,
    canon,
    cells,
    figure_extras,
    iso,
    metric_row,
    parse_datetime,
    row_of,
    sources_of,
    with_source,
)
from ._schema import Document

PRUNE_EVERY = timedelta(hours=1)  # with retention_days, save_poll prunes at most this often


def save_story(doc: Document, index: Index, story: Story) -> None:
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
        lang=story.lang,
        minhash=story.minhash,
        numbers=story.numbers,
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


def refresh_story(doc: Document, index: Index, story: Story) -> None:
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


def add_source(doc: Document, index: Index, sighting: Sighting) -> None:
    """One more source of a stored story (nothing when that feed already listed it under that URL)."""
    doc_id = index.keys["articles"].get(sighting.article_url)
    if doc_id is None:
        return  # pruned meanwhile
    row = doc["articles"][doc_id]
    index.put(doc, "articles", row | {"sources": with_source(sources_of(row), sighting.source)})


def prune_due(doc: Document, now: datetime) -> bool:
    """True when the document was never pruned, or last pruned PRUNE_EVERY or more before ``now``."""
    pruned_at = doc["meta"]["1"].get("pruned_at")
    return pruned_at is None or now - parse_datetime(pruned_at) >= PRUNE_EVERY


def prune(doc: Document, index: Index, cutoff: datetime, *, now: datetime) -> tuple[int, int]:
    """Drop figures observed and articles fetched before ``cutoff``, keeping each metric's latest figure and
    the articles figures still cite. Returns (articles, figures) removed; the caller must build the lookups
    again (they only know how to add rows)."""
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
    doc["meta"]["1"] = doc["meta"]["1"] | {"pruned_at": iso(now)}
    return removed
