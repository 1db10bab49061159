"""changes.py: stories + the latest stored values → the changes worth an alert."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.changes import detect_changes, key_figures
from monitor.records import Entry, Figure, FigureChanged, NewStory, Observation, Seeded, Story

NOV = datetime(2025, 11, 20, 8, 0, tzinfo=UTC)
METRIC = "qianhai.hong-kong-funded-enterprises.count"


def figure(
    value: float, *, metric: str = METRIC, unit: str = "enterprises", conversion_of: int | None = None
) -> Figure:
    return Figure(
        value=value,
        unit=unit,
        qualifier="exact",
        subject="Hong Kong-funded enterprises",
        text=f"{value:,.0f} Hong Kong-funded enterprises",
        sentence=f"Qianhai is home to {value:,.0f} Hong Kong-funded enterprises.",
        metric=metric,
        place="Qianhai",
        conversion_of=conversion_of,
    )


def story(url: str, *figures: Figure) -> Story:
    entry = Entry(feed="gba", title="Qianhai draws more Hong Kong firms", link=url, published=NOV)
    return Story(
        feed="gba", outlet="GBA Daily", entry=entry, url=url, title=entry.title, keywords=("Qianhai",),
        figures=figures, fetched_at=NOV,
    )  # fmt: skip


def stored(value: float, url: str = "https://news.example.org/older") -> Observation:
    return Observation.of(story(url, figure(value)), figure(value))


def test_a_new_story_with_no_history_is_one_new_story_alert() -> None:
    changes = detect_changes([story("https://news.example.org/a", figure(10577))], {}, seeding=False)
    assert [type(c) for c in changes] == [NewStory]


def test_a_moved_figure_reports_the_old_and_the_new_observation() -> None:
    new_story = story("https://news.example.org/b", figure(11020))
    changes = detect_changes([new_story], {METRIC: stored(10577)}, seeding=False)
    moved = [c for c in changes if isinstance(c, FigureChanged)]
    assert len(moved) == 1
    assert (moved[0].old.value, moved[0].new.value) == (10577, 11020)
    assert moved[0].new.article_url == "https://news.example.org/b"


def test_an_equal_figure_is_no_change() -> None:
    changes = detect_changes(
        [story("https://news.example.org/b", figure(10577))], {METRIC: stored(10577)}, seeding=False
    )
    assert not [c for c in changes if isinstance(c, FigureChanged)]


def test_figures_in_other_units_are_not_compared() -> None:
    other = story("https://news.example.org/b", figure(11020, unit="companies"))
    assert not [
        c
        for c in detect_changes([other], {METRIC: stored(10577)}, seeding=False)
        if isinstance(c, FigureChanged)
    ]


def test_two_stories_in_one_poll_chain_their_changes() -> None:
    first = story("https://news.example.org/b", figure(11020))
    second = story("https://news.example.org/c", figure(11400))
    moved = [
        c
        for c in detect_changes([first, second], {METRIC: stored(10577)}, seeding=False)
        if isinstance(c, FigureChanged)
    ]
    assert [(c.old.value, c.new.value) for c in moved] == [(10577, 11020), (11020, 11400)]


def test_seeding_returns_one_summary_and_no_story_alerts() -> None:
    stories = [
        story("https://news.example.org/a", figure(10577)),
        story("https://news.example.org/b", figure(1)),
    ]
    assert detect_changes(stories, {}, seeding=True, feed="gba", channel="#gba") == [
        Seeded(feed="gba", stories=2, figures=2, channel="#gba")
    ]


def test_key_figures_skip_conversions_and_repeated_metrics() -> None:
    yuan = figure(846.14e9, metric="qianhai.registered-capital.cny", unit="CNY")
    dollars = figure(120.14e9, metric="qianhai.registered-capital.usd", unit="USD", conversion_of=0)
    again = figure(10000)
    assert key_figures([figure(10577), yuan, dollars, again]) == [figure(10577), yuan]


def test_change_keys_are_stable_and_distinct() -> None:
    one = FigureChanged(new=stored(11020, "https://news.example.org/b"), old=stored(10577))
    same = FigureChanged(new=stored(11020, "https://news.example.org/b"), old=stored(10577))
    other = FigureChanged(
        new=stored(11400, "https://news.example.org/c"), old=stored(11020, "https://news.example.org/b")
    )
    assert one.key == same.key != other.key


def test_a_failure_streak_is_told_once_when_it_reaches_the_threshold_and_once_when_it_ends() -> None:
    from monitor.changes import health_change
    from monitor.records import FeedFailing, FeedRecovered, FeedState

    ok = FeedState("gba", last_success=NOV)
    states = [ok] + [
        FeedState("gba", last_success=NOV, failures=n, last_error="fetch: http 503") for n in range(1, 6)
    ]
    told = [
        health_change(a, b, threshold=3, channel="#ops") for a, b in zip(states, states[1:], strict=False)
    ]
    assert [type(c).__name__ if c else None for c in told] == [None, None, "FeedFailing", None, None]
    failing = told[2]
    assert (
        isinstance(failing, FeedFailing) and failing.channel == "#ops" and failing.error == "fetch: http 503"
    )
    recovered = health_change(states[-1], FeedState("gba", last_success=NOV), threshold=3)
    assert isinstance(recovered, FeedRecovered) and recovered.failures == 5
    assert health_change(states[1], FeedState("gba", last_success=NOV), threshold=3) is None
    assert failing.key != recovered.key
