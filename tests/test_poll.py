"""poll.py: one feed's poll is a recorded outcome — failures back off, ops hear of streaks, none is lost."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.outbox import Outbox
from monitor.poll import Deps, open_deps, poll_feed, run_once
from monitor.reading import ReadPool
from tests.conftest import DATA, Response, Site
from tests.test_cli import NOVEMBER, OCTOBER, rss, write_config
from tests.test_reading import SLOW, read_or_hang


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 11, 25, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def deps(site: Site, tmp_path: Path, clock: Clock) -> Iterator[Deps]:
    for page in (DATA / "site").glob("*.html"):
        site.route(f"/news/{page.name}", Response(page.read_bytes(), headers={"content-type": "text/html"}))
    settings = load_settings(write_config(tmp_path, site), environ={})
    opened = open_deps(settings, now=clock)
    yield opened
    opened.close()


def publish(site: Site, *items: tuple[str, str, datetime], etag: str = '"v1"') -> None:
    body = rss(site, list(items))

    def answer(request) -> Response:
        if request.headers.get("if-none-match") == etag:
            return Response(b"", 304, {"etag": etag})
        return Response(body, headers={"content-type": "application/rss+xml", "etag": etag})

    site.route("/gba.xml", answer)


def test_a_failing_feed_backs_off_exponentially_up_to_six_hours(deps: Deps, site: Site, clock: Clock) -> None:
    site.route("/gba.xml", Response(b"upstream down", 502))
    feed = deps.settings.feeds[0]
    waits = []
    for _ in range(8):
        result = poll_feed(feed, deps)
        assert result.status == "error" and "502" in (result.error or "")
        state = deps.store.feed_state(feed.name)
        waits.append((state.next_retry - clock.now).total_seconds())
        clock.advance(seconds=waits[-1])
    assert waits[:4] == [900, 1800, 3600, 7200]
    assert waits[-1] == 6 * 3600
    assert deps.store.feed_state(feed.name).failures == 8


def test_retry_after_is_honoured_when_longer_than_the_back_off(deps: Deps, site: Site, clock: Clock) -> None:
    site.route("/gba.xml", Response(b"slow down", 429, {"retry-after": "7200"}))
    poll_feed(deps.settings.feeds[0], deps)
    state = deps.store.feed_state("bay-herald")
    assert state.next_retry == clock.now + timedelta(seconds=7200)


def test_ops_hear_of_a_failure_streak_once_and_of_its_end_once(deps: Deps, site: Site) -> None:
    feed = deps.settings.feeds[0]
    site.route("/gba.xml", Response(b"gone", 503))
    for _ in range(5):
        poll_feed(feed, deps)
    publish(site, OCTOBER)
    poll_feed(feed, deps)
    poll_feed(feed, deps)
    texts = [alert.text for alert in deps.store.pending_alerts()]
    failing = [t for t in texts if "failed 3 polls in a row" in t]
    recovered = [t for t in texts if "works again after 5 failed polls" in t]
    assert len(failing) == 1 and "503" in failing[0]
    assert len(recovered) == 1


def test_a_page_that_fails_is_read_again_on_the_next_poll(deps: Deps, site: Site) -> None:
    feed = deps.settings.feeds[0]
    publish(site, OCTOBER, NOVEMBER)
    good = site.routes["/news/qianhai-november.html"]
    site.route("/news/qianhai-november.html", Response(b"busy", 500))
    first = poll_feed(feed, deps)
    assert first.new == 1
    site.route("/news/qianhai-november.html", good)
    second = poll_feed(feed, deps)
    assert second.status == "ok" and second.new == 1, "the feed's ETag was not kept, so the entry came back"
    third = poll_feed(feed, deps)
    assert third.status == "not_modified"


def test_a_poll_abandoned_by_a_stop_stores_nothing_half_done(deps: Deps, site: Site) -> None:
    publish(site, OCTOBER)
    deps.stop.set()
    result = poll_feed(deps.settings.feeds[0], deps)
    assert result.status == "stopped"
    assert deps.store.history() == []
    assert deps.store.feed_state("bay-herald").last_poll is None


def test_run_once_polls_every_enabled_feed_and_delivers_to_the_console(deps: Deps, site: Site) -> None:
    publish(site, OCTOBER)
    out = io.StringIO()
    results = run_once(deps)
    Outbox(deps.store, deps.settings, stream=out, now=deps.now).deliver()
    assert [r.status for r in results] == ["ok"]
    assert "Qianhai draws record number of Hong Kong firms" in out.getvalue()
    assert deps.store.pending_alerts() == []


@pytest.mark.slow
def test_a_page_too_slow_to_read_is_logged_and_the_poll_finishes_with_the_others(
    deps: Deps, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """A page that would pin a reader for ever: the poll stores the other story and ends; the worker is
    replaced and the page read again next poll. The 3 s limit is far above a page's measured reading time."""
    deps.reader.close()
    deps.reader = ReadPool(1, read=read_or_hang, timeout_s=3)
    feed = deps.settings.feeds[0]
    publish(site, OCTOBER, NOVEMBER)
    good = site.routes["/news/qianhai-november.html"]
    site.route("/news/qianhai-november.html", Response(SLOW, headers={"content-type": "text/html"}))
    first = poll_feed(feed, deps)
    assert (first.status, first.new) == ("ok", 1)
    assert "article: too slow" in caplog.text and "page=too_slow" in caplog.text
    site.route("/news/qianhai-november.html", good)
    second = poll_feed(feed, deps)
    assert (second.status, second.new) == ("ok", 1), "a fresh worker read the page on the next poll"
