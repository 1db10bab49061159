"""Changes → Slack messages: escaped Block Kit within Slack's limits and a plain-text fallback (pure).

``render_alert`` turns one change into an ``Alert``; ``render_digest`` turns a channel's pending alerts into
one message; ``with_sources`` and ``with_note`` add what is only known when an alert is sent (the story's
other sources, a warning that it may repeat). Every feed or page string is escaped so it can neither mention
anyone nor hide a link; links are built only from http(s) URLs (both by ``slack._text``). ``slack._figures``
picks a story's key figures and writes values and changes. The private helper of ``slack``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..records import (
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
from ..redaction import redact
from ..sparkline import sparkline
from ._figures import (
    QUOTE_CHARS,
    amount_text,
    delta_text,
    figure_line,
    figure_text,
    key_figures,
    with_qualifier,
)
from ._text import date_text, escape, fit, is_web_url, link, safe, time_text, unlinked
from ._text import readable as readable  # re-exported: slack's console sender prints alerts with it

# Slack's documented limits (characters): https://docs.slack.dev/reference/block-kit/blocks
MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_TEXT_CHARS = 40_000

TITLE_CHARS = 300
SUMMARY_CHARS = 300
SUMMARY_LINE_CHARS = 600  # one alert's line in a digest

_TAG = re.compile(r"<[^>]*>")


# --- blocks -------------------------------------------------------------------------------------------------


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": safe(text, MAX_HEADER_CHARS) or "-"}}


def _section(mrkdwn: str) -> dict[str, Any]:
    text = {"type": "mrkdwn", "text": fit(mrkdwn, MAX_SECTION_CHARS), "verbatim": True}
    return {"type": "section", "text": text}


def _context(*elements: str) -> dict[str, Any]:
    kept = [e for e in elements if e][:MAX_CONTEXT_ELEMENTS]
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": fit(e, MAX_SECTION_CHARS), "verbatim": True} for e in kept],
    }


def _within_limits(blocks: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """At most 50 blocks; the last kept one says how many were left out."""
    blocks = [b for b in blocks if b["type"] != "context" or b["elements"]]
    if len(blocks) > MAX_BLOCKS:
        left_out = len(blocks) - (MAX_BLOCKS - 1)
        blocks = [*blocks[: MAX_BLOCKS - 1], _context(f"… {left_out} more not shown")]
    return tuple(blocks)


# --- one renderer per change kind ---------------------------------------------------------------------------

Blocks = list[dict[str, Any]]
Rendered = tuple[str, Blocks, str]  # plain-text fallback, blocks, one-line mrkdwn summary for digests


def _new_story(change: NewStory) -> Rendered:
    story = change.story
    title = safe(story.title, TITLE_CHARS) or "(untitled)"
    summary = safe(html.unescape(_TAG.sub(" ", story.entry.summary)), SUMMARY_CHARS)  # feeds send HTML
    byline = " · ".join(p for p in (safe(story.outlet, 80), time_text(story.published)) if p)
    keywords = ", ".join(safe(k, 40) for k in story.keywords[:12])
    figures = key_figures(story.figures)
    blocks = [
        _header(story.title or "(untitled)"),
        _section(f"*{link(story.url, title)}*" + (f"\n{summary}" if summary else "")),
        _context(
            byline,
            f"Keywords: {keywords}" if keywords else "",
            "" if figures else "No figures stated in the article",
        ),
        *(_section(figure_line(figure, text)) for figure, text in figures),
    ]
    lines = [f"New story: {title}" + (f" ({byline})" if byline else "")]
    lines += [escape(story.url)] if is_web_url(story.url) else []
    lines += [figure_text(figure, text) for figure, text in figures]
    told = "; ".join(safe(text, 60) for _, text in figures[:2])
    line = f"*New:* {link(story.url, title)} — {safe(story.outlet, 80)}" + (f" · {told}" if told else "")
    return "\n".join(lines), blocks, line


def _figure_changed(change: FigureChanged, history: Sequence[float]) -> Rendered:
    new, old = change.new, change.old
    label = safe(new.label or new.subject, 140) or escape(new.metric)
    value = safe(with_qualifier(new.text, new.qualifier), 120)
    where = " · ".join(safe(p, 80) for p in (new.place, new.period) if p)
    delta = delta_text(old, new)
    movement = f"{safe(old.text, 120)} → {safe(new.text, 120)}" + (f" ({delta})" if delta else "")
    previous = f"Previous: {safe(old.text, 120)} on {date_text(old.published or old.observed_at)} in " + link(
        old.article_url, safe(old.article_title, TITLE_CHARS) or "source"
    )
    body = [f"*{value}*" + (f" · {where}" if where else ""), movement, previous]
    if new.sentence:
        body.append(f"> {safe(new.sentence, QUOTE_CHARS)}")
    trend = ""
    if history:
        low, high = (
            amount_text(v, like=new.text) + ("%" if new.unit == "%" else "")
            for v in (min(history), max(history))
        )
        trend = f"`{sparkline(history)}` {len(history)} readings, {low} – {high}"
    sources = (
        f"New: {link(new.article_url, safe(new.article_title, TITLE_CHARS) or 'source')} "
        f"({safe(new.feed, 60)}, {date_text(new.published or new.observed_at)})"
    )
    blocks = [
        _header(new.label or new.subject or new.metric),
        _section("\n".join(body)),
        _context(trend, sources),
    ]
    text = f"{label}: {value} (was {safe(old.text, 120)}" + (f"; {delta})" if delta else ")")
    line = f"*{label}:* {movement} — {link(new.article_url, safe(new.article_title, 120) or 'source')}"
    return text, blocks, line


def _story_revised(change: StoryRevised) -> Rendered:
    story = change.story
    title = safe(story.title, TITLE_CHARS) or "(untitled)"
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
        name = safe((new or old).label or (new or old).subject, 100)  # type: ignore[union-attr]
        was = safe(old.text, 100) if old else "(none)"
        now = safe(new.text, 100) if new else "(removed)"
        lines.append(f"• {name}: {was} → {now}")
    shown = lines[:40] + ([f"… and {len(lines) - 40} more"] if len(lines) > 40 else [])
    changes = "\n".join(shown) or "No stated figure changed."
    blocks = [
        _header(f"Revised: {story.title or '(untitled)'}"),
        _section(f"*{link(story.url, title)}*\nThe publisher changed its figures:\n{changes}"),
        _context(safe(story.outlet, 80), time_text(story.published)),
    ]
    line = f"*Revised:* {link(story.url, title)}: " + "; ".join(x.removeprefix("• ") for x in lines[:3])
    return f"Revised: {title}\n{changes}", blocks, line


def _said(observation: Observation) -> str:
    """ "10,577 in <url|Bay Herald story> (bay-herald, 2025-11-20)"."""
    source = link(observation.article_url, safe(observation.article_title, TITLE_CHARS) or "source")
    when = date_text(observation.published or observation.observed_at)
    return f"*{safe(observation.text, 120)}* in {source} ({safe(observation.feed, 60)}, {when})"


def _figure_conflict(change: FigureConflict) -> Rendered:
    low, high = change.low, change.high
    label = safe(low.label or low.subject, 140) or escape(low.metric)
    where = " · ".join(safe(p, 80) for p in (low.place, low.period) if p)
    delta = delta_text(low, high)
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
    values = " vs ".join(f"{safe(o.text, 120)} ({safe(o.feed, 60)})" for o in (low, high))
    return f"Sources disagree on {label}: {values}", blocks, f"*Sources disagree:* {label}: {values}"


def _seeded(change: Seeded) -> Rendered:
    stories = f"{change.stories:,} " + ("story" if change.stories == 1 else "stories")
    figures = f"{change.figures:,} " + ("figure" if change.figures == 1 else "figures")
    text = f"Now tracking {stories} and {figures} from feed {safe(change.feed, 100)}"
    return text, [_section(text)], text


def _feed_failing(change: FeedFailing) -> Rendered:
    since = f" (last success {time_text(change.since)})" if change.since else " (it has never succeeded)"
    text = (
        f"Feed {safe(change.feed, 100)} has failed {change.failures} polls in a row{since}: "
        f"{safe(redact(change.error), 500)}"  # an error names the feed's URL: never its credentials
    )
    return text, [_section(f":warning: {text}")], f":warning: {text}"


def _feed_recovered(change: FeedRecovered) -> Rendered:
    text = f"Feed {safe(change.feed, 100)} works again after {change.failures} failed polls"
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
        text=fit(text, MAX_TEXT_CHARS),
        blocks=_within_limits(blocks),
        thread_key=thread_key,
        feed=feed,
        story_url=story_url,
        summary=fit(line, SUMMARY_LINE_CHARS),
    )


# --- what is known only when an alert is sent ---------------------------------------------------------------


def with_sources(alert: Alert, sources: Sequence[Source]) -> Alert:
    """A new-story alert that also names the other feeds or outlets that listed the story.

    ``sources`` are every sighting, the first one first (the alert's own); nothing changes with only one.
    """
    others = _unique_sources(sources[1:], first=sources[0] if sources else None)
    if not others:
        return alert
    names = [link(s.url, safe(s.outlet or s.feed, 80)) for s in others[: MAX_CONTEXT_ELEMENTS - 1]]
    more = len(others) - len(names)
    listed = ", ".join(names) + (f" and {more} more" if more else "")
    block = _context(f"Also reported by {listed}") | {"block_id": "sources"}
    blocks = [b for b in alert.blocks if b.get("block_id") != "sources"]
    blocks.insert(min(3, len(blocks)), block)  # under the headline and byline
    plain = ", ".join(safe(s.outlet or s.feed, 80) for s in others)
    return replace(
        alert,
        text=fit(f"{alert.text}\nAlso reported by {plain}", MAX_TEXT_CHARS),
        blocks=_within_limits([dict(b) for b in blocks]),
        summary=fit(f"{alert.summary or _first_line(alert.text)} (also {listed})", SUMMARY_LINE_CHARS),
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
        text=fit(f"{alert.text}\n({note})", MAX_TEXT_CHARS),
        blocks=(*blocks, _context(f":information_source: {note}")),
        summary=fit(f"{alert.summary or _first_line(alert.text)} _(sent again)_", SUMMARY_LINE_CHARS),
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
    text = "\n".join([f"Digest: {title} ({tally})", *(unlinked(line) for line in lines[:shown])])
    if shown < len(lines):
        text += f"\n…and {len(lines) - shown:,} more"
    return Alert(key=key, channel=channel, text=fit(text, MAX_TEXT_CHARS), blocks=_within_limits(blocks))


def _packed(lines: Sequence[str], *, max_sections: int) -> tuple[list[str], int]:
    """``lines`` packed into as few section texts as fit Slack's limit; (texts, how many lines fit)."""
    sections: list[str] = []
    current = ""
    for shown, line in enumerate(lines):
        line = fit(line, SUMMARY_LINE_CHARS)
        if current and len(current) + 1 + len(line) > MAX_SECTION_CHARS:
            if len(sections) + 1 >= max_sections:
                return [*sections, current], shown
            sections.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return ([*sections, current] if current else sections), len(lines)


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0]
