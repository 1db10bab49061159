"""Several workers on one PostgreSQL store: feeds claimed one poll at a time, the outbox one delivery per
channel at a time. Private to ``store``; ``PostgresStore`` inherits it.

Each claim holds a session-level advisory lock on a connection of its own, outside the pool (a poll needs
pooled connections while it holds its feed): a worker that dies ends its sessions, and the server releases its
locks at once, so another worker polls the feed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import psycopg

from ..errors import StoreError

# The outbox's lock: the key earlier versions held to deliver the whole outbox, so they wait for this one's
# channel claims (and it for theirs) while both run during an upgrade.
OUTBOX = "gba-monitor outbox"
RECORDING = "gba-monitor recording"  # the key of the lock under which workers tell stories' identity


class WorkerClaims:
    """The workers' claims; uses the store's ``url``, ``where``, ``worker``, ``_now`` and ``_rows``, and
    keeps the session of the identity lock in ``_recorder`` (None until a first poll; ``close_sessions``)."""

    url: str
    where: str
    worker: str
    _recorder: psycopg.Connection | None
    _recorder_turns: threading.Lock
    _now: Callable[[], datetime]
    _rows: Callable[..., list[tuple[Any, ...]]]

    @contextmanager
    def claim_feed(self, name: str, interval_s: int, *, due_only: bool = True) -> Iterator[bool]:
        """True inside when no other worker holds feed ``name`` and (with ``due_only``) its last poll, by
        any worker, was at least 0.9 of ``interval_s`` ago; on exit, this worker is recorded as its poller."""
        with self._session() as conn:
            key = f"gba-monitor feed {name}"
            (locked,) = conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)
            ).fetchone() or (False,)
            if not locked:
                yield False
                return
            if due_only:
                found = conn.execute("SELECT next_poll FROM feed_claims WHERE name = %s", (name,)).fetchone()
                if found and found[0] > self._now():
                    yield False
                    return
            yield True
            now = self._now()
            # 0.9: schedulers on several machines fire at slightly different moments each interval
            conn.execute(
                """INSERT INTO feed_claims (name, worker, polled_at, next_poll) VALUES (%s, %s, %s, %s)
                   ON CONFLICT (name) DO UPDATE SET worker = EXCLUDED.worker, polled_at = EXCLUDED.polled_at,
                       next_poll = EXCLUDED.next_poll""",
                (name, self.worker, now, now + timedelta(seconds=interval_s * 0.9)),
            )

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Wait for, then hold, the lock under which workers tell a story's identity and store it: a story
        that two feeds carry, polled by two workers at once, is stored once (the second finds the first).

        The lock is held by a session the store keeps for it (its threads take turns on it): opening a session
        for each poll made every feed queued behind it wait for a connection too. A worker that dies ends the
        session, which releases the lock."""
        with self._recorder_turns:
            conn = self._recorder or self._connect()
            self._recorder = conn
            try:
                conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (RECORDING,))
            except psycopg.Error as exc:
                self._drop_recorder()
                text = str(exc).strip()
                raise StoreError(
                    f"store: {self.where}: {text.splitlines()[0] if text else type(exc).__name__}"
                ) from None
            try:
                yield
            finally:
                try:
                    conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (RECORDING,))
                except psycopg.Error:
                    self._drop_recorder()  # a session that is gone holds no lock

    def _drop_recorder(self) -> None:
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None

    @contextmanager
    def delivering(self, channel: str | None = None) -> Iterator[None]:
        """Wait for, then hold, ``channel`` of the outbox (``None``: the whole outbox): one worker at a time
        delivers a channel (its pacing and order hold); two workers deliver two channels at once.

        A channel's claim is the outbox's lock, shared, and the channel's own lock; the whole outbox is the
        outbox's lock alone, exclusive, so it waits for every channel's claim to end (and, queued, keeps new
        ones waiting). A worker holds one claim at a time, so two workers never wait for each other in a
        circle."""
        with self._session() as conn:
            if channel is None:
                conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (OUTBOX,))
            else:
                conn.execute("SELECT pg_advisory_lock_shared(hashtextextended(%s, 0))", (OUTBOX,))
                conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"{OUTBOX} {channel}",))
            yield

    def close_sessions(self) -> None:
        """Close the session kept for the identity lock (see ``recording``)."""
        with self._recorder_turns:
            self._drop_recorder()

    def feed_workers(self) -> dict[str, str]:
        """Feed name → the worker (host:pid) that polled it last."""
        return dict(self._rows("SELECT name, worker FROM feed_claims WHERE worker IS NOT NULL"))

    @contextmanager
    def _session(self) -> Iterator[psycopg.Connection]:
        """A connection of its own, closed on exit (which releases its advisory locks)."""
        with self._connect() as conn:
            yield conn

    def _connect(self) -> psycopg.Connection:
        """A connection outside the pool, for a session's advisory locks."""
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise StoreError(f"store: cannot connect to {self.where} ({reason(exc)})") from None


def reason(exc: psycopg.OperationalError) -> str:
    """libpq's reason a connection failed, in a few words ("Connection refused")."""
    text = str(exc).strip()
    return text.splitlines()[0].rsplit("failed: ", 1)[-1] if text else type(exc).__name__
