"""Changes → Slack messages: escaped Block Kit within Slack's limits and a plain-text fallback (pure).

``render_alert`` turns one change into an ``Alert``; ``render_digest`` turns a channel's pending alerts into
one message; ``with_sources`` and ``with_note`` add what is only known when an alert is sent (the story's
other sources, a warning that it may repeat). Every feed or page string is escaped so it can neither mention
anyone nor hide a link; links are built only from http(s) URLs. The private helper of ``slack``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from .records import (
    Alert,
    Change,
    FeedFailing,
    FeedRecovered,
    Figure,
    FigureChanged,
    FigureConflict,
    NewStory,
    Observation,
    Seeded,
    Source,
    StoryRevised,
)
from .sparkline import sparkline

# Slack's documented limits (characters): https://docs.slack.dev/reference/block-kit/blocks
MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_TEXT_CHARS = 40_000

MAX_FIGURES = 6
QUOTE_CHARS = 200
TITLE_CHARS = 300
SUMMARY_CHARS = 300
SUMMARY_LINE_CHARS = 600  # one alert's line in a digest

# --- safe text ----------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")
# a host name (IDN letters allowed) or an IPv6 literal
_HOST = re.compile(r"[\w-]+(\.[\w-]+)*\.?|[0-9a-f.]*:[0-9a-f:.]*")
ZWJ = "\u200d"


def escape(text: str) -> str:
    """Feed or page text made inert for mrkdwn: &, <, > as entities, no bare @channel/@here/@everyone."""
    text = _CONTROL.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + ZWJ, text)  # a zero-width joiner keeps "@here" readable but unparsed


def _cut(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters, ending in "…" when it was longer."""
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _safe(text: str, limit: int) -> str:
    """Escaped text of at most ``limit`` characters; the raw text is cut (never an entity) until it fits."""
    safe = escape(_cut(text, limit))
    if len(safe) <= limit:
        return safe
    raw = _SPACE.sub(" ", text).strip()
    low, high = 0, limit  # entities made it longer: find the longest raw prefix whose escaped form fits
    while low < high:
        middle = (low + high + 1) // 2
        if len(escape(raw[:middle].rstrip() + "…")) <= limit:
            low = middle
        else:
            high = middle - 1
    return escape(raw[:low].rstrip() + "…")


def _fit(mrkdwn: str, limit: int) -> str:
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
    if not url or _SPACE.search(url) or _CONTROL.search(url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 -- raises ValueError for a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(_HOST.fullmatch(host))


def _link(url: str | None, label: str) -> str:
    """``<url|label>`` for an http(s) URL (``label`` already escaped); else the label and the URL as text."""
    if url and is_web_url(url):
        target = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
        return f"<{target}|{label}>"
    return f"{label} ({_safe(url, TITLE_CHARS)})" if url else label


# --- blocks -------------------------------------------------------------------------------------------------


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": _safe(text, MAX_HEADER_CHARS) or "-"}}


def _section(mrkdwn: str) -> dict[str, Any]:
    text = {"type": "mrkdwn", "text": _fit(mrkdwn, MAX_SECTION_CHARS), "verbatim": True}
    return {"type": "section", "text": text}


def _context(*elements: str) -> dict[str, Any]:
    kept = [e for e in elements if e][:MAX_CONTEXT_ELEMENTS]
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": _fit(e, MAX_SECTION_CHARS), "verbatim": True} for e in kept],
    }


def _within_limits(blocks: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """At most 50 blocks; the last kept one says how many were left out."""
    blocks = [b for b in blocks if b["type"] != "context" or b["elements"]]
    if len(blocks) > MAX_BLOCKS:
        left_out = len(blocks) - (MAX_BLOCKS - 1)
        blocks = [*blocks[: MAX_BLOCKS - 1], _context(f"… {left_out} more not shown")]
    return tuple(blocks)


# --- numbers ------------------------------------------------------------------------------------------------

_QUALIFIER_WORDS = {
    "approx": "about",
    "more_than": "more than",
    "less_than": "less than",
    "at_least": "at least",
    "up_to": "up to",
}
_WRITTEN_QUALIFIER = re.compile(
    r"\b(about|around|approximately|nearly|almost|roughly|some|over|more than|above|exceeding|less than|"
    r"under|below|fewer than|at least|up to|as many as|as much as)\b|[超逾约近余多以上至少]",
    re.IGNORECASE,
)
_SCALE = re.compile(r"\b(trillion|billion|million|bn|mn)\b|(万亿|亿|万)", re.IGNORECASE)
_FACTORS = {"trillion": 1e12, "万亿": 1e12, "billion": 1e9, "bn": 1e9, "million": 1e6, "mn": 1e6}
_FACTORS |= {"亿": 1e8, "万": 1e4}


def _with_qualifier(text: str, qualifier: str) -> str:
    """The value as written, with its qualifier ("more than 370") unless the text already says it."""
    words = _QUALIFIER_WORDS.get(qualifier)
    return f"{words} {text}" if words and not _WRITTEN_QUALIFIER.search(text) else text


def _number(value: float) -> str:
    """1234.5 → "1,234.5"; whole numbers without decimals."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _amount(value: float, *, like: str) -> str:
    """``value`` in the scale ``like`` uses: 53860000000 like "846.14 billion yuan" → "53.86 billion"."""
    match = _SCALE.search(like)
    if not match:
        return _number(value)
    word = match.group(0)
    factor = _FACTORS[word.lower()]
    return f"{_number(value / factor)}{word}" if match.group(2) else f"{_number(value / factor)} {word}"


def _delta(old: Observation, new: Observation) -> str:
    """The change as "+443, +4.2%" (percentage points for percentages); "" when the units differ."""
    if old.unit != new.unit:
        return ""
    change = new.value - old.value
    sign = "+" if change >= 0 else "-"
    if new.unit in ("%", "pp"):
        return f"{sign}{_number(abs(change))} pp"
    parts = [f"{sign}{_amount(abs(change), like=new.text)}"]
    if old.value:
        parts.append(f"{change / abs(old.value) * 100:+.1f}%")
    return ", ".join(parts)


def _date(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d") if when else "undated"


def _time(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if when else ""


# --- figures of a story -------------------------------------------------------------------------------------


def _importance(figure: Figure) -> int:
    """Tracked metrics first, then money, then percentages and qualified counts, then the rest."""
    score = 3 if figure.label else 0
    if re.fullmatch(r"[A-Z]{3}", figure.unit):
        return score + 3
    if figure.unit in ("%", "pp") or figure.qualifier != "exact":
        return score + 2
    return score + 1


def key_figures(figures: Sequence[Figure], *, limit: int = MAX_FIGURES) -> list[tuple[Figure, str]]:
    """The story's most telling figures, in article order, each with its display text.

    A conversion is never listed alone; it follows its original: "846.14 billion yuan ($120.14 billion)".
    """
    conversions: dict[int, Figure] = {}
    for figure in figures:
        if figure.conversion_of is not None:
            conversions.setdefault(figure.conversion_of, figure)
    seen: set[tuple[str, str]] = set()
    candidates: list[tuple[int, int, Figure]] = []
    for index, figure in enumerate(figures):
        identity = (figure.text.lower(), figure.subject.lower())
        if figure.conversion_of is None and identity not in seen:
            seen.add(identity)
            candidates.append((-_importance(figure), index, figure))
    chosen = sorted(sorted(candidates)[:limit], key=lambda c: c[1])
    shown = []
    for _, index, figure in chosen:
        text = _with_qualifier(figure.text, figure.qualifier)
        if index in conversions:
            text = f"{text} ({conversions[index].text})"
        shown.append((figure, text))
    return shown


def _figure_text(figure: Figure, text: str) -> str:
    """ "• 846.14 billion yuan — registered capital"; the subject is left out when the text already says it
    ("10,577 Hong Kong-funded enterprises")."""
    said = not figure.subject or figure.subject.lower() in text.lower()
    return f"• {_safe(text, 120)}" + ("" if said else f" — {_safe(figure.subject, 160)}")


def _figure_line(figure: Figure, text: str) -> str:
    about = ", ".join(p for p in (figure.subject, figure.place, figure.period) if p)
    line = f"*{_safe(text, 120)}*" + (f" — {_safe(about, 160)}" if about else "")
    return line + (f"\n> {_safe(figure.sentence, QUOTE_CHARS)}" if figure.sentence else "")


# --- one renderer per change kind ---------------------------------------------------------------------------

Blocks = list[dict[str, Any]]
Rendered = tuple[str, Blocks, str]  # plain-text fallback, blocks, one-line mrkdwn summary for digests


def _new_story(change: NewStory) -> Rendered:
    story = change.story
    title = _safe(story.title, TITLE_CHARS) or "(untitled)"
    summary = _safe(html.unescape(_TAG.sub(" ", story.entry.summary)), SUMMARY_CHARS)  # feeds send HTML
    byline = " · ".join(p for p in (_safe(story.outlet, 80), _time(story.published)) if p)
    keywords = ", ".join(_safe(k, 40) for k in story.keywords[:12])
    figures = key_figures(story.figures)
    blocks = [
        _header(story.title or "(untitled)"),
        _section(f"*{_link(story.url, title)}*" + (f"\n{summary}" if summary else "")),
        _context(
            byline,
            f"Keywords: {keywords}" if keywords else "",
            "" if figures else "No figures stated in the article",
        ),
        *(_section(_figure_line(figure, text)) for figure, text in figures),
    ]
    lines = [f"New story: {title}" + (f" ({byline})" if byline else "")]
    lines += [escape(story.url)] if is_web_url(story.url) else []
    lines += [_figure_text(figure, text) for figure, text in figures]
    told = "; ".join(_safe(text, 60) for _, text in figures[:2])
    line = f"*New:* {_link(story.url, title)} — {_safe(story.outlet, 80)}" + (f" · {told}" if told else "")
    return "\n".join(lines), blocks, line


def _figure_changed(change: FigureChanged, history: Sequence[float]) -> Rendered:
    new, old = change.new, change.old
    label = _safe(new.label or new.subject, 140) or escape(new.metric)
    value = _safe(_with_qualifier(new.text, new.qualifier), 120)
    where = " · ".join(_safe(p, 80) for p in (new.place, new.period) if p)
    delta = _delta(old, new)
    movement = f"{_safe(old.text, 120)} → {_safe(new.text, 120)}" + (f" ({delta})" if delta else "")
    previous = f"Previous: {_safe(old.text, 120)} on {_date(old.published or old.observed_at)} in " + _link(
        old.article_url, _safe(old.article_title, TITLE_CHARS) or "source"
    )
    body = [f"*{value}*" + (f" · {where}" if where else ""), movement, previous]
    if new.sentence:
        body.append(f"> {_safe(new.sentence, QUOTE_CHARS)}")
    trend = ""
    if history:
        low, high = (
            _amount(v, like=new.text) + ("%" if new.unit == "%" else "") for v in (min(history), max(history))
        )
        trend = f"`{sparkline(history)}` {len(history)} readings, {low} – {high}"
    sources = (
        f"New: {_link(new.article_url, _safe(new.article_title, TITLE_CHARS) or 'source')} "
        f"({_safe(new.feed, 60)}, {_date(new.published or new.observed_at)})"
    )
    blocks = [
        _header(new.label or new.subject or new.metric),
        _section("\n".join(body)),
        _context(trend, sources),
    ]
    text = f"{label}: {value} (was {_safe(old.text, 120)}" + (f"; {delta})" if delta else ")")
    line = f"*{label}:* {movement} — {_link(new.article_url, _safe(new.article_title, 120) or 'source')}"
    return text, blocks, line


def _story_revised(change: StoryRevised) -> Rendered:
    story = change.story
    title = _safe(story.title, TITLE_CHARS) or "(untitled)"
    before: dict[str, Figure] = {}
    after: dict[str, Figure] = {}
    for figures, by_metric in ((change.before, before), (story.figures, after)):
        for f in figures:
            if f.conversion_of is None:
                by_metric.setdefault(f.metric, f)  # the first mention, as changes.key_figures
    lines = []
    for metric in dict.fromkeys([*before, *after]):
        old, new = before.get(metric), after.get(metric)
        if old and new and old.value == new.value:
            continue
        name = _safe((new or old).label or (new or old).subject, 100)  # type: ignore[union-attr]
        was = _safe(old.text, 100) if old else "(none)"
        now = _safe(new.text, 100) if new else "(removed)"
        lines.append(f"• {name}: {was} → {now}")
    shown = lines[:40] + ([f"… and {len(lines) - 40} more"] if len(lines) > 40 else [])
    changes = "\n".join(shown) or "No stated figure changed."
    blocks = [
        _header(f"Revised: {story.title or '(untitled)'}"),
        _section(f"*{_link(story.url, title)}*\nThe publisher changed its figures:\n{changes}"),
        _context(_safe(story.outlet, 80), _time(story.published)),
    ]
    line = f"*Revised:* {_link(story.url, title)}: " + "; ".join(x.removeprefix("• ") for x in lines[:3])
    return f"Revised: {title}\n{changes}", blocks, line


def _said(observation: Observation) -> str:
    """ "10,577 in <url|Bay Herald story> (bay-herald, 2025-11-20)"."""
    source = _link(observation.article_url, _safe(observation.article_title, TITLE_CHARS) or "source")
    when = _date(observation.published or observation.observed_at)
    return f"*{_safe(observation.text, 120)}* in {source} ({_safe(observation.feed, 60)}, {when})"


def _figure_conflict(change: FigureConflict) -> Rendered:
    low, high = change.low, change.high
    label = _safe(low.label or low.subject, 140) or escape(low.metric)
    where = " · ".join(_safe(p, 80) for p in (low.place, low.period) if p)
    delta = _delta(low, high)
    body = [
        "Two sources give different values for the same period" + (f" ({where})" if where else "") + ":",
        f"• {_said(low)}",
        f"• {_said(high)}",
    ]
    blocks = [
        _header(f"Sources disagree: {low.label or low.subject or low.metric}"),
        _section("\n".join(body)),
        _context(f"Difference: {delta}" if delta else "", "Neither value is taken as a change."),
    ]
    values = " vs ".join(f"{_safe(o.text, 120)} ({_safe(o.feed, 60)})" for o in (low, high))
    return f"Sources disagree on {label}: {values}", blocks, f"*Sources disagree:* {label}: {values}"


def _seeded(change: Seeded) -> Rendered:
    stories = f"{change.stories:,} " + ("story" if change.stories == 1 else "stories")
    figures = f"{change.figures:,} " + ("figure" if change.figures == 1 else "figures")
    text = f"Now tracking {stories} and {figures} from feed {_safe(change.feed, 100)}"
    return text, [_section(text)], text


def _feed_failing(change: FeedFailing) -> Rendered:
    since = f" (last success {_time(change.since)})" if change.since else " (it has never succeeded)"
    text = (
        f"Feed {_safe(change.feed, 100)} has failed {change.failures} polls in a row{since}: "
        f"{_safe(change.error, 500)}"
    )
    return text, [_section(f":warning: {text}")], f":warning: {text}"


def _feed_recovered(change: FeedRecovered) -> Rendered:
    text = f"Feed {_safe(change.feed, 100)} works again after {change.failures} failed polls"
    return text, [_section(f":white_check_mark: {text}")], f":white_check_mark: {text}"


def render_alert(
    change: Change, *, channel: str | None, history: Sequence[float] = (), feed: str | None = None
) -> Alert:
    """The Slack message for ``change``: Block Kit within Slack's limits and an escaped plain-text fallback.

    ``channel`` overrides the change's own (the story's feed channel); ``history`` (oldest → newest values of
    the metric) draws the sparkline of a changed figure; ``feed`` is the feed it came from.
    """
    thread_key = story_url = None
    if isinstance(change, NewStory):
        text, blocks, line = _new_story(change)
        own_channel, story_url = change.story.channel, change.story.url
    elif isinstance(change, FigureChanged):
        text, blocks, line = _figure_changed(change, history)
        own_channel, thread_key = None, change.new.metric
    elif isinstance(change, FigureConflict):
        text, blocks, line = _figure_conflict(change)
        own_channel, thread_key = None, change.low.metric
    elif isinstance(change, StoryRevised):
        text, blocks, line = _story_revised(change)
        own_channel = change.story.channel
    elif isinstance(change, FeedFailing):
        text, blocks, line = _feed_failing(change)
        own_channel = change.channel
    elif isinstance(change, FeedRecovered):
        text, blocks, line = _feed_recovered(change)
        own_channel = change.channel
    else:
        text, blocks, line = _seeded(change)
        own_channel = change.channel
    return Alert(
        key=change.key,
        channel=channel if channel is not None else own_channel,
        text=_fit(text, MAX_TEXT_CHARS),
        blocks=_within_limits(blocks),
        thread_key=thread_key,
        feed=feed,
        story_url=story_url,
        summary=_fit(line, SUMMARY_LINE_CHARS),
    )


# --- what is known only when an alert is sent ---------------------------------------------------------------


def with_sources(alert: Alert, sources: Sequence[Source]) -> Alert:
    """A new-story alert that also names the other feeds or outlets that listed the story.

    ``sources`` are every sighting, the first one first (the alert's own); nothing changes with only one.
    """
    others = _unique_sources(sources[1:], first=sources[0] if sources else None)
    if not others:
        return alert
    names = [_link(s.url, _safe(s.outlet or s.feed, 80)) for s in others[: MAX_CONTEXT_ELEMENTS - 1]]
    more = len(others) - len(names)
    listed = ", ".join(names) + (f" and {more} more" if more else "")
    block = _context(f"Also reported by {listed}") | {"block_id": "sources"}
    blocks = [b for b in alert.blocks if b.get("block_id") != "sources"]
    blocks.insert(min(3, len(blocks)), block)  # under the headline and byline
    plain = ", ".join(_safe(s.outlet or s.feed, 80) for s in others)
    return replace(
        alert,
        text=_fit(f"{alert.text}\nAlso reported by {plain}", MAX_TEXT_CHARS),
        blocks=_within_limits([dict(b) for b in blocks]),
        summary=_fit(f"{alert.summary or _first_line(alert.text)} (also {listed})", SUMMARY_LINE_CHARS),
    )


def _unique_sources(sources: Sequence[Source], *, first: Source | None) -> list[Source]:
    seen = {(first.outlet or first.feed) if first else None}
    kept = []
    for source in sources:
        name = source.outlet or source.feed
        if name not in seen:
            seen.add(name)
            kept.append(source)
    return kept


RESENT_NOTE = (
    "Sent again: the monitor stopped while posting this, before it could note that it was posted, "
    "so it may repeat an earlier message."
)


def with_note(alert: Alert, note: str) -> Alert:
    """``alert`` with ``note`` (trusted text, not from a feed) added under it and to its fallback text."""
    blocks = [dict(b) for b in alert.blocks]
    if len(blocks) >= MAX_BLOCKS:
        blocks = blocks[: MAX_BLOCKS - 1]
    return replace(
        alert,
        text=_fit(f"{alert.text}\n({note})", MAX_TEXT_CHARS),
        blocks=(*blocks, _context(f":information_source: {note}")),
        summary=_fit(f"{alert.summary or _first_line(alert.text)} _(sent again)_", SUMMARY_LINE_CHARS),
    )


# --- digests ------------------------------------------------------------------------------------------------

_KINDS = {
    "story": ("new story", "new stories"),
    "figure": ("figure change", "figure changes"),
    "revised": ("revised story", "revised stories"),
    "conflict": ("conflict", "conflicts"),
    "seeded": ("feed seeded", "feeds seeded"),
}


def render_digest(alerts: Sequence[Alert], *, channel: str | None, key: str) -> Alert:
    """One message that tells every one of ``alerts`` in a line, within Slack's limits: when they do not
    fit, the last block says how many were left out ("…and 12 more")."""
    counts: dict[str, int] = {}
    for alert in alerts:
        counts[alert.kind] = counts.get(alert.kind, 0) + 1
    tally = ", ".join(
        f"{n:,} {_KINDS.get(kind, ('alert', 'alerts'))[n != 1]}" for kind, n in sorted(counts.items())
    )
    title = f"{len(alerts):,} alert" + ("" if len(alerts) == 1 else "s")
    lines = [alert.summary or _first_line(alert.text) for alert in alerts]
    sections, shown = _packed(lines, max_sections=MAX_BLOCKS - 3)
    blocks: Blocks = [_header(f"Digest: {title}"), _context(tally)]
    blocks += [_section(text) for text in sections]
    if shown < len(lines):
        blocks.append(_context(f"…and {len(lines) - shown:,} more"))
    text = "\n".join([f"Digest: {title} ({tally})", *(_unlinked(line) for line in lines[:shown])])
    if shown < len(lines):
        text += f"\n…and {len(lines) - shown:,} more"
    return Alert(key=key, channel=channel, text=_fit(text, MAX_TEXT_CHARS), blocks=_within_limits(blocks))


def _packed(lines: Sequence[str], *, max_sections: int) -> tuple[list[str], int]:
    """``lines`` packed into as few section texts as fit Slack's limit; (texts, how many lines fit)."""
    sections: list[str] = []
    current = ""
    for shown, line in enumerate(lines):
        line = _fit(line, SUMMARY_LINE_CHARS)
        if current and len(current) + 1 + len(line) > MAX_SECTION_CHARS:
            if len(sections) + 1 >= max_sections:
                return [*sections, current], shown
            sections.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return ([*sections, current] if current else sections), len(lines)


def _unlinked(mrkdwn: str) -> str:
    """Still-escaped mrkdwn with each link as "label (url)": a notification shows no link markup."""
    return _LINK.sub(lambda m: f"{m[2]} ({m[1]})" if m[1] else m[3], mrkdwn)


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0]


_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>|<([^<>|]+)>")


def readable(text: str) -> str:
    """mrkdwn as a person reads it on a terminal: links as "label <url>", entities decoded, no controls."""
    text = _LINK.sub(lambda m: f"{m[2]} <{m[1]}>" if m[1] else m[3], text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("@" + ZWJ, "@")
    return _CONTROL.sub("", text)
