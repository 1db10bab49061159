"""What feeds.yaml and the environment become: frozen settings, built and validated by ``config``.

``Settings`` holds the whole configuration: ``StorageSettings``, ``SlackSettings``, ``FetchSettings``,
``HealthSettings``, ``AlertSettings`` (thresholds, quiet hours), the ``Route`` list, one ``FeedSettings`` per
feed and the ``TrackedMetric`` names. Each default is declared here, once: ``config`` reads them from these
classes. Steps read them; nothing here imports from the rest of the package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Literal

MATCH_FIELDS = ("title", "summary", "body")
DEFAULT_INTERVAL_S = 900  # a feed polled every 15 minutes unless it says otherwise
DEFAULT_MATCH_IN = ("title", "summary")
LANGUAGES = ("en", "zh")
DEFAULT_TZ = "Asia/Hong_Kong"  # quiet hours are told in this zone unless tz says otherwise


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """How HTTP requests are made: identity, limits and politeness."""

    user_agent: str = "gba-monitor/0.1 (+https://github.com/gba-monitor/gba-monitor)"
    timeout_s: float = 10.0  # connect and read timeout
    deadline_s: float = 30.0  # whole request, enforced by us (a dripping server never trips a read timeout)
    max_feed_bytes: int = 5_000_000
    max_page_bytes: int = 5_000_000
    max_redirects: int = 5
    max_concurrency: int = 8
    max_per_host: int = 2
    respect_robots: bool = True
    # processes that read fetched pages (None: one per core; 0: in the poller, for a box whose cores are
    # spoken for, or one-off runs that would spend longer starting workers than reading)
    read_processes: int | None = None


@dataclass(frozen=True, slots=True)
class TrackedMetric:
    """A metric the user named in YAML; a figure matching it takes its key and label."""

    key: str
    label: str
    patterns: tuple[
        str, ...
    ]  # case-insensitive regular expressions matched against the figure's subject/sentence
    place: str | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class MinChange:
    """The smallest move worth posting: both floors must be reached (``pct`` of the old value, ``abs``)."""

    pct: float = 1.0
    abs: float = 0.0


@dataclass(frozen=True, slots=True)
class MetricRule:
    """When a move of the metrics whose key matches ``pattern`` (a glob: ``qianhai.*``) is worth posting."""

    pattern: str
    min_change: MinChange | None = None  # None: alerts.min_change
    direction: Literal["up", "down", "any"] = "any"
    above: float | None = None  # a move crossing this level upwards is posted, however small
    below: float | None = None  # a move crossing this level downwards is posted, however small


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window (local time in ``tz``) in which non-ops alerts wait, to go out as one digest after."""

    start: time
    end: time
    tz: str = DEFAULT_TZ


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Which moves reach Slack, and when."""

    min_change: MinChange = field(default_factory=MinChange)
    quiet_hours: QuietHours | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """Alerts about these words (title, summary) or metrics (glob over keys) go to ``channel`` as well."""

    channel: str
    keywords: tuple[str, ...] = ()  # words, phrases or /regular expressions/
    metrics: tuple[str, ...] = ()  # globs over metric keys


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """One feed from feeds.yaml, with defaults applied."""

    name: str
    url: str  # http(s) URL, or an absolute local file path (offline demo)
    interval_s: int
    keywords: tuple[str, ...] = ()  # words, phrases or /regular expressions/: an entry must match one
    exclude: tuple[str, ...] = ()  # the same kinds of terms: an entry matching one is dropped
    match_in: tuple[str, ...] = DEFAULT_MATCH_IN  # where keywords and exclude look: title, summary, body
    languages: tuple[str, ...] = ()  # keep stories in these languages only (empty: all)
    on_first_run: Literal["seed", "post"] = "seed"
    selector: str | None = None
    channel: str | None = None
    enabled: bool = True
    outlet: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float | None = None
    encoding: str | None = None  # the charset the feed and its pages are read in, whatever they declare

    @property
    def is_local(self) -> bool:
        """True when the feed is a file on disk rather than a URL."""
        return not self.url.startswith(("http://", "https://"))


@dataclass(frozen=True, slots=True)
class SlackSettings:
    """Where and how alerts go. Credentials come from the environment only."""

    channel: str | None = None
    on_first_run: Literal["seed", "post"] = "seed"
    threads: bool = False
    ops_channel: str | None = None
    token: str | None = None  # SLACK_BOT_TOKEN
    webhook_url: str | None = None  # SLACK_WEBHOOK_URL
    api_url: str | None = None  # SLACK_API_URL, for Slack-compatible endpoints and tests
    digest_s: int | None = None  # slack.digest: batch a channel's alerts into one message per period
    max_moves: int = 20  # slack.max_moves: more standalone moves for one channel in one poll are folded


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """Where the store lives (a TinyDB file, or a PostgreSQL database when ``url`` is set) and how long
    history is kept."""

    path: Path
    retention_days: int | None = None
    url: str | None = None  # storage.url or GBA_MONITOR_DATABASE_URL: postgresql://user@host:port/dbname


@dataclass(frozen=True, slots=True)
class HealthSettings:
    """When a failing feed is worth telling the team about."""

    alert_after_failures: int = 3  # polls in a row; one ops alert then, and one when the feed recovers
    max_failing_s: int = 6 * 3600  # `status` exits non-zero when a feed has failed for longer than this
    missed_polls: int = 3  # `health` fails when no poll succeeded within this many × the shortest interval
    max_outbox_age_s: int = 3600  # `health` fails when an alert has waited longer than this


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole validated configuration."""

    source: Path  # the YAML file it came from
    storage: StorageSettings
    slack: SlackSettings
    fetch: FetchSettings
    feeds: tuple[FeedSettings, ...]
    metrics: tuple[TrackedMetric, ...] = ()
    health: HealthSettings = field(default_factory=HealthSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    thresholds: tuple[MetricRule, ...] = ()  # from metrics: entries, the first matching one applies
    routes: tuple[Route, ...] = ()
