"""URL → Fetched: feeds and article pages over HTTP(S), or local files for the offline demo.

The only user of httpx and protego. A ``Fetcher`` holds one ``httpx.Client`` per host for its life, so
connections are reused (at most ``max_per_host`` per host); it is thread-safe, and however many threads ask,
it keeps at most ``max_per_host`` requests on one host and ``max_concurrency × max_per_host`` in flight in
all. Every request is bounded: connect/read
timeouts, a total deadline enforced here (the fetcher's one alarm thread shuts a request's socket when its
deadline passes), at most ``max_redirects`` hops followed one by one, and a cap on the *decoded* size,
enforced while streaming and while inflating. Article pages reach only public addresses (checked before each
hop and again on the socket actually connected), except for the kind of address the feed itself is on: a
feed on 127.0.0.1 may link to pages on loopback, never to link-local or private ones.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import heapq
import ipaddress
import itertools
import mimetypes
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx
from protego import Protego

from .errors import FetchError
from .records import FeedSettings, Fetched, FetchSettings

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ROBOTS_MAX_BYTES = 512_000  # Google reads the first 500 KiB of a robots.txt
ROBOTS_TTL_S = 24 * 3600.0
ROBOTS_RETRY_S = 600.0  # after a timeout or network error, ask again sooner than after an answer
ERROR_BODY_BYTES = 65_536  # enough of a 403/503 page to recognise a bot challenge
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
# Only what we can inflate with a bounded output size; brotli would need a package we do not ship.
ACCEPT_ENCODING = "gzip, deflate"
CHALLENGE_MARKERS = (
    b"cf-chl",
    b"challenge-platform",
    b"just a moment...",
    b"attention required! | cloudflare",
    b"checking your browser",
    b"captcha",
    b"_incapsula_resource",
    b"ddos-guard",
    b"verify you are human",
    b"are you a robot",
    b"aliyun_waf",
    b"_waf_",
    b"\xe5\xae\x89\xe5\x85\xa8\xe9\xaa\x8c\xe8\xaf\x81",  # 安全验证
)


class RateLimited(FetchError):
    """HTTP 429 or 503: the server asked us to come back later; ``retry_after_s`` says when, if it did."""

    def __init__(self, message: str, *, url: str | None, status: int, retry_after_s: float | None) -> None:
        super().__init__(message, kind="http", url=url)
        self.status = status
        self.retry_after_s = retry_after_s


class Fetcher:
    """Fetches feeds and pages politely and within limits; ``close()`` it, or use it as a context manager."""

    def __init__(self, settings: FetchSettings) -> None:
        self.settings = settings
        # trust_env=False: proxies and certificates come from config, never from the environment. One TLS
        # context for every host's client: building one reads the whole CA bundle.
        self._tls = httpx.create_ssl_context(trust_env=False)
        self._lock = threading.Lock()
        self._hosts: dict[str, _Host] = {}
        self._closed = False
        self._robots: dict[str, tuple[float, Protego | None]] = {}  # origin → (expires, rules)
        self._robots_locks: dict[str, threading.Lock] = {}
        self._feed_address_kinds: dict[str, frozenset[str]] = {}
        self._alarms = _Alarms()
        self._in_flight = threading.BoundedSemaphore(settings.max_concurrency * settings.max_per_host)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection and stop the deadline thread."""
        with self._lock:
            self._closed = True
            hosts, self._hosts = list(self._hosts.values()), {}
        for host in hosts:
            host.client.close()
        self._alarms.close()

    # --- public API ---------------------------------------------------------------------------------

    def fetch_feed(
        self, feed: FeedSettings, *, etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        """The feed's body, or ``status=304`` with an empty body when the validators still match."""
        if feed.is_local:
            return _read_local_feed(feed, etag, last_modified, self.settings.max_feed_bytes)
        headers = {"accept": FEED_ACCEPT}
        if etag:
            headers["if-none-match"] = etag
        if last_modified:
            headers["if-modified-since"] = last_modified
        fetched = self._get(
            feed.url,
            feed=feed,
            headers=headers,
            max_bytes=self.settings.max_feed_bytes,
            allowed=self._feed_address_kinds_of(feed),
            conditional=True,
        )
        if fetched.not_modified:
            return Fetched(
                url=fetched.url,
                final_url=fetched.final_url,
                status=304,
                body=b"",
                headers=fetched.headers,
                etag=fetched.etag or etag,
                last_modified=fetched.last_modified or last_modified,
            )
        return fetched

    def fetch_page(self, url: str, *, feed: FeedSettings) -> Fetched:
        """An article page linked from ``feed``: http(s) to public hosts, or a file beside a local feed."""
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError:
            scheme = ""
        if scheme == "file":
            return _read_local_page(url, feed, self.settings.max_page_bytes)
        if scheme not in ("http", "https"):
            raise FetchError(f"fetch: only http(s) links are followed ({url})", kind="refused", url=url)
        allowed = self._feed_address_kinds_of(feed)
        if self.settings.respect_robots and not self._robots_allow(url, feed, allowed):
            raise FetchError(f"fetch: disallowed by robots.txt ({url})", kind="robots", url=url)
        return self._get(
            url,
            feed=feed,
            headers={"accept": PAGE_ACCEPT},
            max_bytes=self.settings.max_page_bytes,
            allowed=allowed,
            conditional=False,
        )

    # --- one request, hop by hop --------------------------------------------------------------------

    def _get(
        self,
        url: str,
        *,
        feed: FeedSettings,
        headers: Mapping[str, str],
        max_bytes: int,
        allowed: frozenset[str],
        conditional: bool,
    ) -> Fetched:
        """Follow redirects ourselves so that every hop's scheme and addresses are checked."""
        timeout_s = feed.timeout_s or self.settings.timeout_s
        deadline = _Deadline(self.settings.deadline_s)
        feed_host = _host_of(feed.url)
        hop_url = url
        for _ in range(self.settings.max_redirects + 1):
            target = _parse_http_url(hop_url)
            _check_addresses(target, hop_url, allowed=allowed)
            hop_headers = self._headers_for(target, feed, feed_host, headers)
            status, response_headers, body = self._exchange(
                target, hop_url, hop_headers, timeout_s, deadline, max_bytes, allowed
            )
            location = response_headers.get("location")
            if status in REDIRECT_STATUSES and location:
                try:
                    hop_url = str(target.join(location.strip()))
                except (httpx.InvalidURL, ValueError) as exc:
                    raise FetchError(
                        f"fetch: bad redirect ({hop_url})", kind="redirects", url=hop_url
                    ) from exc
                continue
            if status == 304 and conditional:
                return _fetched(url, hop_url, 304, b"", response_headers)
            if not 200 <= status < 300:
                raise _status_error(status, response_headers, body, hop_url)
            return _fetched(url, hop_url, status, body, response_headers)
        raise FetchError(
            f"fetch: more than {self.settings.max_redirects} redirects ({url})", kind="redirects", url=url
        )

    def _headers_for(
        self, target: httpx.URL, feed: FeedSettings, feed_host: str | None, base: Mapping[str, str]
    ) -> dict[str, str]:
        """Our identity, plus the feed's own headers only on the feed's host (they may carry credentials)."""
        headers = {"user-agent": self.settings.user_agent, **base}
        if feed_host and target.host == feed_host:
            headers.update({name.lower(): value for name, value in feed.headers.items()})
        headers["accept-encoding"] = ACCEPT_ENCODING
        return headers

    def _exchange(
        self,
        target: httpx.URL,
        url: str,
        headers: dict[str, str],
        timeout_s: float,
        deadline: _Deadline,
        max_bytes: int,
        allowed: frozenset[str],
    ) -> tuple[int, dict[str, str], bytes]:
        """One request/response: status, lower-cased headers and the decoded body (capped)."""
        read_s = max(0.001, min(timeout_s, deadline.remaining()))
        host = self._host(target.host)
        with self._slots(host, deadline, url):
            watchdog = _Watchdog(deadline, self._alarms, allowed=allowed)
            request = host.client.build_request(
                "GET",
                target,
                headers=headers,
                timeout=httpx.Timeout(timeout_s, read=read_s),
                extensions={"trace": watchdog.trace},
            )
            try:
                response = host.client.send(request, stream=True)
                try:
                    watchdog.watch(response.extensions.get("network_stream"))
                    response_headers = {k.lower(): v for k, v in response.headers.items()}
                    ok = 200 <= response.status_code < 300
                    # Other answers are read too, a little: a drained connection goes back to the pool.
                    cap = max_bytes if ok else ERROR_BODY_BYTES
                    body = _read_body(response, cap, deadline, url, truncate=not ok)
                    return response.status_code, response_headers, body
                finally:
                    watchdog.stop()  # before close(): a pooled connection must never be shut by a late timer
                    response.close()
            except _ForbiddenPeer as exc:
                raise _forbidden(exc.address, exc.kind, url) from None
            except httpx.HTTPError as exc:
                raise _transport_error(exc, url, timeout_s, self.settings.deadline_s, watchdog.fired) from exc
            finally:
                watchdog.stop()

    def _host(self, name: str) -> _Host:
        """The host's client and request slots, made on first use."""
        with self._lock:
            if self._closed:
                raise RuntimeError("fetch: the fetcher is closed")
            host = self._hosts.get(name)
            if host is None:
                # Each host its own pool: httpx scans the whole pool on every request, and one shared pool
                # smaller than hosts × max_per_host keeps closing one host's connections for another's.
                per_host = self.settings.max_per_host
                client = httpx.Client(
                    timeout=httpx.Timeout(self.settings.timeout_s),
                    limits=httpx.Limits(max_connections=per_host, max_keepalive_connections=per_host),
                    follow_redirects=False,
                    trust_env=False,
                    verify=self._tls,
                )
                host = self._hosts[name] = _Host(client, threading.BoundedSemaphore(per_host))
            return host

    @contextlib.contextmanager
    def _slots(self, host: _Host, deadline: _Deadline, url: str) -> Iterator[None]:
        """At most ``max_per_host`` requests to one host at a time, and ``max_concurrency × max_per_host`` in
        all, across all threads."""
        # The host's slot first: a request waiting for its host must not hold one of the shared slots.
        with self._slot(host.slots, deadline, url), self._slot(self._in_flight, deadline, url):
            yield

    @contextlib.contextmanager
    def _slot(self, slots: threading.BoundedSemaphore, deadline: _Deadline, url: str) -> Iterator[None]:
        if not slots.acquire(timeout=deadline.remaining()):
            raise FetchError(
                f"fetch: timeout after {self.settings.deadline_s:g}s waiting for a slot ({url})",
                kind="timeout",
                url=url,
            )
        try:
            yield
        finally:
            slots.release()

    # --- politeness and address policy --------------------------------------------------------------

    def _feed_address_kinds_of(self, feed: FeedSettings) -> frozenset[str]:
        """The non-public kinds of address the feed itself is on ("loopback", ...): its links may go there."""
        host = None if feed.is_local else _host_of(feed.url)
        if host is None:
            return frozenset()
        with self._lock:
            known = self._feed_address_kinds.get(host)
        if known is not None:
            return known
        try:
            kinds = frozenset(filter(None, map(_address_kind, _resolve(host, 443))))
        except (OSError, UnicodeError):
            return frozenset()  # not cached: the feed's own fetch reports the DNS failure
        with self._lock:
            self._feed_address_kinds[host] = kinds
        return kinds

    def _robots_allow(self, url: str, feed: FeedSettings, allowed: frozenset[str]) -> bool:
        """Whether robots.txt lets our User-Agent fetch ``url``; a missing or failing robots.txt allows it."""
        parts = urlsplit(url)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        with self._lock:
            origin_lock = self._robots_locks.setdefault(origin, threading.Lock())
        with origin_lock:  # one robots.txt request per origin, however many threads want it
            cached = self._robots.get(origin)
            if cached is None or time.monotonic() > cached[0]:
                cached = self._load_robots(origin, feed, allowed)
                self._robots[origin] = cached
        rules = cached[1]
        agent = {k.lower(): v for k, v in feed.headers.items()}.get("user-agent", self.settings.user_agent)
        return rules is None or rules.can_fetch(url, agent)

    def _load_robots(
        self, origin: str, feed: FeedSettings, allowed: frozenset[str]
    ) -> tuple[float, Protego | None]:
        """(when to ask again, the parsed rules or None for "allow all")."""
        try:
            fetched = self._get(
                f"{origin}/robots.txt",
                feed=feed,
                headers={"accept": "text/plain"},
                max_bytes=ROBOTS_MAX_BYTES,
                allowed=allowed,
                conditional=False,
            )
        except FetchError as error:
            ttl_s = ROBOTS_TTL_S if error.kind in ("http", "too_large") else ROBOTS_RETRY_S
            return time.monotonic() + ttl_s, None
        try:
            rules = Protego.parse(fetched.body.decode("utf-8", "replace"))
        except Exception:  # a parser bug must not make a site unreachable
            rules = None
        return time.monotonic() + ROBOTS_TTL_S, rules


# --- helpers: time, addresses, bodies, errors ---------------------------------------------------------


class _Host:
    """One host's share of a Fetcher: its own connection pool and its request slots."""

    __slots__ = ("client", "slots")

    def __init__(self, client: httpx.Client, slots: threading.BoundedSemaphore) -> None:
        self.client = client
        self.slots = slots


class _Deadline:
    """A point in monotonic time that a whole request (all its hops) must finish by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def check(self, url: str) -> None:
        if time.monotonic() >= self.at:
            raise FetchError(f"fetch: timeout after {self.seconds:g}s ({url})", kind="timeout", url=url)


class _ForbiddenPeer(Exception):
    def __init__(self, address: str, kind: str) -> None:
        super().__init__(address)
        self.address = address
        self.kind = kind


class _Alarm:
    """One deadline on an ``_Alarms`` heap; ``cancel()`` makes it a no-op and lets go of its callback."""

    __slots__ = ("callback", "order", "when")

    def __init__(self, when: float, order: int, callback: Callable[[], None]) -> None:
        self.when = when
        self.order = order
        self.callback: Callable[[], None] | None = callback

    def __lt__(self, other: _Alarm) -> bool:
        return (self.when, self.order) < (other.when, other.order)

    def cancel(self) -> None:
        self.callback = None


class _Alarms:
    """One thread that runs every request's deadline callback, earliest first, for the life of a Fetcher.

    A timer thread per request cost a thread start on every request, and under a busy GIL the start itself
    waits milliseconds for the new thread to run; one thread with a heap costs a push and, usually, no wake-up
    (deadlines all have the same length, so a new one is rarely the earliest). Cancelled alarms stay on the
    heap, without their callback, until they come due or reach its top.
    """

    def __init__(self) -> None:
        self._heap: list[_Alarm] = []
        self._wake = threading.Condition(threading.Lock())
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def at(self, when: float, callback: Callable[[], None]) -> _Alarm:
        """Run ``callback`` on the alarm thread at monotonic time ``when``, unless it is cancelled first."""
        alarm = _Alarm(when, next(self._order), callback)
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


class _Watchdog:
    """Shuts the request's socket down when the deadline passes, so a dripping server cannot hold us.

    It also checks the address each new connection actually reached (DNS may answer differently the second
    time), before a byte of the request is sent.
    """

    def __init__(self, deadline: _Deadline, alarms: _Alarms, *, allowed: frozenset[str]) -> None:
        self.allowed = allowed
        self.fired = False
        self._done = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._alarm = alarms.at(deadline.at, self._expire)

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        if stream is None:
            return
        if event == "connection.connect_tcp.complete":
            address = str(stream.get_extra_info("server_addr")[0]).split("%")[0]
            kind = _address_kind(ipaddress.ip_address(address))
            if kind is not None and kind not in self.allowed:
                stream.close()
                raise _ForbiddenPeer(address, kind)
        self.watch(stream)

    def watch(self, stream: Any) -> None:
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
        with self._lock:
            self._done = True
        self._alarm.cancel()


@functools.lru_cache(maxsize=1024)  # asked on every request, of a few hundred feed URLs
def _host_of(url: str) -> str | None:
    try:
        return httpx.URL(url).host or None
    except (httpx.InvalidURL, ValueError, TypeError):
        return None


def _parse_http_url(url: str) -> httpx.URL:
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise FetchError(f"fetch: invalid URL ({url})", kind="refused", url=url) from exc
    if target.scheme not in ("http", "https") or not target.host:
        raise FetchError(f"fetch: only http(s) URLs are fetched ({url})", kind="refused", url=url)
    return target


def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _address_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """None for a globally routable unicast address, else what it is ("loopback", "link-local", ...)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-global"


def _check_addresses(target: httpx.URL, url: str, *, allowed: frozenset[str]) -> None:
    """Resolve the hop's host; every address must be public or of a kind the feed itself is on."""
    host = target.raw_host.decode("ascii")
    try:
        addresses = _resolve(host, target.port or (443 if target.scheme == "https" else 80))
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"fetch: cannot resolve {host} ({url})", kind="dns", url=url) from exc
    if not addresses:
        raise FetchError(f"fetch: cannot resolve {host} ({url})", kind="dns", url=url)
    for address in addresses:
        kind = _address_kind(address)
        if kind is not None and kind not in allowed:
            raise _forbidden(str(address), kind, url)


def _forbidden(address: str, kind: str, url: str) -> FetchError:
    return FetchError(f"fetch: {address} is a {kind} address ({url})", kind="forbidden_address", url=url)


class _Inflater:
    """Content-Encoding decoder whose output per call never exceeds the room left under the cap."""

    def __init__(self, content_encoding: str | None, url: str) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        for coding in codings:
            if coding not in ("gzip", "x-gzip", "deflate"):
                raise FetchError(
                    f"fetch: unsupported content-encoding {coding} ({url})", kind="http", url=url
                )
        self._layers = [_Layer(coding) for coding in reversed(codings)]
        self.identity = not self._layers

    def decode(self, data: bytes, room: int) -> bytes:
        """Up to ``room + 1`` decoded bytes (one more than room means: over the cap)."""
        for layer in self._layers:
            data = layer.decode(data, room + 1)
            if len(data) > room:
                return data
        return data


class _Layer:
    def __init__(self, coding: str) -> None:
        self.gzip = coding in ("gzip", "x-gzip")
        self._inflater: Any = zlib.decompressobj(zlib.MAX_WBITS | 16) if self.gzip else None
        self._started = False

    def decode(self, data: bytes, limit: int) -> bytes:
        """Decompress ``data``; output stops at ``limit`` bytes, which is enough to know the cap is passed."""
        out = bytearray()
        while data and len(out) < limit:
            if self._inflater is None:  # "deflate" is zlib-wrapped by the RFC, raw in some servers
                raw = len(data) < 2 or (data[0] & 0x0F) != 8 or (data[0] << 8 | data[1]) % 31 != 0
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
            try:
                out += self._inflater.decompress(data, limit - len(out))
            except zlib.error:
                if out or self._started:
                    break  # a corrupt tail: keep what decoded, the parser will judge it
                raise
            self._started = True
            data = self._inflater.unconsumed_tail
            if self._inflater.eof:
                data = self._inflater.unused_data
                if not (self.gzip and data[:2] == b"\x1f\x8b"):
                    break  # trailing garbage after the stream, as browsers ignore it
                self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)  # a further gzip member
        return bytes(out)


def _read_body(
    response: httpx.Response, max_bytes: int, deadline: _Deadline, url: str, *, truncate: bool
) -> bytes:
    """The decoded body, read chunk by chunk against the deadline and the decoded-size cap.

    With ``truncate`` (error pages, redirects) it keeps what fits and what decodes instead of failing.
    """
    try:
        inflater = _Inflater(response.headers.get("content-encoding"), url)
    except FetchError:
        if truncate:
            return b""
        raise
    declared = response.headers.get("content-length", "")
    if inflater.identity and declared.isdigit() and int(declared) > max_bytes and not truncate:
        raise _too_large(max_bytes, url)
    body = bytearray()
    # Iterate the transport stream itself: the raw bytes, and the connection goes back to the pool only on
    # close(), after the watchdog has been stopped.
    for raw in response.stream:
        deadline.check(url)
        room = max_bytes - len(body)
        try:
            chunk = inflater.decode(raw, room)
        except zlib.error as exc:
            if truncate:
                break
            raise FetchError(f"fetch: corrupt compressed body ({url})", kind="http", url=url) from exc
        if len(chunk) > room:
            if truncate:
                return bytes(body + chunk[:room])
            raise _too_large(max_bytes, url)
        body += chunk
    deadline.check(url)
    return bytes(body)


def _too_large(max_bytes: int, url: str) -> FetchError:
    return FetchError(f"fetch: response larger than {max_bytes} bytes ({url})", kind="too_large", url=url)


def _fetched(url: str, final_url: str, status: int, body: bytes, headers: dict[str, str]) -> Fetched:
    kept = {
        k: v
        for k, v in headers.items()
        if k not in ("content-encoding", "content-length", "transfer-encoding")
    }
    return Fetched(
        url=url,
        final_url=final_url,
        status=status,
        body=body,
        headers=kept,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
    )


def _status_error(status: int, headers: Mapping[str, str], body: bytes, url: str) -> FetchError:
    if status in (403, 429, 503) and _is_challenge(headers, body):
        return FetchError(
            f"fetch: blocked by a bot challenge, HTTP {status} ({url})", kind="blocked", url=url
        )
    if status in (429, 503):
        retry_after_s = _retry_after_s(headers)
        when = f", retry after {retry_after_s:g}s" if retry_after_s is not None else ""
        return RateLimited(
            f"fetch: HTTP {status}{when} ({url})", url=url, status=status, retry_after_s=retry_after_s
        )
    return FetchError(f"fetch: HTTP {status} ({url})", kind="http", url=url)


def _is_challenge(headers: Mapping[str, str], body: bytes) -> bool:
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    lowered = body[:ERROR_BODY_BYTES].lower()
    return any(marker in lowered for marker in CHALLENGE_MARKERS)


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Retry-After as seconds: delta-seconds, or an HTTP date measured from the response's own Date."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:  # measured from the server's own clock when it sent one we can read
        now = email.utils.parsedate_to_datetime(headers.get("date", ""))
    except (TypeError, ValueError, IndexError, OverflowError):
        now = datetime.now(UTC)
    if when.tzinfo is None or now.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def _transport_error(
    exc: httpx.HTTPError, url: str, timeout_s: float, deadline_s: float, deadline_fired: bool
) -> FetchError:
    if deadline_fired:
        return FetchError(f"fetch: timeout after {deadline_s:g}s ({url})", kind="timeout", url=url)
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"fetch: timeout after {timeout_s:g}s ({url})", kind="timeout", url=url)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return FetchError(f"fetch: invalid URL ({url})", kind="refused", url=url)
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return FetchError(f"fetch: TLS error: {cause} ({url})", kind="tls", url=url)
        cause = cause.__cause__ or cause.__context__
    return FetchError(
        f"fetch: connection failed: {exc or type(exc).__name__} ({url})", kind="connection", url=url
    )


# --- local files (offline demo) -----------------------------------------------------------------------


def _read_local_feed(
    feed: FeedSettings, etag: str | None, last_modified: str | None, max_bytes: int
) -> Fetched:
    """A feed file on disk, with an ETag and Last-Modified of its own so unchanged files cost nothing."""
    path = Path(feed.url)
    if not path.is_absolute():
        raise FetchError(
            f"fetch: a local feed needs an absolute path ({feed.url})", kind="refused", url=feed.url
        )
    try:
        stat = path.stat()
    except OSError as exc:
        raise FetchError(f"fetch: cannot read {path} ({exc.strerror})", kind="file", url=feed.url) from exc
    uri = path.as_uri()
    tag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
    modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
    headers = {"content-type": mimetypes.guess_type(path.name)[0] or "application/xml"}
    if (etag == tag) or (etag is None and last_modified == modified):
        return Fetched(
            url=feed.url,
            final_url=uri,
            status=304,
            body=b"",
            headers=headers,
            etag=tag,
            last_modified=modified,
        )
    body = _read_file(path, max_bytes, feed.url)
    return Fetched(
        url=feed.url, final_url=uri, status=200, body=body, headers=headers, etag=tag, last_modified=modified
    )


def _read_local_page(url: str, feed: FeedSettings, max_bytes: int) -> Fetched:
    """A file:// link, only from a local feed and only inside the feed file's folder (symlinks resolved)."""
    if not feed.is_local:
        raise FetchError(
            f"fetch: file links are followed only from local feeds ({url})", kind="refused", url=url
        )
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise FetchError(f"fetch: remote file links are not followed ({url})", kind="refused", url=url)
    folder = Path(feed.url).resolve().parent
    path = Path(url2pathname(parts.path)).resolve()
    if not path.is_relative_to(folder):
        raise FetchError(f"fetch: file outside the feed's folder ({url})", kind="refused", url=url)
    body = _read_file(path, max_bytes, url)
    headers = {"content-type": mimetypes.guess_type(path.name)[0] or "text/html"}
    return Fetched(url=url, final_url=path.as_uri(), status=200, body=body, headers=headers)


def _read_file(path: Path, max_bytes: int, url: str) -> bytes:
    if not path.is_file():
        raise FetchError(f"fetch: not a regular file ({url})", kind="file", url=url)
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(f"fetch: cannot read {path} ({exc.strerror})", kind="file", url=url) from exc
    if len(body) > max_bytes:
        raise _too_large(max_bytes, url)
    return body
