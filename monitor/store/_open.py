"""The one place that chooses a store's engine from its settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from ..clock import utc_now
from ..settings import StorageSettings
from ._protocol import MonitorStore


def open_store(
    storage: StorageSettings,
    *,
    now: Callable[[], datetime] = utc_now,
    max_connections: int = 8,
    worker: str | None = None,
) -> MonitorStore:
    """The store the settings name: PostgreSQL at ``storage.url`` when set, else the TinyDB file at
    ``storage.path``. StoreError when it cannot be opened (unreachable, broken, newer). ``worker`` names this
    process in a shared database (default host:pid); ``max_connections=1``: a short-lived command's store
    (PostgreSQL: one plain connection, no pool)."""
    if storage.url:
        from ._postgres import PostgresStore  # psycopg loads only for a PostgreSQL store

        return PostgresStore(
            storage.url,
            now=now,
            retention_days=storage.retention_days,
            max_connections=max_connections,
            worker=worker,
            heartbeat=storage.path,
        )
    from ._store import Store  # TinyDB loads only for a TinyDB store

    return Store(storage.path, now=now, retention_days=storage.retention_days)


def has_store(storage: StorageSettings) -> bool:
    """True when there may be something stored: a database URL, or an existing TinyDB file."""
    return bool(storage.url) or storage.path.exists()


def describe(storage: StorageSettings) -> str:
    """Where the store lives, safe to print: the file's path, or the database URL without its password."""
    if storage.url:
        from ._postgres import redacted

        return redacted(storage.url)
    return str(storage.path)


def storage_at(target: str, *, like: StorageSettings) -> StorageSettings:
    """The storage settings for ``target``: a PostgreSQL URL, or a TinyDB file's path (relative to the current
    folder); the rest as in ``like``."""
    if target.startswith(("postgresql://", "postgres://")):
        return replace(like, url=target)
    return replace(like, path=Path(target).resolve(), url=None)
