"""feeds.yaml's schema, declared once as pydantic models, and the Settings a valid document resolves to.

Private to ``config``: loaded by ``load_settings``, and by ``load_reading`` for what ``_reading`` cannot take
plainly (pydantic costs a fifth of a second of start-up).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..durations import parse_duration
from ..errors import ConfigError
from ..settings import (
    DEFAULT_INTERVAL_S,
    DEFAULT_MATCH_IN,
    DEFAULT_TZ,
    LANGUAGES,
    MATCH_FIELDS,
    AlertSettings,
    FeedSettings,
    FetchSettings,
    HealthSettings,
    MetricRule,
    MinChange,
    QuietHours,
    Route,
    Settings,
    SlackSettings,
    TrackedMetric,
)
from ._document import MAX_CONFIG_VALUES, TooManyValues, line_of, plain, storage_settings
from ._reading import FETCH_COUNTS, METRIC_KEY, pattern_error

DIGEST_PERIODS_S = {"15m": 900, "1h": 3600, "daily": 86400}
_Checked = TypeVar("_Checked", bound=BaseModel)

# The defaults, declared once in ``settings`` (a slotted dataclass's class attributes are descriptors, not
# values, so they are read off instances).
_FETCH, _HEALTH, _SLACK = FetchSettings(), HealthSettings(), SlackSettings()


Duration = Annotated[int, BeforeValidator(parse_duration)]


def _term(term: str) -> str:
    from ..matching import term_pattern  # loaded by the commands that check terms (feeds, routes) only

    term_pattern(term)  # raises ValueError with the sentence users read
    return term


def _clock_time(text: str) -> time:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f'"{text}" is not a time of day (use "22:00")')
    return time(int(match[1]), int(match[2]))


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'"{name}" is not a time zone (use a name such as Asia/Hong_Kong)') from None
    return name


Term = Annotated[str, AfterValidator(_term)]
Terms = list[Term]
MatchIn = list[Literal[MATCH_FIELDS]]  # type: ignore[valid-type]
Language = Literal[LANGUAGES]  # type: ignore[valid-type]
_ALERTS, _MIN_CHANGE = AlertSettings(), MinChange()


class _Model(BaseModel):
    # Each schema is built when first used: a command that reads a few sections builds only theirs.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class _Slack(_Model):
    channel: str | None = None
    on_first_run: Literal["seed", "post"] = _SLACK.on_first_run
    threads: bool = _SLACK.threads
    ops_channel: str | None = None
    digest: Literal["15m", "1h", "daily"] | None = None
    max_moves: int = Field(default=_SLACK.max_moves, gt=0)  # standalone moves per channel per poll past this


def _count(name: str, default: int | None) -> Any:
    """The field of a fetch setting that is a whole number, within the bounds ``_reading`` declares."""
    least, most = FETCH_COUNTS[name]
    return Field(default=default, ge=least, le=most)


class _Fetch(_Model):
    user_agent: str = _FETCH.user_agent
    timeout: Duration = int(_FETCH.timeout_s)
    deadline: Duration = int(_FETCH.deadline_s)
    max_feed_bytes: int = _count("max_feed_bytes", _FETCH.max_feed_bytes)
    max_page_bytes: int = _count("max_page_bytes", _FETCH.max_page_bytes)
    max_concurrency: int = _count("max_concurrency", _FETCH.max_concurrency)
    max_per_host: int = _count("max_per_host", _FETCH.max_per_host)
    respect_robots: bool = _FETCH.respect_robots
    read_processes: int | None = _count("read_processes", _FETCH.read_processes)


class _Health(_Model):
    alert_after_failures: int = Field(default=_HEALTH.alert_after_failures, gt=0)
    max_failing: Duration = _HEALTH.max_failing_s
    missed_polls: int = Field(default=_HEALTH.missed_polls, gt=0)
    max_outbox_age: Duration = _HEALTH.max_outbox_age_s


class _Defaults(_Model):
    interval: Duration = DEFAULT_INTERVAL_S
    keywords: Terms = []
    exclude: Terms = []
    match_in: MatchIn = Field(default=list(DEFAULT_MATCH_IN), min_length=1)
    languages: list[Language] = []


class _Feed(_Model):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    url: str = Field(min_length=1)
    outlet: str | None = None
    interval: Duration | None = None
    keywords: Terms | None = None
    exclude: Terms | None = None
    match_in: MatchIn | None = Field(default=None, min_length=1)
    languages: list[Language] | None = None
    on_first_run: Literal["seed", "post"] | None = None
    selector: str | None = None
    channel: str | None = None
    enabled: bool = True
    headers: dict[str, str] = {}
    timeout: Duration | None = None
    encoding: str | None = None  # overrides the charset a feed and its pages declare (a misconfigured CMS)

    @field_validator("encoding")
    @classmethod
    def _known_charset(cls, encoding: str | None) -> str | None:
        from .. import charsets  # loaded when a feed names an encoding

        if encoding is not None and charsets.codec_of(encoding) is None:
            raise ValueError(f'"{encoding}" is not a charset Python knows (e.g. gbk, big5, utf-8)')
        return encoding

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, url: str) -> str:
        if "://" in url and not url.startswith(("http://", "https://")):
            raise ValueError(f'"{url}" must be an http(s) URL or a local file path')
        return url


class _MinChange(_Model):
    pct: float = Field(default=_MIN_CHANGE.pct, ge=0)
    abs: float = Field(default=_MIN_CHANGE.abs, ge=0)


class _Metric(_Model):
    """A tracked metric (key, label, patterns) and/or the alert rule of the metrics whose key matches."""

    key: str = Field(pattern=f"^{METRIC_KEY}$")
    label: str | None = None
    patterns: list[str] = []
    place: str | None = None
    unit: str | None = None
    min_change: _MinChange | None = None
    direction: Literal["up", "down", "any"] = "any"
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _tracked_or_rule(self) -> _Metric:
        if self.patterns and (self.label is None or any(c in self.key for c in "*?")):
            raise ValueError("a tracked metric (with patterns) needs a label and a plain key, no * or ?")
        if not self.patterns and self.label is None and not self.is_rule:
            raise ValueError("give patterns and a label to track it, or min_change/direction/above/below")
        return self

    @property
    def is_rule(self) -> bool:
        """True when it sets when a move alerts."""
        rule = (self.min_change, self.above, self.below)
        return any(v is not None for v in rule) or self.direction != "any"

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if (error := pattern_error(pattern)) is not None:
                raise ValueError(f'"{pattern}" is not a valid regular expression ({error})')
        return patterns


class _QuietHours(_Model):
    start: Annotated[time, BeforeValidator(_clock_time)] = Field(alias="from")
    end: Annotated[time, BeforeValidator(_clock_time)] = Field(alias="to")
    tz: Annotated[str, AfterValidator(_zone)] = DEFAULT_TZ


class _Alerts(_Model):
    min_change: _MinChange = Field(default_factory=_MinChange)
    quiet_hours: _QuietHours | None = None


class _Match(_Model):
    keywords: Terms = []
    metrics: list[str] = []

    @model_validator(mode="after")
    def _something(self) -> _Match:
        if not (self.keywords or self.metrics):
            raise ValueError("a route matches keywords or metrics (give at least one)")
        return self


class _Route(_Model):
    match: _Match
    channel: str = Field(min_length=1)


class _Config(_Model):
    alerts: _Alerts = Field(default_factory=_Alerts)
    routes: list[_Route] = []
    storage: Any = None  # checked by ``storage_settings``, which commands that only read the store use alone
    slack: _Slack = Field(default_factory=_Slack)
    fetch: _Fetch = Field(default_factory=_Fetch)
    health: _Health = Field(default_factory=_Health)
    defaults: _Defaults = Field(default_factory=_Defaults)
    feeds: list[_Feed] = Field(min_length=1)
    metrics: list[_Metric] = []


class _Reading(_Model):
    """What reading one page needs of the file (``extract``, ``preview``): its other sections are ignored."""

    model_config = ConfigDict(extra="ignore")
    fetch: _Fetch = Field(default_factory=_Fetch)
    metrics: list[_Metric] = []


def validated(path: Path, document: Any, environ: Mapping[str, str]) -> Settings:
    """The settings of the YAML ``document`` read from ``path``; ConfigError with a one-line message on any
    mistake."""
    return _resolve(path, document, _valid(_Config, path, document), environ)


def validated_reading(path: Path, document: Any) -> tuple[tuple[TrackedMetric, ...], FetchSettings]:
    """The tracked metrics and fetch settings of the YAML ``document``, its other sections unchecked."""
    reading = _valid(_Reading, path, document)
    return _tracked(reading.metrics), _fetch(reading.fetch)


def _valid(model: type[_Checked], path: Path, document: Any) -> _Checked:
    try:
        return model.model_validate(plain(document, [MAX_CONFIG_VALUES]))
    except TooManyValues:
        raise ConfigError(
            f"{path}: the config expands to more than {MAX_CONFIG_VALUES} values "
            "(YAML aliases repeating aliases?); write the values out"
        ) from None
    except ValidationError as exc:
        raise ConfigError(_describe(path, document, exc.errors()[0])) from None


def _describe(path: Path, document: Any, error: Mapping[str, Any]) -> str:
    """One line: file:line key.path: what is wrong."""
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    key_path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "(top)"
    line = line_of(document, loc)
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        message = "unknown key (check its spelling; see the README for the keys)"
    elif kind == "missing":
        message = "is required"
    elif kind == "value_error":
        message = str(error.get("ctx", {}).get("error", message))
    elif kind == "string_pattern_mismatch" and loc and loc[-1] == "name":
        message = f"{error['input']!r} is not a valid feed name (letters, digits, '.', '_' and '-')"
    elif "input" in error and kind not in ("missing",):
        message = f"{message} (got {error['input']!r})"
    return f"{path}:{line} {key_path}: {message}"


def _resolve(path: Path, document: Any, config: _Config, environ: Mapping[str, str]) -> Settings:
    base = path.resolve().parent
    slack = SlackSettings(
        channel=config.slack.channel,
        on_first_run=config.slack.on_first_run,
        threads=config.slack.threads,
        ops_channel=config.slack.ops_channel,
        digest_s=DIGEST_PERIODS_S[config.slack.digest] if config.slack.digest else None,
        max_moves=config.slack.max_moves,
        token=environ.get("SLACK_BOT_TOKEN") or None,
        webhook_url=_webhook_url(environ.get("SLACK_WEBHOOK_URL") or None),
        api_url=environ.get("SLACK_API_URL") or None,
    )
    feeds: list[FeedSettings] = []
    seen: dict[str, int] = {}
    for index, feed in enumerate(config.feeds):
        where = f"{path}:{line_of(document, ('feeds', index))} feeds[{index}]"
        if feed.name in seen:
            raise ConfigError(f'{where}.name: "{feed.name}" is already the name of feeds[{seen[feed.name]}]')
        seen[feed.name] = index
        url = feed.url
        if not url.startswith(("http://", "https://")):
            local = (base / url).resolve()
            if not local.is_file():
                raise ConfigError(f'{where}.url: "{url}" is not an http(s) URL nor an existing file')
            url = str(local)
        channel = feed.channel or slack.channel
        if slack.token and not channel:
            raise ConfigError(
                f"{where}.channel: no channel for this feed (set slack.channel or feeds[].channel)"
            )
        feeds.append(_feed(feed, url, channel, config.defaults, slack))
    return Settings(
        source=path,
        storage=storage_settings(path, document, environ),
        slack=slack,
        fetch=_fetch(config.fetch),
        feeds=tuple(feeds),
        metrics=_tracked(config.metrics),
        health=HealthSettings(
            config.health.alert_after_failures,
            config.health.max_failing,
            config.health.missed_polls,
            config.health.max_outbox_age,
        ),
        alerts=_alerts(config.alerts),
        thresholds=tuple(_threshold(m) for m in config.metrics if m.is_rule),
        routes=tuple(
            Route(r.channel, tuple(r.match.keywords), tuple(r.match.metrics)) for r in config.routes
        ),
    )


def _fetch(fetch: _Fetch) -> FetchSettings:
    return FetchSettings(
        user_agent=fetch.user_agent,
        timeout_s=float(fetch.timeout),
        deadline_s=float(fetch.deadline),
        max_feed_bytes=fetch.max_feed_bytes,
        max_page_bytes=fetch.max_page_bytes,
        max_concurrency=fetch.max_concurrency,
        max_per_host=fetch.max_per_host,
        respect_robots=fetch.respect_robots,
        read_processes=fetch.read_processes,
    )


def _tracked(metrics: list[_Metric]) -> tuple[TrackedMetric, ...]:
    return tuple(
        TrackedMetric(m.key, m.label or m.key, tuple(m.patterns), m.place, m.unit)
        for m in metrics
        if m.patterns
    )


def _feed(
    feed: _Feed, url: str, channel: str | None, defaults: _Defaults, slack: SlackSettings
) -> FeedSettings:
    """One feed's settings: its own keys, else the ``defaults:`` ones (``slack.on_first_run`` for that)."""

    def chosen(own: list[str] | None, default: list[str]) -> tuple[str, ...]:
        return tuple(own if own is not None else default)

    return FeedSettings(
        name=feed.name,
        url=url,
        interval_s=feed.interval or defaults.interval,
        keywords=chosen(feed.keywords, defaults.keywords),
        exclude=chosen(feed.exclude, defaults.exclude),
        match_in=chosen(feed.match_in, defaults.match_in),
        languages=chosen(feed.languages, defaults.languages),
        on_first_run=feed.on_first_run or slack.on_first_run,
        selector=feed.selector,
        channel=channel,
        enabled=feed.enabled,
        outlet=feed.outlet,
        headers=dict(feed.headers),
        timeout_s=feed.timeout,
        encoding=feed.encoding,
    )


def _alerts(alerts: _Alerts) -> AlertSettings:
    quiet = alerts.quiet_hours
    return AlertSettings(
        min_change=MinChange(alerts.min_change.pct, alerts.min_change.abs),
        quiet_hours=QuietHours(quiet.start, quiet.end, quiet.tz) if quiet else None,
    )


def _threshold(metric: _Metric) -> MetricRule:
    floor = metric.min_change
    return MetricRule(
        pattern=metric.key,
        min_change=MinChange(floor.pct, floor.abs) if floor else None,
        direction=metric.direction,
        above=metric.above,
        below=metric.below,
    )


def _webhook_url(url: str | None) -> str | None:
    """SLACK_WEBHOOK_URL as given, if it is an http(s) URL with a host; else a ConfigError that does not
    repeat it (the URL is the webhook's only credential)."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port out of range, a bracket left open
        valid = False
    if not valid or any(char.isspace() or not char.isprintable() for char in url):
        raise ConfigError(
            "SLACK_WEBHOOK_URL: not an http(s) URL with a host (its value is a secret and is not shown)"
        )
    return url
