"""changes.py: stories + the latest stored values → the changes worth an alert."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from monitor.changes import (
    detect_changes,
    figure_change,
    revision,
    same_period,
    twin_of,
    with_moves,
)
from monitor.records import (
    Entry,
    Figure,
    FigureChanged,
    FigureConflict,
    NewStory,
    Observation,
    Seeded,
    Story,
    StoryRevised,
    key_figures,
)

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


def test_a_figure_nothing_names_is_stored_but_never_alerted_as_a_change() -> None:
    unnamed = figure(55, metric="qianhai.unnamed-1a2b3c4d.km", unit="km")
    assert not unnamed.named and figure(10577).named
    assert key_figures([unnamed, figure(10577)]) == [figure(10577)]
    changes = detect_changes(
        [story("https://news.example.org/b", unnamed)],
        {
            "qianhai.unnamed-1a2b3c4d.km": Observation.of(
                story("https://news.example.org/a", figure(40)), figure(40)
            )
        },
        seeding=False,
    )
    assert not any(isinstance(c, FigureChanged) for c in changes)


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
    told = [health_change(a, b, threshold=3, channel="#ops") for a, b in pairwise(states)]
    assert [type(c).__name__ if c else None for c in told] == [None, None, "FeedFailing", None, None]
    failing = told[2]
    assert (
        isinstance(failing, FeedFailing) and failing.channel == "#ops" and failing.error == "fetch: http 503"
    )
    recovered = health_change(states[-1], FeedState("gba", last_success=NOV), threshold=3)
    assert isinstance(recovered, FeedRecovered) and recovered.failures == 5
    assert health_change(states[1], FeedState("gba", last_success=NOV), threshold=3) is None
    assert failing.key != recovered.key


# --- never an empty alert, conflicts, revisions ---------------------------------------------------------


def seen(
    value: float, *, feed: str, url: str, when: datetime = NOV, period: str | None = None
) -> Observation:
    """An observation of METRIC by ``feed`` in the article at ``url``, published ``when``."""
    entry = Entry(feed=feed, title="Qianhai firms", link=url, published=when)
    source = Story(
        feed=feed,
        outlet=feed,
        entry=entry,
        url=url,
        title=entry.title,
        keywords=(),
        figures=(),
        fetched_at=when,
    )
    return Observation.of(source, replace(figure(value), period=period))


def test_a_value_equal_to_the_stored_one_or_a_float_echo_of_it_is_no_change() -> None:
    old = stored(10577)
    assert (
        figure_change(seen(10577, feed="b", url="https://b.example/1", when=NOV + timedelta(30)), old) is None
    )
    nearly = seen(10577 * (1 + 1e-12), feed="b", url="https://b.example/1", when=NOV + timedelta(30))
    assert figure_change(nearly, old) is None, "a delta that prints as zero is no delta"


def test_a_value_nobody_can_read_is_no_change() -> None:
    unreadable = replace(stored(10577), value=float("nan"))
    assert figure_change(seen(11020, feed="b", url="https://b.example/1"), unreadable) is None


def test_two_sources_disagreeing_on_one_period_are_a_conflict_whichever_came_first() -> None:
    a = seen(10577, feed="herald", url="https://herald.example/a", when=NOV)
    b = seen(10500, feed="daily", url="https://daily.example/b", when=NOV + timedelta(days=1))

    one = figure_change(b, a, [a])
    other = figure_change(a, b, [b])

    assert isinstance(one, FigureConflict) and isinstance(other, FigureConflict)
    assert one.key == other.key == f"conflict:{METRIC}::10500|10577"
    assert (one.low.value, one.high.value) == (10500, 10577)


def test_a_back_and_forth_between_two_sources_is_one_conflict_and_no_changes() -> None:
    a1 = story("https://herald.example/a1", figure(10577))
    b = replace(story("https://daily.example/b", figure(10500)), feed="daily")
    a2 = replace(story("https://herald.example/a2", figure(10577)), entry=replace(a1.entry, published=NOV))

    changes = detect_changes([a1, b, a2], {}, seeding=False)

    kinds = [type(c).__name__ for c in changes]
    assert kinds == ["NewStory", "NewStory", "FigureConflict", "NewStory"]


def test_the_same_source_correcting_itself_within_the_week_is_a_change_not_a_conflict() -> None:
    monday = seen(10577, feed="herald", url="https://herald.example/mon", when=NOV)
    wednesday = seen(10600, feed="herald", url="https://herald.example/wed", when=NOV + timedelta(days=2))

    change = figure_change(wednesday, monday, [monday])

    assert isinstance(change, FigureChanged) and (change.old.value, change.new.value) == (10577, 10600)


@pytest.mark.parametrize(
    ("one", "other", "days", "same"),
    [
        (None, None, 6, True),
        (None, None, 8, False),  # an undated figure a month later is news, not a disagreement
        ("so far", "So  far", 3, True),
        ("so far", "so far", 30, False),  # relative periods only match close together
        ("2024", "2024", 300, True),  # a period that names its year is the same whenever it is reported
        ("first half of 2025", "2025", 1, False),
        ("2024", None, 1, False),
    ],
)
def test_same_period_means_the_same_dated_period_or_the_same_week(one, other, days, same) -> None:
    a = seen(1, feed="a", url="https://a.example/1", period=one)
    b = seen(2, feed="b", url="https://b.example/1", period=other, when=NOV + timedelta(days=days))
    assert same_period(a, b) is same


def test_another_outlets_copy_of_a_stored_story_brings_its_figures_but_no_new_story() -> None:
    copy = story("https://daily.example/copy", figure(11020))

    changes = detect_changes([copy], {METRIC: stored(10577)}, seeding=False, echoes={copy.url})

    assert [type(c) for c in changes] == [FigureChanged]


def test_a_revision_is_told_only_when_a_metric_changed_its_value() -> None:
    before = (figure(10577), figure(846.14e9, metric="capital", unit="CNY"))
    reworded = story("https://news.example.org/a", replace(figure(10577), text="10,577 HK firms"), before[1])
    corrected = story("https://news.example.org/a", figure(10757), before[1])
    converted = story(
        "https://news.example.org/a",
        *before,
        figure(120e9, metric="capital.usd", unit="USD", conversion_of=1),
    )

    assert revision(reworded, before) is None
    assert revision(converted, before) is None, "a conversion is not a figure of its own"
    stored_before_conversions_were_marked = (*before, figure(120e9, metric="capital.usd", unit="USD"))
    assert revision(converted, stored_before_conversions_were_marked) is None
    change = revision(corrected, before)
    assert isinstance(change, StoryRevised) and change.before == before


def test_a_story_seen_twice_in_one_poll_is_found_by_url_body_or_headline_within_a_day() -> None:
    first = replace(story("https://a.example/1"), content_hash="abc", text_chars=2000)
    same_body = replace(
        story("https://b.example/2"), content_hash="abc", title="Edited headline", text_chars=2000
    )
    wall = replace(same_body, text_chars=120)  # "Please enable JavaScript": a body many pages share
    same_headline = replace(
        story("https://b.example/3"), content_hash="def", title="QIANHAI draws more HK firms!"
    )
    later = replace(same_headline, entry=replace(first.entry, published=NOV + timedelta(days=2)))
    other = replace(story("https://c.example/4"), content_hash="ghi", title="Something else entirely")
    first = replace(first, title="Qianhai draws more HK firms")

    assert twin_of(same_body, [first], within=timedelta(hours=24)) is first
    assert twin_of(wall, [first], within=timedelta(hours=24)) is None
    assert twin_of(same_headline, [first], within=timedelta(hours=24)) is first
    assert twin_of(later, [first], within=timedelta(hours=24)) is None
    assert twin_of(other, [first], within=timedelta(hours=24)) is None


def test_key_figures_prefer_a_storys_exact_figure_over_an_earlier_rounded_one() -> None:
    threshold = replace(figure(11000), qualifier="more_than", text="passed the 11,000 mark")
    precise = figure(11020)
    assert key_figures([threshold, precise]) == [precise]
    assert key_figures([precise, replace(figure(10000), qualifier="more_than")]) == [precise]


def test_a_new_story_carries_the_moves_of_its_own_figures_which_keep_their_own_keys() -> None:
    bridges = replace(figure(3, metric="bridges", unit="bridges"), subject="bridges", text="3 bridges")
    latest = {
        METRIC: stored(10577),
        "bridges": Observation.of(story("https://news.example.org/older"), bridges),
    }
    new = story("https://news.example.org/a", figure(11020), bridges)
    echo = story("https://news.example.org/echo", figure(11050))

    changes = detect_changes([new, echo], latest, seeding=False, echoes={echo.url})
    told = with_moves(changes, latest)

    [carrier] = [c for c in told if isinstance(c, NewStory)]
    moves = [c for c in told if isinstance(c, FigureChanged)]
    assert [m.new.article_url for m in moves] == [new.url, echo.url], "each move keeps its own change"
    assert carrier.moves == (moves[0],), "another outlet's copy is no new story: its move stands alone"
    assert carrier.same == ("bridges",)


def test_seeding_an_empty_feed_tells_nothing() -> None:
    assert detect_changes([], {}, seeding=True, feed="empty") == []
