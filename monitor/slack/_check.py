"""Is the Slack side ready? ``auth.test`` with the configured token, and the bot's membership of each channel
it will post to (``conversations.list``), for `gba-monitor check --online`. Posts nothing."""

from __future__ import annotations

from collections.abc import Iterable
from http.client import HTTPException

from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web import WebClient

from ..records import Probe
from ..settings import SlackSettings


def check_slack(settings: SlackSettings, channels: Iterable[str]) -> list[Probe]:
    """One Probe for the credential, then one per channel (by name or ID) the alerts go to."""
    if not settings.token:
        detail = "incoming webhook (not checked: a check would post)" if settings.webhook_url else "none"
        return [
            Probe("slack", "skipped", detail=f"{detail}; alerts are printed" if detail == "none" else detail)
        ]
    base_url = settings.api_url or WebClient.BASE_URL
    client = WebClient(token=settings.token, base_url=base_url.rstrip("/") + "/", timeout=10)
    try:
        auth = client.auth_test()
        member_of = _member_of(client)
    except SlackApiError as err:
        code = err.response.data.get("error") if isinstance(err.response.data, dict) else None
        return [Probe("slack auth.test", "error", detail=f"slack: {code or err.response.status_code}")]
    except (SlackRequestError, OSError, HTTPException) as err:
        return [Probe("slack auth.test", "error", detail=f"slack: cannot reach Slack ({err})")]
    probes = [Probe("slack auth.test", "ok", detail=f"bot {auth.get('user')} in team {auth.get('team')}")]
    for channel in sorted(set(channels)):
        name = channel.removeprefix("#")
        if name in member_of:
            probes.append(Probe(f"slack {channel}", "ok", detail="the bot is a member"))
        else:
            probes.append(
                Probe(f"slack {channel}", "error", detail="the bot is not in it: invite it (/invite)")
            )
    return probes


def _member_of(client: WebClient) -> set[str]:
    """The names and IDs of every channel the bot is a member of (all pages of conversations.list)."""
    found: set[str] = set()
    cursor = None
    while True:
        page = client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=cursor
        )
        for channel in page.get("channels") or []:
            if channel.get("is_member"):
                found |= {str(channel.get("name")), str(channel.get("id"))}
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return found
