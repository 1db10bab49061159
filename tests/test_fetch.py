"""Specification of monitor.fetch against real servers on 127.0.0.1, polite and misbehaving."""

from __future__ import annotations

import contextlib
import email.utils
import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from monitor.errors import FetchError
from monitor.fetch import Fetcher, RateLimited, fetch_named_page
from monitor.records import Fetched
from monitor.settings import FeedSettings, FetchSettings
from tests.conftest import Request, Response, Site

PUBLIC_FEED = "http://93.184.215.14/feed.xml"  # a literal public address: never contacted by these tests
MAX_EXTRA_BYTES = 100 * 1024 * 1024


@pytest.fixture
def release():
    """Set at teardown so that handlers which sleep or drip stop at once."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def make_fetcher():
    """Fetchers with test-sized limits, all closed at teardown."""
    made: list[Fetcher] = []

    def make(**overrides) -> Fetcher:
        values = {
            "timeout_s": 2.0,
            "deadline_s": 5.0,
            "user_agent": "gba-monitor-test/1.0 (+mailto:ops@example.org)",
        }
        fetcher = Fetcher(FetchSettings(**{**values, **overrides}))
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


def feed_on(site, path: str = "/feed.xml", **kwargs) -> FeedSettings:
    return FeedSettings(name="test", url=site.url(path), interval_s=300, **kwargs)


def raw_route(site, path: str, write) -> None:
    """A handler that writes the response itself; a client hanging up mid-way is not an error here."""

    def handle(handler) -> None:
        handler.close_connection = True
        with contextlib.suppress(OSError):
            write(handler)

    site.route(path, handle, raw=True)


def serve_and_close(site, path: str, body: bytes, headers: dict[str, str]) -> None:
    """Answer once and hang up, so a client that stops reading early is no error on the server side."""

    def write(handler) -> None:
        handler.send_response(200)
        for name, value in {"content-length": str(len(body)), "connection": "close", **headers}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    raw_route(site, path, write)


def fetch_error(call) -> FetchError:
    with pytest.raises(FetchError) as caught:
        call()
    return caught.value


# --- feeds: identity, validators, headers --------------------------------------------------------------


def test_feed_is_fetched_with_our_user_agent_and_its_validators_are_returned(site, make_fetcher):
    site.route(
        "/feed.xml",
        Response(
            b"<rss/>",
            headers={
                "etag": '"v1"',
                "last-modified": "Tue, 04 Mar 2025 09:30:00 GMT",
                "content-type": "application/rss+xml",
            },
        ),
    )
    fetched = make_fetcher().fetch_feed(feed_on(site))
    assert (fetched.status, fetched.body) == (200, b"<rss/>")
    assert (fetched.etag, fetched.last_modified) == ('"v1"', "Tue, 04 Mar 2025 09:30:00 GMT")
    assert fetched.content_type == "application/rss+xml"
    assert fetched.final_url == fetched.url == site.url("/feed.xml")
    assert site.requests[0].headers["user-agent"] == "gba-monitor-test/1.0 (+mailto:ops@example.org)"


def test_conditional_get_sends_validators_and_304_has_an_empty_body(site, make_fetcher):
    def conditional(request: Request) -> Response:
        if request.headers.get("if-none-match") == '"v1"':
            return Response(b"", 304, {"etag": '"v1"'})
        return Response(b"<rss/>", headers={"etag": '"v1"'})

    site.route("/feed.xml", conditional)
    fetched = make_fetcher().fetch_feed(
        feed_on(site), etag='"v1"', last_modified="Tue, 04 Mar 2025 09:30:00 GMT"
    )
    assert fetched.not_modified and fetched.body == b""
    assert fetched.etag == '"v1"' and fetched.last_modified == "Tue, 04 Mar 2025 09:30:00 GMT"
    assert site.requests[0].headers["if-modified-since"] == "Tue, 04 Mar 2025 09:30:00 GMT"


def test_per_feed_headers_and_timeout_apply_but_never_leave_the_feeds_host(site, make_fetcher):
    site.route("/feed.xml", Response(b"<rss/>"))
    site.route("/page", Response(b"<html></html>"))
    feed = feed_on(site, headers={"User-Agent": "Custom/2.0", "Authorization": "Bearer s3cret"}, timeout_s=3)
    fetcher = make_fetcher(respect_robots=False)
    fetcher.fetch_feed(feed)
    fetcher.fetch_page(site.url("/page").replace("127.0.0.1", "localhost"), feed=feed)
    on_feed_host, elsewhere = site.requests
    assert on_feed_host.headers["user-agent"] == "Custom/2.0"
    assert on_feed_host.headers["authorization"] == "Bearer s3cret"
    assert elsewhere.headers["user-agent"] == "gba-monitor-test/1.0 (+mailto:ops@example.org)"
    assert "authorization" not in elsewhere.headers


@pytest.mark.parametrize("status", [200, 304, 302, 404])
def test_one_connection_is_reused_across_requests(site, make_fetcher, status):
    peers: list[tuple[str, int]] = []

    def handle(handler) -> None:
        peers.append(handler.client_address)
        if handler.path == "/moved":
            status_here, body = 200, b"ok"
        else:
            status_here, body = status, (b"" if status == 304 else b"body")
        handler.send_response(status_here)
        if status_here == 302:
            handler.send_header("location", "/moved")
        if status_here != 304:
            handler.send_header("content-length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    site.route("/feed.xml", handle, raw=True)
    site.route("/moved", handle, raw=True)
    fetcher = make_fetcher()
    for _ in range(3):
        with contextlib.suppress(FetchError):
            fetcher.fetch_feed(feed_on(site), etag='"v1"')
    assert len(peers) >= 3 and len(set(peers)) == 1


def counting_handler(release) -> tuple[Callable[[Request], Response], dict[str, int]]:
    """A handler that takes 50 ms, and how many requests it served at once at most (``active["max"]``)."""
    lock = threading.Lock()
    active = {"now": 0, "max": 0}

    def slow(request: Request) -> Response:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        release.wait(0.05)
        with lock:
            active["now"] -= 1
        return Response(request.path.encode())

    return slow, active


def test_concurrent_fetches_share_one_fetcher_and_respect_the_per_host_limit(site, make_fetcher, release):
    slow, active = counting_handler(release)
    for i in range(12):
        site.route(f"/feed{i}.xml", slow)
    fetcher = make_fetcher(max_per_host=2)
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(lambda i: fetcher.fetch_feed(feed_on(site, f"/feed{i}.xml")).body, range(12)))
    assert bodies == [f"/feed{i}.xml".encode() for i in range(12)]
    assert active["max"] <= 2


def test_requests_in_flight_across_hosts_are_capped_at_concurrency_times_per_host(
    site, make_fetcher, release
):
    """max_concurrency=1 × max_per_host=2: two requests at once in all, though each host could take two."""
    slow, active = counting_handler(release)
    for i in range(8):
        site.route(f"/feed{i}.xml", slow)
    port = site.server.server_address[1]
    urls = [f"http://{'127.0.0.1' if i % 2 else 'localhost'}:{port}/feed{i}.xml" for i in range(8)]
    fetcher = make_fetcher(max_concurrency=1, max_per_host=2)
    with ThreadPoolExecutor(max_workers=8) as pool:
        feeds = [FeedSettings(name="test", url=url, interval_s=300) for url in urls]
        bodies = list(pool.map(lambda feed: fetcher.fetch_feed(feed).body, feeds))
    assert bodies == [f"/feed{i}.xml".encode() for i in range(8)]
    assert active["max"] == 2


def test_one_thread_watches_every_deadline_however_many_requests(site, make_fetcher):
    """No timer thread per request: while requests are in flight, one alarm thread watches all deadlines."""
    seen: list[tuple[int, int]] = []

    def answer(request: Request) -> Response:
        threads = threading.enumerate()
        alarms = sum(thread.name == "fetch-deadlines" for thread in threads)
        seen.append((alarms, sum(isinstance(thread, threading.Timer) for thread in threads)))
        return Response(b"<rss/>")

    for i in range(20):
        site.route(f"/feed{i}.xml", answer)
    fetcher = make_fetcher()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: fetcher.fetch_feed(feed_on(site, f"/feed{i}.xml")), range(20)))
    assert set(seen) == {(1, 0)}
    fetcher.close()
    assert not any(thread.name == "fetch-deadlines" for thread in threading.enumerate())


def test_a_finished_requests_deadline_never_shuts_its_pooled_connection(site, make_fetcher):
    """The deadline passes after the answer came: the kept-alive connection still serves the next request."""
    peers: list[tuple[str, int]] = []

    def handle(handler) -> None:
        peers.append(handler.client_address)
        handler.send_response(200)
        handler.send_header("content-length", "6")
        handler.end_headers()
        handler.wfile.write(b"<rss/>")

    site.route("/feed.xml", handle, raw=True)
    fetcher = make_fetcher(deadline_s=0.2)
    fetcher.fetch_feed(feed_on(site))
    time.sleep(0.4)  # past the first request's deadline
    assert fetcher.fetch_feed(feed_on(site)).body == b"<rss/>"
    assert len(peers) == 2 and peers[0] == peers[1]


def test_fetcher_is_a_context_manager_that_closes_its_client(site):
    site.route("/feed.xml", Response(b"<rss/>"))
    with Fetcher(FetchSettings()) as fetcher:
        assert fetcher.fetch_feed(feed_on(site)).body == b"<rss/>"
    with pytest.raises(RuntimeError):
        fetcher.fetch_feed(feed_on(site))


# --- status codes --------------------------------------------------------------------------------------


def test_http_error_status_is_a_fetch_error(site, make_fetcher):
    error = fetch_error(lambda: make_fetcher().fetch_feed(feed_on(site, "/missing.xml")))
    assert error.kind == "http"
    assert str(error) == f"fetch: HTTP 404 ({site.url('/missing.xml')})"
    assert error.url == site.url("/missing.xml")


@pytest.mark.parametrize(
    ("status", "retry_after", "expected_s"),
    [(429, "120", 120.0), (503, "in-two-minutes", 120.0), (429, None, None), (503, "soon", None)],
)
def test_rate_limits_carry_retry_after(site, make_fetcher, status, retry_after, expected_s):
    headers = {}
    if retry_after == "in-two-minutes":
        retry_after = email.utils.formatdate(time.time() + 120, usegmt=True)
    if retry_after:
        headers["retry-after"] = retry_after
    site.route("/feed.xml", Response(b"slow down", status, headers))
    error = fetch_error(lambda: make_fetcher().fetch_feed(feed_on(site)))
    assert isinstance(error, RateLimited)
    assert (error.kind, error.status) == ("http", status)
    if expected_s is None:
        assert error.retry_after_s is None
    else:  # an HTTP date is measured against the server's Date header, which has one-second resolution
        assert error.retry_after_s == pytest.approx(expected_s, abs=5)
    assert str(error).startswith(f"fetch: HTTP {status}")


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (403, b"<html><title>Just a moment...</title><script src='/cdn-cgi/challenge-platform/x.js'>", {}),
        (503, b"<html><title>Attention Required! | Cloudflare</title></html>", {"retry-after": "5"}),
        (403, b"<html>please wait</html>", {"cf-mitigated": "challenge"}),
        (403, "<html><title>安全验证</title></html>".encode(), {}),
    ],
)
def test_bot_challenge_page_is_reported_as_blocked(site, make_fetcher, status, body, headers):
    site.route("/feed.xml", Response(body, status, {"content-type": "text/html", **headers}))
    error = fetch_error(lambda: make_fetcher().fetch_feed(feed_on(site)))
    assert error.kind == "blocked"
    assert str(error).startswith(f"fetch: blocked by a bot challenge, HTTP {status}")


def test_plain_403_is_an_http_error_not_blocked(site, make_fetcher):
    site.route("/feed.xml", Response(b"Forbidden", 403))
    assert fetch_error(lambda: make_fetcher().fetch_feed(feed_on(site))).kind == "http"


def test_server_that_hangs_up_mid_body_is_a_connection_error(site, make_fetcher):
    def short(handler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<rss>")

    raw_route(site, "/feed.xml", short)
    error = fetch_error(lambda: make_fetcher().fetch_feed(feed_on(site)))
    assert error.kind == "connection"
    assert str(error).startswith("fetch: connection failed: ")


# --- timeouts and the deadline -------------------------------------------------------------------------


def test_server_that_never_answers_times_out(site, make_fetcher, release):
    raw_route(site, "/feed.xml", lambda handler: release.wait(30))
    error = fetch_error(lambda: make_fetcher(timeout_s=0.5, deadline_s=5).fetch_feed(feed_on(site)))
    assert error.kind == "timeout"
    assert str(error) == f"fetch: timeout after 0.5s ({site.url('/feed.xml')})"


def test_per_feed_timeout_overrides_the_default(site, make_fetcher, release):
    raw_route(site, "/feed.xml", lambda handler: release.wait(30))
    error = fetch_error(
        lambda: make_fetcher(timeout_s=20, deadline_s=30).fetch_feed(feed_on(site, timeout_s=0.3))
    )
    assert str(error).startswith("fetch: timeout after 0.3s")


def drip_body(release, *, every_s: float = 0.5, ended: threading.Event | None = None):
    def write(handler) -> None:
        handler.send_response(200)
        handler.send_header("content-length", "1000")
        handler.end_headers()
        for _ in range(1000):
            handler.wfile.write(b"x")
            handler.wfile.flush()
            if release.wait(every_s):
                return
        if ended is not None:
            ended.set()

    return write


def drip_headers(release, *, every_s: float = 0.5, ended: threading.Event | None = None):
    def write(handler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(1000):
            handler.wfile.write(b"X-Drip: 1\r\n")
            handler.wfile.flush()
            if release.wait(every_s):
                return
        if ended is not None:
            ended.set()

    return write


@pytest.mark.parametrize("drip", [drip_body, drip_headers], ids=["body", "headers"])
@pytest.mark.slow
def test_dripping_server_fails_at_the_deadline_though_no_read_times_out(site, make_fetcher, release, drip):
    """A byte every 0.5 s never trips a 2 s read timeout; the 2 s total deadline stops it."""
    ended = threading.Event()
    raw_route(site, "/feed.xml", drip(release, ended=ended))
    error = fetch_error(lambda: make_fetcher(timeout_s=2, deadline_s=2).fetch_feed(feed_on(site)))
    assert error.kind == "timeout"
    assert str(error) == f"fetch: timeout after 2s ({site.url('/feed.xml')})"
    assert not ended.is_set()  # it gave up mid-drip, not once the server had dripped its last byte


# --- redirects -----------------------------------------------------------------------------------------


def redirect_chain(site, hops: int) -> None:
    for i in range(hops):
        site.route(f"/r{i}", Response(b"", 302, {"location": f"/r{i + 1}"}))
    site.route(f"/r{hops}", Response(b"arrived"))


def test_five_redirects_are_followed_and_the_final_url_kept(site, make_fetcher):
    redirect_chain(site, 5)
    fetched = make_fetcher().fetch_feed(feed_on(site, "/r0"))
    assert fetched.body == b"arrived"
    assert (fetched.url, fetched.final_url) == (site.url("/r0"), site.url("/r5"))


@pytest.mark.parametrize("hops", [6, 50])
def test_more_than_five_redirects_is_an_error(site, make_fetcher, hops):
    redirect_chain(site, hops)
    error = fetch_error(lambda: make_fetcher().fetch_feed(feed_on(site, "/r0")))
    assert error.kind == "redirects"
    assert len(site.requests) == 6


def test_redirect_loop_is_an_error(site, make_fetcher):
    site.route("/loop", Response(b"", 301, {"location": "/loop"}))
    assert fetch_error(lambda: make_fetcher().fetch_feed(feed_on(site, "/loop"))).kind == "redirects"


@pytest.mark.parametrize(
    ("location", "kind"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/admin", "private"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://0.0.0.0:1/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[2002:a9fe:a9fe::1]/", "link-local"),  # 6to4: judged by the IPv4 address it embeds
        ("http://[64:ff9b::a00:1]/", "private"),  # NAT64 of 10.0.0.1
        ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),
        ("http://[fec0::1]/", "private"),  # site-local, deprecated but still routed inside some networks
    ],
)
def test_redirect_to_a_forbidden_address_is_refused_before_connecting(site, make_fetcher, location, kind):
    """A feed on loopback may link to loopback pages, but a redirect may not go anywhere else non-public."""
    site.route("/page", Response(b"", 302, {"location": location}))
    error = fetch_error(
        lambda: make_fetcher(respect_robots=False).fetch_page(site.url("/page"), feed=feed_on(site))
    )
    assert error.kind == "forbidden_address"
    assert f"is a {kind} address" in str(error)


def test_redirect_to_another_scheme_is_refused(site, make_fetcher):
    site.route("/feed.xml", Response(b"", 302, {"location": "file:///etc/passwd"}))
    assert fetch_error(lambda: make_fetcher().fetch_feed(feed_on(site))).kind == "refused"


# --- article pages: where they may be fetched from -----------------------------------------------------


def test_pages_of_a_loopback_feed_may_be_on_loopback(site, make_fetcher):
    site.route("/page", Response(b"<html>story</html>"))
    assert make_fetcher().fetch_page(site.url("/page"), feed=feed_on(site)).body == b"<html>story</html>"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "127.1"])
def test_pages_of_a_public_feed_never_reach_loopback(site, make_fetcher, host):
    site.route("/page", Response(b"secret"))
    url = site.url("/page").replace("127.0.0.1", host)
    feed = FeedSettings(name="public", url=PUBLIC_FEED, interval_s=300)
    error = fetch_error(lambda: make_fetcher().fetch_page(url, feed=feed))
    assert error.kind in ("forbidden_address", "dns")
    assert site.requests == []


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a", "javascript:alert(1)", "mailto:a@b.c", "//x/y", "/page"]
)
def test_pages_are_fetched_over_http_only(make_fetcher, url):
    feed = FeedSettings(name="public", url=PUBLIC_FEED, interval_s=300)
    assert fetch_error(lambda: make_fetcher().fetch_page(url, feed=feed)).kind == "refused"


def test_unresolvable_host_is_a_dns_error(make_fetcher):
    feed = FeedSettings(name="nowhere", url="http://feeds.nonexistent.invalid/rss", interval_s=300)
    error = fetch_error(lambda: make_fetcher().fetch_feed(feed))
    assert error.kind == "dns"


def test_refused_connection_is_a_connection_error(make_fetcher):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    feed = FeedSettings(name="closed", url=f"http://127.0.0.1:{port}/rss", interval_s=300)
    assert fetch_error(lambda: make_fetcher().fetch_feed(feed)).kind == "connection"


def test_tls_failure_is_a_tls_error(site, make_fetcher):
    site.route("/feed.xml", Response(b"<rss/>"))
    feed = FeedSettings(name="tls", url=site.url("/feed.xml").replace("http:", "https:"), interval_s=300)
    assert fetch_error(lambda: make_fetcher().fetch_feed(feed)).kind == "tls"


# --- size caps and decompression -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """200 MB of zeros in about 200 KB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    return b"".join(compressor.compress(block) for _ in range(200)) + compressor.flush()


def peak_extra_bytes(call) -> tuple[int, object]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        try:
            outcome = call()
        except FetchError as error:
            outcome = error
        return tracemalloc.get_traced_memory()[1] - before, outcome
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip"])
def test_gzip_bomb_stops_at_the_cap_with_bounded_memory(site, make_fetcher, gzip_bomb, encoding):
    serve_and_close(site, "/feed.xml", gzip_bomb, {"content-encoding": encoding})
    fetcher = make_fetcher(max_feed_bytes=1_000_000)
    extra, outcome = peak_extra_bytes(lambda: fetcher.fetch_feed(feed_on(site)))
    print(f"gzip bomb ({len(gzip_bomb)} bytes): peak extra memory {extra / 1e6:.1f} MB")
    assert isinstance(outcome, FetchError) and outcome.kind == "too_large"
    assert str(outcome).startswith("fetch: response larger than 1000000 bytes")
    assert extra < MAX_EXTRA_BYTES


@pytest.mark.parametrize("wrapper", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_bomb_in_one_chunk_is_capped_too(site, make_fetcher, wrapper):
    compressor = zlib.compressobj(9, zlib.DEFLATED, wrapper)
    bomb = compressor.compress(bytes(50_000_000)) + compressor.flush()
    serve_and_close(site, "/feed.xml", bomb, {"content-encoding": "deflate"})
    extra, outcome = peak_extra_bytes(lambda: make_fetcher(max_feed_bytes=100_000).fetch_feed(feed_on(site)))
    assert isinstance(outcome, FetchError) and outcome.kind == "too_large"
    assert extra < MAX_EXTRA_BYTES


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send it
        ("gzip", lambda data: gzip.compress(data[:10]) + gzip.compress(data[10:])),  # two gzip members
        ("identity", lambda data: data),
    ],
    ids=["gzip", "deflate", "raw-deflate", "gzip-members", "identity"],
)
def test_compressed_bodies_within_the_cap_are_decoded(site, make_fetcher, encoding, encode):
    body = b"<rss>" + "前海 ".encode() * 2000 + b"</rss>"
    site.route("/feed.xml", Response(encode(body), headers={"content-encoding": encoding}))
    fetched = make_fetcher().fetch_feed(feed_on(site))
    assert fetched.body == body
    assert "content-encoding" not in fetched.headers
    assert site.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_unsupported_content_encoding_is_an_error(site, make_fetcher):
    site.route("/feed.xml", Response(b"\x1b\x00", headers={"content-encoding": "br"}))
    error = fetch_error(lambda: make_fetcher().fetch_feed(feed_on(site)))
    assert (error.kind, str(error).split(" (")[0]) == ("http", "fetch: unsupported content-encoding br")


def test_declared_length_over_the_cap_is_refused_before_reading(site, make_fetcher):
    serve_and_close(site, "/page", b"x" * 500_000, {})
    fetcher = make_fetcher(max_page_bytes=1000, respect_robots=False)
    assert fetch_error(lambda: fetcher.fetch_page(site.url("/page"), feed=feed_on(site))).kind == "too_large"


def test_undeclared_length_over_the_cap_stops_while_streaming(site, make_fetcher):
    def endless(handler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        for _ in range(10_000):
            handler.wfile.write(b"x" * 1024)

    raw_route(site, "/feed.xml", endless)
    error = fetch_error(lambda: make_fetcher(max_feed_bytes=100_000).fetch_feed(feed_on(site)))
    assert error.kind == "too_large"


# --- robots.txt ----------------------------------------------------------------------------------------

ROBOTS = b"""\
User-agent: *
Disallow: /*.pdf$
Disallow: /private/*/secret
Allow: /private/public/secret

User-agent: OtherBot
Disallow: /
"""


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/report.pdf", False),
        ("/report.pdf?page=2", True),
        ("/private/x/secret", False),
        ("/private/x/secret-plan", False),
        ("/private/public/secret", True),
        ("/private/public/page", True),
        ("/news/1.html", True),
    ],
)
def test_robots_txt_wildcards_are_honoured(site, make_fetcher, path, allowed):
    site.route("/robots.txt", Response(ROBOTS, headers={"content-type": "text/plain"}))
    site.route(path.split("?")[0], Response(b"page"))
    fetch = lambda: make_fetcher().fetch_page(site.url(path), feed=feed_on(site))  # noqa: E731
    if allowed:
        assert fetch().body == b"page"
    else:
        error = fetch_error(fetch)
        assert (error.kind, str(error)) == ("robots", f"fetch: disallowed by robots.txt ({site.url(path)})")
        assert [r.path for r in site.requests] == ["/robots.txt"]


def test_robots_txt_is_fetched_once_per_host(site, make_fetcher):
    site.route("/robots.txt", Response(ROBOTS))
    site.route("/a", Response(b"a"))
    fetcher = make_fetcher()
    for _ in range(3):
        fetcher.fetch_page(site.url("/a"), feed=feed_on(site))
    assert [r.path for r in site.requests].count("/robots.txt") == 1
    assert site.requests[0].headers["user-agent"].startswith("gba-monitor-test")


@pytest.mark.parametrize("robots", [None, Response(b"oops", 500), Response(b"\xff\xfe\x00garbage\x80")])
def test_missing_or_failing_robots_txt_allows_all(site, make_fetcher, robots):
    if robots is not None:
        site.route("/robots.txt", robots)
    site.route("/a", Response(b"a"))
    assert make_fetcher().fetch_page(site.url("/a"), feed=feed_on(site)).body == b"a"


def test_robots_txt_is_ignored_when_respect_robots_is_off(site, make_fetcher):
    site.route("/robots.txt", Response(b"User-agent: *\nDisallow: /\n"))
    site.route("/a", Response(b"a"))
    assert make_fetcher(respect_robots=False).fetch_page(site.url("/a"), feed=feed_on(site)).body == b"a"
    assert [r.path for r in site.requests] == ["/a"]


def test_robots_txt_group_for_a_per_feed_user_agent(site, make_fetcher):
    site.route("/robots.txt", Response(ROBOTS))
    feed = feed_on(site, headers={"User-Agent": "OtherBot/1.0"})
    assert fetch_error(lambda: make_fetcher().fetch_page(site.url("/a"), feed=feed)).kind == "robots"


# --- local files ---------------------------------------------------------------------------------------


@pytest.fixture
def local_feed(tmp_path) -> FeedSettings:
    folder = tmp_path / "demo"
    (folder / "articles").mkdir(parents=True)
    (folder / "feed.xml").write_bytes(b"<rss/>")
    (folder / "articles" / "one.html").write_bytes(b"<html>one</html>")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    return FeedSettings(name="demo", url=str(folder / "feed.xml"), interval_s=60)


def test_local_feed_is_read_from_disk_with_a_file_uri(make_fetcher, local_feed):
    fetched = make_fetcher().fetch_feed(local_feed)
    assert (fetched.status, fetched.body) == (200, b"<rss/>")
    assert fetched.final_url == Path(local_feed.url).as_uri()
    again = make_fetcher().fetch_feed(local_feed, etag=fetched.etag, last_modified=fetched.last_modified)
    assert again.not_modified and again.body == b""


def test_local_feed_obeys_the_size_cap(make_fetcher, local_feed):
    Path(local_feed.url).write_bytes(b"x" * 2000)
    assert fetch_error(lambda: make_fetcher(max_feed_bytes=1000).fetch_feed(local_feed)).kind == "too_large"


def test_missing_or_relative_local_feed_is_an_error(make_fetcher, tmp_path):
    missing = FeedSettings(name="gone", url=str(tmp_path / "gone.xml"), interval_s=60)
    assert fetch_error(lambda: make_fetcher().fetch_feed(missing)).kind == "file"
    relative = FeedSettings(name="rel", url="feeds/demo.xml", interval_s=60)
    assert fetch_error(lambda: make_fetcher().fetch_feed(relative)).kind == "refused"


def test_file_link_inside_the_local_feeds_folder_is_read(make_fetcher, local_feed):
    url = (Path(local_feed.url).parent / "articles" / "one.html").as_uri()
    fetched = make_fetcher().fetch_page(url, feed=local_feed)
    assert fetched.body == b"<html>one</html>" and fetched.final_url == url


def test_file_links_outside_the_folder_or_from_http_feeds_are_refused(
    make_fetcher, local_feed, site, tmp_path
):
    folder = Path(local_feed.url).parent
    (folder / "escape").symlink_to(tmp_path / "secret.txt")
    fetcher = make_fetcher()
    for url in (
        (tmp_path / "secret.txt").as_uri(),
        folder.as_uri() + "/../secret.txt",
        folder.as_uri() + "/%2e%2e/secret.txt",
        (folder / "escape").as_uri(),
        "file:///etc/passwd",
        "file://otherhost" + str(folder / "articles" / "one.html"),
    ):
        assert fetch_error(lambda url=url: fetcher.fetch_page(url, feed=local_feed)).kind == "refused", url
    inside = (folder / "articles" / "one.html").as_uri()
    assert fetch_error(lambda: fetcher.fetch_page(inside, feed=feed_on(site))).kind == "refused"


# --- pages a person names (extract, backfill) -----------------------------------------------------------


def test_a_named_page_is_fetched_as_a_page_with_robots_txt_and_the_page_cap(site, make_fetcher, tmp_path):
    site.route("/robots.txt", Response(ROBOTS, headers={"content-type": "text/plain"}))
    site.route("/report.pdf", Response(b"x" * 10))
    site.route("/big.html", Response(b"x" * 5000, headers={"content-type": "text/html"}))
    fetcher = make_fetcher(max_page_bytes=1000, max_feed_bytes=100_000)

    def named(target: str) -> Fetched:
        return fetch_named_page(target, fetcher.settings, fetcher)

    assert fetch_error(lambda: named(site.url("/report.pdf"))).kind == "robots"
    assert fetch_error(lambda: named(site.url("/big.html"))).kind == "too_large"
    (tmp_path / "big.html").write_bytes(b"x" * 5000)
    assert fetch_error(lambda: named(str(tmp_path / "big.html"))).kind == "too_large"
    (tmp_path / "small.html").write_bytes(b"<p>small</p>")
    assert named(str(tmp_path / "small.html")).body == b"<p>small</p>"


def test_per_feed_headers_are_not_sent_after_a_redirect_to_another_port_of_the_same_host(site, make_fetcher):
    """Another port is another origin (another service, maybe another owner): the credentials stay behind."""
    other = Site()
    try:
        other.route("/feed.xml", Response(b"<rss/>"))
        site.route("/feed.xml", Response(b"", 302, headers={"location": other.url("/feed.xml")}))
        feed = feed_on(site, headers={"Authorization": "Bearer s3cret"})
        make_fetcher(respect_robots=False).fetch_feed(feed)
        assert site.requests[0].headers["authorization"] == "Bearer s3cret"
        assert "authorization" not in other.requests[0].headers
    finally:
        other.close()


def test_per_feed_headers_of_an_https_feed_are_never_sent_over_http(site, make_fetcher):
    """An https→http downgrade on the same host and port would send them in clear text."""
    site.route("/page", Response(b"<html></html>"))
    secure = FeedSettings(
        name="secure", url=site.url("/feed.xml").replace("http://", "https://"), interval_s=900,
        headers={"Authorization": "Bearer s3cret"},
    )  # fmt: skip
    make_fetcher(respect_robots=False).fetch_page(site.url("/page"), feed=secure)
    assert "authorization" not in site.requests[0].headers
