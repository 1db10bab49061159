"""Changes → escaped Block Kit alerts → Slack. The only slack_sdk user.

``_blocks`` renders a change as an ``Alert`` (with ``_figures`` for figure lines and ``_text`` for escaping
and fitting text within Slack's limits); ``_delivery`` picks a sender (Web API, webhook or console), plans
digests and posts alerts paced per channel.
"""

from ._blocks import RESENT_NOTE, readable, render_alert, render_digest, with_note, with_sources
from ._delivery import deliver, make_sender, per_alert, plan_digests, unblocked
from ._figures import with_qualifier
from ._sightings import render_sighting

__all__ = [
    "RESENT_NOTE",
    "deliver",
    "make_sender",
    "per_alert",
    "plan_digests",
    "readable",
    "render_alert",
    "render_digest",
    "render_sighting",
    "unblocked",
    "with_note",
    "with_qualifier",
    "with_sources",
]
