"""Block Kit blocks built within Slack's documented limits. The private helper of ``slack._blocks`` and
``slack._story``: every text is cut with an ellipsis before Slack (or slack-sdk's own block models) would
refuse it.
"""

from __future__ import annotations

from typing import Any

from ._text import fit, safe

# Slack's documented limits (characters): https://docs.slack.dev/reference/block-kit/blocks
MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_CHARS = 2000  # one context element
MAX_TEXT_CHARS = 4000  # the fallback text: Slack truncates longer ones, and notifications read a line

Blocks = list[dict[str, Any]]
Rendered = tuple[str, Blocks, str]  # plain-text fallback, blocks, one-line mrkdwn summary for digests


def header(text: str) -> dict[str, Any]:
    """A header block: plain text, cut to 150 characters."""
    return {"type": "header", "text": {"type": "plain_text", "text": safe(text, MAX_HEADER_CHARS) or "-"}}


def section(mrkdwn: str) -> dict[str, Any]:
    """A section of escaped mrkdwn, cut to 3,000 characters (never inside a link or an entity)."""
    text = {"type": "mrkdwn", "text": fit(mrkdwn, MAX_SECTION_CHARS), "verbatim": True}
    return {"type": "section", "text": text}


def context(*elements: str) -> dict[str, Any]:
    """A context block of the non-empty ``elements`` (at most 10, each cut to 2,000 characters)."""
    kept = [e for e in elements if e][:MAX_CONTEXT_ELEMENTS]
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": fit(e, MAX_CONTEXT_CHARS), "verbatim": True} for e in kept],
    }


def within_limits(blocks: Blocks) -> tuple[dict[str, Any], ...]:
    """At most 50 blocks, empty contexts left out; the last kept one says how many were left out."""
    blocks = [b for b in blocks if b["type"] != "context" or b["elements"]]
    if len(blocks) > MAX_BLOCKS:
        left_out = len(blocks) - (MAX_BLOCKS - 1)
        blocks = [*blocks[: MAX_BLOCKS - 1], context(f"… {left_out} more not shown")]
    return tuple(blocks)
