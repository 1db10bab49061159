"""Changes → escaped Block Kit alerts → Slack. The only slack_sdk user.

``render_alert`` (from ``slack._blocks``, the pure rendering) turns a change into an ``Alert``: blocks within
Slack's limits, a plain-text fallback, and every feed or page string escaped so it can neither mention anyone
nor hide a link. ``make_sender`` picks the Web API, an incoming webhook or the console. ``plan_digests``
batches a channel's alerts into one message per period (``slack.digest``). ``deliver`` posts alerts in order,
paced per channel, and reports one ``Delivery`` per attempt: a permanent error (bad token, unknown channel)
stops that channel's alerts and names the route (credentials and channel) it holds for, so they wait until
the config changes; a transient one (rate limit, 5xx, network) leaves them pending for the next poll.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from http.client import HTTPException
from typing import Any, Literal, TextIO

from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry import (
    BackoffRetryIntervalCalculator,
    ConnectionErrorRetryHandler,
    FixedValueRetryIntervalCalculator,
    RateLimitErrorRetryHandler,
    RetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

from ..errors import SlackConfigError, SlackError
from ..records import Alert, Delivery
from ..settings import SlackSettings
from ._blocks import readable

REPLY = "reply"  # a thread reply repeating a move a story message carries: not an outbox alert of its own

# --- senders ------------------------------------------------------------------------------------------------

Scope = Literal["alert", "channel", "all"]

TOKEN_ERRORS = frozenset(
    ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "missing_scope",
     "no_permission", "team_access_not_granted")
)  # fmt: skip
CHANNEL_ERRORS = {
    "channel_not_found": "check slack.channel and invite the bot",
    "not_in_channel": "invite the bot to the channel",
    "is_archived": "unarchive the channel or pick another",
    "restricted_action": "the workspace does not let the bot post there",
}
WEBHOOK_ERRORS = frozenset(
    ("no_service", "channel_not_found", "invalid_token", "channel_is_archived", "action_prohibited",
     "team_disabled", "no_active_hooks", "posting_to_general_channel_denied")
)  # fmt: skip
TRANSIENT_ERRORS = frozenset(
    ("ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
     "rollup_error")
)  # fmt: skip


class _Refused(SlackConfigError):
    """Slack refused the token (scope "all") or a channel ("channel"): permanent until the config changes."""

    def __init__(self, message: str, *, scope: Scope) -> None:
        super().__init__(message)
        self.scope = scope


class _Failed(SlackError):
    """A transient failure for one alert, its channel, or every channel (Slack unreachable)."""

    def __init__(self, message: str, *, scope: Scope) -> None:
        super().__init__(message)
        self.scope = scope


class _BoundedRateLimitRetry(RateLimitErrorRetryHandler):
    """slack-sdk's 429 handler (sleeps Retry-After), but only for a short, integral Retry-After.

    A long wait would stall the poll; a non-integer one makes the sdk's ``int()`` raise. Either way we give
    up and the alert stays pending for the next poll.
    """

    def __init__(self, max_retry_count: int, *, max_wait_s: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_s = max_wait_s

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:  # type: ignore[no-untyped-def]
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        for name, value in response.headers.items():
            if name.lower() == "retry-after":
                raw = str(value[0] if isinstance(value, list) else value).strip()
                return raw.isdigit() and int(raw) <= self.max_wait_s
        return True  # no header: the sdk waits about a second


def retry_handlers(*, backoff_s: float = 0.5, max_wait_s: int = 30) -> list[RetryHandler]:
    """Rate-limit, server-error and connection-error retries, few enough that a dead Slack costs seconds."""
    interval = (
        BackoffRetryIntervalCalculator(backoff_factor=backoff_s)
        if backoff_s > 0
        else FixedValueRetryIntervalCalculator(0)
    )
    return [
        _BoundedRateLimitRetry(1, max_wait_s=max_wait_s),
        ServerErrorRetryHandler(max_retry_count=2, interval_calculator=interval),
        ConnectionErrorRetryHandler(max_retry_count=1, interval_calculator=interval),
    ]


def _where(channel: str) -> str:
    """The channel as people know it: "#gba" for a name, the ID itself for an ID like C0123ABC."""
    return (
        channel if channel.startswith("#") or re.fullmatch(r"[CGD][A-Z0-9]{6,}", channel) else f"#{channel}"
    )


def _plain(value: Any) -> Any:
    """Blocks as JSON-ready dicts and lists (stored alerts may hold read-only mappings or tuples)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class Sender:
    """Posts one alert and returns its ``ts``; raises SlackConfigError (permanent) or SlackError."""

    min_interval_s = 1.0  # Slack hides bursts above ~1 message per second per channel
    # Slack keeps what we post, so each post is recorded as it happens (a crash in between must not lose
    # track of it); the console keeps nothing, so its prints are recorded once, after the batch.
    keeps_posts = True

    def __init__(self, settings: SlackSettings) -> None:
        self.settings = settings

    def channel_of(self, alert: Alert) -> str:
        """The channel the alert goes to (the pacing and error unit)."""
        return alert.channel or self.settings.channel or ""

    def route_of(self, alert: Alert) -> str:
        """A fingerprint of where the alert would go: credentials, endpoint and channel (never the secret
        itself). A permanent error holds for one route; a changed config is a new route, tried again."""
        settings = self.settings
        parts = (type(self).__name__, settings.token, settings.webhook_url, settings.api_url)
        material = "\0".join(p or "" for p in (*parts, self.channel_of(alert)))
        return hashlib.sha256(material.encode()).hexdigest()[:16]

    def post(self, alert: Alert, *, thread_ts: str | None = None) -> str:
        raise NotImplementedError

    def close(self) -> None:
        """Release nothing: slack-sdk's urllib clients hold no connection between calls."""

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WebApiSender(Sender):
    """chat.postMessage with a bot token; no unfurls, no link_names, no parse, always a text fallback."""

    def __init__(self, settings: SlackSettings, *, backoff_s: float = 0.5) -> None:
        super().__init__(settings)
        base_url = settings.api_url or WebClient.BASE_URL
        self.client = WebClient(
            token=settings.token,
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            timeout=10,
            retry_handlers=retry_handlers(backoff_s=backoff_s),
        )

    def post(self, alert: Alert, *, thread_ts: str | None = None) -> str:
        channel = self.channel_of(alert)
        if not channel:
            raise _Refused(
                "slack: no channel for this alert (set slack.channel or the feed's channel)", scope="channel"
            )
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=alert.text or "(no text)",
                blocks=_plain(alert.blocks) or None,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as err:
            raise _api_error(err, channel) from err
        except SlackRequestError as err:
            raise _Refused(
                f"slack: request refused by slack-sdk ({err}; check SLACK_API_URL)", scope="all"
            ) from err
        except (OSError, HTTPException) as err:  # URLError, timeouts, resets: Slack is unreachable
            reason = getattr(err, "reason", err)
            raise _Failed(f"slack: cannot reach Slack ({reason}); will retry next poll", scope="all") from err
        return str(response.get("ts") or "")


def _api_error(err: SlackApiError, channel: str) -> SlackError:
    """Slack's answer as our error: config errors are permanent, limits and outages transient."""
    status = err.response.status_code
    data = err.response.data if isinstance(err.response.data, dict) else {}
    code = str(data.get("error") or "")
    code = code if re.fullmatch(r"[a-z_]{1,60}", code) else f"HTTP {status}"  # not a Slack error code
    where = _where(channel)
    if code in TOKEN_ERRORS:
        return _Refused(f"slack: {code} (check SLACK_BOT_TOKEN and the app's chat:write scope)", scope="all")
    if code in CHANNEL_ERRORS:
        return _Refused(f"slack: {code} for {where} ({CHANNEL_ERRORS[code]})", scope="channel")
    if status == 429 or status >= 500 or code in TRANSIENT_ERRORS:
        return _Failed(f"slack: {code} for {where} (HTTP {status}; will retry next poll)", scope="channel")
    return _Failed(f"slack: {code} for {where} (Slack rejected this message)", scope="alert")


class WebhookSender(Sender):
    """An incoming webhook: its channel is fixed by Slack, it returns no ts and cannot thread."""

    def __init__(self, settings: SlackSettings, *, backoff_s: float = 0.5) -> None:
        super().__init__(settings)
        self.client = WebhookClient(
            settings.webhook_url or "", timeout=10, retry_handlers=retry_handlers(backoff_s=backoff_s)
        )

    def channel_of(self, alert: Alert) -> str:
        return "webhook"

    def post(self, alert: Alert, *, thread_ts: str | None = None) -> str:
        try:
            response = self.client.send(
                text=alert.text or "(no text)",
                blocks=_plain(alert.blocks) or None,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackRequestError as err:
            raise _Refused(f"slack: webhook refused ({err}; check SLACK_WEBHOOK_URL)", scope="all") from err
        except (OSError, HTTPException) as err:
            reason = getattr(err, "reason", err)
            raise _Failed(f"slack: webhook unreachable ({reason}); retry next poll", scope="all") from err
        status, body = response.status_code, (response.body or "").strip()
        if status == 200:
            return "webhook"
        code = body if re.fullmatch(r"[a-z_]{1,60}", body) else f"HTTP {status}"
        if status in (403, 404, 410) or code in WEBHOOK_ERRORS:
            raise _Refused(f"slack: webhook {code} (check SLACK_WEBHOOK_URL)", scope="all")
        if status == 429 or status >= 500:
            raise _Failed(f"slack: webhook {code} (HTTP {status}; will retry next poll)", scope="all")
        raise _Failed(f"slack: webhook {code} (Slack rejected this message)", scope="alert")


class ConsoleSender(Sender):
    """No Slack configured: print each alert's text, with its channel, to ``stream``."""

    min_interval_s = 0.0
    keeps_posts = False

    def __init__(self, settings: SlackSettings, *, stream: TextIO) -> None:
        super().__init__(settings)
        self.stream = stream

    def post(self, alert: Alert, *, thread_ts: str | None = None) -> str:
        channel = self.channel_of(alert)
        where = _where(channel) if channel else "(no channel)"
        thread = " (in thread)" if thread_ts else ""
        self.stream.write(f"--- slack {where}{thread}\n{_console_text(alert)}\n\n")
        self.stream.flush()
        return "console"


def _console_text(alert: Alert) -> str:
    """The fallback line, then what the message's sections say (the headline's link, the figures), as a
    person reads them on a terminal."""
    sections = [
        block["text"]["text"]
        for block in alert.blocks[1:]
        if block.get("type") == "section" and "text" in block
    ]
    told = [alert.text, *(s for s in sections if s not in alert.text)]
    return readable("\n".join(told))


def make_sender(settings: SlackSettings, *, stream: TextIO, backoff_s: float = 0.5) -> Sender:
    """The Web API with a token, else the incoming webhook, else the console. ``backoff_s``: sdk retries."""
    if settings.token:
        return WebApiSender(settings, backoff_s=backoff_s)
    if settings.webhook_url:
        return WebhookSender(settings, backoff_s=backoff_s)
    return ConsoleSender(settings, stream=stream)


# --- delivery -----------------------------------------------------------------------------------------------


def deliver(
    alerts: Sequence[Alert],
    sender: Sender,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    thread_ts_for: Callable[[str, str], str | None] | None = None,
    before_post: Callable[[Alert], None] | None = None,
    on_sent: Callable[[Delivery], None] | None = None,
) -> list[Delivery]:
    """Post ``alerts`` in order, at most one per second per channel; one Delivery per alert attempted.

    A permanent error stops its channel (or every channel, for a bad token): that channel's later alerts are
    reported with the same error without being sent. A transient error stops the channel for this poll and
    its later alerts get no Delivery at all (they stay pending). With ``thread_ts_for`` (slack.threads, called
    with the channel and the metric), an alert with a ``thread_key`` goes in the thread of the metric's first
    message in its channel: the ts that function returns, or the ts of an earlier message of this batch that
    told the metric. A reply (``slack._plan``) goes in the thread its story's metric had before the story, and
    is not posted when there was none (the story's message starts that thread). ``before_post`` hears of
    each post just before it starts, ``on_sent`` of each one Slack accepted, as soon as it did (the outbox
    records them).
    """
    deliveries: list[Delivery] = []
    stopped: dict[str, str | None] = {}  # channel (or "*") → permanent error, or None when transient
    last_post: dict[str, float] = {}
    threads: dict[tuple[str, str], str] = {}  # (channel, metric) → ts of its first alert in this batch
    earlier: dict[tuple[str, str], str | None] = {}  # (channel, metric) → its thread before the last story

    def thread_of(channel: str, metric: str) -> str | None:
        assert thread_ts_for is not None
        return thread_ts_for(channel, metric) or threads.get((channel, metric))

    for alert in alerts:
        channel = sender.channel_of(alert)
        blocked = next((k for k in ("*", channel) if k in stopped), None)
        if blocked is not None:
            if stopped[blocked] is not None:
                error, held_for = stopped[blocked], sender.route_of(alert)
                deliveries.append(Delivery(alert.key, error=error, permanent=True, route=held_for))
            continue
        thread_ts = None
        if alert.kind == REPLY:
            thread_ts = earlier.get((channel, alert.thread_key or ""))
            if thread_ts is None:
                continue
        elif thread_ts_for is not None and alert.thread_key:
            thread_ts = thread_of(channel, alert.thread_key)
        if thread_ts_for is not None and alert.roots:
            earlier |= {(channel, metric): thread_of(channel, metric) for metric in alert.roots}
        if channel in last_post:
            wait_s = sender.min_interval_s - (clock() - last_post[channel])
            if wait_s > 0:
                sleep(wait_s)
        if before_post is not None:
            before_post(alert)
        try:
            ts = sender.post(alert, thread_ts=thread_ts)
        except SlackError as err:
            permanent = isinstance(err, SlackConfigError)
            scope = getattr(err, "scope", "channel")
            if scope != "alert":
                stopped["*" if scope == "all" else channel] = str(err) if permanent else None
            route = sender.route_of(alert) if permanent else None
            deliveries.append(Delivery(alert.key, error=str(err), permanent=permanent, route=route))
        else:
            deliveries.append(Delivery(alert.key, ts=ts, channel=channel))
            if on_sent is not None:
                on_sent(deliveries[-1])
            if thread_ts is None:
                for metric in (alert.thread_key, *alert.roots):
                    if metric:
                        threads.setdefault((channel, metric), ts)
        last_post[channel] = clock()
    return deliveries
