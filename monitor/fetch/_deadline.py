"""Deadline machinery for fetches: a request's whole-request deadline, and the thread that enforces it.

httpx's timeouts bound each connect and each read, not a whole request: a server dripping a byte every few
seconds would never trip them. So every request gets a ``Deadline``; a ``Watchdog`` registers it on the
fetcher's one ``Alarms`` thread, which shuts the request's socket down when it passes. The watchdog also
checks the peer each new connection actually reached (see ``fetch._addresses``).
"""

from __future__ import annotations

import contextlib
import heapq
import ipaddress
import itertools
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import FetchError
from ._addresses import ForbiddenPeer, address_kind


class Deadline:
    """A point in monotonic time that a whole request (all its hops) must finish by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - time.monotonic())

    def check(self, url: str) -> None:
        """Raise a "timeout" FetchError for ``url`` once the deadline has passed."""
        if time.monotonic() >= self.at:
            raise FetchError(f"fetch: timeout after {self.seconds:g}s ({url})", kind="timeout", url=url)


class Alarm:
    """One deadline on an ``Alarms`` heap; ``cancel()`` makes it a no-op and lets go of its callback."""

    __slots__ = ("callback", "order", "when")

    def __init__(self, when: float, order: int, callback: Callable[[], None]) -> None:
        self.when = when
        self.order = order
        self.callback: Callable[[], None] | None = callback

    def __lt__(self, other: Alarm) -> bool:
        return (self.when, self.order) < (other.when, other.order)

    def cancel(self) -> None:
        """Never run the callback, and let go of it."""
        self.callback = None


class Alarms:
    """One thread that runs every request's deadline callback, earliest first, for the life of a Fetcher.

    A timer thread per request cost a thread start on every request, and under a busy GIL the start itself
    waits milliseconds for the new thread to run; one thread with a heap costs a push and, usually, no wake-up
    (deadlines all have the same length, so a new one is rarely the earliest). Cancelled alarms stay on the
    heap, without their callback, until they come due or reach its top.
    """

    def __init__(self) -> None:
        self._heap: list[Alarm] = []
        self._wake = threading.Condition(threading.Lock())
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def at(self, when: float, callback: Callable[[], None]) -> Alarm:
        """Run ``callback`` on the alarm thread at monotonic time ``when``, unless it is cancelled first."""
        alarm = Alarm(when, next(self._order), callback)
        with self._wake:
            if self._closed:
                raise RuntimeError("fetch: the fetcher is closed")
            heapq.heappush(self._heap, alarm)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0] is alarm:
                self._wake.notify()
        return alarm

    def close(self) -> None:
        """Stop the thread; pending alarms never fire."""
        with self._wake:
            self._closed = True
            self._heap.clear()
            self._wake.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        while (callback := self._next_due()) is not None:
            callback()  # outside the lock: it may take a socket's lock

    def _next_due(self) -> Callable[[], None] | None:
        """Wait for the earliest live alarm to come due and take it off the heap; None once closed."""
        with self._wake:
            while not self._closed:
                while self._heap and self._heap[0].callback is None:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                wait_s = self._heap[0].when - time.monotonic()
                if wait_s <= 0:
                    callback = heapq.heappop(self._heap).callback
                    if callback is not None:
                        return callback
                    continue
                self._wake.wait(wait_s)
        return None


class Watchdog:
    """Shuts the request's socket down when the deadline passes, so a dripping server cannot hold us.

    It also checks the address each new connection actually reached (DNS may answer differently the second
    time), before a byte of the request is sent.
    """

    def __init__(self, deadline: Deadline, alarms: Alarms, *, allowed: frozenset[str]) -> None:
        self.allowed = allowed
        self.fired = False
        self._done = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._alarm = alarms.at(deadline.at, self._expire)

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpx's "trace" extension: check each new connection's peer, then watch its socket."""
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        if stream is None:
            return
        if event == "connection.connect_tcp.complete":
            address = str(stream.get_extra_info("server_addr")[0]).split("%")[0]
            kind = address_kind(ipaddress.ip_address(address))
            if kind is not None and kind not in self.allowed:
                stream.close()
                raise ForbiddenPeer(address, kind)
        self.watch(stream)

    def watch(self, stream: Any) -> None:
        """Take the stream's socket as the one to shut at the deadline (shut now if it has passed)."""
        sock = stream.get_extra_info("socket") if stream is not None else None
        with self._lock:
            if sock is not None:
                self._sock = sock
            expired = self.fired
        if expired:
            self._expire()

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            sock = self._sock
        if sock is not None:
            # The plain socket call: SSLSocket.shutdown would also drop its TLS state under a reader.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def stop(self) -> None:
        """Never shut the socket from now on, and cancel the alarm."""
        with self._lock:
            self._done = True
        self._alarm.cancel()
