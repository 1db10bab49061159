"""The store's rows: records turned into JSON rows and back, the same way in both engines.

Private to ``store``: nothing else reads rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any, overload

from ..records import Figure, Observation, Source, StoredArticle

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
