"""The rules a user writes in feeds.yaml, applied where a poll needs them: which stories, which channels.

Which read stories are kept (their language, their body's keywords) and which channels a change's alert goes
to (``routes:``).

The matching itself is ``matching``'s (terms) and ``changes``' (routes, thresholds); ``poll`` calls these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from .changes import route_channels
from .matching import screen
from .records import Alert, Article, Change, Story
from .settings import FeedSettings, Route


def screen_story(story: Story, article: Article, feed: FeedSettings) -> Story | None:
    """The story once its article is read: None when its language or its body (with ``match_in: [body]``)
    is filtered out, else with the keywords its title, summary and body match."""
    if feed.languages and article.lang not in feed.languages:
        return None
    if "body" not in feed.match_in:
        return story
    entry = story.entry
    fields = {"title": entry.title or article.title, "summary": entry.summary, "body": article.text}
    found = screen(fields, keywords=feed.keywords, exclude=feed.exclude, match_in=feed.match_in)
    return None if found is None else replace(story, keywords=found)


def routed_alerts(
    change: Change, render: Callable[[Change], Alert], routes: Sequence[Route], fallback: str | None
) -> list[Alert]:
    """The change's alert (``render`` makes it) for each channel its routes name; to ``fallback`` (the feed's
    channel) when none matches."""
    first = render(change)
    channels = route_channels(change, routes, fallback)
    if channels == (fallback,):
        return [first]
    # Each channel's copy is its own alert (its own key, posted and recorded once); the route, not the feed,
    # names its channel, so the outbox keeps it.
    return [
        replace(first, channel=channel, routed=True, key=first.key if n == 0 else f"{first.key}@{channel}")
        for n, channel in enumerate(channels)
    ]
