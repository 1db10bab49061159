"""Changes → escaped Block Kit alerts → Slack. The only slack_sdk user.

``render_alert`` turns a change into an ``Alert``: blocks within Slack's limits, a plain-text fallback, and
every feed or page string escaped so it can neither mention anyone nor hide a link. ``make_sender`` picks the
Web API, an incoming webhook or the console. ``deliver`` posts alerts in order, paced per channel, and reports
one ``Delivery`` per attempt: a permanent error (bad token, unknown channel) stops that channel's alerts until
the config is fixed; a transient one (rate limit, 5xx, network) leaves them pending for the next poll.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from http.client import HTTPException
from typing import Any, Literal, TextIO
from urllib.parse import urlsplit

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

from .errors import SlackConfigError, SlackError
from .records import (
    Alert,
    Change,
    Delivery,
    FeedFailing,
    FeedRecovered,
    Figure,
    FigureChanged,
    NewStory,
    Observation,
    Seeded,
    SlackSettings,
    StoryRevised,
)
from .sparkline import sparkline

# Slack's documented limits (characters): https://docs.slack.dev/reference/block-kit/blocks
MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_TEXT_CHARS = 40_000

MAX_FIGURES = 6
QUOTE_CHARS = 200
TITLE_CHARS = 300
SUMMARY_CHARS = 300

# --- safe text ----------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")
# a host name (IDN letters allowed) or an IPv6 literal
_HOST = re.compile(r"[\w-]+(\.[\w-]+)*\.?|[0-9a-f.]*:[0-9a-f:.]*")
ZWJ = "\u200d"


def escape(text: str) -> str:
    """Feed or page text made inert for mrkdwn: &, <, > as entities, no bare @channel/@here/@everyone."""
    text = _CONTROL.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + ZWJ, text)  # a zero-width joiner keeps "@here" readable but unparsed


def _cut(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters, ending in "…" when it was longer."""
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _safe(text: str, limit: int) -> str:
    """Escaped text of at most ``limit`` characters; the raw text is cut (never an entity) until it fits."""
    safe = escape(_cut(text, limit))
    if len(safe) <= limit:
        return safe
    raw = _SPACE.sub(" ", text).strip()
    low, high = 0, limit  # entities made it longer: find the longest raw prefix whose escaped form fits
    while low < high:
        middle = (low + high + 1) // 2
        if len(escape(raw[:middle].rstrip() + "…")) <= limit:
            low = middle
        else:
            high = middle - 1
    return escape(raw[:low].rstrip() + "…")


def _fit(mrkdwn: str, limit: int) -> str:
    """Already-escaped mrkdwn cut to ``limit`` at a line end if one is near, never inside a link or entity."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    head = mrkdwn[: limit - 1]
    newline = head.rfind("\n")
    if newline > limit // 2:
        head = head[:newline]
    for opener, closer in (("<", ">"), ("&", ";")):
        start = head.rfind(opener)
        if start != -1 and closer not in head[start:]:
            head = head[:start]
    return head.rstrip() + "…"


def is_web_url(url: str | None) -> bool:
    """True for an absolute http(s) URL with a host and no whitespace: the only URLs we turn into links."""
    if not url or _SPACE.search(url) or _CONTROL.search(url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 -- raises ValueError for a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(_HOST.fullmatch(host))


def _link(url: str | None, label: str) -> str:
    """``<url|label>`` for an http(s) URL (``label`` already escaped); else the label and the URL as text."""
    if url and is_web_url(url):
        target = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
        return f"<{target}|{label}>"
    return f"{label} ({_safe(url, TITLE_CHARS)})" if url else label


# --- blocks -------------------------------------------------------------------------------------------------


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": _safe(text, MAX_HEADER_CHARS) or "-"}}


def _section(mrkdwn: str) -> dict[str, Any]:
    text = {"type": "mrkdwn", "text": _fit(mrkdwn, MAX_SECTION_CHARS), "verbatim": True}
    return {"type": "section", "text": text}


def _context(*elements: str) -> dict[str, Any]:
    kept = [e for e in elements if e][:MAX_CONTEXT_ELEMENTS]
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": _fit(e, MAX_SECTION_CHARS), "verbatim": True} for e in kept],
    }


def _within_limits(blocks: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """At most 50 blocks; the last kept one says how many were left out."""
    blocks = [b for b in blocks if b["type"] != "context" or b["elements"]]
    if len(blocks) > MAX_BLOCKS:
        left_out = len(blocks) - (MAX_BLOCKS - 1)
        blocks = [*blocks[: MAX_BLOCKS - 1], _context(f"… {left_out} more not shown")]
    return tuple(blocks)


# --- numbers ------------------------------------------------------------------------------------------------

_QUALIFIER_WORDS = {
    "approx": "about",
    "more_than": "more than",
    "less_than": "less than",
    "at_least": "at least",
    "up_to": "up to",
}
_WRITTEN_QUALIFIER = re.compile(
    r"\b(about|around|approximately|nearly|almost|roughly|some|over|more than|above|exceeding|less than|"
    r"under|below|fewer than|at least|up to|as many as|as much as)\b|[超逾约近余多以上至少]",
    re.IGNORECASE,
)
_SCALE = re.compile(r"\b(trillion|billion|million|bn|mn)\b|(万亿|亿|万)", re.IGNORECASE)
_FACTORS = {"trillion": 1e12, "万亿": 1e12, "billion": 1e9, "bn": 1e9, "million": 1e6, "mn": 1e6}
_FACTORS |= {"亿": 1e8, "万": 1e4}


def _with_qualifier(text: str, qualifier: str) -> str:
    """The value as written, with its qualifier ("more than 370") unless the text already says it."""
    words = _QUALIFIER_WORDS.get(qualifier)
    return f"{words} {text}" if words and not _WRITTEN_QUALIFIER.search(text) else text


def _number(value: float) -> str:
    """1234.5 → "1,234.5"; whole numbers without decimals."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _amount(value: float, *, like: str) -> str:
    """``value`` in the scale ``like`` uses: 53860000000 like "846.14 billion yuan" → "53.86 billion"."""
    match = _SCALE.search(like)
    if not match:
        return _number(value)
    word = match.group(0)
    factor = _FACTORS[word.lower()]
    return f"{_number(value / factor)}{word}" if match.group(2) else f"{_number(value / factor)} {word}"


def _delta(old: Observation, new: Observation) -> str:
    """The change as "+443, +4.2%" (percentage points for percentages); "" when the units differ."""
    if old.unit != new.unit:
        return ""
    change = new.value - old.value
    sign = "+" if change >= 0 else "-"
    if new.unit in ("%", "pp"):
        return f"{sign}{_number(abs(change))} pp"
    parts = [f"{sign}{_amount(abs(change), like=new.text)}"]
    if old.value:
        parts.append(f"{change / abs(old.value) * 100:+.1f}%")
    return ", ".join(parts)


def _date(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d") if when else "undated"


def _time(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if when else ""


# --- figures of a story -------------------------------------------------------------------------------------


def _importance(figure: Figure) -> int:
    """Tracked metrics first, then money, then percentages and qualified counts, then the rest."""
    score = 3 if figure.label else 0
    if re.fullmatch(r"[A-Z]{3}", figure.unit):
        return score + 3
    if figure.unit in ("%", "pp") or figure.qualifier != "exact":
        return score + 2
    return score + 1


def key_figures(figures: Sequence[Figure], *, limit: int = MAX_FIGURES) -> list[tuple[Figure, str]]:
    """The story's most telling figures, in article order, each with its display text.

    A conversion is never listed alone; it follows its original: "846.14 billion yuan ($120.14 billion)".
    """
    conversions: dict[int, Figure] = {}
    for figure in figures:
        if figure.conversion_of is not None:
            conversions.setdefault(figure.conversion_of, figure)
    seen: set[tuple[str, str]] = set()
    candidates: list[tuple[int, int, Figure]] = []
    for index, figure in enumerate(figures):
        identity = (figure.text.lower(), figure.subject.lower())
        if figure.conversion_of is None and identity not in seen:
            seen.add(identity)
            candidates.append((-_importance(figure), index, figure))
    chosen = sorted(sorted(candidates)[:limit], key=lambda c: c[1])
    shown = []
    for _, index, figure in chosen:
        text = _with_qualifier(figure.text, figure.qualifier)
        if index in conversions:
            text = f"{text} ({conversions[index].text})"
        shown.append((figure, text))
    return shown


def _figure_line(figure: Figure, text: str) -> str:
    about = ", ".join(p for p in (figure.subject, figure.place, figure.period) if p)
    line = f"*{_safe(text, 120)}*" + (f" — {_safe(about, 160)}" if about else "")
    return line + (f"\n> {_safe(figure.sentence, QUOTE_CHARS)}" if figure.sentence else "")


# --- one renderer per change kind ---------------------------------------------------------------------------


def _new_story(change: NewStory) -> tuple[str, list[dict[str, Any]]]:
    story = change.story
    title = _safe(story.title, TITLE_CHARS) or "(untitled)"
    summary = _safe(html.unescape(_TAG.sub(" ", story.entry.summary)), SUMMARY_CHARS)  # feeds send HTML
    byline = " · ".join(p for p in (_safe(story.outlet, 80), _time(story.published)) if p)
    keywords = ", ".join(_safe(k, 40) for k in story.keywords[:12])
    figures = key_figures(story.figures)
    blocks = [
        _header(story.title or "(untitled)"),
        _section(f"*{_link(story.url, title)}*" + (f"\n{summary}" if summary else "")),
        _context(byline, f"Keywords: {keywords}" if keywords else ""),
        *(_section(_figure_line(figure, text)) for figure, text in figures),
    ]
    lines = [f"New story: {title}" + (f" ({byline})" if byline else "")]
    lines += [escape(story.url)] if is_web_url(story.url) else []
    lines += [f"• {_safe(text, 120)} — {_safe(figure.subject, 160)}" for figure, text in figures]
    return "\n".join(lines), blocks


def _figure_changed(change: FigureChanged, history: Sequence[float]) -> tuple[str, list[dict[str, Any]]]:
    new, old = change.new, change.old
    label = _safe(new.label or new.subject, 140) or escape(new.metric)
    value = _safe(_with_qualifier(new.text, new.qualifier), 120)
    where = " · ".join(_safe(p, 80) for p in (new.place, new.period) if p)
    delta = _delta(old, new)
    movement = f"{_safe(old.text, 120)} → {_safe(new.text, 120)}" + (f" ({delta})" if delta else "")
    previous = f"Previous: {_safe(old.text, 120)} on {_date(old.published or old.observed_at)} in " + _link(
        old.article_url, _safe(old.article_title, TITLE_CHARS) or "source"
    )
    body = [f"*{value}*" + (f" · {where}" if where else ""), movement, previous]
    if new.sentence:
        body.append(f"> {_safe(new.sentence, QUOTE_CHARS)}")
    trend = ""
    if history:
        low, high = (
            _amount(v, like=new.text) + ("%" if new.unit == "%" else "") for v in (min(history), max(history))
        )
        trend = f"`{sparkline(history)}` {len(history)} readings, {low} – {high}"
    sources = (
        f"New: {_link(new.article_url, _safe(new.article_title, TITLE_CHARS) or 'source')} "
        f"({_safe(new.feed, 60)}, {_date(new.published or new.observed_at)})"
    )
    blocks = [
        _header(new.label or new.subject or new.metric),
        _section("\n".join(body)),
        _context(trend, sources),
    ]
    text = f"{label}: {value} (was {_safe(old.text, 120)}" + (f"; {delta})" if delta else ")")
    return text, blocks


def _story_revised(change: StoryRevised) -> tuple[str, list[dict[str, Any]]]:
    story = change.story
    title = _safe(story.title, TITLE_CHARS) or "(untitled)"
    before = {f.metric: f for f in change.before if f.conversion_of is None}
    after = {f.metric: f for f in story.figures if f.conversion_of is None}
    lines = []
    for metric in dict.fromkeys([*before, *after]):
        old, new = before.get(metric), after.get(metric)
        if old and new and (old.text, old.value) == (new.text, new.value):
            continue
        name = _safe((new or old).label or (new or old).subject, 100)  # type: ignore[union-attr]
        was = _safe(old.text, 100) if old else "(none)"
        now = _safe(new.text, 100) if new else "(removed)"
        lines.append(f"• {name}: {was} → {now}")
    shown = lines[:40] + ([f"… and {len(lines) - 40} more"] if len(lines) > 40 else [])
    changes = "\n".join(shown) or "No stated figure changed."
    blocks = [
        _header(f"Revised: {story.title or '(untitled)'}"),
        _section(f"*{_link(story.url, title)}*\nThe publisher changed its figures:\n{changes}"),
        _context(_safe(story.outlet, 80), _time(story.published)),
    ]
    return f"Revised: {title}\n{changes}", blocks


def _seeded(change: Seeded) -> tuple[str, list[dict[str, Any]]]:
    stories = f"{change.stories:,} " + ("story" if change.stories == 1 else "stories")
    figures = f"{change.figures:,} " + ("figure" if change.figures == 1 else "figures")
    text = f"Now tracking {stories} and {figures} from feed {_safe(change.feed, 100)}"
    return text, [_section(text)]


def _feed_failing(change: FeedFailing) -> tuple[str, list[dict[str, Any]]]:
    since = f" (last success {_time(change.since)})" if change.since else " (it has never succeeded)"
    text = (
        f"Feed {_safe(change.feed, 100)} has failed {change.failures} polls in a row{since}: "
        f"{_safe(change.error, 500)}"
    )
    return text, [_section(f":warning: {text}")]


def _feed_recovered(change: FeedRecovered) -> tuple[str, list[dict[str, Any]]]:
    text = f"Feed {_safe(change.feed, 100)} works again after {change.failures} failed polls"
    return text, [_section(f":white_check_mark: {text}")]


def render_alert(change: Change, *, channel: str | None, history: Sequence[float] = ()) -> Alert:
    """The Slack message for ``change``: Block Kit within Slack's limits and an escaped plain-text fallback.

    ``channel`` overrides the change's own (the story's feed channel); ``history`` (oldest → newest values of
    the metric) draws the sparkline of a changed figure.
    """
    thread_key = None
    if isinstance(change, NewStory):
        text, blocks = _new_story(change)
        own_channel = change.story.channel
    elif isinstance(change, FigureChanged):
        text, blocks = _figure_changed(change, history)
        own_channel, thread_key = None, change.new.metric
    elif isinstance(change, StoryRevised):
        text, blocks = _story_revised(change)
        own_channel = change.story.channel
    elif isinstance(change, FeedFailing):
        text, blocks = _feed_failing(change)
        own_channel = change.channel
    elif isinstance(change, FeedRecovered):
        text, blocks = _feed_recovered(change)
        own_channel = change.channel
    else:
        text, blocks = _seeded(change)
        own_channel = change.channel
    return Alert(
        key=change.key,
        channel=channel if channel is not None else own_channel,
        text=_fit(text, MAX_TEXT_CHARS),
        blocks=_within_limits(blocks),
        thread_key=thread_key,
    )


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
        for name, value in response.headers.items():  # type: ignore[union-attr]
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

    def __init__(self, settings: SlackSettings) -> None:
        self.settings = settings

    def channel_of(self, alert: Alert) -> str:
        """The channel the alert goes to (the pacing and error unit)."""
        return alert.channel or self.settings.channel or ""

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


_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>|<([^<>|]+)>")


def readable(text: str) -> str:
    """mrkdwn as a person reads it on a terminal: links as "label <url>", entities decoded, no controls."""
    text = _LINK.sub(lambda m: f"{m[2]} <{m[1]}>" if m[1] else m[3], text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("@" + ZWJ, "@")
    return _CONTROL.sub("", text)


class ConsoleSender(Sender):
    """No Slack configured: print each alert's text, with its channel, to ``stream``."""

    min_interval_s = 0.0

    def __init__(self, settings: SlackSettings, *, stream: TextIO) -> None:
        super().__init__(settings)
        self.stream = stream

    def post(self, alert: Alert, *, thread_ts: str | None = None) -> str:
        channel = self.channel_of(alert)
        where = _where(channel) if channel else "(no channel)"
        thread = " (in thread)" if thread_ts else ""
        self.stream.write(f"--- slack {where}{thread}\n{readable(alert.text)}\n\n")
        self.stream.flush()
        return "console"


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
    thread_ts_for: Callable[[str], str | None] | None = None,
) -> list[Delivery]:
    """Post ``alerts`` in order, at most one per second per channel; one Delivery per alert attempted.

    A permanent error stops its channel (or every channel, for a bad token): that channel's later alerts are
    reported with the same error without being sent. A transient error stops the channel for this poll and
    its later alerts get no Delivery at all (they stay pending). With ``thread_ts_for`` (slack.threads), an
    alert with a ``thread_key`` goes in the thread of the metric's first alert: the ts that function returns,
    or the ts of an earlier alert of the same metric in this batch.
    """
    deliveries: list[Delivery] = []
    stopped: dict[str, str | None] = {}  # channel (or "*") → permanent error, or None when transient
    last_post: dict[str, float] = {}
    threads: dict[tuple[str, str], str] = {}  # (channel, metric) → ts of its first alert in this batch
    for alert in alerts:
        channel = sender.channel_of(alert)
        blocked = next((k for k in ("*", channel) if k in stopped), None)
        if blocked is not None:
            if stopped[blocked] is not None:
                deliveries.append(Delivery(alert.key, error=stopped[blocked], permanent=True))
            continue
        thread_ts = None
        if thread_ts_for is not None and alert.thread_key:
            thread_ts = thread_ts_for(alert.thread_key) or threads.get((channel, alert.thread_key))
        if channel in last_post:
            wait_s = sender.min_interval_s - (clock() - last_post[channel])
            if wait_s > 0:
                sleep(wait_s)
        try:
            ts = sender.post(alert, thread_ts=thread_ts)
        except SlackError as err:
            permanent = isinstance(err, SlackConfigError)
            scope = getattr(err, "scope", "channel")
            if scope != "alert":
                stopped["*" if scope == "all" else channel] = str(err) if permanent else None
            deliveries.append(Delivery(alert.key, error=str(err), permanent=permanent))
        else:
            deliveries.append(Delivery(alert.key, ts=ts))
            if alert.thread_key and thread_ts is None:
                threads.setdefault((channel, alert.thread_key), ts)
        last_post[channel] = clock()
    return deliveries
