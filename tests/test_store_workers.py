"""Several workers sharing one PostgreSQL store: each feed is polled by one worker at a time and once per
interval, each alert is posted once, and a worker killed mid-poll loses nothing (its feed is polled by the
others in the same cycle). Real server, real feeds on 127.0.0.1, real slack-sdk against the stand-in."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from monitor.clock import utc_now
from monitor.config import load_settings
from monitor.fetch import Fetcher
from monitor.outbox import Outbox
from monitor.poll import Deps, poll_due
from monitor.settings import Settings
from monitor.store import open_store
from tests.conftest import Request, Response, Site
from tests.slack_api import SlackStandIn
from tests.test_store import Clock

pytestmark = pytest.mark.slow  # several worker processes on a real PostgreSQL server

FEEDS = 50
INTERVAL_S = 900


def feed_xml(site: Site, feed: int, cycle: int) -> bytes:
    """Feed ``feed``'s RSS in ``cycle``: one new story about Qianhai."""
    link = site.url(f"/p/{feed}/{cycle}.html")
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>f</title><link>http://x/</link>'
        f"<description>d</description><item><title>Qianhai round {cycle} for feed {feed}</title>"
        f"<link>{link}</link><guid>{link}</guid></item></channel></rss>"
    ).encode()


def page(feed: int, cycle: int) -> bytes:
    return (
        f"<html><head><title>Qianhai round {cycle} for feed {feed}</title></head><body><article>"
        f"<p>Qianhai opened office number {feed} in round {cycle}, the zone said on the day it happened.</p>"
        "</article></body></html>"
    ).encode()


def publish(site: Site, cycle: int) -> None:
    for n in range(FEEDS):
        site.route(
            f"/f{n}.xml", Response(feed_xml(site, n, cycle), headers={"content-type": "application/rss+xml"})
        )
        site.route(f"/p/{n}/{cycle}.html", Response(page(n, cycle), headers={"content-type": "text/html"}))


def settings_for(
    tmp_path: Path, site: Site, slack: SlackStandIn, database_url: str, count: int = FEEDS
) -> tuple[Path, dict]:
    feeds = "".join(f'  - {{name: f{n}, url: "{site.url(f"/f{n}.xml")}"}}\n' for n in range(count))
    config = tmp_path / "feeds.yaml"
    config.write_text(
        'slack: {channel: "#gba", on_first_run: post}\n'
        "fetch: {timeout: 30s, deadline: 60s, respect_robots: false}\n"
        f"defaults: {{interval: {INTERVAL_S}s, keywords: [Qianhai]}}\nfeeds:\n{feeds}",
        encoding="utf-8",
    )
    env = {
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_API_URL": slack.api_url,
        "GBA_MONITOR_DATABASE_URL": database_url,
    }
    return config, env


def worker(settings: Settings, name: str, clock: Callable[[], datetime]) -> tuple[Deps, Outbox]:
    """One worker's long-lived parts, as ``run`` builds them, under its own name in the database."""
    store = open_store(settings.storage, now=clock, worker=name)
    deps = Deps(
        settings=settings,
        store=store,
        fetcher=Fetcher(settings.fetch),
        pages=ThreadPoolExecutor(4),
        now=clock,
    )
    return deps, Outbox(store, settings, stream=sys.stdout, now=clock, sleep=lambda _: None)


def cycle(workers: list[tuple[Deps, Outbox]], seed: int) -> None:
    """Every worker runs every feed's scheduled job at once, in its own order, then delivers."""

    def run(index: int) -> None:
        deps, outbox = workers[index]
        feeds = list(deps.settings.feeds)
        random.Random(seed * 10 + index).shuffle(feeds)
        for feed in feeds:
            if poll_due(feed, deps, scheduled=True).status != "claimed":
                outbox.deliver()
        outbox.deliver()

    at_once(run, len(workers))


def at_once(work: Callable[[int], None], count: int) -> None:
    """``work(0)`` … ``work(count - 1)``, each in its own thread, all at once; returns when all are done."""
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def feed_requests(site: Site) -> Counter[str]:
    return Counter(r.path for r in site.requests if r.path.endswith(".xml"))


def posted_titles(slack: SlackStandIn) -> Counter[str]:
    return Counter(m["text"] for m in slack.messages)


def test_three_workers_poll_each_feed_once_per_cycle_and_post_each_alert_once(
    site: Site, tmp_path: Path, database_url: str
) -> None:
    clock = Clock()
    with SlackStandIn() as slack:
        config, env = settings_for(tmp_path, site, slack, database_url)
        settings = load_settings(config, environ=env)
        workers = [worker(settings, f"w{i}", clock) for i in range(3)]
        try:
            for n in range(3):
                publish(site, n)
                cycle(workers, seed=n)
                assert feed_requests(site) == Counter({f"/f{f}.xml": n + 1 for f in range(FEEDS)})
                clock.advance(seconds=INTERVAL_S)
            assert len(slack.messages) == 3 * FEEDS  # one new story per feed per cycle
            assert set(posted_titles(slack).values()) == {1}  # each exactly once
            pollers = workers[0][0].store.feed_workers()
            assert set(pollers) == {f"f{n}" for n in range(FEEDS)}
            assert set(pollers.values()) <= {"w0", "w1", "w2"}
        finally:
            for deps, _ in workers:
                deps.close()


def test_a_worker_killed_mid_poll_loses_nothing_and_its_feed_is_polled_by_the_others(
    site: Site, tmp_path: Path, database_url: str
) -> None:
    held, release = threading.Event(), threading.Event()
    with SlackStandIn() as slack:
        config, env = settings_for(tmp_path, site, slack, database_url)
        publish(site, 0)
        body = feed_xml(site, 7, 0)

        def hangs_once(request: Request) -> Response:
            if not held.is_set():
                held.set()
                release.wait(60)  # the worker is killed while it waits for this feed
            return Response(body, headers={"content-type": "application/rss+xml"})

        site.route("/f7.xml", hangs_once)
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert held.wait(60), "the worker never polled f7"
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
            release.set()
        settings = load_settings(config, environ=env)
        survivors = [worker(settings, f"survivor{i}", utc_now) for i in range(2)]
        try:
            cycle(survivors, seed=1)
            store = survivors[0][0].store
            assert store.feed_workers()["f7"] in {"survivor0", "survivor1"}
            assert {a.url for a in store.articles()} == {site.url(f"/p/{n}/0.html") for n in range(FEEDS)}
            assert len(store.articles()) == FEEDS  # each story stored once
            texts = "\n".join(m["text"] for m in slack.messages)
            assert all(re.search(rf"Qianhai round 0 for feed {n}\b", texts) for n in range(FEEDS))
            assert store.pending_alerts() == []
            assert feed_requests(site)["/f7.xml"] == 2  # the killed worker's, then a survivor's
        finally:
            for deps, _ in survivors:
                deps.close()


def test_a_story_two_feeds_carry_polled_by_two_workers_at_once_is_stored_once(
    site: Site, tmp_path: Path, database_url: str
) -> None:
    """Workers take turns telling identity and storing: the second finds the first's story (a source)."""
    with SlackStandIn() as slack:
        config, env = settings_for(tmp_path, site, slack, database_url, count=2)
        publish(site, 0)
        shared = Response(feed_xml(site, 0, 0), headers={"content-type": "application/rss+xml"})
        site.route("/f1.xml", shared)  # f1 lists f0's story
        settings = load_settings(config, environ=env)
        workers = [worker(settings, f"w{i}", utc_now) for i in range(2)]
        try:
            start = threading.Barrier(2)

            def poll(index: int) -> None:
                start.wait()
                poll_due(settings.feeds[index], workers[index][0], scheduled=True)

            at_once(poll, 2)
            workers[0][1].deliver()
            [article] = workers[0][0].store.articles()
            assert {source.feed for source in article.sources} == {"f0", "f1"}
            assert len(slack.messages) == 1
        finally:
            for deps, _ in workers:
                deps.close()
