"""A new story as one message: its headline, outlet, time and keywords, then its key figures, each figure that
moved a tracked metric with the move on the same line (moved ones first). The private helper of
``slack._blocks``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import datetime

from ..records import Figure, FigureChanged, NewStory, Story
from ._figures import (
    MAX_FIGURES,
    biggest_move,
    delta_text,
    figure_line,
    move_text,
    shown_figures,
    with_qualifier,
)
from ._kit import Rendered, context, header, section
from ._text import link, safe, time_text

TITLE_CHARS = 300
SUMMARY_CHARS = 300
MAX_MOVES = 10  # moved figures shown in one message; the rest are counted (all of them stay recorded)

_TAG = re.compile(r"<[^>]*>")


def new_story(change: NewStory) -> Rendered:
    """The story's message: (fallback line, blocks, digest line)."""
    story = change.story
    title = safe(story.title, TITLE_CHARS) or "(untitled)"
    summary = safe(html.unescape(_TAG.sub(" ", story.entry.summary)), SUMMARY_CHARS)  # feeds send HTML
    byline = " · ".join(p for p in (safe(story.outlet, 80), time_text(story.published)) if p)
    keywords = ", ".join(safe(k, 40) for k in story.keywords[:12])
    moves = _moves_first(change)
    shown_moves = moves[:MAX_MOVES]
    others = _other_figures(change, limit=max(0, MAX_FIGURES - len(shown_moves)))
    lines = [figure_line(_as_figure(move), _value(move), move=_move(move)) for move in shown_moves]
    lines += [figure_line(figure, text, move=mark) for figure, text, mark in others]
    more = len(moves) - len(shown_moves)
    blocks = [
        header(story.title or "(untitled)"),
        section(f"*{link(story.url, title)}*" + (f"\n{summary}" if summary else "")),
        context(
            byline,
            f"Keywords: {keywords}" if keywords else "",
            "" if lines else "No figures stated in the article",
        ),
        *(section(line) for line in lines),
        context(f"…and {more} more moved figures" if more > 0 else ""),
    ]
    return _fallback(story, moves), blocks, _digest_line(story, moves, others)


def _moves_first(change: NewStory) -> list[FigureChanged]:
    """The story's moves in article order (the order its figures come in)."""
    order = {figure.metric: index for index, figure in enumerate(change.story.figures)}
    return sorted(change.moves, key=lambda move: order.get(move.new.metric, len(order)))


def _other_figures(change: NewStory, *, limit: int) -> list[tuple[Figure, str, str]]:
    """The story's key figures that moved nothing: a metric it only repeats is marked unchanged when the
    story is about it, and left out otherwise. (figure, display text, mark)."""
    moved = {move.new.metric for move in change.moves}
    kept = []
    for figure, text in shown_figures(
        change.story.figures, limit=MAX_FIGURES + len(moved) + len(change.same)
    ):
        if figure.metric in moved:
            continue
        if figure.metric in change.same:
            if not _about(change.story, figure):
                continue
            kept.append((figure, text, "(unchanged)"))
        else:
            kept.append((figure, text, ""))
    return kept[:limit]


_WORD = re.compile(r"[^\W\d_]{4,}")  # a word long enough to name something ("Hong", "firms", "港资企业")


def _about(story: Story, figure: Figure) -> bool:
    """True when the headline names what the figure measures: a word of its subject or label."""
    title = _fold(story.title)
    return any(word in title for word in _WORD.findall(_fold(f"{figure.subject} {figure.label}")))


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _as_figure(move: FigureChanged) -> Figure:
    new = move.new
    return Figure(
        value=new.value,
        unit=new.unit,
        qualifier=new.qualifier,
        subject=new.subject,
        text=new.text,
        sentence=new.sentence,
        metric=new.metric,
        label=new.label,
        place=new.place,
        period=new.period,
    )


def _value(move: FigureChanged) -> str:
    return with_qualifier(move.new.text, move.new.qualifier)


def _move(move: FigureChanged) -> str:
    old = move.old
    where = ", ".join(
        p for p in (_day(old.published or old.observed_at), safe(old.outlet or old.feed, 80)) if p
    )
    return move_text(old, move.new, link(old.article_url, where or "before"))


def _day(when: datetime | None) -> str:
    """ "3 Nov 2025"."""
    return f"{when.day} {when:%b %Y}" if when else ""


def _fallback(story: Story, moves: list[FigureChanged]) -> str:
    """One line for notifications: "Headline: 11,020 Hong Kong-funded enterprises (+443, +4.2%) — Outlet"."""
    title = safe(story.title, TITLE_CHARS) or "(untitled)"
    outlet = safe(story.outlet, 80)
    biggest = biggest_move(moves)
    if biggest is not None:
        delta = delta_text(biggest.old, biggest.new)
        title += f": {safe(_value(biggest), 120)}" + (f" ({delta})" if delta else "")
    return title + (f" — {outlet}" if outlet else "")


def _digest_line(story: Story, moves: list[FigureChanged], others: list[tuple[Figure, str, str]]) -> str:
    """The story in a digest: "*New:* <url|headline> — Outlet · 11,020 … ▲ +443 (+4.2%); …"."""
    title = safe(story.title, TITLE_CHARS) or "(untitled)"
    told = [
        f"{safe(_value(m), 60)} {move_text(m.old, m.new, safe(m.old.outlet or m.old.feed, 40))}"
        for m in moves[:3]
    ]
    told += [safe(text, 60) for _, text, _ in others[: max(0, 2 - len(told))]]
    more = f" (+{len(moves) - 3} more)" if len(moves) > 3 else ""
    return f"*New:* {link(story.url, title)} — {safe(story.outlet, 80)}" + (
        f" · {'; '.join(told)}{more}" if told else ""
    )
