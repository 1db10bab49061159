"""What reaches the channel, by the rules a user writes in feeds.yaml: keyword, exclude and regex filters over
title, summary or body (Chinese matched alike in simplified and traditional characters), languages, per-metric
thresholds and crossings, routes by topic, quiet hours and on_first_run. Each rule is told through a real
config file, feeds and pages on 127.0.0.1, the real poll and outbox, and the Slack stand-in."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from monitor.config import load_settings
from monitor.outbox import Outbox
from monitor.poll import open_deps
from tests.conftest import Response, Site
from tests.slack_api import Message, SlackStandIn
from tests.test_alerts import T0, TOKEN, Clock, Item, World, environment, firms

NEAR_DUPLICATES = Path(__file__).parent / "data" / "near-duplicates"

CHANNELS = ["#gba", "#ops", "#hengqin", "#figures", "#zh"]
METRIC = "qianhai.hk-funded-enterprises"
BASE = """
storage: {{path: storage/monitor.json}}
slack: {{channel: "#gba", ops_channel: "#ops", on_first_run: post}}
fetch: {{timeout: 5s, deadline: 10s, respect_robots: false, read_processes: 0}}
metrics:
  - key: qianhai.hk-funded-enterprises
    label: Hong Kong-funded enterprises in Qianhai
    patterns: ['hong kong-funded (enterprises|companies)']
{rules}
feeds:
  - name: herald
    url: "{herald}"
    outlet: Bay Herald
{feed}
  - {{name: daily, url: "{daily}", outlet: GBA Daily}}
"""


class Rules:
    """Opens a World over feeds.yaml with the given rules; closes what it opened."""

    def __init__(self, site: Site, slack: SlackStandIn, tmp_path: Path) -> None:
        self.site, self.slack, self.tmp_path = site, slack, tmp_path
        self.opened: list[World] = []

    def __call__(self, rules: str = "", feed: str = "") -> World:
        path = self.tmp_path / "feeds.yaml"
        indented = "\n".join(f"    {line}" for line in feed.strip().splitlines())
        text = BASE.format(
            herald=self.site.url("/herald.xml"),
            daily=self.site.url("/daily.xml"),
            rules=rules.strip("\n"),
            feed=indented,
        )
        path.write_text(text, encoding="utf-8")
        clock = Clock()
        deps = open_deps(load_settings(path, environ=environment(self.slack)), now=clock)
        outbox = Outbox(deps.store, deps.settings, stream=io.StringIO(), now=clock, sleep=lambda s: None)
        world = World(self.site, self.slack, path, clock, deps, outbox)
        world.publish("herald")
        world.publish("daily")
        self.opened.append(world)
        return world


@pytest.fixture
def rules(site: Site, tmp_path: Path) -> Iterator[Rules]:
    with SlackStandIn(token=TOKEN, channels=CHANNELS) as slack:
        opened = Rules(site, slack, tmp_path)
        yield opened
        for world in opened.opened:
            world.deps.close()


def headlines(world: World, channel: str = "#gba") -> list[str]:
    """The headline of each new-story message posted to ``channel``."""
    return [m.payload["blocks"][0]["text"]["text"] for m in world.slack.messages_in(channel) if is_story(m)]


def is_story(message: Message) -> bool:
    """A story's message: its header is the headline, linked in the section below it."""
    blocks = message.payload.get("blocks") or []
    return len(blocks) > 1 and blocks[0]["type"] == "header" and blocks[1]["text"]["text"].startswith("*<")


def zh_page(title: str, body: str) -> bytes:
    return (
        f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
        f"<body><article><p>{escape(body)}</p><p>{escape(body)}</p></article></body></html>"
    ).encode()


# --- filters ------------------------------------------------------------------------------------------------


def test_keywords_match_whole_words_and_regexes_and_exclude_drops_a_match(rules: Rules) -> None:
    world = rules(feed="keywords: [Qianhai, '/hengqin\\s+(zone|island)/i']\nexclude: [sponsored]")
    stories = {
        "/a.html": "Qianhai draws more Hong Kong firms",
        "/b.html": "QianhaiX app launches a new version",  # not the whole word
        "/c.html": "Sponsored: invest in Qianhai today",
        "/d.html": "Hengqin Island opens a new port",
        "/e.html": "Hengqin opens a new port",  # the regex wants zone or island after it
    }
    for path, title in stories.items():
        world.serve(path, title, f"{title}, officials said on Tuesday in a statement.")
    world.publish("herald", *(Item(title, path, T0) for path, title in stories.items()))

    world.run()

    assert sorted(headlines(world)) == [
        "Hengqin Island opens a new port",
        "Qianhai draws more Hong Kong firms",
    ]
    assert world.requests_to("/c.html") == 0, "an excluded entry's page is not fetched"


def test_a_simplified_keyword_finds_traditional_text_and_languages_keep_only_those_named(
    rules: Rules,
) -> None:
    world = rules(feed="keywords: [大湾区, Qianhai]\nlanguages: [zh]")
    zh_title, en_title = "大灣區企業數目創新高", "Qianhai draws more Hong Kong firms"
    world.site.route(
        "/zh.html",
        Response(
            zh_page(zh_title, "大灣區港資企業數目再創新高，當局週二表示。"),
            headers={"content-type": "text/html"},
        ),
    )
    world.serve("/en.html", en_title, firms("10,577"))
    world.publish("herald", Item(zh_title, "/zh.html", T0), Item(en_title, "/en.html", T0))

    world.run()

    assert headlines(world) == [zh_title]
    [article] = world.deps.store.articles()
    assert article.lang == "zh"
    world.run()
    assert world.requests_to("/en.html") == 1, "a page its language dropped is not fetched again"


def test_match_in_body_keeps_a_story_whose_keyword_is_only_in_its_article(rules: Rules) -> None:
    world = rules(feed="keywords: [Hengqin]\nmatch_in: [title, body]")
    world.serve("/a.html", "New port opens", "The new port in Hengqin opened on Tuesday, officials said.")
    world.serve("/b.html", "New bridge opens", "The new bridge in Nansha opened on Tuesday, officials said.")
    world.publish("herald", Item("New port opens", "/a.html", T0), Item("New bridge opens", "/b.html", T0))

    world.run()

    assert headlines(world) == ["New port opens"]
    [article] = world.deps.store.articles()
    assert article.keywords == ("Hengqin",)


def test_a_guid_listed_twice_is_logged_and_the_later_item_read(
    rules: Rules, caplog: pytest.LogCaptureFixture
) -> None:
    world = rules()
    world.serve("/first.html", "Qianhai first version", firms("10,577"))
    world.serve("/second.html", "Qianhai second version", firms("10,577"))
    world.publish(
        "herald",
        Item("Qianhai first version", "/first.html", T0, guid="g-1"),
        Item("Qianhai second version", "/second.html", T0, guid="g-1"),
    )

    with caplog.at_level(logging.WARNING, logger="monitor.feeds"):
        world.run()

    assert "feed: duplicate guid " in caplog.text and "g-1 in feed herald" in caplog.text
    assert headlines(world) == ["Qianhai second version"]
    assert world.requests_to("/first.html") == 0


def test_on_first_run_per_feed_seeds_even_when_the_global_setting_posts(rules: Rules) -> None:
    world = rules(feed="on_first_run: seed")
    world.serve("/a.html", "Qianhai draws more Hong Kong firms", firms("10,577"))
    world.publish("herald", Item("Qianhai draws more Hong Kong firms", "/a.html", T0))

    world.run()

    assert headlines(world) == []
    assert [m.text.startswith("Now tracking") for m in world.slack.messages] == [True]


# --- thresholds ---------------------------------------------------------------------------------------------


MOVED = re.compile(r"^.+?: (?P<figure>.+?) \([+\-−][\d,]")


def moves(world: World, *counts: str) -> list[str]:
    """Publish one story per count, a day apart, poll after each, and return the change messages posted."""
    for n, count in enumerate(counts):
        path = f"/news/{n}.html"
        title = f"Qianhai firms update number {n}"
        world.serve(path, title, firms(count))
        world.publish("herald", Item(title, path, T0 + timedelta(days=n)))
        world.poll("herald")
        world.deliver()
    # A story's message carries its move in its fallback line: "<headline>: <figure> (+443, +4.2%)…".
    return [m["figure"] for message in world.slack.messages if (m := MOVED.match(message.text))]


def test_a_move_below_the_default_one_percent_is_stored_but_not_posted(rules: Rules) -> None:
    world = rules()

    posted = moves(world, "10,577", "10,600", "10,900")

    assert posted == ["10,900 Hong Kong-funded enterprises"]
    assert [o.value for o in world.deps.store.history(metric=METRIC)] == [10900, 10600, 10577]


def test_a_crossing_is_posted_however_small_and_direction_keeps_one_way(rules: Rules) -> None:
    world = rules(
        rules="""
  - key: "qianhai.*"
    min_change: {pct: 0.5}
    direction: up
    above: 12000
"""
    )

    posted = moves(world, "11,990", "12,010", "11,000", "11,100")

    assert posted == [
        "12,010 Hong Kong-funded enterprises",  # +0.17 %, but it crossed 12,000
        "11,100 Hong Kong-funded enterprises",  # the fall to 11,000 was down: not told
    ]


# --- routes -------------------------------------------------------------------------------------------------


def test_routes_send_an_alert_to_every_matching_channel_once_and_the_feed_channel_otherwise(
    rules: Rules,
) -> None:
    world = rules(
        rules="""
routes:
  - {match: {keywords: [Hengqin]}, channel: "#hengqin"}
  - {match: {metrics: ["qianhai.*"]}, channel: "#figures"}
  - {match: {keywords: [Hengqin, port]}, channel: "#hengqin"}
"""
    )
    world.serve("/a.html", "Hengqin firms join Qianhai", firms("10,577"))
    world.serve("/b.html", "Nansha opens a new bridge", "The new bridge in Nansha opened on Tuesday.")
    world.publish(
        "herald",
        Item("Hengqin firms join Qianhai", "/a.html", T0),
        Item("Nansha opens a new bridge", "/b.html", T0),
    )

    world.run()
    world.run()

    assert headlines(world, "#hengqin") == ["Hengqin firms join Qianhai"]
    assert headlines(world, "#figures") == ["Hengqin firms join Qianhai"]
    assert headlines(world, "#gba") == ["Nansha opens a new bridge"]


# --- one story, many outlets --------------------------------------------------------------------------------


def serve_labelled(world: World, name: str) -> tuple[str, str]:
    """Serve a story of the labelled near-duplicate set; its path and headline."""
    title, *paragraphs = (NEAR_DUPLICATES / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    path = f"/{name}.html"
    world.serve(path, title, *paragraphs)
    return path, title


def test_another_outlets_re_edit_of_a_story_is_one_alert_naming_both_outlets(rules: Rules) -> None:
    world = rules()
    herald_path, herald_title = serve_labelled(world, "qh-firms-oct")
    daily_path, daily_title = serve_labelled(world, "qh-firms-oct.wire")  # new headline, one sentence more
    world.publish("herald", Item(herald_title, herald_path, T0))
    world.publish("daily", Item(daily_title, daily_path, T0 + timedelta(hours=3)))

    world.poll("herald")
    world.poll("daily")
    world.deliver()

    [message] = world.slack.messages
    assert message.text.startswith(f"{herald_title} — Bay Herald")
    assert message.text.endswith("also reported by GBA Daily")


def test_a_re_edit_arriving_after_the_alert_is_a_thread_reply_never_a_new_message(rules: Rules) -> None:
    world = rules()
    herald_path, herald_title = serve_labelled(world, "qh-firms-oct")
    daily_path, daily_title = serve_labelled(world, "qh-firms-oct.cut")  # a sentence cut, two swapped
    world.publish("herald", Item(herald_title, herald_path, T0))
    world.run()
    world.publish("daily", Item(daily_title, daily_path, T0 + timedelta(hours=3)))

    world.run()
    world.run()

    story, reply = world.slack.messages
    assert reply.thread_ts == story.ts
    assert reply.text == f"Also reported by GBA Daily: {daily_title}"


def test_two_stories_of_one_week_with_other_figures_stay_two(rules: Rules) -> None:
    world = rules()
    herald_path, herald_title = serve_labelled(world, "qh-firms-oct")
    daily_path, daily_title = serve_labelled(world, "qh-firms-nov")  # the same wording, other figures
    world.publish("herald", Item(herald_title, herald_path, T0))
    world.publish("daily", Item(f"{daily_title}, again", daily_path, T0 + timedelta(days=2)))

    world.poll("herald")
    world.poll("daily")
    world.deliver()

    assert headlines(world) == [herald_title, f"{daily_title}, again"]


# --- quiet hours --------------------------------------------------------------------------------------------


def test_quiet_hours_hold_alerts_and_post_one_digest_per_channel_when_they_end(rules: Rules) -> None:
    world = rules(
        rules="""
alerts:
  quiet_hours: {from: "22:00", to: "07:00", tz: Asia/Hong_Kong}
"""
    )
    world.clock.now = T0.replace(hour=15)  # 23:00 in Hong Kong
    for n in (1, 2):
        world.serve(f"/night/{n}.html", f"Qianhai night story {n}", f"Qianhai story {n} told at night.")
    world.publish("herald", *(Item(f"Qianhai night story {n}", f"/night/{n}.html", T0) for n in (1, 2)))
    world.run()
    world.clock.advance(hours=7)  # 06:00 in Hong Kong: still quiet
    world.deliver()
    assert world.slack.messages == []

    world.clock.advance(hours=1, minutes=30)  # 07:30
    world.deliver()
    world.serve("/day.html", "Qianhai morning story", "Qianhai story told in the morning.")
    world.publish("herald", Item("Qianhai morning story", "/day.html", T0))
    world.run()

    digest, morning = world.slack.messages
    assert digest.text.startswith("Digest: 2 alerts (2 new stories)") and digest.channel == "gba"
    assert morning.text.startswith("Qianhai morning story")
    assert world.deps.store.pending_alerts() == []
