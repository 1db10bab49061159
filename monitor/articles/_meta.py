"""Page markup → what the page says about its story: the title and the publication time. The private helper of
``articles``.

Read with regular expressions from the raw markup, not the parsed tree: ``<meta>`` tags (Open Graph, Dublin
Core, the CMSs' own names), ``<h1>`` and ``<title>``, ``<time datetime>`` and JSON-LD ``datePublished``.
"""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, datetime, timedelta, timezone

# fmt: off
_CHINA_TIME = timezone(timedelta(hours=8))  # a page's naive timestamp is read on the region's clock
_META = re.compile(r"<meta\b[^>]*>", re.I)
_ATTR = re.compile(r"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_TIME = re.compile(r"<time\b[^>]*\bdatetime\s*=\s*[\"']([^\"']+)", re.I)
_JSONLD_DATE = re.compile(r"\"datePublished\"\s*:\s*\"([^\"]+)\"")
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.I | re.S)
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
_PUBLISHED_KEYS = (
    "article:published_time", "og:published_time", "datepublished", "pubdate", "publishdate",
    "publish-date", "publish_date", "dc.date.issued", "dc.date", "sailthru.date", "parsely-pub-date",
)
# fmt: on


def _metas(markup: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for tag in _META.findall(markup[:200_000]):
        attrs = {k.lower(): (a if a is not None and a != "" else b) for k, a, b in _ATTR.findall(tag)}
        name = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").lower()
        if name and attrs.get("content") and name not in found:
            found[name] = htmllib.unescape(attrs["content"]).strip()
    return found


def title_of(markup: str) -> str:
    """The page's headline: its ``og:title``, else its first ``<h1>``, else its ``<title>``; "" when none."""
    metas = _metas(markup)
    for candidate in (metas.get("og:title"), _first(_H1, markup), _first(_TITLE, markup)):
        if candidate:
            return candidate
    return ""


def _first(pattern: re.Pattern[str], markup: str) -> str:
    m = pattern.search(markup)
    return " ".join(htmllib.unescape(_TAG.sub(" ", m.group(1))).split()) if m else ""


def published_of(markup: str) -> datetime | None:
    """When the page says its story was published, in UTC (a time without a zone is China time); None when
    no ``<meta>`` tag, ``<time datetime>`` or JSON-LD ``datePublished`` holds a readable ISO time."""
    metas = _metas(markup)
    values = [metas.get(key) for key in _PUBLISHED_KEYS]
    values += [m.group(1) for m in (_TIME.search(markup), _JSONLD_DATE.search(markup)) if m]
    for value in filter(None, values):
        if (when := _parse_time(value)) is not None:
            return when
    return None


def _parse_time(value: str) -> datetime | None:
    value = value.strip().replace("/", "-").replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=_CHINA_TIME)).astimezone(UTC)
