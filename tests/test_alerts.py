"""Alerts a team can trust, end to end: feeds and pages on 127.0.0.1 → poll → the outbox → the real slack-sdk
WebClient → a Slack stand-in. One story is one alert whatever its GUIDs, URLs and outlets; a revision, a
conflict and a digest are told once; a crash, a rate limit or a refused token loses nothing and repeats
nothing it can avoid repeating."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from monitor.config import load_settings
from monitor.outbox import Outbox
from monitor.poll import Deps, PollResult, open_deps, poll_feed, run_once
from monitor.records import Delivery
from monitor.store import Store
from tests.conftest import Response, Site
from tests.slack_api import Message, SlackStandIn, block_problems, texts_of
from tests.test_cli import clean_env

TOKEN = "xoxb-test"
T0 = datetime(2025, 11, 20, 8, 0, tzinfo=UTC)
METRIC = "qianhai.hk-funded-enterprises"
HEADLINE = "Qianhai draws more Hong Kong firms"
SAID = "the zone's authority said on Tuesday"


def firms(count: str) -> str:
    return f"Qianhai is now home to {count} Hong Kong-funded enterprises, {SAID}."


CONFIG = """
storage: {{path: storage/monitor.json}}
slack: {{channel: "#gba", ops_channel: "#ops", on_first_run: post}}
fetch: {{timeout: 5s, deadline: 10s, respect_robots: false, read_processes: 0}}
health: {{alert_after_failures: 1}}
defaults: {{interval: 15m, keywords: [Qianhai]}}
feeds:
  - {{name: herald, url: "{herald}", outlet: Bay Herald}}
  - {{name: daily, url: "{daily}", outlet: GBA Daily, channel: "{daily_channel}"}}
metrics:
  - key: qianhai.hk-funded-enterprises
    label: Hong Kong-funded enterprises in Qianhai
    patterns: ['hong kong-funded (enterprises|companies)']
"""


@dataclass(frozen=True)
class Item:
    """One entry of an Atom feed."""

    title: str
    path: str
    published: datetime
    guid: str | None = None
    updated: datetime | None = None


def atom(site: Site, items: tuple[Item, ...]) -> bytes:
    """An Atom feed of ``items`` linking to pages on ``site``."""
    entries = "".join(
        f'<entry><title>{escape(item.title)}</title><link href="{site.url(item.path)}"/>'
        f"<id>{escape(item.guid or site.url(item.path))}</id>"
        f"<published>{item.published.isoformat()}</published>"
        f"<updated>{(item.updated or item.published).isoformat()}</updated>"
        f"<summary>{escape(item.title)}</summary></entry>"
        for item in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>GBA news</title><id>{site.url('/')}</id><updated>{T0.isoformat()}</updated>{entries}</feed>"
    ).encode()


def page(title: str, *paragraphs: str) -> bytes:
    """An article page whose body is ``paragraphs`` (the title is only in its head, not in its content)."""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
        f"<body><article>{body}<p>The zone has drawn firms from across the Greater Bay Area over the past "
        "decade, officials added.</p></article></body></html>"
    ).encode()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0 + timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class World:
    """Two feeds and their pages on a loopback site, a Slack stand-in, and the monitor's Deps over them."""

    site: Site
    slack: SlackStandIn
    config: Path
    clock: Clock
    deps: Deps
    outbox: Outbox

    def publish(self, feed: str, *items: Item) -> None:
        body = atom(self.site, items)
        self.site.route(f"/{feed}.xml", Response(body, headers={"content-type": "application/atom+xml"}))

    def serve(self, path: str, title: str, *paragraphs: str) -> None:
        self.site.route(path, Response(page(title, *paragraphs), headers={"content-type": "text/html"}))

    def poll(self, feed: str) -> PollResult:
        [settings] = [f for f in self.deps.settings.feeds if f.name == feed]
        return poll_feed(settings, self.deps)

    def deliver(self) -> list[Delivery]:
        return self.outbox.deliver()

    def run(self) -> list[PollResult]:
        results = run_once(self.deps)
        self.outbox.deliver()
        return results

    def configure(self, **slack: Any) -> None:
        """Change the Slack settings, as an edited config (or environment) would on the next start (a feed
        without its own ``on_first_run`` takes ``slack.on_first_run``)."""
        settings = self.deps.settings
        feeds = settings.feeds
        if "on_first_run" in slack:
            feeds = tuple(replace(feed, on_first_run=slack["on_first_run"]) for feed in feeds)
        self.deps.settings = replace(settings, slack=replace(settings.slack, **slack), feeds=feeds)
        self.outbox.settings = self.deps.settings

    def requests_to(self, path: str) -> int:
        return sum(r.path == path for r in self.site.requests)

    def texts(self) -> list[str]:
        return ["\n".join(texts_of(m)) for m in self.slack.messages]


def environment(slack: SlackStandIn, **extra: str) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": slack.api_url, **extra}


def write_config(tmp_path: Path, site: Site, *, daily_channel: str = "#policy") -> Path:
    config = tmp_path / "feeds.yaml"
    herald, daily = site.url("/herald.xml"), site.url("/daily.xml")
    config.write_text(
        CONFIG.format(herald=herald, daily=daily, daily_channel=daily_channel), encoding="utf-8"
    )
    return config


def open_world(site: Site, slack: SlackStandIn, tmp_path: Path, **config: str) -> World:
    clock = Clock()
    path = write_config(tmp_path, site, **config)
    deps = open_deps(load_settings(path, environ=environment(slack)), now=clock)
    # Slack's pacing is tested in test_slack; here it would only wait.
    outbox = Outbox(deps.store, deps.settings, stream=io.StringIO(), now=clock, sleep=lambda seconds: None)
    world = World(site, slack, path, clock, deps, outbox)
    world.publish("herald")
    world.publish("daily")
    return world


@pytest.fixture
def world(site: Site, tmp_path: Path) -> Iterator[World]:
    with SlackStandIn(token=TOKEN, channels=["#gba", "#ops", "#policy"]) as slack:
        opened = open_world(site, slack, tmp_path)
        yield opened
        opened.deps.close()


def sources(world: World, path: str) -> set[tuple[str, str]]:
    article = world.deps.store.find_article(guid=None, url=world.site.url(path))
    assert article is not None
    return {(s.feed, s.url.removeprefix(world.site.url(""))) for s in article.sources}


# --- one story, one alert -----------------------------------------------------------------------------------


def test_a_changed_guid_and_headline_over_the_same_body_is_not_a_new_story(world: World) -> None:
    world.serve("/news/a.html", HEADLINE, firms("10,577"))
    world.publish("herald", Item(HEADLINE, "/news/a.html", T0, guid="herald-1"))
    world.poll("herald")
    world.deliver()
    world.site.route("/news/a-amp.html", world.site.routes["/news/a.html"])  # the very same page
    world.publish(
        "herald", Item("Qianhai draws more HK firms, officials say", "/news/a-amp.html", T0, "herald-2")
    )

    second, third = world.poll("herald"), world.poll("herald")
    world.deliver()

    assert len(world.slack.messages) == 1
    assert (second.new, second.alerts, third.new) == (0, 0, 0)
    assert world.requests_to("/news/a-amp.html") == 1, "once known by its fingerprint, it is not read again"
    assert sources(world, "/news/a.html") == {("herald", "/news/a.html"), ("herald", "/news/a-amp.html")}


def test_pages_that_share_a_short_wall_instead_of_a_body_are_still_different_stories(world: World) -> None:
    wall = "Please enable JavaScript in your browser to read this Qianhai story."
    for n in (1, 2):
        world.site.route(
            f"/news/{n}.html",
            Response(
                f"<html><body><p>{wall}</p></body></html>".encode(), headers={"content-type": "text/html"}
            ),
        )
    world.publish(
        "herald", *(Item(f"Qianhai story {n} behind a wall", f"/news/{n}.html", T0) for n in (1, 2))
    )

    world.run()

    assert len(world.slack.messages) == 2


def test_the_same_url_from_two_feeds_is_one_alert_listing_both_sources(world: World) -> None:
    world.serve("/news/a.html", HEADLINE, firms("10,577"))
    world.publish("herald", Item(HEADLINE, "/news/a.html", T0))
    world.publish("daily", Item("Hong Kong firms flock to Qianhai", "/news/a.html", T0 + timedelta(hours=2)))

    world.run()  # both feeds at once: the second to store the story finds the first one's

    [message] = world.slack.messages
    text = "\n".join(texts_of(message))
    assert "Also reported by" in text
    assert "Bay Herald" in text and "GBA Daily" in text
    assert sources(world, "/news/a.html") == {("herald", "/news/a.html"), ("daily", "/news/a.html")}
    world.run()
    assert len(world.slack.messages) == 1


def test_the_same_headline_from_another_outlet_within_a_day_is_one_alert(world: World) -> None:
    world.serve("/news/a.html", HEADLINE, firms("10,577"))
    world.serve(
        "/daily/b.html", HEADLINE, f"Officials said {firms('10,577')}", "Reporting by GBA Daily staff."
    )
    world.publish("herald", Item(HEADLINE, "/news/a.html", T0))
    world.publish(
        "daily", Item("QIANHAI draws more Hong Kong firms!", "/daily/b.html", T0 + timedelta(hours=5))
    )

    world.poll("herald")
    world.poll("daily")  # before the first alert went out: it is updated to name both outlets
    world.deliver()

    [message] = world.slack.messages
    assert "Also reported by <" in "\n".join(texts_of(message))
    assert message.text == f"{HEADLINE} — Bay Herald; also reported by GBA Daily"
    assert sources(world, "/news/a.html") == {("herald", "/news/a.html"), ("daily", "/daily/b.html")}


def test_another_outlet_after_the_alert_was_sent_is_a_reply_in_its_thread(world: World) -> None:
    world.serve("/news/a.html", HEADLINE, firms("10,577"))
    world.publish("herald", Item(HEADLINE, "/news/a.html", T0))
    world.poll("herald")
    world.deliver()
    world.publish("daily", Item(HEADLINE, "/news/a.html", T0))

    world.poll("daily")
    world.deliver()
    world.poll("daily")
    world.deliver()

    story, reply = world.slack.messages
    assert "Also reported by" not in world.texts()[0]
    assert reply.thread_ts == story.ts and reply.channel == story.channel
    assert reply.text == f"Also reported by GBA Daily: {HEADLINE}"
    assert ("daily", "/news/a.html") in sources(world, "/news/a.html")


def test_the_same_headline_days_apart_is_another_story(world: World) -> None:
    world.serve("/news/a.html", HEADLINE, firms("10,577"))
    world.serve("/news/later.html", HEADLINE, firms("10,577"), "A week on, more firms arrived.")
    world.publish("herald", Item(HEADLINE, "/news/a.html", T0))
    world.poll("herald")
    world.publish("herald", Item(HEADLINE, "/news/later.html", T0 + timedelta(days=7)))

    world.poll("herald")
    world.deliver()

    assert [m.text for m in world.slack.messages] == [f"{HEADLINE} — Bay Herald"] * 2


def test_a_story_without_figures_still_gets_its_headline_and_link(world: World) -> None:
    world.serve(
        "/news/plain.html", "Qianhai opens a new ferry pier", "A new ferry pier opened in Qianhai today."
    )
    world.publish("herald", Item("Qianhai opens a new ferry pier", "/news/plain.html", T0))

    world.run()

    [message] = world.slack.messages
    assert message.blocks[0]["text"]["text"] == "Qianhai opens a new ferry pier"
    assert (
        f"<{world.site.url('/news/plain.html')}|Qianhai opens a new ferry pier>"
        in message.blocks[1]["text"]["text"]
    )
    assert "No figures stated in the article" in "\n".join(texts_of(message))
    assert block_problems(message.blocks) == []


# --- revised stories and conflicts -------------------------------------------------------------------------


def test_an_updated_entry_whose_figures_changed_is_told_once_as_revised(world: World) -> None:
    world.serve("/news/a.html", HEADLINE, firms("10,577"))
    world.publish("herald", Item(HEADLINE, "/news/a.html", T0, updated=T0))
    world.run()
    world.serve("/news/a.html", HEADLINE, firms("10,757"))  # the publisher corrects its number
    world.publish("herald", Item(HEADLINE, "/news/a.html", T0, updated=T0 + timedelta(hours=2)))
    world.clock.advance(hours=2)

    world.run()
    world.run()  # the same updated time: not read again

    assert world.requests_to("/news/a.html") == 2
    [_, revised] = world.slack.messages
    assert revised.text.startswith(f"Revised: {HEADLINE}")
    assert revised.text.endswith(
        "• Hong Kong-funded enterprises in Qianhai: 10,577 Hong Kong-funded enterprises → 10,757 Hong "
        "Kong-funded enterprises"
    )
    assert world.deps.store.latest([METRIC])[METRIC].value == 10757


def test_a_reread_page_with_the_same_figures_posts_nothing(world: World) -> None:
    world.serve("/news/a.html", HEADLINE, firms("10,577"))
    world.publish("herald", Item(HEADLINE, "/news/a.html", T0, updated=T0))
    world.run()
    world.serve(
        "/news/a.html", HEADLINE, firms("10,577"), "Updated with a photo caption."
    )  # new text, same numbers
    world.publish("herald", Item(HEADLINE, "/news/a.html", T0, updated=T0 + timedelta(hours=1)))
    world.run()
    world.publish("herald", Item(HEADLINE, "/news/a.html", T0, updated=T0 + timedelta(hours=2)))  # same page

    world.run()

    assert world.requests_to("/news/a.html") == 3
    assert len(world.slack.messages) == 1
    assert [o.value for o in world.deps.store.history(metric=METRIC)] == [10577]


def test_two_sources_that_disagree_are_one_conflict_not_a_change_back_and_forth(world: World) -> None:
    world.serve("/news/a1.html", HEADLINE, firms("10,577"))
    world.serve("/daily/b.html", "Hong Kong companies keep coming to Qianhai", firms("10,500"))
    world.serve("/news/a2.html", "Qianhai business zone marks a milestone", firms("10,577"), "A milestone.")
    world.publish("herald", Item(HEADLINE, "/news/a1.html", T0))
    world.poll("herald")
    world.clock.advance(days=1)
    world.publish(
        "daily", Item("Hong Kong companies keep coming to Qianhai", "/daily/b.html", T0 + timedelta(1))
    )
    world.poll("daily")
    world.clock.advance(days=1)
    world.publish(
        "herald", Item("Qianhai business zone marks a milestone", "/news/a2.html", T0 + timedelta(2))
    )
    world.poll("herald")

    world.deliver()

    texts = [m.text for m in world.slack.messages]
    disagree = "Sources disagree on Hong Kong-funded enterprises in Qianhai"
    told = {channel: [m.text.split(":")[0] for m in world.slack.messages if m.channel == channel]
            for channel in ("gba", "policy")}  # fmt: skip
    assert told == {  # in order in each channel (channels are delivered side by side)
        "gba": [f"{HEADLINE} — Bay Herald", "Qianhai business zone marks a milestone — Bay Herald"],
        "policy": ["Hong Kong companies keep coming to Qianhai — GBA Daily", disagree],
    }
    assert len(texts) == 4
    [conflict] = [t for t in texts if t.startswith(disagree)]
    assert conflict.endswith("10,500 Hong Kong-funded enterprises (daily) vs 10,577 Hong Kong-funded "
                             "enterprises (herald)")  # fmt: skip
    assert not any("(was " in t for t in texts), "a conflict is not a change, nor is its end"


def test_a_month_later_a_new_value_is_a_change_again(world: World) -> None:
    world.serve("/news/a1.html", HEADLINE, firms("10,577"))
    world.serve("/news/a3.html", "Qianhai passes 11,000 Hong Kong firms", firms("11,020"))
    world.publish("herald", Item(HEADLINE, "/news/a1.html", T0))
    world.poll("herald")
    world.publish(
        "herald", Item("Qianhai passes 11,000 Hong Kong firms", "/news/a3.html", T0 + timedelta(30))
    )

    world.poll("herald")
    world.deliver()

    _, story = world.slack.messages
    assert story.text == (
        "Qianhai passes 11,000 Hong Kong firms: 11,020 Hong Kong-funded enterprises (+443, +4.2%) "
        "— Bay Herald"
    )


# --- digests ------------------------------------------------------------------------------------------------


def test_a_digest_posts_one_message_per_channel_per_period_and_ops_alerts_at_once(world: World) -> None:
    world.configure(digest_s=3600)
    for n in (1, 2, 3):
        world.serve(f"/news/{n}.html", f"Qianhai story number {n} of the day", firms(f"1{n},000"))
    world.publish(
        "herald", *(Item(f"Qianhai story number {n} of the day", f"/news/{n}.html", T0) for n in (1, 2))
    )
    world.site.route("/daily.xml", Response(b"down", 503))
    world.poll("herald")
    world.poll("daily")  # fails: with alert_after_failures 1, ops hear of it at once
    world.deliver()
    assert [m.channel for m in world.slack.messages] == ["ops"]

    world.clock.advance(minutes=10)
    world.publish("daily", Item("Qianhai story number 3 of the day", "/news/3.html", T0))
    world.poll("daily")  # recovers (ops, at once) and brings a story for #policy
    world.clock.advance(minutes=20)
    world.publish(
        "herald", *(Item(f"Qianhai story number {n} of the day", f"/news/{n}.html", T0) for n in (1, 2))
    )
    world.deliver()
    assert [m.channel for m in world.slack.messages] == ["ops", "ops"]

    world.clock.advance(minutes=31)  # #gba's oldest alert has waited an hour; #policy's only 51 minutes
    world.deliver()
    world.clock.advance(minutes=10)
    world.deliver()
    world.deliver()

    assert [m.channel for m in world.slack.messages] == ["ops", "ops", "gba", "policy"]
    gba, policy = world.slack.messages[2:]
    assert gba.text.startswith("Digest: 2 alerts (2 new stories)\n*New:* Qianhai story")
    assert gba.text.endswith("12,000 Hong Kong-funded enterprises ▲ +1,000 (+9.1%) from 11,000 (Bay Herald)")
    assert gba.blocks[0]["text"]["text"] == "Digest: 2 alerts"
    assert policy.text.startswith("Digest: 2 alerts (1 conflict, 1 new story)")  # herald said 12,000
    assert world.deps.store.pending_alerts() == []
    rows = json.loads(world.deps.store.path.read_text())["alerts"].values()
    assert {r["sent_ts"] for r in rows if not r["key"].startswith("feed-")} == {gba.ts, policy.ts}


# --- when delivery is interrupted or refused ---------------------------------------------------------------


class HangingSlack(SlackStandIn):
    """A stand-in that accepts a message, tells the test, and holds its answer until released: the window
    between "Slack has it" and "the monitor knows", where the test kills the monitor."""

    def __init__(self, **options: Any) -> None:
        self.accepted = threading.Event()
        self.release = threading.Event()
        self.hanging = True
        super().__init__(**options)

    def _record(self, channel: str, payload: dict[str, Any], *, via: str) -> Message:
        message = super()._record(channel, payload, via=via)
        if self.hanging:
            self.accepted.set()
            self.release.wait(60)
        return message


def cli(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args, "--config", str(config)],
        capture_output=True, text=True, env=env, timeout=120, cwd=config.parent,
    )  # fmt: skip


@pytest.mark.slow
def test_a_crash_between_posting_and_recording_posts_the_alert_again_saying_it_may_repeat(
    site: Site, tmp_path: Path
) -> None:
    """The message in doubt is a story carrying a move: posted again whole, with its note; its move is
    neither lost nor posted on its own, and both keys are recorded as told by the second post."""
    later = "Qianhai passes 11,000 Hong Kong firms"
    for path, title, count in (("/news/a.html", HEADLINE, "10,577"), ("/news/b.html", later, "11,020")):
        site.route(path, Response(page(title, firms(count)), headers={"content-type": "text/html"}))
    site.route("/herald.xml", Response(atom(site, (Item(HEADLINE, "/news/a.html", T0),))))
    site.route("/daily.xml", Response(atom(site, ())))
    config = write_config(tmp_path, site)
    with HangingSlack(token=TOKEN, channels=["#gba", "#ops", "#policy"]) as slack:
        env = clean_env(**environment(slack))
        slack.hanging = False
        assert cli(config, env, "run", "--once").returncode == 0  # the metric's history: 10,577
        slack.hanging = True
        items = (Item(HEADLINE, "/news/a.html", T0), Item(later, "/news/b.html", T0 + timedelta(30)))
        site.route("/herald.xml", Response(atom(site, items)))
        child = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--once", "--config", str(config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path,
        )  # fmt: skip
        try:
            assert slack.accepted.wait(60), "the monitor posted its alert"
            os.kill(child.pid, signal.SIGKILL)  # Slack has the message; the monitor never hears so
            assert child.wait(30) == -signal.SIGKILL
        finally:
            child.kill()
            slack.hanging = False
            slack.release.set()
        with Store(tmp_path / "storage" / "monitor.json") as store:
            in_doubt = store.pending_alerts()
        assert sorted(a.kind for a in in_doubt) == ["figure", "story"]
        assert all(a.sending_at is not None and a.sent_ts is None for a in in_doubt)

        again = cli(config, env, "run", "--once")
        assert again.returncode == 0, again.stderr
        assert "deliver interrupted=2" in again.stderr
        assert cli(config, env, "run", "--once").returncode == 0

    _, first, second = slack.messages
    assert first.text.startswith(f"{later}: 11,020 Hong Kong-funded enterprises (+443, +4.2%)")
    assert second.text.startswith(first.text)
    assert "may repeat an earlier message" in second.text and "may repeat" not in first.text
    assert any("▲ +443 (+4.2%) from 10,577" in t for t in texts_of(second)), "the move is not lost"
    with Store(tmp_path / "storage" / "monitor.json") as store:
        assert store.pending_alerts() == []
    rows = json.loads((tmp_path / "storage" / "monitor.json").read_text())["alerts"].values()
    told = sorted(
        (r["key"].split(":")[0], r["interrupted"], r["attempts"]) for r in rows if r["sent_ts"] == second.ts
    )
    assert told == [("figure", 1, 1), ("story", 1, 1)], "both keys told by the second post, once"
    assert len(rows) == 3, "the first story, and the second one with its move"


def test_a_rate_limit_during_a_poll_keeps_the_alert_and_the_next_poll_posts_it_once(world: World) -> None:
    world.serve("/news/a.html", HEADLINE, firms("10,577"))
    world.publish("herald", Item(HEADLINE, "/news/a.html", T0))
    world.slack.fail_next(429, count=2, retry_after=1)  # slack-sdk waits out one; the second outlasts it

    world.run()

    assert world.slack.messages == []
    [pending] = world.deps.store.pending_alerts()
    assert pending.last_error == "slack: ratelimited for #gba (HTTP 429; will retry next poll)"
    assert [h.status for h in world.slack.hits] == [429, 429]
    world.run()
    world.run()
    assert len(world.slack.messages) == 1
    assert world.deps.store.pending_alerts() == []


def test_a_refused_token_is_logged_once_and_the_alerts_wait_until_the_config_changes(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.configure(token="xoxb-revoked")
    world.serve("/news/a.html", HEADLINE, firms("10,577"))
    world.publish("herald", Item(HEADLINE, "/news/a.html", T0))
    with caplog.at_level(logging.INFO, logger="monitor"):
        world.run()
        world.clock.advance(minutes=15)
        world.serve(
            "/news/b.html", "Qianhai adds a ferry route", "A ferry route now links Qianhai and Macao."
        )
        world.publish(
            "herald",
            Item(HEADLINE, "/news/a.html", T0),
            Item("Qianhai adds a ferry route", "/news/b.html", T0),
        )
        world.run()

    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("deliver refused")]
    assert refused == [
        "deliver refused alerts=1 error=\"slack: invalid_auth (check SLACK_BOT_TOKEN and the app's "
        'chat:write scope)" (kept until the config is fixed)'
    ]
    assert len(world.slack.hits) == 1, "held alerts are not tried again with the same token"
    assert len(world.deps.store.pending_alerts()) == 2

    world.configure(token=TOKEN)
    world.deliver()

    assert [m.text for m in world.slack.messages] == [
        f"{HEADLINE} — Bay Herald",
        "Qianhai adds a ferry route — Bay Herald",
    ]
    assert world.deps.store.pending_alerts() == []


def test_a_held_alert_is_tried_again_after_an_hour_without_logging_again(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.serve("/news/a.html", HEADLINE, firms("10,577"))
    world.publish("herald", Item(HEADLINE, "/news/a.html", T0))
    world.slack.channels.discard("gba")  # the channel is gone (or the bot is not in it yet)
    with caplog.at_level(logging.INFO, logger="monitor"):
        world.run()
        world.clock.advance(minutes=61)
        world.deliver()
    world.slack.channels.add("gba")  # someone fixed it in Slack: no config change to notice
    world.clock.advance(minutes=61)
    world.deliver()

    assert sum(r.getMessage().startswith("deliver refused") for r in caplog.records) == 1
    assert [h.error for h in world.slack.hits] == ["channel_not_found", "channel_not_found", None]
    assert len(world.slack.messages) == 1


def test_an_unknown_feed_channel_holds_its_alerts_until_the_feed_names_another(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with SlackStandIn(token=TOKEN, channels=["#gba", "#ops", "#policy"]) as slack:
        world = open_world(site, slack, tmp_path, daily_channel="#gone")
        try:
            world.serve("/news/a.html", HEADLINE, firms("10,577"))
            world.serve(
                "/news/b.html", "Qianhai adds a ferry route", "A ferry route now links Qianhai and Macao."
            )
            world.publish("daily", Item(HEADLINE, "/news/a.html", T0))
            world.publish("herald", Item("Qianhai adds a ferry route", "/news/b.html", T0))
            with caplog.at_level(logging.INFO, logger="monitor"):
                world.run()
                world.run()
            assert [m.channel for m in slack.messages] == ["gba"], "other channels are not held"
            [held] = world.deps.store.pending_alerts()
            assert (
                held.last_error
                == "slack: channel_not_found for #gone (check slack.channel and invite the bot)"
            )
            assert sum(r.getMessage().startswith("deliver refused") for r in caplog.records) == 1

            feeds = tuple(
                replace(f, channel="#policy") if f.name == "daily" else f for f in world.deps.settings.feeds
            )
            world.deps.settings = replace(world.deps.settings, feeds=feeds)
            world.outbox.settings = world.deps.settings  # the outbox reads the feeds' channels too
            world.deliver()

            assert [m.channel for m in slack.messages] == ["gba", "policy"]
            assert world.deps.store.pending_alerts() == []
        finally:
            world.deps.close()


# --- one story, one message (issue 13) ----------------------------------------------------------------------


def test_a_story_that_moves_a_metric_posts_one_message_carrying_the_move(world: World) -> None:
    world.serve("/news/a1.html", HEADLINE, firms("10,577"))
    world.serve("/news/a3.html", "Qianhai passes 11,000 Hong Kong firms", firms("11,020"))
    world.publish("herald", Item(HEADLINE, "/news/a1.html", T0))
    world.run()
    world.publish(
        "herald", Item("Qianhai passes 11,000 Hong Kong firms", "/news/a3.html", T0 + timedelta(30))
    )

    world.run()
    world.run()

    _, story = world.slack.messages
    assert story.thread_ts is None
    assert story.text == (
        "Qianhai passes 11,000 Hong Kong firms: 11,020 Hong Kong-funded enterprises (+443, +4.2%) "
        "— Bay Herald"
    )
    line = next(t for t in texts_of(story) if "▲" in t)
    assert line.startswith("*11,020 Hong Kong-funded enterprises* ▲ +443 (+4.2%) from 10,577 (<")
    assert "Bay Herald" in line and world.site.url("/news/a1.html") in line
    assert world.deps.store.pending_alerts() == []
    rows = json.loads(world.deps.store.path.read_text())["alerts"].values()
    assert {r["key"].split(":")[0]: r["sent_ts"] for r in rows if r["sent_ts"] == story.ts} == {
        "story": story.ts,
        "figure": story.ts,
    }, "the story's key and its move's key are both recorded as told by the one message"


def test_with_threads_a_metric_thread_is_looked_up_in_the_alerts_own_channel(world: World) -> None:
    world.configure(threads=True)
    world.serve("/news/a1.html", HEADLINE, firms("10,577"))
    world.serve("/news/a2.html", "Qianhai passes 11,000 Hong Kong firms", firms("11,020"))
    world.publish("daily", Item(HEADLINE, "/news/a1.html", T0))  # → #policy
    world.run()
    world.publish(
        "daily",
        Item(HEADLINE, "/news/a1.html", T0),
        Item("Qianhai passes 11,000 Hong Kong firms", "/news/a2.html", T0 + timedelta(1)),
    )
    world.run()  # the metric's first move: reported in #policy
    world.serve("/news/b.html", "Hong Kong companies keep coming to Qianhai", firms("10,500"))
    world.publish(
        "herald", Item("Hong Kong companies keep coming to Qianhai", "/news/b.html", T0 + timedelta(2))
    )

    world.run()  # herald (→ #gba) disagrees: a conflict, told in #gba

    gba = [m for m in world.slack.messages if m.channel == "gba"]
    assert len(gba) == 2 and "Sources disagree" in gba[1].text
    assert [m.thread_ts for m in gba] == [None, gba[0].ts], (
        "the metric's first message in #gba, not #policy's"
    )
    policy = [m for m in world.slack.messages if m.channel == "policy"]
    assert [m.thread_ts for m in policy] == [None, None, policy[0].ts], "a story, and the move it carried"
    assert "10,577 Hong Kong-funded enterprises → 11,020" in policy[2].text and "a2.html" in policy[2].text


def test_seeding_many_feeds_posts_one_summary_per_channel_and_none_for_an_empty_feed(
    site: Site, tmp_path: Path
) -> None:
    with SlackStandIn(token=TOKEN, channels=["#gba", "#ops", "#policy"]) as slack:
        world = open_world(site, slack, tmp_path, daily_channel="#gba")
        try:
            world.configure(on_first_run="seed")
            for n in (1, 2):
                world.serve(f"/news/{n}.html", f"Qianhai story {n}", firms(f"10,5{n}0"))
            world.publish("herald", Item("Qianhai story 1", "/news/1.html", T0))
            world.publish("daily", Item("Qianhai story 2", "/news/2.html", T0))

            world.run()
            world.run()

            [message] = slack.messages
            assert message.text == "Now tracking 2 stories and 2 figures from 2 feeds"
            assert world.deps.store.pending_alerts() == []
        finally:
            world.deps.close()

    with SlackStandIn(token=TOKEN, channels=["#gba", "#ops", "#policy"]) as slack:
        (tmp_path / "empty").mkdir()
        world = open_world(site, slack, tmp_path / "empty")
        try:
            world.configure(on_first_run="seed")
            world.publish("herald")
            world.publish("daily")
            world.run()
            assert slack.messages == [], "nothing stored: nothing to tell"
        finally:
            world.deps.close()


# --- no flood (issue 18) ------------------------------------------------------------------------------------

SYLLABLES = ("ka", "lo", "mi", "nu", "pe", "ri", "su", "to")
INVENTED = [f"{a}{b}gets" for a in SYLLABLES for b in SYLLABLES]  # 64 nouns: 64 metrics nobody tracks


def invented(base: int) -> list[str]:
    return [f"Qianhai now has {base + n:,} {noun}." for n, noun in enumerate(INVENTED)]


def test_a_hostile_page_inventing_64_metrics_posts_one_message_even_when_all_of_them_move(
    world: World,
) -> None:
    world.serve("/news/a.html", "Qianhai counts everything", *invented(1000))
    world.serve("/news/b.html", "Qianhai counts everything again", *invented(2000))
    world.publish("herald", Item("Qianhai counts everything", "/news/a.html", T0))
    world.run()
    world.publish(
        "herald",
        Item("Qianhai counts everything", "/news/a.html", T0),
        Item("Qianhai counts everything again", "/news/b.html", T0 + timedelta(30)),
    )

    world.run()
    world.run()

    first, second = world.slack.messages
    assert block_problems(first.blocks) == [] and block_problems(second.blocks) == []
    assert len(first.blocks) <= 10, "64 new metrics: a capped list of key figures, no separate moves"
    assert "…and 54 more moved figures" in "\n".join(texts_of(second))
    assert world.deps.store.pending_alerts() == []
    rows = json.loads(world.deps.store.path.read_text())["alerts"].values()
    assert sum(r["sent_ts"] == second.ts for r in rows) == 65, "the story and its 64 moves, each recorded"


def test_more_standalone_moves_than_max_moves_in_one_channel_fold_into_one_message(world: World) -> None:
    """Moves without a new story (another outlet's copy of a stored story) past slack.max_moves: one
    message saying how many it folded."""
    world.configure(max_moves=5)
    world.serve("/news/a.html", "Qianhai counts everything", *invented(1000)[:8])
    world.serve("/news/b.html", "Qianhai counts everything", *invented(2000)[:8])
    world.publish("herald", Item("Qianhai counts everything", "/news/a.html", T0))
    world.run()
    world.clock.advance(hours=2)
    world.publish("herald", Item("Qianhai counts everything", "/news/b.html", T0 + timedelta(hours=2)))

    world.run()

    _, folded = world.slack.messages
    assert folded.text.startswith("8 figure changes folded into one message (more than 5 at once)")
    assert world.deps.store.pending_alerts() == []
