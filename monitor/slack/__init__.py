"""Changes → escaped Block Kit alerts → Slack. The only slack_sdk user.

``_blocks`` renders a change as an ``Alert`` (with ``_figures`` for figure lines and ``_text`` for escaping
and fitting text within Slack's limits); ``_delivery`` picks a sender (Web API, webhook or console), plans
digests and posts alerts paced per channel; ``_check`` tells whether the token and channels work.
"""

from ._blocks import RESENT_NOTE, readable, render_alert, render_digest, with_note, with_sources
from ._check import check_slack
from ._delivery import deliver, make_sender, per_alert, plan_digests, unblocked
from ._figures import with_qualifier

__all__ = [
    "RESENT_NOTE",
    "check_slack",
    "deliver",
    "make_sender",
    "per_alert",
    "plan_digests",
    "readable",
    "render_alert",
    "render_digest",
    "unblocked",
    "with_note",
    "with_qualifier",
    "with_sources",
]
