"""Feed bytes → entries; which keywords an entry matches; the canonical form of a URL.

The only user of feedparser. Before feedparser sees a body we decode it ourselves (``charsets``: the one
order of attempts feeds and pages share), remove DTD internal subsets and
ENTITY declarations (billion laughs, quadratic blow-up and XXE all live there), and hand it UTF-8 in
``io.BytesIO`` with the response headers, never a string (feedparser would try a string as a file name).
"""

from __future__ import annotations

import functools
import html
import io
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser

from . import charsets
from .errors import FeedError
from .records import Entry, Fetched

# Chinese double-byte families we tell apart ourselves; a declared label in one of them is often wrong.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "spm",
        "scm",
        "from",
        "share",
        "share_from",
        "share_token",
        "shareid",
        "isappinstalled",
        "ref_src",
        "wt.mc_id",
        "cmpid",
    }
)  # plus every utm_* name
DEFAULT_PORTS = {"http": 80, "https": 443}
LINK_SCHEMES = ("http", "https")

_DECLARATION = re.compile(r"<!(DOCTYPE|ENTITY|--|\[CDATA\[)", re.IGNORECASE)
_SKIPPED = {"--": "-->", "[CDATA[": "]]>"}  # comments and CDATA sections: only "<!ENTITY" is defused
_ENTITY_WORD = re.compile(r"<!ENTITY", re.IGNORECASE)
_SUBSET_TOKEN = re.compile(r"<!--|<\?|[\"'\]]")
_QUOTE_OR_END = re.compile(r"[\"'>\[]")
_XML_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?\bencoding\s*=\s*)(["'])[^"']*\2""")
# Tag patterns stop at the next "<" as well as ">": a hostile summary of many unclosed tags is then scanned
# once, not once per tag (quadratic). Comments and dropped elements: _strip_tags, _drop_elements, likewise.
_DROPPED_OPEN = re.compile(r"<(script|style)\b[^<>]*>", re.IGNORECASE)
_DROPPED_CLOSE = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("script", "style")}
_BREAKS = re.compile(r"<(br|/p|/div|/li|/h[1-6]|/tr)\b[^<>]*>", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_HTML_START = re.compile(
    rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL
)
_ALTERNATE = re.compile(r"<link\b[^>]*\btype=[\"']application/(?:rss|atom)\+xml[\"'][^>]*>", re.IGNORECASE)
_HREF = re.compile(r"\bhref=[\"']([^\"']+)[\"']", re.IGNORECASE)
# Word characters that are not CJK: a Latin keyword must not touch one of these on either side.
_CJK = (
    "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
)
_LATIN_WORD = f"[^\\W{_CJK}]"
_CJK_CHAR = re.compile(f"[{_CJK}\uff00-\uffef]")


def parse_entries(fetched: Fetched, *, feed: str, encoding: str | None = None) -> list[Entry]:
    """The entries of a feed response; a 304 has none. Raises FeedError when nothing is a feed.

    ``encoding`` (the feed's ``encoding:`` setting) overrides every charset the bytes or headers declare."""
    if fetched.not_modified:
        return []
    if not fetched.body.strip():
        raise FeedError(f"feed: not a feed (empty body, {fetched.final_url})")
    text = _neutralize_dtd(charsets.decode(fetched.body, fetched.content_type, override=encoding))
    data = _XML_ENCODING.sub(r"\1\2utf-8\2", text, count=1).encode("utf-8", "replace")
    headers = {"content-type": "application/xml; charset=utf-8", "content-location": fetched.final_url}
    try:
        # No sanitizing: feedparser's sanitizer is quadratic on repeated "<!--", and _plain strips every tag
        # itself (nothing of the feed's markup is ever rendered as HTML).
        result = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=False)
    except (Exception, RecursionError) as exc:  # a parser bug is this feed's failure, not the poll's
        raise FeedError(
            f"feed: not a feed (parser failed: {type(exc).__name__}, {fetched.final_url})"
        ) from exc
    entries = [e for raw in result.get("entries", ()) if (e := _entry(raw, feed, fetched.final_url))]
    if entries:
        return entries
    if result.get("version") and not result.get("bozo"):
        return []  # a well-formed feed that has no items right now
    raise FeedError(f"feed: not a feed ({_why_not(fetched, text, result)}, {fetched.final_url})")


def matched_keywords(entry: Entry, keywords: Iterable[str]) -> tuple[str, ...]:
    """The keywords found in the entry's title and summary, in the order given.

    Latin keywords match whole words, case-insensitively ("GBA" is not in "GBAX"; "Hong Kong" is in
    "Hong Kong's"); a keyword with Chinese/Japanese/Korean characters matches as a substring.
    """
    haystack = unicodedata.normalize("NFKC", f"{entry.title}\n{entry.summary}")
    found: list[str] = []
    for keyword in keywords:
        needle = unicodedata.normalize("NFKC", keyword).strip()
        if not needle or keyword in found:
            continue
        if _keyword_pattern(needle).search(haystack):
            found.append(keyword)
    return tuple(found)


@functools.lru_cache(maxsize=1024)
def _keyword_pattern(needle: str) -> re.Pattern[str]:
    """A CJK keyword as a plain substring; a Latin one as whole words, any whitespace between them."""
    if _CJK_CHAR.search(needle):
        return re.compile(re.escape(needle), re.IGNORECASE)
    words = r"\s+".join(re.escape(word) for word in needle.split())
    return re.compile(f"(?<!{_LATIN_WORD}){words}(?!{_LATIN_WORD})", re.IGNORECASE)


def canonical_url(url: str) -> str:
    """``url`` with scheme and host lower-cased, default port, fragment and tracking parameters dropped and
    the remaining query parameters sorted, so one article has one key however a feed links to it."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    netloc = host
    if parts.username is not None:
        credentials = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{credentials}@{host}"
    if port is not None and DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{netloc}:{port}"
    path = parts.path or ("/" if scheme in DEFAULT_PORTS else "")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


# --- DTD neutralising ----------------------------------------------------------------------------------


def _neutralize_dtd(text: str) -> str:
    """``text`` without DTD internal subsets or ENTITY declarations; a DOCTYPE keeps its name and ids.

    Entity expansion (billion laughs, one big entity referenced many times) and external entities (XXE)
    need declarations; without them a reference is just an undefined entity, which the parser survives.
    """
    out: list[str] = []
    i = 0
    while match := _DECLARATION.search(text, i):
        out.append(text[i : match.start()])
        keyword = match.group(1).upper()
        if keyword in _SKIPPED:  # inert to expat, but feedparser's own DOCTYPE regex reads comments too
            close = text.find(_SKIPPED[keyword], match.end())
            i = len(text) if close == -1 else close + len(_SKIPPED[keyword])
            out.append(_ENTITY_WORD.sub("<!-ENTITY", text[match.start() : i]))
            continue
        if keyword == "ENTITY":
            i = _end_of_declaration(text, match.end())
            continue
        stop = _outside_quotes(text, match.end())
        if stop is None:
            return "".join(out)  # an unterminated DOCTYPE swallows the rest: nothing safe to keep
        if text[stop] == ">":
            out.append(text[match.start() : stop + 1])
            i = stop + 1
            continue
        subset_end = _end_of_subset(text, stop + 1)
        if subset_end is None:
            return "".join(out)
        out.append(text[match.start() : stop].rstrip() + ">")
        close = text.find(">", subset_end)
        i = len(text) if close == -1 else close + 1
    out.append(text[i:])
    return "".join(out)


def _outside_quotes(text: str, i: int) -> int | None:
    """Index of the first ``[`` or ``>`` not inside a quoted literal."""
    while match := _QUOTE_OR_END.search(text, i):
        char = match.group()
        if char in "[>":
            return match.start()
        close = text.find(char, match.end())
        if close == -1:
            return None
        i = close + 1
    return None


def _end_of_declaration(text: str, i: int) -> int:
    stop = _outside_quotes(text, i)
    while stop is not None and text[stop] == "[":
        stop = _outside_quotes(text, stop + 1)
    return len(text) if stop is None else stop + 1


def _end_of_subset(text: str, i: int) -> int | None:
    """Index just past the ``]`` that closes an internal subset, skipping literals, comments and PIs."""
    while match := _SUBSET_TOKEN.search(text, i):
        token = match.group()
        if token == "]":
            return match.end()
        closer = {"<!--": "-->", "<?": "?>"}.get(token, token)
        close = text.find(closer, match.end())
        if close == -1:
            return None
        i = close + len(closer)
    return None


# --- entries -------------------------------------------------------------------------------------------


def _entry(raw: dict[str, Any], feed: str, base: str) -> Entry | None:
    # dict.get, not raw.get: FeedParserDict maps missing keys to others with a DeprecationWarning.
    field = dict.get
    title = _plain(field(raw, "title_detail"), field(raw, "title"))
    summary = _plain(field(raw, "summary_detail"), field(raw, "summary"))
    if not summary and field(raw, "content"):
        first = raw["content"][0]
        summary = _plain(first, dict.get(first, "value"))
    link = _absolute_link(raw, base)
    guid = field(raw, "id") or None
    if not (title or link or guid or summary):
        return None
    return Entry(
        feed=feed,
        title=title,
        link=link,
        guid=str(guid) if guid else None,
        summary=summary,
        published=_utc(field(raw, "published_parsed")),
        updated=_utc(field(raw, "updated_parsed")),
    )


def _plain(detail: Mapping[str, Any] | None, value: object) -> str:
    """Plain text of a feedparser text construct: tags stripped and entities decoded when it is (X)HTML."""
    if not isinstance(value, str):
        return ""
    kind = (detail or {}).get("type") or "text/plain"
    if "html" in kind:
        value = html.unescape(_strip_tags(_BREAKS.sub(" ", _drop_elements(value))))
    return _SPACE.sub(" ", value).strip()


def _drop_elements(markup: str) -> str:
    """``markup`` without its script and style elements (an unclosed one keeps its text, as before)."""
    out, at, unclosed = [], 0, set()
    for opened in _DROPPED_OPEN.finditer(markup):
        name = opened[1].lower()
        if opened.start() < at or name in unclosed:
            continue  # inside an element already dropped, or no closing tag left to find
        closed = _DROPPED_CLOSE[name].search(markup, opened.end())
        if closed is None:
            unclosed.add(name)
            continue
        out += [markup[at : opened.start()], " "]
        at = closed.end()
    return "".join(out) + markup[at:]


def _strip_tags(markup: str) -> str:
    """``markup`` without comments and tags, in one pass: each search starts where the last one ended, and a
    comment end or ">" not found once is not looked for again."""
    out, at, comments_end = [], 0, True
    while (start := markup.find("<", at)) != -1:
        end = markup.find("-->", start + 4) if comments_end and markup.startswith("<!--", start) else -1
        if end != -1:
            end += 3
        else:
            comments_end = comments_end and not markup.startswith("<!--", start)
            end = markup.find(">", start + 1) + 1
            if not end:
                break  # no ">" anywhere after: the rest is text
        out.append(markup[at:start])
        at = end
    return "".join(out) + markup[at:]


def _absolute_link(raw: dict[str, Any], base: str) -> str | None:
    link = dict.get(raw, "link")
    if not link:
        links = dict.get(raw, "links") or ()
        alternates = [dict.get(x, "href") for x in links if dict.get(x, "rel", "alternate") == "alternate"]
        link = next((href for href in alternates if href), None)
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        absolute = urljoin(base, link.strip())
        parts = urlsplit(absolute)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme in LINK_SCHEMES:
        return absolute
    if scheme == "file" and base.startswith("file:"):
        if parts.netloc not in ("", "localhost"):  # feedparser's URI fixer turns file:///a/b into file://a/b
            return urlunsplit(("file", "", f"/{parts.netloc}{parts.path}", parts.query, parts.fragment))
        return absolute
    return None


def _utc(parsed: time.struct_time | None) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime (leap seconds folded into :59)."""
    if not parsed:
        return None
    try:
        return datetime(*parsed[:5], min(parsed[5], 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _why_not(fetched: Fetched, text: str, result: Mapping[str, Any]) -> str:
    """A short reason for the per-feed error: an HTML page (and its own feed link), or the XML error."""
    content_type = (fetched.content_type or "").lower()
    if "html" in content_type or _HTML_START.match(fetched.body[:4096]):
        link = _ALTERNATE.search(text)
        href = _HREF.search(link.group()) if link else None
        hint = f"; its feed may be {urljoin(fetched.final_url, html.unescape(href.group(1)))}" if href else ""
        return f"an HTML page{hint}"
    error = result.get("bozo_exception")
    if error is not None:
        return f"{type(error).__name__}: {str(error)[:120]}"
    return "no feed elements"


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("utm_") or lowered in TRACKING_PARAMS
