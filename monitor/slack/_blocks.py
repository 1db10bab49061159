"""Changes → Slack messages: escaped Block Kit within Slack's limits and a plain-text fallback (pure).

``render_alert`` turns one change into an ``Alert``; ``render_digest`` turns a channel's pending alerts into
one message; ``with_sources`` and ``with_note`` add what is only known when an alert is sent (the story's
other sources, a warning that it may repeat). Every feed or page string is escaped so it can neither mention
anyone nor hide a link; links are built only from http(s) URLs (both by ``slack._text``). ``slack._figures``
picks a story's key figures and writes values and changes. The private helper of ``slack``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..records import (
    Alert,
    Change,
    FeedFailing,
    FeedRecovered,
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
    with_qualifier,
)
from ._kit import (
    MAX_BLOCKS,
    MAX_CONTEXT_ELEMENTS,
    MAX_SECTION_CHARS,
    MAX_TEXT_CHARS,
    Blocks,
    Rendered,
    context,
    header,
    section,
    within_limits,
)
from ._story import new_story
from ._text import date_text, escape, fit, link, safe, time_text, unlinked
from ._text import readable as readable  # re-exported: slack's console sender prints alerts with it

TITLE_CHARS = 300
SUMMARY_LINE_CHARS = 600  # one alert's line in a digest

_header, _section, _context, _within_limits = header, section, context, within_limits


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
    lines = []
    for old, new in change.changed:  # as change detection compared them (changes.revision)
        either = new or old
        assert either is not None
        name = safe(either.label or either.subject, 100)
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
    text = f"Now tracking {_tracking(change.stories, change.figures)} from feed {safe(change.feed, 100)}"
    return text, [_section(text)], text


def _tracking(stories: int, figures: int) -> str:
    """ "2,000 stories and 27,000 figures"."""
    told = f"{stories:,} " + ("story" if stories == 1 else "stories")
    return told + f" and {figures:,} " + ("figure" if figures == 1 else "figures")


def render_seeding(feeds: int, stories: int, figures: int, *, channel: str | None, key: str) -> Alert:
    """The one summary a channel gets for every feed seeded in a run: "Now tracking 2,000 stories and
    27,000 figures from 200 feeds"."""
    text = f"Now tracking {_tracking(stories, figures)} from {feeds:,} feeds"
    return Alert(key=key, channel=channel, text=text, blocks=(_section(text),), summary=text)


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
    carries: tuple[str, ...] = ()
    roots: tuple[str, ...] = ()
    if isinstance(change, NewStory):
        text, blocks, line = new_story(change)
        own_channel, story_url = change.story.channel, change.story.url
        carries = tuple(move.key for move in change.moves)
        roots = tuple(dict.fromkeys([*(m.new.metric for m in change.moves), *_tracked(change)]))
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
        carries=carries,
        roots=roots,
    )


def _tracked(change: NewStory) -> list[str]:
    """The tracked metrics a new story states: its message is where their threads start (slack.threads)."""
    return [f.metric for f in change.story.figures if f.label and f.conversion_of is None]


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
        text=fit(f"{alert.text}; also reported by {plain}", MAX_TEXT_CHARS),
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


def render_digest(
    alerts: Sequence[Alert], *, channel: str | None, key: str, heading: str | None = None
) -> Alert:
    """One message that tells every one of ``alerts`` in a line, within Slack's limits: when they do not
    fit, the last block says how many were left out ("…and 12 more"). ``heading`` (trusted text) opens it."""
    counts: dict[str, int] = {}
    for alert in alerts:
        counts[alert.kind] = counts.get(alert.kind, 0) + 1
    tally = ", ".join(
        f"{n:,} {_KINDS.get(kind, ('alert', 'alerts'))[n != 1]}" for kind, n in sorted(counts.items())
    )
    title = f"{len(alerts):,} alert" + ("" if len(alerts) == 1 else "s")
    lines = [alert.summary or _first_line(alert.text) for alert in alerts]
    sections, shown = _packed(lines, max_sections=MAX_BLOCKS - 3)
    heading = heading or f"Digest: {title}"
    blocks: Blocks = [_header(heading), _context(tally)]
    blocks += [_section(text) for text in sections]
    if shown < len(lines):
        blocks.append(_context(f"…and {len(lines) - shown:,} more"))
    text = "\n".join([f"{heading} ({tally})", *(unlinked(line) for line in lines[:shown])])
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
