"""feeds.yaml + environment → frozen Settings. The only reader of YAML and of os.environ.

Every mistake is a ConfigError whose message names the file, the line and the key path, e.g.
``feeds.yaml:14 feeds[2].interval: "5 minutes" is not a duration (use 30s, 15m, 1h, 1d or 1h30m)``.
Unknown keys and duplicate keys are errors: a silently ignored typo is a feed silently not polled.

The file is read once (``_document``, which also checks the ``storage`` section), then validated by the
pydantic models of ``_models``; ``load_storage`` reads the store's settings alone, without pydantic, for
commands that only read the store; ``load_reading`` takes the metrics and fetch sections without pydantic
too when they are plainly valid (``_reading``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigError
from ..redaction import redact
from ..settings import FetchSettings, Settings, StorageSettings, TrackedMetric
from ._document import CONFIG_ENV, DATABASE_URL_ENV, read_yaml, storage_settings
from ._reading import plain_reading

DEFAULT_CONFIG = "feeds.yaml"

__all__ = [
    "CONFIG_ENV",
    "DATABASE_URL_ENV",
    "DEFAULT_CONFIG",
    "config_path",
    "likely_mistakes",
    "load_reading",
    "load_settings",
    "load_storage",
]


def config_path(option: str | os.PathLike[str] | None) -> Path:
    """The config file to use: the --config option, else $GBA_MONITOR_CONFIG, else ./feeds.yaml."""
    return Path(option or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_settings(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, validate and resolve a config file; raise ConfigError with a one-line message on any mistake."""
    from ._models import validated

    path = Path(path)
    return validated(path, _document(path), os.environ if environ is None else environ)


def load_storage(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> StorageSettings:
    """The config file's ``storage`` section (and $GBA_MONITOR_DATABASE_URL), read and checked as
    ``load_settings`` checks it, for commands that read the store and nothing else: the rest of the file is
    parsed, not validated, and pydantic is not loaded (a fifth of a second of start-up)."""
    path = Path(path)
    return storage_settings(path, _document(path), os.environ if environ is None else environ)


def load_reading(
    path: str | os.PathLike[str],
) -> tuple[tuple[TrackedMetric, ...], FetchSettings]:
    """The config file's tracked metrics and fetch settings, validated as ``load_settings`` validates them,
    for commands that read one page (``extract``, ``preview``): the feeds, their terms and the rest of the
    file are not checked."""
    path = Path(path)
    document = _document(path)
    if (reading := plain_reading(document)) is not None:
        return reading  # a plain file needs no pydantic (``_reading``)
    from ._models import validated_reading

    return validated_reading(path, document)


def _document(path: Path) -> Mapping[str, object]:
    document = read_yaml(path)
    if not isinstance(document, Mapping):
        raise ConfigError(f"{path}:1 the file must be a mapping with at least a 'feeds' list")
    return document


def likely_mistakes(settings: Settings) -> list[str]:
    """Valid but probably unintended settings, for `check` to point out."""
    found = []
    urls: dict[str, str] = {}
    for feed in settings.feeds:
        if feed.url in urls:
            found.append(f"feeds {urls[feed.url]} and {feed.name} poll the same url {redact(feed.url)}")
        urls.setdefault(feed.url, feed.name)
        if feed.interval_s < 60:
            found.append(
                f"feed {feed.name} polls every {feed.interval_s}s: under a minute is impolite to most sites"
            )
    channels = sorted({feed.channel for feed in settings.feeds if feed.channel})
    if channels and not (settings.slack.token or settings.slack.webhook_url):
        found.append(
            f"alerts for {', '.join(channels)} will only be printed: set SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL"
        )
    if settings.slack.webhook_url and any(
        f.channel and f.channel != settings.slack.channel for f in settings.feeds
    ):
        found.append("per-feed channels are ignored with SLACK_WEBHOOK_URL (a webhook posts to one channel)")
    return found
