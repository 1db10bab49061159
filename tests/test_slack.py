"""Slack alerts: what each change looks like, that feed text cannot ping or hide links, and how delivery
behaves when Slack is slow, down or misconfigured — through the real slack-sdk against a loopback stand-in."""

from __future__ import annotations

import io
import itertools
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient

from monitor.articles import read_article
from monitor.changes import key_figures as changes_key_figures
from monitor.changes import revision
from monitor.figures import extract_figures
from monitor.records import (
    Alert,
    Article,
    Entry,
    FeedFailing,
    Fetched,
    Figure,
    FigureChanged,
    FigureConflict,
    NewStory,
    Observation,
    Seeded,
    Source,
    Story,
    StoryRevised,
)
from monitor.settings import SlackSettings
from monitor.slack import (
    RESENT_NOTE,
    deliver,
    make_sender,
    per_alert,
    plan_digests,
    readable,
    render_alert,
    render_digest,
    unblocked,
    with_note,
    with_qualifier,
    with_sources,
)
from tests.slack_api import SlackStandIn, block_problems, parsed_markup, texts_of

TOKEN = "xoxb-test"
PUBLISHED = datetime(2025, 3, 12, 9, 30, tzinfo=UTC)
FETCHED = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
URL = "https://news.example.com/qianhai/2025/03/12/hk-firms"
OLD_URL = "https://news.example.com/qianhai/2025/01/05/hk-firms"

HOSTILE = [
    "<!channel> Qianhai rates cut",
    "<!here|here> look at this",
    "<!everyone> everyone now",
    "<!subteam^S0123|@team> ping",
    "<@U0123ABC> wins",
    "<#C0123ABC|general> moved",
    "<http://evil.example|Click here for the report>",
    "<https://evil.example>",
    "@channel @here @everyone bare words",
    "&lt;!channel&gt; already escaped",
    "<<!channel>> nested",
    "a > b < c & d",
    "\x1b[31mred\x1b[0m and a bell\x07",
    "line one\n> fake quote\n<!channel>",
]


# --- records ------------------------------------------------------------------------------------------------


def figure(text: str = "10,577", value: float = 10577, **fields: object) -> Figure:
    base = Figure(
        value=value,
        unit="enterprises",
        qualifier="exact",
        subject="Hong Kong-funded enterprises",
        text=text,
        sentence=f"Qianhai is now home to {text} Hong Kong-funded enterprises, officials said on Tuesday.",
        metric="qianhai.hong-kong-funded-enterprises.count",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def story(
    *figures: Figure,
    title: str = "Qianhai draws more Hong Kong firms",
    url: str = URL,
    summary: str = "More firms from Hong Kong set up in Qianhai.",
    channel: str | None = None,
) -> Story:
    entry = Entry(feed="scmp-gba", title=title, link=url, guid=url, summary=summary, published=PUBLISHED)
    return Story(
        feed="scmp-gba",
        outlet="SCMP",
        entry=entry,
        url=url,
        title=title,
        keywords=("Qianhai", "Hong Kong"),
        figures=figures,
        fetched_at=FETCHED,
        content_hash="abc123",
        channel=channel,
    )


def observation(
    text: str, value: float, *, url: str = URL, when: datetime = PUBLISHED, **fields: object
) -> Observation:
    base = Observation(
        metric="qianhai.hong-kong-funded-enterprises.count",
        label="Hong Kong-funded enterprises in Qianhai",
        value=value,
        unit="enterprises",
        qualifier="exact",
        subject="Hong Kong-funded enterprises",
        place="Qianhai",
        period="so far",
        text=text,
        sentence=f"Qianhai is now home to {text} Hong Kong-funded enterprises.",
        article_title="Qianhai draws more Hong Kong firms",
        article_url=url,
        feed="scmp-gba",
        published=when,
        observed_at=when,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def figure_changed(
    old_text: str = "10,577", old: float = 10577, new_text: str = "11,020", new: float = 11020
):
    return FigureChanged(
        new=observation(new_text, new),
        old=observation(
            old_text, old, url=OLD_URL, when=datetime(2025, 1, 5, tzinfo=UTC), article_title="Old"
        ),
    )


def all_text(alert: Alert) -> str:
    return "\n".join(texts_of({"text": alert.text, "blocks": list(alert.blocks)}))


def section_texts(alert: Alert) -> list[str]:
    return [b["text"]["text"] for b in alert.blocks if b["type"] == "section"]


# --- fixtures -----------------------------------------------------------------------------------------------


@pytest.fixture
def slack_api() -> Iterator[SlackStandIn]:
    """A loopback Slack that knows the token xoxb-test and the channels #gba and #ops."""
    with SlackStandIn(token=TOKEN, channels=["#gba", "#ops"]) as stand_in:
        yield stand_in


def api_sender(stand_in: SlackStandIn, *, token: str = TOKEN, channel: str = "#gba"):
    settings = SlackSettings(channel=channel, token=token, api_url=stand_in.api_url)
    return make_sender(settings, stream=io.StringIO(), backoff_s=0)


def seeded(feed: str = "scmp-gba", channel: str | None = None, stories: int = 12) -> Alert:
    return render_alert(Seeded(feed=feed, stories=stories, figures=34), channel=channel)


class FakeTime:
    """A clock that only moves when someone sleeps; records the sleeps."""

    def __init__(self, step_s: float = 0.0) -> None:
        self.now, self.step_s, self.sleeps = 100.0, step_s, []

    def clock(self) -> float:
        self.now += self.step_s
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- what each alert says -----------------------------------------------------------------------------------


def test_new_story_shows_linked_headline_outlet_time_keywords_and_key_figures(slack_api):
    alert = render_alert(
        NewStory(story(figure(), figure("more than 370", 370, qualifier="more_than"))), channel="#gba"
    )

    [delivery] = deliver([alert], api_sender(slack_api), sleep=FakeTime().sleep)

    assert delivery.ok
    [message] = slack_api.messages
    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Qianhai draws more Hong Kong firms"},
    }
    text = "\n".join(texts_of(message))
    assert f"<{URL}|Qianhai draws more Hong Kong firms>" in text
    assert "SCMP · 2025-03-12 09:30 UTC" in text
    assert "Keywords: Qianhai, Hong Kong" in text
    assert "*10,577* — Hong Kong-funded enterprises" in text
    assert "*more than 370* — Hong Kong-funded enterprises" in text
    assert "> Qianhai is now home to 10,577 Hong Kong-funded enterprises" in text
    assert message.text == "Qianhai draws more Hong Kong firms — SCMP", "one line: no move to tell"
    assert alert.key == f"story:{URL}" and alert.thread_key is None


def test_new_story_prefers_tracked_metrics_money_percentages_and_qualified_counts():
    plain = [figure(f"{n}", n, subject=f"plain count {n}") for n in range(11, 19)]
    money = figure("846.14 billion yuan", 846.14e9, unit="CNY", subject="GDP")
    percent = figure("6.1%", 6.1, unit="%", subject="growth")
    qualified = figure("over 370", 370, qualifier="more_than", subject="firms")
    tracked = figure("55", 55, subject="bridges", label="Cross-border bridges")
    alert = render_alert(
        NewStory(story(*plain[:4], money, *plain[4:], percent, qualified, tracked)), channel=None
    )

    figures = section_texts(alert)[1:]

    assert len(figures) == 6
    assert [f.split("*")[1] for f in figures] == ["11", "12", "846.14 billion yuan", "6.1%", "over 370", "55"]


def test_conversion_is_shown_beside_its_original_and_never_alone():
    original = figure("846.14 billion yuan", 846.14e9, unit="CNY", subject="GDP")
    conversion = figure("$120.14 billion", 120.14e9, unit="USD", subject="GDP", conversion_of=0)
    lonely = figure("$3 billion", 3e9, unit="USD", subject="investment", conversion_of=9)

    alert = render_alert(NewStory(story(original, conversion, lonely)), channel=None)

    assert "*846.14 billion yuan ($120.14 billion)* — GDP" in all_text(alert)
    assert "$3 billion" not in all_text(alert)
    assert len(section_texts(alert)) == 2  # headline + one figure


def test_figure_changed_shows_new_value_previous_value_delta_sparkline_and_both_sources():
    change = figure_changed()
    alert = render_alert(change, channel="#gba", history=[9800, 10100, 10577, 11020])

    text = all_text(alert)
    assert alert.blocks[0]["text"]["text"] == "Hong Kong-funded enterprises in Qianhai"
    assert "*11,020* · Qianhai · so far" in text
    assert "10,577 → 11,020 (+443, +4.2%)" in text
    assert f"Previous: 10,577 on 2025-01-05 in <{OLD_URL}|Old>" in text
    assert "`▁▃▅█` 4 readings, 9,800 – 11,020" in text
    assert f"New: <{URL}|Qianhai draws more Hong Kong firms> (scmp-gba, 2025-03-12)" in text
    assert alert.text == "Hong Kong-funded enterprises in Qianhai: 11,020 (was 10,577; +443, +4.2%)"
    assert alert.key == change.key
    assert alert.thread_key == "qianhai.hong-kong-funded-enterprises.count"


def test_figure_changed_keeps_the_qualifier_as_written():
    change = figure_changed("350", 350, "370", 370)
    qualified = replace(change, new=replace(change.new, qualifier="more_than"))
    written = replace(change, new=replace(change.new, qualifier="more_than", text="over 370"))

    assert "*more than 370*" in all_text(render_alert(qualified, channel=None))
    assert "*over 370*" in all_text(render_alert(written, channel=None))


def corpus_figures() -> list[Figure]:
    """Every figure the extractor reads from the labelled pages and the sentence table."""
    data = Path(__file__).parent / "data"
    found = []
    for page in sorted((data / "articles").resolve().glob("*.html")):
        body = page.read_bytes()
        fetched = Fetched(url=page.as_uri(), final_url=page.as_uri(), status=200, body=body, headers={})
        found += extract_figures(read_article(fetched))
    for case in json.loads((data / "figures" / "sentences.json").read_text(encoding="utf-8")):
        sentence = case["sentence"]
        found += extract_figures(Article("https://example.com/a", "", sentence, (sentence,), case["lang"]))
    return found


def test_a_qualifier_the_article_wrote_is_never_written_twice():
    """An alert shows "passed the 11,000", "不到5万人次", "10,000-plus": not "more than passed the 11,000".
    A list's later items ("约81.7%、68.1%和172.4%") take the qualifier written before the first, so the
    alert writes it for them."""
    figures = [f for f in corpus_figures() if f.conversion_of is None]
    listed = [
        f
        for first, f in itertools.pairwise(figures)
        if f.sentence == first.sentence
        and f.qualifier == first.qualifier != "exact"
        and re.fullmatch(r"\s*(?:[、,，]\s*(?:and\s+)?|and\s+|[和及与])\s*", _between(f.sentence, first, f))
    ]
    assert [f.text for f in listed] == ["18 per cent", "68.1%", "172.4%"]
    assert sum(f.qualifier != "exact" for f in figures) > 150
    written = [f for f in figures if f not in listed]
    assert [f.text for f in written if with_qualifier(f.text, f.qualifier) != f.text] == []


def _between(sentence: str, first: Figure, then: Figure) -> str:
    end = sentence.find(first.text) + len(first.text)
    return sentence[end : sentence.find(then.text, end)]


@pytest.mark.parametrize(
    ("old", "new", "movement"),
    [
        (("846.14 billion yuan", 846.14e9), ("900 billion yuan", 900e9), "(+53.86 billion, +6.4%)"),
        (("1.2万亿元", 1.2e12), ("1.5万亿元", 1.5e12), "(+0.3万亿, +25.0%)"),
        (("3,000亿元", 3e11), ("2,500亿元", 2.5e11), "(-500亿, -16.7%)"),
    ],
)
def test_delta_is_told_in_the_scale_the_article_uses(old, new, movement):
    text = all_text(render_alert(figure_changed(*old, *new), channel=None))

    assert f"{old[0]} → {new[0]} {movement}" in text


def test_percentage_change_is_told_in_percentage_points():
    change = figure_changed("4.5%", 4.5, "5.1%", 5.1)
    change = replace(change, new=replace(change.new, unit="%"), old=replace(change.old, unit="%"))

    assert "4.5% → 5.1% (+0.6 pp)" in all_text(render_alert(change, channel=None))


def test_a_changed_multiple_is_told_as_the_difference_of_the_multiples_without_a_percentage():
    change = figure_changed("2.5 times", 2.5, "3 times", 3)
    change = replace(change, new=replace(change.new, unit="times"), old=replace(change.old, unit="times"))

    text = all_text(render_alert(change, channel=None))

    assert "2.5 times → 3 times (+0.5)" in text
    assert "%" not in text


def test_a_change_and_a_goal_say_so_beside_their_subject():
    """The aspect is a field, not words in the subject: the alert still tells a change or a goal as one."""
    rose = figure("300", 300, aspect="change", metric="qianhai.hong-kong-funded-enterprises-change.count")
    goal = figure(
        "15,000", 15000, aspect="target", metric="qianhai.hong-kong-funded-enterprises-target.count"
    )

    text = all_text(render_alert(NewStory(story(figure(), rose, goal)), channel=None))

    assert "*10,577* — Hong Kong-funded enterprises\n" in text
    assert "*300* — Hong Kong-funded enterprises (change)" in text
    assert "*15,000* — Hong Kong-funded enterprises (target)" in text


def test_story_revised_lists_each_changed_figure_before_and_after():
    before = (figure("10,577", 10577), figure("3", 3, metric="bridges", subject="bridges"))
    after = story(figure("10,757", 10757), figure("3", 3, metric="bridges", subject="bridges"))

    alert = render_alert(revision(after, before), channel=None)

    text = all_text(alert)
    assert alert.blocks[0]["text"]["text"] == "Revised: Qianhai draws more Hong Kong firms"
    assert "• Hong Kong-funded enterprises: 10,577 → 10,757" in text
    assert "bridges" not in text  # unchanged figures are not news
    assert alert.key == "revised:" + URL + ":abc123"


def test_a_revised_story_tells_the_change_of_the_figure_change_detection_compared():
    """The renderer and change detection pick the same figure of a metric: its first exact one."""
    rounded = figure("over 10,000", 10000, qualifier="more_than")
    before = (rounded, figure("11,020", 11020))
    after = story(rounded, figure("11,050", 11050))

    change = revision(after, before)

    assert change is not None
    text = all_text(render_alert(change, channel=None))
    assert "No stated figure changed" not in text
    assert "• Hong Kong-funded enterprises: 11,020 → 11,050" in text


def test_seeding_posts_one_short_message():
    alert = seeded()

    assert alert.text == "Now tracking 12 stories and 34 figures from feed scmp-gba"
    assert len(alert.blocks) == 1 and alert.key == "seeded:scmp-gba"
    assert seeded(stories=1).text.startswith("Now tracking 1 story and")


def test_html_in_a_feed_summary_is_shown_as_text():
    alert = render_alert(NewStory(story(summary="<p>Firms &amp; funds <b>grow</b></p>")), channel=None)

    assert "Firms &amp; funds grow" in section_texts(alert)[0]


def test_explicit_channel_wins_over_the_story_channel():
    change = NewStory(story(channel="#ops"))

    assert render_alert(change, channel=None).channel == "#ops"
    assert render_alert(change, channel="#gba").channel == "#gba"


# --- within Slack's limits ----------------------------------------------------------------------------------


def test_huge_story_with_200_figures_and_a_10kb_title_is_cut_to_fit_and_accepted(slack_api):
    title = "Qianhai " * 1250  # 10 KB
    sentence = "A very long sentence about Qianhai " * 100
    figures = [
        figure(f"{n:,} firms", n, sentence=sentence, subject="firms " * 100) for n in range(1000, 1200)
    ]
    huge = story(*figures, title=title, summary=title)
    changes = [
        NewStory(huge),
        StoryRevised(
            story=huge, before=tuple(replace(f, value=f.value + 1, text="x", metric=f.text) for f in figures)
        ),
        figure_changed("1" * 5000, 1, "2" * 5000, 2),
    ]
    alerts = [render_alert(change, channel="#gba", history=list(range(500))) for change in changes]

    deliveries = deliver(alerts, api_sender(slack_api), sleep=FakeTime().sleep, clock=FakeTime().clock)

    assert [d.error for d in deliveries] == [None, None, None]
    header = slack_api.messages[0].blocks[0]["text"]["text"]
    assert len(header) == 150 and header.endswith("…")
    assert all(len(t) <= 3000 for m in slack_api.messages for t in texts_of(m)[1:])
    assert len(slack_api.messages[0].blocks) <= 10


@pytest.mark.parametrize("title", ["&" * 10_000, "<!channel>" * 1000, "@here " * 2000, "前海" * 5000])
def test_escaping_never_pushes_a_text_past_its_limit(slack_api, title):
    evil = figure(subject=title, sentence=title, text=title)
    changes = [
        NewStory(story(evil, title=title, summary=title)),
        StoryRevised(story=story(evil, title=title), before=()),
        FigureChanged(new=observation(title, 2, label=title), old=observation(title, 1, article_title=title)),
        Seeded(feed=title, stories=1, figures=1),
    ]
    alerts = [render_alert(change, channel="#gba") for change in changes]

    deliveries = deliver(alerts, api_sender(slack_api), sleep=lambda s: None)

    assert [d.error for d in deliveries] == [None] * 4
    assert all(len(m.blocks[0]["text"]["text"]) <= 150 for m in slack_api.messages)


def test_stand_in_refuses_what_slack_refuses(slack_api):
    """The stand-in is only a proof if it rejects broken messages: a long header, 51 blocks, a long text."""
    long_header = Alert(
        "a", "#gba", "x", ({"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},)
    )
    many_blocks = Alert("b", "#gba", "x", tuple({"type": "divider"} for _ in range(51)))
    long_text = Alert("c", "#gba", "x" * 40_001)
    eleven = {"type": "context", "elements": [{"type": "mrkdwn", "text": "e"}] * 11}
    too_wide = Alert("d", "#gba", "x", (eleven,))

    deliveries = deliver(
        [long_header, many_blocks, long_text, too_wide], api_sender(slack_api), sleep=lambda s: None
    )

    assert [d.error for d in deliveries] == [
        "slack: invalid_blocks for #gba (Slack rejected this message)",
        "slack: invalid_blocks for #gba (Slack rejected this message)",
        "slack: msg_too_long for #gba (Slack rejected this message)",
        "slack: invalid_blocks for #gba (Slack rejected this message)",
    ]
    assert not any(d.permanent for d in deliveries)  # one bad message must not block the channel
    assert slack_api.messages == []


# --- safe text ----------------------------------------------------------------------------------------------


def our_links_only(texts: list[str], allowed: set[str]) -> None:
    for text in texts:
        for span in parsed_markup(text):
            target, _, label = span.partition("|")
            assert target in allowed, f"unexpected markup <{span}> in {text!r}"
            assert "<" not in label and ">" not in label


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_titles_summaries_and_sentences_cannot_mention_anyone_or_hide_links(slack_api, hostile):
    evil = figure(subject=hostile, sentence=hostile, text=hostile[:40] or "1")
    changes = [
        NewStory(replace(story(evil, title=hostile, summary=hostile), outlet=hostile, keywords=(hostile,))),
        StoryRevised(story=story(evil, title=hostile), before=()),
        FigureChanged(
            new=observation(hostile, 2, label=hostile, sentence=hostile, article_title=hostile, feed=hostile),
            old=observation(hostile, 1, url=OLD_URL, article_title=hostile),
        ),
        FigureConflict.of(
            observation(hostile, 2, label=hostile, article_title=hostile, feed=hostile, period=hostile),
            observation(hostile, 1, url=OLD_URL, article_title=hostile, feed=hostile),
        ),
        Seeded(feed=hostile, stories=1, figures=1),
    ]
    alerts = [render_alert(change, channel="#gba", history=[1, 2]) for change in changes]

    deliveries = deliver(alerts, api_sender(slack_api), sleep=lambda s: None)

    assert all(d.ok for d in deliveries)
    for message in slack_api.messages:
        our_links_only(texts_of(message), {URL, OLD_URL})


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "http://evil.example|Click>",
        "<!channel>",
        "ftp://x.org/a",
    ],
)
def test_only_http_urls_become_links_anything_else_is_shown_as_text(url):
    alert = render_alert(NewStory(story(url=url, title="Headline")), channel=None)

    texts = texts_of({"text": alert.text, "blocks": list(alert.blocks)})
    our_links_only(texts, set())
    assert "*Headline (" in texts[2]


def test_link_targets_are_escaped_so_they_cannot_break_out():
    url = "https://news.example.com/a?x=1&y=<2>"

    alert = render_alert(NewStory(story(url=url)), channel=None)

    assert "<https://news.example.com/a?x=1&amp;y=%3C2%3E|" in section_texts(alert)[0]


feed_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="<>&@!|#^:/. \nchanelhryvoU123", max_size=300),
    st.sampled_from(HOSTILE),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=feed_text, summary=feed_text, sentence=feed_text, subject=feed_text, label=feed_text)
def test_no_feed_text_can_produce_markup_or_break_limits(title, summary, sentence, subject, label):
    evil = figure(sentence=sentence, subject=subject, text=subject[:30] or "1", label=label)
    changes = [
        NewStory(story(evil, evil, title=title, summary=summary)),
        StoryRevised(story=story(evil, title=title), before=(replace(evil, value=0, text=label or "0"),)),
        FigureChanged(new=observation(title, 2, label=label, sentence=sentence), old=observation(summary, 1)),
        FigureConflict.of(
            observation(title, 2, label=label, feed=summary), observation(summary, 1, feed=title)
        ),
        Seeded(feed=title, stories=0, figures=0),
    ]
    alerts = [render_alert(change, channel="#gba", history=[1.0, 2.0]) for change in changes]
    others = [Source("x", title or "-", URL), Source("y", summary or "-", "javascript:alert(1)")]
    alerts += [
        with_sources(alerts[0], [Source("a", "A", URL), *others]),
        with_note(alerts[1], RESENT_NOTE),
        render_digest(alerts, channel="#gba", key="digest"),
    ]
    for alert in alerts:
        texts = texts_of({"text": alert.text, "blocks": list(alert.blocks)})
        our_links_only(texts, {URL})
        assert block_problems(list(alert.blocks)) == []
        assert 0 < len(alert.text) <= 40_000


# --- how it is posted ---------------------------------------------------------------------------------------


def test_posts_without_unfurls_link_names_or_parse_and_always_with_text(slack_api):
    deliver([seeded()], api_sender(slack_api), sleep=lambda s: None)

    [message] = slack_api.messages
    assert message.payload["unfurl_links"] is False and message.payload["unfurl_media"] is False
    assert "link_names" not in message.payload and "parse" not in message.payload
    assert message.text == "Now tracking 12 stories and 34 figures from feed scmp-gba"
    assert message.channel == "gba"  # slack.channel is the default when the feed names none


def test_webhook_posts_blocks_and_text_without_unfurls(slack_api):
    sender = make_sender(
        SlackSettings(webhook_url=slack_api.webhook_url("#ops")), stream=io.StringIO(), backoff_s=0
    )

    [delivery] = deliver(
        [render_alert(NewStory(story(figure())), channel="#gba")], sender, sleep=lambda s: None
    )

    assert delivery.ok and delivery.ts == "webhook"
    [message] = slack_api.messages
    assert (message.via, message.channel) == ("webhook", "ops")
    assert message.payload["unfurl_links"] is False and message.blocks[0]["type"] == "header"


def test_console_sender_prints_readable_text_with_its_channel():
    stream = io.StringIO()
    sender = make_sender(SlackSettings(channel="#gba"), stream=stream)
    alert = render_alert(NewStory(story(figure(), title="A & B <!channel> @here \x1b[2J")), channel=None)

    [delivery] = deliver([alert], sender, sleep=lambda s: pytest.fail("the console is not paced"))

    assert delivery.ts == "console"
    printed = stream.getvalue()
    assert printed.startswith("--- slack #gba\nA & B <!channel> @here — SCMP\n")
    assert URL in printed and "*10,577* — Hong Kong-funded enterprises" in printed
    assert "\x1b" not in printed and "&amp;" not in printed


def test_readable_turns_links_into_label_and_url():
    assert (
        readable("see <https://a.example/x|the report> &amp; more")
        == "see the report <https://a.example/x> & more"
    )


# --- when Slack pushes back ---------------------------------------------------------------------------------


def test_rate_limit_is_retried_after_retry_after_seconds(slack_api):
    slack_api.fail_next(429, retry_after=1)

    [delivery] = deliver([seeded()], api_sender(slack_api), sleep=lambda s: None)

    assert delivery.ok
    first, second = slack_api.hits
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0  # slack-sdk slept Retry-After (plus jitter) before retrying


def test_rate_limit_that_outlasts_the_retry_leaves_the_channel_pending_for_the_next_poll(slack_api):
    slack_api.fail_next(429, count=2, retry_after=1)
    alerts = [seeded("a"), seeded("b"), seeded("c", channel="#ops")]

    deliveries = deliver(alerts, api_sender(slack_api), sleep=lambda s: None)

    assert [(d.key, d.permanent) for d in deliveries] == [("seeded:a", False), ("seeded:c", False)]
    assert deliveries[0].error == "slack: ratelimited for #gba (HTTP 429; will retry next poll)"
    assert deliveries[1].ok  # #ops is another channel: it still gets its alert
    assert [m.channel for m in slack_api.messages] == ["ops"]


def test_long_retry_after_is_not_waited_for_during_a_poll(slack_api):
    slack_api.fail_next(429, retry_after=120)

    [delivery] = deliver([seeded()], api_sender(slack_api), sleep=lambda s: None)

    assert not delivery.ok and not delivery.permanent
    assert len(slack_api.hits) == 1


def test_server_error_is_retried_then_succeeds(slack_api):
    slack_api.fail_next(500)

    [delivery] = deliver([seeded()], api_sender(slack_api), sleep=lambda s: None)

    assert delivery.ok
    assert [h.status for h in slack_api.hits] == [500, 200]


def test_persistent_server_error_is_transient_and_keeps_the_channel_pending(slack_api):
    slack_api.fail_next(500, count=3)

    deliveries = deliver([seeded("a"), seeded("b")], api_sender(slack_api), sleep=lambda s: None)

    assert [(d.key, d.error, d.permanent) for d in deliveries] == [
        ("seeded:a", "slack: internal_error for #gba (HTTP 500; will retry next poll)", False)
    ]
    assert [h.status for h in slack_api.hits] == [500, 500, 500]  # the first try and two retries


def test_unreachable_slack_is_transient_and_stops_every_channel_for_this_poll():
    settings = SlackSettings(channel="#gba", token=TOKEN, api_url=f"http://127.0.0.1:{closed_port()}/api/")
    sender = make_sender(settings, stream=io.StringIO(), backoff_s=0)

    deliveries = deliver([seeded("a"), seeded("b", channel="#ops")], sender, sleep=lambda s: None)

    [delivery] = deliveries
    assert not delivery.permanent
    assert delivery.error.startswith("slack: cannot reach Slack (") and "refused" in delivery.error


def test_invalid_token_is_permanent_for_every_channel_and_sends_nothing_more(slack_api):
    alerts = [seeded("a"), seeded("b", channel="#ops"), seeded("c")]

    deliveries = deliver(alerts, api_sender(slack_api, token="xoxb-wrong"), sleep=lambda s: None)

    message = "slack: invalid_auth (check SLACK_BOT_TOKEN and the app's chat:write scope)"
    assert [(d.key, d.error, d.permanent) for d in deliveries] == [
        ("seeded:a", message, True),
        ("seeded:b", message, True),
        ("seeded:c", message, True),
    ]
    assert len(slack_api.hits) == 1


def test_revoked_token_reported_by_slack_is_permanent(slack_api):
    slack_api.fail_next("token_revoked")

    [delivery] = deliver([seeded()], api_sender(slack_api), sleep=lambda s: None)

    assert delivery.permanent and delivery.error.startswith("slack: token_revoked (check SLACK_BOT_TOKEN")


def test_unknown_channel_is_permanent_for_that_channel_only_and_names_it(slack_api):
    alerts = [seeded("a", channel="#gone"), seeded("b"), seeded("c", channel="#gone")]

    deliveries = deliver(alerts, api_sender(slack_api), sleep=lambda s: None)

    message = "slack: channel_not_found for #gone (check slack.channel and invite the bot)"
    assert [(d.key, d.error, d.permanent) for d in deliveries] == [
        ("seeded:a", message, True),
        ("seeded:b", None, False),
        ("seeded:c", message, True),
    ]
    assert len(slack_api.hits_to("/api/")) == 2  # "c" was reported, not sent


@pytest.mark.parametrize(
    ("stand_in", "error"),
    [
        ({"not_in": ["#gba"]}, "slack: not_in_channel for #gba (invite the bot to the channel)"),
        ({"archived": ["#gba"]}, "slack: is_archived for #gba (unarchive the channel or pick another)"),
    ],
)
def test_channel_the_bot_cannot_post_in_is_a_permanent_error(stand_in, error):
    with SlackStandIn(token=TOKEN, channels=["#gba"], **stand_in) as api:
        deliveries = deliver([seeded("a"), seeded("b")], api_sender(api), sleep=lambda s: None)

    assert [(d.error, d.permanent) for d in deliveries] == [(error, True), (error, True)]
    assert len(api.hits) == 1


def test_unknown_webhook_is_permanent(slack_api):
    settings = SlackSettings(webhook_url=slack_api.url + "/webhook/T0000/B9999/revoked")
    sender = make_sender(settings, stream=io.StringIO(), backoff_s=0)

    deliveries = deliver([seeded("a"), seeded("b")], sender, sleep=lambda s: None)

    assert [(d.error, d.permanent) for d in deliveries] == [
        ("slack: webhook no_service (check SLACK_WEBHOOK_URL)", True)
    ] * 2
    assert len(slack_api.hits) == 1


def test_webhook_rate_limit_is_retried_and_server_errors_are_transient(slack_api):
    sender = make_sender(
        SlackSettings(webhook_url=slack_api.webhook_url()), stream=io.StringIO(), backoff_s=0
    )
    slack_api.fail_next(429, retry_after=1)

    [first] = deliver([seeded("a")], sender, sleep=lambda s: None)
    slack_api.fail_next(500, count=3)
    [second] = deliver([seeded("b"), seeded("c")], sender, sleep=lambda s: None)

    assert first.ok
    assert (second.key, second.permanent) == ("seeded:b", False)
    assert second.error == "slack: webhook internal_error (HTTP 500; will retry next poll)"


# --- pacing and threads -------------------------------------------------------------------------------------


def test_pacing_waits_about_a_second_between_messages_to_the_same_channel(slack_api):
    time = FakeTime()
    alerts = [seeded("a"), seeded("b"), seeded("c", channel="#ops"), seeded("d"), seeded("e", channel="#ops")]

    deliveries = deliver(alerts, api_sender(slack_api), sleep=time.sleep, clock=time.clock)

    assert all(d.ok for d in deliveries)
    assert time.sleeps == [1.0, 1.0]  # before b (after a) and before d (after b); #ops was idle long enough
    assert [m.payload["text"][-1] for m in slack_api.messages] == ["a", "b", "c", "d", "e"]


def test_pacing_does_not_sleep_when_a_second_has_already_passed(slack_api):
    time = FakeTime(step_s=1.5)

    deliver(
        [seeded("a"), seeded("b"), seeded("c")], api_sender(slack_api), sleep=time.sleep, clock=time.clock
    )

    assert time.sleeps == []


def test_later_changes_of_a_metric_go_in_the_thread_of_its_first_alert(slack_api):
    other = replace(figure_changed(), new=replace(figure_changed().new, metric="other.metric"))
    alerts = [
        render_alert(figure_changed(), channel="#gba"),
        render_alert(figure_changed("11,020", 11020, "11,500", 11500), channel="#gba"),
        render_alert(other, channel="#gba"),
    ]
    stored = {("#gba", "other.metric"): "1699999999.000001"}

    deliver(alerts, api_sender(slack_api), sleep=lambda s: None, thread_ts_for=lambda *key: stored.get(key))

    first, second, third = slack_api.messages
    assert first.thread_ts is None
    assert second.thread_ts == first.ts
    assert third.thread_ts == "1699999999.000001"


def test_a_metric_thread_is_not_reused_in_another_channel(slack_api):
    alerts = [render_alert(figure_changed(), channel="#gba"), render_alert(figure_changed(), channel="#ops")]

    deliver(alerts, api_sender(slack_api), sleep=lambda s: None, thread_ts_for=lambda channel, key: None)

    assert [m.thread_ts for m in slack_api.messages] == [None, None]


def test_without_threads_every_alert_is_a_top_level_message(slack_api):
    alerts = [render_alert(figure_changed(), channel="#gba"), render_alert(figure_changed(), channel="#gba")]

    deliver(alerts, api_sender(slack_api), sleep=lambda s: None)

    assert [m.thread_ts for m in slack_api.messages] == [None, None]


# --- the stand-in itself (other tests script it the same way) ---------------------------------------------


def test_stand_in_fails_the_scripted_number_of_requests_then_recovers(slack_api):
    slack_api.fail_next(500, count=1000)
    slack_api.fail_next(500, count=0)  # replaces the script: stop failing

    deliver([seeded()], api_sender(slack_api), sleep=lambda s: None)

    [message] = slack_api.messages
    assert message["text"] == message.text and message["unfurl_links"] is False
    assert [h.status for h in slack_api.hits] == [200]


def test_stand_in_checks_the_token_sent_as_a_form_field_too(slack_api):
    """slack-sdk sends JSON for chat.postMessage; the stand-in also reads form bodies, as Slack does."""
    client = WebClient(base_url=slack_api.api_url)
    response = client.api_call("chat.postMessage", data={"token": TOKEN, "channel": "#gba", "text": "hi"})

    assert response["ok"] and slack_api.messages[0].text == "hi"


# --- conflicts, sources, notes and digests ------------------------------------------------------------------


def conflict() -> FigureConflict:
    other = observation("10,500", 10500, url=OLD_URL, feed="gba-daily", article_title="Daily")
    return FigureConflict.of(observation("10,577", 10577), other)


def test_a_conflict_names_both_values_with_their_sources_and_the_difference(slack_api):
    alert = render_alert(conflict(), channel="#gba")

    [delivery] = deliver([alert], api_sender(slack_api), sleep=lambda s: None)

    assert delivery.ok
    text = "\n".join(texts_of(slack_api.messages[0]))
    assert alert.blocks[0]["text"]["text"] == "Sources disagree: Hong Kong-funded enterprises in Qianhai"
    assert "Two sources give different values for the same period (Qianhai · so far):" in text
    assert f"• *10,500* in <{OLD_URL}|Daily> (gba-daily, 2025-03-12)" in text
    assert f"• *10,577* in <{URL}|Qianhai draws more Hong Kong firms> (scmp-gba, 2025-03-12)" in text
    assert "Difference: +77, +0.7%" in text
    label = "Hong Kong-funded enterprises in Qianhai"
    assert alert.text == f"Sources disagree on {label}: 10,500 (gba-daily) vs 10,577 (scmp-gba)"
    assert alert.thread_key == "qianhai.hong-kong-funded-enterprises.count"


def test_a_story_without_figures_says_so_under_its_linked_headline():
    alert = render_alert(NewStory(story()), channel=None)

    assert [b["type"] for b in alert.blocks] == ["header", "section", "context"]
    assert alert.blocks[1]["text"]["text"].startswith(f"*<{URL}|Qianhai draws more Hong Kong firms>*")
    assert "No figures stated in the article" in all_text(alert)
    assert alert.summary == f"*New:* <{URL}|Qianhai draws more Hong Kong firms> — SCMP"


def test_other_sources_are_listed_under_the_byline_once_whatever_how_often_they_are_added():
    alert = render_alert(NewStory(story(figure())), channel=None)
    first = Source("scmp-gba", "SCMP", URL)
    daily = Source("gba-daily", "GBA <!channel> Daily", "https://daily.example/a")

    listed = with_sources(with_sources(alert, [first, daily]), [first, daily, Source("x", "SCMP", OLD_URL)])

    contexts = [b for b in listed.blocks if b.get("block_id") == "sources"]
    assert [b["elements"][0]["text"] for b in contexts] == [
        "Also reported by <https://daily.example/a|GBA &lt;!channel&gt; Daily>"
    ]
    assert listed.blocks[3] == contexts[0]
    assert listed.text.endswith("; also reported by GBA &lt;!channel&gt; Daily")
    assert with_sources(alert, [first]) == alert


def test_a_resent_alert_says_it_may_repeat_an_earlier_message():
    alert = with_note(render_alert(NewStory(story(figure())), channel=None), RESENT_NOTE)

    assert alert.text.endswith("may repeat an earlier message.)")
    assert alert.blocks[-1]["type"] == "context" and "may repeat" in alert.blocks[-1]["elements"][0]["text"]


def test_a_digest_of_hundreds_of_alerts_fits_slack_and_says_how_many_it_left_out(slack_api):
    long_titles = [
        render_alert(NewStory(story(figure(), title=f"{n} " + "Qianhai " * 80)), channel=None)
        for n in range(400)
    ]

    digest = render_digest(long_titles, channel="#gba", key="digest:#gba")
    [delivery] = deliver([digest], api_sender(slack_api), sleep=lambda s: None)

    assert delivery.ok
    [message] = slack_api.messages
    assert block_problems(message.blocks) == [] and len(message.blocks) <= 50
    told = sum(t.count("*New:*") for t in texts_of(message)[1:])
    left_out = int(message.blocks[-1]["elements"][0]["text"].removeprefix("…and ").removesuffix(" more"))
    assert told + left_out == 400 and told > 100
    assert message.text.startswith("Digest: 400 alerts (400 new stories)")


def test_digests_batch_a_channel_once_its_oldest_alert_waited_a_period_but_never_ops_alerts(slack_api):
    sender = api_sender(slack_api)
    at = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)
    story_alert = replace(render_alert(NewStory(story(figure())), channel=None), created_at=at)
    later = replace(render_alert(figure_changed(), channel=None), created_at=at.replace(minute=50))
    other = replace(seeded(channel="#ops"), created_at=at.replace(minute=30))
    failing = replace(
        render_alert(FeedFailing("scmp-gba", 3, "fetch: HTTP 503", None), channel="#ops"), created_at=at
    )

    early, _ = plan_digests(
        [story_alert, later, other, failing], sender, now=at.replace(minute=59), period_s=3600
    )
    posts, members = plan_digests(
        [story_alert, later, other, failing], sender, now=at.replace(hour=10), period_s=3600
    )

    assert [a.key for a in early] == [failing.key]
    assert [a.key for a in posts] == [failing.key, f"digest:#gba:{story_alert.key}"]
    assert members == {f"digest:#gba:{story_alert.key}": (story_alert.key, later.key)}
    assert posts[1].text.startswith("Digest: 2 alerts (1 figure change, 1 new story)")


def test_a_digest_outcome_is_each_of_its_alerts_outcome():
    delivery = deliver.__globals__["Delivery"]("digest:#gba:a", ts="1.1")

    assert [(d.key, d.ts) for d in per_alert([delivery], {"digest:#gba:a": ("a", "b")})] == [
        ("a", "1.1"),
        ("b", "1.1"),
    ]


def test_deliver_tells_before_each_post_and_as_soon_as_slack_accepted_it(slack_api):
    heard = []
    slack_api.fail_next("channel_not_found")

    deliver(
        [seeded("a"), seeded("b", channel="#ops")],
        api_sender(slack_api),
        sleep=lambda s: None,
        before_post=lambda alert: heard.append(("posting", alert.key, len(slack_api.messages))),
        on_sent=lambda delivery: heard.append(("sent", delivery.key, len(slack_api.messages))),
    )

    assert heard == [("posting", "seeded:a", 0), ("posting", "seeded:b", 0), ("sent", "seeded:b", 1)]


def test_a_permanent_error_names_its_route_which_a_new_token_or_channel_changes_and_never_reveals(slack_api):
    [refused] = deliver([seeded()], api_sender(slack_api, token="xoxb-secret-wrong"), sleep=lambda s: None)
    alert = replace(seeded(), blocked=refused.route, attempted_at=datetime(2025, 3, 12, 9, 0, tzinfo=UTC))

    soon, later = (datetime(2025, 3, 12, 9, m, tzinfo=UTC) for m in (30, 59))
    hour = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
    same, fixed = api_sender(slack_api, token="xoxb-secret-wrong"), api_sender(slack_api)

    assert refused.permanent and refused.route and "secret" not in refused.route
    assert unblocked([alert], same, now=soon, retry=hour - alert.attempted_at) == []
    assert unblocked([alert], same, now=hour, retry=hour - alert.attempted_at) == [alert]
    assert unblocked([alert], fixed, now=later, retry=hour - alert.attempted_at) == [alert]
    assert unblocked([replace(alert, channel="#ops")], same, now=soon, retry=hour - later) == [
        replace(alert, channel="#ops")
    ]


# --- every message valid Block Kit, by slack-sdk's own models (issue 13) -----------------------------------

CORPUS = sorted((Path(__file__).parent / "data" / "articles").glob("*.html"))
MAX_FALLBACK_CHARS = 4000


def corpus_story(page: Path) -> Story:
    body = page.read_bytes()
    fetched = Fetched(url=page.as_uri(), final_url=page.as_uri(), status=200, body=body, headers={})
    article = read_article(fetched)
    return story(*extract_figures(article), title=article.title, url=f"https://news.example.com/{page.stem}")


def moved(told: Story, *, outlet: str = "China Daily") -> tuple[FigureChanged, ...]:
    """A move for each of the story's key figures, from a value 10% lower in an older article."""
    moves = []
    for f in changes_key_figures(told.figures):
        new = Observation.of(told, replace(f, label=f.label or f.subject))
        old = replace(
            new, value=new.value * 0.9 - 1, article_url=OLD_URL, outlet=outlet, text=f"{f.text} old"
        )
        moves.append(FigureChanged(new=new, old=old))
    return tuple(moves)


def every_message(told: Story, *, outlet: str = "China Daily") -> list[Alert]:
    """Every message the story can become: new with its moves, revised, each move and conflict alone,
    with sources and a note added, and all of them in one digest."""
    moves = moved(told, outlet=outlet)
    alerts = [
        render_alert(NewStory(told, moves=moves), channel="#gba"),
        render_alert(NewStory(told), channel="#gba"),
        render_alert(
            revision(told, [replace(f, value=f.value + 1) for f in told.figures]) or NewStory(told),
            channel=None,
        ),
        *(render_alert(m, channel="#gba", history=[m.old.value, m.new.value]) for m in moves[:5]),
        *(render_alert(FigureConflict.of(m.old, m.new), channel="#gba") for m in moves[:5]),
    ]
    sources = [Source("f", outlet, URL), *(Source(f"f{n}", f"{outlet} {n}", URL) for n in range(20))]
    alerts += [with_note(with_sources(alerts[0], sources), RESENT_NOTE)]
    return [*alerts, render_digest(alerts, channel="#gba", key="digest:x")]


def assert_valid(alert: Alert) -> None:
    assert block_problems([dict(b) for b in alert.blocks]) == []
    assert 0 < len(alert.text) <= MAX_FALLBACK_CHARS


@pytest.mark.parametrize("page", CORPUS, ids=[p.stem for p in CORPUS])
def test_every_message_of_every_corpus_page_is_valid_block_kit_by_slack_sdks_models(page):
    told = corpus_story(page)

    for alert in every_message(told):
        assert_valid(alert)
    story_message = render_alert(NewStory(told, moves=moved(told)), channel="#gba")
    assert "\n" not in story_message.text, "the fallback is one line"


HOSTILE_FIELDS = [
    *HOSTILE,
    "Qianhai " * 1250,  # a 10,000-character title
    "前海深港现代服务业合作区" * 900,  # Chinese only
    "<https://evil.example|@channel> <!here> <@U1> <#C1> " * 200,
]


@pytest.mark.parametrize("hostile", HOSTILE_FIELDS, ids=range(len(HOSTILE_FIELDS)))
def test_hostile_text_in_every_field_and_60_figures_still_render_valid_block_kit(hostile):
    figures = [
        figure(f"{n:,} {hostile}", n, subject=hostile, sentence=hostile, place=hostile, period=hostile,
               label=hostile, metric=f"m{n}")
        for n in range(1000, 1060)
    ]  # fmt: skip
    told = replace(story(*figures, title=hostile, summary=hostile), outlet=hostile, keywords=(hostile,) * 20)

    alerts = every_message(told, outlet=hostile)

    for alert in alerts:
        assert_valid(alert)
        texts = texts_of({"text": alert.text, "blocks": list(alert.blocks)})
        ours = ("https://news.example.com", OLD_URL)
        assert [m for t in texts for m in parsed_markup(t) if not m.startswith(ours)] == []
    assert len(alerts[0].blocks) <= 20, "the key figures are capped, whatever a page invents"


def test_a_story_tells_each_move_on_its_figures_line_moved_first_and_never_repeats_a_subject():
    told = story(
        figure("3 bridges", 3, metric="bridges", subject="bridges"),
        figure("11,020 Hong Kong-funded enterprises", 11020, place="Qianhai", label="HK firms in Qianhai"),
    )
    old = replace(
        Observation.of(told, told.figures[1]),
        value=10577,
        text="10,577 Hong Kong-funded enterprises",
        article_url=OLD_URL,
        outlet="China Daily",
        published=datetime(2025, 11, 3, tzinfo=UTC),
    )
    move = FigureChanged(new=Observation.of(told, told.figures[1]), old=old)

    alert = render_alert(NewStory(told, moves=(move,)), channel="#gba")

    first, second = section_texts(alert)[1:3]
    assert first.startswith(
        "*11,020 Hong Kong-funded enterprises* ▲ +443 (+4.2%) from 10,577 "
        f"(<{OLD_URL}|3 Nov 2025, China Daily>) — Qianhai"
    )
    assert second.startswith("*3 bridges*\n"), "no subject the value already says"
    assert alert.text == (
        "Qianhai draws more Hong Kong firms: 11,020 Hong Kong-funded enterprises (+443, +4.2%) — SCMP"
    )
    assert alert.carries == (move.key,)


def test_a_figure_equal_to_the_stored_value_is_marked_unchanged_only_when_the_story_is_about_it():
    firms = figure("11,020 Hong Kong-funded enterprises", 11020)
    bridges = figure("3 bridges", 3, metric="bridges", subject="bridges")
    told = story(firms, bridges)

    about = section_texts(render_alert(NewStory(told, same=(firms.metric,)), channel=None))
    aside = section_texts(render_alert(NewStory(told, same=(bridges.metric,)), channel=None))

    assert any("*11,020 Hong Kong-funded enterprises* (unchanged)" in t for t in about)
    assert not any("bridges" in t for t in aside), "a repeated figure the story is not about is left out"
