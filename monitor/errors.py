"""The exception tree, drawn once. Messages read "stage: what (detail)".

    MonitorError
    ├── ConfigError        feeds.yaml or the environment is wrong            → exit 2
    ├── FetchError         a feed or page could not be fetched (has .kind)
    ├── FeedError          the bytes are not a feed
    ├── ArticleError       a page has no body to read (it is never read from navigation)
    ├── StoreError         the TinyDB file is broken, newer than us, or locked
    │   └── StoreLocked    another scheduler owns the store
    └── SlackError         an alert could not be posted
        └── SlackConfigError   invalid_auth, channel_not_found, not_in_channel: retrying will not help

A feed's failure is recorded on its state and the poll goes on; only ConfigError and StoreError end a command.
"""

from __future__ import annotations

from typing import Literal


class MonitorError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(MonitorError):
    """The configuration is invalid; the message names the file, the key path and the line."""


FetchFailure = Literal[
    "error",
    "blocked",
    "connection",
    "dns",
    "file",
    "forbidden_address",
    "http",
    "redirects",
    "refused",
    "robots",
    "timeout",
    "tls",
    "too_large",
]


class FetchError(MonitorError):
    """A request failed; ``kind`` says how, in one word for logs and status."""

    def __init__(self, message: str, *, kind: FetchFailure = "error", url: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.url = url


class FeedError(MonitorError):
    """The response is not a feed that any entry could be recovered from."""


class ArticleError(MonitorError):
    """The page could not be decoded or has no body text."""


class StoreError(MonitorError):
    """The store cannot be read or written safely; nothing was changed."""


class StoreLocked(StoreError):
    """Another process holds the writer lock on the store."""


class SlackError(MonitorError):
    """Posting to Slack failed in a way that may pass (rate limit, 5xx, network)."""


class SlackConfigError(SlackError):
    """Slack refused the credentials or channel; alerts are kept until the config is fixed."""
