"""Feed and page strings → mrkdwn that Slack shows as written, and back to plain text. The private helper of
``slack._blocks``.

``escape`` makes text inert (no mentions, no hidden links); ``safe`` escapes and cuts it to a length without
breaking an entity; ``fit`` cuts mrkdwn already built, never inside a link or an entity; ``link`` builds a
link only from an http(s) URL. ``readable`` and ``unlinked`` turn mrkdwn back into plain text for a terminal
or a notification; ``date_text`` and ``time_text`` write dates.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from ..controls import strip_controls

_URL_CHARS = 300  # a URL that is not made a link is shown as text, cut like a title

# --- safe text ----------------------------------------------------------------------------------------------

_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
# a host name (IDN letters allowed) or an IPv6 literal
_HOST = re.compile(r"[\w-]+(\.[\w-]+)*\.?|[0-9a-f.]*:[0-9a-f:.]*")
ZWJ = "\u200d"


def escape(text: str) -> str:
    """Feed or page text made inert for mrkdwn: &, <, > as entities, no bare @channel/@here/@everyone."""
    text = strip_controls(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + ZWJ, text)  # a zero-width joiner keeps "@here" readable but unparsed


def _cut(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters, ending in "…" when it was longer."""
    text = _SPACE.sub(" ", strip_controls(text)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def safe(text: str, limit: int) -> str:
    """Escaped text of at most ``limit`` characters; the raw text is cut (never an entity) until it fits."""
    escaped = escape(_cut(text, limit))
    if len(escaped) <= limit:
        return escaped
    raw = _SPACE.sub(" ", strip_controls(text)).strip()
    low, high = 0, limit  # entities made it longer: find the longest raw prefix whose escaped form fits
    while low < high:
        middle = (low + high + 1) // 2
        if len(escape(raw[:middle].rstrip() + "…")) <= limit:
            low = middle
        else:
            high = middle - 1
    return escape(raw[:low].rstrip() + "…")


def fit(mrkdwn: str, limit: int) -> str:
    """Already-escaped mrkdwn cut to ``limit`` at a line end if one is near, never inside a link or entity."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    head = mrkdwn[: limit - 1]
    newline = head.rfind("\n")
    if newline > limit // 2:
        head = head[:newline]
    for opener, closer in (("<", ">"), ("&", ";")):
        start = head.rfind(opener)
        if start != -1 and closer not in head[start:]:
            head = head[:start]
    return head.rstrip() + "…"


def is_web_url(url: str | None) -> bool:
    """True for an absolute http(s) URL with a host and no whitespace: the only URLs we turn into links."""
    if not url or _SPACE.search(url) or strip_controls(url) != url:
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 -- raises ValueError for a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(_HOST.fullmatch(host))


def link(url: str | None, label: str) -> str:
    """``<url|label>`` for an http(s) URL (``label`` already escaped); else the label and the URL as text."""
    if url and is_web_url(url):
        target = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
        return f"<{target}|{label}>"
    return f"{label} ({safe(url, _URL_CHARS)})" if url else label


# --- dates --------------------------------------------------------------------------------------------------


def date_text(when: datetime | None) -> str:
    """``when`` as its UTC date, "2025-11-20"; "undated" when there is none."""
    return when.astimezone(UTC).strftime("%Y-%m-%d") if when else "undated"


def time_text(when: datetime | None) -> str:
    """``when`` as "2025-11-20 09:30 UTC"; "" when there is none."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if when else ""


# --- mrkdwn back to text ------------------------------------------------------------------------------------

_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>|<([^<>|]+)>")


def unlinked(mrkdwn: str) -> str:
    """Still-escaped mrkdwn with each link as "label (url)": a notification shows no link markup. A URL out
    of its link is text again, so its "@here" is defused as the rest of the text is."""
    text = _LINK.sub(lambda m: f"{m[2]} ({m[1]})" if m[1] else m[3], mrkdwn)
    return _BROADCAST.sub("@" + ZWJ, text)


def readable(text: str) -> str:
    """mrkdwn as a person reads it on a terminal: links as "label <url>", entities decoded, no controls."""
    text = _LINK.sub(lambda m: f"{m[2]} <{m[1]}>" if m[1] else m[3], text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("@" + ZWJ, "@")
    return strip_controls(text)
