"""URL → Fetched: feeds and article pages over HTTP(S), or local files for the offline demo.

With its ``fetch_*`` modules, the only user of httpx; the only user of protego. A ``Fetcher`` holds one
``httpx.Client`` per host for its life, so connections are reused (at most ``max_per_host`` per host); it is
thread-safe, and however many threads ask, it keeps at most ``max_per_host`` requests on one host and
``max_concurrency × max_per_host`` in flight in all. Every request is bounded: connect/read timeouts, a total
deadline (the fetcher's one alarm thread shuts a request's socket when its deadline passes), at most
``max_redirects`` hops followed one by one, and a cap on the *decoded* size, enforced while streaming and
while inflating. Article pages reach only public addresses (checked before each hop and again on the socket
actually connected), except for the kind of address the feed itself is on: a feed on 127.0.0.1 may link to
pages on loopback, never to link-local or private ones.

Here: the Fetcher (slots, hops, redirects, robots.txt). Beside it, one job each:
``fetch._addresses`` (which hosts a request may reach), ``fetch._deadline`` (the whole-request deadline and
its alarm thread), ``fetch._body`` (reading a body, or a local file, within the size cap) and
``fetch._errors`` (what a failed answer means, as a FetchError or ``RateLimited``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

import httpx
from protego import Protego

from ..errors import FetchError
from ..records import Fetched
from ..settings import FeedSettings, FetchSettings
from ._addresses import (
    ForbiddenPeer,
    address_kind,
    check_addresses,
    forbidden,
    host_of,
    origin_of,
    parse_http_url,
    resolve,
)
from ._body import read_body
from ._deadline import Alarms, Deadline, Watchdog
from ._errors import ERROR_BODY_BYTES, RateLimited, status_error, transport_error
from ._local import read_local_feed, read_local_page

__all__ = ["Fetcher", "RateLimited"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ROBOTS_MAX_BYTES = 512_000  # Google reads the first 500 KiB of a robots.txt
ROBOTS_TTL_S = 24 * 3600.0
ROBOTS_RETRY_S = 600.0  # after a timeout or network error, ask again sooner than after an answer
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
# Only what we can inflate with a bounded output size; brotli would need a package we do not ship.
ACCEPT_ENCODING = "gzip, deflate"


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
        self._alarms = Alarms()
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
            return read_local_feed(feed, etag, last_modified, self.settings.max_feed_bytes)
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
            return read_local_page(url, feed, self.settings.max_page_bytes)
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
        deadline = Deadline(self.settings.deadline_s)
        feed_origin = origin_of(feed.url)
        hop_url = url
        for _ in range(self.settings.max_redirects + 1):
            target = parse_http_url(hop_url)
            check_addresses(target, hop_url, allowed=allowed)
            hop_headers = self._headers_for(target, feed, feed_origin, headers)
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
                raise status_error(status, response_headers, body, hop_url)
            return _fetched(url, hop_url, status, body, response_headers)
        raise FetchError(
            f"fetch: more than {self.settings.max_redirects} redirects ({url})", kind="redirects", url=url
        )

    def _headers_for(
        self,
        target: httpx.URL,
        feed: FeedSettings,
        feed_origin: tuple[str, str, int] | None,
        base: Mapping[str, str],
    ) -> dict[str, str]:
        """Our identity, plus the feed's own headers only on the feed's origin: its scheme, host and port
        (they may carry credentials; another port is another service, and http would send them in clear)."""
        headers = {"user-agent": self.settings.user_agent, **base}
        if feed_origin and origin_of(str(target)) == feed_origin:
            headers.update({name.lower(): value for name, value in feed.headers.items()})
        headers["accept-encoding"] = ACCEPT_ENCODING
        return headers

    def _exchange(
        self,
        target: httpx.URL,
        url: str,
        headers: dict[str, str],
        timeout_s: float,
        deadline: Deadline,
        max_bytes: int,
        allowed: frozenset[str],
    ) -> tuple[int, dict[str, str], bytes]:
        """One request/response: status, lower-cased headers and the decoded body (capped)."""
        read_s = max(0.001, min(timeout_s, deadline.remaining()))
        host = self._host(target.host)
        with self._slots(host, deadline, url):
            watchdog = Watchdog(deadline, self._alarms, allowed=allowed)
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
                    body = read_body(response, cap, deadline, url, truncate=not ok)
                    return response.status_code, response_headers, body
                finally:
                    watchdog.stop()  # before close(): a pooled connection must never be shut by a late timer
                    response.close()
            except ForbiddenPeer as exc:
                raise forbidden(exc.address, exc.kind, url) from None
            except httpx.HTTPError as exc:
                raise transport_error(exc, url, timeout_s, self.settings.deadline_s, watchdog.fired) from exc
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
    def _slots(self, host: _Host, deadline: Deadline, url: str) -> Iterator[None]:
        """At most ``max_per_host`` requests to one host at a time, and ``max_concurrency × max_per_host`` in
        all, across all threads."""
        # The host's slot first: a request waiting for its host must not hold one of the shared slots.
        with self._slot(host.slots, deadline, url), self._slot(self._in_flight, deadline, url):
            yield

    @contextlib.contextmanager
    def _slot(self, slots: threading.BoundedSemaphore, deadline: Deadline, url: str) -> Iterator[None]:
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
        host = None if feed.is_local else host_of(feed.url)
        if host is None:
            return frozenset()
        with self._lock:
            known = self._feed_address_kinds.get(host)
        if known is not None:
            return known
        try:
            kinds = frozenset(filter(None, map(address_kind, resolve(host, 443))))
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


# --- helpers ------------------------------------------------------------------------------------------


class _Host:
    """One host's share of a Fetcher: its own connection pool and its request slots."""

    __slots__ = ("client", "slots")

    def __init__(self, client: httpx.Client, slots: threading.BoundedSemaphore) -> None:
        self.client = client
        self.slots = slots


def _fetched(url: str, final_url: str, status: int, body: bytes, headers: dict[str, str]) -> Fetched:
    """The Fetched record; headers about the wire encoding are dropped, since the body is decoded."""
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
