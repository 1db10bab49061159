"""Changes → escaped Block Kit alerts → Slack. The only slack_sdk user.

``_blocks`` renders a change as an ``Alert`` (with ``_story`` for a story and the moves it carries,
``_figures`` for figure lines, ``_kit`` for blocks within Slack's limits and ``_text`` for escaping);
``_plan`` turns pending alerts into the messages to post (a story with its moves, one seeding summary per
channel, a flood of moves folded into one); ``_delivery`` picks a sender (Web API, webhook or console), plans
digests and posts alerts paced per channel; ``_check`` tells whether the token and channels work.
"""

from ._blocks import RESENT_NOTE, readable, render_alert, render_digest, with_note, with_sources
from ._check import check_slack
from ._delivery import Sender, deliver, make_sender
from ._figures import with_qualifier
from ._plan import (
    folded_moves,
    merged,
    one_seeding_per_channel,
    per_alert,
    plan_digests,
    unblocked,
    with_carried,
)

__all__ = [
    "RESENT_NOTE",
    "Sender",
    "check_slack",
    "deliver",
    "folded_moves",
    "make_sender",
    "merged",
    "one_seeding_per_channel",
    "per_alert",
    "plan_digests",
    "readable",
    "render_alert",
    "render_digest",
    "unblocked",
    "with_carried",
    "with_note",
    "with_qualifier",
    "with_sources",
]
