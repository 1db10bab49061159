"""A later outlet of a story already posted → a reply in that message's thread, never a new message.

Kept apart from ``_blocks`` (the alerts themselves): a sighting is told under the story's first alert.
"""

from __future__ import annotations

from ..records import Alert, Source
from ._text import link, safe

MAX_TITLE_CHARS = 200


def render_sighting(story_url: str, source: Source, *, channel: str | None, reply_to: str) -> Alert:
    """The thread reply naming ``source`` (another outlet's copy of the story at ``story_url``) under the
    story's posted alert, whose Slack ts is ``reply_to``."""
    outlet = safe(source.outlet or source.feed, 80)
    title = f": {safe(source.title, MAX_TITLE_CHARS)}" if source.title else ""
    mrkdwn = f"Also reported by {link(source.url, outlet)}{title}"
    return Alert(
        key=f"also:{story_url}:{source.url}",
        channel=channel,
        text=f"Also reported by {outlet}{title}",
        blocks=({"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}},),
        story_url=None,
        summary=mrkdwn,
        routed=True,
        reply_to=reply_to,
    )
